"""Reports at scale: KPIs and campaign results from rollups, against plain indexed scans.

Seeds the demo merchant's history at a given size (`bot/demo/demo_history.py`; by default
100,000 members over four months, about 1,000,000 purchases), then times:

- building every rollup from the source collections (`rollups.rebuild`),
- `/stats` KPIs for 7d, 30d, 90d and 12m, each against a plain indexed scan of the
  same purchases (one aggregation summing the period's amounts: the least any report
  reading raw purchases would do), printed as a ratio,
- the win-back campaign's results (`campaign_report`) against plain scans of its data
  (the window's purchases, an indexed range, and a count of the run's delivery rows),

with the peak memory each report allocates (tracemalloc) and the process's peak.

    .venv/bin/python bench/reports.py [--members 100000] [--months 4]
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from datetime import time as day_time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._stack import stack
from bot.analytics import kpis, rollups
from bot.analytics.campaign_report import campaign_report
from bot.analytics.stats import Sample, mean_interval
from bot.demo import demo_history

# A report reads rollups so that it costs less than any read of the raw purchases.
TARGET = 1.0


def timed(function, *args, **kwargs):
    started = time.perf_counter()
    result = function(*args, **kwargs)
    return time.perf_counter() - started, result


def measured(function, *args, **kwargs):
    """(seconds, peak bytes allocated while it ran, result)."""
    tracemalloc.start()
    try:
        seconds, result = timed(function, *args, **kwargs)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return seconds, peak, result


def plain_scan(store, start: datetime, end: datetime | None = None) -> int:
    """The period's revenue by one indexed aggregation over raw purchases."""
    when = {"$gte": start, **({"$lt": end} if end else {})}
    rows = list(
        store.db.purchases.aggregate(
            [
                {"$match": {"created_at": when, "status": "active"}},
                {"$group": {"_id": None, "revenue": {"$sum": "$amount"}}},
            ]
        )
    )
    return rows[0]["revenue"] if rows else 0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--months", type=int, default=4)
    args = parser.parse_args()
    now = datetime.now(UTC)
    with stack() as (app, _sim):
        services = app.extensions["samachik"]
        store, config = services.store, services.config
        tz = config.tz
        mean_interval(Sample(2, 1, 1))  # loads SciPy (once per process) before measuring
        seconds, summary = timed(
            demo_history.generate, store, now=now, tz=tz, members=args.members, months=args.months
        )
        print(
            f"seeded {summary.members:,} members, {summary.purchases:,} purchases,"
            f" {summary.ledger:,} ledger entries in {seconds:.0f}s"
        )
        seconds, differing = timed(rollups.rebuild, store, tz)
        print(f"rollups rebuilt from the data in {seconds:.1f}s ({len(differing)} differed)")

        today = now.astimezone(tz).date()
        print("report             rollups   memory   plain scan   ratio")
        worst = 0.0
        for period, days in kpis.PERIODS.items():
            start = datetime.combine(today - timedelta(days=days - 1), day_time(0), tz)
            scan, revenue = timed(plain_scan, store, start.astimezone(UTC))
            seconds, peak, found = measured(
                kpis.merchant_kpis, store, period=period, now=now, config=config
            )
            assert found.revenue.value == revenue, (found.revenue.value, revenue)
            worst = max(worst, seconds / scan)
            print(
                f"/stats {period:<4}       {seconds:7.2f}s {peak / 2**20:6.1f} MiB"
                f" {scan:10.2f}s {seconds / scan:7.2f}x"
            )
        run_id = store.campaign("KWB01")["runs"][0]["run_id"]
        started = store.run_started_at(run_id)
        # Its data: the window's purchases (an indexed range) and the run's rows.
        scan = timed(plain_scan, store, started, started + timedelta(days=7))[0]
        scan += timed(store.db.deliveries.count_documents, {"run_id": run_id})[0]
        seconds, peak, report = measured(campaign_report, store, "KWB01", now=now, config=config)
        print(
            f"campaign results   {seconds:7.2f}s {peak / 2**20:6.1f} MiB {scan:10.2f}s"
            f" {seconds / scan:7.2f}x  ({report.counts.targeted:,} targeted,"
            f" verdict {report.total.verdict})"
        )
        verdict = "met" if worst < TARGET else "MISSED"
        print(
            f"/stats worst ratio to its plain scan: {worst:.2f}x (target < {TARGET:g}x): {verdict}"
        )
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"peak memory of this process: {peak:.0f} MiB")


if __name__ == "__main__":
    main()
