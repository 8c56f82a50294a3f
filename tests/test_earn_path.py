"""The earn's short path: one member write, and what it keeps on the member stays right."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pymongo
import pytest
import time_machine
from pymongo import monitoring

from bot.loyalty import counter, points
from bot.members.behaviour import stats_from_purchases
from bot.store import Store
from bot.store.purchases import spend_since
from simulator import user_id_for

NOW = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)  # Wednesday 10:00 in Bangkok
BKK = ZoneInfo("Asia/Bangkok")
# Was 27, then 16: see docs/performance.md. 17 since the points rollup is kept per
# month too (reports read months, not a year of hourly documents: "Reports" there).
MAX_ROUND_TRIPS = 18  # one of them lists the new lot under the day it expires


class Commands(monitoring.CommandListener):
    def __init__(self):
        self.sent = []

    def started(self, event):
        self.sent.append((event.command_name, str(event.command.get(event.command_name))))

    def succeeded(self, event):
        pass

    def failed(self, event):
        pass


def member(store, name: str) -> dict:
    doc, _new = store.record_follow(user_id_for(name), "en")
    store.update_member(doc["_id"], {"$set": {"status": "member"}})
    return store.member_by_id(doc["_id"])


@pytest.mark.devdb_only(reason="counts the commands the dev server receives")
def test_an_earn_takes_at_most_eighteen_round_trips(store, services, config):
    store.add_branch("asoke", "Asoke")
    listener = Commands()
    client = pymongo.MongoClient(config["MONGODB_URI"], event_listeners=[listener], tz_aware=True)
    counted = Store(client, store.db.name)
    someone = member(store, "counted")
    points.earn(counted, store.member_by_id(someone["_id"]), 2500, "asoke", "s", None, BKK)
    listener.sent.clear()

    result = points.earn(counted, store.member_by_id(someone["_id"]), 2500, "asoke", "s", None, BKK)
    sent = list(listener.sent)

    client.close()
    assert result.balance == points.holdings(store, someone["_id"]).balance > 0
    assert len(sent) <= MAX_ROUND_TRIPS, sent


def test_stats_and_tier_spend_on_the_member_match_the_purchases(store):
    store.add_branch("asoke", "Asoke")
    store.add_branch("siam", "Siam")
    someone = member(store, "regular")
    bought = []
    visits = [
        (NOW - timedelta(days=400), 90000, "asoke"),
        (NOW - timedelta(days=40), 30000, "siam"),
    ]
    visits += [(NOW - timedelta(days=d, hours=d), 12000 + d, "asoke") for d in (9, 5, 2, 1)]
    for at, amount, branch in visits:
        with time_machine.travel(at, tick=False):
            fresh = store.member_by_id(someone["_id"])
            bought.append(points.earn(store, fresh, amount, branch, "s", None, BKK).purchase)

    with time_machine.travel(NOW, tick=False):
        after = store.member_by_id(someone["_id"])
        purchases = [store.purchase(p["_id"]) for p in bought]
        rebuilt = stats_from_purchases(purchases, BKK)
        window = NOW - points.TIER_WINDOW
        expected_spend = sum(p["amount"] for p in purchases if p["created_at"] >= window)

        kept = {k: v for k, v in after["stats"].items() if k != "rev"}
        assert kept == {k: v for k, v in rebuilt.items() if k != "rev"}
        assert spend_since(after["tier_spend"], window) == expected_spend
        assert store.rolling_spend(someone["_id"], window) == expected_spend
        assert (
            after["points"]
            == sum(p["points"] for p in purchases)
            == points.holdings(store, someone["_id"]).balance
        )


def test_a_void_makes_tiers_read_the_purchases_again(store):
    store.add_branch("asoke", "Asoke")
    someone = member(store, "voided")
    with time_machine.travel(NOW, tick=False):
        first = points.earn(
            store, store.member_by_id(someone["_id"]), 400000, "asoke", "s", None, BKK
        )
        points.earn(store, store.member_by_id(someone["_id"]), 200000, "asoke", "s", None, BKK)
        points.void(store, first.purchase["_id"], "owner", BKK)
        after = store.member_by_id(someone["_id"])

        assert "tier_spend" not in after
        assert store.rolling_spend(someone["_id"], NOW - points.TIER_WINDOW) == 200000
        result = points.earn(store, after, 1000, "asoke", "s", None, BKK)
        kept = store.member_by_id(someone["_id"])["tier_spend"]
        assert spend_since(kept, NOW - points.TIER_WINDOW) == 201000
        assert result.tier_after.name == points.load_rules(store).tier_for(201000).name


def test_an_earn_on_a_record_read_before_another_earn_counts_once(store):
    """Two cashiers ring up the same member at once: each read the member before the other wrote."""
    store.add_branch("asoke", "Asoke")
    someone = member(store, "busy")
    with time_machine.travel(NOW, tick=False):
        stale = store.member_by_id(someone["_id"])
        points.earn(store, stale, 5000, "asoke", "s1", None, BKK)
        result = points.earn(store, stale, 7500, "asoke", "s2", None, BKK)  # the long way
        after = store.member_by_id(someone["_id"])

    assert after["stats"]["visits"] == 2
    assert after["stats"]["spend"] == 12500
    assert after["points"] == result.balance == points.holdings(store, someone["_id"]).balance
    assert sorted(after["purchase_ids"]) == sorted(
        p["_id"] for p in store.db.purchases.find({"member_id": someone["_id"]})
    )


def test_an_earn_redelivered_after_the_next_purchase_counts_one_visit(store):
    """LINE redelivers the first `/earn` after the member's second purchase was counted
    (found by the stateful test's long run): still two visits, stats as rebuilt."""
    someone = member(store, "redelivered")

    def earn(key: str):
        fresh = store.member_by_id(someone["_id"])
        return counter.record_purchase(store, fresh, 2500, None, "staff", None, BKK, key)

    with time_machine.travel(NOW, tick=False):
        first = earn("earn:1")
        earn("earn:2")
        again = earn("earn:1")
        after = store.member_by_id(someone["_id"])

    assert again.already and again.purchase["_id"] == first.purchase["_id"]
    assert after["stats"]["visits"] == 2
    assert after["stats"]["spend"] == 5000
    purchases = store.active_purchases(someone["_id"])
    rebuilt = stats_from_purchases(purchases, BKK)
    # Both purchases share one frozen instant, so only the set of counted ids is fixed.
    assert sorted(after["stats"]["counted"]) == sorted(rebuilt["counted"])
    kept = {k: v for k, v in after["stats"].items() if k not in ("rev", "counted")}
    assert kept == {k: v for k, v in rebuilt.items() if k not in ("rev", "counted")}
