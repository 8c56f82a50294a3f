"""The worker: exactly one scheduler runs, guarded by a lease in MongoDB."""

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta

import pytest
import time_machine

from bot.store import utcnow
from jobs import maintenance
from jobs.scheduler import LEASE_NAME, LEASE_TTL, Worker
from tests.conftest import ROOT


def test_only_one_of_two_workers_runs_jobs(store, services):
    first, second = (
        Worker(store, services.config, holder="worker-a"),
        Worker(store, services.config, holder="worker-b"),
    )
    try:
        assert first.tick() is True
        assert second.tick() is False

        assert first.running and not second.running
        assert store.lease_holder(LEASE_NAME) == "worker-a"
        assert first.tick() is True  # renewing its own lease
    finally:
        first.shutdown()
        second.shutdown()


def test_a_silent_workers_lease_expires_and_another_takes_over(store, services):
    first, second = (
        Worker(store, services.config, holder="worker-a"),
        Worker(store, services.config, holder="worker-b"),
    )
    try:
        first.tick()
        with time_machine.travel(utcnow() + LEASE_TTL + timedelta(seconds=1)):
            assert second.tick() is True
            assert first.tick() is False  # it notices and stops its jobs

        assert second.running and not first.running
        assert store.lease_holder(LEASE_NAME) == "worker-b"
    finally:
        first.shutdown()
        second.shutdown()


def test_shutdown_hands_the_lease_back(store, services):
    first, second = (
        Worker(store, services.config, holder="worker-a"),
        Worker(store, services.config, holder="worker-b"),
    )
    first.tick()

    first.shutdown()

    assert store.lease_holder(LEASE_NAME) is None
    assert second.tick() is True
    second.shutdown()


def test_the_scheduler_has_the_housekeeping_jobs(store, services):
    worker = Worker(store, services.config, services.line, holder="worker-a")
    try:
        worker.tick()
        job_ids = {job.id for job in worker.scheduler.get_jobs()}
        assert job_ids == {
            "prune_webhook_events",
            "prune_erasures",
            "drop_stale_conversations",
            "prune_rate_limits",
            "expire_points",
            "reevaluate_tiers",
            "expire_redemptions",
            "score_rfm",
            "run_campaigns",
            "run_journeys",
            "refresh_member_rollup",
            "rebuild_rollups",
            "announce_campaign_results",
            "retry_menu_links",
        }
    finally:
        worker.shutdown()


def test_pruning_forgets_only_old_finished_events(store):
    with time_machine.travel(utcnow() - timedelta(days=8)):
        store.claim_event("old-done", "message", "active")
        store.finish_event("old-done")
        store.claim_event("old-stuck", "message", "active")
    store.claim_event("fresh", "message", "active")
    store.finish_event("fresh")

    assert maintenance.prune_webhook_events(store) == 1

    assert store.event_status("old-done") is None
    assert store.event_status("old-stuck") == "processing"
    assert store.event_status("fresh") == "done"


@pytest.mark.devdb_only(reason="the worker runs in its own process")
def test_the_worker_process_takes_the_lease_and_exits_cleanly_on_sigterm(config, store):
    env = {**os.environ, **config, "PYTHONPATH": str(ROOT)}
    worker = subprocess.Popen(
        [sys.executable, "-m", "jobs.scheduler"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 20
        while store.lease_holder(LEASE_NAME) is None and time.monotonic() < deadline:
            time.sleep(0.1)  # polling a child process start-up, not a test delay
        assert store.lease_holder(LEASE_NAME) is not None
    finally:
        worker.send_signal(signal.SIGTERM)
        output, _ = worker.communicate(timeout=20)

    assert worker.returncode == 0, output
    assert store.lease_holder(LEASE_NAME) is None


def test_stale_conversations_are_dropped_with_their_answers(store, alice):
    alice.says("join")
    alice.says("Alice")
    member_id = store.member_by_line_id(alice.id)["_id"]

    assert maintenance.drop_stale_conversations(store) == 0
    with time_machine.travel(utcnow() + timedelta(days=1, minutes=1)):
        assert maintenance.drop_stale_conversations(store) == 1

    assert "conversation" not in store.member_by_id(member_id)


def test_job_state_is_kept_in_mongodb_for_the_next_worker(store, services):
    first = Worker(store, services.config, services.line, holder="worker-a")
    first.tick()
    first.shutdown()

    saved = {doc["_id"] for doc in store.db.scheduler_jobs.find({}, {"_id": 1})}

    assert {"expire_points", "run_campaigns", "score_rfm"} <= saved
    second = Worker(store, services.config, services.line, holder="worker-b")
    try:
        assert second.tick() is True
        assert {job.id for job in second.scheduler.get_jobs()} == saved
    finally:
        second.shutdown()
