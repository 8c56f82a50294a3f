"""Housekeeping jobs."""

import logging

from bot.chat.conversation import CONVERSATION_TTL
from bot.store import Store, utcnow
from bot.store.events import RETENTION

log = logging.getLogger(__name__)

# Events older than a day are refused by dispatch, so a week of ids is ample for dedup.
KEEP_WEBHOOK_EVENTS = RETENTION


def prune_webhook_events(store: Store) -> int:
    """Forget processed webhook event ids older than a week (no TTL on FerretDB)."""
    deleted = store.prune_events(KEEP_WEBHOOK_EVENTS)
    log.info("pruned %d webhook event records", deleted)
    return deleted


def drop_stale_conversations(store: Store) -> int:
    """Unfinished signups older than a day hold answers nobody consented to keep."""
    dropped = store.clear_stale_conversations(utcnow() - CONVERSATION_TTL)
    log.info("dropped %d stale conversations", dropped)
    return dropped


def prune_erasures(store: Store) -> int:
    """Erased member ids are kept a few days, for sends already queued; then forgotten."""
    deleted = store.prune_erasures()
    log.info("forgot %d erasure records", deleted)
    return deleted


def prune_rate_limits(store: Store) -> int:
    """Per-minute rate-limit counters are only read in their own minute."""
    return store.prune_rate_limits()
