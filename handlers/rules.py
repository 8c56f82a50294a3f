"""`/rule …`: the owner changes earn rules; `/rule show` prints them all."""

from __future__ import annotations

import dataclasses
import re
from datetime import date

from bot import points
from bot.context import Context
from bot.i18n import N_
from bot.member_codes import new_code
from bot.messages import text
from bot.registry import Registry, Role
from bot.rules import (
    FLAG_FACTOR_RANGE,
    EarnRules,
    Promotion,
    Tier,
    parse_days,
    parse_window,
)
from handlers.earn import parse_amount
from handlers.labels import promotion_label, tier_label

USAGE = N_(
    "Usage:\n"
    "/rule show\n"
    "/rule rate <points> per <amount>\n"
    "/rule min <amount> · /rule cap <amount>\n"
    "/rule expiry <months> (0 = never)\n"
    "/rule bonus <points>\n"
    "/rule tier <name> <min spend> <factor> · /rule tier remove <name>\n"
    "/rule promo add <factor> [branch:<code>] [days:mon-fri] [time:14:00-16:00] "
    "[from:2026-12-01] [until:2026-12-31]\n"
    "/rule promo remove <id>\n"
    "/rule flag <2–100 × the average purchase | off>\n"
    "/rule receipt <regular expression | default>"
)
MAX_FACTOR = 10.0
MAX_PATTERN = 100


class RuleError(ValueError):
    pass


def register(registry: Registry) -> None:
    registry.command(
        "/rule",
        role=Role.OWNER,
        summary=N_("earn rate, promotions, tiers, expiry"),
        usage=N_("show | rate | min | cap | expiry | bonus | tier | promo …"),
    )(rule)


def rule(ctx: Context) -> list:
    """Change one rule and show the result, or show them all."""
    action = ctx.args[0].lower() if ctx.args else "show"
    rules = points.load_rules(ctx.store)
    changers = {
        "rate": _rate,
        "min": _min_spend,
        "cap": _cap,
        "expiry": _expiry,
        "bonus": _bonus,
        "tier": _tier,
        "promo": _promo,
        "flag": _flag,
        "receipt": _receipt,
    }
    if action == "show":
        return [text(describe(ctx, rules))]
    if action not in changers:
        ctx.audit["result"] = "usage"
        return [text(ctx._(USAGE))]
    try:
        updated = changers[action](ctx, rules, ctx.args[1:])
    except (RuleError, ValueError, IndexError):
        ctx.audit["result"] = "usage"
        return [text(ctx._(USAGE))]
    points.save_rules(ctx.store, updated)
    return [text(ctx._("Saved.") + "\n\n" + describe(ctx, updated))]


def _rate(ctx, rules: EarnRules, args) -> EarnRules:
    if len(args) != 3 or args[1].lower() != "per":
        raise RuleError
    per = parse_amount(args[2])
    if not args[0].isdigit() or not per or int(args[0]) < 1:
        raise RuleError
    return dataclasses.replace(rules, rate_points=int(args[0]), rate_amount=per)


def _min_spend(ctx, rules, args) -> EarnRules:
    amount = parse_amount(args[0])
    if amount is None:
        raise RuleError
    return dataclasses.replace(rules, min_spend=amount)


def _cap(ctx, rules, args) -> EarnRules:
    amount = parse_amount(args[0])
    if not amount:
        raise RuleError
    return dataclasses.replace(rules, max_amount=amount)


def _expiry(ctx, rules, args) -> EarnRules:
    if not args[0].isdigit() or int(args[0]) > 120:
        raise RuleError
    return dataclasses.replace(rules, expiry_months=int(args[0]))


def _bonus(ctx, rules, args) -> EarnRules:
    if not args[0].isdigit() or int(args[0]) > 100_000:
        raise RuleError
    return dataclasses.replace(rules, signup_bonus=int(args[0]))


def _tier(ctx, rules, args) -> EarnRules:
    tiers = {t.name: t for t in rules.tiers}
    if args[0].lower() == "remove":
        name = args[1].lower()
        if name not in tiers or tiers[name].min_spend == 0:
            raise RuleError
        del tiers[name]
    else:
        name, spend, factor = args[0].lower(), parse_amount(args[1]), float(args[2])
        if not re.match(r"^[a-z]{2,20}$", name) or spend is None or not 1 <= factor <= MAX_FACTOR:
            raise RuleError
        if name in tiers and tiers[name].min_spend == 0:
            spend = 0  # the entry tier always starts at zero
        tiers[name] = Tier(name, spend, factor)
    ordered = tuple(sorted(tiers.values(), key=lambda t: t.min_spend))
    if not ordered or ordered[0].min_spend != 0:
        raise RuleError
    return dataclasses.replace(rules, tiers=ordered)


def _promo(ctx, rules, args) -> EarnRules:
    if args[0].lower() == "remove":
        kept = tuple(p for p in rules.promotions if p.id != args[1].upper())
        if len(kept) == len(rules.promotions):
            raise RuleError
        return dataclasses.replace(rules, promotions=kept)
    if args[0].lower() != "add":
        raise RuleError
    factor = float(args[1])
    if not 1 < factor <= MAX_FACTOR:
        raise RuleError
    options = dict(part.split(":", 1) for part in args[2:])
    unknown = set(options) - {"branch", "days", "time", "from", "until"}
    if unknown:
        raise RuleError
    if "branch" in options and ctx.store.branch(options["branch"].lower()) is None:
        raise RuleError
    start, end = parse_window(options["time"]) if "time" in options else (None, None)
    for key in ("from", "until"):
        if key in options:
            date.fromisoformat(options[key])
    promotion = Promotion(
        id=new_code(4),
        factor=factor,
        branch=options.get("branch", "").lower() or None,
        days=parse_days(options["days"]) if "days" in options else (),
        start=start,
        end=end,
        valid_from=options.get("from"),
        valid_until=options.get("until"),
    )
    return dataclasses.replace(rules, promotions=(*rules.promotions, promotion))


def _flag(ctx, rules, args) -> EarnRules:
    """`/rule flag 10`: earns of 10× the shop's average purchase are flagged to owners."""
    if len(args) != 1:
        raise RuleError
    if args[0].lower() == "off":
        return dataclasses.replace(rules, flag_factor=0.0)
    low, high = FLAG_FACTOR_RANGE
    factor = float(args[0].lower().removesuffix("x").removesuffix("×"))
    if not low <= factor <= high:
        raise RuleError
    return dataclasses.replace(rules, flag_factor=factor)


def _receipt(ctx, rules, args) -> EarnRules:
    """`/rule receipt <regex>`: what a receipt number after the amount looks like."""
    if len(args) != 1 or len(args[0]) > MAX_PATTERN:
        raise RuleError
    if args[0].lower() == "default":
        return dataclasses.replace(rules, receipt_pattern="")
    try:
        re.compile(args[0])
    except re.error:
        raise RuleError from None
    return dataclasses.replace(rules, receipt_pattern=args[0])


def describe(ctx: Context, rules: EarnRules) -> str:
    """Every rule in one message, as the owner would read it."""
    t = ctx.t
    lines = [
        ctx._(
            "Earn: %(points)s point(s) per %(amount)s, rounded down.",
            points=t.number(rules.rate_points),
            amount=t.money(rules.rate_amount),
        ),
        ctx._(
            "Minimum spend: %(amount)s. Largest purchase: %(cap)s.",
            amount=t.money(rules.min_spend),
            cap=t.money(rules.max_amount),
        ),
        ctx._("Points expire after %(months)s months.", months=t.number(rules.expiry_months))
        if rules.expiry_months
        else ctx._("Points never expire."),
        ctx._("Signup bonus: %(points)s points.", points=t.number(rules.signup_bonus)),
        ctx._("Tiers (12-month spend):"),
    ]
    lines += [
        f"• {tier_label(t, tier)}: {t.money(tier.min_spend)}+ ×{t.number(tier.factor)}"
        for tier in rules.tiers
    ]
    lines.append(ctx._("Promotions (the largest applies; tiers multiply on top):"))
    if not rules.promotions:
        lines.append("• " + ctx._("none"))
    for promo in rules.promotions:
        lines.append(f"• {promo.id}: {promotion_label(t, promo, with_dates=True)}")
    lines.append(
        ctx._(
            "Purchases of %(factor)s× the average purchase or more are flagged to owners.",
            factor=t.number(rules.flag_factor),
        )
        if rules.flag_factor
        else ctx._("Large purchases are not flagged.")
    )
    lines.append(
        ctx._("Receipt numbers match: %(pattern)s", pattern=rules.receipt_pattern)
        if rules.receipt_pattern
        else ctx._("Receipt numbers: letters and digits, with at least one digit.")
    )
    return "\n".join(lines)
