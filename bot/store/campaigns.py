"""Campaigns, journeys' settings, the deliveries ledger and link clicks."""

from __future__ import annotations

import contextlib
from collections import Counter
from datetime import datetime, timedelta

from pymongo import ASCENDING, IndexModel, ReturnDocument
from pymongo.errors import BulkWriteError, DuplicateKeyError

from bot.store.base import StoreBase, utcnow

ERASED = "-"  # in a queue, the LINE id of a member erased before their batch went
ERASURES_KEPT = timedelta(days=3)  # longer than any run takes to send


def _unpacked(doc: dict, field: str) -> dict:
    return {**doc, field: doc[field].split()}


def _batch_key(number, member_id: str) -> str:
    """A batch's _id suffix: `b<n>` for snapshot batches, `m<member>` for a reply."""
    return f"m{member_id}" if number == "m" else f"b{number}"


NUMBER = {"run_id": 1, "number": 1}


class CampaignStore(StoreBase):
    INDEXES = {
        "campaigns": [IndexModel([("status", ASCENDING), ("next_run_at", ASCENDING)])],
        # One row per member and run: _id "<run>:<member>" is what makes it unique.
        "deliveries": [
            IndexModel([("campaign_id", ASCENDING)]),
            IndexModel([("member_id", ASCENDING)]),
        ],
        # One document per delivery whose link was opened (_id: the delivery), so two
        # taps at once count one member once.
        "link_clicks": [
            IndexModel([("run_id", ASCENDING)]),
            IndexModel([("campaign_id", ASCENDING)]),
        ],
        # One document per snapshot batch (_id "<run>:b<n>", fetched by _id, the one
        # lookup FerretDB's SQLite backend indexes), its outcome and its queue (same _id).
        "batches": [IndexModel([("run_id", ASCENDING)]), IndexModel([("campaign_id", ASCENDING)])],
        "batch_outcomes": [
            IndexModel([("run_id", ASCENDING)]),
            IndexModel([("campaign_id", ASCENDING)]),
            IndexModel([("status", ASCENDING), ("sent_at", ASCENDING)]),
        ],
        "batch_queues": [IndexModel([("run_id", ASCENDING)])],
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

    def campaigns_to_announce(self) -> list[dict]:
        """Campaigns with a finished run the owners have not been told about yet."""
        query = {"notice_run": {"$exists": True, "$ne": None}}
        return list(self.db.campaigns.find(query, {"_id": 1, "name": 1, "notice_run": 1}))

    def announced(self, campaign_id: str, run_id: str) -> None:
        with self.locked(f"campaign:{campaign_id}"):
            self.db.campaigns.update_one(
                {"_id": campaign_id, "notice_run": run_id}, {"$set": {"notice_run": None}}
            )

    def campaigns_to_close(self) -> list[dict]:
        """Cancelled campaigns whose unsent batches are not closed yet."""
        query = {"status": "cancelled", "batches_closed": {"$ne": True}}
        return list(self.db.campaigns.find(query, {"_id": 1}))

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

    # -- the deliveries ledger --------------------------------------------------------
    #
    # Every member of a run has one row in `deliveries` (_id "<run>:<member>"), written
    # at the snapshot: `pending` with its batch number for those to send, or holdout,
    # skipped_optout, skipped_blocked, capped. A `batches` document stands for up to
    # 500 pending members (listed in `batch_members`, ids packed into one string) and
    # never changes; once LINE
    # has answered, a `batch_outcomes` document with the same _id records what
    # happened to all of them at once: sent (bar the exceptions it names: failed,
    # erased) or cancelled. No outcome yet means still to send. So sending inserts
    # one small document per 500 members, and counts and caps read batches and
    # outcomes, never a scan of rows. LINE ids and personal values wait in
    # `batch_queues` until the run ends.

    def add_deliveries(self, rows: list[dict]) -> int:
        """Insert rows; rows already there (a resumed snapshot) are kept as they are."""
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

    def add_batch(self, batch: dict, queue: dict) -> dict:
        """Store one snapshot batch unless a crashed run stored it already; returns it.

        Its queue (everything sending needs: members, LINE ids, values, and the
        batch's other rows for a resumed snapshot) is written first, so a batch
        document never exists without it. Ids are packed into one string: FerretDB
        spends ~10 µs per array element, and both documents are read whole.
        """
        meta = {k: batch[k] for k in ("campaign_id", "run_id", "number")}
        packed_queue = {
            **queue,
            **meta,
            "members": " ".join(batch["members"]),
            "line_ids": " ".join(queue["line_ids"]),
        }
        self.db.batch_queues.replace_one({"_id": batch["_id"]}, packed_queue, upsert=True)
        members = {"_id": batch["_id"], "members": " ".join(batch["members"])}
        self.db.batch_members.replace_one({"_id": batch["_id"]}, members, upsert=True)
        summary = {k: v for k, v in batch.items() if k != "members"}
        try:
            self.db.batches.insert_one(summary)
            return batch
        except DuplicateKeyError:
            return self.db.batches.find_one({"_id": batch["_id"]})

    def _members(self, batch_id: str) -> list[str]:
        doc = self.db.batch_members.find_one({"_id": batch_id})
        return doc["members"].split() if doc else []

    def batch_queue(self, batch_id: str) -> dict:
        queue = self.db.batch_queues.find_one({"_id": batch_id})
        if queue is None:
            return {"members": [], "line_ids": [], "values": [], "others": []}
        return _unpacked(_unpacked(queue, "line_ids"), "members")

    def drop_queues(self, run_id: str) -> None:
        """A finished run's queues go: they hold LINE ids and first names."""
        self.db.batch_queues.delete_many({"run_id": run_id})

    def last_batch(self, run_id: str) -> dict | None:
        """The run's latest snapshot batch: where a resumed snapshot carries on."""
        numbers = sorted(doc["number"] for doc in self.db.batches.find({"run_id": run_id}, NUMBER))
        return self.db.batches.find_one({"_id": f"{run_id}:b{numbers[-1]}"}) if numbers else None

    def pending_batches(self, run_id: str) -> list[int]:
        """Numbers of the run's batches with members still to send."""
        return sorted(n for _run, n in self._pending({"run_id": run_id}))

    def unfinished_runs(self, campaign_id: str) -> list[str]:
        """Runs of a campaign (or journey) with batches still to send."""
        return sorted({run for run, _n in self._pending({"campaign_id": campaign_id})})

    def _pending(self, query: dict) -> set[tuple[str, int]]:
        batches = self.db.batches.find({**query, "size": {"$gt": 0}}, NUMBER)
        answered = {doc["_id"] for doc in self.db.batch_outcomes.find(query, {"_id": 1})}
        return {(d["run_id"], d["number"]) for d in batches if d["_id"] not in answered}

    def batch_to_send(self, run_id: str, number: int) -> dict | None:
        """One of `pending_batches`, as its queue: members, LINE ids, values, and which
        of its members have been erased since (they are not sent to)."""
        queue = self.db.batch_queues.find_one({"_id": f"{run_id}:b{number}"})
        if queue is None:
            return None
        queue = _unpacked(_unpacked(queue, "line_ids"), "members")
        since = utcnow() - ERASURES_KEPT
        erased = {doc["_id"] for doc in self.db.erasures.find({"at": {"$gte": since}})}
        return {**queue, "erased": erased.intersection(queue["members"])}

    def finish_batch(self, batch: dict, exceptions: dict[str, str]) -> None:
        """Record that LINE took a batch: its members are sent, bar `exceptions`."""
        self._answer(batch, "sent", exceptions)

    def _answer(self, batch: dict, status: str, exceptions: dict | None = None, **extra):
        outcome = {
            "_id": batch["_id"],
            "campaign_id": batch["campaign_id"],
            "run_id": batch["run_id"],
            "status": status,
            "sent_at": utcnow(),
            "exceptions": exceptions or {},
            **extra,
        }
        try:
            self.db.batch_outcomes.insert_one(outcome)
        except DuplicateKeyError:
            # Answered already (a resumed run): the first answer stands, except that a
            # batch LINE took is sent even if a cancel reached it first.
            if status == "sent":
                self.db.batch_outcomes.update_one(
                    {"_id": batch["_id"], "status": "cancelled"}, {"$set": outcome}
                )

    def cancel_batches(self, campaign_id: str, status: str = "cancelled") -> None:
        """A cancelled (or quota-stopped) campaign's queue: nobody more is sent to, and
        the LINE ids go."""
        for run_id, number in self._pending({"campaign_id": campaign_id}):
            batch_id = f"{run_id}:b{number}"
            self._answer({"_id": batch_id, "campaign_id": campaign_id, "run_id": run_id}, status)
        self.db.batch_queues.delete_many({"campaign_id": campaign_id})

    def retry_batch_later(self, run_id: str, number: int) -> int:
        """Count a failed attempt at a batch; returns the attempts so far."""
        doc = self.db.batches.find_one_and_update(
            {"_id": f"{run_id}:b{number}"},
            {"$inc": {"attempts": 1}},
            return_document=ReturnDocument.AFTER,
        )
        return doc["attempts"] if doc else 0

    def forget_in_batches(self, member_id: str) -> None:
        """An erased member: not sent to, and their LINE id and values leave the queue."""
        self.db.erasures.replace_one(
            {"_id": member_id}, {"_id": member_id, "at": utcnow()}, upsert=True
        )
        for queued in list(self.db.batch_queues.find({}, {"members": 1})):
            members = queued["members"].split()
            if member_id not in members:
                continue
            index = members.index(member_id)
            queue = self.batch_queue(queued["_id"])
            line_ids = queue["line_ids"]
            line_ids[index] = ERASED
            values = queue["values"]
            if values:
                values[index] = {}
            self.db.batch_queues.update_one(
                {"_id": queue["_id"]}, {"$set": {"line_ids": " ".join(line_ids), "values": values}}
            )

    def prune_erasures(self) -> int:
        cutoff = utcnow() - ERASURES_KEPT
        return self.db.erasures.delete_many({"at": {"$lt": cutoff}}).deleted_count

    def record_reply(self, journey_id: str, run_id: str, member_id: str) -> None:
        """A journey message sent as a reply (the welcome): a batch of one, answered."""
        batch_id = f"{run_id}:m{member_id}"
        meta = {"campaign_id": journey_id, "run_id": run_id}
        row = {"_id": f"{run_id}:{member_id}", **meta, "member_id": member_id}
        self.add_deliveries([{**row, "group": "treatment", "status": "pending", "batch": "m"}])
        batch = {"_id": batch_id, **meta, "number": "m", "size": 1}
        self.db.batch_members.replace_one(
            {"_id": batch_id}, {"_id": batch_id, "members": member_id}, upsert=True
        )
        with contextlib.suppress(DuplicateKeyError):
            self.db.batches.insert_one(batch)
        self._answer(batch, "sent", reply=True)  # a reply: outside the frequency cap

    # -- what the ledger says ----------------------------------------------------------

    def run_counts(self, run_id: str) -> dict:
        """Members of one run by status: sent, failed, holdout, skipped_…, capped, pending."""
        return self._tally({"run_id": run_id})

    def campaign_counts(self, campaign_id: str) -> dict:
        """Members by status over all of a campaign's (or journey's) runs."""
        return self._tally({"campaign_id": campaign_id})

    def _tally(self, query: dict) -> dict:
        counts: Counter = Counter()
        outcomes = {doc["_id"]: doc for doc in self.db.batch_outcomes.find(query)}
        for batch in self.db.batches.find(query, {"size": 1, "counts": 1}):
            counts.update(batch.get("counts") or {})
            outcome = outcomes.get(batch["_id"], {"status": "pending", "exceptions": {}})
            counts.update(outcome["exceptions"].values())
            counts[outcome["status"]] += batch["size"] - len(outcome["exceptions"])
        return {status: n for status, n in counts.items() if n > 0}

    def recent_send_counts(self, since: datetime, campaign_id: str | None = None) -> dict:
        """member id → campaign messages sent since `since` (for caps and once-only rules)."""
        query = {"status": "sent", "sent_at": {"$gte": since}, "reply": {"$ne": True}}
        if campaign_id:
            query["campaign_id"] = campaign_id
        counts: Counter = Counter()
        for outcome in list(self.db.batch_outcomes.find(query, {"exceptions": 1})):
            exceptions = outcome["exceptions"]
            counts.update(m for m in self._members(outcome["_id"]) if m not in exceptions)
        return dict(counts)

    def sent_streams(self, since: datetime) -> list:
        """For each run with campaign messages sent since `since`: its members sent to, in
        `_id` order, read one batch at a time (a run's batches cover rising `_id` ranges)."""
        query = {"status": "sent", "sent_at": {"$gte": since}, "reply": {"$ne": True}}
        runs: dict[str, list[tuple[int, dict]]] = {}
        for outcome in self.db.batch_outcomes.find(query, {"exceptions": 1, "run_id": 1}):
            number = outcome["_id"].rsplit(":b", 1)[-1]
            if number.isdigit():  # snapshot batches (a reply's is not counted in caps)
                runs.setdefault(outcome["run_id"], []).append((int(number), outcome))
        return [self._sent_in(sorted(batches, key=lambda b: b[0])) for batches in runs.values()]

    def _sent_in(self, batches: list[tuple[int, dict]]):
        for _number, outcome in batches:
            exceptions = outcome["exceptions"]
            yield from (m for m in self._members(outcome["_id"]) if m not in exceptions)

    def queued_members(self, campaign_id: str) -> set[str]:
        """Members in a campaign's (or journey's) batches not answered yet."""
        return {
            member
            for run_id, number in self._pending({"campaign_id": campaign_id})
            for member in self._members(f"{run_id}:b{number}")
        }

    def member_deliveries(self, member_id: str) -> list[dict]:
        """A member's rows with the status their batch's outcome gave them (for `my data`)."""
        rows = list(self.db.deliveries.find({"member_id": member_id}, {"member_id": 0}))
        for row in rows:
            if row["status"] == "pending" and "batch" in row:
                batch_id = f"{row['run_id']}:{_batch_key(row['batch'], member_id)}"
                outcome = self.db.batch_outcomes.find_one({"_id": batch_id})
                if outcome:
                    row["status"] = outcome["exceptions"].get(member_id, outcome["status"])
                    row["sent_at"] = outcome["sent_at"]
        return sorted(rows, key=lambda row: row["created_at"])

    # -- clicks ----------------------------------------------------------------------

    def record_click(self, delivery_id: str, run_id: str, campaign_id: str) -> bool:
        """Count a member's click once per delivery (True the first time). `opened` keeps
        the raw number of times the link was opened (approximate on the dev server,
        whose `$inc` is not atomic; reports use the unique count)."""
        try:
            self.db.link_clicks.insert_one(
                {
                    "_id": delivery_id,
                    "run_id": run_id,
                    "campaign_id": campaign_id,
                    "at": utcnow(),
                    "opened": 1,
                }
            )
            return True
        except DuplicateKeyError:
            self.db.link_clicks.update_one({"_id": delivery_id}, {"$inc": {"opened": 1}})
            return False

    def click_count(self, run_id: str | None = None, campaign_id: str | None = None) -> int:
        """Members who clicked a run's (or a campaign's) link: unique, once per delivery."""
        query = {"run_id": run_id} if run_id else {"campaign_id": campaign_id}
        return self.db.link_clicks.count_documents(query)
