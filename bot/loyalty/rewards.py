"""Redeeming rewards and using coupons: stock, points and codes that count once.

A redemption is a small state machine kept on its document, so a crash at any
step can be finished by LINE's redelivery of the confirmation (every step happens
once, however often it runs) or undone by the cleanup job:

    pending ──limit slot──stock taken──points debited──▶ issued ──/use──▶ used
       │                                                  └──15 min──▶ expired
       └──refused or interrupted──▶ failed            (points, stock and slot back)

A per-member limit counts pending, issued and used redemptions: each holds a
slot (a unique document), and an expired or failed one gives its slot back.

The confirmation button carries a nonce; the redemption key is member + nonce,
so a double tap or a redelivered postback finds the first redemption again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot import faultpoints
from bot.loyalty import points
from bot.loyalty.member_codes import new_code
from bot.store import InsufficientPointsError, Store, utcnow

REDEMPTION_MINUTES_DEFAULT = 15
# Longer than a dead process's webhook claim lasts (bot/store/events.py: STALE_CLAIM),
# so LINE's redelivery can finish an interrupted redemption before it is undone.
STALE_PENDING = timedelta(minutes=10)
COUPON_KINDS = ("percent", "amount", "bogo", "free")
CODE_LENGTH = 7  # after the one-letter prefix: R… redemptions, C… coupons


def reward_name(reward: dict, locale: str) -> str:
    """The reward's name in `locale`, else the first name the owner gave."""
    names = reward.get("names") or {}
    return names.get(locale) or names.get("default") or reward["_id"]


def redemption_minutes(store: Store) -> int:
    return int(store.get_setting("redemption_minutes", REDEMPTION_MINUTES_DEFAULT))


def is_live(reward: dict, today: str) -> bool:
    """Active and inside its validity dates (ISO dates compare as text)."""
    return (
        reward.get("active", False)
        and (not reward.get("valid_from") or reward["valid_from"] <= today)
        and (not reward.get("valid_until") or today <= reward["valid_until"])
    )


@dataclass
class RedeemResult:
    redemption: dict | None
    refused: str | None = None  # unavailable, limit, out-of-stock, insufficient, busy
    missing: int = 0


def redeem(
    store: Store, member: dict, reward_id: str, nonce: str, today: str, event: str | None = None
) -> RedeemResult:
    """Confirmed redemption: stock and points taken once, or nothing at all.

    `event` is the webhook event of the confirmation: LINE redelivering it after the
    process handling it died finishes that redemption (each step happens once).
    """
    reward = store.reward(reward_id)
    if reward is None or not is_live(reward, today):
        return RedeemResult(None, "unavailable")
    key = f"redeem:{member['_id']}:{nonce}"
    code = "R" + new_code(CODE_LENGTH)
    redemption = store.create_redemption(
        {
            "_id": code,
            "key": key,
            "event": event,
            "member_id": member["_id"],
            "reward_id": reward_id,
            "reward_names": reward.get("names", {}),
            "points": reward["points"],
            "branch": reward.get("branch"),
            "expires_at": utcnow() + timedelta(minutes=redemption_minutes(store)),
        }
    )
    if redemption["_id"] != code:  # this confirmation was seen before
        if redemption["status"] == "pending":
            if event and redemption.get("event") == event and _take_over(store, redemption):
                return _complete(store, reward, member, redemption)
            return RedeemResult(redemption, "busy")
        if redemption["status"] == "failed" and not redemption.get("reason"):
            return RedeemResult(redemption, "interrupted")  # undone by the cleanup job
        return RedeemResult(redemption, redemption.get("reason"))
    return _complete(store, reward, member, redemption)


def _take_over(store: Store, redemption: dict) -> bool:
    """Resume a redemption whose process died: restart its clock unless the cleanup won."""
    taken = store.set_redemption(
        redemption["_id"], {"created_at": utcnow()}, "pending", redemption["created_at"]
    )
    return taken is not None


def _complete(store: Store, reward: dict, member: dict, redemption: dict) -> RedeemResult:
    """The steps of a pending redemption, each of which happens once however often run."""
    code = redemption["_id"]
    if not _within_limit(store, reward, member["_id"], code):
        _fail(store, code, "limit")
        return RedeemResult(None, "limit")
    if not redemption.get("stock_taken"):
        if not store.take_stock(reward["_id"], code):
            _fail(store, code, "out-of-stock")
            return RedeemResult(None, "out-of-stock")
        faultpoints.reached("redeem.after_stock")
        store.set_redemption(code, {"stock_taken": True}, "pending")
    store.stock_recorded(reward["_id"], code)
    try:
        points.debit(
            store,
            member["_id"],
            reward["points"],
            "redeem",
            f"redeem:{code}",
            guard=True,
            redemption=code,
            reward_id=reward["_id"],
        )
    except InsufficientPointsError:
        _fail(store, code, "insufficient")
        balance = store.member_by_id(member["_id"])["points"]
        return RedeemResult(None, "insufficient", missing=reward["points"] - balance)
    faultpoints.reached("redeem.after_debit")
    issued = store.set_redemption(code, {"status": "issued", "issued_at": utcnow()}, "pending")
    return RedeemResult(issued)


def _fail(store: Store, code: str, reason: str) -> None:
    """Refuse a pending redemption, then give back the stock and slot it took.

    The status moves first, as in `undo`, so the cleanup job and this refusal
    never both give the same unit back.
    """
    failed = store.set_redemption(code, {"status": "failed", "reason": reason}, "pending")
    if failed is None:
        return  # the cleanup job undid it already
    if failed.get("stock_taken") or store.stock_held_by(failed["reward_id"], code):
        store.return_stock(failed["reward_id"], code)
    store.release_slot(code)


def _within_limit(store: Store, reward: dict, member_id: str, code: str) -> bool:
    """Claim one of the member's slots for a limited reward (always True without a limit).

    The count alone is not enough: parallel confirmations would all pass it before
    any was issued. The slot, a unique insert, is what makes the limit exact; the
    count keeps a lowered limit honest for slots taken under the old one.
    """
    limit = reward.get("per_member_limit")
    if not limit:
        return True
    if store.count_member_redemptions(member_id, reward["_id"]) >= limit:
        return False
    return store.claim_slot(reward["_id"], member_id, code, limit)


def undo(store: Store, redemption: dict, status: str, tz: ZoneInfo) -> bool:
    """Expire or fail a redemption once: give back its points and its stock."""
    was = "issued" if status == "expired" else "pending"
    # An interrupted one only if nobody resumed it since it was found (see `_take_over`).
    started = redemption["created_at"] if status == "failed" else None
    changes = {"status": status, "undone_at": utcnow()}
    moved = store.set_redemption(redemption["_id"], changes, was, started)
    if moved is None:
        return False
    debited = any(
        e["key"] == f"redeem:{redemption['_id']}" for e in store.ledger_for(redemption["member_id"])
    )
    if debited:
        points.credit(
            store,
            redemption["member_id"],
            redemption["points"],
            "reverse",
            f"refund:{redemption['_id']}",
            tz,
            redemption=redemption["_id"],
            reward_id=redemption["reward_id"],
        )
    if moved.get("stock_taken") or store.stock_held_by(moved["reward_id"], moved["_id"]):
        store.return_stock(redemption["reward_id"], redemption["_id"])
    store.release_slot(redemption["_id"])  # an expired or failed code no longer counts
    return True


def expire_redemptions(store: Store, tz: ZoneInfo) -> list[dict]:
    """Unused redemptions past their time, and interrupted ones: undo them."""
    now = utcnow()
    expired = [r for r in store.redemptions_due("issued", now) if undo(store, r, "expired", tz)]
    for stale in store.stale_pending_redemptions(now - STALE_PENDING):
        undo(store, stale, "failed", tz)
    return expired


# -- using codes at the counter -------------------------------------------------------


@dataclass
class UseResult:
    kind: str | None  # "redemption" or "coupon"
    doc: dict | None
    refused: str | None = None  # unknown, used, expired, cancelled, branch


def use_code(store: Store, code: str, staff_id: str, branch: str | None, tz: ZoneInfo) -> UseResult:
    """Mark a redemption or coupon used at the counter, or say why not."""
    code = code.strip().upper()
    if code.startswith("R") and (redemption := store.redemption(code)):
        return _use_redemption(store, redemption, staff_id, branch, tz)
    if code.startswith("C") and (coupon := store.coupon(code)):
        return _use_coupon(store, coupon, staff_id, branch)
    return UseResult(None, None, "unknown")


def _use_redemption(store, redemption, staff_id, branch, tz) -> UseResult:
    status = redemption["status"]
    if status == "issued" and redemption["expires_at"] < utcnow():
        undo(store, redemption, "expired", tz)
        return UseResult("redemption", redemption, "expired")
    if status != "issued":
        refusal = {"used": "used", "expired": "expired"}.get(status, "cancelled")
        return UseResult("redemption", redemption, refusal)
    if redemption.get("branch") and branch and redemption["branch"] != branch:
        return UseResult("redemption", redemption, "branch")
    used = store.set_redemption(
        redemption["_id"],
        {"status": "used", "used_by": staff_id, "used_at": utcnow(), "used_branch": branch},
        "issued",
    )
    if used is None:
        return UseResult("redemption", store.redemption(redemption["_id"]), "used")
    return UseResult("redemption", used)


def _use_coupon(store, coupon, staff_id, branch) -> UseResult:
    if coupon["status"] == "issued" and coupon["expires_at"] < utcnow():
        store.set_coupon(coupon["_id"], {"status": "expired"}, "issued")
        return UseResult("coupon", coupon, "expired")
    if coupon["status"] != "issued":
        return UseResult("coupon", coupon, "used" if coupon["status"] == "used" else "expired")
    used = store.set_coupon(
        coupon["_id"],
        {"status": "used", "used_by": staff_id, "used_at": utcnow(), "used_branch": branch},
        "issued",
    )
    if used is None:
        return UseResult("coupon", store.coupon(coupon["_id"]), "used")
    return UseResult("coupon", used)


# -- coupons ------------------------------------------------------------------------


def issue_coupon(
    store: Store,
    member_id: str,
    kind: str,
    value: int,
    item: str | None,
    min_spend: int,
    valid_days: int,
    source: dict,
    key: str,
) -> tuple[dict, bool]:
    """A single-use, expiring coupon for one member; once per `key`."""
    if kind not in COUPON_KINDS:
        raise ValueError(kind)
    return store.issue_coupon(
        {
            "_id": "C" + new_code(CODE_LENGTH),
            "key": key,
            "member_id": member_id,
            "kind": kind,
            "value": value,
            "item": item,
            "min_spend": min_spend,
            "expires_at": utcnow() + timedelta(days=valid_days),
            "source": source,
        }
    )


def coupon_problem(coupon: dict | None, member_id: str, amount: int, now: datetime) -> str | None:
    """Why a coupon cannot go with this purchase, or None if it can."""
    if coupon is None or coupon["member_id"] != member_id:
        return "unknown"
    if coupon["status"] != "issued":
        return "used"
    if coupon["expires_at"] < now:
        return "expired"
    if amount < coupon.get("min_spend", 0):
        return "min-spend"
    return None


def claim_coupon_for_purchase(
    store: Store, code: str, member_id: str, amount: int, purchase_id: str, staff_id: str
) -> str | None:
    """Take a coupon for a purchase before it is recorded: None once it is this purchase's.

    Two counters typing the same coupon at once: one claim wins, the other gets
    "used" and records nothing. An earn redelivered after its claim finds the coupon
    already its own and carries on.
    """
    now = utcnow()
    coupon = store.coupon(code)
    if coupon and coupon["status"] == "used" and coupon.get("purchase_id") == purchase_id:
        return None
    problem = coupon_problem(coupon, member_id, amount, now)
    if problem:
        return problem
    if store.claim_coupon(code, member_id, purchase_id, staff_id, now) is None:
        return "used"
    return None


def redeem_with_coupon(store: Store, coupon_code: str, purchase_id: str, staff_id: str) -> bool:
    """Link a coupon to the purchase it was used on (campaign reports count this)."""
    used = store.set_coupon(
        coupon_code,
        {"status": "used", "used_by": staff_id, "used_at": utcnow(), "purchase_id": purchase_id},
        "issued",
    )
    if used is not None:
        store.link_coupon(purchase_id, coupon_code)
    return used is not None


def expire_coupons(store: Store) -> int:
    expired = 0
    for coupon in store.coupons_due(utcnow()):
        expired += int(store.set_coupon(coupon["_id"], {"status": "expired"}, "issued") is not None)
    return expired
