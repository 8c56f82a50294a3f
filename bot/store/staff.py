"""Staff, their one-time invites, and branches."""

from __future__ import annotations

from datetime import datetime

from pymongo import ASCENDING, IndexModel, ReturnDocument
from pymongo.errors import DuplicateKeyError

from bot.store.base import StoreBase, utcnow


class StaffStore(StoreBase):
    INDEXES = {
        "staff": [IndexModel([("active", ASCENDING), ("added_at", ASCENDING)])],  # _id = LINE id
        "invites": [],  # _id = invite code
        "branches": [],  # _id = branch code
    }

    # -- staff -----------------------------------------------------------------

    def staff_record(self, line_user_id: str) -> dict | None:
        return self.db.staff.find_one({"_id": line_user_id, "active": True})

    def is_active_staff(self, line_user_id: str) -> bool:
        return self.staff_record(line_user_id) is not None

    def staff_any(self, line_user_id: str) -> dict | None:
        """The staff record, active or not (removed and erased staff keep an inactive one)."""
        return self.db.staff.find_one({"_id": line_user_id})

    def was_ever_staff(self, line_user_id: str) -> bool:
        return self.staff_any(line_user_id) is not None

    def add_staff(self, line_user_id: str, branch: str | None, name: str, invited_by: str) -> None:
        self.db.staff.update_one(
            {"_id": line_user_id},
            {
                "$set": {
                    "branch": branch,
                    "name": name,
                    "active": True,
                    "invited_by": invited_by,
                    "added_at": utcnow(),
                },
                "$unset": {"removed_at": ""},
            },
            upsert=True,
        )

    def list_staff(self) -> list[dict]:
        return list(self.db.staff.find({"active": True}).sort("added_at", ASCENDING))

    def remove_staff(self, line_user_id: str) -> bool:
        result = self.db.staff.update_one(
            {"_id": line_user_id, "active": True},
            {"$set": {"active": False, "removed_at": utcnow()}},
        )
        return result.modified_count == 1

    # -- invites -----------------------------------------------------------------

    def create_invite(
        self, code: str, branch: str | None, created_by: str, expires_at: datetime
    ) -> bool:
        try:
            self.db.invites.insert_one(
                {
                    "_id": code,
                    "branch": branch,
                    "created_by": created_by,
                    "created_at": utcnow(),
                    "expires_at": expires_at,
                    "used_by": None,
                }
            )
            return True
        except DuplicateKeyError:
            return False

    def redeem_invite(self, code: str, line_user_id: str) -> dict | None:
        """Use a one-time code atomically: only the first sender before expiry gets it."""
        now = utcnow()
        with self.locked(f"invite:{code}"):
            return self.db.invites.find_one_and_update(
                {"_id": code, "used_by": None, "expires_at": {"$gt": now}},
                {"$set": {"used_by": line_user_id, "used_at": now}},
                return_document=ReturnDocument.AFTER,
            )

    # -- branches ----------------------------------------------------------------

    def add_branch(self, code: str, name: str) -> bool:
        try:
            self.db.branches.insert_one({"_id": code, "name": name, "created_at": utcnow()})
            return True
        except DuplicateKeyError:
            return False

    def upsert_branch(self, branch: dict) -> None:
        self.db.branches.update_one({"_id": branch["_id"]}, {"$set": branch}, upsert=True)

    def branch(self, code: str) -> dict | None:
        return self.db.branches.find_one({"_id": code})

    def list_branches(self) -> list[dict]:
        return list(self.db.branches.find().sort("_id", ASCENDING))
