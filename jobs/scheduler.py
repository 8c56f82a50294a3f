"""Worker entry point (`python -m jobs.scheduler`): runs jobs while it holds the lease.

Only one worker may run jobs, or campaigns would go out twice. Each worker
tries to take a lease document in MongoDB and renews it well before it
expires; the others wait and take over once it lapses (a crashed worker's
lease expires by itself). Gunicorn web workers never import this module.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import uuid
from datetime import timedelta

from apscheduler.schedulers.background import BackgroundScheduler

from bot import configure_logging
from bot.campaigns import Sender
from bot.config import Config, ConfigError, load_config
from bot.line_api import LineApi
from bot.store import Store, connect
from jobs import campaign_jobs, journey_jobs, maintenance, points_jobs, segment_jobs

log = logging.getLogger("jobs.scheduler")

LEASE_NAME = "scheduler"
LEASE_TTL = timedelta(seconds=60)
RENEW_EVERY_SECONDS = 15


def build_scheduler(store: Store, line: LineApi | None, config: Config) -> BackgroundScheduler:
    """Every scheduled job, in one list (times in the merchant's time zone)."""
    scheduler = BackgroundScheduler(timezone=config.TIMEZONE)
    daily = {"coalesce": True, "misfire_grace_time": 6 * 3600}
    scheduler.add_job(
        points_jobs.expire_points,
        "cron",
        hour=0,
        minute=10,
        args=[store],
        id="expire_points",
        **daily,
    )
    scheduler.add_job(
        points_jobs.reevaluate_tiers,
        "cron",
        hour=2,
        minute=0,
        args=[store],
        id="reevaluate_tiers",
        **daily,
    )
    scheduler.add_job(
        segment_jobs.score_rfm, "cron", hour=3, minute=30, args=[store], id="score_rfm", **daily
    )
    scheduler.add_job(
        points_jobs.expire_redemptions,
        "interval",
        minutes=1,
        args=[store, line, config],
        id="expire_redemptions",
        coalesce=True,
        max_instances=1,
    )
    if line is not None:
        scheduler.add_job(
            campaign_jobs.run_due,
            "interval",
            minutes=1,
            args=[Sender(store, line, config)],
            id="run_campaigns",
            coalesce=True,
            max_instances=1,
        )
        scheduler.add_job(
            journey_jobs.run_journeys,
            "cron",
            hour=10,
            minute=5,
            args=[Sender(store, line, config)],
            id="run_journeys",
            **daily,
        )
        scheduler.add_job(
            points_jobs.send_expiry_notices,
            "cron",
            hour=10,
            minute=0,
            args=[store, line, config],
            id="send_expiry_notices",
            **daily,
        )
    scheduler.add_job(
        maintenance.prune_webhook_events,
        "cron",
        hour=3,
        minute=17,
        args=[store],
        id="prune_webhook_events",
        coalesce=True,
        misfire_grace_time=3600,
    )
    scheduler.add_job(
        maintenance.drop_stale_conversations,
        "interval",
        hours=1,
        args=[store],
        id="drop_stale_conversations",
        coalesce=True,
    )
    return scheduler


class Worker:
    """Holds the lease and runs the scheduler only while it does."""

    def __init__(
        self,
        store: Store,
        config: Config,
        line: LineApi | None = None,
        holder: str | None = None,
    ):
        self.store = store
        self.config = config
        self.line = line
        self.holder = holder or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.scheduler: BackgroundScheduler | None = None

    @property
    def running(self) -> bool:
        return self.scheduler is not None

    def tick(self) -> bool:
        """Take or renew the lease; start or stop the jobs to match. True if leading."""
        leading = self.store.acquire_lease(LEASE_NAME, self.holder, LEASE_TTL)
        if leading and not self.running:
            log.info("lease taken by %s; starting jobs", self.holder)
            self.scheduler = build_scheduler(self.store, self.line, self.config)
            self.scheduler.start()
        elif not leading and self.running:
            log.warning("lease lost to another worker; stopping jobs")
            self._stop_jobs()
        elif not leading:
            log.debug("another worker holds the lease; waiting")
        return leading

    def run(self, stop: threading.Event) -> None:
        """Tick until `stop` is set, then stop jobs and hand the lease back."""
        try:
            while not stop.is_set():
                try:
                    self.tick()
                except Exception as exc:  # noqa: BLE001 - a database blip must not kill the worker
                    log.error("lease check failed: %s", type(exc).__name__)
                stop.wait(RENEW_EVERY_SECONDS)
        finally:
            self.shutdown()

    def shutdown(self) -> None:
        self._stop_jobs()
        self.store.release_lease(LEASE_NAME, self.holder)

    def _stop_jobs(self) -> None:
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=True)
            self.scheduler = None


def main() -> None:
    try:
        config = load_config()
    except ConfigError as error:
        raise SystemExit(f"samachik worker: configuration error: {error}") from None
    configure_logging(config.LOG_LEVEL)
    store = Store(connect(config.MONGODB_URI, config.MONGODB_TIMEOUT_MS), config.MONGODB_DB)
    store.ensure_indexes()

    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    line = LineApi(
        config.LINE_CHANNEL_ACCESS_TOKEN,
        base_url=config.LINE_API_BASE_URL,
        max_attempts=config.LINE_API_MAX_ATTEMPTS,
        backoff_seconds=config.LINE_API_BACKOFF_SECONDS,
    )
    worker = Worker(store, config, line)
    log.info("worker %s started", worker.holder)
    worker.run(stop)
    log.info("worker %s stopped", worker.holder)


if __name__ == "__main__":
    main()
