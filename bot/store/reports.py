"""Report rollups and the reads campaign reports make (bot/analytics is their only user).

Three rollups stand in for scans of raw purchases and ledger entries (DESIGN §6:
on the dev server only reads by `_id` are fast, and at 1,000,000 purchases no
report can afford a scan):

- `rollup_days`, one document per local date (`_id` "2026-05-01"): for each branch
  a packed string of that day's purchases,
  `"<purchase>:<member>:<amount>:<local hour>:<epoch ms>:<coupon>"` separated by
  spaces (the time to the millisecond and the coupon are what campaign attribution
  needs; older four-field tokens are read too, and `rollups` rewrites them). Adding a
  purchase that is already there, or removing one that is not, changes nothing, so
  redelivered earns and repeated voids count once. Reports read a period's days by
  `_id` in a few batched queries (`day_rollups`).
- `rollup_points`, one document per UTC date: `{"<hour>": {<movement>: points,
  "rewards": {<reward>: redemptions}}}`, incremented with each new ledger entry
  (its unique key makes the entry, and so the increment, happen once).
- `rollup_points_months`, one document per UTC month (`_id` "2026-05"): the same
  movements per day, `{"<day>": {<movement>: points, "rewards": {…}}}`, incremented
  in the same breath. A report reads the months for whole days and the balance owed
  (two years are 24 small documents) and hours only for the days its local midnights
  cut (FerretDB decodes nested fields slowly: a year of hourly documents takes it
  longer than a year of purchases).
- `rollup_members`, one snapshot of member counts the worker refreshes.

A crash between a purchase (or ledger entry) and its rollup leaves the rollup one
behind; `flask --app bot rollups --check` finds that and `rollups` rebuilds them.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime

import bson
from bson.codec_options import CodecOptions
from pymongo import ASCENDING, IndexModel
from pymongo.errors import DuplicateKeyError

from bot.store.base import StoreBase, utcnow
from bot.store.passes import sorted_pages

MAX_ATTEMPTS = 50
DAYS_PER_READ = 31  # day rollups per query: a month, a few MiB at 1,000,000 purchases
CODEC = CodecOptions(tz_aware=True)


def purchase_token(purchase: dict) -> str:
    """A purchase as it is packed in its day's rollup (coupon codes and ids have no
    colons or spaces: they are made by `bot.loyalty.member_codes` and `uuid`)."""
    return (
        f"{purchase['_id']}:{purchase['member_id']}:{purchase['amount']}:{purchase['local_hour']}"
        f":{epoch_millis(purchase['created_at'])}:{purchase.get('coupon') or ''}"
    )


def epoch_millis(at: datetime) -> int:
    """Milliseconds since the epoch, truncated as BSON stores a datetime (so a purchase
    packed as it is written and as it is read back gives the same token)."""
    if at.tzinfo is None:  # BSON datetimes read without tz_aware are UTC
        at = at.replace(tzinfo=UTC)
    delta = at - datetime(1970, 1, 1, tzinfo=UTC)
    return delta.days * 86_400_000 + delta.seconds * 1000 + delta.microseconds // 1000


def ledger_bucket(entry: dict) -> str:
    """The rollup field a ledger movement adds to (signed points)."""
    kind, amount = entry["kind"], entry["amount"]
    if kind == "adjust":
        return "adjust_in" if amount > 0 else "adjust_out"
    if kind == "reverse":
        return "refund" if amount > 0 else "void"
    return kind  # earn, bonus, redeem, expire


class ReportStore(StoreBase):
    INDEXES = {
        "rollup_days": [],  # _id = local date
        "rollup_points": [],  # _id = UTC date
        "rollup_points_months": [],  # _id = UTC month
        "rollup_members": [],  # _id = "members"
        "report_notices": [],  # _id = "<kind>:<run>": what the owner was told, once
        "coupons": [IndexModel([("source.run_id", ASCENDING)])],
    }

    # -- day rollups (purchases) --------------------------------------------------------

    def roll_purchase(self, purchase: dict, remove: bool = False, update: bool = False) -> bool:
        """Add a purchase to its day's rollup (or take a voided one out, or with `update`
        rewrite the token of one that is there, e.g. once a coupon is linked to it);
        True if it changed."""
        day, branch = purchase["local_date"], purchase.get("branch") or "_"
        token = purchase_token(purchase)
        prefix = f"{purchase['_id']}:"
        with self.locked(f"rollup:{day}"):
            for _attempt in range(MAX_ATTEMPTS):
                doc = self.db.rollup_days.find_one({"_id": day})
                tokens = ((doc or {}).get("b") or {}).get(branch, "").split()
                present = any(t.startswith(prefix) for t in tokens)
                if update:
                    if not present or token in tokens:
                        return False
                    tokens = [token if t.startswith(prefix) else t for t in tokens]
                elif present != remove:
                    return False
                elif remove:
                    tokens = [t for t in tokens if not t.startswith(prefix)]
                else:
                    tokens.append(token)
                if doc is None:
                    try:
                        self.db.rollup_days.insert_one({"_id": day, "b": {branch: token}, "rev": 1})
                        return True
                    except DuplicateKeyError:
                        continue
                result = self.db.rollup_days.update_one(
                    {"_id": day, "rev": doc.get("rev", 0)},
                    {"$set": {f"b.{branch}": " ".join(tokens)}, "$inc": {"rev": 1}},
                )
                if result.modified_count == 1:
                    return True
        raise RuntimeError(f"could not update the rollup of {day}")

    def day_rollup(self, day: str) -> dict:
        """branch → packed purchases of one local date (empty if none)."""
        doc = self.db.rollup_days.find_one({"_id": day})
        return (doc or {}).get("b") or {}

    def replace_day_rollup(self, day: str, branches: dict[str, str]) -> None:
        self.db.rollup_days.replace_one(
            {"_id": day}, {"_id": day, "b": branches, "rev": 0}, upsert=True
        )

    def day_rollups(self, days: list[str], batch: int = DAYS_PER_READ) -> Iterator[tuple]:
        """(day, branch → packed purchases) for each of `days` in order, read by `_id`
        a batch of days per query (FerretDB answers `_id` `$in` from its primary key)."""
        for first in range(0, len(days), batch):
            wanted = days[first : first + batch]
            found = {
                doc["_id"]: doc.get("b") or {}
                for doc in self.db.rollup_days.find({"_id": {"$in": wanted}}, {"b": 1})
            }
            for day in wanted:
                yield day, found.get(day, {})

    def day_rollup_dates(self) -> list[str]:
        return sorted(doc["_id"] for doc in self.db.rollup_days.find({}, {"_id": 1}))

    def delete_day_rollups(self, days: list[str]) -> None:
        if days:
            self.db.rollup_days.delete_many({"_id": {"$in": days}})

    # -- points rollups (ledger) ----------------------------------------------------------

    def roll_ledger(self, entry: dict) -> None:
        """Count a new ledger entry in its UTC day and hour."""
        at = entry["created_at"].astimezone(UTC)
        day, hour = at.strftime("%Y-%m-%d"), f"{at.hour:02d}"
        update = {f"{hour}.{ledger_bucket(entry)}": entry["amount"]}
        reward = entry.get("reward_id")
        if reward and entry["kind"] in ("redeem", "reverse"):
            update[f"{hour}.rewards.{reward}"] = 1 if entry["amount"] < 0 else -1
        monthly = {f"{day[8:]}.{k.split('.', 1)[1]}": v for k, v in update.items()}
        with self.locked(f"rollup:p:{day}"):
            for collection, key, inc in (
                (self.db.rollup_points, day, update),
                (self.db.rollup_points_months, day[:7], monthly),
            ):
                try:
                    collection.update_one({"_id": key}, {"$inc": inc}, upsert=True)
                except DuplicateKeyError:  # two first movements of the day at once (MongoDB)
                    collection.update_one({"_id": key}, {"$inc": inc})

    def points_rollups(self, days: list[str] | None = None) -> list[dict]:
        """Hourly points documents of the given UTC dates (read by `_id`), or all."""
        if days is None:
            return list(self.db.rollup_points.find({}))
        return list(self.db.rollup_points.find({"_id": {"$in": days}})) if days else []

    def points_months(self) -> list[dict]:
        """Every month's points per day (a dozen small documents a year)."""
        return list(self.db.rollup_points_months.find({}))

    def replace_points_rollups(self, docs: dict[str, dict], months: dict[str, dict]) -> None:
        for collection, wanted in (
            (self.db.rollup_points, docs),
            (self.db.rollup_points_months, months),
        ):
            collection.delete_many({"_id": {"$nin": list(wanted)}})
            for key, doc in wanted.items():
                collection.replace_one({"_id": key}, {"_id": key, **doc}, upsert=True)

    # -- member snapshot -------------------------------------------------------------------

    def member_snapshot(self) -> dict | None:
        return self.db.rollup_members.find_one({"_id": "members"})

    def put_member_snapshot(self, snapshot: dict) -> None:
        self.db.rollup_members.replace_one(
            {"_id": "members"}, {**snapshot, "_id": "members"}, upsert=True
        )

    # -- sources, streamed ------------------------------------------------------------------

    def stream_purchases(self, start: datetime | None = None, end: datetime | None = None):
        """Active purchases (oldest first), optionally in [start, end), in small fields."""
        query: dict = {"status": "active"}
        if start or end:
            query["created_at"] = {
                **({"$gte": start} if start else {}),
                **({"$lt": end} if end else {}),
            }
        fields = {
            "member_id": 1,
            "amount": 1,
            "branch": 1,
            "created_at": 1,
            "local_date": 1,
            "local_hour": 1,
            "coupon": 1,
        }
        if self.serialises_writes:
            # FerretDB would sort every purchase, whole, in its own memory.
            pages = sorted_pages(self.db.purchases, query, fields, 5000, "created_at")
            return (purchase for page in pages for purchase in page)
        cursor = self.db.purchases.find(query, fields).sort("created_at", ASCENDING)
        return self._drained(cursor)

    def stream_ledger(self):
        fields = {"amount": 1, "kind": 1, "created_at": 1, "reward_id": 1}
        return self._drained(self.db.ledger.find({}, fields))

    def stream_run_rows(self, campaign_id: str, run_id: str) -> Iterator[dict]:
        """A run's delivery rows: member, group and status."""
        query = {"campaign_id": campaign_id, "run_id": run_id}
        fields = {"member_id": 1, "group": 1, "status": 1, "_id": 0}
        return self._drained(self.db.deliveries.find(query, fields))

    def _drained(self, cursor) -> Iterator[dict]:
        """Documents of a cursor; on FerretDB read to the end into a temporary file first.

        On FerretDB's SQLite an open read cursor holds a read transaction that makes
        every writer (a staff earn in the web process too) wait, so a report must not
        keep one open while it works (as `member_pages` for members).
        """
        if not self.serialises_writes:
            yield from cursor
            return
        with tempfile.TemporaryFile() as spool:
            for doc in cursor:
                spool.write(bson.encode(doc))
            spool.seek(0)
            yield from bson.decode_file_iter(spool, CODEC)

    # -- campaign reads ------------------------------------------------------------------------

    def run_started_at(self, run_id: str) -> datetime | None:
        """When a run's audience was written: its first batch document."""
        first = self.db.batches.find_one({"_id": f"{run_id}:b0"}, {"created_at": 1})
        return first["created_at"] if first else None

    def run_coupons(self, run_id: str) -> list[dict]:
        fields = {"status": 1, "kind": 1, "value": 1, "purchase_id": 1, "member_id": 1}
        return list(self.db.coupons.find({"source.run_id": run_id}, fields))

    def coupon_source(self, code: str) -> dict | None:
        doc = self.db.coupons.find_one({"_id": code}, {"source": 1})
        return (doc or {}).get("source")

    def purchase_amount(self, purchase_id: str) -> int:
        doc = self.db.purchases.find_one({"_id": purchase_id}, {"amount": 1, "status": 1})
        return doc["amount"] if doc and doc.get("status") == "active" else 0

    # -- notices to the owner ---------------------------------------------------------------

    def claim_notice(self, key: str) -> bool:
        """Reserve a notice once; False if it was claimed before."""
        try:
            self.db.report_notices.insert_one({"_id": key, "status": "claimed", "at": utcnow()})
            return True
        except DuplicateKeyError:
            return False

    def unfinished_notices(self) -> list[dict]:
        return list(self.db.report_notices.find({"status": "claimed"}))

    def finish_notice(self, key: str) -> None:
        self.db.report_notices.update_one(
            {"_id": key}, {"$set": {"status": "sent", "sent_at": utcnow()}}
        )
