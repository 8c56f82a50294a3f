"""Nightly RFM scoring, and rebuilding behaviour stats from purchases."""

from __future__ import annotations

import logging
from array import array
from collections import Counter
from zoneinfo import ZoneInfo

from bot.marketing import rfm
from bot.members.behaviour import comparable, stats_from_purchases
from bot.store import Store, utcnow

log = logging.getLogger(__name__)

RFM_PAGE = 1000  # scores written per bulk write


def score_rfm(store: Store) -> dict:
    """Score every member who visited: one read of the members, 12 bytes a member in memory.

    The read is spooled to a temporary file and gone through twice: once for the
    quintile cut points, once to score and write the scores that changed.
    """
    now = utcnow()
    inputs = store.rfm_inputs()
    try:
        recency, frequency, monetary = array("l"), array("l"), array("q")
        for doc in inputs:
            stats = doc["stats"]
            recency.append((now - stats["last_visit"]).days)
            frequency.append(stats["visits"])
            monetary.append(stats["spend"])
        cuts = [rfm.thresholds(values) for values in (recency, frequency, monetary)]

        groups: Counter = Counter()
        changed = 0
        for page in inputs.pages(RFM_PAGE):
            pending = []
            for doc in page:
                stats = doc["stats"]
                r = rfm.score((now - stats["last_visit"]).days, cuts[0], higher_is_better=False)
                f = rfm.score(stats["visits"], cuts[1])
                m = rfm.score(stats["spend"], cuts[2])
                scores = {"r": r, "f": f, "m": m, "group": rfm.group(r, f, m)}
                groups[scores["group"]] += 1
                current = {k: v for k, v in (doc.get("rfm") or {}).items() if k != "scored_at"}
                if current != scores:
                    pending.append((doc["_id"], {**scores, "scored_at": now}))
            store.set_rfm(pending)
            changed += len(pending)
    finally:
        inputs.close()
    summary = {"scored": len(recency), "changed": changed, "groups": dict(groups)}
    log.info("RFM scored %(scored)d members, %(changed)d changed", summary)
    return summary


def rebuild_stats(store: Store, tz: ZoneInfo, fix: bool = True) -> list[str]:
    """Recompute every member's stats from purchases; returns the members that differed.

    One read of the members and one of the purchases, worked through a part of the
    members (and their purchases) at a time: bounded memory.
    """
    differences: list[str] = []
    for page in store.stats_pages():
        fixes = []
        for member_id, stored, purchases in page:
            rebuilt = stats_from_purchases(purchases, tz) if purchases else None
            if comparable(stored) != comparable(rebuilt):
                differences.append(member_id)
                update = (
                    {"$set": {"stats": {**rebuilt, "rev": 0}}}
                    if rebuilt
                    else {"$unset": {"stats": ""}}
                )
                fixes.append((member_id, update))
        if fix:
            store.bulk_update_members(fixes)
    return differences
