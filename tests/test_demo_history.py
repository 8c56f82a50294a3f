"""The demo merchant's history: consistent with the real code, the same every time."""

from datetime import UTC, datetime

import pytest
import time_machine

from bot.analytics import rollups
from bot.analytics.campaign_report import campaign_report
from bot.demo import demo_history
from bot.marketing.segments import Clock, compile_filters
from bot.store import Store
from jobs import segment_jobs

NOW = datetime(2026, 11, 27, 5, 0, tzinfo=UTC)  # Friday noon in Bangkok
COLLECTIONS = (
    "members",
    "purchases",
    "ledger",
    "redemptions",
    "coupons",
    "deliveries",
    "batches",
    "batch_outcomes",
    "rollup_days",
    "rollup_points",
)


def test_a_small_history_is_what_the_real_code_would_have_written(store, services):
    """Ledger (checked after every test), stats, RFM and rollups all agree; once only."""
    tz = services.config.tz
    with time_machine.travel(NOW, tick=False):
        summary = demo_history.generate(store, now=NOW, tz=tz, members=80)

        assert summary.purchases > 500
        assert segment_jobs.rebuild_stats(store, tz, fix=False) == []
        assert rollups.check(store, tz) == []
        assert segment_jobs.score_rfm(store)["changed"] == 0  # as the nightly job scores

    assert store.campaign("KAT01")["status"] == "scheduled"
    assert store.campaign("KAT01")["next_run_at"] > NOW
    assert [s["_id"] for s in store.list_segments()] == ["afternoon", "lapsed"]
    assert all(r["stock"] is None or r["stock"] >= 0 for r in store.list_rewards())
    clock = Clock(now=NOW, today=NOW.astimezone(tz).date())
    assert store.count_members(compile_filters("hour:14-16 dow:mon-fri", clock)) > 5
    again = demo_history.generate(store, now=NOW, tz=tz, members=80)
    assert again.skipped
    assert store.db.purchases.count_documents({}) == summary.purchases


def test_the_same_seed_gives_the_same_history(store, services):
    twin = Store(store.client, store.db.name + "_twin")
    twin.ensure_indexes()
    try:
        for target in (store, twin):
            demo_history.generate(target, now=NOW, tz=services.config.tz, members=40)
        for name in COLLECTIONS:
            ours = list(store.db[name].find({}, {"updated_at": 0}).sort("_id"))
            theirs = list(twin.db[name].find({}, {"updated_at": 0}).sort("_id"))
            assert ours == theirs, name
    finally:
        store.client.drop_database(twin.db.name)


@pytest.mark.devdb_only(
    reason="600 members' history: the in-process fallback checks unique indexes by scanning, "
    "so its bulk inserts take a quarter of an hour"
)
def test_the_win_back_worked_and_the_menu_news_did_not(store, services):
    """600 members: enough for the win-back's holdout to show a significant uplift."""
    demo_history.generate(store, now=NOW, tz=services.config.tz, members=600)

    winback = campaign_report(store, "KWB01", now=NOW, config=services.config)
    news = campaign_report(store, "KNW01", now=NOW, config=services.config)

    assert winback.total.verdict == "positive"
    assert winback.total.uplift.ci.low > 0
    assert winback.counts.coupons_redeemed > 0
    assert winback.total.cost.coupon_discounts == winback.counts.coupons_redeemed * 3000
    assert news.total.verdict == "inconclusive"
