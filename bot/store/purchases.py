"""Purchases, receipt numbers, and the per-member behaviour stats they update."""

from __future__ import annotations

from datetime import datetime

from pymongo import ASCENDING, DESCENDING, IndexModel, ReturnDocument
from pymongo.errors import DuplicateKeyError

from bot.behaviour import derive, visit_update
from bot.store.base import StoreBase, utcnow


class PurchaseStore(StoreBase):
    INDEXES = {
        "purchases": [
            IndexModel([("member_id", ASCENDING), ("created_at", DESCENDING)]),
            IndexModel([("created_at", DESCENDING)]),
        ],
        "receipts": [],  # _id = "<branch>:<receipt no.>" -> {purchase_id}
    }

    def claim_receipt(self, branch: str | None, receipt: str, purchase_id: str) -> str | None:
        """Reserve a receipt number at a branch; returns the purchase that already has it."""
        key = f"{branch or '-'}:{receipt}"
        try:
            self.db.receipts.insert_one({"_id": key, "purchase_id": purchase_id, "at": utcnow()})
            return None
        except DuplicateKeyError:
            return self.db.receipts.find_one({"_id": key})["purchase_id"]

    def insert_purchase(self, purchase: dict) -> dict:
        """Store an active purchase; returns it with its `created_at`."""
        doc = {**purchase, "status": "active", "created_at": utcnow()}
        self.db.purchases.insert_one(doc)
        return doc

    def purchase(self, purchase_id: str) -> dict | None:
        return self.db.purchases.find_one({"_id": purchase_id})

    def void_purchase(self, purchase_id: str, by: str) -> dict | None:
        """Mark a purchase voided once; None if it was not active."""
        with self.locked(f"purchase:{purchase_id}"):
            return self.db.purchases.find_one_and_update(
                {"_id": purchase_id, "status": "active"},
                {"$set": {"status": "voided", "voided_by": by, "voided_at": utcnow()}},
                return_document=ReturnDocument.AFTER,
            )

    def link_coupon(self, purchase_id: str, coupon_code: str) -> None:
        with self.locked(f"purchase:{purchase_id}"):
            self.db.purchases.update_one({"_id": purchase_id}, {"$set": {"coupon": coupon_code}})

    def rolling_spend(self, member_id: str, since: datetime) -> int:
        """Total of active purchases since `since`, in minor units (tiers)."""
        rows = list(
            self.db.purchases.aggregate(
                [
                    {
                        "$match": {
                            "member_id": member_id,
                            "status": "active",
                            "created_at": {"$gte": since},
                        }
                    },
                    {"$group": {"_id": None, "total": {"$sum": "$amount"}}},
                ]
            )
        )
        return rows[0]["total"] if rows else 0

    def record_visit(self, member_id: str, purchase: dict) -> None:
        """Count a purchase in the member's stats, then refresh what derives from them."""
        with self.locked(f"member:{member_id}"):
            doc = self.db.members.find_one_and_update(
                {"_id": member_id},
                visit_update(purchase),
                return_document=ReturnDocument.AFTER,  # no projection: FerretDB lacks it here
            )
            self._set_derived(member_id, doc["stats"])

    def _set_derived(self, member_id: str, stats: dict) -> None:
        # Only if nothing changed the counters meanwhile; that writer derives again.
        changes = {f"stats.{name}": value for name, value in derive(stats).items()}
        self.db.members.update_one(
            {"_id": member_id, "stats.rev": stats.get("rev")}, {"$set": changes}
        )

    def replace_stats(self, member_id: str, stats: dict) -> None:
        """Set stats rebuilt from purchases (voids, `flask rebuild-stats`)."""
        with self.locked(f"member:{member_id}"):
            current = self.db.members.find_one({"_id": member_id}, {"stats.rev": 1})
            rev = ((current or {}).get("stats") or {}).get("rev", 0) + 1
            self.db.members.update_one(
                {"_id": member_id}, {"$set": {"stats": {**stats, "rev": rev}}}
            )

    def active_purchases(self, member_id: str) -> list[dict]:
        return list(
            self.db.purchases.find({"member_id": member_id, "status": "active"}).sort(
                "created_at", ASCENDING
            )
        )
