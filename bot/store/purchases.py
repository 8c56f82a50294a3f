"""Purchases, receipt numbers, and the per-member behaviour stats they update."""

from __future__ import annotations

import time
from datetime import datetime

from pymongo import ASCENDING, DESCENDING, IndexModel, ReturnDocument
from pymongo.errors import DuplicateKeyError

from bot.members.behaviour import derive, recent, visit_update
from bot.store.base import StoreBase, utcnow
from bot.store.passes import member_groups

# database -> (monotonic time read, count, amount): the shop's totals are a guide
# (large-purchase flags), read from the database at most this often per process.
_TOTALS: dict[str, tuple[float, int, int]] = {}
TOTALS_CACHE_SECONDS = 60.0


class PurchaseStore(StoreBase):
    INDEXES = {
        "purchases": [
            IndexModel([("member_id", ASCENDING), ("created_at", DESCENDING)]),
            IndexModel([("created_at", DESCENDING)]),
        ],
        "receipts": [],  # _id = "<branch>:<receipt no.>" -> {purchase_id}
        "purchase_keys": [],  # _id = "earn:<event or question id>" -> {purchase_id}
        "purchase_totals": [],  # _id = "all" -> {count, amount} of active purchases
    }

    def claim_purchase_key(self, key: str, purchase_id: str) -> str:
        """The purchase an earn with this key records: `purchase_id`, or the first one's."""
        try:
            self.db.purchase_keys.insert_one(
                {"_id": key, "purchase_id": purchase_id, "at": utcnow()}
            )
            return purchase_id
        except DuplicateKeyError:
            return self.db.purchase_keys.find_one({"_id": key})["purchase_id"]

    def purchase_id_for_key(self, key: str) -> str | None:
        doc = self.db.purchase_keys.find_one({"_id": key})
        return doc["purchase_id"] if doc else None

    def claim_receipt(self, branch: str | None, receipt: str, purchase_id: str) -> str | None:
        """Reserve a receipt number at a branch; returns the purchase that already has it."""
        key = f"{branch or '-'}:{receipt}"
        try:
            self.db.receipts.insert_one({"_id": key, "purchase_id": purchase_id, "at": utcnow()})
            return None
        except DuplicateKeyError:
            return self.db.receipts.find_one({"_id": key})["purchase_id"]

    def insert_purchase(self, purchase: dict) -> tuple[dict, bool]:
        """Store an active purchase once; returns (the stored purchase, whether it is new)."""
        doc = {**purchase, "status": "active", "created_at": utcnow()}
        try:
            self.db.purchases.insert_one(doc)
        except DuplicateKeyError:
            return self.purchase(purchase["_id"]), False
        self._count_in_totals(doc["amount"], 1)
        return doc, True

    def purchase_totals(self) -> tuple[int, int]:
        """(count, amount) of the shop's active purchases: a figure kept up to date, not a scan.

        A shop from before the figure existed gets it counted once from its purchases (a
        purchase recorded during that first count may be missed: the figure is a guide).
        """
        cached = _TOTALS.get(self.db.name)
        if cached is not None and time.monotonic() - cached[0] < TOTALS_CACHE_SECONDS:
            return cached[1], cached[2]
        doc = self.db.purchase_totals.find_one({"_id": "all"})
        if doc is None:
            # Two queries: FerretDB 1.24 computes only the first accumulator of a $group.
            active = {"status": "active"}
            rows = list(
                self.db.purchases.aggregate(
                    [{"$match": active}, {"$group": {"_id": None, "amount": {"$sum": "$amount"}}}]
                )
            )
            count = self.db.purchases.count_documents(active)
            doc = {"_id": "all", "count": count, "amount": rows[0]["amount"] if rows else 0}
            try:
                self.db.purchase_totals.insert_one(doc)
            except DuplicateKeyError:
                doc = self.db.purchase_totals.find_one({"_id": "all"})
        _TOTALS[self.db.name] = (time.monotonic(), doc["count"], doc["amount"])
        return doc["count"], doc["amount"]

    def _count_in_totals(self, amount: int, sign: int) -> None:
        # No upsert: until `purchase_totals` first counts them, the figure does not exist.
        with self.locked("purchase_totals"):
            self.db.purchase_totals.update_one(
                {"_id": "all"}, {"$inc": {"count": sign, "amount": sign * amount}}
            )
        cached = _TOTALS.get(self.db.name)
        if cached is not None:  # this process's own purchases show at once
            _TOTALS[self.db.name] = (cached[0], cached[1] + sign, cached[2] + sign * amount)

    def purchase(self, purchase_id: str) -> dict | None:
        return self.db.purchases.find_one({"_id": purchase_id})

    def void_purchase(self, purchase_id: str, by: str) -> dict | None:
        """Mark a purchase voided once; None if it was not active."""
        with self.locked(f"purchase:{purchase_id}"):
            voided = self.db.purchases.find_one_and_update(
                {"_id": purchase_id, "status": "active"},
                {"$set": {"status": "voided", "voided_by": by, "voided_at": utcnow()}},
                return_document=ReturnDocument.AFTER,
            )
        if voided is not None:
            self._count_in_totals(voided["amount"], -1)
        return voided

    def link_coupon(self, purchase_id: str, coupon_code: str) -> None:
        with self.locked(f"purchase:{purchase_id}"):
            self.db.purchases.update_one({"_id": purchase_id}, {"$set": {"coupon": coupon_code}})

    def rolling_spend(self, member_id: str, since: datetime) -> int:
        """Total of active purchases since `since`, in minor units (tiers).

        Kept on the member as `tier_spend` by earns (see `spend_with`); read from the
        purchases where it is not (yet) there.
        """
        member = self.db.members.find_one({"_id": member_id}, {"tier_spend": 1}) or {}
        if member.get("tier_spend") is not None:
            return spend_since(member["tier_spend"], since)
        return spend_since(self.tier_spend_from_purchases(member_id, since), since)

    def tier_spend_from_purchases(self, member_id: str, since: datetime) -> str:
        """The member's `tier_spend` as their active purchases since `since` make it."""
        fields = {"amount": 1, "status": 1, "created_at": 1}
        rows = [
            row
            for row in self._member_purchases(member_id, fields)
            if row["status"] == "active" and row["created_at"] >= since
        ]
        return " ".join(_spend_token(row["created_at"], row["amount"]) for row in rows)

    def spend_pages(self, since: datetime):
        """Pages of (member, active spend since `since`) for every member: one read of each."""
        active = {"status": "active", "created_at": {"$gte": since}}
        related = {"purchases": ("purchases", active, {"amount": 1})}
        for page in member_groups(self.db, {"status": "member"}, {"tier": 1}, related):
            yield [(doc, sum(p["amount"] for p in owned["purchases"])) for doc, owned in page]

    def _member_purchases(self, member_id: str, fields: dict | None = None) -> list[dict]:
        """The member's purchases, by the ids listed on them (one `_id` read)."""
        member = self.db.members.find_one({"_id": member_id}, {"purchase_ids": 1}) or {}
        return self.owned("purchases", member.get("purchase_ids") or [], fields)

    def record_visit(self, member_id: str, purchase: dict) -> None:
        """Count a purchase in the member's stats, then refresh what derives from them.

        The member keeps a summary of their last purchase (the counter's "same purchase
        again?" check) and the ids of the last purchases counted: counting one of them a
        second time is a no-op.
        """
        update = visit_update(purchase)
        update.setdefault("$set", {})["last_purchase"] = {
            key: purchase.get(key) for key in ("_id", "amount", "branch", "receipt", "created_at")
        }
        # Listed with the stats that count it: the member's purchases are read by `_id`.
        update["$addToSet"] = {"purchase_ids": purchase["_id"]}
        update["$unset"] = {"tier_spend": ""}  # read from the purchases until the next earn
        with self.locked(f"member:{member_id}"):
            doc = self.db.members.find_one_and_update(
                {
                    "_id": member_id,
                    "last_purchase._id": {"$ne": purchase["_id"]},
                    "stats.counted": {"$ne": purchase["_id"]},
                },
                update,
                return_document=ReturnDocument.AFTER,  # no projection: FerretDB lacks it here
            )
            if doc is not None:
                self._set_derived(member_id, doc["stats"])

    def _set_derived(self, member_id: str, stats: dict) -> None:
        # Only if nothing changed the counters meanwhile; that writer derives again.
        changes = {f"stats.{name}": value for name, value in derive(stats).items()}
        for bounded in ("visit_dates", "counted"):  # FerretDB ignores $push's $slice
            changes[f"stats.{bounded}"] = recent(stats, bounded)
        self.db.members.update_one(
            {"_id": member_id, "stats.rev": stats.get("rev")}, {"$set": changes}
        )

    def replace_stats(self, member_id: str, stats: dict) -> None:
        """Set stats rebuilt from purchases (voids, `flask rebuild-stats`)."""
        with self.locked(f"member:{member_id}"):
            current = self.db.members.find_one({"_id": member_id}, {"stats.rev": 1})
            rev = ((current or {}).get("stats") or {}).get("rev", 0) + 1
            self.db.members.update_one(
                {"_id": member_id},
                {"$set": {"stats": {**stats, "rev": rev}}, "$unset": {"tier_spend": ""}},
            )

    def recent_purchases(self, member_id: str, limit: int) -> list[dict]:
        """The member's latest purchases (voided ones too), newest first."""
        found = sorted(self._member_purchases(member_id), key=lambda row: row["created_at"])
        return found[::-1][:limit]

    def active_purchases(self, member_id: str) -> list[dict]:
        rows = [row for row in self._member_purchases(member_id) if row["status"] == "active"]
        return sorted(rows, key=lambda row: row["created_at"])


# -- tier spend kept on the member ------------------------------------------------------
#
# `tier_spend` packs the member's active purchases of the tier window as
# "<epoch seconds>:<amount>" tokens, so an earn knows the rolling spend without
# reading purchases. Earns keep it (bot/loyalty/points.py); anything else that changes the
# member's purchases (a void, a rebuild, an earn the long way) unsets it, and the
# next earn reads it from the purchases again.


def _spend_token(at: datetime, amount: int) -> str:
    return f"{int(at.timestamp())}:{amount}"


def spend_since(packed: str, since: datetime) -> int:
    """Total amount of the tokens at or after `since`."""
    cutoff = since.timestamp()
    total = 0
    for token in packed.split():
        at, amount = token.split(":")
        if int(at) >= cutoff:
            total += int(amount)
    return total


def spend_with(packed: str, at: datetime, amount: int, since: datetime) -> str:
    """`packed` with one more purchase and without those before `since`."""
    cutoff = since.timestamp()
    kept = [token for token in packed.split() if int(token.split(":")[0]) >= cutoff]
    return " ".join([*kept, _spend_token(at, amount)])
