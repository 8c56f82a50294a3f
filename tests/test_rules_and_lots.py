"""The pure parts of points: earn rules, tiers, expiry dates and the lot replay."""

from datetime import UTC, date, datetime, timedelta

import pytest

from bot.loyalty.lots import replay
from bot.loyalty.rules import (
    DEFAULT_TIERS,
    EarnRules,
    Promotion,
    expiry_date,
    parse_days,
    parse_window,
    points_for,
)

MEMBER, SILVER, GOLD = DEFAULT_TIERS
WEDNESDAY_3PM = datetime(2026, 11, 25, 15, 0)
SATURDAY_3PM = datetime(2026, 11, 28, 15, 0)
AFTERNOONS = Promotion("AFT1", 2.0, days=(0, 1, 2, 3, 4), start="14:00", end="16:00")


def test_one_point_per_25_baht_rounding_down():
    rules = EarnRules()

    assert points_for(rules, 14_999, None, SATURDAY_3PM, MEMBER).points == 5
    assert points_for(rules, 2_499, None, SATURDAY_3PM, MEMBER).points == 0


def test_below_the_minimum_spend_earns_nothing():
    rules = EarnRules(min_spend=10_000)

    assert points_for(rules, 9_999, None, SATURDAY_3PM, MEMBER).points == 0
    assert points_for(rules, 10_000, None, SATURDAY_3PM, MEMBER).points == 4


def test_the_afternoon_window_doubles_on_weekdays_only():
    rules = EarnRules(promotions=(AFTERNOONS,))

    assert points_for(rules, 15_000, None, WEDNESDAY_3PM, MEMBER).points == 12
    assert points_for(rules, 15_000, None, SATURDAY_3PM, MEMBER).points == 6
    assert points_for(rules, 15_000, None, WEDNESDAY_3PM.replace(hour=16), MEMBER).points == 6


def test_promotions_do_not_stack_but_tiers_multiply_on_top():
    branch_triple = Promotion("ASK3", 3.0, branch="asoke")
    rules = EarnRules(promotions=(AFTERNOONS, branch_triple))

    at_asoke = points_for(rules, 15_000, "asoke", WEDNESDAY_3PM, GOLD)

    assert at_asoke.promotion == branch_triple
    assert at_asoke.points == 27  # 6 × 3 (best promotion) × 1.5 (gold)
    assert points_for(rules, 15_000, "siam", WEDNESDAY_3PM, GOLD).points == 18


def test_promotion_dates_bound_it():
    dated = Promotion("DEC1", 2.0, valid_from="2026-12-01", valid_until="2026-12-31")
    rules = EarnRules(promotions=(dated,))

    assert points_for(rules, 2_500, None, datetime(2026, 11, 30, 12), MEMBER).points == 1
    assert points_for(rules, 2_500, None, datetime(2026, 12, 31, 12), MEMBER).points == 2
    assert points_for(rules, 2_500, None, datetime(2027, 1, 1, 12), MEMBER).points == 1


def test_tiers_by_rolling_spend():
    rules = EarnRules()

    assert rules.tier_for(499_999).name == "member"
    assert rules.tier_for(500_000).name == "silver"
    assert rules.tier_for(1_500_000).name == "gold"
    assert rules.next_tier(600_000).name == "gold"
    assert rules.next_tier(2_000_000) is None


def test_rules_survive_a_round_trip_through_the_database_shape():
    rules = EarnRules(promotions=(AFTERNOONS,), expiry_months=6)

    assert EarnRules.from_dict(rules.to_dict()) == rules


@pytest.mark.parametrize(
    ("earned", "months", "expires"),
    [
        (date(2026, 1, 31), 1, date(2026, 2, 28)),
        (date(2026, 11, 23), 12, date(2027, 11, 23)),
        (date(2026, 11, 23), 0, None),
    ],
)
def test_expiry_dates(earned, months, expires):
    assert expiry_date(earned, months) == expires


def test_day_and_time_parsing():
    assert parse_days("mon-fri") == (0, 1, 2, 3, 4)
    assert parse_days("sat,sun") == (5, 6)
    assert parse_days("fri-mon") == (0, 4, 5, 6)
    assert parse_window("9:00-11:30") == ("09:00", "11:30")
    with pytest.raises(ValueError):
        parse_window("16:00-14:00")


def entry(seq, amount, days=None, lot_id=None):
    expires = datetime(2027, 1, 1, tzinfo=UTC) + timedelta(days=days) if days is not None else None
    return {
        "_id": f"m:{seq}",
        "seq": seq,
        "amount": amount,
        "expires_at": expires,
        "lot_id": lot_id,
    }


def test_spending_consumes_the_soonest_expiring_lots_first():
    held = replay([entry(1, 100, days=30), entry(2, 50, days=10), entry(3, -70)])

    assert {lot.id: lot.remaining for lot in held.lots.values()} == {"m:1": 80, "m:2": 0}
    assert held.balance == 80


def test_an_expiry_consumes_its_own_lot():
    held = replay([entry(1, 100, days=30), entry(2, 50, days=10), entry(3, -50, lot_id="m:1")])

    assert held.lots["m:1"].remaining == 50
    assert held.lots["m:2"].remaining == 50


def test_debt_from_a_void_is_paid_by_the_next_credit():
    held = replay([entry(1, 10, days=5), entry(2, -10), entry(3, -12), entry(4, 30, days=40)])

    assert held.debt == 0
    assert held.lots["m:4"].remaining == 18
    assert held.balance == 18
