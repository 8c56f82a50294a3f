"""`/stats`: the merchant's KPIs match the purchases, points and members behind them.

Four members of a shop with two branches; today is Wednesday 25 November 2026 (10:00,
Bangkok), so `/stats 7d` covers 19–25 November against 12–18 November (and 5–11
November for last period's retention):

  5–11 Nov   Anna ฿100 (asoke)
  12–18 Nov  Anna ฿100 (asoke), Ben ฿200 (siam), Chai ฿50 (asoke)
  19–25 Nov  Anna ฿100 Fri 14:30 (asoke) and ฿300 Sun 11:00 (siam), Ben ฿150 Mon 09:00
             (asoke), Dao ฿400 Tue 18:00 (asoke, joined on the 20th); Chai ฿999 on the
             21st, voided. Ben redeems a 10-point reward on the 23rd.

This week: 4 purchases, ฿950, 3 buyers (Anna twice: repeat rate 1/3), average ฿237.50;
retention 2/3 (Anna and Ben of Anna, Ben and Chai). Last week: 3 purchases, ฿350, average
฿116.67, retention 1/1. Points (1 per ฿25): issued 4 + 12 + 6 + 16 = 38 earned plus Dao's
50 signup bonus = 88 this week (Chai's 39 earned and reversed), 4 + 8 + 2 = 14 last week;
redeemed 10; outstanding 4 × 50 signup + 56 earned − 10 = 246, 246 − (88 − 10) = 168 a
week ago, worth ฿61.50 at ฿0.25 a point.
"""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from bot.analytics import kpis
from bot.loyalty import points, rewards
from bot.store import utcnow
from simulator import user_id_for

BANGKOK = ZoneInfo("Asia/Bangkok")
NOW = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)  # Wednesday 10:00 in Bangkok


def local(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=BANGKOK).astimezone(UTC)


def add_member(store, name: str, joined: datetime) -> dict:
    with time_machine.travel(joined, tick=False):
        store.db.members.insert_one(
            {
                "_id": name.lower(),
                "line_user_id": user_id_for(name.lower()),
                "status": "member",
                "locale": "en",
                "points": 0,
                "ledger_seq": 0,
                "reachable": True,
                "joined_at": utcnow(),
                "created_at": utcnow(),
                "profile": {"first_name": name},
            }
        )
        points.award_signup_bonus(store, name.lower(), BANGKOK)
    return store.member_by_id(name.lower())


def buy(store, member_id: str, at: datetime, baht: int, branch: str) -> dict:
    with time_machine.travel(at, tick=False):
        member = store.member_by_id(member_id)
        return points.earn(store, member, baht * 100, branch, "staff", None, BANGKOK).purchase


@pytest.fixture
def shop(store):
    store.add_branch("asoke", "Asoke")
    store.add_branch("siam", "Siam Square")
    store.add_branch("ari", "Ari")
    october = local(1, 12) - timedelta(days=55)
    for name in ("Anna", "Ben", "Chai"):
        add_member(store, name, october)
    add_member(store, "Dao", local(20, 9))
    store.record_follow(user_id_for("visitor"), "th")  # follows, never joins
    buy(store, "anna", local(6, 12), 100, "asoke")
    buy(store, "anna", local(14, 12), 100, "asoke")
    buy(store, "ben", local(14, 13), 200, "siam")
    buy(store, "chai", local(14, 15), 50, "asoke")
    buy(store, "anna", local(20, 14, 30), 100, "asoke")
    buy(store, "anna", local(22, 11), 300, "siam")
    buy(store, "ben", local(23, 9), 150, "asoke")
    buy(store, "dao", local(24, 18), 400, "asoke")
    voided = buy(store, "chai", local(21, 16), 999, "asoke")
    with time_machine.travel(local(21, 17), tick=False):
        points.void(store, voided["_id"], "staff", BANGKOK)
    store.add_reward(
        {
            "_id": "WTEA",
            "points": 10,
            "stock": 5,
            "taken": 0,
            "active": True,
            "names": {"default": "Tea"},
        }
    )
    with time_machine.travel(local(23, 9, 5), tick=False):
        done = rewards.redeem(store, store.member_by_id("ben"), "WTEA", "n1", "2026-11-23")
        assert done.refused is None


def test_the_kpis_match_the_hand_counted_week(shop, store, services):
    k = kpis.merchant_kpis(store, period="7d", now=NOW, config=services.config)

    assert (k.start.isoformat(), k.end.isoformat()) == ("2026-11-19", "2026-11-25")
    assert (k.purchases.value, k.purchases.previous) == (4, 3)
    assert (k.revenue.value, k.revenue.previous) == (95_000, 35_000)
    assert k.average_ticket.value == 23_750
    assert k.average_ticket.previous == pytest.approx(11_666.67, abs=0.01)
    assert (k.active_members.value, k.active_members.previous) == (3, 3)
    assert k.retention.value == pytest.approx(2 / 3)
    assert k.retention.previous == 1.0
    assert k.repeat_rate.value == pytest.approx(1 / 3)
    assert k.repeat_rate.previous == 0
    assert (k.members_total.value, k.members_total.previous) == (4, 3)
    assert (k.members_new.value, k.members_new.previous) == (1, 0)
    assert [(s.stage, s.count) for s in k.funnel] == [
        ("followers", 5),
        ("members", 4),
        ("first_purchase", 4),
        ("repeat", 2),
        ("top_tier", 0),
    ]
    assert k.funnel[1].conversion == pytest.approx(0.8)
    assert (k.points_issued.value, k.points_issued.previous) == (88, 14)
    assert (k.points_redeemed.value, k.points_redeemed.previous) == (10, 0)
    assert k.points_expired.value == 0
    assert (k.points_outstanding.value, k.points_outstanding.previous) == (246, 168)
    assert k.liability.value == 246 * 25
    assert k.clv.value == pytest.approx(140_000 / 4)
    assert [(r.reward_id, r.count) for r in k.top_rewards] == [("WTEA", 1)]
    branches = {b.branch: b for b in k.branches}
    assert (branches["asoke"].revenue.value, branches["asoke"].revenue.previous) == (65_000, 15_000)
    assert (branches["siam"].revenue.value, branches["siam"].revenue.previous) == (30_000, 20_000)
    assert branches["ari"].revenue.value == 0 and branches["ari"].average_ticket.value is None
    assert k.heatmap[4][14] == 1  # Friday 14:00
    assert sum(map(sum, k.heatmap)) == 4
    assert [(d.date.day, d.revenue) for d in k.daily if d.revenue] == [
        (20, 10_000),
        (22, 30_000),
        (23, 15_000),
        (24, 40_000),
    ]


def test_retention_cohorts_group_members_by_their_first_month(shop, store, services):
    cohorts = kpis.retention_cohorts(store, months=3, now=NOW, config=services.config)

    assert [(c.month, c.size, c.shares) for c in cohorts] == [("2026-11", 4, [1.0])]


def test_a_branch_counts_only_its_purchases(shop, store, services):
    k = kpis.merchant_kpis(store, period="7d", branch="siam", now=NOW, config=services.config)

    assert (k.purchases.value, k.revenue.value, k.active_members.value) == (1, 30_000, 1)
    assert k.retention.value == 0  # Ben bought at Siam last week, not this week


def test_the_owner_reads_the_same_numbers_in_chat(shop, owner):
    with time_machine.travel(NOW, tick=False):
        replies = owner.says("/stats 7d")

    rows = flex_rows(replies[-1])
    assert rows["Revenue"] == ("฿950.00", "+171.4%")
    assert rows["Purchases"] == ("4", "+33.3%")
    assert rows["Average ticket"] == ("฿237.50", "+103.6%")
    assert rows["Retention"] == ("66.7%", "−33.3")
    assert rows["All members"] == ("4", "+33.3%")
    assert rows["Members"] == ("4 (80.0%)",)
    assert rows["Outstanding"] == ("246", "+46.4%")
    assert rows["Liability"] == ("฿61.50", "+46.4%")
    assert rows["First purchase"] == ("4 (100.0%)",)
    header = [c["text"] for c in replies[-1]["contents"]["header"]["contents"]]
    assert header[1] == "Last 7 days"
    button = replies[-1]["contents"]["footer"]["contents"][-1]["action"]
    assert button["text"] == "/dashboard"


def test_unknown_periods_and_branches_get_the_usage(shop, owner):
    for wrong in ("/stats 2w", "/stats 7d nowhere", "/stats 7d 30d"):
        assert owner.says(wrong)[-1]["text"].startswith("Usage: /stats")


def test_a_shop_without_purchases_says_no_data_yet(owner):
    replies = owner.says("/stats")

    texts = flex_texts(replies[-1])
    assert "No data yet." in texts
    assert "Last 30 days" in texts


def test_a_branch_and_period_without_buyers_show_zeros(shop, owner, store, services):
    k = kpis.merchant_kpis(store, period="7d", branch="ari", now=NOW, config=services.config)
    assert (k.purchases.value, k.revenue.value, k.active_members.value) == (0, 0, 0)
    assert (k.retention.value, k.repeat_rate.value, k.average_ticket.value) == (None, None, None)

    with time_machine.travel(NOW, tick=False):
        rows = flex_rows(owner.says("/stats 7d ari")[-1])
    assert rows["Revenue"] == ("฿0.00", "")
    assert rows["Retention"] == ("—", "")


def test_the_owner_sets_the_cost_of_a_message_and_the_value_of_a_point(owner, store):
    reply = owner.says("/stats set message_cost 0.15")[-1]["text"]
    assert reply == "Saved: a message costs ฿0.15, a point is worth ฿0.25."
    assert owner.says("/stats set point_value 1")[-1]["text"].endswith("a point is worth ฿1.00.")
    assert owner.says("/stats set colour blue")[-1]["text"].startswith("Usage: /stats")


def test_members_cannot_see_the_stats(member):
    assert all(reply["type"] == "text" for reply in member.says("/stats"))


def flex_texts(message: dict) -> list[str]:
    found = []

    def walk(node):
        if isinstance(node, dict):
            if node.get("type") == "text":
                found.append(node["text"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(message["contents"])
    return found


def flex_rows(message: dict) -> dict[str, tuple]:
    """label → (value, change) of the summary's rows."""
    rows = {}
    for row in message["contents"]["body"]["contents"]:
        if row.get("layout") == "horizontal":
            texts = [c["text"].strip() for c in row["contents"]]
            rows[texts[0]] = tuple(texts[1:])
    return rows
