"""LINE's documented limits that the OpenAPI file does not fully encode (DESIGN §7)."""

from __future__ import annotations

import json
import re

MAX_MESSAGES = 5
MAX_MULTICAST_TO = 500
MAX_TEXT = 5000
MAX_ALT_TEXT = 400
MAX_BUBBLE_BYTES = 30 * 1024
MAX_CAROUSEL_BYTES = 50 * 1024
MAX_CAROUSEL_BUBBLES = 12
MAX_QUICK_REPLY_ITEMS = 13
MAX_QUICK_REPLY_LABEL = 20
MAX_POSTBACK_DATA = 300
USER_ID = re.compile(r"^U[0-9a-f]{32}$")


def check_messages(messages: list) -> list[str]:
    """Errors for a `messages` array; empty when LINE would accept it."""
    errors = []
    if not 1 <= len(messages) <= MAX_MESSAGES:
        errors.append(f"messages: must contain 1 to {MAX_MESSAGES} items")
    for index, message in enumerate(messages):
        errors += _check_message(f"messages[{index}]", message)
    return errors


def check_recipients(to: list, path: str = "to") -> list[str]:
    """At most 500 valid user ids (multicast `to`, rich menu bulk `userIds`)."""
    errors = []
    if not 1 <= len(to) <= MAX_MULTICAST_TO:
        errors.append(f"{path}: must contain 1 to {MAX_MULTICAST_TO} user IDs")
    errors += [f"{path}[{i}]: invalid user ID" for i, uid in enumerate(to) if not _is_user(uid)]
    return errors[:20]


def check_user_id(path: str, user_id) -> list[str]:
    return [] if _is_user(user_id) else [f"{path}: invalid user ID"]


def _is_user(value) -> bool:
    return isinstance(value, str) and bool(USER_ID.match(value))


def _check_message(path: str, message: dict) -> list[str]:
    errors = []
    kind = message.get("type")
    if kind == "text" and len(message.get("text", "")) > MAX_TEXT:
        errors.append(f"{path}.text: at most {MAX_TEXT} characters")
    alt_text = message.get("altText", "")
    if kind in ("flex", "template", "imagemap") and not 1 <= len(alt_text) <= MAX_ALT_TEXT:
        errors.append(f"{path}.altText: must be 1 to {MAX_ALT_TEXT} characters")
    if kind == "flex":
        errors += _check_flex(f"{path}.contents", message.get("contents") or {})
    quick = (message.get("quickReply") or {}).get("items")
    if quick is not None:
        errors += _check_quick_reply(f"{path}.quickReply.items", quick)
    errors += [
        f"{p}: at most {MAX_POSTBACK_DATA} characters" for p in _long_postbacks(path, message)
    ]
    return errors


def _check_flex(path: str, contents: dict) -> list[str]:
    size = len(json.dumps(contents, ensure_ascii=False, separators=(",", ":")).encode())
    if contents.get("type") == "carousel":
        errors = []
        if len(contents.get("contents", [])) > MAX_CAROUSEL_BUBBLES:
            errors.append(f"{path}.contents: at most {MAX_CAROUSEL_BUBBLES} bubbles")
        if size > MAX_CAROUSEL_BYTES:
            errors.append(f"{path}: carousel is {size} bytes, limit {MAX_CAROUSEL_BYTES}")
        for index, item in enumerate(contents.get("contents", [])):  # each bubble: 30 KB too
            if isinstance(item, dict):
                errors += _check_flex(f"{path}.contents[{index}]", item)
        return errors
    if size > MAX_BUBBLE_BYTES:
        return [f"{path}: bubble is {size} bytes, limit {MAX_BUBBLE_BYTES}"]
    return []


def _check_quick_reply(path: str, items: list) -> list[str]:
    errors = []
    if not 1 <= len(items) <= MAX_QUICK_REPLY_ITEMS:
        errors.append(f"{path}: must contain 1 to {MAX_QUICK_REPLY_ITEMS} items")
    for index, item in enumerate(items):
        label = (item.get("action") or {}).get("label") or ""
        if len(label) > MAX_QUICK_REPLY_LABEL:
            errors.append(
                f"{path}[{index}].action.label: at most {MAX_QUICK_REPLY_LABEL} characters"
            )
    return errors


def _long_postbacks(path: str, node) -> list[str]:
    """Paths of postback actions anywhere in the message whose data is too long."""
    found = []
    if isinstance(node, dict):
        if node.get("type") == "postback" and len(node.get("data", "")) > MAX_POSTBACK_DATA:
            found.append(f"{path}.data")
        for key, value in node.items():
            found += _long_postbacks(f"{path}.{key}", value)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _long_postbacks(f"{path}[{index}]", value)
    return found
