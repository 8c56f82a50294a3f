"""Campaigns, journeys' settings, the deliveries ledger and link clicks."""

from __future__ import annotations

from datetime import datetime

from pymongo import ASCENDING, DESCENDING, IndexModel, ReturnDocument
from pymongo.errors import BulkWriteError, DuplicateKeyError

from bot.store.base import StoreBase, utcnow


# A batch document once it needs no personal data any more.
EMPTIED = {"members": [], "line_ids": [], "values": [], "pending": 0}


class CampaignStore(StoreBase):
    INDEXES = {
        "campaigns": [IndexModel([("status", ASCENDING), ("next_run_at", ASCENDING)])],
        "deliveries": [
            IndexModel(
                [("campaign_id", ASCENDING), ("run_id", ASCENDING), ("member_id", ASCENDING)],
                unique=True,
            ),
            IndexModel([("run_id", ASCENDING), ("status", ASCENDING)]),
            IndexModel([("member_id", ASCENDING), ("sent_at", ASCENDING)]),
        ],
        "clicks": [IndexModel([("delivery_id", ASCENDING)])],
        # One document per snapshot batch (_id = "<run>:b<n>"): the run's queue of
        # members still to send, fetched by _id, the lookup FerretDB's SQLite indexes.
        "batches": [
            IndexModel([("run_id", ASCENDING), ("status", ASCENDING)]),
            IndexModel([("run_id", ASCENDING), ("number", ASCENDING)]),
            IndexModel([("campaign_id", ASCENDING), ("status", ASCENDING)]),
        ],
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

    # -- deliveries and send batches ----------------------------------------------------

    def add_deliveries(self, rows: list[dict]) -> int:
        """Record final rows; rows already there (a resumed run) are kept as they are."""
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

    def add_batch(self, batch: dict) -> dict:
        """Store one snapshot batch unless a crashed run stored it already; returns it."""
        try:
            self.db.batches.insert_one(batch)
            return batch
        except DuplicateKeyError:
            return self.db.batches.find_one({"_id": batch["_id"]})

    def last_batch(self, run_id: str) -> dict | None:
        """The run's latest snapshot batch: where a resumed snapshot carries on."""
        found = self.db.batches.find({"run_id": run_id}).sort("number", DESCENDING).limit(1)
        return next(iter(found), None)

    def pending_batches(self, run_id: str) -> list[int]:
        query = {"run_id": run_id, "status": "pending"}
        return sorted(doc["number"] for doc in self.db.batches.find(query, {"number": 1}))

    def unfinished_runs(self, campaign_id: str) -> list[str]:
        """Runs of a campaign (or journey) with batches still to send."""
        query = {"campaign_id": campaign_id, "status": "pending"}
        return sorted({doc["run_id"] for doc in self.db.batches.find(query, {"run_id": 1})})

    def pending_batch(self, run_id: str, number: int) -> dict | None:
        doc = self.db.batches.find_one({"_id": f"{run_id}:b{number}"})
        return doc if doc and doc["status"] == "pending" else None

    def finish_batch(self, run_id: str, number: int, rows: list[dict]) -> None:
        """Record a sent batch's outcome rows, then close it and drop its LINE ids.

        Outcome rows are inserted, not updated: a resumed batch's rows are already
        there and kept, and inserting is the cheap write on every backend.
        """
        self.add_deliveries(rows)
        self.db.batches.update_one(
            {"_id": f"{run_id}:b{number}"},
            {"$set": {"status": "sent", **EMPTIED, "finished_at": utcnow()}},
        )

    def cancel_batches(self, campaign_id: str) -> None:
        """A cancelled campaign's queue: nobody more is sent to, and the LINE ids go."""
        self.db.batches.update_many(
            {"campaign_id": campaign_id, "status": "pending"},
            {"$set": {"status": "cancelled", **EMPTIED}},
        )

    def retry_batch_later(self, run_id: str, number: int) -> int:
        """Count a failed attempt at a batch; returns the attempts so far."""
        doc = self.db.batches.find_one_and_update(
            {"_id": f"{run_id}:b{number}"},
            {"$inc": {"attempts": 1}},
            return_document=ReturnDocument.AFTER,
        )
        return doc["attempts"] if doc else 0

    def forget_in_batches(self, member_id: str) -> None:
        """Take an erased member out of batches not yet sent (their LINE id and name)."""
        for batch in self.db.batches.find({"status": "pending", "members": member_id}):
            keep = [i for i, m in enumerate(batch["members"]) if m != member_id]
            lists = {name: batch[name] for name in ("members", "line_ids", "values")}
            kept = {name: [v[i] for i in keep] if v else v for name, v in lists.items()}
            self.db.batches.update_one(
                {"_id": batch["_id"], "status": "pending"},
                {"$set": {**kept, "pending": len(keep)}},
            )

    def run_counts(self, run_id: str) -> dict:
        """Deliveries by status, with the members still queued in batches as `pending`."""
        counts = {}
        for row in self.db.deliveries.aggregate(
            [{"$match": {"run_id": run_id}}, {"$group": {"_id": "$status", "n": {"$sum": 1}}}]
        ):
            counts[row["_id"]] = row["n"]
        queued = self.db.batches.find({"run_id": run_id, "status": "pending"}, {"pending": 1})
        waiting = sum(doc.get("pending", 0) for doc in queued)
        if waiting:
            counts["pending"] = counts.get("pending", 0) + waiting
        return counts

    def campaign_counts(self, campaign_id: str) -> dict:
        """Deliveries by status over all the campaign's runs (queued ones as `pending`)."""
        counts = {}
        for row in self.db.deliveries.aggregate(
            [
                {"$match": {"campaign_id": campaign_id}},
                {"$group": {"_id": "$status", "n": {"$sum": 1}}},
            ]
        ):
            counts[row["_id"]] = row["n"]
        query = {"campaign_id": campaign_id, "status": "pending"}
        waiting = sum(doc.get("pending", 0) for doc in self.db.batches.find(query, {"pending": 1}))
        if waiting:
            counts["pending"] = counts.get("pending", 0) + waiting
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

    # -- clicks ----------------------------------------------------------------------

    def record_click(self, delivery_id: str, run_id: str) -> None:
        self.db.clicks.insert_one({"delivery_id": delivery_id, "run_id": run_id, "at": utcnow()})

    def click_count(self, run_id: str) -> int:
        return self.db.clicks.count_documents({"run_id": run_id})
