"""Segments at scale on the dev server: stats rebuild, RFM scoring, segment counts.

Loads a synthetic merchant (default 100,000 members and 1,000,000 purchases over
a year at four branches), then times:

- building every member's behaviour stats from the purchases (`rebuild_stats`),
- RFM scoring of all members (`score_rfm`),
- ten representative segment counts, each as a ratio to a plain indexed count
  (`locale: th`) on the same server in the same run (target: within 2×),

and prints peak memory of this process and of the dev server.

    .venv/bin/python bench/segments.py [--members 100000] [--purchases 1000000]
"""

from __future__ import annotations

import argparse
import random
import resource
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bson import ObjectId

from bench._stack import SERVER, stack
from bot.marketing.segments import Clock, compile_filters
from jobs import segment_jobs

BRANCHES = ("asoke", "ratchada", "siam", "ari")
SEGMENTS = (
    "branch:asoke",
    "visited:30d",
    "hour:14-16 dow:mon-fri",
    "avg:<150",
    "birth_month:5",
    "rfm:at_risk",
    "once",
    "lapsed:60d",
    "tier:gold",
    "gender:f age:20-35 lang:th optin",
)
BATCH = 5000


def load(store, members: int, purchases: int, now: datetime) -> None:
    rng = random.Random(7)
    ids = [str(ObjectId()) for _ in range(members)]
    for start in range(0, members, BATCH):
        docs = []
        for index in range(start, min(start + BATCH, members)):
            born = f"{rng.randint(1960, 2006)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
            docs.append(
                {
                    "_id": ids[index],
                    "line_user_id": f"U{index:032x}",
                    "status": "member",
                    "reachable": rng.random() > 0.05,
                    "locale": rng.choice(("th", "th", "th", "en", "zh_Hant")),
                    "marketing_opt_in": rng.random() > 0.3,
                    "tier": rng.choice(("member",) * 8 + ("silver", "gold")),
                    "joined_at": now - timedelta(days=rng.randint(0, 700)),
                    "points": 0,
                    "ledger_seq": 0,
                    "code": f"B{index:05d}",
                    "profile": {
                        "first_name": f"M{index}",
                        "gender": rng.choice(("female", "male", "other", "unspecified")),
                        "birthday": born,
                        "birth_month": int(born[5:7]),
                    },
                }
            )
        store.db.members.insert_many(docs, ordered=False)
    # Regulars visit often; most people rarely (a long tail, like a real shop).
    weights = [rng.paretovariate(1.2) for _ in ids]
    chosen = rng.choices(ids, weights=weights, k=purchases)
    for start in range(0, purchases, BATCH):
        docs = []
        for member_id in chosen[start : start + BATCH]:
            when = now - timedelta(minutes=rng.randint(0, 365 * 24 * 60))
            local = when + timedelta(hours=7)
            docs.append(
                {
                    "member_id": member_id,
                    "amount": rng.choice((4500, 6000, 8500, 12000, 15000, 25000, 60000)),
                    "branch": rng.choice(BRANCHES),
                    "status": "active",
                    "created_at": when,
                    "local_hour": local.hour,
                    "local_weekday": local.weekday(),
                    "local_date": local.date().isoformat(),
                }
            )
        store.db.purchases.insert_many(docs, ordered=False)


def timed(function, *args):
    started = time.perf_counter()
    result = function(*args)
    return time.perf_counter() - started, result


def median_time(function, runs: int = 3) -> float:
    return statistics.median(timed(function)[0] for _ in range(runs))


def server_peak_kib() -> int | None:
    """Peak resident memory of the dev server we started, from /proc (Linux)."""
    process = SERVER.get("process")
    if process is None:
        return None
    for line in Path(f"/proc/{process.pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return None


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--purchases", type=int, default=1_000_000)
    args = parser.parse_args()
    now = datetime.now(UTC)
    with stack() as (app, _sim):
        services = app.extensions["samachik"]
        store = services.store
        load_time, _ = timed(load, store, args.members, args.purchases, now)
        print(
            f"loaded {args.members:,} members and {args.purchases:,} purchases in {load_time:.0f}s"
        )
        stats_time, differed = timed(segment_jobs.rebuild_stats, store, services.config.tz)
        print(f"stats built for {len(differed):,} members in {stats_time:.1f}s")
        rfm_time, summary = timed(segment_jobs.score_rfm, store)
        print(f"RFM scored {summary['scored']:,} members in {rfm_time:.1f}s (target < 60s)")

        clock = Clock(now=now, today=now.date())
        baseline = median_time(lambda: store.count_members({"locale": "th"}))
        print(f"plain indexed count (locale: th): {baseline * 1000:.0f} ms")
        ratios = []
        for filters in SEGMENTS:
            query = compile_filters(filters, clock)
            count = store.count_members(query)
            seconds = median_time(lambda q=query: store.count_members(q))
            ratios.append(seconds / baseline)
            print(
                f"  {filters:<40} {count:>7,} members {seconds * 1000:7.0f} ms"
                f"  {seconds / baseline:4.2f}x"
            )
        print(
            f"segment count / plain count: median {statistics.median(ratios):.2f}x,"
            f" max {max(ratios):.2f}x (target <= 2x)"
        )
        bench_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        server_peak = server_peak_kib()
        print(
            f"peak memory: bench {bench_peak / 1024:.0f} MiB"
            + (f", dev server {server_peak / 1024:.0f} MiB" if server_peak else "")
        )


if __name__ == "__main__":
    main()
