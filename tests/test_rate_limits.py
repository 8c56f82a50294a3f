"""Per-user rate limits: 30 messages or taps a minute, then one polite notice, then quiet."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from bot import create_app
from bot.config import ConfigError, load_config
from jobs import maintenance
from simulator import texts

NOON = datetime(2026, 3, 2, 5, 0, 10, tzinfo=UTC)
NOTICE = "You are sending messages faster than we can answer. Please wait a minute, then try again."


@pytest.fixture
def config(config):
    config["RATE_LIMIT_PER_MINUTE"] = "30"
    return config


def test_the_31st_message_in_a_minute_gets_one_notice_then_silence(alice, app):
    with time_machine.travel(NOON, tick=False):
        answered = [bool(alice.says("help")) for _ in range(30)]
        over = [texts(alice.says("help")) for _ in range(3)]
        alice.taps("a=rewards")  # taps count too: still quiet

    assert answered == [True] * 30
    assert over == [[NOTICE], [], []]
    with time_machine.travel(NOON + timedelta(minutes=1), tick=False):
        assert alice.says("help")  # a new minute, a new allowance


def test_staff_cannot_guess_codes_past_the_limit(cashier, store):
    with time_machine.travel(NOON, tick=False):
        replies = [texts(cashier.says(f"/use R{n:07d}")) for n in range(40)]

    assert all(len(r) == 1 and "R" in r[0] for r in replies[:30])
    assert replies[30] == [NOTICE] and replies[31:] == [[]] * 9
    assert store.db.audit.count_documents({"command": "/use"}) == 30  # the rest never ran


def test_the_count_is_shared_by_every_web_process(config, sim, alice, app):
    """Two apps on one database stand for two gunicorn workers taking turns."""
    other = create_app(config)
    try:
        with time_machine.travel(NOON, tick=False):
            for n in range(30):
                sim.connect(app if n % 2 else other)
                assert alice.says("help")
            sim.connect(other)
            assert texts(alice.says("help")) == [NOTICE]
            sim.connect(app)
            assert alice.says("help") == []
    finally:
        sim.connect(app)
        other.extensions["samachik"].store.client.close()


def test_the_notice_is_in_the_members_language(sim, app, store):
    somsri = sim.user("somsri", language="th")
    somsri.follow()
    with time_machine.travel(NOON, tick=False):
        for _ in range(30):
            somsri.says("ช่วยเหลือ")
        notice = texts(somsri.says("ช่วยเหลือ"))

    assert len(notice) == 1 and notice[0] != NOTICE and "นาที" in notice[0]


def test_a_group_flood_gets_no_notice(sim, alice, app):
    family = sim.group("family")
    with time_machine.travel(NOON, tick=False):
        for _ in range(30):
            family.says(alice, "help")
        assert family.says(alice, "help") == []


def test_old_counters_are_pruned(alice, store, app):
    with time_machine.travel(NOON, tick=False):
        alice.says("help")
    with time_machine.travel(NOON + timedelta(minutes=30), tick=False):
        alice.says("help")
    with time_machine.travel(NOON + timedelta(minutes=80), tick=False):
        assert maintenance.prune_rate_limits(store) == 1
    assert store.db.rate_limits.count_documents({}) == 1


def test_the_limit_is_a_setting(config):
    assert load_config({**config, "RATE_LIMIT_PER_MINUTE": "0"}).RATE_LIMIT_PER_MINUTE == 0
    with pytest.raises(ConfigError, match="RATE_LIMIT_PER_MINUTE"):
        load_config({**config, "RATE_LIMIT_PER_MINUTE": "-1"})
