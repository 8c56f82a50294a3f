"""Rewards (catalogue and stock), redemptions and coupons."""

from __future__ import annotations

from datetime import datetime

from pymongo import ASCENDING, DESCENDING, IndexModel, ReturnDocument
from pymongo.errors import DuplicateKeyError

from bot.store.base import StoreBase, utcnow


class RewardStore(StoreBase):
    INDEXES = {
        "rewards": [IndexModel([("active", ASCENDING), ("points", ASCENDING)])],
        "redemptions": [
            IndexModel([("key", ASCENDING)], unique=True),
            IndexModel([("member_id", ASCENDING), ("created_at", DESCENDING)]),
            IndexModel([("status", ASCENDING), ("expires_at", ASCENDING)]),
        ],
        # _id = reward:member:n, one per redemption counted against a per-member limit
        "reward_slots": [IndexModel([("redemption", ASCENDING)])],
        "coupons": [
            IndexModel([("key", ASCENDING)], unique=True),
            IndexModel([("member_id", ASCENDING), ("status", ASCENDING)]),
            IndexModel([("status", ASCENDING), ("expires_at", ASCENDING)]),
        ],
    }

    # -- catalogue -----------------------------------------------------------------

    def add_reward(self, reward: dict) -> bool:
        try:
            self.db.rewards.insert_one({**reward, "created_at": utcnow()})
            return True
        except DuplicateKeyError:
            return False

    def reward(self, reward_id: str) -> dict | None:
        return self.db.rewards.find_one({"_id": reward_id})

    def list_rewards(self, active_only: bool = False) -> list[dict]:
        query = {"active": True} if active_only else {}
        return list(self.db.rewards.find(query).sort([("points", ASCENDING), ("_id", ASCENDING)]))

    def update_reward(self, reward_id: str, changes: dict) -> bool:
        with self.locked(f"reward:{reward_id}"):
            result = self.db.rewards.update_one({"_id": reward_id}, {"$set": changes})
        return result.matched_count == 1

    def take_stock(self, reward_id: str, code: str) -> bool:
        """One unit of a limited reward for redemption `code`, atomically and once.

        The unit and the code go into the reward in one write (`taking`, the codes
        holding a unit their redemption has not recorded yet), so a redemption resumed
        or undone after a crash knows whether its unit was taken.
        """
        with self.locked(f"reward:{reward_id}"):
            for query, inc in (
                ({"stock": {"$gt": 0}}, {"stock": -1, "taken": 1}),
                ({"stock": None}, {"taken": 1}),
            ):
                result = self.db.rewards.update_one(
                    {"_id": reward_id, "active": True, "taking": {"$ne": code}, **query},
                    {"$inc": inc, "$push": {"taking": code}},
                )
                if result.modified_count == 1:
                    return True
            return self.stock_held_by(reward_id, code)

    def stock_held_by(self, reward_id: str, code: str) -> bool:
        """Did redemption `code` take a unit it has not recorded yet?"""
        return self.db.rewards.count_documents({"_id": reward_id, "taking": code}) == 1

    def stock_recorded(self, reward_id: str, code: str) -> None:
        """The redemption recorded its unit (`stock_taken`): the reward forgets the code."""
        with self.locked(f"reward:{reward_id}"):
            self.db.rewards.update_one({"_id": reward_id}, {"$pull": {"taking": code}})

    def return_stock(self, reward_id: str, code: str | None = None) -> None:
        with self.locked(f"reward:{reward_id}"):
            reward = self.db.rewards.find_one({"_id": reward_id}, {"stock": 1})
            update = {"$inc": {"taken": -1}}
            if code is not None:
                update["$pull"] = {"taking": code}
            if reward is not None and reward.get("stock") is not None:
                update["$inc"]["stock"] = 1
            self.db.rewards.update_one({"_id": reward_id}, update)

    # -- redemptions ---------------------------------------------------------------

    def create_redemption(self, redemption: dict) -> dict:
        """Insert a pending redemption; the existing one if its key was seen before."""
        try:
            doc = {**redemption, "status": "pending", "created_at": utcnow()}
            self.db.redemptions.insert_one(doc)
            return doc
        except DuplicateKeyError:
            return self.redemption_by_key(redemption["key"])

    def redemption_by_key(self, key: str) -> dict | None:
        return self.db.redemptions.find_one({"key": key})

    def redemption(self, code: str) -> dict | None:
        return self.db.redemptions.find_one({"_id": code})

    def set_redemption(
        self, code: str, changes: dict, status_was: str | tuple, created_at: datetime | None = None
    ) -> dict | None:
        """Move a redemption on only from the expected status (None if it had moved).

        With `created_at`, only if that is still its start: a resumed redemption restarts
        its clock, so the cleanup job and a resumption never both act on it.
        """
        allowed = [status_was] if isinstance(status_was, str) else list(status_was)
        when = {} if created_at is None else {"created_at": created_at}
        with self.locked(f"redemption:{code}"):
            return self.db.redemptions.find_one_and_update(
                {"_id": code, "status": {"$in": allowed}, **when},
                {"$set": changes},
                return_document=ReturnDocument.AFTER,
            )

    def member_redemptions(self, member_id: str, statuses: tuple[str, ...]) -> list[dict]:
        return list(
            self.db.redemptions.find(
                {"member_id": member_id, "status": {"$in": list(statuses)}}
            ).sort("created_at", DESCENDING)
        )

    def count_member_redemptions(self, member_id: str, reward_id: str) -> int:
        return self.db.redemptions.count_documents(
            {"member_id": member_id, "reward_id": reward_id, "status": {"$in": ["issued", "used"]}}
        )

    def claim_slot(self, reward_id: str, member_id: str, code: str, limit: int) -> bool:
        """One of the member's `limit` slots for this reward, for redemption `code`.

        A slot is a document with a unique `_id`; inserting one is atomic on MongoDB
        and on FerretDB alike, so parallel confirmations never share a slot.
        """
        if self.db.reward_slots.count_documents({"redemption": code}):
            return True  # a resumed redemption holds its slot already
        for number in range(1, limit + 1):
            try:
                self.db.reward_slots.insert_one(
                    {
                        "_id": f"{reward_id}:{member_id}:{number}",
                        "redemption": code,
                        "created_at": utcnow(),
                    }
                )
                return True
            except DuplicateKeyError:
                continue
        return False

    def release_slot(self, code: str) -> None:
        """Give back the slot redemption `code` held, if it held one."""
        self.db.reward_slots.delete_one({"redemption": code})

    def redemptions_due(self, status: str, before: datetime) -> list[dict]:
        return list(self.db.redemptions.find({"status": status, "expires_at": {"$lt": before}}))

    def stale_pending_redemptions(self, before: datetime) -> list[dict]:
        return list(self.db.redemptions.find({"status": "pending", "created_at": {"$lt": before}}))

    # -- coupons -------------------------------------------------------------------

    def issue_coupon(self, coupon: dict) -> tuple[dict, bool]:
        """Insert a coupon once per key; returns (coupon, created)."""
        try:
            doc = {**coupon, "status": "issued", "created_at": utcnow()}
            self.db.coupons.insert_one(doc)
            return doc, True
        except DuplicateKeyError:
            return self.db.coupons.find_one({"key": coupon["key"]}), False

    def coupon(self, code: str) -> dict | None:
        return self.db.coupons.find_one({"_id": code})

    def set_coupon(self, code: str, changes: dict, status_was: str) -> dict | None:
        with self.locked(f"coupon:{code}"):
            return self.db.coupons.find_one_and_update(
                {"_id": code, "status": status_was},
                {"$set": changes},
                return_document=ReturnDocument.AFTER,
            )

    def claim_coupon(
        self, code: str, member_id: str, purchase_id: str, staff_id: str, now: datetime
    ) -> dict | None:
        """Take a member's live coupon for a purchase not yet recorded; None if it is not free."""
        with self.locked(f"coupon:{code}"):
            return self.db.coupons.find_one_and_update(
                {
                    "_id": code,
                    "member_id": member_id,
                    "status": "issued",
                    "expires_at": {"$gt": now},
                },
                {
                    "$set": {
                        "status": "used",
                        "used_by": staff_id,
                        "used_at": now,
                        "purchase_id": purchase_id,
                    }
                },
                return_document=ReturnDocument.AFTER,
            )

    def release_coupon(self, code: str, purchase_id: str) -> bool:
        """Give back a coupon claimed for a purchase that was then not recorded."""
        with self.locked(f"coupon:{code}"):
            result = self.db.coupons.update_one(
                {"_id": code, "status": "used", "purchase_id": purchase_id},
                {
                    "$set": {"status": "issued"},
                    "$unset": {"used_by": "", "used_at": "", "purchase_id": ""},
                },
            )
        return result.modified_count == 1

    def member_coupons(self, member_id: str, status: str = "issued") -> list[dict]:
        return list(
            self.db.coupons.find({"member_id": member_id, "status": status}).sort(
                "expires_at", ASCENDING
            )
        )

    def coupons_due(self, before: datetime) -> list[dict]:
        return list(self.db.coupons.find({"status": "issued", "expires_at": {"$lt": before}}))
