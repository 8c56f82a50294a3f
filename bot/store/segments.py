"""Segment queries over members, saved segments, tags and RFM scores."""

from __future__ import annotations

import tempfile

import bson
from bson.codec_options import CodecOptions
from pymongo import ASCENDING, IndexModel
from pymongo.errors import DuplicateKeyError

from bot.store.base import StoreBase, utcnow

CODEC = CodecOptions(tz_aware=True)

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
            yield from self._spooled_pages(query, fields, size)
            return
        last = None
        while True:
            page_query = {**query, "_id": {"$gt": last}} if last is not None else query
            page = list(self.db.members.find(page_query, fields).sort("_id", ASCENDING).limit(size))
            if not page:
                return
            yield page
            last = page[-1]["_id"]

    def _spooled_pages(self, query: dict, fields: dict, size: int):
        """FerretDB: one pass into a temporary file, then pages from the file.

        FerretDB 1.24 pushes neither the `_id` range nor the sort down to SQLite,
        so each page query would decode the whole collection (quadratic); a single
        pass spooled to disk keeps it linear and our memory flat.
        """
        with tempfile.TemporaryFile() as spool:
            cursor = self.db.members.find(query, fields).sort("_id", ASCENDING)
            for doc in cursor.batch_size(1000):
                encoded = bson.encode(doc)
                spool.write(encoded)
            spool.seek(0)
            page = []
            for doc in bson.decode_file_iter(spool, CODEC):
                page.append(doc)
                if len(page) == size:
                    yield page
                    page = []
            if page:
                yield page

    def rfm_inputs(self):
        """Pages of (id, last visit, visits, spend, current rfm) of members who visited."""
        fields = {"stats.last_visit": 1, "stats.visits": 1, "stats.spend": 1, "rfm": 1}
        return self.member_pages({"status": "member", "stats.visits": {"$gte": 1}}, fields)

    def set_rfm(self, scores: list[tuple[str, dict]]) -> None:
        """Write changed scores in one bulk write (member locks held on FerretDB)."""
        self.bulk_update_members([(m, {"$set": {"rfm": rfm}}) for m, rfm in scores])

    def stats_pages(self):
        """Pages of (member id, stored stats), with their active purchases, by member id."""
        for page in self.member_pages({}, {"stats": 1}):
            ids = [doc["_id"] for doc in page]
            purchases: dict[str, list] = {member_id: [] for member_id in ids}
            cursor = self.db.purchases.find({"member_id": {"$in": ids}, "status": "active"})
            for purchase in cursor:
                purchases[purchase["member_id"]].append(purchase)
            yield [(doc["_id"], doc.get("stats"), purchases[doc["_id"]]) for doc in page]
