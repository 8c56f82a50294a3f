"""Campaign results from a hand-built history: every number against hand-computed values.

Campaign KA ran on Wednesday 25 November 2026 at 10:00 (Bangkok) to 100 members: 60 in
treatment (58 sent, 2 failed), 40 held out. Treatment members got a 20% coupon (10
issued). Within its 7-day window 24 treatment members bought ฿100 (5 of them with the
coupon) and 4 holdout members bought ฿100. Campaign KB went out two days later to three
of KA's treatment members, without a holdout.

Hand computation (satang):
  conversion 24/60 = 0.4 against 4/40 = 0.1: uplift 0.3 (relative 3.0)
    Wilson 24/60 = 0.28569–0.52634, 4/40 = 0.03958–0.23052
    Newcombe: 0.3 − √((0.4−0.28569)² + (0.23052−0.1)²) = 0.12650,
              0.3 + √((0.52634−0.4)² + (0.1−0.03958)²) = 0.44004
  revenue per member 240,000/60 = 4,000 against 40,000/40 = 1,000: difference 3,000
    variances 24,406,779.7 and 9,230,769.2; se 798.47; Welch df 97.47, t 1.98468
    interval 3,000 ± 1,584.64 = 1,415.36–4,584.64
  incremental revenue 3,000 × 60 = 180,000 (84,921.7–275,078.3)
  cost 58 messages × 10 + 5 coupons × 20% of 10,000 = 580 + 10,000 = 10,580
  return 180,000 / 10,580 = 17.0132 (8.0266–25.9998)
"""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from bot.analytics.campaign_report import campaign_report
from bot.loyalty import points, rewards
from bot.marketing import audience
from bot.members import privacy
from bot.store import utcnow
from jobs import report_jobs
from simulator import user_id_for

A_START = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)  # Wednesday 10:00 in Bangkok
B_START = A_START + timedelta(days=2)
REPORT_AT = A_START + timedelta(days=10)
BAHT_100 = 10_000
BANGKOK = ZoneInfo("Asia/Bangkok")  # the suite's TIMEZONE


@pytest.fixture
def people(store):
    """100 signed-up members who opted in (written as signup writes them, in one go)."""
    store.add_branch("asoke", "Asoke")
    joined = A_START - timedelta(days=30)
    docs = [
        {
            "_id": f"p{index:03d}",
            "line_user_id": user_id_for(f"p{index}"),
            "status": "member",
            "locale": "en",
            "points": 0,
            "ledger_seq": 0,
            "reachable": True,
            "followed_at": joined,
            "created_at": joined,
            "joined_at": joined,
            "code": f"P{index:04d}",
            "profile": {"first_name": f"P{index}"},
            "consents": [privacy.consent("marketing", True, "test")],
            "marketing_opt_in": True,
        }
        for index in range(100)
    ]
    store.db.members.insert_many(docs)
    return docs


def write_run(store, campaign_id, name, at, treatment, holdout, failed=(), window=7):
    """A finished run as the snapshot and the sender write it: rows, batch, outcome."""
    run_id = f"{campaign_id}-run1"
    with time_machine.travel(at, tick=False):
        store.insert_campaign(
            {
                "_id": campaign_id,
                "name": name,
                "status": "done",
                "filters": "",
                "template": "promotion",
                "content": {"title": name, "text": "Hi"},
                "holdout": 0.4 if holdout else 0,
                "schedule": {"type": "once", "at": at},
                "window_days": window,
                "created_by": user_id_for("owner"),
            }
        )
        ids = [m["_id"] for m in treatment]
        batch = {
            "_id": f"{run_id}:b0",
            "campaign_id": campaign_id,
            "run_id": run_id,
            "number": 0,
            "members": ids,
            "size": len(ids),
            "counts": {"holdout": len(holdout)} if holdout else {},
            "last_member": max(m["_id"] for m in [*treatment, *holdout]),
            "created_at": utcnow(),
        }
        others = [{"member_id": m["_id"], "status": "holdout"} for m in holdout]
        queue = {"line_ids": [m["line_user_id"] for m in treatment], "values": [], "others": others}
        store.add_batch(batch, queue)
        store.add_deliveries(
            [audience.delivery_row(campaign_id, run_id, m, "pending", batch=0) for m in ids]
            + [
                audience.delivery_row(campaign_id, run_id, r["member_id"], "holdout")
                for r in others
            ]
        )
        store.finish_batch(batch, {m["_id"]: "failed" for m in failed})
        store.push_run(
            campaign_id,
            {"run_id": run_id, "finished_at": utcnow(), "counts": store.run_counts(run_id)},
        )
    return run_id


def buy(store, member, at, amount=BAHT_100, coupon=None):
    """A ฿100 purchase at Asoke through the real earn path, at a given moment."""
    with time_machine.travel(at, tick=False):
        member = store.member_by_id(member["_id"])
        result = points.earn(store, member, amount, "asoke", "staff", None, BANGKOK)
        if coupon:
            assert rewards.redeem_with_coupon(store, coupon, result.purchase["_id"], "staff")
    return result.purchase


@pytest.fixture
def history(store, services, people):
    """The story in the module docstring."""
    treatment, holdout = people[:60], people[60:]
    run_a = write_run(store, "KA", "Tea week", A_START, treatment, holdout, failed=people[58:60])
    with time_machine.travel(A_START + timedelta(minutes=1), tick=False):
        coupons = [
            rewards.issue_coupon(
                store,
                m["_id"],
                "percent",
                20,
                None,
                0,
                14,
                source={"type": "campaign", "campaign_id": "KA", "run_id": run_a},
                key=f"campaign:{run_a}:{m['_id']}",
            )[0]["_id"]
            for m in people[:10]
        ]
    store.record_click(f"{run_a}:{people[0]['_id']}", run_a, "KA")
    store.record_click(f"{run_a}:{people[0]['_id']}", run_a, "KA")  # the same member again
    store.record_click(f"{run_a}:{people[7]['_id']}", run_a, "KA")
    run_b = write_run(store, "KB", "Cake day", B_START, people[:3], [])

    day1, day2, day3 = (A_START + timedelta(days=d, hours=3) for d in (1, 2, 3))
    buy(store, people[3], A_START - timedelta(days=1))  # before the campaign: not counted
    buy(store, people[0], day3, coupon=coupons[0])  # after KB started, but KA's coupon
    buy(store, people[1], day3)  # after KB started, no coupon: KB's (last touch)
    for index in range(2, 6):
        buy(store, people[index], day1, coupon=coupons[index])
    for index in range(6, 25):
        buy(store, people[index], day1 + timedelta(minutes=index))
    for index in range(60, 64):
        buy(store, people[index], day2)
    buy(store, people[70], A_START + timedelta(days=8))  # after the window
    voided = buy(store, people[65], day1)
    with time_machine.travel(day1 + timedelta(hours=1), tick=False):
        points.void(store, voided["_id"], "staff", BANGKOK)
    return run_a, run_b


def test_every_number_of_the_report_matches_the_hand_computation(history, store, services):
    """And each purchase is attributed once: a coupon to its campaign, the rest last touch."""
    report = campaign_report(store, "KA", now=REPORT_AT, config=services.config)

    assert [run.run_id for run in report.runs] == ["KA-run1"]
    assert report.runs[0].window_closed
    counts = report.counts
    assert (counts.targeted, counts.held_out, counts.sent, counts.failed) == (100, 40, 58, 2)
    assert (counts.blocked, counts.opted_out, counts.capped, counts.pending) == (0, 0, 0, 0)
    assert counts.clicks == 2
    assert (counts.coupons_issued, counts.coupons_redeemed) == (10, 5)

    r = report.total
    assert (r.treatment.members, r.treatment.purchasers, r.treatment.revenue) == (60, 24, 240_000)
    assert (r.holdout.members, r.holdout.purchasers, r.holdout.revenue) == (40, 4, 40_000)
    assert r.treatment.conversion == pytest.approx(0.4)
    assert r.holdout.conversion == pytest.approx(0.1)
    assert r.treatment.revenue_per_member == pytest.approx(4000)
    assert r.holdout.revenue_per_member == pytest.approx(1000)
    assert r.treatment.conversion_ci.low == pytest.approx(0.28569, abs=1e-5)
    assert r.treatment.conversion_ci.high == pytest.approx(0.52634, abs=1e-5)

    assert r.uplift.absolute == pytest.approx(0.3)
    assert r.uplift.relative == pytest.approx(3.0)
    assert r.uplift.ci.low == pytest.approx(0.12650, abs=1e-5)
    assert r.uplift.ci.high == pytest.approx(0.44004, abs=1e-5)
    assert r.revenue_uplift.absolute == pytest.approx(3000)
    assert r.revenue_uplift.ci.low == pytest.approx(1415.36, abs=0.01)
    assert r.revenue_uplift.ci.high == pytest.approx(4584.64, abs=0.01)
    assert r.incremental_revenue.value == pytest.approx(180_000)
    assert r.incremental_revenue.ci.low == pytest.approx(84_921.7, abs=0.1)
    assert r.incremental_revenue.ci.high == pytest.approx(275_078.3, abs=0.1)
    assert (r.cost.messages, r.cost.message_cost, r.cost.coupon_discounts) == (58, 580, 10_000)
    assert r.cost.total == 10_580
    assert r.return_per_baht.value == pytest.approx(17.0132, abs=1e-4)
    assert r.return_per_baht.ci.low == pytest.approx(8.0266, abs=1e-4)
    assert r.return_per_baht.ci.high == pytest.approx(25.9998, abs=1e-4)
    assert r.verdict == "positive"

    report = campaign_report(store, "KB", now=REPORT_AT, config=services.config)
    # KB's three members: P0 bought with KA's coupon (KA's), P1 bought after KB went out
    # (KB's, last touch), P2 bought before KB went out.
    treatment = report.total.treatment
    assert (treatment.members, treatment.purchasers, treatment.revenue) == (3, 1, BAHT_100)
    assert report.total.holdout.members == 0
    assert report.total.verdict == "no_holdout"


def test_the_owner_reads_the_results_in_campaign_show(history, owner):
    with time_machine.travel(REPORT_AT, tick=False):
        replies = owner.says("/campaign show KA")

    results = replies[-1]["text"]
    assert "Targeted 100 · held out 40 · sent 58 · failed 2" in results
    assert "Unique clicks 2 · coupons used 5 of 10" in results
    assert "Treatment: 24 of 60 bought (40.0%), ฿40.00 per member" in results
    assert "Holdout: 4 of 40 bought (10.0%), ฿10.00 per member" in results
    assert "Uplift: +30.0 percentage points (300.0%), 95% interval +12.7 to +44.0" in results
    assert "Incremental revenue: ฿1,800.00 (95% interval ฿849.22 to ฿2,750.78)" in results
    assert "Cost: ฿105.80 (58 messages ฿5.80, coupons ฿100.00)" in results
    assert "Return: ฿17.01 per ฿1.00 spent" in results
    assert "It worked" in results
    with time_machine.travel(REPORT_AT, tick=False):
        replies = owner.says("/campaign show KB")
    assert "No holdout: nothing to compare with." in replies[-1]["text"]


def test_the_owner_hears_once_when_each_window_closes(history, owner, store, services):
    line = services.line
    with time_machine.travel(A_START + timedelta(days=7, hours=1), tick=False):
        assert report_jobs.announce_closed_windows(store, line, services.config) == ["KA-run1"]
        assert report_jobs.announce_closed_windows(store, line, services.config) == []

    pushed = owner.inbox[-1]
    assert pushed["text"].startswith(
        "Campaign KA “Tea week”: its 7-day attribution window has closed.\n"
        "Uplift +30.0 percentage points, incremental revenue ฿1,800.00. It worked"
    )
    button = pushed["quickReply"]["items"][0]["action"]
    assert (button["label"], button["text"]) == ("Full report", "/campaign show KA")
    with time_machine.travel(B_START + timedelta(days=7, hours=1), tick=False):
        assert report_jobs.announce_closed_windows(store, line, services.config) == ["KB-run1"]
    assert len(owner.inbox) == 2
    assert owner.inbox[-1]["text"].endswith("No holdout: nothing to compare with.")
