"""Guided forms: one question at a time with quick replies, then a summary and Confirm.

An owner action that takes several parameters (a reward, a coupon, a branch, a staff
invite, an earn rule, a campaign) is a `Form`. Its steps check each answer with the
same parsers as the one-line command, and its `finish` does what the command does,
so both forms accept and refuse the same things. The conversation lives on the
member document (`flow` = the form's name), like signup: it survives restarts and
is dropped after a day (bot/chat/conversation.py).

Buttons are postbacks naming the form, the conversation and the step
(`a=wz&f=reward&i=<id>&s=points&v=100`): a button left from an earlier question or
an earlier form is recognised, and the current question is asked again. Confirm
ends the conversation with a conditional update, so a double tap acts once.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlencode

from linebot.v3.messaging import CameraAction, CameraRollAction, QuickReplyItem

from bot import images
from bot.chat import numbers
from bot.chat.context import Context
from bot.chat.messages import MAX_LABEL, MAX_QUICK_REPLIES, tap, text
from bot.chat.registry import Registry, Role, normalise
from bot.i18n import N_
from bot.store import utcnow
from handlers.common import is_cancel, yes_or_no

POSTBACK = "wz"
CONFIRM = "_confirm"
SKIP_WORDS = {"skip", "ข้าม", "跳過", "略過"}
CONFIRM_WORDS = {"confirm", "ยืนยัน", "確認"}
IMAGE_REFUSALS = {
    "too-large": N_("That image is too large: it can be at most 10 MB. Please send a smaller one."),
    "not-image": N_("That file is not a JPEG or PNG image. Please send a photo."),
    "gone": N_(
        "LINE no longer has that image (photos can be downloaded only for a while). "
        "Please send it again."
    ),
    "unavailable": N_("I could not download that image just now. Please send it again."),
}


class Refused(ValueError):  # noqa: N818 - an answer we refuse, not a bug
    """An answer a step does not accept; `message` (translated) says what is allowed."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


Answers = dict


@dataclass(frozen=True)
class _Kept:
    """An answer already checked (a photo, stored): it skips the step's text check."""

    value: object


Question = str | Callable[[Context, Answers], str]


def _as_typed(ctx: Context, answer: str, answers: Answers) -> str:
    return answer


@dataclass(frozen=True)
class Step:
    name: str
    question: Question  # an N_() message, or a function of the answers so far
    # The answer (text) -> the value kept; raises Refused or numbers.NumberError.
    check: Callable[[Context, str, Answers], object] = _as_typed
    choices: Callable[[Context, Answers], list[tuple[str, str]]] | None = None
    optional: bool = False  # `skip` keeps None
    when: Callable[[Context, Answers], bool] | None = None  # asked only if this holds
    image: bool = False  # a photo sent here is kept and its URL is the answer


@dataclass(frozen=True)
class Form:
    name: str  # the conversation's flow and the postbacks' `f`
    title: str  # N_(), e.g. "New reward"
    steps: tuple[Step, ...]
    finish: Callable[[Context, Answers], list]
    # The text above Confirm; None: `finish` runs after the last answer (it confirms itself).
    summary: Callable[[Context, Answers], str] | None = None
    command: str = ""  # audited as this command
    role: Role = Role.OWNER

    def step(self, name: str) -> Step:
        return next(s for s in self.steps if s.name == name)


def labelled(pairs: tuple[tuple[str, str], ...]):
    """Choices from (value, N_() label) pairs, labelled in the reader's language."""

    def choices(ctx: Context, answers: Answers) -> list[tuple[str, str]]:
        return [(ctx._(label), value) for value, label in pairs]

    return choices


def register(registry: Registry, form: Form) -> None:
    """The form's conversation handler, its start button (`a=form_<name>`) and stale buttons."""
    registry.flow(form.name)(lambda ctx: answer(ctx, form))
    registry.on_postback(f"form_{form.name}")(lambda ctx: start_from_button(ctx, form))
    registry.on_postback(POSTBACK)(ended)


def start_button(name: str) -> str:
    """Postback data that starts form `name` (help menu buttons)."""
    return f"a=form_{name}"


def start(ctx: Context, form: Form) -> list:
    """Begin the form with its first question."""
    member = ctx.ensure_member()
    first = _next_step(ctx, form, None, {})
    conversation = {
        "flow": form.name,
        "id": uuid.uuid4().hex[:12],
        "step": first,
        "answers": {},
        "started_at": utcnow(),
    }
    ctx.store.set_conversation(member["_id"], conversation)
    return _ask(ctx, form, conversation)


def start_from_button(ctx: Context, form: Form) -> list:
    if ctx.role < form.role:
        return [text(ctx._("Sorry, you are not allowed to use %(command)s.", command=form.command))]
    return start(ctx, form)


def ended(ctx: Context) -> list:
    """A form's button tapped after the form was confirmed or cancelled."""
    return [text(ctx._("That form is already finished or cancelled; nothing more was changed."))]


def answer(ctx: Context, form: Form) -> list:
    """Take one answer (typed, tapped or a photo), then ask the next question or confirm."""
    conversation = ctx.conversation
    if ctx.role < form.role:  # e.g. no longer an owner since the form began
        ctx.store.clear_conversation(ctx.member["_id"])
        return [text(ctx._("Sorry, you are not allowed to use %(command)s.", command=form.command))]
    step, answers = conversation["step"], dict(conversation["answers"])
    incoming = _incoming(ctx, form, conversation)
    if isinstance(incoming, list):  # not an answer to this question: ask it again
        return [*incoming, *_ask(ctx, form, conversation)]
    if isinstance(incoming, _Kept):
        answers[step] = incoming.value
    elif is_cancel(incoming):
        ctx.store.clear_conversation(ctx.member["_id"])
        return [text(ctx._("Cancelled: nothing was saved."))]
    elif step == CONFIRM:
        return _confirmed(ctx, form, conversation, incoming)
    else:
        try:
            answers[step] = _value(ctx, form.step(step), incoming, answers)
        except Refused as refused:
            return [text(refused.message), *_ask(ctx, form, conversation)]
        except numbers.NumberError as bad:
            return [text(numbers.refusal(ctx.t, bad)), *_ask(ctx, form, conversation)]
        except ValueError:  # a parser's own refusal, without a reason to give
            refusal = ctx._("I don't understand “%(part)s”.", part=incoming)
            return [text(refusal), *_ask(ctx, form, conversation)]
    following = _next_step(ctx, form, step, answers)
    if following is None and form.summary is None:
        return _finish(ctx, form, conversation, answers)
    updated = {**conversation, "step": following or CONFIRM, "answers": answers}
    ctx.store.set_conversation(ctx.member["_id"], updated)
    return _ask(ctx, form, updated)


def _incoming(ctx: Context, form: Form, conversation: dict) -> str | _Kept | list:
    """The answer as text, a photo kept (its URL), or replies saying why there is none."""
    message = ctx.raw.get("message") or {}
    if ctx.raw.get("type") == "postback":
        data = ctx.postback
        current = (data.get("f"), data.get("i"), data.get("s")) == (
            form.name,
            conversation["id"],
            conversation["step"],
        )
        if data.get("a") == POSTBACK and current:
            return data.get("v", "")
        if data.get("a") == POSTBACK:
            return [text(ctx._("That button belongs to an earlier question."))]
        return [_in_the_middle(ctx, form)]
    if message.get("type") == "image":
        return _photo(ctx, form, conversation, message)
    if message.get("type") != "text" or not ctx.text.strip():
        return [text(ctx._("Please answer with text."))]
    typed = ctx.text.strip()
    if typed.startswith("/") and ctx.services.registry.find_command(typed, ctx.role):
        return [_in_the_middle(ctx, form)]
    return typed


def _photo(ctx: Context, form: Form, conversation: dict, message: dict) -> str | _Kept | list:
    step = conversation["step"]
    if step == CONFIRM or not form.step(step).image:
        return [text(ctx._("I don't need a photo here."))]
    provider = message.get("contentProvider") or {}
    if provider.get("type") == "external":  # LINE holds no bytes: the sender's own URL
        return provider.get("originalContentUrl", "")
    try:
        return _Kept(images.from_message(ctx.store, ctx.config, ctx.services.line, message["id"]))
    except images.ImageRefused as refused:
        return [text(ctx._(IMAGE_REFUSALS[refused.reason]))]


def _in_the_middle(ctx: Context, form: Form):
    return text(
        ctx._(
            "You are in the middle of “%(form)s”. Answer the question, or type “cancel”.",
            form=ctx._(form.title),
        )
    )


def _value(ctx: Context, step: Step, answer: str, answers: Answers):
    if step.optional and normalise(answer) in SKIP_WORDS:
        return None
    return step.check(ctx, answer, answers)


def _next_step(ctx: Context, form: Form, after: str | None, answers: Answers) -> str | None:
    names = [s.name for s in form.steps]
    start = names.index(after) + 1 if after else 0
    for step in form.steps[start:]:
        if step.when is None or step.when(ctx, answers):
            return step.name
    return None


def _confirmed(ctx: Context, form: Form, conversation: dict, answer: str) -> list:
    word = normalise(answer)
    if word in CONFIRM_WORDS or yes_or_no(answer) is True:
        return _finish(ctx, form, conversation, conversation["answers"])
    if yes_or_no(answer) is False:
        ctx.store.clear_conversation(ctx.member["_id"])
        return [text(ctx._("Cancelled: nothing was saved."))]
    return _ask(ctx, form, conversation)


def _finish(ctx: Context, form: Form, conversation: dict, answers: Answers) -> list:
    if not ctx.store.take_conversation(ctx.member["_id"], conversation["id"]):
        return ended(ctx)
    try:
        replies = form.finish(ctx, answers)
    except Exception:
        _audit(ctx, form, "error")
        raise
    _audit(ctx, form, ctx.audit.get("result", "ok"))
    return replies


def _audit(ctx: Context, form: Form, result: str) -> None:
    """Like a typed owner command: who, role, what, result (never the answers)."""
    ctx.store.audit(
        actor=ctx.user_id,
        role=ctx.role.name.lower(),
        command=form.command,
        args=["form", form.name],
        result=result,
        subject_member_id=ctx.audit.get("subject_member_id"),
    )


def _ask(ctx: Context, form: Form, conversation: dict) -> list:
    step_name, answers = conversation["step"], conversation["answers"]

    def button(label: str, value: str) -> QuickReplyItem:
        data = {"a": POSTBACK, "f": form.name, "i": conversation["id"], "s": step_name, "v": value}
        return tap(label, urlencode(data))

    if step_name == CONFIRM:
        summary = form.summary(ctx, answers)
        items = [button(ctx._("Confirm"), "confirm"), button(ctx._("Cancel"), "cancel")]
        return [text(summary, items=items)]
    step = form.step(step_name)
    question = step.question(ctx, answers) if callable(step.question) else ctx._(step.question)
    choices = step.choices(ctx, answers) if step.choices else []
    items = []
    if step.image:
        items += [
            QuickReplyItem(action=CameraRollAction(label=ctx._("Photo library")[:MAX_LABEL])),
            QuickReplyItem(action=CameraAction(label=ctx._("Camera")[:MAX_LABEL])),
        ]
    room = MAX_QUICK_REPLIES - len(items) - 1 - int(step.optional)
    items += [button(label, value) for label, value in choices[:room]]
    if step.optional:
        items.append(button(ctx._("Skip"), "skip"))
    items.append(button(ctx._("Cancel"), "cancel"))
    return [text(question, items=items)]
