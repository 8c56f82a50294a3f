"""Small builders for the messages handlers return."""

from linebot.v3.messaging import MessageAction, QuickReply, QuickReplyItem, TextMessage

MAX_QUICK_REPLIES = 13
MAX_LABEL = 20


def text(body: str, quick_replies: list[tuple[str, str]] | None = None) -> TextMessage:
    """A text message, optionally with quick replies given as (label, text to send)."""
    if not quick_replies:
        return TextMessage(text=body)
    items = [
        QuickReplyItem(action=MessageAction(label=label[:MAX_LABEL], text=sent))
        for label, sent in quick_replies[:MAX_QUICK_REPLIES]
    ]
    return TextMessage(text=body, quick_reply=QuickReply(items=items))
