"""The worker's campaign runs and journeys (only the lease holder runs these)."""

from __future__ import annotations

import functools
import logging
import time
import uuid
from datetime import timedelta

from bot.analytics.messages import report_button
from bot.chat.messages import text
from bot.line_api import LineApiError, retry_key_for
from bot.marketing import audience, campaign_text, campaigns, sending
from bot.marketing.sending import Sender
from bot.store import utcnow
from bot.translate import translator_for

log = logging.getLogger(__name__)
STOP_CHECK_SECONDS = 0.2  # a pause or cancel takes effect within this, between batches


def run_due(sender: Sender, should_stop=lambda: False) -> list[str]:
    """Start due campaigns and resume unfinished runs; returns the run ids worked on."""
    store = sender.store
    worked = []
    _close_cancelled(store)
    tell_owners(sender)
    quiet = tuple(store.get_setting("quiet_hours", list(campaigns.DEFAULT_QUIET)))
    if campaigns.quiet_now(utcnow(), sender.config.tz, quiet) is not None:
        # Nothing is claimed in quiet hours: a due campaign stays `scheduled`, so the
        # owner can still pause, resume or cancel it, and a change to the quiet hours
        # counts from the next minute.
        return worked
    for due in store.due_campaigns(utcnow()):
        try:
            run_id = _work_on(sender, due, should_stop)
            if run_id:
                worked.append(run_id)
        except Exception:  # one broken campaign must not hold up the others
            log.exception("campaign %s: run failed; it is tried again next minute", due["_id"])
    return worked


def _work_on(sender: Sender, due: dict, should_stop) -> str | None:
    """Snapshot and send one due campaign as far as it goes now; the run id if it sent."""
    store, config = sender.store, sender.config
    run_id = _claim(store, due)
    if run_id is None:
        return None
    campaign = store.campaign(due["_id"])
    if not campaign.get("snapshot_done"):
        audience.snapshot(store, campaign, run_id, utcnow(), config.tz)
        if not _quota_allows(sender, campaign, run_id):
            store.cancel_batches(campaign["_id"])  # it will not go: drop the LINE ids
            return None
        store.update_campaign(campaign["_id"], {"snapshot_done": True})
    stopped = _Stopped(store, campaign["_id"])
    stop = lambda: should_stop() or stopped()  # noqa: E731
    try:
        sending.send_run(sender, campaign, run_id, should_stop=stop)
    except sending.QuotaExhaustedError:
        _stop_for_quota(sender, campaign, run_id)
        return run_id
    if store.campaign(campaign["_id"])["status"] == "cancelled":
        _close_cancelled(store)
    elif not store.pending_batches(run_id):
        _finish(store, campaign, run_id, config.tz)
        tell_owners(sender)
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

    def notice(t):
        return t._(
            "Campaign %(id)s was not sent: it needs %(needed)s, but this month's quota has "
            "%(left)s left.",
            id=campaign["_id"],
            needed=t.n_("%(count)s message", "%(count)s messages", pending),
            left=t.n_("%(count)s message", "%(count)s messages", left),
        )

    _push_to_owners(sender, notice, f"quota:{run_id}")
    return False


def _stop_for_quota(sender: Sender, campaign: dict, run_id: str) -> None:
    """LINE refused a send for the month's quota: stop the run, count the rest, tell owners.

    The push to the owners costs quota too, so it may well be refused; `/campaign show`
    says the same, from a reply, which LINE does not count."""
    store = sender.store
    store.update_campaign(campaign["_id"], {"status": "quota"}, status_was="running")
    store.cancel_batches(campaign["_id"], status="quota")  # drops the LINE ids too
    counts = store.run_counts(run_id)

    def notice(t):
        return t._(
            "Campaign %(id)s stopped: this month's message quota ran out. "
            "Sent: %(sent)s · not sent: %(unsent)s",
            id=campaign["_id"],
            sent=t.number(counts.get("sent", 0)),
            unsent=t.number(counts.get("quota", 0)),
        )

    _push_to_owners(sender, notice, f"quota-stop:{run_id}")


def results_link(config, campaign: dict, run_id: str) -> str | None:
    """The address of a run's results page, for the owners' notice.

    Hook: none exists yet; the results page (another issue) returns its URL here and
    the notice shows it on a line of its own."""
    return None


def tell_owners(sender: Sender) -> None:
    """Tell every owner, once per run, that a campaign run has finished (and what it did).

    `_finish` marks the campaign with the run to announce in the same write that closes
    the run; the mark goes once LINE has taken the notice for every owner. Each push
    is keyed by run and owner, so a retry after a crash is answered 409, not sent twice."""
    store = sender.store
    for campaign in store.campaigns_to_announce():
        run_id = campaign["notice_run"]
        notice = functools.partial(
            campaign_text.finished,
            campaign=campaign,
            by_status=store.run_counts(run_id),
            results_url=results_link(sender.config, campaign, run_id),
        )
        button = functools.partial(report_button, campaign_id=campaign["_id"])
        if _push_to_owners(sender, notice, f"finished:{run_id}", button):
            store.announced(campaign["_id"], run_id)


def _push_to_owners(sender: Sender, notice, key: str, button=None) -> bool:
    """Push `notice(translator)` to every owner in their language; False if LINE should be
    asked again later (a refusal for good, e.g. an owner who blocked us, is not retried)."""
    done = True
    for owner_id in sorted(sender.config.ADMIN_LINE_USER_IDS):
        owner = sender.store.member_by_line_id(owner_id)
        t = translator_for(owner or {}, sender.config)
        try:
            message = text(notice(t), items=[button(t)] if button else None)
            sender.line.push(owner_id, [message], retry_key=retry_key_for(key, owner_id))
        except LineApiError as error:
            log.warning("could not tell an owner about a campaign: %s", error.status)
            done = done and error.permanent
    return done


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
            "notice_run": run_id,  # the owners are told by `tell_owners`
        },
        status_was=["running", "paused"],
    )
    if closed:
        summary = {"run_id": run_id, "finished_at": utcnow(), "counts": store.run_counts(run_id)}
        store.push_run(campaign["_id"], summary)
