"""The LINE API wrapper against the simulator: retries, retry keys, 409, limits."""

import uuid

import pytest

from bot.line_api import LineApi, LineApiError, retry_key_for
from tests.conftest import ACCESS_TOKEN

HELLO = [{"type": "text", "text": "hello"}]


@pytest.fixture
def delays():
    return []


@pytest.fixture
def line(sim, app, delays):
    """A client that records its backoff delays instead of sleeping."""
    client = LineApi(ACCESS_TOKEN, base_url=sim.base_url, max_attempts=4, sleep=delays.append)
    yield client
    client.close()


def test_push_reaches_the_user_and_carries_a_retry_key(line, alice, sim):
    delivery = line.push(alice.id, HELLO)

    assert not delivery.duplicate
    assert alice.inbox == HELLO
    assert uuid.UUID(sim.requests("push")[0]["retry_key"])


def test_a_push_retried_with_the_same_key_is_delivered_once(line, alice):
    key = retry_key_for("campaign", 7, alice.id)

    first = line.push(alice.id, HELLO, retry_key=key)
    second = line.push(alice.id, HELLO, retry_key=key)

    assert not first.duplicate
    assert second.duplicate  # LINE's 409 "already accepted" counts as delivered
    assert alice.inbox == HELLO


def test_429_and_500_are_retried_with_the_same_key(line, alice, sim, delays):
    sim.inject("push", 429)
    sim.inject("push", 500)

    line.push(alice.id, HELLO)

    pushes = sim.requests("push")
    assert [p["status"] for p in pushes] == [429, 500, 200]
    assert len({p["retry_key"] for p in pushes}) == 1
    assert len(delays) == 2
    assert alice.inbox == HELLO


def test_retries_are_bounded_and_reported_as_temporary(line, alice, sim, delays):
    sim.inject("push", 429, times=10)

    with pytest.raises(LineApiError) as failure:
        line.push(alice.id, HELLO)

    assert failure.value.status == 429
    assert not failure.value.permanent
    assert len(sim.requests("push")) == 4
    assert len(delays) == 3
    assert alice.inbox == []


def test_backoff_grows_between_attempts(sim, app, alice):
    delays = []
    client = LineApi(
        ACCESS_TOKEN,
        base_url=sim.base_url,
        max_attempts=5,
        backoff_seconds=1.0,
        sleep=delays.append,
    )
    sim.inject("push", 500, times=4)

    client.push(alice.id, HELLO)

    ceilings = [1, 2, 4, 8]
    assert all(c / 2 <= d <= c for d, c in zip(delays, ceilings, strict=True))
    client.close()


def test_other_4xx_are_permanent_and_not_retried(line, sim, delays):
    with pytest.raises(LineApiError) as failure:
        line.push("U-not-a-real-user", HELLO)

    assert failure.value.status == 400
    assert failure.value.permanent
    assert len(sim.requests("push")) == 1
    assert delays == []


def test_a_used_reply_token_is_a_permanent_error(line, alice, sim):
    sim.platform.issue_reply_token("tok", alice.id)
    line.reply("tok", HELLO)

    with pytest.raises(LineApiError) as failure:
        line.reply("tok", HELLO)

    assert failure.value.permanent
    assert alice.inbox == HELLO


def test_more_than_five_messages_is_refused_before_calling_line(line, alice, sim):
    with pytest.raises(ValueError, match="1 to 5 messages"):
        line.push(alice.id, HELLO * 6)
    assert sim.requests() == []


def test_multicast_splits_recipients_into_calls_of_500(line, sim):
    users = [sim.user(f"fan{i}") for i in range(1201)]
    for user in users:
        user.state.friend = True

    result = line.multicast([u.id for u in users], HELLO, retry_key=str(uuid.uuid4()))

    calls = sim.requests("multicast")
    assert [len(c["body"]["to"]) for c in calls] == [500, 500, 201]
    assert len({c["retry_key"] for c in calls}) == 3
    assert len(result.sent) == 1201 and result.failed == []
    assert all(u.state.inbox for u in users)


def test_a_repeated_multicast_run_is_not_sent_twice(line, sim):
    users = [sim.user(f"fan{i}") for i in range(600)]
    for user in users:
        user.state.friend = True
    ids = [u.id for u in users]
    sim.inject("multicast", 400)  # first chunk fails for good, second goes out

    first = line.multicast(ids, HELLO, retry_key="run-1")
    second = line.multicast(ids, HELLO, retry_key="run-1")

    assert len(first.failed) == 500 and len(first.sent) == 100
    assert len(second.sent) == 600  # chunk 2 is a 409: already delivered
    assert all(len(u.state.inbox) == 1 for u in users)


def test_profile_of_a_friend_and_of_a_stranger(line, alice, sim):
    profile = line.profile(alice.id)

    assert profile["display_name"] == "Alice"
    assert profile["language"] == "en"
    assert line.profile(sim.user("stranger").id) is None


def test_quota_reports_limit_and_use(line, alice):
    line.push(alice.id, HELLO * 2)

    quota = line.quota()

    assert quota["used"] == 2
    assert quota["limit"] > 0
