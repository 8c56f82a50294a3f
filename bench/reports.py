"""Reports at scale: KPIs and campaign results from rollups, against plain indexed scans.

Seeds the demo merchant's history (`bot/demo/demo_history.py`, the generator `seed-demo`
uses) at a given size (by default the demo shop itself), then times:

- seeding it, and rebuilding every rollup from the source collections
  (`rollups.rebuild`, what `flask --app bot rollups` and the nightly job do),
- `/stats` KPIs for 7d, 30d, 90d and 12m, for the whole shop and for one branch, each
  against a plain indexed scan of the same purchases (one aggregation summing the
  period's amounts: the least any report reading raw purchases would do), as a ratio,
- the dashboard's overview page (signed in as the owner, over HTTP through the app),
  the retention cohorts, and both finished campaigns' results against plain scans of
  their data (the window's purchases, an indexed range, and a count of the run's rows),

with the peak memory each report allocates (tracemalloc) and the process's peak, and
the machine's load average before and after (the dev server shares its cores).

    .venv/bin/python bench/reports.py                 # the demo shop: 2,000 members, 6 months
    .venv/bin/python bench/reports.py --large         # 100,000 members, ~1,000,000 purchases
    .venv/bin/python bench/reports.py --members 20000 --months 6
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from datetime import time as day_time
from pathlib import Path
from urllib.parse import urlparse

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._stack import SERVER, stack
from bot.analytics import kpis, rollups
from bot.analytics.campaign_report import campaign_report
from bot.analytics.stats import Sample, mean_interval
from bot.demo import demo_history, demo_seed
from bot.web import auth

OWNER = "U" + "0" * 31 + "b"  # the owner the dashboard is opened as
BRANCH = "siam"


def timed(function, *args, **kwargs):
    started = time.perf_counter()
    result = function(*args, **kwargs)
    return time.perf_counter() - started, result


def server_cpu() -> float:
    """CPU seconds the dev database server has used (0 on a server we did not start)."""
    process = SERVER.get("process")
    if process is None:
        return 0.0
    fields = Path(f"/proc/{process.pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


CPU: list[float] = [0.0]  # CPU seconds (this process + the server) of the last `measured`


def measured(function, *args, **kwargs):
    """(seconds, peak bytes allocated, result) of a call; its CPU seconds in CPU[0].

    Timed on a first call and its memory taken on a second one (tracemalloc slows
    Python down several times). On a loaded machine the wall time mostly measures
    waiting for a core; the CPU seconds of this process and the database server
    together are what the report costs (about its wall time on an idle machine, its
    round trips being sequential).
    """
    cpu, server = time.process_time(), server_cpu()
    seconds, result = timed(function, *args, **kwargs)
    CPU[0] = time.process_time() - cpu + server_cpu() - server
    tracemalloc.start()
    try:
        function(*args, **kwargs)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return seconds, peak, result


def plain_scan(store, start: datetime, end: datetime | None = None, branch=None) -> int:
    """The period's revenue by one indexed aggregation over raw purchases."""
    when = {"$gte": start, **({"$lt": end} if end else {})}
    match = {"created_at": when, "status": "active", **({"branch": branch} if branch else {})}
    rows = list(
        store.db.purchases.aggregate(
            [{"$match": match}, {"$group": {"_id": None, "revenue": {"$sum": "$amount"}}}]
        )
    )
    return rows[0]["revenue"] if rows else 0


def load() -> str:
    return "load average " + ", ".join(f"{x:.2f}" for x in os.getloadavg())


def row(label: str, seconds: float, peak: int, scan=None, note: str = "") -> None:
    """One report: wall and CPU seconds, memory, and against the plain scan (wall, cpu)."""
    cpu = CPU[0]
    versus = ""
    if scan:
        versus = f"{scan[0]:8.2f}s {scan[1]:6.2f}s {seconds / scan[0]:6.2f}x {cpu / scan[1]:6.2f}x"
    line = f"{label:<18} {seconds:6.2f}s {cpu:6.2f}s {peak / 2**20:6.1f} MiB {versus:36} {note}"
    print(line.rstrip())


def scanned(function, *args) -> tuple[tuple[float, float], object]:
    """((wall, cpu) seconds, result) of a plain scan."""
    cpu, server = time.process_time(), server_cpu()
    seconds, result = timed(function, *args)
    return (seconds, time.process_time() - cpu + server_cpu() - server), result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=2000)
    parser.add_argument("--months", type=int, default=6)
    parser.add_argument(
        "--large", action="store_true", help="100,000 members over 4 months (~1,000,000 purchases)"
    )
    args = parser.parse_args()
    if args.large:
        args.members, args.months = 100_000, 4
    now = datetime.now(UTC)
    print(f"machine: {os.cpu_count()} cores, {load()}")
    with stack({"ADMIN_LINE_USER_IDS": OWNER}) as (app, _sim):
        services = app.extensions["samachik"]
        store, config = services.store, services.config
        tz = config.tz
        mean_interval(Sample(2, 1, 1))  # loads SciPy (once per process) before measuring
        demo_seed.seed(store)
        cpu, server = time.process_time(), server_cpu()
        seconds, summary = timed(
            demo_history.generate,
            store,
            now=now,
            tz=tz,
            members=args.members,
            months=args.months,
            owner=OWNER,
        )
        print(
            f"seeded {summary.members:,} members, {summary.purchases:,} purchases,"
            f" {summary.ledger:,} ledger entries in {seconds:.1f}s (CPU: this process"
            f" {time.process_time() - cpu:.1f}s, the server {server_cpu() - server:.1f}s)"
        )
        cpu, server = time.process_time(), server_cpu()
        seconds, differing = timed(rollups.rebuild, store, tz)
        print(
            f"rollups rebuilt from the data in {seconds:.1f}s (CPU: this process"
            f" {time.process_time() - cpu:.1f}s, the server {server_cpu() - server:.1f}s;"
            f" {len(differing)} differed)"
        )

        today = now.astimezone(tz).date()
        print(
            "target: each report under 1 s on the demo shop, and below a plain scan of the"
            " same purchases (ratio < 1; the rollups are what keeps it flat)"
        )
        print("report               wall     cpu    memory   scan wall  scan cpu  ratio wall, cpu")
        for branch in (None, BRANCH):
            for period, days in kpis.PERIODS.items():
                start = datetime.combine(today - timedelta(days=days - 1), day_time(0), tz)
                scan, revenue = scanned(plain_scan, store, start.astimezone(UTC), None, branch)
                seconds, peak, found = measured(
                    kpis.merchant_kpis, store, period=period, branch=branch, now=now, config=config
                )
                assert found.revenue.value == revenue, (found.revenue.value, revenue)
                row(f"/stats {period} {branch or ''}", seconds, peak, scan)
        seconds, peak, cohorts = measured(kpis.retention_cohorts, store, now=now, config=config)
        row("retention cohorts", seconds, peak, None, f"({len(cohorts)} months)")

        client = app.test_client()
        token = urlparse(auth.issue_link(services, OWNER)).path.rsplit("/", 1)[1]
        assert client.post(f"/dashboard/signin/{token}").status_code == 303
        for period in kpis.PERIODS:
            seconds, peak, page = measured(client.get, f"/dashboard/?period={period}")
            assert page.status_code == 200, page.status_code
            row(f"dashboard {period}", seconds, peak, None)

        for campaign_id in ("KWB01", "KNW01"):
            run_id = store.campaign(campaign_id)["runs"][0]["run_id"]
            started = store.run_started_at(run_id)
            # Its data: the window's purchases (an indexed range) and the run's rows.
            window, _revenue = scanned(plain_scan, store, started, started + timedelta(days=7))
            rows, _count = scanned(store.db.deliveries.count_documents, {"run_id": run_id})
            scan = (window[0] + rows[0], window[1] + rows[1])
            seconds, peak, report = measured(
                campaign_report, store, campaign_id, now=now, config=config
            )
            row(
                f"campaign {campaign_id}",
                seconds,
                peak,
                scan,
                f"({report.counts.targeted:,} targeted, verdict {report.total.verdict})",
            )
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"peak memory of this process: {peak:.0f} MiB; {load()}")


if __name__ == "__main__":
    main()
