"""Zero-argument job entry points, so APScheduler's MongoDB job store can persist jobs.

The job store pickles a job's function reference and arguments; clients cannot be
pickled, so jobs name one of these functions (single merchant) or `for_merchant`
with a slug (many merchants) and find the worker's clients here.
"""

from __future__ import annotations

from collections.abc import Callable

from bot.chat.context import Services
from bot.marketing.sending import Sender
from jobs import (
    campaign_jobs,
    journey_jobs,
    maintenance,
    points_jobs,
    report_jobs,
    richmenu_jobs,
    segment_jobs,
)

# Single merchant: store, line, config. Many merchants: "fleet", the worker that
# resolves a slug to its Services and says when a merchant's work must stop.
RUNTIME: dict = {}


def _campaigns(services: Services, should_stop: Callable[[], bool]) -> list:
    sender = Sender(services.store, services.line, services.config, halt=should_stop)
    journey_jobs.resume_journeys(sender)
    return campaign_jobs.run_due(sender, should_stop)


# Every job, as a function of one merchant's Services and a "stop now" check.
JOBS: dict[str, Callable[[Services, Callable[[], bool]], object]] = {
    "expire_points": lambda s, _stop: points_jobs.expire_points(s.store),
    "reevaluate_tiers": lambda s, _stop: points_jobs.reevaluate_tiers(s.store, s.config.tz),
    "score_rfm": lambda s, _stop: segment_jobs.score_rfm(s.store),
    "expire_redemptions": lambda s, _stop: points_jobs.expire_redemptions(
        s.store, s.line, s.config
    ),
    "run_campaigns": _campaigns,
    "run_journeys": lambda s, stop: journey_jobs.run_journeys(
        Sender(s.store, s.line, s.config, halt=stop)
    ),
    "prune_webhook_events": lambda s, _stop: maintenance.prune_webhook_events(s.store),
    "prune_erasures": lambda s, _stop: maintenance.prune_erasures(s.store),
    "drop_stale_conversations": lambda s, _stop: maintenance.drop_stale_conversations(s.store),
    "prune_rate_limits": lambda s, _stop: maintenance.prune_rate_limits(s.store),
    "refresh_member_rollup": lambda s, _stop: report_jobs.refresh_members(s.store, s.config),
    "rebuild_rollups": lambda s, _stop: report_jobs.rebuild_rollups(s.store, s.config),
    "announce_campaign_results": lambda s, _stop: report_jobs.announce_closed_windows(
        s.store, s.line, s.config
    ),
    "retry_menu_links": lambda s, _stop: richmenu_jobs.retry_menu_links(s.store, s.line, s.config),
}


def for_merchant(slug: str, name: str):
    """Run job `name` for one merchant; nothing if it was disabled or moved to another worker."""
    return RUNTIME["fleet"].run(slug, name)


def _single(name: str):
    services = Services(RUNTIME["config"], RUNTIME["store"], RUNTIME["line"], None)
    return JOBS[name](services, lambda: False)


def expire_points() -> int:
    return _single("expire_points")


def reevaluate_tiers() -> int:
    return _single("reevaluate_tiers")


def score_rfm() -> dict:
    return _single("score_rfm")


def expire_redemptions() -> int:
    return _single("expire_redemptions")


def run_campaigns() -> list:
    return _single("run_campaigns")


def run_journeys() -> dict:
    return _single("run_journeys")


def prune_webhook_events() -> int:
    return _single("prune_webhook_events")


def prune_erasures() -> int:
    return _single("prune_erasures")


def prune_rate_limits() -> int:
    return _single("prune_rate_limits")


def drop_stale_conversations() -> int:
    return _single("drop_stale_conversations")


def refresh_member_rollup() -> dict:
    return _single("refresh_member_rollup")


def rebuild_rollups() -> list:
    return _single("rebuild_rollups")


def announce_campaign_results() -> list:
    return _single("announce_campaign_results")


def retry_menu_links() -> dict:
    return _single("retry_menu_links")
