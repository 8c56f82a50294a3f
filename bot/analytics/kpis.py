"""The merchant's KPIs for a period, each against the period before (DESIGN §8).

Purchases are read from the day rollups (one document per local date, see
`bot/analytics/rollups.py`), points from the points rollups, member counts from the
member snapshot the worker refreshes — never from a scan of raw purchases.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from bot.analytics import rollups
from bot.analytics import settings as report_settings
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
    names: dict  # locale or "default" → name (bot.loyalty.rewards.reward_name picks one)
    count: int  # redemptions in the period, less those refunded
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
    period, branch = None, None
    for word in (w.lower() for w in words):
        if word in PERIODS and period is None:
            period = word
        elif word in branches and branch is None:
            branch = word
        else:
            raise UsageError(word)
    return period or DEFAULT_PERIOD, branch


@dataclass
class _Tally:
    """Purchases of one period, from the day rollups."""

    purchases: int = 0
    revenue: int = 0
    buyers: Counter = field(default_factory=Counter)
    branches: dict = field(default_factory=lambda: defaultdict(_BranchTally))

    def add(self, branch: str, member_id: str, amount: int) -> None:
        self.purchases += 1
        self.revenue += amount
        self.buyers[member_id] += 1
        row = self.branches[branch]
        row.purchases += 1
        row.revenue += amount
        row.buyers.add(member_id)

    @property
    def average_ticket(self) -> float | None:
        return self.revenue / self.purchases if self.purchases else None

    @property
    def repeat_rate(self) -> float | None:
        repeat = sum(1 for n in self.buyers.values() if n >= 2)
        return repeat / len(self.buyers) if self.buyers else None


@dataclass
class _BranchTally:
    purchases: int = 0
    revenue: int = 0
    buyers: set = field(default_factory=set)


def _days(first: date, last: date):
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


def _retention(earlier: Counter | set, later: Counter | set) -> float | None:
    if not earlier:
        return None
    return sum(1 for member in earlier if member in later) / len(earlier)


def merchant_kpis(
    store: Store,
    *,
    period: str = DEFAULT_PERIOD,
    branch: str | None = None,
    now: datetime,
    config: Config,
) -> Kpis:
    """Every KPI for the period ending today (local), against the period before."""
    if period not in PERIODS:
        raise UsageError(period)
    length = timedelta(days=PERIODS[period])
    tz = config.tz
    end = now.astimezone(tz).date()
    start = end - length + timedelta(days=1)
    previous_start, previous_end = start - length, start - timedelta(days=1)
    earliest = previous_start - length  # the period before, for last period's retention

    snapshot = rollups.member_snapshot(store, tz)
    # No purchases before the first one: those days are not looked up at all.
    first_visit = snapshot.get("first_visit")
    first_day = first_visit.astimezone(tz).date() if first_visit else earliest
    current, previous, everywhere = _Tally(), _Tally(), _Tally()
    earlier_buyers: set[str] = set()
    heatmap = [[0] * 24 for _ in range(7)]
    daily = []
    for day in _days(earliest, end):
        packed = store.day_rollup(day.isoformat()) if day >= first_day else {}
        if day < previous_start:
            earlier_buyers.update(m for _b, _p, m, _a, _h in rollups.day_purchases(packed, branch))
            continue
        tally = current if day >= start else previous
        revenue = purchases = 0
        buyers = set()
        for code, _pid, member_id, amount, hour in rollups.day_purchases(packed):
            if day >= start:
                everywhere.add(code, member_id, amount)
            if branch is not None and code != branch:
                continue
            tally.add(code, member_id, amount)
            if day >= start:
                heatmap[day.weekday()][hour] += 1
                revenue, purchases = revenue + amount, purchases + 1
                buyers.add(member_id)
        if day >= start:
            daily.append(DayPoint(day, revenue, purchases, len(buyers)))

    flows = _points(store, tz, start, end, previous_start)
    value = report_settings.load(store).point_value
    joined = snapshot.get("joined") or {}
    new_now = sum(n for d, n in joined.items() if start.isoformat() <= d <= end.isoformat())
    new_before = sum(
        n for d, n in joined.items() if previous_start.isoformat() <= d <= previous_end.isoformat()
    )
    members = snapshot.get("members", 0)
    spend = snapshot.get("spend", 0)
    return Kpis(
        period=period,
        branch=branch,
        start=start,
        end=end,
        previous_start=previous_start,
        previous_end=previous_end,
        has_data=bool(current.purchases or previous.purchases or members),
        members_as_of=snapshot.get("at"),
        members_total=Metric(members, members - new_now),
        members_new=Metric(new_now, new_before),
        active_members=Metric(len(current.buyers), len(previous.buyers)),
        retention=Metric(
            _retention(previous.buyers, current.buyers), _retention(earlier_buyers, previous.buyers)
        ),
        repeat_rate=Metric(current.repeat_rate, previous.repeat_rate),
        purchases=Metric(current.purchases, previous.purchases),
        revenue=Metric(current.revenue, previous.revenue),
        average_ticket=Metric(current.average_ticket, previous.average_ticket),
        points_issued=Metric(flows["issued"][0], flows["issued"][1]),
        points_redeemed=Metric(flows["redeemed"][0], flows["redeemed"][1]),
        points_expired=Metric(flows["expired"][0], flows["expired"][1]),
        points_outstanding=Metric(flows["outstanding"][0], flows["outstanding"][1]),
        liability=Metric(flows["outstanding"][0] * value, flows["outstanding"][1] * value),
        clv=Metric(
            spend / members if members else None,
            (spend - everywhere.revenue) / (members - new_now) if members > new_now else None,
        ),
        clv_by_group=_values(snapshot.get("rfm")),
        clv_by_tier=_values(snapshot.get("tiers")),
        funnel=_funnel(snapshot),
        top_rewards=_top_rewards(store, flows["rewards"]),
        rfm_groups={g: v["members"] for g, v in (snapshot.get("rfm") or {}).items()},
        rfm_grid=_grid(snapshot.get("grid") or {}),
        branches=_branches(store, current, previous),
        heatmap=heatmap,
        daily=daily,
        sends=campaign_sends(store, start=start, end=end, config=config),
    )


def _values(groups: dict | None) -> dict[str, GroupValue]:
    return {
        name: GroupValue(
            v["members"], v["spend"], v["spend"] / v["members"] if v["members"] else None
        )
        for name, v in (groups or {}).items()
    }


def _funnel(snapshot: dict) -> list[FunnelStage]:
    counts = [
        snapshot.get("followers", 0),
        snapshot.get("members", 0),
        snapshot.get("buyers", 0),
        snapshot.get("repeat", 0),
        snapshot.get("top_tier_members", 0),
    ]
    stages = []
    for index, (stage, count) in enumerate(zip(FUNNEL, counts, strict=True)):
        before = counts[index - 1] if index else None
        stages.append(FunnelStage(stage, count, count / before if before else None))
    return stages


def _grid(cells: dict[str, int]) -> list[list[int]]:
    grid = [[0] * 5 for _ in range(5)]
    for key, count in cells.items():
        r, fm = (int(x) for x in key.split("-"))
        grid[r - 1][fm - 1] += count
    return grid


def _branches(store: Store, current: _Tally, previous: _Tally) -> list[BranchRow]:
    names = {b["_id"]: b.get("name", b["_id"]) for b in store.list_branches()}
    rows = []
    for code in sorted({*names, *current.branches, *previous.branches}):
        now_, before = current.branches.get(code), previous.branches.get(code)
        now_, before = now_ or _BranchTally(), before or _BranchTally()
        rows.append(
            BranchRow(
                branch=code,
                name=names.get(code, "—" if code == "_" else code),
                revenue=Metric(now_.revenue, before.revenue),
                purchases=Metric(now_.purchases, before.purchases),
                buyers=Metric(len(now_.buyers), len(before.buyers)),
                average_ticket=Metric(
                    now_.revenue / now_.purchases if now_.purchases else None,
                    before.revenue / before.purchases if before.purchases else None,
                ),
            )
        )
    return rows


ISSUED = ("earn", "bonus", "adjust_in", "void")
REDEEMED = ("redeem", "refund")


def _points(store: Store, tz, start: date, end: date, previous_start: date) -> dict:
    """Points moved in each period (from the UTC-hour rollups) and the balance owed."""

    def utc(day: date) -> datetime:
        return datetime.combine(day, time(0), tz).astimezone(UTC)

    bounds = (utc(start), utc(end + timedelta(days=1)))
    previous_bounds = (utc(previous_start), bounds[0])
    flows = {k: [0, 0] for k in ("issued", "redeemed", "expired", "net")}
    rewards: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    outstanding = 0
    for doc in store.points_rollups():
        day = date.fromisoformat(doc["_id"])
        for hour, buckets in doc.items():
            if hour == "_id" or not isinstance(buckets, dict):
                continue
            at = datetime.combine(day, time(int(hour)), UTC)
            moved = sum(v for k, v in buckets.items() if k != "rewards")
            outstanding += moved
            slot = (
                0
                if bounds[0] <= at < bounds[1]
                else 1
                if previous_bounds[0] <= at < previous_bounds[1]
                else None
            )
            if slot is None:
                continue
            flows["issued"][slot] += sum(buckets.get(k, 0) for k in ISSUED)
            flows["redeemed"][slot] -= sum(buckets.get(k, 0) for k in REDEEMED)
            flows["expired"][slot] -= buckets.get("expire", 0)
            flows["net"][slot] += moved
            for reward, count in (buckets.get("rewards") or {}).items():
                rewards[reward][slot] += count
    # The period ends now: the balance at its start is today's less what moved since.
    flows["outstanding"] = [outstanding, outstanding - flows["net"][0]]
    flows["rewards"] = rewards
    return flows


def _top_rewards(store: Store, counts: dict[str, list[int]], limit: int = 5) -> list[RewardCount]:
    ranked = sorted(
        ((rid, n) for rid, n in counts.items() if n[0] > 0), key=lambda item: (-item[1][0], item[0])
    )
    top = []
    for reward_id, (count, previous) in ranked[:limit]:
        reward = store.reward(reward_id) or {}
        top.append(RewardCount(reward_id, reward.get("names") or {}, count, previous))
    return top


def campaign_sends(store: Store, *, start: date, end: date, config: Config) -> list[CampaignSend]:
    """Campaign runs that started between two local dates (chart markers)."""
    tz = config.tz
    sends = []
    earliest = datetime.combine(start, time(0), tz).astimezone(UTC)
    for campaign in store.list_campaigns():
        run_ids = [
            run["run_id"]
            for run in campaign.get("runs") or []
            if run.get("finished_at") and run["finished_at"] >= earliest
        ]
        if campaign.get("run_id"):
            run_ids.append(campaign["run_id"])
        for run_id in run_ids:
            started = store.run_started_at(run_id)
            if started is None:
                continue
            day = started.astimezone(tz).date()
            if start <= day <= end:
                sends.append(CampaignSend(day, campaign["_id"], campaign.get("name", ""), run_id))
    return sorted(sends, key=lambda send: (send.date, send.campaign_id))


def retention_cohorts(
    store: Store, *, months: int = 12, now: datetime, config: Config
) -> list[Cohort]:
    """Members by the month of their first purchase (the last `months` months), and the
    share of each cohort who bought in each month after (month 0 is 1.0 by definition)."""
    tz = config.tz
    today = now.astimezone(tz).date()
    snapshot = rollups.member_snapshot(store, tz)
    first_visit = snapshot.get("first_visit")
    if first_visit is None:
        return []
    month_keys = []
    year, month = today.year, today.month
    for _ in range(months):
        month_keys.append(f"{year:04d}-{month:02d}")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    month_keys.reverse()
    first_month: dict[str, str] = {}
    active: dict[str, set[str]] = defaultdict(set)
    for day in _days(first_visit.astimezone(tz).date(), today):
        key = day.isoformat()[:7]
        for _b, _p, member_id, _a, _h in rollups.day_purchases(store.day_rollup(day.isoformat())):
            first_month.setdefault(member_id, key)
            if key in month_keys and first_month[member_id] in month_keys:
                active[key].add(member_id)
    cohorts = []
    for index, key in enumerate(month_keys):
        members = {m for m, first in first_month.items() if first == key}
        if not members:
            continue
        shares = [len(members & active[later]) / len(members) for later in month_keys[index:]]
        cohorts.append(Cohort(key, len(members), shares))
    return cohorts
