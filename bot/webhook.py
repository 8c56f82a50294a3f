"""POST /callback: verify LINE's signature, then hand each event to dispatch."""

from __future__ import annotations

import json
import logging

from flask import Blueprint, current_app, request
from linebot.v3.exceptions import InvalidSignatureError
from linebot.v3.webhook import WebhookParser

from bot import dispatch

log = logging.getLogger(__name__)
bp = Blueprint("webhook", __name__)


@bp.post("/callback")
def callback():
    """Receive LINE's webhook: 400 unsigned or malformed, 413 oversized, else 200."""
    services = current_app.extensions["samachik"]
    signature = request.headers.get("X-Line-Signature", "")
    if not signature:
        return "missing signature", 400
    # Flask enforces MAX_CONTENT_LENGTH here (413), before anything is stored.
    body = request.get_data(cache=False)
    try:
        text = body.decode("utf-8")
        events = WebhookParser(services.config.LINE_CHANNEL_SECRET).parse(text, signature)
        raw_events = json.loads(text)["events"]
    except InvalidSignatureError:
        log.warning("webhook rejected: invalid signature")
        return "invalid signature", 400
    except (UnicodeDecodeError, ValueError, KeyError, TypeError, AttributeError):
        log.warning("webhook rejected: signed but malformed body")
        return "malformed body", 400

    for event, raw in zip(events, raw_events, strict=True):
        dispatch.handle_event(services, event, raw)
    # After a valid signature we always answer 200, even for events we do not
    # understand or whose handler failed: LINE would otherwise redeliver or
    # flag the webhook, and failed events are released for its redelivery.
    return "OK", 200
