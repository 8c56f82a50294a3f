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

from apscheduler.jobstores.mongodb import MongoDBJobStore
from apscheduler.schedulers.background import BackgroundScheduler

from bot import configure_logging
from bot.config import Config, ConfigError, load_config
from bot.line_api import LineApi
from bot.store import Store, connect
from jobs import tasks

log = logging.getLogger("jobs.scheduler")

LEASE_NAME = "scheduler"
LEASE_TTL = timedelta(seconds=60)
RENEW_EVERY_SECONDS = 15


DAILY = {"coalesce": True, "misfire_grace_time": 6 * 3600}
OFTEN = {"coalesce": True, "max_instances": 1}
# Every scheduled job, in one list: (function in jobs.tasks, trigger, options).
SCHEDULE = (
    ("expire_points", {"trigger": "cron", "hour": 0, "minute": 10}, DAILY),
    ("reevaluate_tiers", {"trigger": "cron", "hour": 2, "minute": 0}, DAILY),
    ("prune_webhook_events", {"trigger": "cron", "hour": 3, "minute": 17}, DAILY),
    ("prune_erasures", {"trigger": "cron", "hour": 3, "minute": 20}, DAILY),
    ("score_rfm", {"trigger": "cron", "hour": 3, "minute": 30}, DAILY),
    ("rebuild_rollups", {"trigger": "cron", "hour": 3, "minute": 50}, DAILY),
    ("run_journeys", {"trigger": "cron", "hour": 10, "minute": 5}, DAILY),
    ("drop_stale_conversations", {"trigger": "interval", "hours": 1}, OFTEN),
    ("prune_rate_limits", {"trigger": "interval", "hours": 1}, OFTEN),
    ("expire_redemptions", {"trigger": "interval", "minutes": 1}, OFTEN),
    ("run_campaigns", {"trigger": "interval", "minutes": 1}, OFTEN),
    ("refresh_member_rollup", {"trigger": "interval", "minutes": 15}, OFTEN),
    ("announce_campaign_results", {"trigger": "interval", "minutes": 15}, OFTEN),
    ("retry_menu_links", {"trigger": "interval", "minutes": 2}, OFTEN),
)


def build_scheduler(store: Store, line: LineApi | None, config: Config) -> BackgroundScheduler:
    """The scheduler with every job, its state kept in MongoDB (times in local time)."""
    tasks.RUNTIME.update(store=store, line=line, config=config)
    # Next run times live in MongoDB, so a restarted or replacement worker knows what
    # it missed (misfire grace); jobs are re-declared on every start.
    # Its own client: the job store closes its client when the scheduler shuts down.
    jobstore = MongoDBJobStore(
        database=store.db.name,
        collection="scheduler_jobs",
        client=connect(config.MONGODB_URI, config.MONGODB_TIMEOUT_MS),
    )
    scheduler = BackgroundScheduler(jobstores={"default": jobstore}, timezone=config.TIMEZONE)
    store.drop_retired_jobs([name for name, _trigger, _options in SCHEDULE])
    for name, trigger, options in SCHEDULE:
        scheduler.add_job(
            f"jobs.tasks:{name}", id=name, replace_existing=True, **trigger, **options
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
        tick_until(stop, self.tick, self.shutdown)

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
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    if config.multi_merchant:
        run_fleet(config, stop)
        return
    store = Store(connect(config.MONGODB_URI, config.MONGODB_TIMEOUT_MS), config.MONGODB_DB)
    store.ensure_indexes()
    store.backfill()  # a database from before the `_id` lookups (once)

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


def tick_until(stop: threading.Event, tick, shutdown) -> None:
    """Renew leases every RENEW_EVERY_SECONDS until `stop` is set, then `shutdown`."""
    try:
        while not stop.is_set():
            try:
                tick()
            except Exception as exc:  # noqa: BLE001 - a database blip must not kill the worker
                log.error("lease check failed: %s", type(exc).__name__)
            stop.wait(RENEW_EVERY_SECONDS)
    finally:
        shutdown()


def run_fleet(config: Config, stop: threading.Event) -> None:
    """Multi-merchant mode: one worker among several serving every registered merchant."""
    from bot.merchants import Merchants  # noqa: PLC0415
    from handlers import build_registry  # noqa: PLC0415
    from jobs.fleet import FleetWorker  # noqa: PLC0415

    client = connect(config.MONGODB_URI, config.MONGODB_TIMEOUT_MS)
    merchants = Merchants(config, build_registry(), client)
    merchants.operator.ensure_indexes()
    worker = FleetWorker(merchants).start()
    log.info("worker %s started for many merchants", worker.holder)
    worker.run_loop(stop)
    log.info("worker %s stopped", worker.holder)


if __name__ == "__main__":
    main()
