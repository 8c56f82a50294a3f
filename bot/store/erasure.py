"""Erasure across collections: every field where a person's LINE id lands as the one who acted.

Staff and owners leave their LINE id in rows about other people (the purchase they
rang up, the coupon they accepted, the invite they used). Those rows must stay for
the shop's accounts, so erasure swaps the id for a pseudonym (bot/members/privacy.py): the
same person gets the same pseudonym in every row, and it leads back to nobody.

A new field that stores a LINE id belongs in ACTOR_FIELDS. tests/test_erasure.py
scans every collection after an erasure and fails if one was forgotten.
"""

from __future__ import annotations

from bot.store.base import StoreBase, utcnow

# (collection, field, lock key on FerretDB — the one its other writers take; see `locked`)
ACTOR_FIELDS = (
    ("purchases", "staff", "purchase:{_id}"),
    ("purchases", "voided_by", "purchase:{_id}"),
    ("ledger", "by", "lots:{member_id}"),
    ("coupons", "source.by", "coupon:{_id}"),
    ("coupons", "used_by", "coupon:{_id}"),
    ("redemptions", "used_by", "redemption:{_id}"),
    ("invites", "used_by", "invite:{_id}"),
    ("invites", "created_by", "invite:{_id}"),
    ("staff", "invited_by", None),
    ("campaigns", "created_by", "campaign:{_id}"),
    ("segments", "by", None),
)


class ErasureStore(StoreBase):
    def pseudonymise_actor(self, line_user_id: str, alias: str) -> int:
        """Replace a staff member's or owner's LINE id by `alias` wherever they acted."""
        changed = 0
        for collection, field, lock in ACTOR_FIELDS:
            changed += self._replace_value(collection, field, line_user_id, alias, lock)
        changed += self.pseudonymise_staff_record(line_user_id, alias)
        return changed

    def _replace_value(self, collection: str, field: str, old: str, new: str, lock) -> int:
        rows = self.db[collection]
        if not self.serialises_writes or lock is None:
            return rows.update_many({field: old}, {"$set": {field: new}}).modified_count
        changed = 0
        # FerretDB rewrites whole documents: take the lock their other writers take.
        for doc in list(rows.find({field: old}, {"_id": 1, "member_id": 1})):
            with self.locked(lock.format(**doc)):
                result = rows.update_one({"_id": doc["_id"], field: old}, {"$set": {field: new}})
            changed += result.modified_count
        return changed

    def pseudonymise_staff_record(self, line_user_id: str, alias: str) -> int:
        """The staff record is keyed by LINE id: it moves to the alias, nameless and inactive."""
        record = self.db.staff.find_one({"_id": line_user_id})
        if record is None:
            return 0
        now = utcnow()
        kept = {k: v for k, v in record.items() if k not in ("_id", "name")}
        kept.setdefault("removed_at", now)
        kept.update(active=False, erased_at=now)
        self.db.staff.replace_one({"_id": alias}, {"_id": alias, **kept}, upsert=True)
        self.db.staff.delete_one({"_id": line_user_id})
        return 1
