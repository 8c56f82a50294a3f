"""Small builders for the messages handlers return (text with quick replies)."""

from __future__ import annotations

from linebot.v3.messaging import (
    DatetimePickerAction,
    MessageAction,
    PostbackAction,
    QuickReply,
    QuickReplyItem,
    TextMessage,
)

MAX_QUICK_REPLIES = 13
MAX_LABEL = 20
MAX_SENT_TEXT = 300  # what a message action may send
MAX_TEXT = 5000


def text(
    body: str,
    quick_replies: list[tuple[str, str]] | None = None,
    items: list[QuickReplyItem] | None = None,
) -> TextMessage:
    """A text message; quick replies as (label, text to send) pairs or ready items."""
    all_items = [say(label, sent) for label, sent in quick_replies or []] + (items or [])
    quick = QuickReply(items=all_items[:MAX_QUICK_REPLIES]) if all_items else None
    return TextMessage(text=body[:MAX_TEXT], quick_reply=quick)


def say(label: str, sent: str) -> QuickReplyItem:
    """A quick reply that sends `sent` as if the user typed it."""
    return QuickReplyItem(action=MessageAction(label=label[:MAX_LABEL], text=sent))


def tap(label: str, data: str, display: str | None = None) -> QuickReplyItem:
    """A quick reply that sends postback `data`, showing `display` in the chat."""
    action = PostbackAction(label=label[:MAX_LABEL], data=data, display_text=display or label)
    return QuickReplyItem(action=action)


def pick_date(label: str, data: str, initial: str, earliest: str, latest: str) -> QuickReplyItem:
    """A quick reply opening LINE's date picker; the date arrives as a postback."""
    action = DatetimePickerAction(
        label=label[:MAX_LABEL], data=data, mode="date", initial=initial, min=earliest, max=latest
    )
    return QuickReplyItem(action=action)
