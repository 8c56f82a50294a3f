"""The worker in multi-merchant mode: every job, for every merchant it holds a lease on.

Fair to every merchant: each merchant's jobs have their own ids (`<slug>:<job>`), so a
long campaign of one merchant holds one thread and never the next run of another
merchant's jobs; campaigns run on a pool of their own, so even many merchants' big
campaigns leave the journeys and daily jobs threads to run on.

Scales out: each worker heartbeats in the operator database and holds at most its
share (active merchants ÷ live workers, rounded up) of per-merchant leases, so adding
a worker moves merchants to it within a few ticks, and a crashed worker's merchants
are taken over once their leases lapse.

Daily jobs run once per due time, whoever runs them: each run first claims its due
time in the operator database (`daily_runs`). A worker taking a merchant runs at
once each daily job whose latest due time passed with no run (no worker held the
merchant then, or its worker died): one catch-up, never a second run.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import socket
import threading
import uuid
import zlib
from datetime import UTC, datetime, timedelta

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger

from bot.merchants import Merchants
from jobs import tasks
from jobs.scheduler import LEASE_TTL, SCHEDULE, tick_until

log = logging.getLogger("jobs.fleet")
MERCHANT_LEASE = "merchant:"
FLEET_GRACE_SECONDS = 50
CAMPAIGNS = "campaigns"  # the executor of the run_campaigns jobs
# The daily jobs (cron triggers): name → trigger fields.
DAILY_JOBS = {
    name: {k: v for k, v in trigger.items() if k != "trigger"}
    for name, trigger, _options in SCHEDULE
    if trigger["trigger"] == "cron"
}


def last_due(name: str, timezone: str, now: datetime) -> datetime:
    """The latest time daily job `name` fell due at or before `now`, in the merchant's zone."""
    trigger = CronTrigger(**DAILY_JOBS[name], timezone=timezone)
    due = probe = trigger.get_next_fire_time(None, now - timedelta(days=2))
    while probe <= now:
        due, probe = probe, trigger.get_next_fire_time(None, probe + timedelta(seconds=1))
    return due


class FleetWorker:
    """Holds a fair share of merchants and runs their jobs on one thread pool."""

    def __init__(self, merchants: Merchants, holder: str | None = None, threads: int = 0):
        self.merchants = merchants
        self.operator = merchants.operator
        self.holder = holder or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.held: set[str] = set()
        threads = threads or merchants.base.WORKER_THREADS
        self.scheduler = BackgroundScheduler(
            # Campaigns on a pool of their own: however many merchants send big ones at
            # once, every merchant's journeys and daily jobs still find a free thread.
            executors={
                "default": ThreadPoolExecutor(threads),
                CAMPAIGNS: ThreadPoolExecutor(threads),
            },
            timezone="UTC",
        )
        self._lock = threading.Lock()

    def start(self) -> FleetWorker:
        tasks.RUNTIME["fleet"] = self
        self.scheduler.start()
        return self

    def tick(self) -> list[str]:
        """Heartbeat, then keep, take or give back merchants to hold a fair share."""
        self.operator.heartbeat(self.holder, LEASE_TTL)
        active = self.merchants.active_slugs()
        share = math.ceil(len(active) / self.operator.live_workers())
        with self._lock:
            kept = []
            for slug in sorted(self.held):
                if slug in active and len(kept) < share and self._lease(slug):
                    kept.append(slug)
                else:
                    self._drop(slug)
            for slug in self._order(active):
                if len(kept) >= share:
                    break
                if slug not in kept and self._lease(slug) and self._add(slug):
                    kept.append(slug)
            return sorted(self.held)

    def run(self, slug: str, name: str):
        """One merchant's job; stops early if the merchant is disabled or handed over."""
        services = self.merchants.services(slug) if slug in self.held else None
        if services is None:
            return None

        def should_stop() -> bool:
            return slug not in self.held or not self.merchants.is_active(slug)

        due = None
        if name in DAILY_JOBS:
            due = last_due(name, services.config.TIMEZONE, datetime.now(UTC))
            if not self.operator.claim_daily(slug, name, due):
                return None  # done for this due time already (a catch-up, another worker)
        try:
            return tasks.JOBS[name](services, should_stop)
        except Exception:
            if due is not None:
                self.operator.release_daily(slug, name, due)
            raise

    def run_loop(self, stop: threading.Event) -> None:
        """Tick until `stop` is set, then stop jobs and hand every lease back."""
        tick_until(stop, self.tick, self.shutdown)

    def shutdown(self) -> None:
        with self._lock:
            for slug in sorted(self.held):
                self._drop(slug)
        if self.scheduler.running:
            self.scheduler.shutdown(wait=True)
        self.operator.stop_heartbeat(self.holder)
        if tasks.RUNTIME.get("fleet") is self:
            tasks.RUNTIME.pop("fleet")

    def _order(self, active: list[str]) -> list[str]:
        """Start at a place of our own, so workers starting together ask for different ones."""
        if not active:
            return []
        start = zlib.crc32(self.holder.encode()) % len(active)
        return active[start:] + active[:start]

    def _lease(self, slug: str) -> bool:
        return self.operator.acquire_lease(f"{MERCHANT_LEASE}{slug}", self.holder, LEASE_TTL)

    def _add(self, slug: str) -> bool:
        """Schedule every job of a merchant whose lease we just took."""
        services = self.merchants.services(slug)
        if services is None:
            self.operator.release_lease(f"{MERCHANT_LEASE}{slug}", self.holder)
            return False
        # Jobs are kept in memory: one MongoDB job store per merchant made APScheduler
        # query every merchant's database on each wake-up (50 s per pass at 100 merchants
        # on the dev server). What fell due while no worker held the merchant is found
        # from `daily_runs` instead, and runs now.
        missed = self._missed(slug, services.config.TIMEZONE)
        now = datetime.now(UTC)
        for name, trigger, options in SCHEDULE:
            self.scheduler.add_job(
                "jobs.tasks:for_merchant",
                args=[slug, name],
                id=f"{slug}:{name}",
                executor=CAMPAIGNS if name == "run_campaigns" else "default",
                replace_existing=True,
                # Daily jobs at the merchant's own local hours.
                **{**trigger, "timezone": services.config.TIMEZONE},
                # Hundreds of merchants' jobs fall due in the same second; APScheduler's
                # default grace (1 s) would skip the last ones instead of running them late.
                **{"misfire_grace_time": FLEET_GRACE_SECONDS, **options},
                **({"next_run_time": now} if name in missed else {}),
            )
        self.held.add(slug)
        log.info("merchant %s: jobs started by %s", slug, self.holder)
        return True

    def _missed(self, slug: str, timezone: str) -> set[str]:
        """Daily jobs whose latest due time passed with no run (since the merchant was added)."""
        now = datetime.now(UTC)
        done = self.operator.daily_runs(slug)
        added = self.operator.created_at(slug) or now
        return {
            name
            for name in DAILY_JOBS
            if last_due(name, timezone, now) > max(done.get(name, added), added)
        }

    def _drop(self, slug: str) -> None:
        """Stop scheduling a merchant's jobs (running ones see `should_stop`) and let it go."""
        self.held.discard(slug)
        for name, _trigger, _options in SCHEDULE:
            with contextlib.suppress(JobLookupError):  # its jobs were never added
                self.scheduler.remove_job(f"{slug}:{name}")
        self.operator.release_lease(f"{MERCHANT_LEASE}{slug}", self.holder)
        log.info("merchant %s: jobs stopped by %s", slug, self.holder)
