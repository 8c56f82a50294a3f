"""Report upkeep: the member snapshot, nightly rollup rebuilds, and results pushes."""

from __future__ import annotations

import logging
from datetime import timedelta

from bot.analytics import rollups
from bot.analytics.campaign_report import campaign_report
from bot.analytics.messages import headline, report_button
from bot.chat.messages import text
from bot.line_api import LineApiError, retry_key_for
from bot.store import utcnow
from bot.translate import translator_for

log = logging.getLogger(__name__)
# A window that closed longer ago than this is history, not news (e.g. right after an
# upgrade, or the demo's past campaigns): no push.
NEWS_FOR = timedelta(days=2)


def refresh_members(store, config) -> dict:
    return rollups.refresh_members(store, config.tz)


def rebuild_rollups(store, config) -> list[str]:
    """Nightly: recompute every rollup from its source; log what had drifted."""
    differing = rollups.rebuild(store, config.tz)
    for problem in differing:
        log.warning("rollup repaired: %s", problem)
    return differing


def announce_closed_windows(store, line, config) -> list[str]:
    """Tell each campaign's owner its results once a run's attribution window closes.

    Exactly once per run: the notice is claimed by a unique key before the push, and
    the push carries a retry key derived from the run, so a retry after a crash
    (claimed, not marked sent) reaches LINE as the same request (409, delivered once).
    """
    now = utcnow()
    told = []
    retry = {doc["_id"] for doc in store.unfinished_notices()}
    for campaign in store.list_campaigns():
        window = timedelta(days=int(campaign.get("window_days") or 7))
        for run in campaign.get("runs") or []:
            started = store.run_started_at(run["run_id"])
            if started is None or not now - NEWS_FOR <= started + window <= now:
                continue
            key = f"window:{run['run_id']}"
            claimed = key in retry or store.claim_notice(key)
            if claimed and _push_results(store, line, config, campaign, run["run_id"], key):
                told.append(run["run_id"])
    return told


def _push_results(store, line, config, campaign: dict, run_id: str, key: str) -> bool:
    """Every owner in their language, keyed by run and owner; False to try again later."""
    report = campaign_report(store, campaign["_id"], now=utcnow(), config=config)
    run = next((r for r in report.runs if r.run_id == run_id), None)
    done = True
    for owner_id in sorted(config.ADMIN_LINE_USER_IDS) if run else []:
        t = translator_for(store.member_by_line_id(owner_id) or {}, config)
        body = t._(
            "Campaign %(id)s “%(name)s”: its %(days)s-day attribution window has closed.",
            id=campaign["_id"],
            name=campaign.get("name", ""),
            days=t.number(report.window_days),
        )
        body += "\n" + headline(t, run.results, report.settings.currency)
        message = text(body, items=[report_button(t, campaign["_id"])])
        try:
            line.push(owner_id, [message], retry_key=retry_key_for(key, owner_id))
        except LineApiError as error:
            log.warning("results push for %s failed (%s)", run_id, error.status)
            done = done and error.permanent
    if done:
        store.finish_notice(key)
    return done and run is not None
