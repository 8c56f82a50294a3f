"""Member side of points: `card` (rotating QR), `points` and `history`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import flex_templates
from bot.chat.context import Context
from bot.chat.messages import text
from bot.chat.registry import Registry
from bot.i18n import N_
from bot.loyalty import points, qr
from bot.store import utcnow
from handlers.common import keyword, merchant_name
from handlers.labels import movement_label, tier_label
from handlers.profile import not_member_yet

TIER_COLORS = {"member": "#0B6E4F", "silver": "#6B7B8C", "gold": "#B8860B"}
HISTORY_LENGTH = 10
EXPIRING_WINDOW = timedelta(days=30)


def register(registry: Registry) -> None:
    registry.command(
        "card", th=("บัตร", "บัตรสมาชิก"), zh=("會員卡",), summary=N_("show your member card")
    )(card)
    registry.command(
        "points", th=("แต้ม", "คะแนน"), zh=("點數",), summary=N_("your points and tier")
    )(show_points)
    registry.command(
        "history", th=("ประวัติ",), zh=("紀錄", "記錄"), summary=N_("your last point movements")
    )(history)
    registry.on_postback("card")(card)


def card(ctx: Context) -> list:
    """The member card: a QR that staff scan, valid five minutes, with a refresh button."""
    if not ctx.is_member:
        return [not_member_yet(ctx)]
    member = ctx.member
    token = qr.make_token(ctx.config.SECRET_KEY, member["_id"])
    valid_until = datetime.fromtimestamp(qr.expires_at(token), UTC)
    tier = points.load_rules(ctx.store).tier_named(member.get("tier"))
    name = f"{member['profile']['first_name']} {member['profile']['last_name']}"
    base = ctx.config.PUBLIC_BASE_URL.rstrip("/")
    return [
        flex_templates.render(
            "member_card",
            alt_text=ctx.t.n_(
                "Member card: %(code)s, %(count)s point",
                "Member card: %(code)s, %(count)s points",
                member.get("points", 0),
                code=member["code"],
            ),
            merchant=merchant_name(ctx),
            name=name,
            tier=tier_label(ctx.t, tier),
            tier_color=TIER_COLORS.get(tier.name, "#0B6E4F"),
            qr_url=f"{base}/qr/{token}.png",
            points_label=ctx._("Points"),
            points=ctx.t.number(member.get("points", 0)),
            code_label=ctx._("Member code"),
            code=member["code"],
            valid_until=ctx._(
                "QR valid until %(time)s. Tap refresh for a new one.",
                time=ctx.t.time(valid_until, ctx.config.tz),
            ),
            refresh_label=ctx._("Refresh"),
            points_button=ctx._("Points"),
            points_text=keyword(ctx, "points"),
        )
    ]


def show_points(ctx: Context) -> list:
    """Balance, tier, what is left to the next tier, and points expiring within 30 days."""
    if not ctx.is_member:
        return [not_member_yet(ctx)]
    member = ctx.member
    rules = points.load_rules(ctx.store)
    tier = rules.tier_named(member.get("tier"))
    lines = [
        ctx.t.n_(
            "You have %(count)s point. Tier: %(tier)s.",
            "You have %(count)s points. Tier: %(tier)s.",
            member.get("points", 0),
            tier=tier_label(ctx.t, tier),
        )
    ]
    following, missing = points.spend_to_next_tier(ctx.store, rules, member["_id"])
    if following:
        lines.append(
            ctx._(
                "Spend %(amount)s more within 12 months to reach %(tier)s.",
                amount=ctx.t.money(missing),
                tier=tier_label(ctx.t, following),
            )
        )
    now = utcnow()
    for lot in points.holdings(ctx.store, member["_id"]).expiring_between(
        now, now + EXPIRING_WINDOW
    ):
        lines.append(
            ctx.t.n_(
                "%(count)s point expires on %(date)s.",
                "%(count)s points expire on %(date)s.",
                lot.remaining,
                date=ctx.t.date(lot.expires_at.astimezone(ctx.config.tz)),
            )
        )
    return [text("\n".join(lines), quick_replies=[(ctx._("Member card"), keyword(ctx, "card"))])]


def history(ctx: Context) -> list:
    """The last ten point movements, newest first."""
    if not ctx.is_member:
        return [not_member_yet(ctx)]
    entries = ctx.store.ledger_for(ctx.member["_id"], limit=HISTORY_LENGTH)
    if not entries:
        return [text(ctx._("No point movements yet."))]
    lines = [ctx._("Your last point movements:")]
    for entry in entries:
        when = ctx.t.date(entry["created_at"].astimezone(ctx.config.tz))
        amount = ("+" if entry["amount"] > 0 else "") + ctx.t.number(entry["amount"])
        lines.append(f"{when} · {amount} · {movement_label(ctx.t, entry['kind'])}")
    return [text("\n".join(lines))]
