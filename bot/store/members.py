"""Members: followers, signed-up members and erased ones, plus code and phone lookups.

A member's `_id` is our own id; the LINE user id is a unique field that erasure
replaces with a tombstone, so anonymised ledger and purchase rows keep pointing
at a member that no longer leads back to a person. Member codes and phone
numbers are optional, so their unique lookups live in their own collections
keyed by `_id` (no partial indexes on FerretDB, DESIGN §6). So does the LINE user
id (`member_lines`): every webhook looks its sender up by it, and on the dev server
only a filter on `_id` reads one document instead of the whole collection.

The documents a member owns in other collections are listed on the member
(`purchase_ids`, `coupon_ids`, `redemption_ids`; ledger entries are `<member>:<seq>`),
so per-event reads fetch them by `_id` too.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from bson import ObjectId
from pymongo import ASCENDING, IndexModel
from pymongo.errors import DuplicateKeyError

from bot.store.base import StoreBase, utcnow
from bot.store.passes import member_groups, spool, unmatched

# Gone at erasure. Tags are the owner's free text about the person ("Ploy's sister").
PERSONAL_FIELDS = ("profile", "conversation", "display_name", "tags", "phone_tries")
# Collections whose documents belong to one member -> the member's list of their ids.
OWNED = {"purchases": "purchase_ids", "coupons": "coupon_ids", "redemptions": "redemption_ids"}


class MemberStore(StoreBase):
    INDEXES = {
        "members": [
            IndexModel([("line_user_id", ASCENDING)], unique=True),
            IndexModel([("status", ASCENDING)]),
            IndexModel([("created_at", ASCENDING)]),
        ],
        "member_codes": [],  # _id = member code -> {member_id}
        "member_phones": [],  # _id = E.164 phone -> {member_id}
        "member_lines": [],  # _id = LINE user id -> {member_id}; gone at erasure
    }

    # -- lookups ---------------------------------------------------------------

    def member_by_line_id(self, line_user_id: str) -> dict | None:
        link = self.db.member_lines.find_one({"_id": line_user_id})
        member = self.member_by_id(link["member_id"]) if link else None
        return member if member and member["line_user_id"] == line_user_id else None

    def member_by_id(self, member_id: str) -> dict | None:
        return self.db.members.find_one({"_id": member_id})

    def member_by_code(self, code: str) -> dict | None:
        link = self.db.member_codes.find_one({"_id": code.upper()})
        return self.member_by_id(link["member_id"]) if link else None

    def member_by_phone(self, phone: str) -> dict | None:
        link = self.db.member_phones.find_one({"_id": phone})
        return self.member_by_id(link["member_id"]) if link else None

    def member_locale(self, line_user_id: str) -> str | None:
        link = self.db.member_lines.find_one({"_id": line_user_id})
        doc = self.db.members.find_one({"_id": link["member_id"]}, {"locale": 1}) if link else None
        return doc.get("locale") if doc else None

    # -- following -------------------------------------------------------------

    def record_follow(self, line_user_id: str, locale: str) -> tuple[dict, bool]:
        """Create or revive the follower record; returns (member, is_new)."""
        now = utcnow()
        existing = self.member_by_line_id(line_user_id)
        if existing is not None:
            self.update_member(existing["_id"], {"$set": {"reachable": True, "followed_at": now}})
            return self.member_by_id(existing["_id"]), False
        # The link first: of two concurrent follows, both then write the same member.
        member_id = self._link_line_id(line_user_id, str(ObjectId()))
        doc = {
            "_id": member_id,
            "line_user_id": line_user_id,
            "status": "follower",
            "locale": locale,
            "points": 0,
            "ledger_seq": 0,
            "reachable": True,
            "followed_at": now,
            "created_at": now,
        }
        try:
            self.db.members.insert_one(doc)
        except DuplicateKeyError:
            linked = self.member_by_id(member_id)
            if linked is None:
                # A member from before `member_lines` (init-db not run yet): link it.
                legacy = self.db.members.find_one({"line_user_id": line_user_id}, {"_id": 1})
                self.db.member_lines.update_one(
                    {"_id": line_user_id}, {"$set": {"member_id": legacy["_id"]}}
                )
            elif linked["line_user_id"] != line_user_id:
                # The link outlived an erasure interrupted half-way: start afresh.
                self.db.member_lines.delete_one({"_id": line_user_id, "member_id": member_id})
            # Otherwise a concurrent follow wrote the member first.
            return self.record_follow(line_user_id, locale)
        return doc, True

    def _link_line_id(self, line_user_id: str, member_id: str) -> str:
        """Claim the LINE id for `member_id`; returns the member id it leads to."""
        try:
            self.db.member_lines.insert_one(
                {"_id": line_user_id, "member_id": member_id, "created_at": utcnow()}
            )
            return member_id
        except DuplicateKeyError:
            return self.db.member_lines.find_one({"_id": line_user_id})["member_id"]

    def record_unfollow(self, line_user_id: str) -> None:
        """Blocked or unfollowed: no campaign may target them until they return."""
        member = self.member_by_line_id(line_user_id)
        if member is not None:
            self.update_member(
                member["_id"], {"$set": {"reachable": False, "unfollowed_at": utcnow()}}
            )

    def set_locale(self, member_id: str, locale: str) -> None:
        self.update_member(member_id, {"$set": {"locale": locale}})

    # -- conversations (signup, edit, erase confirmation) -------------------------

    def set_conversation(self, member_id: str, conversation: dict) -> None:
        self.update_member(
            member_id, {"$set": {"conversation": {**conversation, "updated_at": utcnow()}}}
        )

    def clear_conversation(self, member_id: str) -> None:
        self.update_member(member_id, {"$unset": {"conversation": ""}})

    def take_conversation(self, member_id: str, conversation_id: str) -> bool:
        """End conversation `conversation_id` if it is still the member's: True for
        exactly one caller, so a form confirmed twice (a double tap) acts once."""
        ended = self.update_member(
            member_id, {"$unset": {"conversation": ""}}, {"conversation.id": conversation_id}
        )
        return ended.modified_count == 1

    def clear_stale_conversations(self, before) -> int:
        """Drop half-finished conversations (and the answers in them) past their time."""
        stale = {"conversation.updated_at": {"$lt": before}}
        dropped = 0
        for member in self.db.members.find(stale, {"_id": 1}):
            result = self.update_member(member["_id"], {"$unset": {"conversation": ""}}, stale)
            dropped += result.modified_count
        return dropped

    # -- codes and phones --------------------------------------------------------

    def claim_member_code(self, code: str, member_id: str) -> bool:
        try:
            self.db.member_codes.insert_one(
                {"_id": code, "member_id": member_id, "created_at": utcnow()}
            )
            return True
        except DuplicateKeyError:
            return False

    def phone_owner(self, phone: str) -> str | None:
        link = self.db.member_phones.find_one({"_id": phone})
        return link["member_id"] if link else None

    def claim_phone(self, phone: str, member_id: str) -> bool:
        """Reserve a phone number for one member; True if it is (now) theirs."""
        try:
            self.db.member_phones.insert_one(
                {"_id": phone, "member_id": member_id, "created_at": utcnow()}
            )
            return True
        except DuplicateKeyError:
            return self.phone_owner(phone) == member_id

    def release_phone(self, phone: str, member_id: str) -> None:
        self.db.member_phones.delete_one({"_id": phone, "member_id": member_id})

    def count_phone_try(self, member_id: str, limit: int, window: timedelta) -> datetime | None:
        """Count one phone number typed; None if allowed, else when the next one may be.

        The count lives on the member (`phone_tries`: window start, count), so it
        holds across cancelled signups and the `edit` flow.
        """
        now = utcnow()
        tries = (self.member_by_id(member_id) or {}).get("phone_tries") or {}
        since = tries.get("since")
        if since is None or since <= now - window:
            # A new window; only from the window we read, so two answers count twice.
            self.update_member(
                member_id,
                {"$set": {"phone_tries": {"since": now, "count": 1}}},
                {"phone_tries.since": since},
            )
            return None
        result = self.update_member(
            member_id,
            {"$inc": {"phone_tries.count": 1}},
            {"phone_tries.since": since, "phone_tries.count": {"$lt": limit}},
        )
        return None if result.modified_count else since + window

    # -- signup, profile, consent -------------------------------------------------

    def complete_signup(
        self, member_id: str, code: str, profile: dict, consents: list[dict], marketing: bool
    ) -> bool:
        """Turn a follower into a member in one write; False if already a member."""
        result = self.update_member(
            member_id,
            {
                "$set": {
                    "status": "member",
                    "code": code,
                    "profile": profile,
                    "marketing_opt_in": marketing,
                    "joined_at": utcnow(),
                },
                "$push": {"consents": {"$each": consents}},
                "$unset": {"conversation": ""},
            },
            {"status": "follower"},
        )
        return result.modified_count == 1

    def record_consent(self, member_id: str, record: dict) -> None:
        """Append to the consent history; marketing records also set the current choice."""
        update = {"$push": {"consents": record}}
        if record["kind"] == "marketing":
            update["$set"] = {"marketing_opt_in": record["granted"]}
        self.update_member(member_id, update)

    def set_profile_field(self, member_id: str, field: str, value) -> None:
        self.update_member(member_id, {"$set": {f"profile.{field}": value, "updated_at": utcnow()}})

    # -- tiers ---------------------------------------------------------------------

    def set_tier(self, member_id: str, tier: str, announced: bool = False) -> bool:
        """Change the tier; False if it already was `tier`.

        A change nobody has told the member about yet waits for the tier-change journey.
        """
        changes = {"tier": tier, "tier_since": utcnow(), "tier_unannounced": not announced}
        result = self.update_member(member_id, {"$set": changes}, {"tier": {"$ne": tier}})
        return result.modified_count == 1

    def members_with_unannounced_tier(self) -> list[dict]:
        query = {"status": "member", "tier_unannounced": True}
        return list(self.db.members.find(query, {"tier": 1}))

    def mark_tier_announced(self, member_id: str) -> None:
        self.update_member(member_id, {"$set": {"tier_unannounced": False}})

    def members_in_status(self, status: str, fields: dict | None = None) -> list[dict]:
        return list(self.db.members.find({"status": status}, fields))

    # -- export ------------------------------------------------------------------

    def export_member(self, member_id: str) -> dict:
        """Everything stored about one member, for `my data` (right of access)."""
        member = self.member_by_id(member_id) or {}
        related = {"ledger": self.ledger_for(member_id)}
        for name, field in OWNED.items():
            related[name] = self.owned(name, member.get(field) or [], {"member_id": 0})
        for rows in related.values():
            rows.sort(key=lambda row: row["created_at"])
            for row in rows:
                row.pop("member_id", None)
        related["deliveries"] = self.member_deliveries(member_id)
        return {"member": member, **related}

    # -- migration -------------------------------------------------------------------

    def backfill_member_keys(self) -> dict:
        """Fill `member_lines` and the owned-id lists for data from before them (init-db).

        Idempotent, and one read of each collection: only what is missing is written.
        """
        members = spool(self.db.members, {"status": {"$ne": "erased"}}, {"line_user_id": 1})
        linked = spool(self.db.member_lines, {}, {"_id": 1})
        now = utcnow()
        lines = self.insert_missing(
            "member_lines",
            (
                {"_id": doc["line_user_id"], "member_id": doc["_id"], "created_at": now}
                for doc in unmatched(members, "line_user_id", linked)
            ),
        )
        fields = {field: 1 for field in OWNED.values()}
        related = {name: (name, {}, {"_id": 1}) for name in OWNED}
        listed = 0
        for page in member_groups(self.db, {}, fields, related):
            updates = []
            for member, owned in page:
                missing = {
                    field: [
                        d["_id"] for d in owned[name] if d["_id"] not in (member.get(field) or [])
                    ]
                    for name, field in OWNED.items()
                }
                adds = {field: {"$each": ids} for field, ids in missing.items() if ids}
                if adds:
                    updates.append((member["_id"], {"$addToSet": adds}))
                    listed += sum(len(ids) for ids in missing.values())
            self.bulk_update_members(updates)
        return {"member_lines": lines, "owned_ids": listed}

    # -- erasure -------------------------------------------------------------------

    def erase_member(self, member_id: str) -> dict | None:
        """Remove personal data and the LINE link; keep the anonymous shell for the ledger."""
        member = self.member_by_id(member_id)
        if member is None or member["status"] == "erased":
            return None
        phone = (member.get("profile") or {}).get("phone")
        if phone:
            self.release_phone(phone, member_id)
        if member.get("code"):
            # The code stays reserved (old receipts name it) but leads nowhere.
            self.db.member_codes.update_one(
                {"_id": member["code"]}, {"$set": {"member_id": None, "erased": True}}
            )
        self.db.member_lines.delete_one({"_id": member["line_user_id"]})
        self.update_member(
            member_id,
            {
                "$set": {
                    "status": "erased",
                    "line_user_id": f"erased:{member_id}",
                    "reachable": False,
                    "marketing_opt_in": False,
                    "erased_at": utcnow(),
                },
                "$unset": {name: "" for name in (*PERSONAL_FIELDS, "code", "locale")},
            },
        )
        # After the status: a snapshot under way may still queue them, and the send
        # checks the erasures just before each batch goes.
        self.forget_in_batches(member_id)
        return member
