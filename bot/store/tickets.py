"""Recent ticket sizes: the amounts a cashier is offered when a scanned card came without one.

One small document (`_id` "recent") holds the last amounts rung up, shop-wide and
per branch, kept at write time so the question reads one document by `_id`
instead of scanning purchases (DESIGN §6).
"""

from __future__ import annotations

from collections import Counter

from bot.store.base import StoreBase, utcnow

KEEP_TICKETS = 40
MIN_BRANCH_TICKETS = 5  # fewer at a branch: offer the shop's


class TicketStore(StoreBase):
    INDEXES = {"ticket_sizes": []}  # _id = "recent"

    def note_ticket(self, branch: str | None, amount: int) -> None:
        """Remember one purchase's amount. Unlocked on purpose: on FerretDB two cashiers
        at once may drop an amount from this hint list, which nothing counts on."""
        latest = {"$each": [amount], "$slice": -KEEP_TICKETS}
        pushes = {"all": latest, **({f"branches.{branch}": latest} if branch else {})}
        self.db.ticket_sizes.update_one(
            {"_id": "recent"}, {"$push": pushes, "$set": {"updated_at": utcnow()}}, upsert=True
        )

    def common_tickets(self, branch: str | None, count: int) -> list[int]:
        """The `count` amounts rung up most often lately (ties: the latest), smallest first."""
        doc = self.db.ticket_sizes.find_one({"_id": "recent"}) or {}
        amounts = (doc.get("branches") or {}).get(branch or "", [])
        if len(amounts) < MIN_BRANCH_TICKETS:
            amounts = doc.get("all") or []
        latest = {amount: index for index, amount in enumerate(amounts)}
        ranked = sorted(Counter(amounts).items(), key=lambda item: (-item[1], -latest[item[0]]))
        return sorted(amount for amount, _times in ranked[:count])
