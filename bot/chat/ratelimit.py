"""Per-user rate limit on what people type and tap: floods and code guessing stop here.

Each message or postback from a LINE user counts in a per-minute counter shared by
every web process (bot/store/ratelimits.py). Past `RATE_LIMIT_PER_MINUTE` the event is
not handled: the first one over the limit is answered with a polite notice, the rest
of that minute get silence (answering each would be a flood of our own).
"""

from __future__ import annotations

import logging

from bot.chat.context import Context
from bot.chat.messages import text
from bot.store import utcnow

log = logging.getLogger(__name__)
COUNTED = ("message", "postback")


def refusal(ctx: Context) -> list | None:
    """None if the event may be handled; else the replies instead of handling it."""
    limit = ctx.config.RATE_LIMIT_PER_MINUTE
    if limit <= 0 or ctx.user_id is None or ctx.raw.get("type") not in COUNTED:
        return None
    count = ctx.store.count_hit(ctx.user_id, utcnow().replace(second=0, microsecond=0))
    if count <= limit:
        return None
    log.info("rate limit: event %s over %d a minute", ctx.raw.get("webhookEventId"), limit)
    if count > limit + 1 or ctx.in_shared_chat:
        return []
    return [
        text(
            ctx._(
                "You are sending messages faster than we can answer. "
                "Please wait a minute, then try again."
            )
        )
    ]
