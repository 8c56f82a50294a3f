"""How long each report takes on an already seeded shop (e.g. after `flask --app bot seed-demo`).

Uses the app's settings from the environment (`MONGODB_URI`, `MONGODB_DB`, …, as the
`flask` commands do) and prints, best of three, the wall time and this process's CPU
seconds of `/stats` for every period (whole shop and one branch), the retention
cohorts and each finished campaign's results; with `--server-pid` (the dev server's
process) also the server's CPU seconds.

    .venv/bin/python bench/demo_timings.py [--branch siam] [--server-pid PID]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot import create_app
from bot.analytics import kpis
from bot.analytics.campaign_report import campaign_report
from bot.analytics.stats import Sample, mean_interval
from bot.store import utcnow


def server_cpu(pid: int | None) -> float:
    if pid is None:
        return 0.0
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--branch", default="siam")
    parser.add_argument("--server-pid", type=int)
    args = parser.parse_args()
    services = create_app().extensions["samachik"]
    store, config = services.store, services.config
    mean_interval(Sample(2, 1, 1))  # loads SciPy once, before measuring
    now = utcnow()
    print(f"load average {', '.join(f'{x:.2f}' for x in os.getloadavg())}")

    def measure(label: str, function) -> None:
        best = None
        for _ in range(3):
            wall, cpu = time.perf_counter(), time.process_time()
            server = server_cpu(args.server_pid)
            function()
            spent = (
                time.perf_counter() - wall,
                time.process_time() - cpu,
                server_cpu(args.server_pid) - server,
            )
            best = spent if best is None or spent[0] < best[0] else best
        print(f"{label:<22} wall {best[0]:.2f}s  cpu {best[1]:.2f}s  server cpu {best[2]:.2f}s")

    for branch in (None, args.branch):
        for period in kpis.PERIODS:
            measure(
                f"/stats {period} {branch or ''}",
                lambda p=period, b=branch: kpis.merchant_kpis(
                    store, period=p, branch=b, now=now, config=config
                ),
            )
    measure("retention cohorts", lambda: kpis.retention_cohorts(store, now=now, config=config))
    for campaign in store.list_campaigns():
        if campaign.get("runs"):
            measure(
                f"/campaign show {campaign['_id']}",
                lambda c=campaign["_id"]: campaign_report(store, c, now=now, config=config),
            )


if __name__ == "__main__":
    main()
