"""The worker in multi-merchant mode: every job, for every merchant it holds a lease on.

Fair to every merchant: each merchant's jobs have their own ids (`<slug>:<job>`), so a
long campaign of one merchant holds one thread of the pool and never the next run of
another merchant's jobs. Scales out: each worker heartbeats in the operator database
and holds at most its share (active merchants ÷ live workers, rounded up) of
per-merchant leases, so adding a worker moves merchants to it within a few ticks, and
a crashed worker's merchants are taken over once their leases lapse.
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

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.background import BackgroundScheduler

from bot.merchants import Merchants
from jobs import tasks
from jobs.scheduler import LEASE_TTL, RENEW_EVERY_SECONDS, SCHEDULE

log = logging.getLogger("jobs.fleet")
MERCHANT_LEASE = "merchant:"
FLEET_GRACE_SECONDS = 50


class FleetWorker:
    """Holds a fair share of merchants and runs their jobs on one thread pool."""

    def __init__(self, merchants: Merchants, holder: str | None = None, threads: int = 0):
        self.merchants = merchants
        self.operator = merchants.operator
        self.holder = holder or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.held: set[str] = set()
        threads = threads or merchants.base.WORKER_THREADS
        self.scheduler = BackgroundScheduler(
            executors={"default": ThreadPoolExecutor(threads)}, timezone="UTC"
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

        return tasks.JOBS[name](services, should_stop)

    def run_loop(self, stop: threading.Event) -> None:
        """Tick until `stop` is set, then stop jobs and hand every lease back."""
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
        # on the dev server). The price: a daily job due while no worker held the merchant
        # waits for its next day.
        for name, trigger, options in SCHEDULE:
            self.scheduler.add_job(
                "jobs.tasks:for_merchant",
                args=[slug, name],
                id=f"{slug}:{name}",
                replace_existing=True,
                # Daily jobs at the merchant's own local hours.
                **{**trigger, "timezone": services.config.TIMEZONE},
                # Hundreds of merchants' jobs fall due in the same second; APScheduler's
                # default grace (1 s) would skip the last ones instead of running them late.
                **{"misfire_grace_time": FLEET_GRACE_SECONDS, **options},
            )
        self.held.add(slug)
        log.info("merchant %s: jobs started by %s", slug, self.holder)
        return True

    def _drop(self, slug: str) -> None:
        """Stop scheduling a merchant's jobs (running ones see `should_stop`) and let it go."""
        self.held.discard(slug)
        for name, _trigger, _options in SCHEDULE:
            with contextlib.suppress(JobLookupError):  # its jobs were never added
                self.scheduler.remove_job(f"{slug}:{name}")
        self.operator.release_lease(f"{MERCHANT_LEASE}{slug}", self.holder)
        log.info("merchant %s: jobs stopped by %s", slug, self.holder)
