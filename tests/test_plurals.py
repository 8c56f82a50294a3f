"""Counts read naturally (one point, one visit) and dates are the shop's, in the reader's
language."""

from datetime import UTC, datetime, timedelta

import time_machine

from bot.store import utcnow
from jobs import points_jobs
from simulator import texts
from tests.conftest import sign_up

# 00:30 on Thursday 26 November in Bangkok, still the 25th in UTC.
JUST_AFTER_MIDNIGHT_BANGKOK = datetime(2026, 11, 25, 17, 30, tzinfo=UTC)


def code_of(store, user) -> str:
    return store.member_by_line_id(user.id)["code"]


def test_one_point_is_one_point_on_the_card_and_in_points(owner, member, store):
    code = code_of(store, member)
    owner.says(f"/adjust {code} -49 test")

    [card] = member.says("card")
    summary = texts(member.says("points"))[0].splitlines()

    assert card["altText"] == f"Member card: {code}, 1 point"
    assert summary[0] == "You have 1 point. Tier: Member."


def test_one_point_expiring_is_one_point(owner, member, store):
    owner.says(f"/adjust {code_of(store, member)} -49 test")

    with time_machine.travel(utcnow() + timedelta(days=350)):
        lines = texts(member.says("points"))[0].splitlines()

    assert lines[-1].startswith("1 point expires on ")


def test_an_expired_one_point_code_gives_one_point_back(owner, member, store, services):
    reply = texts(owner.says("/reward add 1 5 Sticker"))[0]
    sticker = reply.split()[1]
    question = member.taps(f"a=redeem&r={sticker}")[0]
    member.taps(question["quickReply"]["items"][0]["action"]["data"])

    with time_machine.travel(utcnow() + timedelta(minutes=16)):
        points_jobs.expire_redemptions(store, services.line, services.config)

    assert "expired unused, so 1 point is back in your account." in texts(member.inbox)[-1]


def test_member_lookup_counts_one_visit_on_the_shops_date(alice, cashier, store):
    with time_machine.travel(JUST_AFTER_MIDNIGHT_BANGKOK):
        sign_up(alice)
        cashier.says(f"/earn {code_of(store, alice)} 150")

    lookup = texts(cashier.says(f"/member {code_of(store, alice)}"))[0].splitlines()

    assert lookup[-2:] == ["Member since Nov 26, 2026", "1 visit, last on Nov 26, 2026"]


def test_the_staff_list_shows_the_shops_date(owner, cashier, store):
    with time_machine.travel(JUST_AFTER_MIDNIGHT_BANGKOK):
        store.add_staff(cashier.id, "siam", "Somchai", invited_by="owner")

    assert "Somchai — siam (Nov 26, 2026)" in texts(owner.says("/staff list"))[0]


def test_promotion_dates_are_shown_in_the_owners_language(owner):
    owner.says("/rule promo add 2 from:2026-12-01 until:2026-12-31")

    english = texts(owner.says("/rule show"))[0]
    owner.says("language th")
    thai = texts(owner.says("/rule show"))[0]

    assert "Dec 1, 2026 → Dec 31, 2026" in english
    assert "1 ธ.ค. 2569 → 31 ธ.ค. 2569" in thai
