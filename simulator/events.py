"""Webhook events in LINE's full current shape, and signing them like LINE does.

The fields follow `shared/line-openapi/webhook.yml`; a missing required field
would make the SDK parse the event as `UnknownEvent`, so builders always fill
webhookEventId, deliveryContext, mode, timestamp, source and the type's body.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import time

BOT_USER_ID = "U" + "b0" * 16  # the `destination` of every webhook body
BOT_BASIC_ID = "@123abcde"  # the account's basic ID, as GET /v2/bot/info reports it


def is_user_id(value: str) -> bool:
    return _is_id(value, "U")


def is_chat_id(value: str) -> bool:
    """A group (C…) or multi-person chat (R…) id."""
    return _is_id(value, "C") or _is_id(value, "R")


def _is_id(value: str, kind: str) -> bool:
    return len(value) == 33 and value[0] == kind and all(c in "0123456789abcdef" for c in value[1:])


def new_id(length: int = 26) -> str:
    """A ULID-looking id, like LINE's webhookEventId."""
    alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
    return "01" + "".join(secrets.choice(alphabet) for _ in range(length - 2))


def new_token() -> str:
    return secrets.token_hex(16)


def message_id() -> str:
    return str(int.from_bytes(os.urandom(7), "big"))


def sign(channel_secret: str, body: bytes) -> str:
    """Base64(HMAC-SHA256(channel secret, raw body)), LINE's `x-line-signature`."""
    digest = hmac.new(channel_secret.encode(), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def body_of(events: list[dict], destination: str = BOT_USER_ID) -> bytes:
    return json.dumps({"destination": destination, "events": events}, ensure_ascii=False).encode()


def user_source(user_id: str) -> dict:
    return {"type": "user", "userId": user_id}


def group_source(group_id: str, user_id: str | None = None) -> dict:
    """A group chat; LINE names the sender only in message events (and not always)."""
    return {"type": "group", "groupId": group_id, **({"userId": user_id} if user_id else {})}


def room_source(room_id: str, user_id: str | None = None) -> dict:
    """A multi-person chat (a room); same rule for the sender as groups."""
    return {"type": "room", "roomId": room_id, **({"userId": user_id} if user_id else {})}


def chat_of(event: dict) -> str | None:
    """Where a reply to `event` goes: the group or room, else the user."""
    source = event.get("source") or {}
    return source.get("groupId") or source.get("roomId") or source.get("userId")


def base_event(
    event_type: str,
    user_id: str | None,
    *,
    reply: bool,
    mode: str = "active",
    source: dict | None = None,
) -> dict:
    """The common properties; `source` (group_source, room_id…) overrides the 1:1 user."""
    event = {
        "type": event_type,
        "mode": mode,
        "timestamp": int(time.time() * 1000),
        "source": source or user_source(user_id),
        "webhookEventId": new_id(),
        "deliveryContext": {"isRedelivery": False},
    }
    if reply:
        event["replyToken"] = new_token()
    return event


def text_message(user_id: str | None, text: str, **kw) -> dict:
    event = base_event("message", user_id, reply=True, **kw)
    event["message"] = {"type": "text", "id": message_id(), "quoteToken": new_token(), "text": text}
    return event


def sticker_message(
    user_id: str | None, package_id: str = "446", sticker_id: str = "1988", **kw
) -> dict:
    event = base_event("message", user_id, reply=True, **kw)
    event["message"] = {
        "type": "sticker",
        "id": message_id(),
        "quoteToken": new_token(),
        "packageId": package_id,
        "stickerId": sticker_id,
        "stickerResourceType": "STATIC",
    }
    return event


def follow(user_id: str, unblocked: bool = False, **kw) -> dict:
    event = base_event("follow", user_id, reply=True, **kw)
    event["follow"] = {"isUnblocked": unblocked}
    return event


def unfollow(user_id: str, **kw) -> dict:
    return base_event("unfollow", user_id, reply=False, **kw)


def postback(user_id: str | None, data: str, params: dict | None = None, **kw) -> dict:
    event = base_event("postback", user_id, reply=True, **kw)
    event["postback"] = {"data": data, **({"params": params} if params else {})}
    return event


# The type-specific body of every event type in webhook.yml, for events the
# bot does not act on but must still accept (tests send each of them).
_OTHER_BODIES = {
    "unsend": (False, {"unsend": {"messageId": "325708"}}),
    "join": (True, {}),
    "leave": (False, {}),
    "memberJoined": (True, {"joined": {"members": [{"type": "user", "userId": "U" + "1" * 32}]}}),
    "memberLeft": (False, {"left": {"members": [{"type": "user", "userId": "U" + "1" * 32}]}}),
    "videoPlayComplete": (True, {"videoPlayComplete": {"trackingId": "track-1"}}),
    "beacon": (True, {"beacon": {"hwid": "d41d8cd98f", "type": "enter"}}),
    "accountLink": (True, {"link": {"result": "ok", "nonce": "xxxxxxxxxxxxxxx"}}),
    "membership": (True, {"membership": {"type": "joined", "membershipId": 3189}}),
    "module": (
        False,
        {"module": {"type": "attached", "botId": "U" + "2" * 32, "scopes": ["message"]}},
    ),
    "activated": (False, {"chatControl": {"expireAt": 1462629479860}}),
    "deactivated": (False, {}),
    "botSuspended": (False, {}),
    "botResumed": (False, {}),
    "delivery": (False, {"delivery": {"data": "hashed-phone-or-tag"}}),
}

OTHER_EVENT_TYPES = tuple(_OTHER_BODIES)


def other_event(event_type: str, user_id: str | None, **kw) -> dict:
    """Any of the remaining webhook event types, in its full shape."""
    reply, body = _OTHER_BODIES[event_type]
    event = base_event(event_type, user_id, reply=reply, **kw)
    event.update(json.loads(json.dumps(body)))
    return event


def redelivered(event: dict) -> dict:
    """The same event as LINE redelivers it: same webhookEventId, flagged."""
    again = json.loads(json.dumps(event))
    again["deliveryContext"] = {"isRedelivery": True}
    return again


def image_message(user_id: str | None, message_id_: str | None = None, **kw) -> dict:
    """A photo the user sent; its bytes are fetched from the content endpoint by id."""
    event = base_event("message", user_id, reply=True, **kw)
    event["message"] = {
        "type": "image",
        "id": message_id_ or message_id(),
        "quoteToken": new_token(),
        "contentProvider": {"type": "line"},
    }
    return event


def location_message(
    user_id: str | None, title: str, address: str, latitude: float, longitude: float, **kw
) -> dict:
    event = base_event("message", user_id, reply=True, **kw)
    event["message"] = {
        "type": "location",
        "id": message_id(),
        "title": title,
        "address": address,
        "latitude": latitude,
        "longitude": longitude,
    }
    return event
