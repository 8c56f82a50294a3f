"""Multi-step chat conversations (signup, edit, erase, owner forms): how long they may idle."""

from __future__ import annotations

from datetime import datetime, timedelta

# A conversation left unanswered this long is dropped with its answers.
CONVERSATION_TTL = timedelta(days=1)


def is_expired(conversation: dict, now: datetime) -> bool:
    updated = conversation.get("updated_at")
    return updated is None or now - updated > CONVERSATION_TTL
