"""LINE misbehaving, from the simulator: 429s, 500s, answers that never come, the month's
quota running out — during a campaign and during replies.

Campaigns finish with exact counts and nobody gets a message twice, or stop cleanly and
say so; replies are retried, and fall back to a push only where README says they do.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from bot.line_api import LineApi
from bot.marketing.sending import Sender
from bot.members import privacy
from jobs import campaign_jobs
from simulator import events as ev
from simulator import texts, user_id_for
from tests.conftest import ACCESS_TOKEN
from tests.test_campaigns import create

START = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)  # 10:00 in Bangkok, outside quiet hours
FAULTS = {429: 0.2, 500: 0.1, "timeout": 0.05}
CROWD = 30


def fast_line(sim, max_attempts: int = 5) -> LineApi:
    """Our LINE client with a short read timeout, so a lost answer costs 0.3 s, not 15."""
    return LineApi(ACCESS_TOKEN, sim.base_url, max_attempts, 0, timeout=(2, 0.3))


@pytest.fixture
def crowd(sim, store):
    """Thirty members who opted in, all friends of the account."""
    users = []
    for index in range(CROWD):
        name = f"fan{index:02d}"
        member, _new = store.record_follow(user_id_for(name), "en")
        store.complete_signup(
            member["_id"],
            f"F{index:05d}",
            {"first_name": f"Fan{index}", "last_name": "X"},
            [privacy.consent("marketing", True, "test")],
            True,
        )
        user = sim.user(name, language="en")
        user.state.friend = True
        users.append(user)
    store.put_setting("campaign_batch_size", 5)
    store.put_setting("campaign_cap", [5, 7])
    return users


def received(user) -> int:
    return len([m for m in user.inbox if m.get("type") == "flex"])


def run_until_done(sender, store, campaign_id: str, minutes: int = 10) -> int:
    """The worker, once a minute, until the run is over; returns the minutes it took."""
    for minute in range(minutes):
        with time_machine.travel(START + timedelta(minutes=minute), tick=False):
            campaign_jobs.run_due(sender)
        if store.campaign(campaign_id)["status"] in ("done", "quota"):
            return minute + 1
    raise AssertionError(f"still {store.campaign(campaign_id)['status']} after {minutes} minutes")


@pytest.mark.parametrize(
    ("kind", "endpoint"),
    [("Same for everyone", "multicast"), ("Hi {first_name}", "push")],
)
def test_a_campaign_under_429s_500s_and_timeouts_reaches_everyone_once(
    kind, endpoint, owner, crowd, store, services, sim
):
    line = fast_line(sim)
    sender = Sender(store, line, services.config, threads=4)
    with time_machine.travel(START, tick=False):
        cid = create(owner, f"Storm | audience: optin | text: {kind} | holdout: 0")
    sim.set_fault_rates(endpoint, FAULTS, seed=7, timeout_seconds=0.6)
    try:
        run_until_done(sender, store, cid)
    finally:
        sim.set_fault_rates(endpoint, {})
    with time_machine.travel(START + timedelta(minutes=30), tick=False):
        campaign_jobs.run_due(sender)  # owners not told yet (LINE failed it) are told now
    line.close()

    statuses = [r["status"] for r in sim.requests(endpoint)]
    assert {429, 500} & set(statuses)  # LINE really did misbehave
    assert [received(u) for u in crowd] == [1] * CROWD  # everyone once, nobody twice
    assert store.campaign_counts(cid) == {"sent": CROWD}
    assert store.campaign(cid)["status"] == "done"
    told = [t for t in texts(owner.inbox) if "has finished" in t]
    assert len(told) == 1 and f"Sent: {CROWD} " in told[0]


def test_a_timeout_after_line_took_the_call_counts_as_delivered(owner, crowd, store, services, sim):
    line = fast_line(sim)
    sender = Sender(store, line, services.config, threads=1)
    with time_machine.travel(START, tick=False):
        cid = create(owner, "Lost | audience: optin | text: Same for everyone | holdout: 0")
    sim.set_fault_rates("multicast", {"timeout": 0.5}, seed=1, timeout_seconds=0.6)
    try:
        run_until_done(sender, store, cid)
    finally:
        sim.set_fault_rates("multicast", {})
        line.close()

    assert 409 in [r["status"] for r in sim.requests("multicast")]  # the retry, recognised
    assert [received(u) for u in crowd] == [1] * CROWD
    assert store.campaign_counts(cid) == {"sent": CROWD}


def test_the_months_quota_running_out_mid_run_stops_it_cleanly(owner, crowd, store, services, sim):
    sender = Sender(store, services.line, services.config, threads=1)
    sim.platform.quota_limit = 11  # two batches of 5, and the owners' notice
    sim.inject("quota", 500, times=services.line.max_attempts)  # so the run cannot tell first
    with time_machine.travel(START, tick=False):
        cid = create(owner, "Big | audience: optin | text: Same for everyone | holdout: 0")
    run_until_done(sender, store, cid)
    with time_machine.travel(START + timedelta(minutes=5), tick=False):
        campaign_jobs.run_due(sender)  # a later minute sends nothing more

    refused = [r for r in sim.requests("multicast") if r["status"] == 429]
    assert len(refused) == 1  # not retried: the quota will not come back this minute
    assert sorted(received(u) for u in crowd) == [0] * 20 + [1] * 10
    assert store.campaign_counts(cid) == {"sent": 10, "quota": 20}
    assert store.campaign(cid)["status"] == "quota"
    assert texts(owner.inbox)[-1] == (
        f"Campaign {cid} stopped: this month's message quota ran out. Sent: 10 · not sent: 20"
    )
    show = texts(owner.says(f"/campaign show {cid}"))[0]
    assert "stopped: not enough messages left this month" in show
    assert "sent: 10 · not sent: the month's quota ran out: 20" in show


# -- replies ------------------------------------------------------------------------------


@pytest.fixture
def line(services, sim):
    """The app's LINE client, with a short read timeout."""
    original, services.line = services.line, fast_line(sim)
    yield services.line
    services.line.close()
    services.line = original


def test_a_reply_is_retried_through_429s_and_500s(alice, sim, line):
    sim.inject("reply", 429, times=2)
    sim.inject("reply", 500, times=2)

    assert texts(alice.says("language en")) == ["From now on I will reply in English."]
    assert [r["status"] for r in sim.requests("reply")] == [429, 429, 500, 500, 200]


def test_a_reply_whose_answer_was_lost_is_not_pushed_again(alice, sim, line):
    """LINE took the reply but its answer timed out; the retry finds the token used."""
    sim.set_fault_rates("reply", {"timeout": 0.5}, seed=1, timeout_seconds=0.6)
    try:
        replies = alice.says("language en")
    finally:
        sim.set_fault_rates("reply", {})

    assert texts(replies) == ["From now on I will reply in English."]  # once, not again by push
    assert sorted(r["status"] for r in sim.requests("reply")) == [200, 400]
    assert sim.requests("push") == []


def test_a_reply_line_keeps_failing_is_given_up_without_a_push(alice, sim, line):
    sim.inject("reply", 500, times=line.max_attempts)

    assert alice.says("language en") == []
    assert alice.last_status == 200  # the event was handled; only the answer is lost
    assert sim.requests("push") == []  # README: a push only when the token is refused


def test_a_reply_to_a_late_redelivery_falls_back_to_one_push(alice, sim, app):
    event = ev.text_message(alice.id, "language en")
    sim.platform.issue_reply_token(event["replyToken"], alice.id)
    sim.platform.reply_tokens[event["replyToken"]]["issued_at"] -= 120  # it has expired

    assert texts(alice.send(event)) == ["From now on I will reply in English."]
    assert texts(alice.send({**event, "deliveryContext": {"isRedelivery": True}})) == []
    assert [r["status"] for r in sim.requests("push")] == [200]
