"""Campaigns, journeys' settings, the deliveries ledger and link clicks."""

from __future__ import annotations

import threading
from datetime import datetime

from pymongo import ASCENDING, IndexModel, ReturnDocument, UpdateOne
from pymongo.errors import BulkWriteError, DuplicateKeyError

from bot.store.base import FERRETDB_BULK_CHUNK, StoreBase, utcnow

_BULK_TURN = threading.Lock()


class CampaignStore(StoreBase):
    INDEXES = {
        "campaigns": [IndexModel([("status", ASCENDING), ("next_run_at", ASCENDING)])],
        "deliveries": [
            IndexModel(
                [("campaign_id", ASCENDING), ("run_id", ASCENDING), ("member_id", ASCENDING)],
                unique=True,
            ),
            IndexModel([("run_id", ASCENDING), ("status", ASCENDING), ("batch", ASCENDING)]),
            IndexModel([("member_id", ASCENDING), ("sent_at", ASCENDING)]),
        ],
        "clicks": [IndexModel([("delivery_id", ASCENDING)])],
        # One document per send batch (_id = "<run>:b<n>"): the unit a run works
        # through. Fetched by _id, the one lookup FerretDB's SQLite backend indexes.
        "batches": [IndexModel([("run_id", ASCENDING), ("status", ASCENDING)])],
    }

    # -- campaigns ------------------------------------------------------------------

    def insert_campaign(self, campaign: dict) -> bool:
        try:
            self.db.campaigns.insert_one({**campaign, "created_at": utcnow()})
            return True
        except DuplicateKeyError:
            return False

    def campaign(self, campaign_id: str) -> dict | None:
        return self.db.campaigns.find_one({"_id": campaign_id})

    def list_campaigns(self) -> list[dict]:
        return list(self.db.campaigns.find().sort("created_at", ASCENDING))

    def update_campaign(self, campaign_id: str, changes: dict, status_was=None) -> dict | None:
        """Change a campaign, only from the given status(es) when asked."""
        query = {"_id": campaign_id}
        if status_was is not None:
            query["status"] = {"$in": [status_was] if isinstance(status_was, str) else status_was}
        with self.locked(f"campaign:{campaign_id}"):
            return self.db.campaigns.find_one_and_update(
                query, {"$set": changes}, return_document=ReturnDocument.AFTER
            )

    def push_run(self, campaign_id: str, summary: dict) -> None:
        """Append a finished run's counts to the campaign."""
        with self.locked(f"campaign:{campaign_id}"):
            self.db.campaigns.update_one({"_id": campaign_id}, {"$push": {"runs": summary}})

    def due_campaigns(self, now: datetime) -> list[dict]:
        """Scheduled campaigns whose time has come, and runs a crash left unfinished."""
        return list(
            self.db.campaigns.find(
                {
                    "$or": [
                        {"status": "scheduled", "next_run_at": {"$lte": now}},
                        {"status": "running"},
                    ]
                }
            ).sort("next_run_at", ASCENDING)
        )

    # -- deliveries -------------------------------------------------------------------

    def add_deliveries(self, rows: list[dict]) -> int:
        """Snapshot audience rows; rows already there (a resumed run) are kept as they are."""
        added = 0
        now = utcnow()
        for start in range(0, len(rows), 1000):
            chunk = [{**row, "created_at": now} for row in rows[start : start + 1000]]
            try:
                self.db.deliveries.insert_many(chunk, ordered=False)
                added += len(chunk)
            except BulkWriteError as error:
                added += len(chunk) - len(error.details.get("writeErrors", []))
        return added

    def add_batches(self, batches: list[dict]) -> None:
        for batch in batches:
            try:
                self.db.batches.insert_one({**batch, "status": "pending"})
            except DuplicateKeyError:
                continue

    def pending_batches(self, run_id: str) -> list[int]:
        query = {"run_id": run_id, "status": "pending"}
        return sorted(doc["number"] for doc in self.db.batches.find(query, {"number": 1}))

    def batch_deliveries(self, run_id: str, batch: int) -> list[dict]:
        """The batch's rows still to send (id, member id, LINE id)."""
        doc = self.db.batches.find_one({"_id": f"{run_id}:b{batch}"})
        if doc is None or doc["status"] != "pending":
            return []
        done = set(doc.get("done", []))
        return [row for row in doc["rows"] if row["_id"] not in done]

    def finish_batch(self, run_id: str, batch: int) -> None:
        self.db.batches.update_one({"_id": f"{run_id}:b{batch}"}, {"$set": {"status": "sent"}})

    def mark_deliveries(self, ids: list[str], status: str, **fields) -> None:
        """Set the status of deliveries by _id, in small bulk writes (see base.py)."""
        updates = [UpdateOne({"_id": i}, {"$set": {"status": status, **fields}}) for i in ids]
        for start in range(0, len(updates), FERRETDB_BULK_CHUNK):
            self.db.deliveries.bulk_write(
                updates[start : start + FERRETDB_BULK_CHUNK], ordered=False
            )

    def run_counts(self, run_id: str) -> dict:
        counts = {}
        for row in self.db.deliveries.aggregate(
            [{"$match": {"run_id": run_id}}, {"$group": {"_id": "$status", "n": {"$sum": 1}}}]
        ):
            counts[row["_id"]] = row["n"]
        return counts

    def campaign_counts(self, campaign_id: str) -> dict:
        counts = {}
        for row in self.db.deliveries.aggregate(
            [
                {"$match": {"campaign_id": campaign_id}},
                {"$group": {"_id": "$status", "n": {"$sum": 1}}},
            ]
        ):
            counts[row["_id"]] = row["n"]
        return counts

    def recent_send_counts(self, since: datetime, campaign_id: str | None = None) -> dict:
        """member id → messages sent since `since` (one pass, for caps at snapshot time)."""
        match = {"status": "sent", "sent_at": {"$gte": since}}
        if campaign_id:
            match["campaign_id"] = campaign_id
        rows = self.db.deliveries.aggregate(
            [{"$match": match}, {"$group": {"_id": "$member_id", "n": {"$sum": 1}}}]
        )
        return {row["_id"]: row["n"] for row in rows}

    def has_delivery(self, run_id: str, member_id: str) -> bool:
        return self.db.deliveries.find_one({"_id": f"{run_id}:{member_id}"}, {"_id": 1}) is not None

    # -- clicks ----------------------------------------------------------------------

    def record_click(self, delivery_id: str, run_id: str) -> None:
        self.db.clicks.insert_one({"delivery_id": delivery_id, "run_id": run_id, "at": utcnow()})

    def click_count(self, run_id: str) -> int:
        return self.db.clicks.count_documents({"run_id": run_id})
