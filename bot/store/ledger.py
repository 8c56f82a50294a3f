"""The points ledger: append-only movements whose sum is always the balance.

Without transactions the entry and the balance are two writes, so each member
carries a sequence number. An entry is inserted as `<member>:<seq+1>` (its
`_id` collides if another writer got there first) and then applied with a
conditional `$inc` that only matches while the member is still at `seq`. A
writer that finds an inserted but unapplied entry (a crash between the two
writes) applies it before adding its own. The `key` index makes every logical
movement (one purchase, one signup bonus) count once, however often retried.
"""

from __future__ import annotations

import itertools

from pymongo import ASCENDING, DESCENDING, IndexModel
from pymongo.errors import DuplicateKeyError

from bot.store.base import StoreBase, utcnow

MAX_ATTEMPTS = 50


class LedgerConflictError(RuntimeError):
    """Too many concurrent writers on one member; the caller may retry later."""


class InsufficientPointsError(ValueError):
    """A guarded debit would take the balance below zero; nothing was written."""


class LedgerStore(StoreBase):
    INDEXES = {
        "ledger": [
            IndexModel([("key", ASCENDING)], unique=True),
            IndexModel([("member_id", ASCENDING), ("seq", DESCENDING)]),
            IndexModel([("expires_at", ASCENDING)]),
        ],
    }

    def append_ledger(
        self, member_id: str, amount: int, kind: str, key: str, guard: bool = False, **fields
    ) -> tuple[dict, bool]:
        """Add one movement once; returns (entry, created). Balance moves with it.

        With `guard`, a debit that would make the balance negative raises
        InsufficientPointsError instead. The check is exact under concurrency:
        it reads the balance at sequence `s`, and the entry can only become
        `s + 1` if no other movement did in between.
        """
        for _attempt in range(MAX_ATTEMPTS):
            existing = self.db.ledger.find_one({"key": key})
            if existing is not None:
                self._apply_pending(member_id)
                return existing, False
            member = self.db.members.find_one({"_id": member_id}, {"ledger_seq": 1, "points": 1})
            if member is None:
                raise KeyError(f"no member {member_id}")
            if guard and member.get("points", 0) + amount < 0:
                self._apply_pending(member_id)
                fresh = self.db.members.find_one({"_id": member_id}, {"ledger_seq": 1})
                if fresh.get("ledger_seq", 0) == member.get("ledger_seq", 0):
                    raise InsufficientPointsError(member_id)
                continue  # the balance moved meanwhile: look again
            seq = member.get("ledger_seq", 0) + 1
            entry = {
                **fields,
                "_id": f"{member_id}:{seq}",
                "member_id": member_id,
                "seq": seq,
                "amount": int(amount),
                "kind": kind,
                "key": key,
                "created_at": utcnow(),
            }
            if amount > 0:
                entry["remaining"] = int(amount)  # a lot; see bot/lots.py
            try:
                self.db.ledger.insert_one(entry)
            except DuplicateKeyError:
                # Same key from a concurrent writer, or seq taken: settle and retry.
                self._apply_pending(member_id)
                continue
            self._apply(member_id, seq, int(amount))
            return entry, True
        raise LedgerConflictError(f"could not append to the ledger of {member_id}")

    def _apply(self, member_id: str, seq: int, amount: int) -> bool:
        result = self.update_member(
            member_id,
            {"$inc": {"points": amount}, "$set": {"ledger_seq": seq}},
            {"ledger_seq": seq - 1},
        )
        return result.modified_count == 1

    def _apply_pending(self, member_id: str) -> None:
        """Apply entries inserted but not yet counted in the balance (crash recovery)."""
        while True:
            member = self.db.members.find_one({"_id": member_id}, {"ledger_seq": 1})
            seq = (member or {}).get("ledger_seq", 0) + 1
            pending = self.db.ledger.find_one({"_id": f"{member_id}:{seq}"})
            if pending is None:
                return
            # A concurrent writer may apply it first; either way, look again.
            self._apply(member_id, seq, pending["amount"])

    def ledger_for(self, member_id: str, limit: int = 0) -> list[dict]:
        cursor = self.db.ledger.find({"member_id": member_id}).sort("seq", DESCENDING)
        return list(cursor.limit(limit) if limit else cursor)

    def ledger_sum(self, member_id: str) -> int:
        rows = list(
            self.db.ledger.aggregate(
                [
                    {"$match": {"member_id": member_id}},
                    {"$group": {"_id": None, "total": {"$sum": "$amount"}}},
                ]
            )
        )
        return rows[0]["total"] if rows else 0

    # -- lots (cache of bot.lots.replay, for finding due lots) --------------------

    def set_lot_remaining(self, member_id: str, entry_id: str, remaining: int) -> None:
        with self.locked(f"lots:{member_id}"):
            self.db.ledger.update_one({"_id": entry_id}, {"$set": {"remaining": remaining}})

    def members_with_lots_due(self, until, notified: bool | None = None) -> list[str]:
        """Members holding lots that expire by `until` with points left (per the cache)."""
        query = {"expires_at": {"$lte": until}, "remaining": {"$gt": 0}}
        if notified is False:
            query["expiry_notified"] = {"$ne": True}
        return sorted({row["member_id"] for row in self.db.ledger.find(query, {"member_id": 1})})

    def mark_lots_notified(self, member_id: str, entry_ids: list[str]) -> None:
        with self.locked(f"lots:{member_id}"):
            self.db.ledger.update_many(
                {"_id": {"$in": entry_ids}}, {"$set": {"expiry_notified": True}}
            )

    def ledger_by_member(self):
        """(member id, entries) for every member with a ledger, from one sorted pass."""
        cursor = self.db.ledger.find({}).sort([("member_id", ASCENDING), ("seq", ASCENDING)])
        for member_id, entries in itertools.groupby(cursor, key=lambda e: e["member_id"]):
            yield member_id, list(entries)

    def scrub_ledger_reasons(self, member_id: str) -> int:
        """Erasure: the free-text reasons of manual corrections may name the member."""
        with self.locked(f"lots:{member_id}"):
            result = self.db.ledger.update_many(
                {"member_id": member_id, "kind": "adjust", "reason": {"$exists": True}},
                {"$set": {"reason": "[erased]"}},
            )
        return result.modified_count

    def all_member_ids_with_ledger(self) -> list[str]:
        return sorted(self.db.ledger.distinct("member_id"))
