"""The worker's campaign runs and journeys (only the lease holder runs these)."""

from __future__ import annotations

import logging
import time
import uuid
from datetime import timedelta

from bot import audience, campaigns, sending
from bot.line_api import LineApiError
from bot.messages import text
from bot.sending import Sender
from bot.store import utcnow
from bot.translate import translator_for

log = logging.getLogger(__name__)
STOP_CHECK_SECONDS = 0.2  # a pause or cancel takes effect within this, between batches


def run_due(sender: Sender, should_stop=lambda: False) -> list[str]:
    """Start due campaigns and resume unfinished runs; returns the run ids worked on."""
    store = sender.store
    worked = []
    _close_cancelled(store)
    quiet = tuple(store.get_setting("quiet_hours", list(campaigns.DEFAULT_QUIET)))
    for due in store.due_campaigns(utcnow()):
        waiting = due.get("resume_at") and due["resume_at"] > utcnow()
        if due["status"] == "running" and waiting:
            continue
        try:
            run_id = _work_on(sender, due, quiet, should_stop)
            if run_id:
                worked.append(run_id)
        except Exception:  # one broken campaign must not hold up the others
            log.exception("campaign %s: run failed; it is tried again next minute", due["_id"])
    return worked


def _work_on(sender: Sender, due: dict, quiet: tuple, should_stop) -> str | None:
    """Snapshot and send one due campaign as far as it goes now; the run id if it sent."""
    store, config = sender.store, sender.config
    run_id = _claim(store, due)
    if run_id is None:
        return None
    campaign = store.campaign(due["_id"])
    resume = campaigns.quiet_now(utcnow(), config.tz, quiet)
    if resume is not None:
        store.update_campaign(campaign["_id"], {"resume_at": resume})
        return None
    if not campaign.get("snapshot_done"):
        audience.snapshot(store, campaign, run_id, utcnow(), config.tz)
        if not _quota_allows(sender, campaign, run_id):
            store.cancel_batches(campaign["_id"])  # it will not go: drop the LINE ids
            return None
        store.update_campaign(campaign["_id"], {"snapshot_done": True})
    stopped = _Stopped(store, campaign["_id"])
    stop = lambda: should_stop() or stopped()  # noqa: E731
    sending.send_run(sender, campaign, run_id, should_stop=stop)
    if store.campaign(campaign["_id"])["status"] == "cancelled":
        _close_cancelled(store)
    elif not store.pending_batches(run_id):
        _finish(store, campaign, run_id, config.tz)
    return run_id


def _close_cancelled(store) -> None:
    """Cancelled campaigns' unsent batches are closed here, by the worker: the one writer
    of a run's batches, so a batch it had already sent is never recorded as cancelled."""
    for campaign in store.campaigns_to_close():
        store.cancel_batches(campaign["_id"])
        store.update_campaign(campaign["_id"], {"batches_closed": True})


def _claim(store, campaign: dict) -> str | None:
    """Take a scheduled campaign into a new run, or carry on the one already running."""
    if campaign["status"] == "running":
        return campaign["run_id"]
    run_id = f"{campaign['_id']}-{uuid.uuid4().hex[:8]}"
    claimed = store.update_campaign(
        campaign["_id"],
        {"status": "running", "run_id": run_id, "run_started_at": utcnow(), "snapshot_done": False},
        status_was="scheduled",
    )
    return run_id if claimed else None


class _Stopped:
    """Has the owner paused or cancelled the run? Asked at most every STOP_CHECK_SECONDS."""

    def __init__(self, store, campaign_id: str):
        self.store, self.campaign_id = store, campaign_id
        self.asked_at, self.answer = float("-inf"), False

    def __call__(self) -> bool:
        if time.monotonic() - self.asked_at >= STOP_CHECK_SECONDS:
            self.asked_at = time.monotonic()
            self.answer = self.store.campaign(self.campaign_id)["status"] != "running"
        return self.answer


def _quota_allows(sender: Sender, campaign: dict, run_id: str) -> bool:
    """Stop before a run that would use more messages than the month has left."""
    pending = sender.store.run_counts(run_id).get("pending", 0)
    try:
        quota = sender.line.quota()
    except LineApiError:
        return True  # cannot tell; LINE refuses with 429 when the quota is really gone
    left = quota["limit"] - quota["used"] if quota["type"] == "limited" else pending
    if pending <= left:
        return True
    sender.store.update_campaign(campaign["_id"], {"status": "quota"}, status_was="running")
    owner = sender.store.member_by_line_id(campaign.get("created_by", ""))
    t = translator_for(owner or {}, sender.config)
    try:
        sender.line.push(
            campaign["created_by"],
            [
                text(
                    t._(
                        "Campaign %(id)s was not sent: it needs %(needed)s messages but only "
                        "%(left)s are left this month.",
                        id=campaign["_id"],
                        needed=t.number(pending),
                        left=t.number(left),
                    )
                )
            ],
        )
    except LineApiError:
        log.warning("could not tell the owner about the quota")
    return False


def _finish(store, campaign: dict, run_id: str, tz) -> None:
    """Close a run whose batches are all answered (a pause after the last one too)."""
    store.drop_queues(run_id)
    following = None
    if campaign["schedule"]["type"] == "weekly":
        following = campaigns.next_run(campaign["schedule"], utcnow() + timedelta(minutes=1), tz)
    closed = store.update_campaign(
        campaign["_id"],
        {
            "status": "scheduled" if following else "done",
            "next_run_at": following,
            "run_id": None,
            "resume_at": None,
        },
        status_was=["running", "paused"],
    )
    if closed:
        summary = {"run_id": run_id, "finished_at": utcnow(), "counts": store.run_counts(run_id)}
        store.push_run(campaign["_id"], summary)
