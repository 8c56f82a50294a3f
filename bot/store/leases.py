"""Leases: a named lock with an expiry, so exactly one worker runs jobs."""

from __future__ import annotations

from datetime import timedelta

from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from bot.store.base import StoreBase, utcnow


class LeaseStore(StoreBase):
    INDEXES = {"leases": []}  # _id = lease name

    def acquire_lease(self, name: str, holder: str, ttl: timedelta) -> bool:
        """Take or renew the named lease; False while someone else holds it."""
        now = utcnow()
        with self.locked(f"lease:{name}"):
            return self._take_lease(name, holder, ttl, now)

    def _take_lease(self, name: str, holder: str, ttl: timedelta, now) -> bool:
        try:
            doc = self.db.leases.find_one_and_update(
                {"_id": name, "$or": [{"holder": holder}, {"expires_at": {"$lt": now}}]},
                {"$set": {"holder": holder, "expires_at": now + ttl, "renewed_at": now}},
                upsert=True,
                return_document=ReturnDocument.AFTER,
            )
        except DuplicateKeyError:
            # The upsert lost: the lease exists, unexpired, with another holder.
            return False
        return doc is not None and doc["holder"] == holder

    def release_lease(self, name: str, holder: str) -> None:
        self.db.leases.delete_one({"_id": name, "holder": holder})

    def lease_holder(self, name: str) -> str | None:
        doc = self.db.leases.find_one({"_id": name})
        if doc is None or doc["expires_at"] < utcnow():
            return None
        return doc["holder"]

    def drop_retired_jobs(self, scheduled: list[str]) -> int:
        """Remove persisted scheduler jobs no longer in the schedule (their code is gone)."""
        result = self.db.scheduler_jobs.delete_many({"_id": {"$nin": scheduled}})
        return result.deleted_count
