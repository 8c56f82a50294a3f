"""Webhook event claims: each webhookEventId is handled once."""

from __future__ import annotations

from datetime import timedelta

from pymongo import ASCENDING, IndexModel
from pymongo.errors import DuplicateKeyError

from bot.store.base import StoreBase, utcnow

# A claim older than this is from a process that died mid-handler; a
# redelivery may take it over rather than being skipped forever.
STALE_CLAIM = timedelta(minutes=5)

# De-duplication only works while an event's id is remembered, so the two numbers
# go together: events older than MAX_EVENT_AGE (by LINE's own `timestamp`, which is
# signed) are ignored, and ids are kept for RETENTION. LINE redelivers a failed
# event for a limited time (hours, never days; its retry keys last 24 hours), so a
# day covers every genuine redelivery; the six days between the two cover clock skew
# and a pruning job that did not run. A captured body replayed later is refused.
MAX_EVENT_AGE = timedelta(days=1)
RETENTION = timedelta(days=7)
assert MAX_EVENT_AGE < RETENTION  # else a replay could outlive its id


class EventStore(StoreBase):
    INDEXES = {"webhook_events": [IndexModel([("received_at", ASCENDING)])]}

    def claim_event(self, event_id: str, event_type: str, mode: str) -> str:
        """Claim an event before handling it: 'claimed', 'done' or 'busy'."""
        now = utcnow()
        doc = {
            "_id": event_id,
            "type": event_type,
            "mode": mode,
            "status": "processing",
            "received_at": now,
            "claimed_at": now,
        }
        try:
            self.db.webhook_events.insert_one(doc)
            return "claimed"
        except DuplicateKeyError:
            pass
        # Seen before: take it over only if that attempt died long ago.
        taken = self.db.webhook_events.find_one_and_update(
            {"_id": event_id, "status": "processing", "claimed_at": {"$lt": now - STALE_CLAIM}},
            {"$set": {"claimed_at": now}, "$inc": {"attempts": 1}},
        )
        if taken:
            return "claimed"
        existing = self.db.webhook_events.find_one({"_id": event_id}, {"status": 1})
        if existing is None:
            # Released between our insert and read: try once more.
            return self.claim_event(event_id, event_type, mode)
        return "busy" if existing["status"] == "processing" else "done"

    def finish_event(self, event_id: str, status: str = "done") -> None:
        self.db.webhook_events.update_one(
            {"_id": event_id}, {"$set": {"status": status, "finished_at": utcnow()}}
        )

    def release_event(self, event_id: str) -> None:
        """Forget a claim whose handler failed, so LINE's redelivery retries it."""
        self.db.webhook_events.delete_one({"_id": event_id, "status": "processing"})

    def event_status(self, event_id: str) -> str | None:
        doc = self.db.webhook_events.find_one({"_id": event_id}, {"status": 1})
        return doc["status"] if doc else None

    def prune_events(self, older_than: timedelta = RETENTION) -> int:
        """Delete finished event records past the redelivery horizon."""
        cutoff = utcnow() - older_than
        result = self.db.webhook_events.delete_many(
            {"received_at": {"$lt": cutoff}, "status": {"$ne": "processing"}}
        )
        return result.deleted_count
