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

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.analytics import rollups
from bot.analytics import settings as report_settings
from bot.analytics.settings import ReportSettings
from bot.analytics.stats import (
    Interval,
    Sample,
    mean_interval,
    newcombe_difference,
    welch_difference,
    wilson,
)
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
    campaign = store.campaign(campaign_id)
    if campaign is None:
        return None
    settings = report_settings.load(store)
    touches = _touches(store)
    runs = []
    pooled = {"treatment": _Group(), "holdout": _Group()}
    cost = Cost()
    for run in (t for t in touches if t.campaign_id == campaign_id):
        coupons = store.run_coupons(run.run_id)
        counts = delivery_counts(store, run.run_id, coupons)
        groups, discounts = _attribute(store, run, counts, coupons, touches, now, config)
        run_cost = _cost(counts, discounts, settings)
        runs.append(
            RunReport(
                run.run_id,
                run.started_at,
                run.window_end,
                now >= run.window_end,
                counts,
                results(groups["treatment"], groups["holdout"], run_cost),
            )
        )
        pooled = {name: group + groups[name] for name, group in pooled.items()}
        cost = _add_costs(cost, run_cost)
    return CampaignReport(
        campaign_id=campaign_id,
        name=campaign.get("name", ""),
        status=campaign.get("status", ""),
        window_days=_window_days(campaign),
        runs=runs,
        total=results(pooled["treatment"], pooled["holdout"], cost),
        counts=_sum_counts([r.counts for r in runs]),
        settings=settings,
    )


# -- who was in which run --------------------------------------------------------------------


@dataclass(frozen=True)
class _Touch:
    campaign_id: str
    run_id: str
    started_at: datetime
    window_end: datetime


def _window_days(campaign: dict) -> int:
    return int(campaign.get("window_days") or 7)


def _touches(store: Store) -> list[_Touch]:
    """Every campaign run that wrote an audience, oldest first."""
    touches = []
    for campaign in store.list_campaigns():
        run_ids = [run["run_id"] for run in campaign.get("runs") or []]
        if campaign.get("run_id") and campaign["run_id"] not in run_ids:
            run_ids.append(campaign["run_id"])
        window = timedelta(days=_window_days(campaign))
        for run_id in run_ids:
            started = store.run_started_at(run_id)
            if started is not None:
                touches.append(_Touch(campaign["_id"], run_id, started, started + window))
    return sorted(touches, key=lambda t: (t.started_at, t.run_id))


ELIGIBLE_TREATMENT = ("skipped_optout", "skipped_blocked")  # never in the holdout draw


def _membership(store: Store, touch: _Touch, members: set[str]) -> dict[str, str]:
    """member → "treatment" or "holdout" in a run, for the given members only."""
    found = {}
    for row in store.stream_run_rows(touch.campaign_id, touch.run_id):
        if row["member_id"] in members and row["status"] not in ELIGIBLE_TREATMENT:
            found[row["member_id"]] = "holdout" if row["status"] == "holdout" else "treatment"
    return found


def group_sizes(counts: DeliveryCounts) -> tuple[int, int]:
    """(treatment, holdout) members of a run, intention to treat."""
    treatment = counts.targeted - counts.held_out - counts.blocked - counts.opted_out
    return treatment, counts.held_out


# -- attribution -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Group:
    """One group's members and the revenue attributed to each of them."""

    sample: Sample = field(default_factory=Sample)
    purchasers: int = 0

    def __add__(self, other: _Group) -> _Group:
        return _Group(self.sample + other.sample, self.purchasers + other.purchasers)


def _attribute(store, run: _Touch, counts, coupon_docs: list[dict], touches, now, config):
    """Both groups of one run with their attributed revenue, and coupon discounts used.

    The window's purchases come from the day rollups (a week is a handful of
    documents read by `_id`), never from a scan of raw purchases.
    """
    end = min(run.window_end, now)
    purchases = defaultdict(list)
    for purchase in rollups.purchases_between(store, run.started_at, end, config.tz):
        purchases[purchase["member_id"]].append(purchase)
    coupons = {c["_id"]: c for c in coupon_docs}
    members = _membership(store, run, set(purchases))
    later = [t for t in touches if run.started_at < t.started_at < end and t.run_id != run.run_id]
    later_members = {t.run_id: _membership(store, t, set(members)) for t in later}

    revenue: dict[str, int] = defaultdict(int)
    for member_id in members:
        for purchase in purchases[member_id]:
            if _counts_for_run(store, run, purchase, coupons, later, later_members):
                revenue[member_id] += purchase["amount"]

    sizes = dict(zip(("treatment", "holdout"), group_sizes(counts), strict=True))
    groups = {}
    for name, size in sizes.items():
        values = [amount for m, amount in revenue.items() if members[m] == name]
        total = sum(values)
        groups[name] = _Group(
            Sample(size, total, sum(v * v for v in values)), sum(1 for v in values if v > 0)
        )
    amounts = {p["_id"]: p["amount"] for ps in purchases.values() for p in ps}
    discounts = sum(_discount(store, coupon, amounts) for coupon in coupons.values())
    return groups, discounts


def _counts_for_run(store, run, purchase, coupons, later, later_members) -> bool:
    """The attribution rule (module docstring) for one purchase inside the run's window."""
    code = purchase.get("coupon")
    if code:
        if code in coupons:
            return True
        source = store.coupon_source(code) or {}
        if source.get("type") == "campaign":
            return False  # another campaign's coupon: that campaign's purchase
    member_id, at = purchase["member_id"], purchase["created_at"]
    return not any(
        touch.started_at <= at < touch.window_end and member_id in later_members[touch.run_id]
        for touch in later
    )


def _discount(store: Store, coupon: dict, amounts: dict[str, int]) -> int:
    """What a used coupon took off: its amount, or its percent of the purchase it went with."""
    if coupon.get("status") != "used":
        return 0
    if coupon.get("kind") == "percent":
        purchase_id = coupon.get("purchase_id")
        amount = amounts.get(purchase_id) if purchase_id in amounts else None
        if amount is None and purchase_id:
            amount = store.purchase_amount(purchase_id)
        return (amount or 0) * coupon.get("value", 0) // 100
    return coupon.get("value", 0)  # amount off; free items and BOGO at the value set on them


# -- counts and money ------------------------------------------------------------------------


def delivery_counts(store: Store, run_id: str, coupons: list[dict] | None = None) -> DeliveryCounts:
    """What happened to a run's members, its unique clicks and its coupons (`coupons`:
    the run's, when the caller has read them already)."""
    tally = store.run_counts(run_id)
    coupons = store.run_coupons(run_id) if coupons is None else coupons
    return DeliveryCounts(
        targeted=sum(tally.values()),
        held_out=tally.get("holdout", 0),
        sent=tally.get("sent", 0),
        failed=tally.get("failed", 0),
        blocked=tally.get("skipped_blocked", 0),
        opted_out=tally.get("skipped_optout", 0),
        capped=tally.get("capped", 0),
        pending=tally.get("pending", 0),
        clicks=store.click_count(run_id=run_id),
        coupons_issued=len(coupons),
        coupons_redeemed=sum(1 for c in coupons if c.get("status") == "used"),
    )


def _sum_counts(all_counts: list[DeliveryCounts]) -> DeliveryCounts:
    names = DeliveryCounts.__dataclass_fields__
    return DeliveryCounts(**{n: sum(getattr(c, n) for c in all_counts) for n in names})


def _cost(counts: DeliveryCounts, discounts: int, settings: ReportSettings) -> Cost:
    messages = counts.sent * settings.message_cost
    return Cost(counts.sent, messages, discounts, messages + discounts)


def _add_costs(a: Cost, b: Cost) -> Cost:
    return Cost(
        a.messages + b.messages,
        a.message_cost + b.message_cost,
        a.coupon_discounts + b.coupon_discounts,
        a.total + b.total,
    )


def _group_result(group: _Group) -> GroupResult:
    sample = group.sample
    return GroupResult(
        members=sample.n,
        purchasers=group.purchasers,
        revenue=sample.total,
        conversion=group.purchasers / sample.n if sample.n else None,
        conversion_ci=wilson(group.purchasers, sample.n),
        revenue_per_member=sample.mean,
        revenue_per_member_ci=mean_interval(sample),
    )


def results(treatment: _Group, holdout: _Group, cost: Cost) -> Results:
    """Treatment against holdout: uplift, incremental revenue, cost and return."""
    t, h = _group_result(treatment), _group_result(holdout)
    if not t.members:
        return Results(t, h, cost=cost, verdict="no_data")
    if not h.members:
        return Results(t, h, cost=cost, verdict="no_holdout")
    uplift = t.conversion - h.conversion
    uplift_ci = newcombe_difference(t.purchasers, t.members, h.purchasers, h.members)
    per_member = t.revenue_per_member - h.revenue_per_member
    per_member_ci = welch_difference(treatment.sample, holdout.sample)
    incremental = Estimate(
        per_member * t.members, per_member_ci.scaled(t.members) if per_member_ci else None
    )
    returned = Estimate()
    if cost.total > 0:
        returned = Estimate(
            incremental.value / cost.total,
            incremental.ci.scaled(1 / cost.total) if incremental.ci else None,
        )
    return Results(
        treatment=t,
        holdout=h,
        uplift=Effect(uplift, uplift_ci, uplift / h.conversion if h.conversion else None),
        revenue_uplift=Effect(
            per_member,
            per_member_ci,
            per_member / h.revenue_per_member if h.revenue_per_member else None,
        ),
        incremental_revenue=incremental,
        cost=cost,
        return_per_baht=returned,
        verdict=verdict(t.members, h.members, uplift_ci),
    )


def verdict(treated: int, held_out: int, interval: Interval | None) -> str:
    """Only a large enough sample whose interval leaves out zero is a result."""
    if treated < MIN_GROUP or held_out < MIN_GROUP or interval is None:
        return "inconclusive"
    if interval.contains_zero:
        return "inconclusive"
    return "positive" if interval.low > 0 else "negative"


def significant(estimate: Estimate | Effect, treated: int, held_out: int) -> bool:
    """Is a revenue figure more than noise? Same rule as the verdict."""
    return verdict(treated, held_out, estimate.ci) != "inconclusive"
