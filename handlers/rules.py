"""`/rule …`: the owner changes earn rules; `/rule show` prints them all."""

from __future__ import annotations

import dataclasses
import re
from datetime import date

from bot.chat import numbers
from bot.chat.context import Context
from bot.chat.messages import text
from bot.chat.registry import Registry, Role
from bot.i18n import N_
from bot.loyalty import points
from bot.loyalty.member_codes import new_code
from bot.loyalty.rules import (
    FLAG_FACTOR_RANGE,
    EarnRules,
    Promotion,
    Tier,
    parse_days,
    parse_window,
)
from handlers import wizard
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
# The range of every number typed here (README, "Points").
MAX_FACTOR = 10.0
MAX_PATTERN = 100
MAX_RATE_POINTS = 1_000
RATE_AMOUNT = (1, 10_000_000)  # ฿0.01–฿100,000 per step
MAX_MIN_SPEND = 100_000_000  # ฿1,000,000
CAP = (100, 1_000_000_000)  # ฿1–฿10,000,000 for one purchase
MAX_TIER_SPEND = 10_000_000_000  # ฿100,000,000 a year
MAX_EXPIRY_MONTHS = 120
MAX_BONUS = 100_000


class RuleError(ValueError):
    pass


def register(registry: Registry) -> None:
    registry.command(
        "/rule",
        role=Role.OWNER,
        summary=N_("earn rate, promotions, tiers, expiry"),
        usage=N_("show | rate | min | cap | expiry | bonus | tier | promo …"),
    )(rule)
    wizard.register(registry, RULE_FORM)
    wizard.register(registry, PROMO_FORM)


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
    if [a.lower() for a in ctx.args] == ["promo", "add"]:
        return wizard.start(ctx, PROMO_FORM)
    if action not in changers:
        ctx.audit["result"] = "usage"
        return [text(ctx._(USAGE))]
    try:
        updated = changers[action](ctx, rules, ctx.args[1:])
    except numbers.NumberError as bad:
        ctx.audit["result"] = "bad-number"
        return [text(numbers.refusal(ctx.t, bad))]
    except (RuleError, ValueError, IndexError):
        ctx.audit["result"] = "usage"
        return [text(ctx._(USAGE))]
    points.save_rules(ctx.store, updated)
    return [text(ctx._("Saved.") + "\n\n" + describe(ctx, updated))]


def _rate(ctx, rules: EarnRules, args) -> EarnRules:
    if len(args) != 3 or args[1].lower() != "per":
        raise RuleError
    earned = numbers.parse_int(args[0], 1, MAX_RATE_POINTS, N_("Points"))
    per = numbers.parse_money(args[2], *RATE_AMOUNT, N_("Amount"))
    return dataclasses.replace(rules, rate_points=earned, rate_amount=per)


def _min_spend(ctx, rules, args) -> EarnRules:
    amount = numbers.parse_money(args[0], 0, MAX_MIN_SPEND, N_("Minimum spend"))
    return dataclasses.replace(rules, min_spend=amount)


def _cap(ctx, rules, args) -> EarnRules:
    amount = numbers.parse_money(args[0], *CAP, N_("Largest purchase"))
    return dataclasses.replace(rules, max_amount=amount)


def _expiry(ctx, rules, args) -> EarnRules:
    months = numbers.parse_int(args[0], 0, MAX_EXPIRY_MONTHS, N_("Months"))
    return dataclasses.replace(rules, expiry_months=months)


def _bonus(ctx, rules, args) -> EarnRules:
    bonus = numbers.parse_int(args[0], 0, MAX_BONUS, N_("Points"))
    return dataclasses.replace(rules, signup_bonus=bonus)


def _tier(ctx, rules, args) -> EarnRules:
    tiers = {t.name: t for t in rules.tiers}
    if args[0].lower() == "remove":
        name = args[1].lower()
        if name not in tiers or tiers[name].min_spend == 0:
            raise RuleError
        del tiers[name]
    else:
        name = args[0].lower()
        if not re.match(r"^[a-z]{2,20}$", name) or len(args) != 3:
            raise RuleError
        spend = numbers.parse_money(args[1], 0, MAX_TIER_SPEND, N_("Minimum spend"))
        factor = numbers.parse_decimal(args[2], 1, MAX_FACTOR, N_("Factor"))
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
    factor = numbers.parse_decimal(args[1], 1.01, MAX_FACTOR, N_("Factor"))
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
    typed = args[0].lower().removesuffix("x").removesuffix("×")
    factor = numbers.parse_decimal(typed, *FLAG_FACTOR_RANGE, N_("Factor"))
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


def rule_line(ctx: Context, rules: EarnRules, which: str) -> str:
    """One line of `describe`: the earn rate, the spend limits (min and cap), expiry or bonus."""
    t = ctx.t
    if which == "rate":
        return t.n_(
            "Earn: %(count)s point per %(amount)s, rounded down.",
            "Earn: %(count)s points per %(amount)s, rounded down.",
            rules.rate_points,
            amount=t.money(rules.rate_amount),
        )
    if which in ("min", "cap"):
        return ctx._(
            "Minimum spend: %(amount)s. Largest purchase: %(cap)s.",
            amount=t.money(rules.min_spend),
            cap=t.money(rules.max_amount),
        )
    if which == "expiry":
        if not rules.expiry_months:
            return ctx._("Points never expire.")
        return t.n_(
            "Points expire after %(count)s month.",
            "Points expire after %(count)s months.",
            rules.expiry_months,
        )
    return t.n_(
        "Signup bonus: %(count)s point.", "Signup bonus: %(count)s points.", rules.signup_bonus
    )


def describe(ctx: Context, rules: EarnRules) -> str:
    """Every rule in one message, as the owner would read it."""
    t = ctx.t
    lines = [
        *(rule_line(ctx, rules, which) for which in ("rate", "min", "expiry", "bonus")),
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


# -- guided forms: the help menu's "Earn rule" and "Promotion", or `/rule promo add` alone ------

RULE_KINDS = (
    ("rate", N_("Earn rate")),
    ("min", N_("Minimum spend")),
    ("cap", N_("Largest purchase")),
    ("expiry", N_("Points expiry")),
    ("bonus", N_("Signup bonus")),
)
VALUE_QUESTIONS = {
    "min": N_("The smallest purchase that earns points, in baht? (0 = any purchase.)"),
    "cap": N_("The largest amount one purchase may have, in baht?"),
    "expiry": N_("After how many months do points expire? (0 = never.)"),
    "bonus": N_("How many points does a new member get for signing up?"),
}
VALUE_CHOICES = {"expiry": ("6", "12", "24", "0"), "bonus": ("0", "50", "100")}
SIMPLE_CHANGERS = {"min": _min_spend, "cap": _cap, "expiry": _expiry, "bonus": _bonus}


def _value_question(ctx: Context, kind: str) -> str:
    return ctx._(VALUE_QUESTIONS[kind])


def _changed_rules(ctx: Context, answers: dict) -> EarnRules:
    """The rules after the form's change, through the same functions as `/rule …`."""
    rules, kind = points.load_rules(ctx.store), answers["rule"]
    if kind == "rate":
        return _rate(ctx, rules, [answers["rate_points"], "per", answers["rate_amount"]])
    return SIMPLE_CHANGERS[kind](ctx, rules, [answers["value"]])


def _checked_by(change):
    """Run the one-line form's own parser on the answer; keep what was typed."""

    def check(ctx: Context, answer: str, answers: dict) -> str:
        change(ctx, {**answers, "answer": answer})
        return answer

    return check


def _rule_kind(ctx: Context, answer: str, answers: dict) -> str:
    if answer.lower() not in dict(RULE_KINDS):
        raise wizard.Refused(ctx._("Choose one of the buttons."))
    return answer.lower()


def _save(ctx: Context, updated: EarnRules) -> list:
    points.save_rules(ctx.store, updated)
    return [text(ctx._("Saved.") + "\n\n" + describe(ctx, updated))]


RULE_FORM = wizard.Form(
    name="rule",
    title=N_("Earn rule"),
    command="/rule",
    steps=(
        wizard.Step(
            "rule",
            N_("Which rule do you want to change?"),
            check=_rule_kind,
            choices=wizard.labelled(RULE_KINDS),
        ),
        wizard.Step(
            "rate_points",
            N_("How many points per step of spending?"),
            check=_checked_by(
                lambda ctx, a: numbers.parse_int(a["answer"], 1, MAX_RATE_POINTS, N_("Points"))
            ),
            choices=lambda ctx, answers: [(v, v) for v in ("1", "2", "5", "10")],
            when=lambda ctx, answers: answers["rule"] == "rate",
        ),
        wizard.Step(
            "rate_amount",
            lambda ctx, answers: ctx._(
                "%(points)s for every how many baht spent?",
                points=ctx.t.n_("%(count)s point", "%(count)s points", int(answers["rate_points"])),
            ),
            check=_checked_by(
                lambda ctx, a: _changed_rules(ctx, {**a, "rate_amount": a["answer"]})
            ),
            choices=lambda ctx, answers: [(v, v) for v in ("10", "25", "50", "100")],
            when=lambda ctx, answers: answers["rule"] == "rate",
        ),
        wizard.Step(
            "value",
            lambda ctx, answers: _value_question(ctx, answers["rule"]),
            check=_checked_by(lambda ctx, a: _changed_rules(ctx, {**a, "value": a["answer"]})),
            choices=lambda ctx, answers: [(v, v) for v in VALUE_CHOICES.get(answers["rule"], ())],
            when=lambda ctx, answers: answers["rule"] != "rate",
        ),
    ),
    summary=lambda ctx, answers: "\n".join(
        [
            ctx._("After the change:"),
            rule_line(ctx, _changed_rules(ctx, answers), answers["rule"]),
            ctx._("Save it?"),
        ]
    ),
    finish=lambda ctx, answers: _save(ctx, _changed_rules(ctx, answers)),
)

EVERY = "all"  # every branch, every day or all day


def _promo_args(answers: dict) -> list[str]:
    """The answers as the words of `/rule promo add <factor> [branch:…] [days:…] …`."""
    words = ["add", answers["factor"]]
    for key in ("branch", "days", "time", "from", "until"):
        if answers.get(key) not in (None, EVERY):
            words.append(f"{key}:{answers[key]}")
    return words


def _promotion(ctx: Context, answers: dict) -> tuple[EarnRules, Promotion]:
    updated = _promo(ctx, points.load_rules(ctx.store), _promo_args(answers))
    return updated, updated.promotions[-1]


def _every_or(parse, refusal: str):
    def check(ctx: Context, answer: str, answers: dict) -> str:
        if answer.lower() == EVERY:
            return EVERY
        try:
            parse(answer.lower())
        except ValueError:
            raise wizard.Refused(ctx._(refusal)) from None
        return answer.lower()

    return check


def _promo_branch(ctx: Context, answer: str, answers: dict) -> str:
    code = answer.lower()
    if code != EVERY and ctx.store.branch(code) is None:
        raise wizard.Refused(ctx._("There is no branch %(code)s. See /branch list.", code=answer))
    return code


def _promo_date(ctx: Context, answer: str, answers: dict) -> str:
    try:
        day = date.fromisoformat(answer).isoformat()
    except ValueError:
        raise wizard.Refused(ctx._("A date like 2026-12-31, or skip.")) from None
    if answers.get("from") and day < answers["from"]:
        raise wizard.Refused(ctx._("The last day cannot be before the first."))
    return day


PROMO_FORM = wizard.Form(
    name="promo",
    title=N_("New promotion"),
    command="/rule",
    steps=(
        wizard.Step(
            "factor",
            N_("New promotion. How many times the usual points? (1.01 to 10, e.g. 2 = double.)"),
            check=_checked_by(
                lambda ctx, a: numbers.parse_decimal(a["answer"], 1.01, MAX_FACTOR, N_("Factor"))
            ),
            choices=lambda ctx, answers: [(v, v) for v in ("1.5", "2", "3")],
        ),
        wizard.Step(
            "branch",
            N_("At which branch?"),
            check=_promo_branch,
            choices=lambda ctx, answers: (
                [(ctx._("All branches"), EVERY)]
                + [(b["name"], b["_id"]) for b in ctx.store.list_branches()]
            ),
        ),
        wizard.Step(
            "days",
            N_("On which days? E.g. mon-fri, sat,sun or tue."),
            check=_every_or(parse_days, N_("Days like mon-fri, sat,sun or tue.")),
            choices=lambda ctx, answers: [
                (ctx._("Every day"), EVERY),
                (ctx._("Mon–Fri"), "mon-fri"),
                (ctx._("Sat–Sun"), "sat-sun"),
            ],
        ),
        wizard.Step(
            "time",
            N_("At what time of day? E.g. 14:00-16:00."),
            check=_every_or(parse_window, N_("A time window like 14:00-16:00.")),
            choices=lambda ctx, answers: [(ctx._("All day"), EVERY)],
        ),
        wizard.Step(
            "from",
            N_("From which date (2026-12-01)? Or skip to start now."),
            check=_promo_date,
            optional=True,
        ),
        wizard.Step(
            "until",
            N_("Until which date (2026-12-31)? Or skip to run until removed."),
            check=_promo_date,
            optional=True,
        ),
    ),
    summary=lambda ctx, answers: "\n".join(
        [
            ctx._(
                "New promotion: %(promotion)s",
                promotion=promotion_label(ctx.t, _promotion(ctx, answers)[1], with_dates=True),
            ),
            ctx._("The largest promotion that applies wins; tiers multiply on top."),
            ctx._("Save it?"),
        ]
    ),
    finish=lambda ctx, answers: _save(ctx, _promotion(ctx, answers)[0]),
)
