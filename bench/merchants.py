"""Many merchants: webhook throughput and job latency with 100 registered merchants vs 1.

Webhooks: signed `help` events spread round-robin over every merchant's channel
(`/callback/<slug>`), so each request resolves its merchant through the registry.
Jobs: every merchant's `expire_redemptions` made due at once on one fleet worker;
latency = finish time - due time, per merchant (median and worst).

    .venv/bin/python bench/merchants.py [events] [merchants]
"""

from __future__ import annotations

import statistics
import sys
import threading
import time
import uuid
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, EVENT_JOB_MISSED

from bench._stack import database
from bot import create_app
from jobs.fleet import FleetWorker
from simulator import Simulator
from simulator import events as ev

# Resolving the merchant per request (a registry lookup, cached clients) costs little.
TARGET = 0.8


def deployment(uri: str, sim: Simulator, count: int):
    """An app with `count` registered merchants, each with its own simulator channel."""
    app = create_app(
        {
            "APP_ENV": "test",
            "MONGODB_URI": uri,
            "MONGODB_DB": f"bench_{uuid.uuid4().hex[:8]}",
            "LINE_API_BASE_URL": sim.base_url,
            "DEFAULT_LOCALE": "en",
            "LOG_LEVEL": "WARNING",
            "MERCHANT_KEYS_SECRET": "bench-keys",
        }
    )
    merchants = app.extensions["samachik.merchants"]
    channels = []
    for index in range(count):
        slug = f"m{index:03d}"
        secret, token = f"s-{slug}-{uuid.uuid4().hex}", f"t-{slug}-{uuid.uuid4().hex}"
        merchants.operator.add_merchant(
            slug, slug, {"channel_secret": secret, "access_token": token}
        )
        channel = sim.channel(secret, token, basic_id=f"@{slug}")
        channel.connect(app, f"/callback/{slug}")
        channels.append(channel)
    return app, channels


def webhook_rate(channels, count: int) -> float:
    users = [channel.user(f"bench{i}", language="en") for i, channel in enumerate(channels)]
    started = time.perf_counter()
    for index in range(count):
        user = users[index % len(users)]
        assert user.sim.deliver([ev.text_message(user.id, "help")]) == 200
    return count / (time.perf_counter() - started)


def job_latencies(app, count: int) -> list[float]:
    worker = FleetWorker(app.extensions["samachik.merchants"], holder="bench")
    worker.tick()
    done: list[float] = []
    finished = threading.Event()

    def listener(event):
        done.append((datetime.now().astimezone() - event.scheduled_run_time).total_seconds())
        if len(done) == count:
            finished.set()

    worker.scheduler.add_listener(listener, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR | EVENT_JOB_MISSED)
    worker.start()
    due = datetime.now().astimezone()
    for slug in sorted(worker.held):
        worker.scheduler.modify_job(f"{slug}:expire_redemptions", next_run_time=due)
    finished.wait(300)
    worker.shutdown()
    return done


def measure(uri: str, merchants: int, events: int) -> dict:
    sim = Simulator("unused-secret", "unused-token").start()
    try:
        app, channels = deployment(uri, sim, merchants)
        # Warm-up: every merchant once (its clients and caches), so both sides measure
        # a running deployment, not 100 first requests against 1.
        webhook_rate(channels, max(30, len(channels)))
        rate = webhook_rate(channels, events)
        latencies = job_latencies(app, merchants)
        client = app.extensions["samachik.merchants"].operator.client
        for name in client.list_database_names():
            if name.startswith(app.extensions["samachik"].config.MONGODB_DB):
                client.drop_database(name)
    finally:
        sim.stop()
    return {
        "rate": rate,
        "median": statistics.median(latencies),
        "worst": max(latencies),
    }


def main() -> None:
    events = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    many = int(sys.argv[2]) if len(sys.argv) > 2 else 100
    with database() as uri:
        one = measure(uri, 1, events)
        lots = measure(uri, many, events)
    print(f"webhook events per side: {events}")
    for label, result in (("1 merchant", one), (f"{many} merchants", lots)):
        print(
            f"  {label:<14} webhooks {result['rate']:7.1f}/s   job latency median "
            f"{result['median']:.2f}s worst {result['worst']:.2f}s"
        )
    ratio = lots["rate"] / one["rate"]
    verdict = "met" if ratio >= TARGET else "MISSED"
    print(
        f"  webhook throughput ratio {many}/1: {ratio:.2f}  (1.00 = no cost;"
        f" target >= {TARGET:g}): {verdict}"
    )


if __name__ == "__main__":
    main()
