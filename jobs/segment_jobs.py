"""Nightly RFM scoring, and rebuilding behaviour stats from purchases."""

from __future__ import annotations

import logging
from array import array
from collections import Counter
from zoneinfo import ZoneInfo

from bot import rfm
from bot.behaviour import comparable, stats_from_purchases
from bot.store import Store, utcnow
from bot.store.segments import RFM_BATCH

log = logging.getLogger(__name__)


def score_rfm(store: Store) -> dict:
    """Score every member who visited; two streaming passes, 12 bytes a member in memory."""
    now = utcnow()
    recency, frequency, monetary = array("l"), array("l"), array("q")
    for doc in store.rfm_inputs():
        stats = doc["stats"]
        recency.append((now - stats["last_visit"]).days)
        frequency.append(stats["visits"])
        monetary.append(stats["spend"])
    cuts = [rfm.thresholds(values) for values in (recency, frequency, monetary)]

    groups: Counter = Counter()
    pending: list[tuple[str, dict]] = []
    changed = 0
    for doc in store.rfm_inputs():
        stats = doc["stats"]
        r = rfm.score((now - stats["last_visit"]).days, cuts[0], higher_is_better=False)
        f = rfm.score(stats["visits"], cuts[1])
        m = rfm.score(stats["spend"], cuts[2])
        scores = {"r": r, "f": f, "m": m, "group": rfm.group(r, f, m)}
        groups[scores["group"]] += 1
        current = {k: v for k, v in (doc.get("rfm") or {}).items() if k != "scored_at"}
        if current != scores:
            pending.append((doc["_id"], {**scores, "scored_at": now}))
        if len(pending) >= RFM_BATCH:
            store.set_rfm(pending)
            changed += len(pending)
            pending = []
    store.set_rfm(pending)
    changed += len(pending)
    summary = {"scored": len(recency), "changed": changed, "groups": dict(groups)}
    log.info("RFM scored %(scored)d members, %(changed)d changed", summary)
    return summary


def rebuild_stats(store: Store, tz: ZoneInfo, fix: bool = True) -> list[str]:
    """Recompute every member's stats from purchases; returns the members that differed."""
    differences = []
    for member_id in store.all_member_ids():
        member = store.member_by_id(member_id)
        rebuilt = stats_from_purchases(store.active_purchases(member_id), tz)
        if comparable(member.get("stats")) != comparable(rebuilt):
            differences.append(member_id)
            if fix:
                store.replace_stats(member_id, rebuilt)
    return differences
