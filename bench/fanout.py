"""Campaign fan-out through the simulator with LINE's limits, against the physical bound.

Multicast path: N members, identical message, batches of 500 ids, the simulator
limiting multicast to 200 requests/s and adding 50 ms to each call. The bound is
N / 500 / 200 seconds (the rate limit, not the latency, when calls overlap).
Push path (personalised): bound N / 2000 push requests/s.
Prints each send phase's time and its ratio to the bound, duplicates and misses
counted by the simulator (must both be 0), and peak memory.

    .venv/bin/python bench/fanout.py [--members 100000] [--push-members 5000]
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bson import ObjectId

from bench._stack import stack
from bot.sending import Sender
from bot.store import utcnow
from jobs import campaign_jobs
from simulator import user_id_for

MULTICAST_RPS, PUSH_RPS, LATENCY = 200, 2000, 0.05


def add_members(store, sim, count: int, prefix: str) -> None:
    for start in range(0, count, 5000):
        docs = []
        for index in range(start, min(start + 5000, count)):
            line_id = user_id_for(f"{prefix}{index}")
            state = sim.platform.add_user(line_id, f"{prefix}{index}", "en")
            state.friend = True
            docs.append(
                {
                    "_id": str(ObjectId()),
                    "line_user_id": line_id,
                    "status": "member",
                    "reachable": True,
                    "marketing_opt_in": True,
                    "locale": "en",
                    "points": 0,
                    "ledger_seq": 0,
                    "tags": [prefix],
                    "profile": {"first_name": f"P{index}"},
                }
            )
        store.db.members.insert_many(docs, ordered=False)


def run(store, sender, sim, prefix: str, count: int, text: str) -> tuple[float, float, Counter]:
    campaign_id = f"K{prefix.upper()}"
    store.insert_campaign(
        {
            "_id": campaign_id,
            "name": prefix,
            "audience": f"tag:{prefix}",
            "filters": f"tag:{prefix}",
            "template": "news",
            "content": {"title": "News", "text": text, "image": None, "button": None, "link": None},
            "coupon": None,
            "holdout": 0.0,
            "schedule": {"type": "once", "at": utcnow()},
            "window_days": 7,
            "status": "scheduled",
            "next_run_at": utcnow(),
        }
    )
    started = time.perf_counter()
    campaign_jobs.run_due(sender)
    total = time.perf_counter() - started
    received = Counter()
    for index in range(count):
        received[len(sim.platform.inbox(user_id_for(f"{prefix}{index}")))] += 1
    counts = store.campaign_counts(campaign_id)
    return total, counts.get("sent", 0), received


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--push-members", type=int, default=5_000)
    parser.add_argument("--threads", type=int, default=16)
    args = parser.parse_args()
    with stack() as (app, sim):
        services = app.extensions["samachik"]
        store = services.store
        store.put_setting("quiet_hours", ["00:00", "00:00"])
        store.put_setting("campaign_cap", [100, 7])
        sim.set_rate_limit("multicast", MULTICAST_RPS)
        sim.set_rate_limit("push", PUSH_RPS)
        sim.set_latency("multicast", LATENCY)
        sim.set_latency("push", LATENCY)
        sender = Sender(store, services.line, services.config, threads=args.threads)
        for prefix, count, text, rate, per_call in (
            ("bulk", args.members, "Same news for everyone", MULTICAST_RPS, 500),
            ("push", args.push_members, "News for {first_name}", PUSH_RPS, 1),
        ):
            add_members(store, sim, count, prefix)
            total, sent, received = run(store, sender, sim, prefix, count, text)
            bound = count / per_call / rate
            duplicates = sum(n for k, n in received.items() if k > 1)
            misses = received.get(0, 0)
            print(
                f"{prefix}: {count:,} members, {sent:,} sent in {total:.1f}s "
                f"(snapshot + send); bound {bound:.1f}s; ratio {total / bound:.1f}x; "
                f"duplicates {duplicates}, misses {misses}"
            )
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"peak memory of this process (simulator records included): {peak:.0f} MiB")


if __name__ == "__main__":
    main()
