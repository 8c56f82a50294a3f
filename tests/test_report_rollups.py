"""Reports read rollups, never raw purchases: their numbers equal a recount of the raw data.

A small demo history (bulk-written, as `seed-demo` writes it) plus live purchases through
the real earn path — across branches and local midnights, one paid with a win-back
coupon, two voided (one of them twice) — then every period of `/stats`, for the whole
shop and for one branch, against the same figures counted straight from the purchases
and the ledger; and the win-back's results against a recount of its window's purchases.
"""

from collections import Counter
from datetime import UTC, datetime, time, timedelta

import pytest
import time_machine

from bot.analytics import kpis, rollups
from bot.analytics.campaign_report import campaign_report
from bot.demo import demo_history
from bot.loyalty import points, rewards
from bot.store.reports import ledger_bucket

NOW = datetime(2026, 11, 27, 5, 0, tzinfo=UTC)  # Friday noon in Bangkok


@pytest.fixture
def shop(store, services):
    """The demo history of 60 members, and a morning of live purchases and voids."""
    tz = services.config.tz
    demo_history.generate(store, now=NOW - timedelta(days=1), tz=tz, members=60)
    members = [m for m in store.db.members.find({"status": "member"}).sort("_id").limit(4)]
    winback = store.campaign("KWB01")["runs"][0]["run_id"]
    coupon = rewards.issue_coupon(
        store,
        members[0]["_id"],
        "amount",
        3000,
        None,
        0,
        14,
        source={"type": "campaign", "campaign_id": "KWB01", "run_id": winback},
        key=f"campaign:{winback}:{members[0]['_id']}:live",
    )[0]["_id"]
    bought = []
    moments = [NOW - timedelta(hours=h) for h in (20, 17, 16, 9, 5, 1)]  # around midnight
    for index, at in enumerate(moments):
        member = members[index % len(members)]
        with time_machine.travel(at, tick=False):
            fresh = store.member_by_id(member["_id"])
            branch = ("siam", "asoke", None)[index % 3]
            result = points.earn(store, fresh, 12_500 + index * 500, branch, "staff", None, tz)
            bought.append(result.purchase)
    with time_machine.travel(moments[0] + timedelta(minutes=5), tick=False):
        assert rewards.redeem_with_coupon(store, coupon, bought[0]["_id"], "staff")
    with time_machine.travel(NOW - timedelta(minutes=30), tick=False):
        points.void(store, bought[1]["_id"], "staff", tz)
        points.void(store, bought[1]["_id"], "staff", tz)  # twice: counted out once
        points.void(store, bought[4]["_id"], "staff", tz)
    return bought


def raw_kpis(store, tz, period: str, branch: str | None) -> dict:
    """The purchase and points figures of `/stats`, counted from purchases and ledger."""
    length = timedelta(days=kpis.PERIODS[period])
    end = NOW.astimezone(tz).date()
    start = end - length + timedelta(days=1)
    previous_start = start - length
    earliest = previous_start - length
    spans = {
        "current": (start, end),
        "previous": (previous_start, start - timedelta(days=1)),
        "earlier": (earliest, previous_start - timedelta(days=1)),
    }
    found = {name: {"n": 0, "revenue": 0, "buyers": Counter()} for name in spans}
    branches: dict = {}
    for purchase in store.db.purchases.find({"status": "active"}):
        day = datetime.fromisoformat(purchase["local_date"]).date()
        code = purchase.get("branch") or "_"
        for name, (low, high) in spans.items():
            if low <= day <= high and (branch is None or code == branch):
                if name != "earlier":
                    row = branches.setdefault((name, code), [0, 0, set()])
                    row[0], row[1] = row[0] + 1, row[1] + purchase["amount"]
                    row[2].add(purchase["member_id"])
                found[name]["n"] += 1
                found[name]["revenue"] += purchase["amount"]
                found[name]["buyers"][purchase["member_id"]] += 1
    current, previous, earlier = found["current"], found["previous"], found["earlier"]

    def retention(before, after):
        return sum(1 for m in before if m in after) / len(before) if before else None

    def utc(day):
        return datetime.combine(day, time(0), tz).astimezone(UTC)

    flows = {key: [0, 0] for key in ("issued", "redeemed", "expired", "net")}
    outstanding = 0
    for entry in store.db.ledger.find({}):
        outstanding += entry["amount"]
        at = entry["created_at"].replace(tzinfo=UTC)
        slot = 0 if utc(start) <= at < utc(end + timedelta(days=1)) else None
        slot = 1 if slot is None and utc(previous_start) <= at < utc(start) else slot
        if slot is None:
            continue
        bucket = ledger_bucket(entry)
        flows["issued"][slot] += entry["amount"] if bucket in kpis.ISSUED else 0
        flows["redeemed"][slot] -= entry["amount"] if bucket in kpis.REDEEMED else 0
        flows["expired"][slot] -= entry["amount"] if bucket == "expire" else 0
        flows["net"][slot] += entry["amount"]
    return {
        "purchases": (current["n"], previous["n"]),
        "revenue": (current["revenue"], previous["revenue"]),
        "active": (len(current["buyers"]), len(previous["buyers"])),
        "repeat": tuple(
            sum(1 for n in g["buyers"].values() if n >= 2) / len(g["buyers"])
            if g["buyers"]
            else None
            for g in (current, previous)
        ),
        "retention": (
            retention(previous["buyers"], current["buyers"]),
            retention(earlier["buyers"], previous["buyers"]),
        ),
        "branches": {
            code: (row[0], row[1], len(row[2]))
            for (name, code), row in branches.items()
            if name == "current"
        },
        "issued": tuple(flows["issued"]),
        "redeemed": tuple(flows["redeemed"]),
        "expired": tuple(flows["expired"]),
        "outstanding": (outstanding, outstanding - flows["net"][0]),
    }


@pytest.mark.parametrize("branch", [None, "siam"])
def test_every_period_equals_a_recount_of_the_raw_data(shop, store, services, branch):
    tz = services.config.tz
    rollups.refresh_members(store, tz, NOW)
    assert rollups.check(store, tz) == []  # after the coupon link and the voids too
    for period in kpis.PERIODS:
        found = kpis.merchant_kpis(
            store, period=period, branch=branch, now=NOW, config=services.config
        )
        raw = raw_kpis(store, tz, period, branch)

        def pair(metric):
            return (metric.value, metric.previous)

        assert pair(found.purchases) == raw["purchases"], period
        assert pair(found.revenue) == raw["revenue"], period
        assert pair(found.active_members) == raw["active"], period
        assert pair(found.repeat_rate) == raw["repeat"], period
        assert pair(found.retention) == raw["retention"], period
        assert pair(found.points_issued) == raw["issued"], period
        assert pair(found.points_redeemed) == raw["redeemed"], period
        assert pair(found.points_expired) == raw["expired"], period
        assert pair(found.points_outstanding) == raw["outstanding"], period
        rows = {
            row.branch: (row.purchases.value, row.revenue.value, row.buyers.value)
            for row in found.branches
            if row.purchases.value
        }
        assert rows == raw["branches"], period
        assert sum(p.revenue for p in found.daily) == raw["revenue"][0]
        assert sum(map(sum, found.heatmap)) == raw["purchases"][0]


def test_campaign_results_equal_a_recount_of_the_windows_purchases(shop, store, services):
    """The win-back's treatment and holdout revenue, from raw purchases and its rows."""
    report = campaign_report(store, "KWB01", now=NOW, config=services.config)
    run = report.runs[0]
    groups = {
        row["member_id"]: row["group"]
        for row in store.db.deliveries.find({"run_id": run.run_id})
        if row["status"] not in ("skipped_optout", "skipped_blocked")
    }
    revenue = Counter()
    for purchase in store.db.purchases.find({"status": "active"}):
        at = purchase["created_at"].replace(tzinfo=UTC)
        if purchase["member_id"] in groups and run.started_at <= at < run.window_end:
            revenue[groups[purchase["member_id"]]] += purchase["amount"]
    # No later campaign and no foreign coupon: every window purchase is the win-back's.
    assert report.total.treatment.revenue == revenue["treatment"]
    assert report.total.holdout.revenue == revenue["holdout"]
    assert report.total.treatment.revenue > 0
