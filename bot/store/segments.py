"""Segment queries over members, saved segments, tags and RFM scores."""

from __future__ import annotations

from pymongo import ASCENDING, IndexModel
from pymongo.errors import DuplicateKeyError

from bot.store.base import StoreBase, utcnow
from bot.store.passes import Spool, member_groups, sorted_pages, spool

# Every segment key maps to one of these (DESIGN §6: segment with indexed finds).
SEGMENT_INDEXES = [
    IndexModel([("status", ASCENDING), ("reachable", ASCENDING)]),
    IndexModel([("stats.last_visit", ASCENDING)]),
    IndexModel([("stats.branch_list", ASCENDING)]),
    IndexModel([("stats.top_hour", ASCENDING)]),
    IndexModel([("stats.top_weekday", ASCENDING)]),
    IndexModel([("stats.avg", ASCENDING)]),
    IndexModel([("stats.spend", ASCENDING)]),
    IndexModel([("stats.visits", ASCENDING)]),
    IndexModel([("stats.overdue_at", ASCENDING)]),
    IndexModel([("profile.birth_month", ASCENDING)]),
    IndexModel([("profile.birthday", ASCENDING)]),
    IndexModel([("profile.gender", ASCENDING)]),
    IndexModel([("rfm.group", ASCENDING)]),
    IndexModel([("joined_at", ASCENDING)]),
    IndexModel([("tier", ASCENDING)]),
    IndexModel([("locale", ASCENDING)]),
    IndexModel([("tags", ASCENDING)]),
    IndexModel([("marketing_opt_in", ASCENDING)]),
]
RFM_BATCH = 1000
# What stats_from_purchases reads of a purchase.
PURCHASE_FIELDS = {
    "created_at": 1,
    "amount": 1,
    "branch": 1,
    "local_hour": 1,
    "local_weekday": 1,
    "local_date": 1,
}


class SegmentStore(StoreBase):
    INDEXES = {"members": SEGMENT_INDEXES, "segments": []}  # segments: _id = name

    def count_members(self, query: dict) -> int:
        return self.db.members.count_documents(query)

    def sample_members(self, query: dict, limit: int = 5) -> list[dict]:
        fields = {"code": 1, "profile.first_name": 1}
        return list(self.db.members.find(query, fields).sort("_id", ASCENDING).limit(limit))

    def member_ids(self, query: dict):
        """Stream matching member ids (campaign targeting, tests)."""
        return (doc["_id"] for doc in self.db.members.find(query, {"_id": 1}))

    # -- saved segments ------------------------------------------------------------

    def save_segment(self, name: str, filters: str, by: str) -> bool:
        """Save or replace a named segment; False if the name is not allowed."""
        try:
            self.db.segments.update_one(
                {"_id": name},
                {"$set": {"filters": filters, "by": by, "updated_at": utcnow()}},
                upsert=True,
            )
            return True
        except DuplicateKeyError:
            return False

    def segment(self, name: str) -> dict | None:
        return self.db.segments.find_one({"_id": name})

    def list_segments(self) -> list[dict]:
        return list(self.db.segments.find().sort("_id", ASCENDING))

    # -- tags ------------------------------------------------------------------------

    def add_tag(self, member_id: str, tag: str) -> None:
        self.update_member(member_id, {"$addToSet": {"tags": tag}})

    def remove_tag(self, member_id: str, tag: str) -> None:
        self.update_member(member_id, {"$pull": {"tags": tag}})

    # -- RFM ---------------------------------------------------------------------------

    def member_pages(self, query: dict, fields: dict, size: int = RFM_BATCH):
        """Members matching `query` in pages by _id, each page read completely.

        No cursor stays open between pages: on FerretDB's SQLite an open read
        cursor would hold a read transaction and block our own writes.
        """
        if self.serialises_writes:
            # FerretDB 1.24 pushes neither an `_id` range nor a sort down to SQLite, so
            # each page query would read the whole collection: one read, spooled.
            yield from sorted_pages(self.db.members, query, fields, size)
            return
        last = None
        while True:
            page_query = {**query, "_id": {"$gt": last}} if last is not None else query
            page = list(self.db.members.find(page_query, fields).sort("_id", ASCENDING).limit(size))
            if not page:
                return
            yield page
            last = page[-1]["_id"]

    def rfm_inputs(self) -> Spool:
        """(id, last visit, visits, spend, current rfm) of members who visited, read once.

        A spool the caller reads as often as it needs and then closes.
        """
        fields = {"stats.last_visit": 1, "stats.visits": 1, "stats.spend": 1, "rfm": 1}
        return spool(self.db.members, {"status": "member", "stats.visits": {"$gte": 1}}, fields)

    def set_rfm(self, scores: list[tuple[str, dict]]) -> None:
        """Write changed scores in one bulk write (member locks held on FerretDB)."""
        self.bulk_update_members([(m, {"$set": {"rfm": rfm}}) for m, rfm in scores])

    def stats_pages(self):
        """Pages of (member id, stored stats, active purchases): one read of each collection."""
        related = {"purchases": ("purchases", {"status": "active"}, PURCHASE_FIELDS)}
        for page in member_groups(self.db, {}, {"stats": 1}, related):
            yield [(doc["_id"], doc.get("stats"), owned["purchases"]) for doc, owned in page]
