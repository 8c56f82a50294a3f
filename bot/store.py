"""The one module that talks to MongoDB: connection, indexes and every query.

Everything here stays inside what both FerretDB 1.x (the dev server) and
MongoDB 6+ support (DESIGN §6): no TTL or partial indexes, no transactions,
only single-document atomic writes and unique keys for idempotency.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pymongo
from pymongo import ASCENDING, DESCENDING, IndexModel, ReturnDocument
from pymongo.errors import DuplicateKeyError, PyMongoError

log = logging.getLogger(__name__)

# Collection -> indexes. Unique lookups on optional fields (member code, phone)
# live in their own collections keyed by _id, because without partial indexes a
# unique index collides on documents that lack the field.
INDEXES: dict[str, list[IndexModel]] = {
    "members": [
        IndexModel([("status", ASCENDING)]),
        IndexModel([("created_at", ASCENDING)]),
    ],
    "member_codes": [],  # _id = member code -> {member_id}
    "member_phones": [],  # _id = E.164 phone -> {member_id}
    "ledger": [
        IndexModel([("key", ASCENDING)], unique=True),
        IndexModel([("member_id", ASCENDING), ("created_at", DESCENDING)]),
    ],
    "purchases": [
        IndexModel([("member_id", ASCENDING), ("created_at", DESCENDING)]),
        IndexModel([("created_at", DESCENDING)]),
    ],
    "rewards": [IndexModel([("active", ASCENDING)])],
    "redemptions": [IndexModel([("member_id", ASCENDING), ("created_at", DESCENDING)])],
    "coupons": [IndexModel([("member_id", ASCENDING)])],
    "segments": [],
    "campaigns": [IndexModel([("status", ASCENDING), ("next_run_at", ASCENDING)])],
    "deliveries": [
        IndexModel(
            [("campaign_id", ASCENDING), ("run_id", ASCENDING), ("member_id", ASCENDING)],
            unique=True,
        ),
    ],
    "webhook_events": [IndexModel([("received_at", ASCENDING)])],
    "staff": [],  # _id = LINE user id
    "invites": [],  # _id = invite code
    "branches": [],
    "settings": [],
    "audit": [IndexModel([("created_at", DESCENDING)])],
    "leases": [],  # _id = lease name
}

# A claim older than this is from a process that died mid-handler; a
# redelivery may take it over rather than being skipped forever.
STALE_CLAIM = timedelta(minutes=5)


def utcnow() -> datetime:
    """Current UTC time, truncated to milliseconds as BSON stores it."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def connect(uri: str, timeout_ms: int = 3000) -> pymongo.MongoClient:
    """Build a client; `connect=False` keeps it fork-safe under gunicorn."""
    if uri.startswith("mongomock://"):
        # Last-resort fallback where Go is missing (DESIGN §6); never in CI.
        import mongomock  # noqa: PLC0415 - optional dependency, imported only when asked for

        return mongomock.MongoClient(tz_aware=True)
    return pymongo.MongoClient(
        uri,
        connect=False,
        tz_aware=True,
        serverSelectionTimeoutMS=timeout_ms,
        connectTimeoutMS=timeout_ms,
        appname="samachik",
    )


class Store:
    """Queries grouped by what they serve; one instance per app or worker."""

    def __init__(self, client: pymongo.MongoClient, db_name: str):
        self.client = client
        self.db = client[db_name]

    # -- lifecycle ---------------------------------------------------------

    def ping(self) -> bool:
        try:
            self.client.admin.command("ping")
            return True
        except PyMongoError as exc:
            log.warning("database ping failed: %s", type(exc).__name__)
            return False

    def ensure_indexes(self) -> list[str]:
        """Create every collection's indexes; safe to run again."""
        created = []
        for name, indexes in INDEXES.items():
            if name not in self.db.list_collection_names(filter={"name": name}):
                self.db.create_collection(name)
            # One index per call: FerretDB 1.24 panics when a single
            # createIndexes names several indexes that already exist.
            for index in indexes:
                created += self.db[name].create_indexes([index])
        return created

    # -- webhook events ------------------------------------------------------

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
        # Someone saw it before: take it over only if that attempt died long ago.
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

    def prune_events(self, older_than: timedelta) -> int:
        """Delete finished event records past the redelivery horizon."""
        cutoff = utcnow() - older_than
        result = self.db.webhook_events.delete_many(
            {"received_at": {"$lt": cutoff}, "status": {"$ne": "processing"}}
        )
        return result.deleted_count

    # -- scheduler lease -----------------------------------------------------

    def acquire_lease(self, name: str, holder: str, ttl: timedelta) -> bool:
        """Take or renew the named lease; False while someone else holds it."""
        now = utcnow()
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

    # -- members and roles (the rest arrives with membership) ---------------

    def member_locale(self, user_id: str) -> str | None:
        doc = self.db.members.find_one({"_id": user_id}, {"locale": 1})
        return doc.get("locale") if doc else None

    def is_active_staff(self, user_id: str) -> bool:
        return self.db.staff.count_documents({"_id": user_id, "active": True}, limit=1) > 0

    # -- branches ------------------------------------------------------------

    def upsert_branch(self, branch: dict) -> None:
        self.db.branches.update_one({"_id": branch["_id"]}, {"$set": branch}, upsert=True)

    def list_branches(self) -> list[dict]:
        return list(self.db.branches.find().sort("_id", ASCENDING))

    # -- settings ------------------------------------------------------------

    def get_setting(self, key: str, default=None):
        doc = self.db.settings.find_one({"_id": key})
        return doc["value"] if doc else default

    def put_setting(self, key: str, value) -> None:
        self.db.settings.update_one(
            {"_id": key}, {"$set": {"value": value, "updated_at": utcnow()}}, upsert=True
        )
