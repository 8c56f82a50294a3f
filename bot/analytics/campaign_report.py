"""What each campaign earned: treatment against holdout within the attribution window.

Definitions (DESIGN §8, README "Measuring what works"):

- A run starts when its audience is written (its first batch); its window is the
  campaign's `window_days` from then. Both groups are measured from the same moment.
- Treatment = members assigned to treatment among those eligible for the holdout draw
  (reachable, with marketing consent), whether or not the message reached them
  (intention to treat: capped, failed and erased members stay in). Holdout = members
  the hash held back. Members skipped for opt-out or block were never eligible.
- A member converts with at least one attributed purchase in the window; revenue is
  the sum of their attributed purchases there.
- Attribution, so no purchase counts for two campaigns: a purchase made with a coupon
  counts for the run that issued the coupon (inside that run's window) and for no
  other run. Any other purchase counts for the run, among those the member was in
  (either group) whose window holds it, that started last before it (last touch).
  Journeys are not touches.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from bot.analytics.settings import ReportSettings
from bot.analytics.stats import Interval
from bot.config import Config
from bot.store import Store

MIN_GROUP = 30  # fewer members than this in either group: too few to tell


@dataclass(frozen=True)
class DeliveryCounts:
    targeted: int = 0
    held_out: int = 0
    sent: int = 0
    failed: int = 0
    blocked: int = 0
    opted_out: int = 0
    capped: int = 0
    pending: int = 0
    clicks: int = 0  # unique: members who tapped at least once
    coupons_issued: int = 0
    coupons_redeemed: int = 0


@dataclass(frozen=True)
class GroupResult:
    members: int = 0
    purchasers: int = 0
    revenue: int = 0  # minor units, attributed purchases in the window
    conversion: float | None = None
    conversion_ci: Interval | None = None
    revenue_per_member: float | None = None  # minor units
    revenue_per_member_ci: Interval | None = None


@dataclass(frozen=True)
class Effect:
    """Treatment minus holdout, with its 95% interval; relative = absolute ÷ holdout."""

    absolute: float | None = None
    ci: Interval | None = None
    relative: float | None = None


@dataclass(frozen=True)
class Estimate:
    value: float | None = None
    ci: Interval | None = None


@dataclass(frozen=True)
class Cost:
    messages: int = 0
    message_cost: int = 0  # minor units
    coupon_discounts: int = 0  # minor units, coupons actually used
    total: int = 0


@dataclass(frozen=True)
class Results:
    treatment: GroupResult = field(default_factory=GroupResult)
    holdout: GroupResult = field(default_factory=GroupResult)
    uplift: Effect = field(default_factory=Effect)  # conversion, in shares
    revenue_uplift: Effect = field(default_factory=Effect)  # revenue per member
    incremental_revenue: Estimate = field(default_factory=Estimate)
    cost: Cost = field(default_factory=Cost)
    return_per_baht: Estimate = field(default_factory=Estimate)  # incremental revenue ÷ cost
    verdict: str = "no_data"  # positive, negative, inconclusive, no_holdout, no_data


@dataclass(frozen=True)
class RunReport:
    run_id: str
    started_at: datetime | None
    window_end: datetime | None
    window_closed: bool
    counts: DeliveryCounts
    results: Results


@dataclass(frozen=True)
class CampaignReport:
    campaign_id: str
    name: str
    status: str
    window_days: int
    runs: list[RunReport]
    total: Results
    counts: DeliveryCounts
    settings: ReportSettings


def campaign_report(
    store: Store, campaign_id: str, *, now: datetime, config: Config
) -> CampaignReport | None:
    """Every run of a campaign and their total; None if there is no such campaign."""
    raise NotImplementedError
