"""Owners: `/reward …` (catalogue and stock) and `/coupon give …`; staff: `/use <code>`."""

from __future__ import annotations

import re
from datetime import date

from bot import numbers, qr, rewards
from bot.context import Context
from bot.i18n import N_
from bot.member_codes import new_code
from bot.messages import text
from bot.registry import Registry, Role
from bot.translate import translator_for
from handlers.lookup import NotFound, resolve_member
from handlers.rewards import describe_coupon, moment

REWARD_USAGE = N_(
    "Usage:\n"
    "/reward add <points> <stock|unlimited> <name> [| th=<name> | zh=<name>] "
    "[image:<url>] [from:<date>] [until:<date>] [limit:<n>] [branch:<code>]\n"
    "/reward list\n"
    "/reward edit <id> points|name|image|from|until|limit|branch <value>\n"
    "/reward stock <id> <n|unlimited>\n"
    "/reward off <id> · /reward on <id>"
)
COUPON_USAGE = N_(
    "Usage: /coupon give <member> percent <n> | amount <amount> | bogo <item> | free <item> "
    "[days:<n>] [min:<amount>]"
)
OPTION = re.compile(r"^(image|from|until|limit|branch|days|min):(\S+)$")
LANG_PREFIX = {"en=": "en", "th=": "th", "zh=": "zh_Hant"}
# The range of every number typed here (README, "Rewards and coupons").
MAX_POINTS = 1_000_000
MAX_STOCK = 1_000_000
MAX_LIMIT = 100  # slots per member (bot/rewards.py); 0 = no limit
MAX_DAYS = 365
COUPON_AMOUNT = (100, 10_000_000)  # ฿1–฿100,000 off
MAX_MIN_SPEND = 100_000_000  # ฿1,000,000


class UsageError(ValueError):
    pass


def register(registry: Registry) -> None:
    registry.command(
        "/reward",
        role=Role.OWNER,
        summary=N_("reward catalogue and stock"),
        usage=N_("add | list | edit | stock | off | on …"),
    )(reward)
    registry.command(
        "/coupon",
        role=Role.OWNER,
        summary=N_("give a member a coupon"),
        usage=N_("give <member> <kind> <value> [days:<n>] [min:<amount>]"),
    )(coupon)
    registry.command(
        "/use", role=Role.STAFF, summary=N_("confirm a reward or coupon code"), usage=N_("<code>")
    )(use)


def reward(ctx: Context) -> list:
    """Dispatch `/reward add|list|edit|stock|off|on`."""
    action = ctx.args[0].lower() if ctx.args else ""
    handlers = {"add": _add, "edit": _edit, "stock": _stock, "off": _off, "on": _on}
    if action == "list":
        return [text(_list(ctx))]
    if action not in handlers:
        ctx.audit["result"] = "usage"
        return [text(ctx._(REWARD_USAGE))]
    try:
        return handlers[action](ctx, ctx.args[1:])
    except numbers.NumberError as bad:
        ctx.audit["result"] = "bad-number"
        return [text(numbers.refusal(ctx.t, bad))]
    except (UsageError, ValueError, IndexError):
        ctx.audit["result"] = "usage"
        return [text(ctx._(REWARD_USAGE))]


def _split_options(ctx: Context, words: list[str]) -> tuple[dict, list[str]]:
    options, rest = {}, []
    for word in words:
        match = OPTION.match(word)
        if match:
            options[match[1]] = match[2]
        else:
            rest.append(word)
    for key in ("from", "until"):
        if key in options:
            date.fromisoformat(options[key])
    if "limit" in options:
        options["limit"] = numbers.parse_int(options["limit"], 0, MAX_LIMIT, N_("Limit per member"))
    if "days" in options:
        options["days"] = numbers.parse_int(options["days"], 1, MAX_DAYS, N_("Days"))
    if "min" in options:
        options["min"] = numbers.parse_money(options["min"], 0, MAX_MIN_SPEND, N_("Minimum spend"))
    if "image" in options and not options["image"].startswith("https://"):
        raise UsageError
    if "branch" in options:
        options["branch"] = options["branch"].lower()
        if ctx.store.branch(options["branch"]) is None:
            raise UsageError
    return options, rest


def _names(words: list[str]) -> dict:
    """`Free tea | th=ชาฟรี | zh=免費茶` → {"default": "Free tea", "th": …, "zh_Hant": …}."""
    names = {}
    for segment in (s.strip() for s in " ".join(words).split("|")):
        if not segment:
            continue
        locale = next(
            (loc for prefix, loc in LANG_PREFIX.items() if segment.startswith(prefix)), None
        )
        name = segment.split("=", 1)[1].strip() if locale else segment
        if locale:
            names[locale] = name[:60]
        names.setdefault("default", name[:60])
    if not names:
        raise UsageError
    return names


def _fields(options: dict) -> dict:
    return {
        key: value
        for key, value in {
            "image_url": options.get("image"),
            "valid_from": options.get("from"),
            "valid_until": options.get("until"),
            "per_member_limit": options.get("limit"),
            "branch": options.get("branch"),
        }.items()
        if value is not None
    }


def _points(raw: str) -> int:
    return numbers.parse_int(raw, 1, MAX_POINTS, N_("Points"))


def _parse_stock(raw: str) -> int | None:
    """A count, or None for `unlimited`."""
    if raw.lower() == "unlimited":
        return None
    return numbers.parse_int(raw, 0, MAX_STOCK, N_("Stock"))


def _add(ctx: Context, args: list[str]) -> list:
    if len(args) < 3:
        raise UsageError
    cost, stock = _points(args[0]), _parse_stock(args[1])
    options, words = _split_options(ctx, args[2:])
    reward_doc = {
        "points": cost,
        "stock": stock,
        "taken": 0,
        "active": True,
        "names": _names(words),
        **_fields(options),
    }
    reward_id = "W" + new_code(3)
    while not ctx.store.add_reward({"_id": reward_id, **reward_doc}):
        reward_id = "W" + new_code(3)
    return [
        text(
            ctx.t.n_(
                "Reward %(id)s added: %(name)s for %(count)s point.",
                "Reward %(id)s added: %(name)s for %(count)s points.",
                cost,
                id=reward_id,
                name=reward_doc["names"]["default"],
            )
        )
    ]


def _edit(ctx: Context, args: list[str]) -> list:
    reward_id, field = args[0].upper(), args[1].lower()
    current = ctx.store.reward(reward_id)
    if current is None:
        return _unknown(ctx, reward_id)
    values = args[2:]
    if field == "points" and len(values) == 1:
        changes = {"points": _points(values[0])}
    elif field == "name":
        changes = {"names": _names(values)}
    elif field in ("image", "from", "until", "limit", "branch"):
        options, _rest = _split_options(ctx, [f"{field}:{values[0]}"])
        changes = _fields(options)
    else:
        raise UsageError
    ctx.store.update_reward(reward_id, changes)
    return [text(ctx._("Reward %(id)s updated.", id=reward_id))]


def _stock(ctx: Context, args: list[str]) -> list:
    reward_id = args[0].upper()
    stock = _parse_stock(args[1])
    if not ctx.store.update_reward(reward_id, {"stock": stock}):
        return _unknown(ctx, reward_id)
    shown = ctx._("unlimited") if stock is None else ctx.t.number(stock)
    return [text(ctx._("Stock of %(id)s is now %(stock)s.", id=reward_id, stock=shown))]


def _off(ctx: Context, args: list[str]) -> list:
    if not ctx.store.update_reward(args[0].upper(), {"active": False}):
        return _unknown(ctx, args[0].upper())
    return [text(ctx._("Reward %(id)s is off the menu.", id=args[0].upper()))]


def _on(ctx: Context, args: list[str]) -> list:
    if not ctx.store.update_reward(args[0].upper(), {"active": True}):
        return _unknown(ctx, args[0].upper())
    return [text(ctx._("Reward %(id)s is back on the menu.", id=args[0].upper()))]


def _unknown(ctx: Context, reward_id: str) -> list:
    ctx.audit["result"] = "not-found"
    return [text(ctx._("No reward %(id)s. See /reward list.", id=reward_id))]


def _list(ctx: Context) -> str:
    catalogue = ctx.store.list_rewards()
    if not catalogue:
        return ctx._("No rewards yet. Add one with /reward add <points> <stock> <name>.")
    lines = [ctx._("Rewards:")]
    for item in catalogue:
        stock = ctx._("unlimited") if item.get("stock") is None else ctx.t.number(item["stock"])
        state = "" if item.get("active") else " " + ctx._("(off)")
        lines.append(
            f"{item['_id']} · {rewards.reward_name(item, ctx.t.locale)} · "
            + ctx.t.n_(
                "%(count)s point, stock %(stock)s, redeemed %(taken)s",
                "%(count)s points, stock %(stock)s, redeemed %(taken)s",
                item["points"],
                stock=stock,
                taken=ctx.t.number(item.get("taken", 0)),
            )
            + state
        )
    return "\n".join(lines)


def coupon(ctx: Context) -> list:
    """`/coupon give <member> <kind> <value> [days:<n>] [min:<amount>]`."""
    try:
        if len(ctx.args) < 4 or ctx.args[0].lower() != "give":
            raise UsageError
        member = resolve_member(ctx, ctx.args[1])
        kind = ctx.args[2].lower()
        options, rest = _split_options(ctx, ctx.args[3:])
        value, item = _coupon_value(kind, rest)
        days, min_spend = options.get("days", 30), options.get("min", 0)
    except NotFound as missing:
        ctx.audit["result"] = "not-found"
        return [text(missing.message)]
    except numbers.NumberError as bad:
        ctx.audit["result"] = "bad-number"
        return [text(numbers.refusal(ctx.t, bad))]
    except (UsageError, ValueError, IndexError):
        ctx.audit["result"] = "usage"
        return [text(ctx._(COUPON_USAGE))]
    ctx.audit["subject_member_id"] = member["_id"]
    issued, _created = rewards.issue_coupon(
        ctx.store,
        member["_id"],
        kind,
        value,
        item,
        min_spend,
        days,
        source={"type": "owner", "by": ctx.user_id},
        key=f"owner:{ctx.raw['webhookEventId']}",
    )
    t = translator_for(member, ctx.config)
    ctx.notify(
        member,
        [
            text(
                t._(
                    "A gift for you: %(benefit)s. Code %(code)s, valid until %(date)s. "
                    "Show it to our staff.",
                    benefit=describe_coupon(t, issued),
                    code=issued["_id"],
                    date=moment(t, issued["expires_at"], ctx.config.tz),
                )
            )
        ],
        key=f"coupon:{issued['_id']}",
    )
    return [
        text(
            ctx._(
                "Coupon %(code)s (%(benefit)s) sent to %(name)s.",
                code=issued["_id"],
                benefit=describe_coupon(ctx.t, issued),
                name=member["profile"]["first_name"],
            )
        )
    ]


def _coupon_value(kind: str, rest: list[str]) -> tuple[int, str | None]:
    if kind == "percent" and len(rest) == 1:
        return numbers.parse_int(rest[0], 1, 100, N_("Percent")), None
    if kind == "amount" and len(rest) == 1:
        return numbers.parse_money(rest[0], *COUPON_AMOUNT, N_("Amount")), None
    if kind in ("bogo", "free") and rest:
        return 0, " ".join(rest)[:60]
    raise UsageError


def use(ctx: Context) -> list:
    """Confirm a reward or coupon code at the counter; say what to hand over."""
    if len(ctx.args) != 1:
        ctx.audit["result"] = "usage"
        return [text(ctx._("Usage: /use <code>"))]
    code = ctx.args[0]
    if qr.looks_like_token(code, qr.REDEMPTION_PREFIX):
        try:
            code = qr.read_token(
                ctx.config.SECRET_KEY, code, check_expiry=False, prefix=qr.REDEMPTION_PREFIX
            )
        except qr.TokenError:
            code = "?"
    branch = (ctx.store.staff_record(ctx.user_id) or {}).get("branch")
    result = rewards.use_code(ctx.store, code, ctx.user_id, branch, ctx.config.tz)
    if result.refused:
        ctx.audit["result"] = result.refused
        return [text(_refusal(ctx, result, code))]
    doc = result.doc
    member = ctx.store.member_by_id(doc["member_id"])
    ctx.audit["subject_member_id"] = doc["member_id"]
    t = translator_for(member, ctx.config)
    if result.kind == "redemption":
        what = rewards.reward_name({"names": doc.get("reward_names"), "_id": "?"}, ctx.t.locale)
        theirs = rewards.reward_name({"names": doc.get("reward_names"), "_id": "?"}, t.locale)
        notice = t._(
            "Enjoy your %(reward)s! Code %(code)s has been used.", reward=theirs, code=doc["_id"]
        )
    else:
        what = describe_coupon(ctx.t, doc)
        notice = t._(
            "Your coupon %(code)s (%(benefit)s) has been used. Thank you!",
            code=doc["_id"],
            benefit=describe_coupon(t, doc),
        )
    ctx.notify(member, [text(notice)], key=f"used:{doc['_id']}")
    return [
        text(
            ctx._(
                "OK: hand over %(what)s to %(name)s.",
                what=what,
                name=member.get("profile", {}).get("first_name", "?"),
            )
        )
    ]


def _refusal(ctx: Context, result, code: str) -> str:
    if result.refused == "used":
        return ctx._(
            "Code %(code)s was already used on %(date)s.",
            code=code.upper(),
            date=moment(ctx.t, result.doc["used_at"], ctx.config.tz),
        )
    if result.refused == "expired":
        return ctx._("Code %(code)s has expired.", code=code.upper())
    if result.refused == "cancelled":
        return ctx._("Code %(code)s was cancelled.", code=code.upper())
    if result.refused == "branch":
        return ctx._(
            "Code %(code)s can only be used at branch %(branch)s.",
            code=code.upper(),
            branch=result.doc["branch"],
        )
    return ctx._("No reward or coupon has the code %(code)s.", code=code.upper())
