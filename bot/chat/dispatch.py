"""Run each webhook event once: claim it, route it to its handler, send the reply."""

from __future__ import annotations

import logging
import time
import traceback

from pymongo.errors import PyMongoError

from bot.chat import private_chat, ratelimit
from bot.chat.context import Context, Services
from bot.chat.conversation import is_expired
from bot.chat.messages import text as text_message
from bot.line_api import LineApiError, retry_key_for
from bot.store import utcnow
from bot.store.events import MAX_EVENT_AGE

log = logging.getLogger(__name__)


def handle_event(services: Services, event: object, raw: dict) -> str:
    """Handle one event exactly once; returns what happened (for tests and logs)."""
    event_id = raw.get("webhookEventId")
    event_type = str(raw.get("type", "unknown"))
    mode = raw.get("mode", "active")
    if not event_id:
        # Every current LINE event has one; without it we cannot de-duplicate.
        log.warning("dropping %s event without webhookEventId", event_type)
        return "rejected"
    if _too_old(raw):
        # Its id may be pruned already, so handling it could act twice: a replayed
        # capture, or a redelivery later than LINE ever makes one.
        hours = MAX_EVENT_AGE.total_seconds() / 3600
        log.info("ignoring %s event %s: older than %g hours", event_type, event_id, hours)
        return "stale"

    claim = services.store.claim_event(event_id, event_type, mode)
    if claim != "claimed":
        log.info("skipping %s event %s: already %s", event_type, event_id, claim)
        return f"skipped-{claim}"
    if mode == "standby":
        # Another channel (e.g. the chat module) is active: record, never answer.
        services.store.finish_event(event_id, "standby")
        return "standby"

    ctx = Context(services, event, raw)
    try:
        replies = ratelimit.refusal(ctx)
        if replies is None:
            replies = route(ctx)
    except Exception as exc:  # noqa: BLE001 - any handler bug must not lose the event
        log.error(
            "handler for %s event %s failed; released for redelivery\n%s",
            event_type,
            event_id,
            safe_traceback(exc),
        )
        services.store.release_event(event_id)
        # The database failing is worth LINE's redelivery (webhook answers 500);
        # a bug in a handler would fail again, so that event is only released.
        return "unavailable" if isinstance(exc, PyMongoError) else "failed"
    services.store.finish_event(event_id)
    if replies:
        send_reply(services, raw, replies)
    send_notifications(services, ctx.outbox)
    run_after_reply(ctx.after_reply)
    return "handled"


def _too_old(raw: dict) -> bool:
    """LINE's `timestamp` (milliseconds, part of the signed body) is past MAX_EVENT_AGE."""
    sent_at = raw.get("timestamp")
    if not isinstance(sent_at, int):
        return True
    return time.time() * 1000 - sent_at > MAX_EVENT_AGE.total_seconds() * 1000


def route(ctx: Context) -> list:
    """Conversations first (signup, edit…), then commands, postbacks and event handlers."""
    if ctx.user_id is None:
        # The bot joining a group, a sender LINE does not name: nobody to answer.
        log.debug("%s event without a userId: not answered", ctx.raw.get("type"))
        return []
    if ctx.in_shared_chat:
        return route_shared_chat(ctx)
    if ctx.raw.get("type") in ("message", "postback") and ctx.conversation:
        if not _conversation_expired(ctx):
            return run_flow(ctx)
        notice = text_message(
            ctx._("Your unfinished conversation expired, so we deleted what you had typed.")
        )
        return [notice, *route_event(ctx)]
    return route_event(ctx)


def route_event(ctx: Context) -> list:
    registry = ctx.services.registry
    event_type = ctx.raw.get("type")
    message = ctx.raw.get("message") or {}
    if event_type == "message" and message.get("type") == "text":
        return route_text(ctx, message.get("text", ""))
    if event_type == "postback":
        handler = registry.postbacks.get(ctx.postback.get("a", ""))
        if handler is not None:
            return handler(ctx) or []
    handler = registry.events.get(event_type)
    if handler is None:
        log.debug("no handler for %s event", event_type)
        return []
    return handler(ctx) or []


def route_shared_chat(ctx: Context) -> list:
    """A group or room, where everyone reads the reply: only public commands are answered.

    Private commands (the default, and all staff commands) and our buttons get one
    pointer to the 1:1 chat; the group's own talk, stickers and conversations in
    progress are left alone.
    """
    event_type = ctx.raw.get("type")
    message = ctx.raw.get("message") or {}
    if event_type == "postback":
        return [private_chat.hint(ctx)]  # every button of ours acts for one member
    if event_type != "message" or message.get("type") != "text":
        return []
    ctx.text = message.get("text", "")
    match = ctx.services.registry.find_command(ctx.text, ctx.role) if ctx.text.strip() else None
    if match is None:
        return []
    if match.command.private:
        return [private_chat.hint(ctx, match.command.keyword_for(ctx.t.locale))]
    return run_command(ctx, match)


def run_flow(ctx: Context) -> list:
    """Hand the message or postback to the conversation the member is in."""
    conversation = ctx.conversation
    handler = ctx.services.registry.flows.get(conversation.get("flow"))
    if handler is None:
        ctx.store.clear_conversation(ctx.member["_id"])
        return route_event(ctx)
    message = ctx.raw.get("message") or {}
    ctx.text = message.get("text", "") if message.get("type") == "text" else ""
    return handler(ctx) or []


def _conversation_expired(ctx: Context) -> bool:
    if not is_expired(ctx.conversation, utcnow()):
        return False
    # Expired answers are personal data nobody consented to keep: drop them.
    ctx.store.clear_conversation(ctx.member["_id"])
    ctx.reload_member()
    return True


def route_text(ctx: Context, text: str) -> list:
    registry = ctx.services.registry
    ctx.text = text
    match = registry.find_command(text, ctx.role) if text.strip() else None
    if match is None:
        return registry.fallback(ctx) if registry.fallback else []
    return run_command(ctx, match)


def run_command(ctx: Context, match) -> list:
    """Run a matched command: refuse it to roles below its own, audit staff commands."""
    command = match.command
    ctx.args = match.args
    if not match.allowed:
        if command.audited:
            _audit(ctx, command, "denied")
        refusal_hook = ctx.services.registry.refusal
        custom = refusal_hook(ctx, command) if refusal_hook else None
        if custom:
            return custom
        refusal = ctx._("Sorry, you are not allowed to use %(command)s.", command=command.name)
        return [text_message(refusal)]
    if not command.audited:
        return command.handler(ctx) or []
    try:
        replies = command.handler(ctx) or []
    except Exception:
        _audit(ctx, command, "error")
        raise
    _audit(ctx, command, ctx.audit.get("result", "ok"))
    return replies


def _audit(ctx: Context, command, result: str) -> None:
    ctx.store.audit(
        actor=ctx.user_id,
        role=ctx.role.name.lower(),
        command=command.name,
        args=ctx.args,
        result=result,
        subject_member_id=ctx.audit.get("subject_member_id"),
    )


def send_reply(services: Services, raw: dict, messages: list) -> None:
    """Reply with the event's token; if LINE refuses it (expired on a redelivery), push."""
    token = raw.get("replyToken")
    source = raw.get("source") or {}
    # In a group or room the reply was for everyone there: never push it to one member.
    user_id = source.get("userId") if source.get("type", "user") == "user" else None
    try:
        if token:
            services.line.reply(token, messages)
            return
    except LineApiError as error:
        if not (error.permanent and user_id):
            log.warning("reply to %s event failed: %s", raw.get("type"), error)
            return
        log.info("reply token refused (%s); pushing instead", error.status)
    if not user_id:
        return
    try:
        # Keyed by the event, so a second redelivery cannot push twice.
        key = retry_key_for("reply", raw["webhookEventId"])
        services.line.push(user_id, messages, retry_key=key)
    except LineApiError as error:
        log.warning("push after failed reply failed: %s", error)


def send_notifications(services: Services, outbox: list) -> None:
    """Pushes a handler asked for; each keyed so a redelivered event pushes once."""
    for user_id, messages, key in outbox:
        try:
            services.line.push(user_id, messages, retry_key=retry_key_for("notify", key))
        except LineApiError as error:
            log.warning("notification push failed: %s", error)


def run_after_reply(tasks: list) -> None:
    """Work a handler left for after the reply; a failure is logged, never re-run here."""
    for task in tasks:
        try:
            task()
        except Exception as exc:  # noqa: BLE001 - the event is handled; its reply is sent
            log.error("after-reply task failed\n%s", safe_traceback(exc))


def safe_traceback(exc: BaseException) -> str:
    """Frames and exception type only: messages may quote user input."""
    frames = "".join(traceback.format_tb(exc.__traceback__))
    name = f"{type(exc).__module__}.{type(exc).__qualname__}"
    return f"Traceback (most recent call last):\n{frames}{name}"
