"""Purchases, receipt numbers, and the per-member behaviour stats they update."""

from __future__ import annotations

from datetime import datetime

from pymongo import ASCENDING, DESCENDING, IndexModel, ReturnDocument
from pymongo.errors import DuplicateKeyError

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

    def insert_purchase(self, purchase: dict) -> bool:
        try:
            self.db.purchases.insert_one({**purchase, "status": "active", "created_at": utcnow()})
            return True
        except DuplicateKeyError:
            return False

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

    def record_visit(self, member_id: str, purchase: dict, sign: int = 1) -> None:
        """Keep behaviour stats at write time so segments are plain indexed finds."""
        branch = purchase.get("branch") or "_"
        update = {
            "$inc": {
                "stats.visits": sign,
                "stats.spend": sign * purchase["amount"],
                f"stats.branches.{branch}": sign,
                f"stats.hours.{purchase['local_hour']}": sign,
                f"stats.weekdays.{purchase['local_weekday']}": sign,
            }
        }
        if sign > 0:
            now = utcnow()
            update["$min"] = {"stats.first_visit": now}
            update["$max"] = {"stats.last_visit": now}
        self.update_member(member_id, update)
