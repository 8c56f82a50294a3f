"""Zero-argument job entry points, so APScheduler's MongoDB job store can persist jobs.

The job store pickles a job's function reference and arguments; clients cannot be
pickled, so jobs name one of these functions and find the worker's clients here.
"""

from __future__ import annotations

from bot.sending import Sender
from jobs import (
    campaign_jobs,
    journey_jobs,
    maintenance,
    points_jobs,
    report_jobs,
    segment_jobs,
)

RUNTIME: dict = {}  # store, line, config: set by jobs.scheduler.build_scheduler


def _sender() -> Sender:
    return Sender(RUNTIME["store"], RUNTIME["line"], RUNTIME["config"])


def expire_points() -> int:
    return points_jobs.expire_points(RUNTIME["store"])


def reevaluate_tiers() -> int:
    return points_jobs.reevaluate_tiers(RUNTIME["store"])


def score_rfm() -> dict:
    return segment_jobs.score_rfm(RUNTIME["store"])


def expire_redemptions() -> int:
    return points_jobs.expire_redemptions(RUNTIME["store"], RUNTIME["line"], RUNTIME["config"])


def run_campaigns() -> list:
    sender = _sender()
    journey_jobs.resume_journeys(sender)
    return campaign_jobs.run_due(sender)


def run_journeys() -> dict:
    return journey_jobs.run_journeys(_sender())


def prune_webhook_events() -> int:
    return maintenance.prune_webhook_events(RUNTIME["store"])


def prune_erasures() -> int:
    return maintenance.prune_erasures(RUNTIME["store"])


def drop_stale_conversations() -> int:
    return maintenance.drop_stale_conversations(RUNTIME["store"])


def refresh_member_rollup() -> dict:
    return report_jobs.refresh_members(RUNTIME["store"], RUNTIME["config"])


def rebuild_rollups() -> list:
    return report_jobs.rebuild_rollups(RUNTIME["store"], RUNTIME["config"])


def announce_campaign_results() -> list:
    return report_jobs.announce_closed_windows(RUNTIME["store"], RUNTIME["line"], RUNTIME["config"])
