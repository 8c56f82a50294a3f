"""Per-user counters for rate limits: one small document per user and minute."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from pymongo import ASCENDING, IndexModel, ReturnDocument
from pymongo.errors import DuplicateKeyError

from bot.store.base import StoreBase, utcnow


class RateLimitStore(StoreBase):
    # _id = "<digest of the LINE user id>:<minute>"
    INDEXES = {"rate_limits": [IndexModel([("at", ASCENDING)])]}

    def count_hit(self, user_id: str, window: datetime) -> int:
        """Count one event of `user_id` in the minute `window`; returns the count so far.

        One round trip by `_id`, shared by every web process. On MongoDB the `$inc` is
        atomic; on FerretDB 1.x it is not (see base.locked), so concurrent events of one
        user may count once between them — harmless for a limit meant for floods.
        """
        # A digest, not the LINE id: nothing here identifies anyone (erasure has nothing to do).
        key = f"{hashlib.sha256(user_id.encode()).hexdigest()[:24]}:{window:%Y%m%d%H%M}"
        for _attempt in range(2):
            try:
                doc = self.db.rate_limits.find_one_and_update(
                    {"_id": key},
                    {"$inc": {"n": 1}, "$setOnInsert": {"at": window}},
                    upsert=True,
                    return_document=ReturnDocument.AFTER,
                )
                return doc["n"]
            except DuplicateKeyError:
                continue  # two first events of a minute at once: the second one updates
        return 1

    def prune_rate_limits(self, older_than: timedelta = timedelta(hours=1)) -> int:
        result = self.db.rate_limits.delete_many({"at": {"$lt": utcnow() - older_than}})
        return result.deleted_count
