"""POST /callback: verify LINE's signature, check each event's shape, hand it to dispatch."""

from __future__ import annotations

import json
import logging

from flask import Blueprint, current_app, request
from linebot.v3.models import UnknownEvent
from linebot.v3.webhook import SignatureValidator
from linebot.v3.webhooks import Event

from bot.chat import dispatch, event_shape

log = logging.getLogger(__name__)
bp = Blueprint("webhook", __name__)

# LINE's deepest event (a message with mentions) nests about 7 levels; the
# margin allows for LINE's additions while refusing pathological bodies.
MAX_DEPTH = 32
# What dispatch says when the event should come again: see `callback`.
RETRY_LATER = {"unavailable", "skipped-busy"}


@bp.post("/callback")
def callback():
    """Receive LINE's webhook: 400 unsigned or malformed, 413 oversized, else 200."""
    services = current_app.extensions["samachik"]
    if not services.config.LINE_CHANNEL_SECRET:
        return "no channel here: this deployment serves /callback/<merchant>", 404
    return receive(services)


@bp.post("/callback/<slug>")
def merchant_callback(slug: str):
    """One merchant's webhook (multi-merchant mode); 404 for unknown or disabled ones."""
    merchants = current_app.extensions.get("samachik.merchants")
    # Resolved before the body is read: nobody can make us buffer bodies for no merchant.
    services = merchants.services(slug) if merchants else None
    if services is None:
        return "unknown merchant", 404
    return receive(services)


def receive(services) -> tuple[str, int]:
    """Verify and handle one webhook request for the channel of `services`."""
    signature = request.headers.get("X-Line-Signature", "")
    if not signature:
        return "missing signature", 400
    # Flask enforces MAX_CONTENT_LENGTH here (413), before anything is stored.
    body = request.get_data(cache=False)
    try:
        text = body.decode("utf-8")
        signed = SignatureValidator(services.config.LINE_CHANNEL_SECRET).validate(text, signature)
    except (UnicodeDecodeError, ValueError, TypeError):
        signed = False
    if not signed:
        log.warning("webhook rejected: invalid signature")
        return "invalid signature", 400
    try:
        payload = json.loads(text)
        raw_events = payload["events"]
        if not isinstance(raw_events, list) or nesting(payload) > MAX_DEPTH:
            raise ValueError("not LINE's shape")
    except (ValueError, KeyError, TypeError, RecursionError):
        # RecursionError: JSON nested deeper than the parser's own stack.
        log.warning("webhook rejected: signed but malformed body")
        return "malformed body", 400

    outcomes = set()
    for raw in raw_events:
        wrong = event_shape.problem(raw)
        if wrong:
            # Signed, yet not LINE's shape: nothing in it reaches a handler or a query,
            # and the events beside it are still handled.
            kind = raw.get("type") if isinstance(raw, dict) else None
            log.warning("dropping a %.64s event with malformed fields: %s", kind, wrong)
            continue
        outcomes.add(dispatch.handle_event(services, sdk_event(raw), raw))
    if outcomes & RETRY_LATER:
        # The database failed, or an event is claimed by a process that may have died
        # mid-way: LINE redelivers the body (the events it handled are skipped then).
        return "try again later", 500
    # After a valid signature we otherwise answer 200, even for events we do not
    # understand or whose handler had a bug: LINE would redeliver them in vain.
    return "OK", 200


def sdk_event(raw: dict) -> object | None:
    """The SDK's model of an event (UnknownEvent for types it does not know)."""
    try:
        return Event.from_dict(raw)
    except ValueError:
        pass
    try:
        return UnknownEvent.new_from_json_dict(raw)
    except ValueError:
        return None


def nesting(node: object) -> int:
    """How deeply lists and objects nest in parsed JSON (without recursing ourselves)."""
    deepest, stack = 0, [(node, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, depth)
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return deepest
