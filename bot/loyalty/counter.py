"""An earn at the counter, recorded once: its key, its coupon, then the purchase.

Each `/earn` (or the answer to its question) carries a key: the webhook event
id of the command that started it. The key names one purchase id, so a
redelivered event or a double-tapped button finishes that purchase instead of
recording another. A coupon is claimed for that purchase id before anything is
recorded — two cashiers typing one coupon at once get one purchase, and the
other is told nothing was recorded.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from bot.loyalty import points, rewards
from bot.store import Store, utcnow


def coupon_problem(store: Store, code: str, member_id: str, amount: int, key: str) -> str | None:
    """Why a coupon cannot go with this earn, checked before any question is asked.

    A coupon this very earn claimed already (a redelivery) is no problem; the
    claim in `record_purchase` decides between two counters.
    """
    coupon = store.coupon(code)
    problem = rewards.coupon_problem(coupon, member_id, amount, utcnow())
    if problem == "used" and coupon.get("purchase_id") == store.purchase_id_for_key(key):
        return None
    return problem


def record_purchase(
    store: Store,
    member: dict,
    amount: int,
    branch: str | None,
    staff_id: str,
    receipt: str | None,
    tz: ZoneInfo,
    key: str,
    coupon: str | None = None,
) -> points.EarnResult:
    """Claim the key and the coupon, then record the purchase; nothing at all if refused."""
    purchase_id = store.claim_purchase_key(key, points.new_purchase_id())
    if coupon:
        refusal = rewards.claim_coupon_for_purchase(
            store, coupon, member["_id"], amount, purchase_id, staff_id
        )
        if refusal:
            return points.EarnResult(None, None, member.get("points", 0), refused=refusal)
    result = points.earn(
        store,
        member,
        amount,
        branch,
        staff_id,
        receipt,
        tz,
        purchase_id=purchase_id,
        key=key,
        coupon=coupon,
    )
    if result.duplicate_of and coupon:
        store.release_coupon(coupon, purchase_id)
    return result
