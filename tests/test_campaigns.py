"""Campaigns and journeys from the worker: once per member, holdout, skips, resumes."""

import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from bot.loyalty import points
from bot.marketing import audience, campaign_message, campaigns, sending
from bot.marketing.sending import Sender
from bot.members import privacy
from bot.store import utcnow
from jobs import campaign_jobs, journey_jobs
from simulator import texts, user_id_for
from tests.conftest import ROOT, sign_up

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
    assert texts(owner.says("/journey set after_purchase days 400")) == [
        "after_purchase days is a whole number from 1 to 365."
    ]
    assert texts(owner.says(f"/journey set winback every {'9' * 25}")) == [
        "winback every is a whole number from 7 to 365."
    ]
    assert texts(owner.says("/journey set winback every ²")) == [  # a digit, not a number
        "winback every is a whole number from 7 to 365."
    ]
    assert texts(owner.says("/journey set birthday when week")) == [
        "birthday when is one of: day, month."
    ]

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
            "from bot import create_app; from bot.marketing.sending import Sender; "
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
    assert texts(owner.says("/campaign quiet 25:00 08:00"))[0].startswith("Quiet hours are two")

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


# -- hardening (issue 11 D) ----------------------------------------------------------------

BANGKOK_23_47 = datetime(2026, 11, 25, 16, 47, tzinfo=UTC)
NNBSP = "\u202f"  # CLDR puts a narrow no-break space before AM/PM
AT_10AM = f"at Nov 25, 2026, 10:00{NNBSP}AM"


def body_texts(message: dict) -> list[str]:
    """Every text component of a Flex bubble's body, in order."""
    found = []

    def walk(node):
        if isinstance(node, dict):
            if node.get("type") == "text":
                found.append(node["text"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(message["contents"]["body"])
    return found


def test_only_documented_placeholders_are_accepted_and_nothing_is_left_behind(owner, store):
    odd_ones = ["{0}", "{first_name:>40000}", "{first_name.__class__.__mro__}", "{x}"]
    for odd in [*odd_ones, "{coupon_code}"]:
        reply = texts(owner.says(f"/campaign new Odd | audience: optin | text: Hi {odd}"))

        assert len(reply) == 1 and reply[0].startswith(f"I don't understand “{odd}”.\n"), odd
        if odd == "{coupon_code}":
            assert "need a coupon" in reply[0]
        else:
            assert reply[0].endswith(
                "Placeholders you can use: {first_name} {points} {tier} {coupon_code} {expires}."
            )
    assert store.list_campaigns() == []  # no orphan draft


def test_braces_that_are_not_placeholders_reach_members_as_typed(owner, crowd, sender):
    with time_machine.travel(WEDNESDAY_10AM, tick=False):
        create(owner, "Deal | audience: optin | text: {today only {first_name}: {{tea | holdout: 0")
        campaign_jobs.run_due(sender)

    assert body_texts(campaign_messages(crowd[2])[0]) == ["{today only Guest2: {{tea"]


def test_a_stored_wording_with_python_format_fields_is_shown_literally(services):
    """Whatever reaches the renderer (an old draft, a journey wording), nothing is
    evaluated: no crash, no Python internals in a customer's chat."""
    campaign = {
        "_id": "KTEST1",
        "run_id": "KTEST1-x",
        "template": "news",
        "content": {"title": "{0}", "text": "{first_name.__class__} {first_name:>40000}"},
    }
    member = {"profile": {"first_name": "Nok"}, "points": 3, "locale": "en"}

    message = campaign_message.render(services.config, campaign, member, None)

    assert message["altText"] == "{0}"
    assert body_texts(message) == ["{first_name.__class__} {first_name:>40000}"]


OUT_OF_RANGE = [
    ("coupon: percent 5000 -3", "A coupon is “percent <1-100> [days]”"),
    ("coupon: percent 20 -3", "days valid 1 to 365"),
    (f"coupon: amount {'9' * 25}", "amount <baht 1-100000>"),
    ("coupon: free", "“free <item>”"),
    ("window: -5", "The attribution window is a whole number of days from 1 to 90."),
    (f"window: {'9' * 25}", "from 1 to 90"),
    ("holdout: 60", "The holdout is 0 to 50"),
    ("holdout: nan", "The holdout is 0 to 50"),
    (f"holdout: {'9' * 25}", "The holdout is 0 to 50"),
    ("at: 2026-11-24 10:00", "from now to a year ahead"),
    ("at: 2028-01-01 10:00", "from now to a year ahead"),
    (f"at: {'9' * 25}", "from now to a year ahead"),
    ("weekly: mon 25:00", "like “mon,thu 10:00”"),
    ("weekly: funday 10:00", "like “mon,thu 10:00”"),
]


def test_campaign_numbers_are_range_checked(owner, store):
    for part, allowed in OUT_OF_RANGE:
        with time_machine.travel(WEDNESDAY_10AM, tick=False):
            reply = texts(
                owner.says(f"/campaign new Checked | audience: optin | text: Hi | {part}")
            )

        value = part.split(": ", 1)[1]
        assert reply[0].startswith(f"I don't understand “{value}”.\n"), part
        assert allowed in reply[0], part
    assert store.list_campaigns() == []


def test_the_step_by_step_form_says_what_is_allowed(owner):
    owner.says("/campaign new")
    for answer in ("Steps", "all", "news", "Title"):
        owner.says(answer)
    assert texts(owner.says("Hi {0}"))[0].startswith("I don't understand “{0}”.\nPlaceholders")
    owner.says("Hi {first_name}")
    owner.says("skip")  # image
    owner.says("skip")  # link
    assert "A coupon is" in texts(owner.says("percent 5000 -3"))[0]
    owner.says("skip")
    assert "The holdout is 0 to 50" in texts(owner.says("70"))[0]


def test_the_cap_and_quiet_hours_refuse_numbers_out_of_range(owner, store):
    for args in ["0 7", "51 7", "2 0", "2 91", f"{'9' * 25} 7", "2 ²", "-1 7", "2", "2 7 9"]:
        assert texts(owner.says(f"/campaign cap {args}")) == [
            "The cap is 1 to 50 messages over 1 to 90 days."
        ], args
    for args in ["24:00 08:00", f"{'9' * 25}:00 08:00", "21:60 08:00", "21:00", "9pm 8am"]:
        assert texts(owner.says(f"/campaign quiet {args}"))[0].startswith(
            "Quiet hours are two times from 00:00 to 23:59"
        ), args
    assert store.get_setting("campaign_cap") is None
    assert store.get_setting("quiet_hours") is None


def test_a_campaign_confirmed_in_quiet_hours_says_when_it_will_go(owner, crowd, sender, store):
    with time_machine.travel(BANGKOK_23_47, tick=False):
        replies = owner.says("/campaign new Late | audience: optin | text: Night | holdout: 0")
        note = f"Quiet hours until 09:00: it will start at Nov 26, 2026, 9:00{NNBSP}AM."
        assert note in replies[-1]["text"].splitlines()
        confirmed = owner.taps(replies[-1]["quickReply"]["items"][0]["action"]["data"])
        cid = store.list_campaigns()[0]["_id"]
        assert texts(confirmed) == [
            f"Campaign {cid} is scheduled, at Nov 25, 2026, 11:47{NNBSP}PM.\n{note}"
        ]
    with time_machine.travel(BANGKOK_23_47 + timedelta(minutes=1), tick=False):
        assert campaign_jobs.run_due(sender) == []
        assert texts(owner.says(f"/campaign show {cid}")) == [
            f"Campaign {cid} “Late” — scheduled, at Nov 25, 2026, 11:47{NNBSP}PM.\n{note}\n"
            "Deliveries: —"
        ]
    with time_machine.travel(BANGKOK_23_47 + timedelta(minutes=2), tick=False):
        owner.says("/campaign quiet 22:00 23:00")  # the owner moves the quiet hours
        assert "Quiet hours" not in texts(owner.says(f"/campaign show {cid}"))[0]
        assert len(campaign_jobs.run_due(sender)) == 1

    assert all(len(campaign_messages(u)) == 1 for u in crowd)


def test_pause_resume_and_cancel_reach_a_campaign_waiting_for_quiet_hours(
    owner, crowd, sender, store
):
    with time_machine.travel(BANGKOK_23_47, tick=False):
        paused = create(owner, "Paused | audience: optin | text: One | holdout: 0")
        cancelled = create(owner, "Cancelled | audience: optin | text: Two | holdout: 0")
        store.put_setting("campaign_cap", [5, 7])
        campaign_jobs.run_due(sender)
        assert texts(owner.says(f"/campaign pause {paused}")) == [f"Campaign {paused} paused."]
        assert texts(owner.says(f"/campaign cancel {cancelled}")) == [
            f"Campaign {cancelled} cancelled."
        ]
    with time_machine.travel(WEDNESDAY_10AM + timedelta(days=1, minutes=-55), tick=False):  # 09:05
        assert campaign_jobs.run_due(sender) == []
        assert "— paused," in texts(owner.says(f"/campaign show {paused}"))[0]
        owner.says(f"/campaign resume {paused}")
        assert len(campaign_jobs.run_due(sender)) == 1

    assert [texts(campaign_messages(u)) for u in crowd] == [["Paused"]] * 10
    assert store.campaign(cancelled)["status"] == "cancelled"
    assert store.campaign_counts(cancelled) == {}


def test_the_preview_and_test_show_a_sample_coupon(owner, store):
    spec = (
        "Coupon | audience: optin | template: coupon | coupon: percent 20 14 "
        "| text: Hi {first_name}, show code {coupon_code} at the counter. Valid until {expires}."
    )
    with time_machine.travel(WEDNESDAY_10AM, tick=False):
        preview, summary = owner.says(f"/campaign new {spec}")
        cid = store.list_campaigns()[0]["_id"]
        tested = owner.says(f"/campaign test {cid}")

    expected = [
        f"Hi Alice, show code CSAMPLE at the counter. Valid until Dec 9, 2026, 10:00{NNBSP}AM.",
        "CSAMPLE",
        f"Valid until Dec 9, 2026, 10:00{NNBSP}AM",
    ]
    assert body_texts(preview) == expected
    assert body_texts(tested[0]) == expected
    sample = "The preview above is filled in for a sample member (Alice, 120 points)."
    assert sample in summary["text"].splitlines()
    assert tested[1]["text"] == sample


def test_the_preview_uses_the_owners_own_member_record(owner, store):
    sign_up(owner, first="Malee", phone="089 999 0000", email=None)
    with time_machine.travel(WEDNESDAY_10AM, tick=False):
        preview, summary = owner.says(
            "/campaign new Own | audience: optin | text: Hi {first_name}, {points} points"
        )

    assert body_texts(preview) == ["Hi Malee, 50 points"]
    assert "The preview above is filled in with your own member record." in summary["text"]


@pytest.fixture
def second_owner(config):
    """A second owner, "partner" (in the settings before the app starts)."""
    config["ADMIN_LINE_USER_IDS"] += "," + user_id_for("partner")


def test_every_owner_is_told_once_when_a_run_finishes(
    second_owner, owner, crowd, sender, store, sim
):
    partner = sim.user("partner", "Partner", language="th")
    partner.state.friend = True
    store.record_follow(partner.id, "th")  # reads Thai
    sim.inject("push", 500, times=sender.line.max_attempts)  # LINE fails the first notice
    with time_machine.travel(WEDNESDAY_10AM, tick=False):
        cid = create(owner, "Told | audience: optin | text: Same for everyone | holdout: 20")
        campaign_jobs.run_due(sender)
        assert store.campaign(cid)["status"] == "done"
    with time_machine.travel(WEDNESDAY_10AM + timedelta(minutes=1), tick=False):
        campaign_jobs.run_due(sender)  # tells them now
        campaign_jobs.run_due(sender)
        campaign_jobs.tell_owners(sender)

    counts = store.campaign_counts(cid)
    told = [m for m in texts(owner.inbox) if "has finished" in m]
    assert told == [
        f"Campaign {cid} “Told” has finished.\nSent: {counts.get('sent', 0)} · held out: "
        f"{counts.get('holdout', 0)} · skipped: 0 · failed: 0"
    ]
    thai = [m for m in texts(partner.inbox) if m.startswith(f"แคมเปญ {cid}")]
    assert len(thai) == 1 and "ส่งแล้ว" in thai[0]


def test_owner_messages_use_words_plurals_and_local_dates(owner, crowd, sender, store):
    with time_machine.travel(WEDNESDAY_10AM, tick=False):
        replies = owner.says("/campaign new One | audience: birth_month:11 | text: Hi | holdout: 0")
        assert (
            replies[-1]["text"]
            .splitlines()[0]
            .endswith(f"“One”: 1 member with marketing consent, 0% held out, {AT_10AM}.")
        )
        cid = store.list_campaigns()[0]["_id"]
        assert (
            f"{cid} · One · draft, waiting for Confirm · {AT_10AM}"
            in texts(owner.says("/campaign list"))[0].splitlines()
        )
        owner.taps(replies[-1]["quickReply"]["items"][0]["action"]["data"])
        campaign_jobs.run_due(sender)
        shown = texts(owner.says(f"/campaign show {cid}"))
        assert shown[0] == f"Campaign {cid} “One” — finished, {AT_10AM}.\nDeliveries: sent: 1"
        assert shown[1].startswith("Results (1 run, attribution window 7 days):")
    assert (
        "• after_purchase: on (1 day after the latest visit)"
        in texts(owner.says("/journey set after_purchase days 1"))[0].splitlines()
    )


def test_a_journey_says_1_point_not_1_points(crowd, sender, store, services):
    member = store.member_by_line_id(crowd[5].id)
    with time_machine.travel(WEDNESDAY_10AM - timedelta(days=30), tick=False):
        points.earn(store, member, 2500, None, "staff", None, services.config.tz)  # ฿25: 1 point
    with time_machine.travel(WEDNESDAY_10AM + timedelta(minutes=5), tick=False):
        assert journey_jobs.run_journeys(sender)["after_purchase"] == 1

    assert body_texts(campaign_messages(crowd[5])[0]) == [
        "Hi Guest5, thanks for your visit last month! You have 1 point."
    ]


def test_link_clicks_count_each_member_once_even_when_tapped_at_once(
    owner, crowd, sender, store, app
):
    with time_machine.travel(WEDNESDAY_10AM, tick=False):
        preview, _summary = owner.says(
            "/campaign new Menu | audience: optin | text: Menu | holdout: 0 "
            "| button: See menu | link: https://example.com/menu"
        )
        cid = store.list_campaigns()[0]["_id"]
        owner.taps(f"a=campaign_ok&c={cid}")
        campaign_jobs.run_due(sender)

    def path(message):
        uri = message["contents"]["footer"]["contents"][0]["action"]["uri"]
        return "/" + uri.split("/", 3)[3]

    assert app.test_client().get(path(preview)).status_code == 302  # the owner's preview
    first = path(campaign_messages(crowd[0])[0])
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: app.test_client().get(first).status_code, range(8)))
    app.test_client().get(path(campaign_messages(crowd[1])[0]))

    assert answers == [302] * 8
    assert store.click_count(campaign_id=cid) == 2
    assert texts(owner.says(f"/campaign show {cid}"))[0].endswith("2 members clicked the link.")


def test_a_run_over_the_months_quota_is_stopped_and_the_owners_told(owner, crowd, sender, sim):
    sim.platform.quota_limit = 1
    with time_machine.travel(WEDNESDAY_10AM, tick=False):
        cid = create(owner, "Big | audience: optin | text: Same for everyone | holdout: 0")
        campaign_jobs.run_due(sender)
        campaign_jobs.run_due(sender)

    assert all(campaign_messages(u) == [] for u in crowd)
    told = [m for m in texts(owner.inbox) if "was not sent" in m]
    assert told == [
        f"Campaign {cid} was not sent: it needs 10 messages, but this month's quota has "
        "1 message left."
    ]
    assert "stopped: not enough messages left this month" in texts(owner.says("/campaign list"))[0]
