"""Staff at the counter: `/earn`, `/void`, and the owner's `/adjust` (all audited)."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from bot import points, rewards
from bot.context import Context
from bot.i18n import N_
from bot.messages import text
from bot.registry import Registry, Role
from bot.store import utcnow
from bot.translate import translator_for
from handlers.labels import promotion_label, tier_label
from handlers.lookup import NotFound, resolve_member

AMOUNT = re.compile(r"^(?:฿|NT\$|\$)?(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d{1,2}))?$")
MAX_ADJUST = 1_000_000


def register(registry: Registry) -> None:
    registry.command(
        "/earn",
        role=Role.STAFF,
        summary=N_("record a purchase and award points"),
        usage=N_("<member> <amount> [branch] [receipt] [coupon:<code>]"),
    )(earn)
    registry.command(
        "/void", role=Role.STAFF, summary=N_("reverse a purchase"), usage=N_("<purchase-id>")
    )(void)
    registry.command(
        "/adjust",
        role=Role.OWNER,
        summary=N_("correct a member's points"),
        usage=N_("<member> <±points> <reason>"),
    )(adjust)


def parse_amount(raw: str) -> int | None:
    """`150`, `1,250.50`, `฿99` → minor units; None if it is not an amount."""
    match = AMOUNT.match(raw.strip())
    if not match:
        return None
    try:
        value = Decimal(match[1].replace(",", "") + "." + (match[2] or "0"))
    except InvalidOperation:
        return None
    return int(value * 100)


def earn(ctx: Context) -> list:
    """Record a purchase for a member, credit points, tell staff and the member."""
    if len(ctx.args) < 2:
        ctx.audit["result"] = "usage"
        return [text(ctx._("Usage: /earn <member> <amount> [branch] [receipt]"))]
    rules = points.load_rules(ctx.store)
    amount = parse_amount(ctx.args[1])
    if amount is None or amount <= 0:
        ctx.audit["result"] = "bad-amount"
        return [
            text(
                ctx._(
                    "“%(amount)s” is not an amount. Type it like 150 or 1,250.50.",
                    amount=ctx.args[1],
                )
            )
        ]
    if amount > rules.max_amount:
        ctx.audit["result"] = "over-cap"
        return [
            text(
                ctx._(
                    "%(amount)s is more than the %(cap)s limit for one purchase. Check the amount.",
                    amount=ctx.t.money(amount),
                    cap=ctx.t.money(rules.max_amount),
                )
            )
        ]
    extra = [a for a in ctx.args[2:] if not a.lower().startswith("coupon:")]
    coupon_code = next(
        (a.split(":", 1)[1].upper() for a in ctx.args[2:] if a.lower().startswith("coupon:")), None
    )
    branch, receipt, problem = _branch_and_receipt(ctx, extra)
    if problem:
        ctx.audit["result"] = "unknown-branch"
        return [text(problem)]
    try:
        member = resolve_member(ctx, ctx.args[0])
    except NotFound as missing:
        ctx.audit["result"] = "not-found"
        return [text(missing.message)]
    ctx.audit["subject_member_id"] = member["_id"]
    if coupon_code:
        refusal = rewards.coupon_problem(
            ctx.store.coupon(coupon_code), member["_id"], amount, utcnow()
        )
        if refusal:
            ctx.audit["result"] = f"coupon-{refusal}"
            return [text(_coupon_refusal(ctx, refusal, coupon_code))]

    result = points.earn(ctx.store, member, amount, branch, ctx.user_id, receipt, ctx.config.tz)
    if result.duplicate_of:
        ctx.audit["result"] = "duplicate-receipt"
        return [
            text(
                ctx._(
                    "Receipt %(receipt)s was already credited (purchase %(purchase)s). "
                    "Nothing was added.",
                    receipt=receipt,
                    purchase=result.duplicate_of,
                )
            )
        ]
    reply = _staff_receipt(ctx, member, result)
    if coupon_code and rewards.redeem_with_coupon(
        ctx.store, coupon_code, result.purchase["_id"], ctx.user_id
    ):
        reply += "\n" + ctx._("Coupon %(code)s used with this purchase.", code=coupon_code)
    _notify_member(ctx, member, result)
    return [text(reply)]


def _coupon_refusal(ctx: Context, refusal: str, code: str) -> str:
    reasons = {
        "unknown": ctx._("Coupon %(code)s does not belong to this member.", code=code),
        "used": ctx._("Coupon %(code)s was already used.", code=code),
        "expired": ctx._("Coupon %(code)s has expired.", code=code),
        "min-spend": ctx._("This purchase is below the coupon's minimum spend.", code=code),
    }
    return reasons[refusal] + " " + ctx._("Nothing was recorded.")


def _branch_and_receipt(ctx: Context, rest: list[str]):
    """Optional `[branch] [receipt]`: a known branch code, then anything is the receipt."""
    staff_branch = (ctx.store.staff_record(ctx.user_id) or {}).get("branch")
    if not rest:
        return staff_branch, None, None
    if ctx.store.branch(rest[0].lower()):
        return rest[0].lower(), " ".join(rest[1:])[:40] or None, None
    if len(rest) >= 2:
        return None, None, ctx._("There is no branch %(code)s. See /branch list.", code=rest[0])
    return staff_branch, rest[0][:40], None


def _staff_receipt(ctx: Context, member: dict, result: points.EarnResult) -> str:
    purchase, earning = result.purchase, result.earning
    how = [ctx._("base %(points)s", points=ctx.t.number(earning.base))]
    if earning.promotion:
        how.append(promotion_label(ctx.t, earning.promotion))
    if earning.tier_factor != 1:
        how.append(f"{tier_label(ctx.t, result.tier_before)} ×{ctx.t.number(earning.tier_factor)}")
    lines = [
        ctx._(
            "Purchase %(id)s: %(amount)s%(branch)s → %(points)s points (%(how)s).",
            id=purchase["_id"],
            amount=ctx.t.money(purchase["amount"]),
            branch=f" @ {purchase['branch']}" if purchase["branch"] else "",
            points=ctx.t.number(earning.points),
            how=", ".join(how),
        ),
        ctx._(
            "%(name)s now has %(balance)s points.",
            name=member["profile"]["first_name"],
            balance=ctx.t.number(result.balance),
        ),
    ]
    if result.upgraded:
        lines.append(ctx._("Upgraded to %(tier)s!", tier=tier_label(ctx.t, result.tier_after)))
    return "\n".join(lines)


def _notify_member(ctx: Context, member: dict, result: points.EarnResult) -> None:
    t = translator_for(member, ctx.config)
    purchase = result.purchase
    lines = [
        t._(
            "Thank you! You earned %(points)s points for %(amount)s. Balance: %(balance)s points.",
            points=t.number(result.earning.points),
            amount=t.money(purchase["amount"]),
            balance=t.number(result.balance),
        )
    ]
    if result.upgraded:
        lines.append(
            t._(
                "Congratulations, you are now %(tier)s: you earn %(factor)s× points.",
                tier=tier_label(t, result.tier_after),
                factor=t.number(result.tier_after.factor),
            )
        )
    ctx.notify(member, [text("\n".join(lines))], key=f"earn:{purchase['_id']}")


def void(ctx: Context) -> list:
    """Reverse a purchase's points and mark it voided; twice is refused."""
    if len(ctx.args) != 1:
        ctx.audit["result"] = "usage"
        return [text(ctx._("Usage: /void <purchase-id>"))]
    purchase_id = ctx.args[0].upper().removeprefix("#")
    result = points.void(ctx.store, purchase_id, ctx.user_id, ctx.config.tz)
    if result.refused == "unknown":
        ctx.audit["result"] = "not-found"
        return [text(ctx._("No purchase %(id)s.", id=purchase_id))]
    if result.refused == "already-voided":
        ctx.audit["result"] = "already-voided"
        return [text(ctx._("Purchase %(id)s was already voided.", id=purchase_id))]
    member = ctx.store.member_by_id(result.purchase["member_id"])
    ctx.audit["subject_member_id"] = member["_id"]
    lines = [
        ctx._(
            "Purchase %(id)s voided: %(points)s points taken back. Balance: %(balance)s.",
            id=purchase_id,
            points=ctx.t.number(result.reversed_points),
            balance=ctx.t.number(result.balance),
        )
    ]
    if result.balance < 0:
        lines.append(ctx._("The balance is negative: the member had already used these points."))
    t = translator_for(member, ctx.config)
    ctx.notify(
        member,
        [
            text(
                t._(
                    "A purchase of %(amount)s was cancelled, so %(points)s points were taken back. "
                    "Balance: %(balance)s points.",
                    amount=t.money(result.purchase["amount"]),
                    points=t.number(result.reversed_points),
                    balance=t.number(result.balance),
                )
            )
        ],
        key=f"void:{purchase_id}",
    )
    return [text("\n".join(lines))]


def adjust(ctx: Context) -> list:
    """The owner corrects a balance with a reason; a new ledger entry, never an edit."""
    if len(ctx.args) < 3 or not re.match(r"^[+-]?\d+$", ctx.args[1]):
        ctx.audit["result"] = "usage"
        return [text(ctx._("Usage: /adjust <member> <±points> <reason>"))]
    delta = int(ctx.args[1])
    if delta == 0 or abs(delta) > MAX_ADJUST:
        ctx.audit["result"] = "bad-amount"
        return [
            text(ctx._("Adjust by 1 to %(max)s points, up or down.", max=ctx.t.number(MAX_ADJUST)))
        ]
    try:
        member = resolve_member(ctx, ctx.args[0])
    except NotFound as missing:
        ctx.audit["result"] = "not-found"
        return [text(missing.message)]
    ctx.audit["subject_member_id"] = member["_id"]
    reason = " ".join(ctx.args[2:])[:200]
    key = f"adjust:{ctx.raw['webhookEventId']}"
    balance = points.adjust(
        ctx.store, member["_id"], delta, reason, ctx.user_id, key, ctx.config.tz
    )
    t = translator_for(member, ctx.config)
    ctx.notify(
        member,
        [
            text(
                t._(
                    "Your points were corrected by %(delta)s (%(reason)s). "
                    "Balance: %(balance)s points.",
                    delta=("+" if delta > 0 else "") + t.number(delta),
                    reason=reason,
                    balance=t.number(balance),
                )
            )
        ],
        key=key,
    )
    return [
        text(
            ctx._(
                "%(name)s: %(delta)s points (%(reason)s). Balance: %(balance)s.",
                name=member["profile"]["first_name"],
                delta=("+" if delta > 0 else "") + ctx.t.number(delta),
                reason=reason,
                balance=ctx.t.number(balance),
            )
        )
    ]
