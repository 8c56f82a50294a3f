"""`join`: the signup conversation, one question at a time, ending in PDPA consent.

The conversation lives on the member document, so it survives restarts; each
answer is validated with a clear re-ask; `cancel` or declining the privacy
notice drops every answer. Nothing personal is stored on the member until
consent is given.
"""

from __future__ import annotations

from datetime import date, timedelta

import flex_templates
from bot.chat.context import Context
from bot.chat.messages import pick_date, say, tap, text
from bot.chat.registry import Registry
from bot.i18n import N_
from bot.loyalty import points
from bot.loyalty.member_codes import new_code
from bot.marketing import audience
from bot.members import privacy
from bot.members.profile_fields import (
    FIELD_LABELS,
    GENDER_LABELS,
    GENDERS,
    InvalidAnswer,
    display_phone,
    parse,
)
from bot.richmenu import relink as relink_menu
from bot.store import utcnow
from handlers.common import is_cancel, keyword, merchant_name, yes_or_no

STEPS = ("first_name", "last_name", "gender", "birthday", "phone", "email", "privacy", "marketing")
PROFILE_STEPS = STEPS[:6]
MAX_CODE_ATTEMPTS = 20
# Phone numbers a user may type per hour (signup and `edit`): enough for typos,
# too few to test which numbers belong to members.
PHONE_TRIES = 5
PHONE_WINDOW = timedelta(hours=1)


def register(registry: Registry) -> None:
    registry.command(
        "join",
        th=("สมัครสมาชิก", "สมัคร"),
        zh=("加入會員", "加入"),
        summary=N_("become a member and collect points"),
    )(start)
    registry.flow("signup")(answer)


def start(ctx: Context) -> list:
    """Begin the signup conversation (or say the sender is already a member)."""
    member = ctx.ensure_member()
    if member["status"] == "member":
        return [
            text(
                ctx._(
                    "You are already a member. Your member code is %(code)s.", code=member["code"]
                ),
                quick_replies=[(ctx._("Member card"), keyword(ctx, "card"))],
            )
        ]
    conversation = {"flow": "signup", "step": STEPS[0], "answers": {}, "started_at": utcnow()}
    ctx.store.set_conversation(member["_id"], conversation)
    intro = ctx._("Great! A few quick questions and you're in. Type “cancel” at any time to stop.")
    return [text(intro), *ask(ctx, STEPS[0])]


def answer(ctx: Context) -> list:
    """Take the answer to the current question, validate it, and ask the next one."""
    conversation = ctx.conversation
    step, answers = conversation["step"], dict(conversation["answers"])
    if ctx.text and is_cancel(ctx.text):
        ctx.store.clear_conversation(ctx.member["_id"])
        return [text(ctx._("Signup cancelled. We did not keep anything you typed."))]

    reply = _answer_text(ctx, step)
    if reply is None:
        return _reask(ctx, step)
    if isinstance(reply, list):
        return reply
    try:
        value = _validate(ctx, step, reply)
    except InvalidAnswer as problem:
        return [text(ctx._(problem.message, **problem.params)), *ask(ctx, step)]
    if step == "phone" and (refusal := too_many_phone_tries(ctx)):
        return refusal

    if step == "privacy" and not value:
        return decline(ctx)
    answers[step] = value
    if step == "marketing":
        return complete(ctx, answers)
    following = STEPS[STEPS.index(step) + 1]
    ctx.store.set_conversation(
        ctx.member["_id"], {**conversation, "step": following, "answers": answers}
    )
    return ask(ctx, following)


def _answer_text(ctx: Context, step: str):
    """The raw answer to `step`, a list of replies to send instead, or None to re-ask."""
    if ctx.raw.get("type") == "postback":
        data = ctx.postback
        if data.get("a") != "signup":
            return None
        if data.get("step") != step:
            return _answer_earlier_step(ctx, data, step)
        return data.get("date") or data.get("v")
    if not ctx.text.strip():
        return None
    if ctx.services.registry.find_command(ctx.text, ctx.role) and step not in (
        "privacy",
        "marketing",
    ):
        hint = ctx._("You are in the middle of signing up. Answer the question, or type “cancel”.")
        return [text(hint), *ask(ctx, step)]
    return ctx.text


def _answer_earlier_step(ctx: Context, data: dict, current: str) -> list | None:
    """An old button tapped again: change that earlier answer, then carry on."""
    earlier = data.get("step")
    answers = ctx.conversation["answers"]
    if earlier not in PROFILE_STEPS or earlier not in answers:
        return None
    try:
        answers[earlier] = _validate(ctx, earlier, data.get("date") or data.get("v") or "")
    except InvalidAnswer:
        return None
    ctx.store.set_conversation(ctx.member["_id"], {**ctx.conversation, "answers": answers})
    label = ctx._(FIELD_LABELS[earlier])
    return [text(ctx._("Changed your %(field)s.", field=label.lower())), *ask(ctx, current)]


def _validate(ctx: Context, step: str, raw: str):
    if step == "email" and (raw == "skip" or yes_or_no(raw) is False or raw.strip() in ("-", "")):
        return None
    if step in ("privacy", "marketing"):
        choice = {"yes": True, "no": False}.get(raw, yes_or_no(raw))
        if choice is None:
            raise InvalidAnswer(N_("Please pick one of the buttons below."))
        return choice
    # A number another member has is not refused here: before consent, that would
    # tell anyone whose number is registered. `complete` deals with it.
    return parse(step, raw, ctx.today())


def too_many_phone_tries(ctx: Context) -> list | None:
    """Count a phone number typed; past PHONE_TRIES an hour, a polite no (nothing is lost)."""
    retry_at = ctx.store.count_phone_try(ctx.member["_id"], PHONE_TRIES, PHONE_WINDOW)
    if retry_at is None:
        return None
    return [
        text(
            ctx._(
                "You have typed several phone numbers in a short time. Please try again "
                "after %(time)s, or ask our staff for help. Your other answers are kept.",
                time=ctx.t.time(retry_at, ctx.config.tz),
            )
        )
    ]


def _reask(ctx: Context, step: str) -> list:
    hint = ctx._("Sorry, I need a typed answer or one of the buttons for this question.")
    return [text(hint), *ask(ctx, step)]


def ask(ctx: Context, step: str, flow: str = "signup") -> list:
    """The question for `step`, with quick replies where they help.

    `flow` names the conversation the buttons answer (signup, or edit).
    """
    cancel = say(ctx._("Cancel"), keyword_cancel(ctx))
    data = f"a={flow}&step={step}"
    if step == "first_name":
        return [text(ctx._("What is your first name?"), items=[cancel])]
    if step == "last_name":
        return [text(ctx._("And your last name?"), items=[cancel])]
    if step == "gender":
        items = [tap(ctx._(GENDER_LABELS[g]), f"{data}&v={g}") for g in GENDERS]
        return [text(ctx._("Which gender should we note?"), items=[*items, cancel])]
    if step == "birthday":
        today = ctx.today()
        picker = pick_date(
            ctx._("Pick a date"),
            data,
            initial=date(today.year - 25, 1, 1).isoformat(),
            earliest="1900-01-01",
            latest=today.isoformat(),
        )
        question = ctx._("When is your birthday? We like to send a treat. (e.g. 31/12/1990)")
        return [text(question, items=[picker, cancel])]
    if step == "phone":
        return [text(ctx._("What is your mobile number?"), items=[cancel])]
    if step == "email":
        label = ctx._("Skip") if flow == "signup" else ctx._("Remove email")
        skip = tap(label, f"{data}&v=skip")
        return [text(ctx._("Your email address? (optional)"), items=[skip, cancel])]
    if step == "privacy":
        return [privacy_question(ctx)]
    return [marketing_question(ctx)]


def keyword_cancel(ctx: Context) -> str:
    return {"th": "ยกเลิก", "zh_Hant": "取消"}.get(ctx.t.locale, "cancel")


def privacy_question(ctx: Context):
    base = ctx.config.PUBLIC_BASE_URL.rstrip("/")
    notice = ctx._(
        "Before we save your details, please read how we use them.\n"
        "We collect: your name, gender, birthday, phone, email (optional), "
        "your purchases and points.\n"
        "Why: to run your membership, points and rewards, and to know our customers.\n"
        "Your rights: see, correct, export (“my data”) or erase (“delete my data”) "
        "your data at any time.\n"
        "Full privacy notice: %(url)s\n"
        "Do you agree?",
        url=f"{base}/privacy?lang={ctx.t.locale}",
    )
    items = [
        tap(ctx._("I agree"), "a=signup&step=privacy&v=yes"),
        tap(ctx._("I do not agree"), "a=signup&step=privacy&v=no"),
    ]
    return text(notice, items=items)


def marketing_question(ctx: Context):
    question = ctx._(
        "Last one: may %(merchant)s send you news and special offers? "
        "You can change this any time with “stop ads”.",
        merchant=merchant_name(ctx),
    )
    items = [
        tap(ctx._("Yes, please"), "a=signup&step=marketing&v=yes"),
        tap(ctx._("No, thanks"), "a=signup&step=marketing&v=no"),
    ]
    return text(question, items=items)


def decline(ctx: Context) -> list:
    """No consent, no data: drop every answer and remember only the refusal."""
    member_id = ctx.member["_id"]
    ctx.store.clear_conversation(member_id)
    ctx.store.record_consent(member_id, privacy.consent("privacy", False, "signup"))
    return [
        text(
            ctx._(
                "No problem. We have not kept any of your details. "
                "Type “%(join)s” whenever you change your mind.",
                join=keyword(ctx, "join"),
            )
        )
    ]


def complete(ctx: Context, answers: dict) -> list:
    """Claim the phone, give a member code, store profile and consents, credit the bonus.

    A number another member already has is left out (never stored twice) and the
    member is told so, now that they have consented; the signup itself goes through.
    """
    member_id = ctx.member["_id"]
    phone_taken = not ctx.store.claim_phone(answers["phone"], member_id)
    code = _claim_code(ctx, member_id)
    kept = [f for f in PROFILE_STEPS if answers.get(f) and not (f == "phone" and phone_taken)]
    profile = {field: answers[field] for field in kept}
    profile["birth_month"] = int(answers["birthday"][5:7])
    consents = [
        privacy.consent("privacy", True, "signup"),
        privacy.consent("marketing", answers["marketing"], "signup"),
    ]
    if not ctx.store.complete_signup(member_id, code, profile, consents, answers["marketing"]):
        return [text(ctx._("You are already a member."))]
    bonus = points.award_signup_bonus(ctx.store, member_id, ctx.config.tz)
    audience.record_welcome(ctx.store, member_id, ctx.today())
    member = ctx.reload_member()
    relink_menu(ctx)
    replies = [welcome_member(ctx, member, bonus)]
    if phone_taken:
        note = ctx._(
            "The number %(phone)s is already registered to another member, so we did not "
            "add it to your membership. If it is yours, please ask our staff to help; "
            "to give another number, type “%(edit)s”.",
            phone=display_phone(answers["phone"]),
            edit=keyword(ctx, "edit"),
        )
        replies.append(text(note))
    return replies


def _claim_code(ctx: Context, member_id: str) -> str:
    for _attempt in range(MAX_CODE_ATTEMPTS):
        code = new_code()
        if ctx.store.claim_member_code(code, member_id):
            return code
    raise RuntimeError("could not find a free member code")


def welcome_member(ctx: Context, member: dict, bonus: int) -> dict:
    name = member["profile"]["first_name"]
    merchant = merchant_name(ctx)
    welcome = ctx._("Welcome, %(name)s!", name=name)
    body = (
        ctx._(
            "Here are %(points)s points to start with. Show your member card when you pay.",
            points=ctx.t.number(bonus),
        )
        if bonus
        else ctx._("Show your member card when you pay to collect points.")
    )
    return flex_templates.render(
        "member_welcome",
        alt_text=ctx._(
            "%(welcome)s Your member code is %(code)s and you have %(points)s points.",
            welcome=welcome,
            code=member["code"],
            points=ctx.t.number(member.get("points", 0)),
        ),
        merchant=merchant,
        title=welcome,
        code_label=ctx._("Member code"),
        code=member["code"],
        points_label=ctx._("Points"),
        points=ctx.t.number(member.get("points", 0)),
        body=body,
        button_label=ctx._("Member card"),
        button_text=keyword(ctx, "card"),
    )
