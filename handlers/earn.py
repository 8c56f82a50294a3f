"""Staff at the counter: `/earn`, `/void`, and the owner's `/adjust` (all audited)."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from urllib.parse import urlencode

from itsdangerous import BadSignature, SignatureExpired, TimestampSigner

from bot.chat import numbers
from bot.chat.context import Context
from bot.chat.messages import MAX_QUICK_REPLIES, say, tap, text
from bot.chat.registry import Registry, Role
from bot.i18n import N_, Translator, translator
from bot.loyalty import counter, points
from bot.translate import translator_for
from handlers.labels import promotion_label, tier_label
from handlers.lookup import NotFound, resolve_member
from handlers.rewards import moment

MAX_ADJUST = 1_000_000
USAGE = N_("Usage: /earn <member> <amount> [branch] [receipt] [coupon:<code>]")
# A branch or "record again" button completes its earn within this time, once.
ANSWER_SECONDS = 300
ANSWER_SALT = "samachik.earn-answer"
ANSWER_FIELDS = ("m", "v", "b", "r", "c", "n", "y")
AMOUNT_CHOICES = 6  # quick replies of recent ticket sizes when a scan came without an amount


def register(registry: Registry) -> None:
    registry.command(
        "/earn",
        role=Role.STAFF,
        summary=N_("record a purchase and award points"),
        usage=N_("<member> <amount> [branch] [receipt] [coupon:<code>]"),
    )(earn)
    registry.on_postback("earn")(answered)
    registry.on_postback("earn_no")(not_now)
    registry.on_postback("void_ask")(void_ask)
    registry.on_postback("void_no")(void_not_now)
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
    try:
        # Bounded far above any cap, so the cap's own refusal names the limit.
        return numbers.parse_money(raw, 0, 10**16)
    except numbers.NumberError:
        return None


@dataclass(frozen=True)
class EarnRequest:
    """One purchase a cashier asked for, whether typed or answered with a button."""

    member: dict
    amount: int
    branch: str | None
    receipt: str | None
    coupon: str | None
    nonce: str  # the webhook event id of the `/earn` that started it: one purchase per nonce
    again: bool = False  # the cashier confirmed the same purchase again within 2 minutes

    @property
    def key(self) -> str:
        return f"earn:{self.nonce}"


def earn(ctx: Context) -> list:
    """Record a purchase for a member, credit points, tell staff and the member."""
    if len(ctx.args) == 1:
        return _ask_amount(ctx)  # a scanned card: the cashier sent it before typing the amount
    if len(ctx.args) < 2:
        ctx.audit["result"] = "usage"
        return [text(ctx._(USAGE))]
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
    extras, stray = _extras(ctx, rules, ctx.args[2:])
    if stray is not None:
        ctx.audit["result"] = "bad-word"
        refusal = ctx._(
            "“%(word)s” is not a branch or a receipt number. Nothing was recorded.", word=stray
        )
        return [text(refusal + "\n" + ctx._(USAGE))]
    branch, receipt, coupon = extras
    try:
        member = resolve_member(ctx, ctx.args[0])
    except NotFound as missing:
        ctx.audit["result"] = "not-found"
        return [text(missing.message)]
    ctx.audit["subject_member_id"] = member["_id"]
    if branch is None:
        branch = (ctx.store.staff_record(ctx.user_id) or {}).get("branch")
    request = EarnRequest(member, amount, branch, receipt, coupon, ctx.raw["webhookEventId"])
    return _proceed(ctx, request)


def _extras(ctx: Context, rules, words: list[str]):
    """`[branch] [receipt] [coupon:<code>]` in any order; the first word that is none of them."""
    branch = receipt = coupon = None
    for word in words:
        lowered = word.lower()
        if lowered.startswith("coupon:") and coupon is None and len(word) > len("coupon:"):
            coupon = word.split(":", 1)[1].upper()
        elif branch is None and ctx.store.branch(lowered):
            branch = lowered
        elif receipt is None and rules.is_receipt(word):
            receipt = word
        else:
            return None, word
    return (branch, receipt, coupon), None


def _proceed(ctx: Context, request: EarnRequest) -> list:
    """The checks every earn passes, typed or answered, then the purchase itself."""
    member = request.member
    if member["line_user_id"] == ctx.user_id:
        ctx.audit["result"] = "own-account"
        return [
            text(
                ctx._(
                    "You cannot record a purchase for your own member account. "
                    "Please ask a colleague."
                )
            )
        ]
    if request.coupon:
        refusal = counter.coupon_problem(
            ctx.store, request.coupon, member["_id"], request.amount, request.key
        )
        if refusal:
            ctx.audit["result"] = f"coupon-{refusal}"
            return [text(_coupon_refusal(ctx, refusal, request.coupon))]
    if request.branch is None and (branches := ctx.store.list_branches()):
        ctx.audit["result"] = "ask-branch"
        return [_ask_branch(ctx, request, branches)]
    if not request.again:
        previous = points.recent_identical(
            ctx.store, member, request.amount, request.branch, request.receipt, request.key
        )
        if previous is not None:
            ctx.audit["result"] = "ask-again"
            return [_ask_again(ctx, request, previous)]
    return _record(ctx, request)


def _record(ctx: Context, request: EarnRequest) -> list:
    member = request.member
    result = counter.record_purchase(
        ctx.store,
        member,
        request.amount,
        request.branch,
        ctx.user_id,
        request.receipt,
        ctx.config.tz,
        key=request.key,
        coupon=request.coupon,
    )
    if result.refused:
        ctx.audit["result"] = f"coupon-{result.refused}"
        return [text(_coupon_refusal(ctx, result.refused, request.coupon))]
    if result.duplicate_of:
        ctx.audit["result"] = "duplicate-receipt"
        return [
            text(
                ctx._(
                    "Receipt %(receipt)s was already credited (purchase %(purchase)s). "
                    "Nothing was added.",
                    receipt=request.receipt,
                    purchase=result.duplicate_of,
                )
            )
        ]
    purchase = result.purchase
    if result.already:
        ctx.audit["result"] = "already-recorded"
        reply = ctx.t.n_(
            "Purchase %(id)s was already recorded: %(amount)s → %(count)s point. "
            "Nothing was added.",
            "Purchase %(id)s was already recorded: %(amount)s → %(count)s points. "
            "Nothing was added.",
            purchase["points"],
            id=purchase["_id"],
            amount=ctx.t.money(purchase["amount"]),
        )
    else:
        reply = _staff_receipt(ctx, member, result)
        ctx.store.note_ticket(purchase["branch"], purchase["amount"])
    if purchase.get("coupon"):
        reply += "\n" + ctx._("Coupon %(code)s used with this purchase.", code=purchase["coupon"])
    _notify_member(ctx, member, result)
    if purchase.get("flag"):
        _tell_owners(ctx, member, purchase)
    return [text(reply)]


def _coupon_refusal(ctx: Context, refusal: str, code: str) -> str:
    reasons = {
        "unknown": ctx._("Coupon %(code)s does not belong to this member.", code=code),
        "used": ctx._("Coupon %(code)s was already used.", code=code),
        "expired": ctx._("Coupon %(code)s has expired.", code=code),
        "min-spend": ctx._("This purchase is below the coupon's minimum spend.", code=code),
    }
    return reasons[refusal] + " " + ctx._("Nothing was recorded.")


# -- questions: which branch, and the same purchase again -----------------------------


def _ask_amount(ctx: Context) -> list:
    """`/earn <member>` alone: quick replies of the amounts rung up most often lately."""
    try:
        member = resolve_member(ctx, ctx.args[0])
    except NotFound as missing:
        ctx.audit["result"] = "not-found"
        return [text(missing.message)]
    ctx.audit["subject_member_id"] = member["_id"]
    branch = (ctx.store.staff_record(ctx.user_id) or {}).get("branch")
    request = EarnRequest(member, 0, branch, None, None, ctx.raw["webhookEventId"])
    if member["line_user_id"] == ctx.user_id:
        return _proceed(ctx, request)  # refused there, like any earn for oneself
    ctx.audit["result"] = "ask-amount"
    items = [
        tap(ctx.t.money(amount), _answer(ctx, request, amount=amount))
        for amount in ctx.store.common_tickets(branch, AMOUNT_CHOICES)
    ]
    items.append(tap(ctx._("Cancel"), "a=earn_no"))
    question = ctx._(
        "How much did %(name)s spend? Tap an amount, or send “/earn %(code)s <amount>”.",
        name=member["profile"]["first_name"],
        code=member["code"],
    )
    return [text(question, items=items)]


def _ask_branch(ctx: Context, request: EarnRequest, branches: list[dict]):
    """Quick replies, one per branch (LINE shows 13 at most; the rest can be typed)."""
    items = [
        tap(b["name"], _answer(ctx, request, branch=b["_id"]), display=b["name"][:60])
        for b in branches[: MAX_QUICK_REPLIES - 1]
    ]
    items.append(tap(ctx._("Cancel"), "a=earn_no"))
    question = ctx._(
        "Which branch was this %(amount)s purchase for %(name)s at? "
        "Or type the branch after the amount.",
        amount=ctx.t.money(request.amount),
        name=request.member["profile"]["first_name"],
    )
    return text(question, items=items)


def _ask_again(ctx: Context, request: EarnRequest, previous: dict):
    question = ctx._(
        "%(name)s already has the same purchase (%(amount)s%(branch)s) from %(time)s: "
        "purchase %(id)s. Record another one?",
        name=request.member["profile"]["first_name"],
        amount=ctx.t.money(previous["amount"]),
        branch=f" @ {previous['branch']}" if previous.get("branch") else "",
        time=ctx.t.time(previous["created_at"], ctx.config.tz),
        id=previous["_id"],
    )
    items = [
        tap(ctx._("Yes, record again"), _answer(ctx, request, again=True)),
        tap(ctx._("No"), "a=earn_no"),
    ]
    return text(question, items=items)


def _answer(ctx: Context, request: EarnRequest, **changes) -> str:
    """Postback data completing this earn once: signed, expiring, ≤ 300 characters."""
    request = dataclasses.replace(request, **changes)
    fields = {
        "m": request.member["_id"],
        "v": str(request.amount),
        "b": request.branch or "",
        "r": request.receipt or "",
        "c": request.coupon or "",
        "n": request.nonce,
        "y": "1" if request.again else "",
    }
    canonical = urlencode([(name, fields[name]) for name in ANSWER_FIELDS])
    signed = _signer(ctx).sign(canonical).decode()
    return f"a=earn&{canonical}&s={signed[len(canonical) + 1 :]}"


def _signer(ctx: Context) -> TimestampSigner:
    return TimestampSigner(ctx.config.SECRET_KEY, salt=ANSWER_SALT)


def answered(ctx: Context) -> list:
    """A cashier picked a branch or confirmed the same purchase again."""
    if ctx.role < Role.STAFF:
        _audit_answer(ctx, None, "denied")
        return []
    fields = {name: ctx.postback.get(name, "") for name in ANSWER_FIELDS}
    canonical = urlencode(list(fields.items()))
    try:
        _signer(ctx).unsign(f"{canonical}.{ctx.postback.get('s', '')}", max_age=ANSWER_SECONDS)
    except BadSignature as bad:  # too old, or not data we signed
        _audit_answer(ctx, None, "expired" if isinstance(bad, SignatureExpired) else "forged")
        return [text(ctx._("This question has expired. Nothing was recorded: type /earn again."))]
    member = ctx.store.member_by_id(fields["m"])
    if member is None or member.get("status") != "member":
        _audit_answer(ctx, None, "not-found")
        return [text(ctx._("That member is no longer a member. Nothing was recorded."))]
    request = EarnRequest(
        member,
        int(fields["v"]),
        fields["b"] or None,
        fields["r"] or None,
        fields["c"] or None,
        fields["n"],
        again=fields["y"] == "1",
    )
    replies = _proceed(ctx, request)
    _audit_answer(ctx, request, ctx.audit.get("result", "ok"))
    return replies


def not_now(ctx: Context) -> list:
    """The cashier answered No to an earn question."""
    if ctx.role < Role.STAFF:
        return []
    return [text(ctx._("Nothing was recorded."))]


def _audit_answer(ctx: Context, request: EarnRequest | None, result: str) -> None:
    # Buttons are not commands, so dispatch does not audit them: the answer is audited here.
    args = ["(answer)"]
    if request is not None:
        args += [request.member.get("code") or "", ctx.t.money(request.amount)]
        args += [part for part in (request.branch, request.receipt, request.coupon) if part]
        args += ["again"] if request.again else []
    ctx.store.audit(
        actor=ctx.user_id,
        role=ctx.role.name.lower(),
        command="/earn",
        args=args,
        result=result,
        subject_member_id=request.member["_id"] if request else None,
    )


# -- what staff, the member and the owners are told ------------------------------------


def _staff_receipt(ctx: Context, member: dict, result: points.EarnResult) -> str:
    purchase, earning = result.purchase, result.earning
    how = [ctx._("base %(points)s", points=ctx.t.number(earning.base))]
    if earning.promotion:
        how.append(promotion_label(ctx.t, earning.promotion))
    if earning.tier_factor != 1:
        how.append(f"{tier_label(ctx.t, result.tier_before)} ×{ctx.t.number(earning.tier_factor)}")
    lines = [
        ctx.t.n_(
            "Purchase %(id)s: %(amount)s%(branch)s → %(count)s point (%(how)s).",
            "Purchase %(id)s: %(amount)s%(branch)s → %(count)s points (%(how)s).",
            earning.points,
            id=purchase["_id"],
            amount=ctx.t.money(purchase["amount"]),
            branch=f" @ {purchase['branch']}" if purchase["branch"] else "",
            how=", ".join(how),
        ),
        ctx.t.n_(
            "%(name)s now has %(count)s point.",
            "%(name)s now has %(count)s points.",
            result.balance,
            name=member["profile"]["first_name"],
        ),
    ]
    if result.upgraded:
        lines.append(ctx._("Upgraded to %(tier)s!", tier=tier_label(ctx.t, result.tier_after)))
    return "\n".join(lines)


def _balance(t: Translator, balance: int) -> str:
    return t.n_("Balance: %(count)s point.", "Balance: %(count)s points.", balance)


def _notify_member(ctx: Context, member: dict, result: points.EarnResult) -> None:
    t = translator_for(member, ctx.config)
    purchase = result.purchase
    lines = [
        t.n_(
            "Thank you! You earned %(count)s point for %(amount)s.",
            "Thank you! You earned %(count)s points for %(amount)s.",
            purchase["points"],
            amount=t.money(purchase["amount"]),
        )
        + " "
        + _balance(t, result.balance)
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


def _tell_owners(ctx: Context, member: dict, purchase: dict) -> None:
    """A flagged purchase is pushed to every owner but the one who typed it."""
    flag = purchase["flag"]
    staff = ctx.store.staff_record(ctx.user_id)
    for owner_id in sorted(ctx.config.ADMIN_LINE_USER_IDS - {ctx.user_id}):
        t = translator(ctx.store.member_locale(owner_id) or ctx.config.DEFAULT_LOCALE)
        body = t._(
            "Large purchase flagged: %(amount)s for %(member)s (%(code)s) at %(branch)s, "
            "entered by %(staff)s — %(times)s× the average purchase of %(average)s. "
            "Purchase %(id)s; /void %(id)s reverses it.",
            amount=t.money(purchase["amount"]),
            member=member["profile"]["first_name"],
            code=member.get("code", ""),
            branch=purchase["branch"] or t._("no branch"),
            staff=staff["name"] if staff else t._("an owner"),
            times=t.number(round(purchase["amount"] / max(flag["average"], 1), 1)),
            average=t.money(flag["average"]),
            id=purchase["_id"],
        )
        ctx.outbox.append((owner_id, [text(body)], f"flag:{purchase['_id']}:{owner_id}"))


def void(ctx: Context) -> list:
    """Reverse a purchase's points and mark it voided; twice is refused.

    Staff of a branch void only that branch's purchases; owners and staff of all
    branches void any.
    """
    if len(ctx.args) != 1:
        ctx.audit["result"] = "usage"
        return [text(ctx._("Usage: /void <purchase-id>"))]
    purchase_id = ctx.args[0].upper().removeprefix("#")
    only_branch = None
    if ctx.role < Role.OWNER:
        only_branch = (ctx.store.staff_record(ctx.user_id) or {}).get("branch")
    result = points.void(ctx.store, purchase_id, ctx.user_id, ctx.config.tz, only_branch)
    if result.refused == "unknown":
        ctx.audit["result"] = "not-found"
        return [text(ctx._("No purchase %(id)s.", id=purchase_id))]
    ctx.audit["subject_member_id"] = result.purchase["member_id"]
    if result.refused == "other-branch":
        ctx.audit["result"] = "other-branch"
        return [
            text(
                ctx._(
                    "Purchase %(id)s was made at %(branch)s: only its branch's staff "
                    "or an owner can void it.",
                    id=purchase_id,
                    branch=result.purchase.get("branch") or ctx._("no branch"),
                )
            )
        ]
    if result.refused == "already-voided":
        ctx.audit["result"] = "already-voided"
        return [text(ctx._("Purchase %(id)s was already voided.", id=purchase_id))]
    member = ctx.store.member_by_id(result.purchase["member_id"])
    lines = [
        ctx.t.n_(
            "Purchase %(id)s voided: %(count)s point taken back. Balance: %(balance)s.",
            "Purchase %(id)s voided: %(count)s points taken back. Balance: %(balance)s.",
            result.reversed_points,
            id=purchase_id,
            balance=ctx.t.number(result.balance),
        )
    ]
    if result.balance < 0:
        lines.append(ctx._("The balance is negative: the member had already used these points."))
    t = translator_for(member, ctx.config)
    told = t.n_(
        "A purchase of %(amount)s was cancelled, so %(count)s point was taken back.",
        "A purchase of %(amount)s was cancelled, so %(count)s points were taken back.",
        result.reversed_points,
        amount=t.money(result.purchase["amount"]),
    )
    ctx.notify(member, [text(told + " " + _balance(t, result.balance))], key=f"void:{purchase_id}")
    return [text("\n".join(lines))]


def void_ask(ctx: Context) -> list:
    """The Void button under `/member`: name the purchase and ask before voiding.

    Confirm sends `/void <id>` itself, so the void takes exactly the path (role, branch,
    once only, audit) of a typed one."""
    if ctx.role < Role.STAFF:
        return []
    purchase = ctx.store.purchase(ctx.postback.get("p", "").upper())
    if purchase is None:
        return [text(ctx._("No purchase %(id)s.", id=ctx.postback.get("p", "")))]
    if purchase["status"] != "active":
        return [text(ctx._("Purchase %(id)s was already voided.", id=purchase["_id"]))]
    question = ctx.t.n_(
        "Void purchase %(id)s of %(amount)s on %(when)s? Its %(count)s point is taken back.",
        "Void purchase %(id)s of %(amount)s on %(when)s? Its %(count)s points are taken back.",
        purchase["points"],
        id=purchase["_id"],
        amount=ctx.t.money(purchase["amount"]),
        when=moment(ctx.t, purchase["created_at"], ctx.config.tz),
    )
    items = [say(ctx._("Void it"), f"/void {purchase['_id']}"), tap(ctx._("Keep it"), "a=void_no")]
    return [text(question, items=items)]


def void_not_now(ctx: Context) -> list:
    return [text(ctx._("OK, the purchase stays."))]


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
    if member["line_user_id"] == ctx.user_id:
        ctx.audit["result"] = "own-account"
        return [
            text(
                ctx._(
                    "You cannot change the points of your own member account. "
                    "Another owner has to do it."
                )
            )
        ]
    reason = " ".join(ctx.args[2:])[:200]
    key = f"adjust:{ctx.raw['webhookEventId']}"
    balance = points.adjust(
        ctx.store, member["_id"], delta, reason, ctx.user_id, key, ctx.config.tz
    )
    t = translator_for(member, ctx.config)
    told = t._(
        "Your points were corrected by %(delta)s (%(reason)s).",
        delta=("+" if delta > 0 else "") + t.number(delta),
        reason=reason,
    )
    ctx.notify(member, [text(told + " " + _balance(t, balance))], key=key)
    return [
        text(
            ctx.t.n_(
                "%(name)s: %(delta)s point (%(reason)s). Balance: %(balance)s.",
                "%(name)s: %(delta)s points (%(reason)s). Balance: %(balance)s.",
                abs(delta),
                name=member["profile"]["first_name"],
                delta=("+" if delta > 0 else "") + ctx.t.number(delta),
                reason=reason,
                balance=ctx.t.number(balance),
            )
        )
    ]
