"""Campaigns and journeys from the worker: once per member, holdout, skips, resumes."""

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from bot import audience, campaigns, points, privacy, sending
from bot.sending import Sender
from bot.store import utcnow
from jobs import campaign_jobs, journey_jobs
from simulator import texts, user_id_for
from tests.conftest import ROOT

WEDNESDAY_10AM = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)  # 10:00 in Bangkok


@pytest.fixture
def sender(services):
    return Sender(services.store, services.line, services.config, threads=2)


@pytest.fixture
def crowd(sim, store, services):
    """Ten members who opted in, all friends of the account."""
    users = []
    for index in range(10):
        name = f"guest{index}"
        member, _new = store.record_follow(user_id_for(name), "en")
        profile = {
            "first_name": f"Guest{index}",
            "last_name": "X",
            "phone": f"+66800000{index:03d}",
            "birthday": "1990-11-25" if index == 0 else "1990-01-15",
            "birth_month": 11 if index == 0 else 1,
        }
        store.claim_member_code(f"GST{index:03d}", member["_id"])
        store.complete_signup(
            member["_id"],
            f"GST{index:03d}",
            profile,
            [privacy.consent("marketing", True, "test")],
            True,
        )
        user = sim.user(name, language="en")
        user.state.friend = True
        users.append(user)
    return users


def campaign_messages(user) -> list[dict]:
    return [m for m in user.inbox if m.get("type") == "flex"]


def create(owner, spec: str) -> str:
    replies = owner.says(f"/campaign new {spec}")
    confirm = replies[-1]["quickReply"]["items"][0]["action"]["data"]
    owner.taps(confirm)
    return confirm.split("c=")[1]


def test_a_scheduled_campaign_fires_once_at_its_time(owner, crowd, sender, store):
    with time_machine.travel(WEDNESDAY_10AM, tick=False):
        cid = create(
            owner,
            "Tea week | audience: optin | text: Hello {first_name}! | holdout: 0 "
            "| at: 2026-11-25 11:00",
        )
        assert campaign_jobs.run_due(sender) == []
    with time_machine.travel(WEDNESDAY_10AM + timedelta(hours=1, minutes=5), tick=False):
        assert len(campaign_jobs.run_due(sender)) == 1
        assert campaign_jobs.run_due(sender) == []

    assert all(len(campaign_messages(u)) == 1 for u in crowd)
    first = campaign_messages(crowd[3])[0]
    assert first["contents"]["body"]["contents"][0]["text"] == "Hello Guest3!"
    assert store.campaign(cid)["status"] == "done"
    assert store.campaign_counts(cid) == {"sent": 10}


def test_a_weekly_campaign_fires_each_week(owner, crowd, sender, store):
    with time_machine.travel(WEDNESDAY_10AM - timedelta(days=1), tick=False):
        cid = create(
            owner,
            "Hump day | audience: optin | text: Two-for-one today | holdout: 0 | weekly: wed 10:00",
        )
    for week in range(2):
        with time_machine.travel(WEDNESDAY_10AM + timedelta(days=7 * week, minutes=2), tick=False):
            store.put_setting("campaign_cap", [5, 7])
            campaign_jobs.run_due(sender)
            campaign_jobs.run_due(sender)

    assert all(len(campaign_messages(u)) == 2 for u in crowd)
    assert store.campaign(cid)["status"] == "scheduled"
    assert len(store.campaign(cid)["runs"]) == 2


def test_holdout_members_receive_nothing(owner, crowd, sender, store):
    with time_machine.travel(WEDNESDAY_10AM, tick=False):
        cid = create(owner, "Held | audience: optin | text: Hi | holdout: 50")
        campaign_jobs.run_due(sender)

    counts = store.campaign_counts(cid)
    assert counts["holdout"] + counts["sent"] == 10 and counts["holdout"] > 0
    by_member = {u.id: len(campaign_messages(u)) for u in crowd}
    held = {
        user_id_for(f"guest{i}")
        for i in range(10)
        if campaigns.in_holdout(cid, store.member_by_line_id(user_id_for(f"guest{i}"))["_id"], 0.5)
    }
    assert all(by_member[u] == 0 for u in held) and all(
        by_member[u] == 1 for u in set(by_member) - held
    )


def test_opted_out_blocked_and_capped_members_are_skipped_and_counted(owner, crowd, sender, store):
    store.record_consent(
        store.member_by_line_id(crowd[0].id)["_id"], privacy.consent("marketing", False, "command")
    )
    store.record_unfollow(crowd[1].id)
    crowd[1].state.friend = False
    store.put_setting("campaign_cap", [1, 7])
    with time_machine.travel(WEDNESDAY_10AM, tick=False):
        create(owner, "First | audience: optin | text: One | holdout: 0")
        campaign_jobs.run_due(sender)
        cid = create(owner, "Second | audience: all | text: Two | holdout: 0")
        campaign_jobs.run_due(sender)

    assert store.campaign_counts(cid) == {
        "skipped_optout": 1,
        "skipped_blocked": 1,
        "capped": 8,
    }
    assert all(len(campaign_messages(u)) <= 1 for u in crowd)


def test_a_run_stopped_midway_resumes_without_duplicates(owner, crowd, sender, store, sim):
    store.put_setting("campaign_batch_size", 3)
    with time_machine.travel(WEDNESDAY_10AM, tick=False):
        cid = create(owner, "Big | audience: optin | text: Same for everyone | holdout: 0")
        batches = []
        original = sender.threads
        sender.threads = 1
        # The worker dies after its first batch (the stop check runs between batches).
        campaign_jobs.run_due(
            sender, should_stop=lambda: bool(batches.append(1)) or len(batches) > 1
        )
        partial = sum(len(campaign_messages(u)) for u in crowd)
        sender.threads = original
        campaign_jobs.run_due(sender)

    assert 0 < partial < 10
    assert all(len(campaign_messages(u)) == 1 for u in crowd)
    assert store.campaign_counts(cid) == {"sent": 10}
    assert len(sim.requests("multicast")) == 4  # 10 members in batches of 3


def test_a_batch_retried_after_a_lost_acknowledgement_counts_as_delivered(
    owner, crowd, sender, store, sim
):
    with time_machine.travel(WEDNESDAY_10AM, tick=False):
        cid = create(owner, "Again | audience: optin | text: Same for everyone | holdout: 0")
        run_id = campaign_jobs._claim(store, store.campaign(cid))
        audience.snapshot(store, store.campaign(cid), run_id, utcnow(), sender.config.tz)
        store.update_campaign(cid, {"snapshot_done": True})
        sending.send_run(sender, store.campaign(cid), run_id)
        # The worker crashed after LINE accepted the batch but before recording it:
        # put the database back as it was at that moment.
        assert store.db.batch_outcomes.delete_many({"run_id": run_id}).deleted_count == 1
        campaign_jobs.run_due(sender)

    assert [r["status"] for r in sim.requests("multicast")] == [200, 409]
    assert store.campaign_counts(cid) == {"sent": 10}
    assert all(len(campaign_messages(u)) == 1 for u in crowd)
    assert store.campaign(cid)["status"] == "done"


def test_quiet_hours_postpone_a_run(owner, crowd, sender, store):
    with time_machine.travel(WEDNESDAY_10AM + timedelta(hours=12), tick=False):  # 22:00
        create(owner, "Late | audience: optin | text: Night | holdout: 0")
        campaign_jobs.run_due(sender)
    assert all(campaign_messages(u) == [] for u in crowd)
    with time_machine.travel(WEDNESDAY_10AM + timedelta(hours=23, minutes=5), tick=False):  # 09:05
        campaign_jobs.run_due(sender)
    assert all(len(campaign_messages(u)) == 1 for u in crowd)


def test_campaign_links_count_clicks(owner, crowd, sender, store, client):
    with time_machine.travel(WEDNESDAY_10AM, tick=False):
        cid = create(
            owner,
            "Menu | audience: optin | text: New menu {first_name} | holdout: 0 "
            "| button: See menu | link: https://example.com/menu",
        )
        campaign_jobs.run_due(sender)
    button = campaign_messages(crowd[0])[0]["contents"]["footer"]["contents"][0]["action"]
    path = "/" + button["uri"].split("/", 3)[3]

    response = client.get(path)

    assert (
        response.status_code == 302 and response.headers["Location"] == "https://example.com/menu"
    )
    assert store.click_count(store.campaign(cid)["runs"][0]["run_id"]) == 1


def test_bad_campaign_specs_name_the_problem(owner):
    reply = texts(owner.says("/campaign new Oops | audience: colour:red | text: x"))[0]
    assert reply.startswith("I don't understand")
    assert texts(owner.says("/campaign new Oops | text: x | at: someday"))[0].startswith(
        "I don't understand"
    )


def test_birthday_journey_fires_on_the_day_once(crowd, sender, store):
    with time_machine.travel(WEDNESDAY_10AM + timedelta(minutes=5), tick=False):
        assert journey_jobs.run_journeys(sender)["birthday"] == 1
        assert journey_jobs.run_journeys(sender)["birthday"] == 0

    birthday = campaign_messages(crowd[0])
    assert len(birthday) == 1
    assert birthday[0]["contents"]["header"]["contents"][0]["text"] == "Happy birthday, Guest0!"
    assert all(campaign_messages(u) == [] for u in crowd[1:])
    assert store.member_coupons(store.member_by_line_id(crowd[0].id)["_id"])


def test_after_purchase_journey_fires_30_days_later_once(crowd, sender, store, services):
    member = store.member_by_line_id(crowd[5].id)
    with time_machine.travel(WEDNESDAY_10AM - timedelta(days=30), tick=False):
        points.earn(store, member, 15000, None, "staff", None, services.config.tz)

    with time_machine.travel(WEDNESDAY_10AM - timedelta(days=1), tick=False):
        assert journey_jobs.run_journeys(sender)["after_purchase"] == 0
    with time_machine.travel(WEDNESDAY_10AM + timedelta(minutes=5), tick=False):
        assert journey_jobs.run_journeys(sender)["after_purchase"] == 1
        assert journey_jobs.run_journeys(sender)["after_purchase"] == 0

    assert len(campaign_messages(crowd[5])) == 1


def test_journeys_can_be_switched_off(owner, crowd, sender):
    listing = texts(owner.says("/journey off birthday"))[0].splitlines()
    assert listing[1] == "• birthday: off (on the day)"
    assert (
        "• after_purchase: on (45 days after the latest visit)"
        in texts(owner.says("/journey set after_purchase days 45"))[0].splitlines()
    )
    assert texts(owner.says("/journey set after_purchase days 400"))[0].startswith("Usage:")

    with time_machine.travel(WEDNESDAY_10AM + timedelta(minutes=5), tick=False):
        assert "birthday" not in journey_jobs.run_journeys(sender)
    assert campaign_messages(crowd[0]) == []


def test_birthday_journey_on_the_first_of_the_month(owner, crowd, sender):
    owner.says("/journey set birthday when month")
    november_1st = datetime(2026, 11, 1, 3, 5, tzinfo=UTC)
    with time_machine.travel(november_1st - timedelta(days=1), tick=False):
        assert journey_jobs.run_journeys(sender)["birthday"] == 0
    with time_machine.travel(november_1st, tick=False):
        assert journey_jobs.run_journeys(sender)["birthday"] == 1
    with time_machine.travel(WEDNESDAY_10AM + timedelta(minutes=5), tick=False):  # the day
        assert journey_jobs.run_journeys(sender)["birthday"] == 0

    assert len(campaign_messages(crowd[0])) == 1


def test_winback_reaches_members_away_for_a_set_number_of_days(
    owner, crowd, sender, store, services
):
    member = store.member_by_line_id(crowd[4].id)
    with time_machine.travel(WEDNESDAY_10AM - timedelta(days=100), tick=False):
        points.earn(store, member, 15000, None, "staff", None, services.config.tz)
    with time_machine.travel(WEDNESDAY_10AM + timedelta(minutes=5), tick=False):
        assert journey_jobs.run_journeys(sender)["winback"] == 0  # one visit: no rhythm yet
    owner.says("/journey set winback lapsed 90")
    with time_machine.travel(WEDNESDAY_10AM + timedelta(days=1, minutes=5), tick=False):
        assert journey_jobs.run_journeys(sender)["winback"] == 1
    with time_machine.travel(WEDNESDAY_10AM + timedelta(days=2, minutes=5), tick=False):
        assert journey_jobs.run_journeys(sender)["winback"] == 0  # at most every 60 days

    assert [m["altText"] for m in campaign_messages(crowd[4])] == ["We miss you, Guest4"]


def test_the_step_by_step_form_ends_in_the_same_preview(owner, crowd, store):
    with time_machine.travel(WEDNESDAY_10AM, tick=False):
        assert texts(owner.says("/campaign new")) == ["New campaign. What is its name?"]
        owner.says("Rainy day")
        assert texts(owner.says("colour:red"))[0] == "I don't understand “colour:red”."
        owner.says("all")
        owner.says("news")
        owner.says("Rainy day treat")
        owner.says("Hi {first_name}, hot tea is half price today")
        owner.says("skip")
        assert texts(owner.says("See menu http://insecure"))[0].startswith("I don't understand")
        owner.says("See menu https://example.com/menu")
        owner.says("percent 50 1")
        owner.says("0")
        owner.says("now")
        replies = owner.says("7")

    assert replies[0]["type"] == "flex"
    body = replies[0]["contents"]["body"]["contents"][0]["text"]
    assert body == "Hi Alice, hot tea is half price today"  # a sample member in the preview
    assert "Send it?" in replies[1]["text"]
    [campaign] = store.list_campaigns()
    assert campaign["template"] == "news" and campaign["coupon"]["value"] == 50
    assert campaign["content"]["link"] == "https://example.com/menu"
    assert campaign["status"] == "draft"


@pytest.mark.devdb_only(reason="the killed worker runs in its own process")
def test_a_worker_killed_mid_run_and_restarted_delivers_exactly_once(
    owner, crowd, sender, store, sim, config
):
    store.put_setting("quiet_hours", ["00:00", "00:00"])  # whatever the hour CI runs at
    store.put_setting("campaign_batch_size", 2)
    cid = create(owner, "Killed | audience: optin | text: Same for everyone | holdout: 0")
    store.update_campaign(cid, {"next_run_at": utcnow()})
    sim.set_latency("multicast", 0.4)
    worker = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from bot import create_app; from bot.sending import Sender; "
            "from jobs import campaign_jobs; s = create_app().extensions['samachik']; "
            "campaign_jobs.run_due(Sender(s.store, s.line, s.config, threads=1))",
        ],
        cwd=ROOT,
        env={**os.environ, **config, "PYTHONPATH": str(ROOT)},
    )
    try:
        deadline = time.monotonic() + 30
        while not sim.requests("multicast") and time.monotonic() < deadline:
            time.sleep(0.05)  # waiting for the child's first call, not a test delay
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
    sim.set_latency("multicast", 0)
    partial = sum(len(campaign_messages(u)) for u in crowd)

    campaign_jobs.run_due(sender)  # the restarted worker

    assert 0 < partial < 10
    assert all(len(campaign_messages(u)) == 1 for u in crowd)
    assert store.campaign_counts(cid) == {"sent": 10}
    assert store.campaign(cid)["status"] == "done"


def test_a_tier_change_is_announced_once_by_its_journey(crowd, sender, store, services):
    member = store.member_by_line_id(crowd[3].id)
    tz = services.config.tz
    with time_machine.travel(WEDNESDAY_10AM - timedelta(days=1), tick=False):
        result = points.earn(store, member, 1_500_000, None, "staff", None, tz)
        assert result.upgraded  # told at the counter: the journey leaves it alone
        assert journey_jobs.run_journeys(sender)["tier_change"] == 0
        points.void(store, result.purchase["_id"], "staff", tz)  # back to member: nobody said

    with time_machine.travel(WEDNESDAY_10AM + timedelta(minutes=5), tick=False):
        assert journey_jobs.run_journeys(sender)["tier_change"] == 1
        assert journey_jobs.run_journeys(sender)["tier_change"] == 0

    told = [m for m in campaign_messages(crowd[3]) if m["altText"] == "You are now Member"]
    assert len(told) == 1
    assert store.campaign_counts("journey:tier_change") == {"sent": 1}


def test_a_push_refused_for_good_marks_the_member_unreachable(owner, crowd, sender, store, sim):
    sim.inject("push", 400)
    with time_machine.travel(WEDNESDAY_10AM, tick=False):
        cid = create(owner, "Named | audience: optin | text: Hi {first_name} | holdout: 0")
        campaign_jobs.run_due(sender)

    assert store.campaign_counts(cid) == {"sent": 9, "failed": 1}
    statuses = {
        u.id: store.member_deliveries(store.member_by_line_id(u.id)["_id"])[0]["status"]
        for u in crowd
    }
    refused = [u for u in crowd if statuses[u.id] == "failed"]
    assert len(refused) == 1 and campaign_messages(refused[0]) == []
    assert store.member_by_line_id(refused[0].id)["reachable"] is False


def test_a_batch_line_keeps_refusing_is_tried_again_on_the_next_run(
    owner, crowd, sender, store, sim
):
    sim.inject("multicast", 500, times=sender.line.max_attempts)  # one run's worth of retries
    with time_machine.travel(WEDNESDAY_10AM, tick=False):
        cid = create(owner, "Later | audience: optin | text: Same for everyone | holdout: 0")
        campaign_jobs.run_due(sender)
        assert store.campaign_counts(cid) == {"pending": 10}
        assert all(campaign_messages(u) == [] for u in crowd)
    with time_machine.travel(WEDNESDAY_10AM + timedelta(minutes=1), tick=False):
        campaign_jobs.run_due(sender)

    assert store.campaign_counts(cid) == {"sent": 10}
    assert all(len(campaign_messages(u)) == 1 for u in crowd)
    assert store.campaign(cid)["status"] == "done"


def test_a_member_erased_mid_run_is_not_sent_to_and_leaves_no_trace(owner, crowd, sender, store):
    with time_machine.travel(WEDNESDAY_10AM, tick=False):
        cid = create(owner, "Erase | audience: optin | text: Hi {first_name} | holdout: 0")
        run_id = campaign_jobs._claim(store, store.campaign(cid))
        audience.snapshot(store, store.campaign(cid), run_id, utcnow(), sender.config.tz)
        store.update_campaign(cid, {"snapshot_done": True})
        store.erase_member(store.member_by_line_id(crowd[2].id)["_id"])
        queued = " ".join(q["line_ids"] for q in store.db.batch_queues.find())
        assert crowd[2].id not in queued and crowd[3].id in queued
        campaign_jobs.run_due(sender)

    assert campaign_messages(crowd[2]) == []
    assert store.campaign_counts(cid) == {"sent": 9, "erased": 1}
    assert not list(store.db.batch_queues.find())  # dropped with the finished run


def test_a_cancelled_run_sends_no_more_and_drops_its_queue(owner, crowd, sender, store):
    store.put_setting("campaign_batch_size", 3)
    with time_machine.travel(WEDNESDAY_10AM, tick=False):
        cid = create(owner, "Stop | audience: optin | text: Same for everyone | holdout: 0")
        calls = []
        campaign_jobs.run_due(sender, should_stop=lambda: bool(calls.append(1)) or len(calls) > 1)
        owner.says(f"/campaign cancel {cid}")
        campaign_jobs.run_due(sender)

    assert sum(len(campaign_messages(u)) for u in crowd) == 3
    assert store.campaign_counts(cid) == {"sent": 3, "cancelled": 7}
    assert not list(store.db.batch_queues.find({"campaign_id": cid}))


def test_the_owner_sets_quiet_hours_and_the_cap(owner, crowd, sender, store):
    assert texts(owner.says("/campaign quiet 22:00 08:00")) == [
        "Quiet hours 22:00–08:00; at most 2 campaign messages per member in 7 days."
    ]
    assert texts(owner.says("/campaign cap 1 7")) == [
        "Quiet hours 22:00–08:00; at most 1 campaign message per member in 7 days."
    ]
    assert texts(owner.says("/campaign cap 0 7")) == [
        "The cap is 1 to 50 messages over 1 to 90 days."
    ]
    assert texts(owner.says("/campaign quiet 25:00 08:00"))[0].startswith("Usage: /campaign new")

    with time_machine.travel(WEDNESDAY_10AM + timedelta(hours=11, minutes=30), tick=False):
        create(owner, "Late | audience: optin | text: One | holdout: 0")  # 21:30: not quiet now
        campaign_jobs.run_due(sender)
        cid = create(owner, "Again | audience: optin | text: Two | holdout: 0")
        campaign_jobs.run_due(sender)

    assert all(len(campaign_messages(u)) == 1 for u in crowd)
    assert store.campaign_counts(cid) == {"capped": 10}


def test_a_journey_batch_line_refused_goes_out_within_minutes(crowd, sender, store, sim):
    sim.inject("push", 500, times=sender.line.max_attempts)  # the birthday push, every try
    with time_machine.travel(WEDNESDAY_10AM + timedelta(minutes=5), tick=False):
        assert journey_jobs.run_journeys(sender)["birthday"] == 0
        assert store.campaign_counts("journey:birthday") == {"pending": 1}
    with time_machine.travel(WEDNESDAY_10AM + timedelta(minutes=6), tick=False):
        assert journey_jobs.resume_journeys(sender) >= 1
        assert journey_jobs.run_journeys(sender)["birthday"] == 0  # not taken in twice

    assert len(campaign_messages(crowd[0])) == 1
    assert store.campaign_counts("journey:birthday") == {"sent": 1}
