"""Rollups that reports read instead of raw purchases and ledger entries.

Why and how (the store's side is in `bot/store/reports.py`):

- **Day rollups**, one document per local date holding that day's purchases packed
  per branch. `points.earn` adds a purchase right after storing it and
  `points.void` takes it out after voiding it; both are keyed by the purchase id,
  so doing either twice changes nothing. Because each day keeps who bought, a
  period's distinct buyers, retention and repeat purchases come out exactly, and a
  30-day report reads 60 documents by `_id` instead of every purchase.
- **Points rollups**, per UTC date and hour, incremented by `points.credit` and
  `points.debit` only for a ledger entry they created (the entry's unique key makes
  that happen once). Hours in UTC let a report cut them at the merchant's local
  midnight whatever the time zone (to the hour).
- **Member snapshot**: counts that need every member (funnel, tiers, RFM groups,
  lifetime revenue, joins per day) from one paged pass, refreshed by the worker
  every 15 minutes and after the nightly RFM scoring; reports say how old it is.

A crash between a purchase or ledger entry and its rollup leaves the rollup one
behind: `check` finds it, `rebuild` recomputes everything from the source
collections (`flask --app bot rollups [--check]`; the worker rebuilds nightly).
"""

from __future__ import annotations

import itertools
import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from bot.loyalty.points import load_rules
from bot.store import Store, utcnow
from bot.store.reports import ledger_bucket, purchase_token

MEMBER_FIELDS = {
    "status": 1,
    "joined_at": 1,
    "tier": 1,
    "points": 1,
    "stats.visits": 1,
    "stats.spend": 1,
    "stats.first_visit": 1,
    "rfm": 1,
}


# -- reading a day ---------------------------------------------------------------------------


def day_purchases(branches: dict[str, str], branch: str | None = None) -> Iterator[tuple]:
    """(branch, purchase id, member id, amount, local hour) of a day's rollup."""
    for code, packed in branches.items():
        if branch is not None and code != branch:
            continue
        for token in packed.split():
            purchase_id, member_id, amount, hour = token.split(":")
            yield code, purchase_id, member_id, int(amount), int(hour)


# -- building from the source (pure) ----------------------------------------------------------


def day_rollups_from(purchases: Iterable[dict], into: dict | None = None) -> dict:
    """local date → branch → list of packed purchases (active ones); adds to `into`."""
    days = into if into is not None else {}
    for purchase in purchases:
        branches = days.setdefault(purchase["local_date"], {})
        branches.setdefault(purchase.get("branch") or "_", []).append(purchase_token(purchase))
    return days


def points_rollups_from(entries: Iterable[dict], into: dict | None = None) -> dict[str, dict]:
    """UTC date → {hour: {movement: points, "rewards": {reward: count}}}; adds to `into`."""
    days = into if into is not None else {}
    for entry in entries:
        at = entry["created_at"].astimezone(UTC)
        hour = days.setdefault(at.strftime("%Y-%m-%d"), {}).setdefault(f"{at.hour:02d}", {})
        bucket = ledger_bucket(entry)
        hour[bucket] = hour.get(bucket, 0) + entry["amount"]
        reward = entry.get("reward_id")
        if reward and entry["kind"] in ("redeem", "reverse"):
            rewards = hour.setdefault("rewards", {})
            rewards[reward] = rewards.get(reward, 0) + (1 if entry["amount"] < 0 else -1)
    return days


def write(store: Store, days: dict, points: dict) -> None:
    """Store rollups built in memory (the demo history writes its past this way)."""
    for day, branches in days.items():
        store.replace_day_rollup(day, {b: " ".join(tokens) for b, tokens in branches.items()})
    store.replace_points_rollups(points)


def member_snapshot_from(members: Iterable[dict], top_tier: str, tz: ZoneInfo, now) -> dict:
    """Counts over every member document (one pass, memory per day and group only)."""
    counts: Counter = Counter()
    joined: Counter = Counter()
    tiers: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    groups: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    grid: Counter = Counter()
    first_visit = None
    for member in members:
        status = member.get("status")
        if status in ("follower", "member"):
            counts["followers"] += 1
        if status != "member":
            continue
        stats = member.get("stats") or {}
        visits, spend = stats.get("visits", 0), stats.get("spend", 0)
        counts["members"] += 1
        counts["spend"] += spend
        counts["points"] += member.get("points", 0)
        counts["buyers"] += visits >= 1
        counts["repeat"] += visits >= 2
        tier = member.get("tier") or "member"
        counts["top_tier"] += tier == top_tier
        tiers[tier][0] += 1
        tiers[tier][1] += spend
        if member.get("joined_at"):
            joined[member["joined_at"].astimezone(tz).date().isoformat()] += 1
        scores = member.get("rfm") or {}
        if visits >= 1 and scores.get("group"):
            groups[scores["group"]][0] += 1
            groups[scores["group"]][1] += spend
            fm = math.floor((scores["f"] + scores["m"]) / 2 + 0.5)  # as bot/marketing/rfm.py
            grid[f"{scores['r']}-{fm}"] += 1
        if stats.get("first_visit") and (first_visit is None or stats["first_visit"] < first_visit):
            first_visit = stats["first_visit"]
    return {
        "at": now,
        **{k: counts[k] for k in ("followers", "members", "buyers", "repeat", "spend", "points")},
        "top_tier": top_tier,
        "top_tier_members": counts["top_tier"],
        "joined": dict(joined),
        "tiers": {k: {"members": m, "spend": s} for k, (m, s) in tiers.items()},
        "rfm": {k: {"members": m, "spend": s} for k, (m, s) in groups.items()},
        "grid": dict(grid),
        "first_visit": first_visit,
    }


# -- keeping them right ---------------------------------------------------------------------


def refresh_members(store: Store, tz: ZoneInfo, now: datetime | None = None) -> dict:
    """Recount the member snapshot in one paged pass over members."""
    rules = load_rules(store)
    top = max(rules.tiers, key=lambda tier: tier.min_spend).name
    pages = store.member_pages({}, MEMBER_FIELDS)
    members = (member for page in pages for member in page)
    snapshot = member_snapshot_from(members, top, tz, now or utcnow())
    store.put_member_snapshot(snapshot)
    return snapshot


def member_snapshot(store: Store, tz: ZoneInfo) -> dict:
    """The snapshot, counted now if there has never been one."""
    return store.member_snapshot() or refresh_members(store, tz)


def rebuild(store: Store, tz: ZoneInfo, fix: bool = True) -> list[str]:
    """Recompute every rollup from purchases, ledger and members; returns what differed.

    Purchases are read oldest first and each day is written as soon as it is
    complete, so memory holds one day at a time.
    """
    differing = []
    seen = set()
    day, purchases = None, []
    for purchase in itertools.chain(store.stream_purchases(), [None]):
        if purchase is not None and purchase["local_date"] == day:
            purchases.append(purchase)
            continue
        if day is not None:
            rebuilt = day_rollups_from(purchases).get(day, {})
            packed = {branch: " ".join(tokens) for branch, tokens in rebuilt.items()}
            differing += _settle_day(store, day, packed, fix)
            seen.add(day)
        if purchase is not None:
            day, purchases = purchase["local_date"], [purchase]
    stale = [d for d in store.day_rollup_dates() if d not in seen]
    differing += [f"day {d}: rollup without purchases" for d in stale if store.day_rollup(d)]
    if fix:
        store.delete_day_rollups(stale)
    points = points_rollups_from(store.stream_ledger())
    stored = {doc.pop("_id"): doc for doc in store.points_rollups()}
    if _without_zeros(stored) != _without_zeros(points):
        differing.append("points rollups differ from the ledger")
        if fix:
            store.replace_points_rollups(points)
    if fix:
        refresh_members(store, tz)
    return differing


def check(store: Store, tz: ZoneInfo) -> list[str]:
    return rebuild(store, tz, fix=False)


def _settle_day(store: Store, day: str, rebuilt: dict[str, str], fix: bool) -> list[str]:
    stored = store.day_rollup(day)
    same = {b: sorted(p.split()) for b, p in stored.items() if p} == {
        b: sorted(p.split()) for b, p in rebuilt.items() if p
    }
    if same:
        return []
    if fix:
        store.replace_day_rollup(day, rebuilt)
    return [f"day {day}: rollup differs from purchases"]


def _without_zeros(days: dict[str, dict]) -> dict:
    """Points rollups compared without the zero counters increments leave behind."""
    clean = {}
    for day, hours in days.items():
        kept = {}
        for hour, buckets in hours.items():
            if not isinstance(buckets, dict):
                continue
            values = {k: v for k, v in buckets.items() if k != "rewards" and v}
            rewards = {k: v for k, v in (buckets.get("rewards") or {}).items() if v}
            if rewards:
                values["rewards"] = rewards
            if values:
                kept[hour] = values
        if kept:
            clean[day] = kept
    return clean
