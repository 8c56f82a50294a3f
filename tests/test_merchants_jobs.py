"""Many merchants in the worker: journeys per merchant, and daily jobs caught up once.

The tea shop and the bakery have customers with the same LINE ids, member ids, names
and phones; each shop's journeys go to its own members, by its own channel, on its own
settings. A daily job that fell due while no worker held a merchant runs once when the
next worker takes it, never twice.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from jobs import tasks
from jobs.fleet import DAILY_JOBS, FleetWorker
from jobs.scheduler import SCHEDULE
from simulator import texts
from tests import test_merchants as shops
from tests.conftest import OWNER, sign_up
from tests.test_merchants import add_crowd, balance, new_campaign, open_shop, received, run_cli

fleet_settings, fleet_app, tea, bakery, fleet = (
    shops.fleet_settings,
    shops.fleet_app,
    shops.tea,
    shops.bakery,
    shops.fleet,
)
BANGKOK = ZoneInfo("Asia/Bangkok")
DAY = datetime(2031, 3, 4, tzinfo=BANGKOK)  # a Tuesday


def at(days: int, hour: int, minute: int = 0) -> datetime:
    return DAY + timedelta(days=days, hours=hour, minutes=minute)


def set_member(app, shop, member_id: str, **fields) -> None:
    shop.store(app).db.members.update_one({"_id": member_id}, {"$set": fields})


def greetings(shop, user_id: str, word: str) -> list[str]:
    return [text for text in received(shop, user_id) if word in text]


# -- journeys -----------------------------------------------------------------------------


def test_each_merchants_journeys_reach_its_own_members_only(fleet_app, tea, bakery, fleet):
    """Birthday, win-back and after-purchase, on each shop's own data and settings."""
    twins = add_crowd(fleet_app, tea, 4, "twin")
    assert add_crowd(fleet_app, bakery, 4, "twin") == twins  # same ids, names, LINE ids
    today = datetime.now(BANGKOK).date()
    birthday = {
        "profile.birthday": today.replace(year=1990).isoformat(),
        "profile.birth_month": today.month,
    }
    month_ago = datetime.combine(today - timedelta(days=30), datetime.min.time(), BANGKOK)
    # Twin 0's birthday is today at the tea shop; the bakery has twin 1's instead.
    set_member(fleet_app, tea, "Mtwin000000", **birthday)
    set_member(fleet_app, bakery, "Mtwin000001", **birthday)
    # Twin 2 is overdue at both shops; the bakery has switched win-back off.
    for shop in (tea, bakery):
        set_member(
            fleet_app,
            shop,
            "Mtwin000002",
            **{"stats.overdue_at": datetime.now(UTC) - timedelta(days=3)},
        )
    assert "off" in texts(bakery.person(OWNER).says("/journey off winback"))[0].lower()
    # Twin 3 last came a month ago, to the bakery only.
    set_member(
        fleet_app, bakery, "Mtwin000003", **{"stats.last_visit": month_ago + timedelta(hours=12)}
    )

    assert fleet.tick() == ["bakery", "tea"]
    tea_sent = fleet.run("tea", "run_journeys")
    bakery_sent = fleet.run("bakery", "run_journeys")

    assert (tea_sent["birthday"], tea_sent["winback"], tea_sent["after_purchase"]) == (1, 1, 0)
    assert (bakery_sent["birthday"], bakery_sent["after_purchase"]) == (1, 1)
    assert "winback" not in bakery_sent
    first, second, third, fourth = twins
    assert greetings(tea, first, "Happy birthday") and not received(bakery, first)
    assert greetings(bakery, second, "Happy birthday") and not received(tea, second)
    assert greetings(tea, third, "We miss you") and not received(bakery, third)
    assert greetings(bakery, fourth, "Something new to try") and not received(tea, fourth)
    # Each shop's birthday coupon is in its own database, for its own member.
    [tea_coupon] = tea.store(fleet_app).member_coupons("Mtwin000000")
    assert bakery.store(fleet_app).coupon(tea_coupon["_id"]) is None
    assert bakery.store(fleet_app).member_coupons("Mtwin000000") == []
    assert len(bakery.store(fleet_app).member_coupons("Mtwin000001")) == 1
    # Journeys run once a day: the same job again sends nothing.
    assert fleet.run("tea", "run_journeys") is None
    assert len(greetings(tea, first, "Happy birthday")) == 1


def test_every_scheduled_job_runs_for_a_merchant(fleet_app, tea, fleet):
    fleet.tick()
    assert {name for name, _trigger, _options in SCHEDULE} == set(tasks.JOBS)
    for name, _trigger, _options in SCHEDULE:
        fleet.run("tea", name)  # none is missing or fails for a merchant


# -- daily jobs missed while no worker held the merchant ------------------------------------------


def due_now(worker: FleetWorker) -> list[tuple[str, str]]:
    """The jobs the worker's scheduler would run at once."""
    now = datetime.now(UTC)
    return sorted(
        tuple(job.args) for job in worker.scheduler.get_jobs() if job.next_run_time <= now
    )


def worker(app, holder: str) -> FleetWorker:
    found = FleetWorker(app.extensions["samachik.merchants"], holder=holder, threads=1)
    found.scheduler.start(paused=True)  # the test runs what is due itself
    return found


@pytest.fixture
def workers():
    started: list[FleetWorker] = []
    yield started
    for each in started:
        each.shutdown()


def test_daily_jobs_missed_while_no_worker_held_a_merchant_run_once(fleet_app, sim, workers):
    with time_machine.travel(at(0, 7), tick=False):
        tea, bakery = open_shop(fleet_app, sim, "tea"), open_shop(fleet_app, sim, "bakery")
        alice_tea, alice_bakery = tea.person("alice"), bakery.person("alice")
        sign_up(alice_tea)
        sign_up(alice_bakery)
        first = worker(fleet_app, "w1")
        workers.append(first)
        assert first.tick() == ["bakery", "tea"]
        assert due_now(first) == []  # just added: nothing was missed
    with time_machine.travel(at(0, 10, 5) + timedelta(seconds=30), tick=False):
        assert first.run("tea", "run_journeys") is not None  # the 10:05 run, on time
        assert first.run("tea", "run_journeys") is None  # once per due time

    # The first worker dies. A year later another one starts: the points signed up for
    # have expired, and the birthday twins' day is today, at both shops.
    later = at(370, 12)
    with time_machine.travel(later, tick=False):
        twins = add_crowd(fleet_app, tea, 2, "bday", birthday_today=True)
        add_crowd(fleet_app, bakery, 2, "bday", birthday_today=True)
        second = worker(fleet_app, "w2")
        workers.append(second)
        assert second.tick() == ["bakery", "tea"]
        missed = due_now(second)
        assert missed == sorted((slug, name) for slug in ("bakery", "tea") for name in DAILY_JOBS)
        assert all(second.run(slug, name) is not None for slug, name in missed)

        assert balance(fleet_app, tea, alice_tea) == balance(fleet_app, bakery, alice_bakery) == 0
        for shop in (tea, bakery):
            assert len(greetings(shop, twins[0], "Happy birthday")) == 1

    # It dies too, the same day; the next worker finds nothing left to catch up.
    with time_machine.travel(later + timedelta(hours=3), tick=False):
        third = worker(fleet_app, "w3")
        workers.append(third)
        assert third.tick() == ["bakery", "tea"]
        assert due_now(third) == []
        assert all(third.run(slug, name) is None for slug, name in missed)
        for shop in (tea, bakery):
            assert len(greetings(shop, twins[0], "Happy birthday")) == 1

    # The next day's runs go on as scheduled.
    with time_machine.travel(later + timedelta(days=1, hours=-1, minutes=-54), tick=False):
        jobs = {job.id: job.next_run_time for job in third.scheduler.get_jobs()}
        assert jobs["tea:run_journeys"] == at(371, 10, 5)
        assert third.run("tea", "run_journeys") is not None


# -- a disabled merchant's campaign --------------------------------------------------------------


def test_disabling_a_merchant_stops_its_running_campaign_at_once(fleet_app, tea, bakery, fleet):
    """Disabled while its first pushes are with LINE: what is queued does not go out."""
    crowd = add_crowd(fleet_app, tea, 1500, "many")  # three batches of 500 pushes
    campaign = new_campaign(fleet_app, tea, "many", "Hello {first_name}!")  # one push each
    operator = fleet_app.extensions["samachik.merchants"].operator
    tea.line.platform.interrupt(
        "push", lambda: operator.update_merchant("tea", {"status": "disabled"})
    )
    store = tea.store(fleet_app)
    assert fleet.tick() == ["bakery", "tea"]

    fleet.run("tea", "run_campaigns")

    sent = len(tea.line.requests("push"))
    assert 0 < sent < 200, f"{sent} pushes went out after the merchant was disabled"
    assert store.campaign(campaign)["status"] == "running"  # the rest waits, queued
    assert fleet.tick() == ["bakery"]

    # Enabled again: the rest goes out, and every member has exactly one message.
    assert run_cli(fleet_app, "merchant", "enable", "tea").exit_code == 0
    assert fleet.tick() == ["bakery", "tea"]
    fleet.run("tea", "run_campaigns")
    assert store.campaign(campaign)["status"] == "done"
    assert all(len(received(tea, user)) == 1 for user in crowd)


# -- fairness -------------------------------------------------------------------------------------


def test_a_merchants_campaign_never_holds_up_anothers_journey(fleet_app, tea, bakery):
    """One thread per pool: the bakery's birthday goes out while the tea shop's campaign
    is with LINE (a merchant's big campaign, or many merchants', fill the campaign pool)."""
    add_crowd(fleet_app, tea, 3, "news")
    birthday_girl = add_crowd(fleet_app, bakery, 1, "bday", birthday_today=True)[0]
    new_campaign(fleet_app, tea, "news", "Tea week!")
    fleet = FleetWorker(fleet_app.extensions["samachik.merchants"], holder="w1", threads=1)
    birthday_sent, checked, outcome = threading.Event(), threading.Event(), []
    bakery.line.platform.interrupt("push", birthday_sent.set)

    def meanwhile() -> None:  # the tea shop's multicast is with LINE, its thread waiting
        fleet.scheduler.modify_job("bakery:run_journeys", next_run_time=datetime.now(UTC))
        # Within LineApi's read timeout (15 s), after which the tea shop's call gives up.
        outcome.append(birthday_sent.wait(10))
        checked.set()

    tea.line.platform.interrupt("multicast", meanwhile)
    assert fleet.tick() == ["bakery", "tea"]
    fleet.start()
    try:
        fleet.scheduler.modify_job("tea:run_campaigns", next_run_time=datetime.now(UTC))
        assert checked.wait(60)
    finally:
        fleet.shutdown()
    assert outcome == [True], "the bakery's journey waited for the tea shop's campaign"
    assert greetings(bakery, birthday_girl, "Happy birthday")
