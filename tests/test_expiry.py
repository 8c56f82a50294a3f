"""Points expire after 12 months; members hear about it 14 days ahead, once."""

from datetime import UTC, datetime, time, timedelta

import time_machine

from bot.marketing.sending import Sender
from bot.members import privacy
from bot.store import utcnow
from bot.store.ledger import LOT_SLOTS
from jobs import journey_jobs, points_jobs
from simulator import texts


def test_points_expire_with_one_notice_14_days_ahead(member, store, services, sim):
    start = utcnow()
    day = (start + timedelta(days=365 - 13)).date()
    notice_time = datetime.combine(day, time(3, 5), UTC)  # 10:05 in Bangkok
    sender = Sender(store, services.line, services.config)
    store.record_consent(  # an account notice: it reaches members who declined marketing too
        store.member_by_line_id(member.id)["_id"], privacy.consent("marketing", False, "command")
    )
    store.put_setting("campaign_cap", [0, 7])  # and members the marketing cap holds back

    with time_machine.travel(notice_time, tick=False):
        assert journey_jobs.run_journeys(sender)["points_expiring"] == 1
        assert journey_jobs.run_journeys(sender)["points_expiring"] == 0
        assert "points" in texts(member.says("points"))[0]

    pushed = [e["message"] for e in sim.platform.inbox(member.id) if e["via"] == "push"]
    notices = [m for m in pushed if m.get("altText") == "Your points are expiring"]
    assert len(notices) == 1
    body = notices[0]["contents"]["body"]["contents"][0]["text"]
    assert body.startswith("50 points expire on ")
    assert store.campaign_counts("journey:points_expiring") == {"sent": 1}

    with time_machine.travel(start + timedelta(days=366)):
        assert points_jobs.expire_points(store) == 1
        assert points_jobs.expire_points(store) == 0

    doc = store.member_by_line_id(member.id)
    assert doc["points"] == 0
    assert [e["kind"] for e in store.ledger_for(doc["_id"])] == ["expire", "bonus"]


def test_spent_points_do_not_expire(owner, member, store):
    code = store.member_by_line_id(member.id)["code"]
    owner.says(f"/adjust {code} -30 used at the counter")

    with time_machine.travel(utcnow() + timedelta(days=370)):
        points_jobs.expire_points(store)

    doc = store.member_by_line_id(member.id)
    assert doc["points"] == 0
    assert store.ledger_for(doc["_id"])[0]["amount"] == -20  # only what was left expired


def test_points_expiring_soon_are_shown_in_points(member):
    with time_machine.travel(utcnow() + timedelta(days=350)):
        lines = texts(member.says("points"))[0].splitlines()

    assert lines[-1].startswith("50 points expire on")


def test_expiry_zero_means_never(owner, member, cashier, store):
    owner.says("/rule expiry 0")
    cashier.says(f"/earn {store.member_by_line_id(member.id)['code']} 250")

    with time_machine.travel(utcnow() + timedelta(days=800)):
        points_jobs.expire_points(store)

    assert store.member_by_line_id(member.id)["points"] == 10  # the bonus expired, not these


def test_lots_earned_after_the_first_run_expire_from_the_day_lists(cashier, member, store):
    start = utcnow()
    assert points_jobs.expire_points(store) == 0  # the first run lists the open lots
    with time_machine.travel(start + timedelta(days=30)):
        cashier.says(f"/earn {store.member_by_line_id(member.id)['code']} 250")  # 10 points

    with time_machine.travel(start + timedelta(days=200)):
        assert points_jobs.expire_points(store) == 0
    with time_machine.travel(start + timedelta(days=366)):
        assert points_jobs.expire_points(store) == 1  # the signup bonus
        assert points_jobs.expire_points(store) == 0
    assert store.member_by_line_id(member.id)["points"] == 10
    with time_machine.travel(start + timedelta(days=397)):
        assert points_jobs.expire_points(store) == 1  # the points earned a month later

    doc = store.member_by_line_id(member.id)
    assert doc["points"] == 0
    assert [e["kind"] for e in store.ledger_for(doc["_id"])] == [
        "expire",
        "expire",
        "earn",
        "bonus",
    ]
    assert store.db.lot_expiries.count_documents({}) == 0  # every day done is forgotten


def test_a_week_without_the_worker_expires_everything_due_meanwhile(member, store):
    start = utcnow()
    points_jobs.expire_points(store)
    with time_machine.travel(start + timedelta(days=360)):
        points_jobs.expire_points(store)

    with time_machine.travel(start + timedelta(days=372)):  # nothing ran in between
        assert points_jobs.expire_points(store) == 1

    assert store.member_by_line_id(member.id)["points"] == 0


def test_tiers_are_re_evaluated_nightly_and_can_go_down(cashier, member, store, services):
    cashier.says(f"/earn {store.member_by_line_id(member.id)['code']} 6000")
    assert store.member_by_line_id(member.id)["tier"] == "silver"

    with time_machine.travel(utcnow() + timedelta(days=366)):
        assert points_jobs.reevaluate_tiers(store, services.config.tz) == 1  # a first, full review

    assert store.member_by_line_id(member.id)["tier"] == "member"


def test_later_reviews_demote_members_whose_purchases_left_the_window(
    cashier, member, store, services
):
    start = utcnow()
    assert points_jobs.reevaluate_tiers(store, services.config.tz) == 0
    with time_machine.travel(start + timedelta(days=10)):
        cashier.says(f"/earn {store.member_by_line_id(member.id)['code']} 6000")
        assert points_jobs.reevaluate_tiers(store, services.config.tz) == 0

    with time_machine.travel(start + timedelta(days=200)):
        assert points_jobs.reevaluate_tiers(store, services.config.tz) == 0
    assert store.member_by_line_id(member.id)["tier"] == "silver"
    with time_machine.travel(start + timedelta(days=380)):
        assert points_jobs.reevaluate_tiers(store, services.config.tz) == 1

    assert store.member_by_line_id(member.id)["tier"] == "member"


def test_new_tier_thresholds_are_applied_to_everyone_that_night(
    owner, cashier, member, store, services
):
    cashier.says(f"/earn {store.member_by_line_id(member.id)['code']} 3000")
    assert points_jobs.reevaluate_tiers(store, services.config.tz) == 0
    assert store.member_by_line_id(member.id)["tier"] == "member"

    owner.says("/rule tier silver 2000 1.25")

    assert points_jobs.reevaluate_tiers(store, services.config.tz) == 1
    assert store.member_by_line_id(member.id)["tier"] == "silver"


def test_a_busy_days_list_is_split_so_each_earn_adds_to_a_short_one(store):
    names = [f"m{n:04d}" for n in range(640)]
    store.add_lot_days({"2027-11-27": names})

    documents = list(store.db.lot_expiries.find({}))
    assert len(documents) == LOT_SLOTS
    assert max(len(doc["members"]) for doc in documents) < 30  # 10 a document on average
    assert store.members_with_lots_expiring(["2027-11-27"]) == set(names)
    assert store.members_with_lots_expiring(["2027-11-28"]) == set()
    store.forget_lot_expiries(["2027-11-27"])
    assert store.db.lot_expiries.count_documents({}) == 0
