"""Owner dashboard sign-in: single-use links and web sessions.

Both are keyed by a SHA-256 of the secret the owner holds (the link token, the
session cookie), so the database never holds a usable secret. Expired rows
are pruned when new links are made; nothing here needs a TTL index.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pymongo import ASCENDING, IndexModel, ReturnDocument
from pymongo.errors import DuplicateKeyError

from bot.store.base import StoreBase, utcnow

# Kept a day past expiry, so a late click can still be told "already used".
PRUNE_AFTER = timedelta(days=1)


class DashboardStore(StoreBase):
    INDEXES = {
        "signin_links": [IndexModel([("expires_at", ASCENDING)])],  # _id = sha256(token)
        "web_sessions": [IndexModel([("expires_at", ASCENDING)])],  # _id = sha256(cookie)
    }

    def create_signin_link(self, key: str, line_user_id: str, expires_at: datetime) -> bool:
        now = utcnow()
        self.db.signin_links.delete_many({"expires_at": {"$lt": now - PRUNE_AFTER}})
        self.db.web_sessions.delete_many({"expires_at": {"$lt": now - PRUNE_AFTER}})
        try:
            self.db.signin_links.insert_one(
                {
                    "_id": key,
                    "line_user_id": line_user_id,
                    "created_at": now,
                    "expires_at": expires_at,
                    "used_at": None,
                }
            )
            return True
        except DuplicateKeyError:
            return False

    def signin_link(self, key: str) -> dict | None:
        return self.db.signin_links.find_one({"_id": key})

    def claim_signin_link(self, key: str) -> dict | None:
        """Mark a link used; only the first claim before expiry gets it back."""
        now = utcnow()
        with self.locked(f"signin:{key}"):
            return self.db.signin_links.find_one_and_update(
                {"_id": key, "used_at": None, "expires_at": {"$gt": now}},
                {"$set": {"used_at": now}},
                return_document=ReturnDocument.AFTER,
            )

    def start_web_session(self, key: str, line_user_id: str, expires_at: datetime) -> None:
        self.db.web_sessions.insert_one(
            {
                "_id": key,
                "line_user_id": line_user_id,
                "created_at": utcnow(),
                "expires_at": expires_at,
                "ended_at": None,
            }
        )

    def web_session(self, key: str) -> dict | None:
        """A session that was started, has not ended and has not expired."""
        return self.db.web_sessions.find_one(
            {"_id": key, "ended_at": None, "expires_at": {"$gt": utcnow()}}
        )

    def end_web_session(self, key: str) -> None:
        self.db.web_sessions.update_one(
            {"_id": key, "ended_at": None}, {"$set": {"ended_at": utcnow()}}
        )

    # -- exports: purchases in pages (members use SegmentStore.member_pages) ------------

    def purchase_pages(self, start: datetime, end: datetime, size: int = 1000):
        """Purchases made in [start, end), oldest first, one page at a time.

        Pages follow (created_at, _id), so no cursor stays open between them
        (FerretDB's open read cursors block our own writes).
        """
        window = {"created_at": {"$gte": start, "$lt": end}}
        last = None
        while True:
            query = dict(window)
            if last is not None:
                at, key = last
                query = {
                    "$and": [
                        window,
                        {
                            "$or": [
                                {"created_at": {"$gt": at}},
                                {"created_at": at, "_id": {"$gt": key}},
                            ]
                        },
                    ]
                }
            page = list(
                self.db.purchases.find(query)
                .sort([("created_at", ASCENDING), ("_id", ASCENDING)])
                .limit(size)
            )
            if not page:
                return
            yield page
            last = (page[-1]["created_at"], page[-1]["_id"])
