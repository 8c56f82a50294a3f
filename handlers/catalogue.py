"""Owners: `/reward …` (catalogue and stock) and `/coupon give …`; staff: `/use <code>`."""

from __future__ import annotations

import re
from datetime import date

from bot.chat import numbers
from bot.chat.context import Context
from bot.chat.messages import text
from bot.chat.registry import Registry, Role
from bot.i18n import N_
from bot.loyalty import qr, rewards
from bot.loyalty.member_codes import new_code
from bot.translate import translator_for
from handlers import wizard
from handlers.lookup import NotFound, resolve_member
from handlers.profile import LANGUAGE_NAMES
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
MAX_LIMIT = 100  # slots per member (bot/loyalty/rewards.py); 0 = no limit
MAX_DAYS = 365
DEFAULT_COUPON_DAYS = 30
COUPON_AMOUNT = (100, 10_000_000)  # ฿1–฿100,000 off
MAX_MIN_SPEND = 100_000_000  # ฿1,000,000
MAX_NAME = 60


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
    wizard.register(registry, REWARD_FORM)
    wizard.register(registry, COUPON_FORM)


def reward(ctx: Context) -> list:
    """Dispatch `/reward add|list|edit|stock|off|on`."""
    action = ctx.args[0].lower() if ctx.args else ""
    handlers = {"add": _add, "edit": _edit, "stock": _stock, "off": _off, "on": _on}
    if action == "list":
        return [text(_list(ctx))]
    if action == "add" and len(ctx.args) == 1:
        return wizard.start(ctx, REWARD_FORM)
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
        name = _name(segment.split("=", 1)[1] if locale else segment)
        if locale:
            names[locale] = name
        names.setdefault("default", name)
    if not names:
        raise UsageError
    return names


def _name(typed: str) -> str:
    """One reward name: not empty, at most 60 characters."""
    name = typed.strip()
    if not name:
        raise UsageError
    return name[:MAX_NAME]


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
    return _create_reward(ctx, cost, stock, _names(words), _fields(options))


def _create_reward(ctx: Context, cost: int, stock: int | None, names: dict, fields: dict) -> list:
    """Add a reward to the catalogue (`/reward add` and its guided form)."""
    reward_doc = {
        "points": cost,
        "stock": stock,
        "taken": 0,
        "active": True,
        "names": names,
        **fields,
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
    if [a.lower() for a in ctx.args] in ([], ["give"]):
        return wizard.start(ctx, COUPON_FORM)
    try:
        if len(ctx.args) < 4 or ctx.args[0].lower() != "give":
            raise UsageError
        member = resolve_member(ctx, ctx.args[1])
        kind = ctx.args[2].lower()
        options, rest = _split_options(ctx, ctx.args[3:])
        value, item = _coupon_value(kind, rest)
        days, min_spend = options.get("days", DEFAULT_COUPON_DAYS), options.get("min", 0)
    except NotFound as missing:
        ctx.audit["result"] = "not-found"
        return [text(missing.message)]
    except numbers.NumberError as bad:
        ctx.audit["result"] = "bad-number"
        return [text(numbers.refusal(ctx.t, bad))]
    except (UsageError, ValueError, IndexError):
        ctx.audit["result"] = "usage"
        return [text(ctx._(COUPON_USAGE))]
    return _give_coupon(ctx, member, kind, value, item, min_spend, days)


def _give_coupon(
    ctx: Context, member: dict, kind: str, value: int, item: str | None, min_spend: int, days: int
) -> list:
    """Issue the coupon once (keyed by this event) and tell the member (`/coupon give`, form)."""
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


# -- guided forms: `/reward add` and `/coupon give` alone, or the help menu's buttons ----------

OTHER_NAMES = (
    ("th", N_("Its name in Thai? (Or skip.)")),
    ("en", N_("Its name in English? (Or skip.)")),
    ("zh_Hant", N_("Its name in Chinese? (Or skip.)")),
)


def _refused_usage(check):
    """A one-line parser's bare refusal (UsageError) becomes a reason the owner can act on."""

    def checked(ctx: Context, answer: str, answers: dict):
        try:
            return check(ctx, answer, answers)
        except (UsageError, IndexError):
            raise wizard.Refused(ctx._("I don't understand “%(part)s”.", part=answer)) from None

    return checked


def _image_url(ctx: Context, answer: str, answers: dict) -> str:
    """A typed image is an https URL, as in `image:<url>`; a sent photo skips this check."""
    if not answer.startswith("https://"):
        raise wizard.Refused(ctx._("Send a photo, or type a link that starts with https://."))
    return answer


def _other_name(locale: str, question: str) -> wizard.Step:
    return wizard.Step(
        f"name_{locale}",
        question,
        check=_refused_usage(lambda ctx, answer, answers: _name(answer)),
        optional=True,
        when=lambda ctx, answers: ctx.t.locale != locale,
    )


def _reward_names(ctx: Context, answers: dict) -> dict:
    """The first name is the default and the owner's own language's; the others as given."""
    names = {"default": answers["name"], ctx.t.locale: answers["name"]}
    names.update(
        {loc: answers[f"name_{loc}"] for loc, _q in OTHER_NAMES if answers.get(f"name_{loc}")}
    )
    return names


def _reward_summary(ctx: Context, answers: dict) -> str:
    names = _reward_names(ctx, answers)
    stock = answers["stock"]
    lines = [
        ctx._("New reward: %(name)s", name=names["default"]),
        *(f"• {LANGUAGE_NAMES[loc]}: {name}" for loc, name in names.items() if loc != "default"),
        ctx.t.n_("%(count)s point", "%(count)s points", answers["points"]),
        ctx._(
            "Stock: %(stock)s", stock=ctx._("unlimited") if stock is None else ctx.t.number(stock)
        ),
        ctx._("With an image.") if answers.get("image") else ctx._("No image."),
        ctx._("Add it?"),
    ]
    return "\n".join(lines)


def _reward_finish(ctx: Context, answers: dict) -> list:
    fields = {"image_url": answers["image"]} if answers.get("image") else {}
    return _create_reward(
        ctx, answers["points"], answers["stock"], _reward_names(ctx, answers), fields
    )


REWARD_FORM = wizard.Form(
    name="reward",
    title=N_("New reward"),
    command="/reward",
    steps=(
        wizard.Step(
            "name",
            N_("New reward. What is it called? Type its name in your language."),
            check=_refused_usage(lambda ctx, answer, answers: _name(answer)),
        ),
        *(_other_name(locale, question) for locale, question in OTHER_NAMES),
        wizard.Step(
            "points",
            N_("How many points does it cost?"),
            check=lambda ctx, answer, answers: _points(answer),
            choices=lambda ctx, answers: [(v, v) for v in ("50", "100", "200", "500")],
        ),
        wizard.Step(
            "stock",
            N_("How many are there to give? A number, or unlimited."),
            check=lambda ctx, answer, answers: _parse_stock(answer),
            choices=lambda ctx, answers: [
                (ctx._("Unlimited"), "unlimited"),
                *((v, v) for v in ("10", "50", "100")),
            ],
        ),
        wizard.Step(
            "image",
            N_("A picture? Send a photo, type its link (https://…), or skip."),
            check=_image_url,
            optional=True,
            image=True,
        ),
    ),
    summary=_reward_summary,
    finish=_reward_finish,
)

COUPON_KINDS = (
    ("percent", N_("Percent off")),
    ("amount", N_("Amount off")),
    ("free", N_("Free item")),
    ("bogo", N_("Buy 1 get 1")),
)
VALUE_QUESTIONS = {
    "percent": N_("How many percent off (1–100)?"),
    "amount": N_("How much off, in baht?"),
    "free": N_("Which item is free?"),
    "bogo": N_("Buy one get one of which item?"),
}


def _value_question(ctx: Context, kind: str) -> str:
    return ctx._(VALUE_QUESTIONS[kind])


def _coupon_member(ctx: Context, answer: str, answers: dict) -> str:
    try:
        return resolve_member(ctx, answer)["_id"]
    except NotFound as missing:
        raise wizard.Refused(missing.message) from None


def _coupon_kind(ctx: Context, answer: str, answers: dict) -> str:
    kind = answer.lower()
    if kind not in dict(COUPON_KINDS):
        raise wizard.Refused(ctx._("Choose one of the buttons: the kind of coupon."))
    return kind


def _coupon_summary(ctx: Context, answers: dict) -> str:
    member = ctx.store.member_by_id(answers["member"])
    value, item = answers["value"]
    sample = {"kind": answers["kind"], "value": value, "item": item, "min_spend": answers["min"]}
    return "\n".join(
        [
            ctx._(
                "A coupon for %(name)s (%(code)s): %(benefit)s.",
                name=f"{member['profile']['first_name']} {member['profile']['last_name']}",
                code=member["code"],
                benefit=describe_coupon(ctx.t, sample),
            ),
            ctx.t.n_("Valid for %(count)s day.", "Valid for %(count)s days.", answers["days"]),
            ctx._("Send it?"),
        ]
    )


def _coupon_finish(ctx: Context, answers: dict) -> list:
    member = ctx.store.member_by_id(answers["member"])
    if member is None or member.get("status") != "member":  # erased since the form began
        ctx.audit["result"] = "not-found"
        return [text(ctx._("That member is no longer a member: no coupon was sent."))]
    value, item = answers["value"]
    return _give_coupon(
        ctx, member, answers["kind"], value, item, answers["min"] or 0, answers["days"]
    )


COUPON_FORM = wizard.Form(
    name="coupon",
    title=N_("Give a coupon"),
    command="/coupon",
    steps=(
        wizard.Step(
            "member",
            N_("Give a coupon to whom? Type their member code or phone number."),
            check=_coupon_member,
        ),
        wizard.Step(
            "kind",
            N_("What kind of coupon?"),
            check=_coupon_kind,
            choices=wizard.labelled(COUPON_KINDS),
        ),
        wizard.Step(
            "value",
            lambda ctx, answers: _value_question(ctx, answers["kind"]),
            check=_refused_usage(
                lambda ctx, answer, answers: list(_coupon_value(answers["kind"], answer.split()))
            ),
        ),
        wizard.Step(
            "days",
            N_("Valid for how many days (1–365)?"),
            check=lambda ctx, answer, answers: numbers.parse_int(answer, 1, MAX_DAYS, N_("Days")),
            choices=lambda ctx, answers: [(v, v) for v in ("7", "14", "30")],
        ),
        wizard.Step(
            "min",
            N_("A minimum spend, in baht? (Or skip.)"),
            check=lambda ctx, answer, answers: numbers.parse_money(
                answer, 0, MAX_MIN_SPEND, N_("Minimum spend")
            ),
            optional=True,
        ),
    ),
    summary=_coupon_summary,
    finish=_coupon_finish,
)
