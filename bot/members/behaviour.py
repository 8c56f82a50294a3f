"""Member behaviour stats (pure): raw counters kept at write time, and what derives from them.

Raw counters, changed atomically with each purchase: `visits`, `spend` (minor
units), `first_visit`, `last_visit`, `branches` {code: visits}, `hours`
{"0".."23": visits}, `weekdays` {"0".."6": visits, Monday = 0}, `visit_dates`
(local dates of the last 24 visits), `counted` (ids of the last 24 purchases counted,
so a purchase finished again — a redelivered `/earn`, an old button — counts once)
and `rev` (bumped on every change).

Derived fields, recomputed from the raw ones so segments are plain indexed
finds:

- `avg` — average ticket, spend // visits.
- `top_hour`, `top_weekday` — the hour and weekday with the most visits (ties go
  to the earliest). "Usually visits at 14–16" means `top_hour` is 14 or 15.
- `branch_list` — branches visited at least once.
- `median_gap_days` — median days between consecutive visit days (needs 3 visits).
- `overdue_at` — `last_visit` + twice the median gap (at least 7 days): a member
  is overdue once that moment has passed.
"""

from __future__ import annotations

import itertools
import statistics
from datetime import date, timedelta
from zoneinfo import ZoneInfo

KEEP_VISIT_DATES = 24
OVERDUE_FACTOR = 2
MIN_OVERDUE_GAP_DAYS = 7
MIN_VISITS_FOR_OVERDUE = 3
DERIVED = ("avg", "top_hour", "top_weekday", "branch_list", "median_gap_days", "overdue_at")


def visit_update(purchase: dict, sign: int = 1) -> dict:
    """The atomic update of the raw counters for one purchase (sign -1 for a void)."""
    branch = purchase.get("branch") or "_"
    update = {
        "$inc": {
            "stats.visits": sign,
            "stats.spend": sign * purchase["amount"],
            f"stats.branches.{branch}": sign,
            f"stats.hours.{purchase['local_hour']}": sign,
            f"stats.weekdays.{purchase['local_weekday']}": sign,
            "stats.rev": 1,
        }
    }
    if sign > 0:
        update["$min"] = {"stats.first_visit": purchase["created_at"]}
        update["$max"] = {"stats.last_visit": purchase["created_at"]}
        update["$push"] = {
            "stats.visit_dates": {"$each": [purchase["local_date"]], "$slice": -KEEP_VISIT_DATES},
            "stats.counted": {"$each": [purchase["_id"]], "$slice": -KEEP_VISIT_DATES},
        }
    return update


def after_visit(stats: dict | None, purchase: dict) -> dict:
    """`stats` with one more purchase counted and derived again: what `visit_update` then
    `derive` make of them, computed here so an earn can write the member once."""
    after = {**(stats or {})}
    after["visits"] = after.get("visits", 0) + 1
    after["spend"] = after.get("spend", 0) + purchase["amount"]
    for field, key in (
        ("branches", purchase.get("branch") or "_"),
        ("hours", str(purchase["local_hour"])),
        ("weekdays", str(purchase["local_weekday"])),
    ):
        bucket = {**(after.get(field) or {})}
        bucket[key] = bucket.get(key, 0) + 1
        after[field] = bucket
    after["rev"] = after.get("rev", 0) + 1
    at = purchase["created_at"]
    after["first_visit"] = min(after["first_visit"], at) if after.get("first_visit") else at
    after["last_visit"] = max(after["last_visit"], at) if after.get("last_visit") else at
    dates = [*(after.get("visit_dates") or []), purchase["local_date"]]
    after["visit_dates"] = dates[-KEEP_VISIT_DATES:]
    # Listed as `visit_update` lists it: a redelivered earn finds it counted already.
    counted = [*(after.get("counted") or []), purchase["_id"]]
    after["counted"] = counted[-KEEP_VISIT_DATES:]
    after.update(derive(after))
    return after


def derive(stats: dict) -> dict:
    """The derived fields of a stats document (see the module docstring)."""
    visits = stats.get("visits", 0)
    derived = {name: None for name in DERIVED}
    derived["branch_list"] = sorted(
        b for b, n in (stats.get("branches") or {}).items() if n > 0 and b != "_"
    )
    if visits <= 0:
        return derived
    derived["avg"] = stats.get("spend", 0) // visits
    derived["top_hour"] = _top(stats.get("hours") or {})
    derived["top_weekday"] = _top(stats.get("weekdays") or {})
    days = sorted({date.fromisoformat(d) for d in recent(stats, "visit_dates")})
    if len(days) >= MIN_VISITS_FOR_OVERDUE:
        gaps = [(later - earlier).days for earlier, later in itertools.pairwise(days)]
        median = statistics.median(gaps)
        derived["median_gap_days"] = median
        wait = max(OVERDUE_FACTOR * median, MIN_OVERDUE_GAP_DAYS)
        derived["overdue_at"] = stats["last_visit"] + timedelta(days=wait)
    return derived


def recent(stats: dict, field: str) -> list:
    """The last KEEP_VISIT_DATES entries of a list in the stats.

    MongoDB trims them in the `$push` itself (`$slice`); FerretDB 1.24 ignores `$slice`,
    so the store trims them again with the derived fields (store.purchases._set_derived).
    """
    return (stats.get(field) or [])[-KEEP_VISIT_DATES:]


def _top(buckets: dict) -> int | None:
    counted = [(n, -int(key)) for key, n in buckets.items() if n > 0]
    return -max(counted)[1] if counted else None


def stats_from_purchases(purchases: list[dict], tz: ZoneInfo) -> dict:
    """Rebuild a member's stats from their active purchases (oldest first)."""
    stats: dict = {"visits": 0, "spend": 0, "branches": {}, "hours": {}, "weekdays": {}}
    dates: list[str] = []
    ordered = sorted(purchases, key=lambda p: p["created_at"])
    for purchase in ordered:
        stats["visits"] += 1
        stats["spend"] += purchase["amount"]
        branch = purchase.get("branch") or "_"
        for field, key in (
            ("branches", branch),
            ("hours", str(purchase["local_hour"])),
            ("weekdays", str(purchase["local_weekday"])),
        ):
            stats[field][key] = stats[field].get(key, 0) + 1
        stats.setdefault("first_visit", purchase["created_at"])
        stats["last_visit"] = purchase["created_at"]
        dates.append(purchase["local_date"])
    stats["visit_dates"] = dates[-KEEP_VISIT_DATES:]
    stats["counted"] = [p["_id"] for p in ordered][-KEEP_VISIT_DATES:]
    return {**stats, **derive(stats)}


def comparable(stats: dict | None) -> dict:
    """Stats without bookkeeping or zero counters, to compare incremental and rebuilt."""
    if not stats:
        return comparable({"visits": 0, "spend": 0, **derive({})})
    clean = {k: v for k, v in stats.items() if k not in ("rev", "counted")}
    clean["visit_dates"] = recent(stats, "visit_dates")
    for field in ("branches", "hours", "weekdays"):
        clean[field] = {k: v for k, v in (clean.get(field) or {}).items() if v}
    if not clean.get("visits"):
        clean = {"visits": 0, "spend": 0, **derive({})}
    return clean
