"""The merchant's KPIs for a period, each against the period before (DESIGN §8).

Purchases are read from the day rollups (one document per local date, see
`bot/analytics/rollups.py`), points from the points rollups, member counts from the
member snapshot the worker refreshes — never from a scan of raw purchases.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from bot.config import Config
from bot.store import Store

PERIODS = {"7d": 7, "30d": 30, "90d": 90, "12m": 365}
DEFAULT_PERIOD = "30d"
FUNNEL = ("followers", "members", "first_purchase", "repeat", "top_tier")


class UsageError(ValueError):
    """`/stats` arguments that name no period or branch."""


@dataclass(frozen=True)
class Metric:
    value: float | int | None
    previous: float | int | None = None

    @property
    def change(self) -> float | int | None:
        if self.value is None or self.previous is None:
            return None
        return self.value - self.previous

    @property
    def change_ratio(self) -> float | None:
        """Relative change; None when there is nothing to compare with."""
        if self.value is None or not self.previous:
            return None
        return (self.value - self.previous) / abs(self.previous)


@dataclass(frozen=True)
class FunnelStage:
    stage: str  # one of FUNNEL
    count: int
    conversion: float | None  # share of the stage before (None for the first)


@dataclass(frozen=True)
class GroupValue:
    members: int
    revenue: int  # minor units, since joining
    clv: float | None  # revenue per member


@dataclass(frozen=True)
class RewardCount:
    reward_id: str
    name: str
    count: int
    previous: int


@dataclass(frozen=True)
class BranchRow:
    branch: str  # code, "_" for purchases without a branch
    name: str
    revenue: Metric
    purchases: Metric
    buyers: Metric
    average_ticket: Metric


@dataclass(frozen=True)
class DayPoint:
    date: date
    revenue: int
    purchases: int
    buyers: int


@dataclass(frozen=True)
class CampaignSend:
    date: date
    campaign_id: str
    name: str
    run_id: str


@dataclass(frozen=True)
class Cohort:
    month: str  # YYYY-MM of the first purchase
    size: int
    shares: list[float]  # share who bought in month 0, 1, 2… after


@dataclass(frozen=True)
class Kpis:
    period: str
    branch: str | None
    start: date
    end: date
    previous_start: date
    previous_end: date
    has_data: bool
    members_as_of: datetime | None
    members_total: Metric
    members_new: Metric
    active_members: Metric
    retention: Metric
    repeat_rate: Metric
    purchases: Metric
    revenue: Metric
    average_ticket: Metric
    points_issued: Metric
    points_redeemed: Metric
    points_expired: Metric
    points_outstanding: Metric
    liability: Metric  # minor units: outstanding points × point value
    clv: Metric
    clv_by_group: dict[str, GroupValue] = field(default_factory=dict)
    clv_by_tier: dict[str, GroupValue] = field(default_factory=dict)
    funnel: list[FunnelStage] = field(default_factory=list)
    top_rewards: list[RewardCount] = field(default_factory=list)
    rfm_groups: dict[str, int] = field(default_factory=dict)
    rfm_grid: list[list[int]] = field(default_factory=list)  # [r - 1][fm - 1]
    branches: list[BranchRow] = field(default_factory=list)
    heatmap: list[list[int]] = field(default_factory=list)  # [weekday][hour]
    daily: list[DayPoint] = field(default_factory=list)
    sends: list[CampaignSend] = field(default_factory=list)


def parse_stats_args(words: list[str], branches: set[str]) -> tuple[str, str | None]:
    """`[7d|30d|90d|12m] [branch]` in any order → (period, branch); UsageError otherwise."""
    raise NotImplementedError


def merchant_kpis(
    store: Store,
    *,
    period: str = DEFAULT_PERIOD,
    branch: str | None = None,
    now: datetime,
    config: Config,
) -> Kpis:
    """Every KPI for the period ending today (local), against the period before."""
    raise NotImplementedError


def retention_cohorts(store: Store, *, months: int = 12, now: datetime, config: Config) -> list:
    """Members by the month of their first purchase, and who bought again each month after."""
    raise NotImplementedError
