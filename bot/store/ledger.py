"""The points ledger: append-only movements whose sum is always the balance.

Without transactions the entry and the balance are two writes, so each member
carries a sequence number. An entry is inserted as `<member>:<seq+1>` (its
`_id` collides if another writer got there first) and then applied with a
conditional `$inc` that only matches while the member is still at `seq`. A
writer that finds an inserted but unapplied entry (a crash between the two
writes) applies it before adding its own. The `key` index makes every logical
movement (one purchase, one signup bonus) count once, however often retried.

Every per-event read is by `_id` (DESIGN §6): a member's entries are
`<member>:1 … <member>:<ledger_seq>`, and `ledger_keys` leads from a key to its
entry (written just after the entry; the unique `key` index stays the guard).

`lot_expiries` lists, per UTC date, the members holding lots that expire that day, in
64 documents a day split by a hash of the member id (`<date>/<nn>`): an earn adds to
a document of a few dozen names, not to one that grows with the day's customers. It
is written before the lot is inserted (a crash in between leaves a name with nothing
due, never a lot nobody will expire), so the nightly expiry reads the members due by
`_id` instead of every ledger entry.
"""

from __future__ import annotations

import contextlib
import zlib
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime

from pymongo import ASCENDING, DESCENDING, IndexModel, ReturnDocument, UpdateOne
from pymongo.errors import DuplicateKeyError

from bot.store.base import FERRETDB_BULK_CHUNK, StoreBase, utcnow
from bot.store.passes import grouped, spool, unmatched

MAX_ATTEMPTS = 50
LOT_SLOTS = 64  # `lot_expiries` documents per day


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
        "ledger_keys": [],  # _id = movement key -> {entry_id}
        "lot_expiries": [],  # _id = "<UTC date>/<nn>" -> {members: ids with lots expiring then}
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
        if amount > 0:
            self._expect_lot(member_id, fields.get("expires_at"))
        for _attempt in range(MAX_ATTEMPTS):
            existing = self._entry_for_key(key)
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
            entry = self._entry(member_id, seq, amount, kind, key, fields)
            try:
                self.db.ledger.insert_one(entry)
            except DuplicateKeyError:
                # The seq was taken, or the key (by a concurrent or crashed writer).
                existing = self._entry_with_key(entry["_id"], key)
                self._apply_pending(member_id)
                if existing is not None:
                    return existing, False
                continue
            self._link_key(key, entry["_id"])
            self._apply(member_id, seq, int(amount))
            return entry, True
        raise LedgerConflictError(f"could not append to the ledger of {member_id}")

    def append_and_update(
        self,
        member: dict,
        amount: int,
        kind: str,
        key: str,
        update: dict,
        condition: dict,
        **fields,
    ) -> tuple[dict | None, dict | None]:
        """A new movement (none for 0 points) and `update` in one write of the member as
        read: `member`'s `ledger_seq`, and `condition`, must still hold.

        Returns (entry, the member after). When the member has moved since it was
        read the member is None and nothing of `update` applies; an entry inserted
        here is applied by the next append (as after a crash), so the caller can take
        the long way. For a key that cannot exist yet (a new purchase's).
        """
        seq = member.get("ledger_seq", 0)
        entry = None
        if amount:
            entry = self._entry(member["_id"], seq + 1, amount, kind, key, fields)
            if amount > 0:
                self._expect_lot(member["_id"], entry.get("expires_at"))
            try:
                self.db.ledger.insert_one(entry)
            except DuplicateKeyError:
                return None, None  # another movement came first
            self._link_key(key, entry["_id"])
        change = {**update, "$set": {**update.get("$set", {}), "ledger_seq": seq + bool(amount)}}
        change["$inc"] = {**update.get("$inc", {}), "points": int(amount)}
        with self.locked(f"member:{member['_id']}"):
            after = self.db.members.find_one_and_update(
                {"_id": member["_id"], "ledger_seq": seq, **condition},
                change,
                return_document=ReturnDocument.AFTER,
            )
        return entry, after

    @staticmethod
    def _entry(member_id: str, seq: int, amount: int, kind: str, key: str, fields: dict) -> dict:
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
            entry["remaining"] = int(amount)  # a lot; see bot/loyalty/lots.py
        return entry

    def _entry_for_key(self, key: str) -> dict | None:
        link = self.db.ledger_keys.find_one({"_id": key})
        return self.db.ledger.find_one({"_id": link["entry_id"]}) if link else None

    def _link_key(self, key: str, entry_id: str) -> None:
        with contextlib.suppress(DuplicateKeyError):
            self.db.ledger_keys.insert_one({"_id": key, "entry_id": entry_id})

    def _entry_with_key(self, slot: str, key: str) -> dict | None:
        """After an insert collided: the entry holding `key`, if that was the collision."""
        taken = self.db.ledger.find_one({"_id": slot})
        if taken is not None and taken["key"] != key:
            return None  # another movement took the seq: try the next one
        if taken is None:
            # The key collided elsewhere and its link is not written yet (a concurrent
            # writer, or one that died in between): the one read not by `_id`, and rare.
            taken = self.db.ledger.find_one({"key": key})
            if taken is None:
                return None
        self._link_key(key, taken["_id"])
        return taken

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
        """The member's entries, newest first (the last `limit` if given), read by `_id`."""
        member = self.db.members.find_one({"_id": member_id}, {"ledger_seq": 1}) or {}
        last = member.get("ledger_seq", 0)
        first = max(last - limit, 0) + 1 if limit else 1
        ids = [f"{member_id}:{seq}" for seq in range(last, first - 1, -1)]
        return sorted(self.owned("ledger", ids), key=lambda e: e["seq"], reverse=True)

    def ledger_sum(self, member_id: str) -> int:
        """Every entry of the member, applied or not (`check-ledger`, not per event)."""
        rows = list(
            self.db.ledger.aggregate(
                [
                    {"$match": {"member_id": member_id}},
                    {"$group": {"_id": None, "total": {"$sum": "$amount"}}},
                ]
            )
        )
        return rows[0]["total"] if rows else 0

    # -- lots (cache of bot.loyalty.lots.replay, for finding due lots) --------------------

    def _expect_lot(self, member_id: str, expires_at: datetime | None) -> None:
        """List the member under the day their new lot expires (before it exists)."""
        if expires_at is None:
            return
        slot = lot_slot(lot_day(expires_at), member_id)
        try:
            self.db.lot_expiries.update_one(
                {"_id": slot}, {"$addToSet": {"members": member_id}}, upsert=True
            )
        except DuplicateKeyError:  # two first lots of the slot at once (MongoDB)
            self.db.lot_expiries.update_one({"_id": slot}, {"$addToSet": {"members": member_id}})

    def members_with_lots_expiring(self, days: list[str]) -> set[str]:
        """Members listed under any of these UTC dates (`lot_day`), read by `_id`."""
        members: set[str] = set()
        for wanted in _slot_batches(days):
            for doc in self.db.lot_expiries.find({"_id": {"$in": wanted}}, {"members": 1}):
                members.update(doc.get("members", []))
        return members

    def forget_lot_expiries(self, days: list[str]) -> None:
        """Drop the lists of days whose lots are all expired."""
        for wanted in _slot_batches(days):
            self.db.lot_expiries.delete_many({"_id": {"$in": wanted}})

    def add_lot_days(self, days: dict[str, Iterable[str]]) -> None:
        """List members under days (`lot_day` → member ids), many at once."""
        slots: dict[str, list[str]] = {}
        for day, members in days.items():
            for member_id in members:
                slots.setdefault(lot_slot(day, member_id), []).append(member_id)
        updates = [
            UpdateOne({"_id": slot}, {"$addToSet": {"members": {"$each": sorted(names)}}}, True)
            for slot, names in sorted(slots.items())
        ]
        for start in range(0, len(updates), FERRETDB_BULK_CHUNK):
            self.db.lot_expiries.bulk_write(updates[start : start + FERRETDB_BULK_CHUNK])

    def open_lots(self) -> Iterator[tuple[str, datetime]]:
        """(member id, expiry) of every lot with points left that expires: one read."""
        query = {"expires_at": {"$ne": None}, "remaining": {"$gt": 0}}
        for row in spool(self.db.ledger, query, {"member_id": 1, "expires_at": 1}):
            yield row["member_id"], row["expires_at"]

    def set_lot_remaining(self, member_id: str, entry_id: str, remaining: int) -> None:
        with self.locked(f"lots:{member_id}"):
            self.db.ledger.update_one({"_id": entry_id}, {"$set": {"remaining": remaining}})

    def members_with_lots_due(self, until, notified: bool | None = None) -> list[str]:
        """Members holding lots that expire by `until` with points left (per the cache):
        a read of the whole ledger, for when `lot_expiries` cannot be trusted yet."""
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
        """(member id, entries in seq order) for every member with a ledger, from one read."""
        return grouped(self.db.ledger, {}, "member_id", "seq")

    def scrub_ledger_reasons(self, member_id: str) -> int:
        """Erasure: the free-text reasons of manual corrections may name the member."""
        ids = [entry["_id"] for entry in self.ledger_for(member_id) if entry["kind"] == "adjust"]
        if not ids:
            return 0
        with self.locked(f"lots:{member_id}"):
            result = self.db.ledger.update_many(
                {"_id": {"$in": ids}, "reason": {"$exists": True}},
                {"$set": {"reason": "[erased]"}},
            )
        return result.modified_count

    def all_member_ids_with_ledger(self) -> list[str]:
        return sorted(self.db.ledger.distinct("member_id"))

    def backfill_ledger_keys(self) -> int:
        """Link every key to its entry for ledgers from before `ledger_keys` (init-db)."""
        entries = spool(self.db.ledger, {}, {"key": 1})
        linked = spool(self.db.ledger_keys, {}, {"_id": 1})
        links = ({"_id": e["key"], "entry_id": e["_id"]} for e in unmatched(entries, "key", linked))
        return self.insert_missing("ledger_keys", links)


def lot_day(expires_at: datetime) -> str:
    """The UTC date a lot expiring at `expires_at` is listed under in `lot_expiries`."""
    return expires_at.astimezone(UTC).date().isoformat()


def lot_slot(day: str, member_id: str) -> str:
    """The `lot_expiries` document listing `member_id` under `day`."""
    return f"{day}/{zlib.crc32(member_id.encode()) % LOT_SLOTS:02d}"


def _slot_batches(days: list[str], size: int = 512):
    slots = [f"{day}/{n:02d}" for day in days for n in range(LOT_SLOTS)]
    for start in range(0, len(slots), size):
        yield slots[start : start + size]


def lot_days(first: date, last: date) -> list[str]:
    """Every `lot_day` from `first` to `last`, both included."""
    return [date.fromordinal(n).isoformat() for n in range(first.toordinal(), last.toordinal() + 1)]
