"""Which earned points are still unspent (pure): the ledger replayed as lots.

Every credit (earn, bonus, positive adjustment) is a lot. Replaying the
member's ledger in order, each debit consumes the lot it names first (an
expiry or a void names its lot) and then the lots that expire soonest. A
debit larger than what is left becomes debt, which the next credits pay off
first. Because the ledger never changes, this replay is the truth; the
`remaining` stored on lot entries is only a cache for finding due lots.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

_NEVER = datetime.max.replace(tzinfo=UTC)


@dataclass
class Lot:
    id: str
    amount: int
    remaining: int
    expires_at: datetime | None
    seq: int


@dataclass
class Holdings:
    lots: dict[str, Lot]
    debt: int

    @property
    def balance(self) -> int:
        return sum(lot.remaining for lot in self.lots.values()) - self.debt

    def open_lots(self) -> list[Lot]:
        """Lots with points left, soonest to expire first."""
        return sorted(
            (lot for lot in self.lots.values() if lot.remaining > 0),
            key=lambda lot: (lot.expires_at or _NEVER, lot.seq),
        )

    def expiring_between(self, start: datetime, end: datetime) -> list[Lot]:
        return [
            lot
            for lot in self.open_lots()
            if lot.expires_at is not None and start < lot.expires_at <= end
        ]


def replay(entries: list[dict]) -> Holdings:
    """Replay ledger entries (any order) into lots and debt."""
    lots: dict[str, Lot] = {}
    debt = 0
    for entry in sorted(entries, key=lambda e: e["seq"]):
        amount = entry["amount"]
        if amount > 0:
            lot = Lot(entry["_id"], amount, amount, entry.get("expires_at"), entry["seq"])
            paid = min(debt, lot.remaining)
            lot.remaining -= paid
            debt -= paid
            lots[lot.id] = lot
        elif amount < 0:
            debt += _consume(lots, -amount, entry.get("lot_id"))
    return Holdings(lots, debt)


def _consume(lots: dict[str, Lot], needed: int, preferred: str | None) -> int:
    """Take `needed` points from lots; returns what could not be covered."""
    order = Holdings(lots, 0).open_lots()
    if preferred in lots:
        order = [lots[preferred], *[lot for lot in order if lot.id != preferred]]
    for lot in order:
        if needed == 0:
            break
        taken = min(needed, lot.remaining)
        lot.remaining -= taken
        needed -= taken
    return needed
