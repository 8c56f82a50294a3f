"""LOG_LEVEL=DEBUG shows our own workings, never a member's personal data."""

import logging

import pytest

from bot import configure_logging
from bot.config import ConfigError, load_config
from simulator import events as ev
from tests.conftest import sign_up

WATCHED = ("", "bot", "handlers", "jobs", "pymongo", "pymongo.command", "urllib3", "linebot")


@pytest.fixture(autouse=True)
def restore_log_levels():
    """configure_logging changes process-wide state; put it back for the next test."""
    saved = {name: logging.getLogger(name).level for name in WATCHED}
    yield
    for name, level in saved.items():
        logging.getLogger(name).setLevel(level)


@pytest.fixture
def config(config):
    return {**config, "LOG_LEVEL": "DEBUG"}


def test_debug_logs_of_a_full_signup_hold_no_personal_field(sim, app, caplog):
    ploy = sim.user("ploy", "Ploy", language="en")
    ploy.state.friend = True

    ploy.follow()
    sign_up(ploy, "Khunying", "Srisawat", "089 765 4321", "khunying@example.org")
    ploy.says("profile")
    ploy.says("my data")
    ploy.send(ev.base_event("somethingNew", ploy.id, reply=False))

    assert "Welcome" in " ".join(m.get("text") or m.get("altText", "") for m in ploy.inbox)
    debug = [r for r in caplog.records if r.levelno == logging.DEBUG]
    assert any(r.name.startswith("bot.") for r in debug)  # DEBUG really is on for us
    logged = "\n".join(r.getMessage() for r in caplog.records)
    for personal in [
        "Khunying",
        "Srisawat",
        "897654321",  # the phone, in any format
        "89 765 4321",
        "khunying@example.org",
        "1990-05-17",
        "1990, 5, 17",
    ]:
        assert personal not in logged, personal


@pytest.mark.parametrize("level", ["DEBUG", "INFO", "ERROR"])
def test_the_level_applies_to_our_loggers_and_drivers_stay_at_warning(level):
    configure_logging(level)

    for ours in ("bot", "handlers", "jobs"):
        assert logging.getLogger(ours).getEffectiveLevel() == getattr(logging, level)
    for driver in ("pymongo", "pymongo.command", "urllib3", "linebot"):
        assert logging.getLogger(driver).getEffectiveLevel() >= logging.WARNING


def test_an_unknown_log_level_stops_startup_naming_it():
    with pytest.raises(ConfigError, match="LOG_LEVEL must be one of DEBUG, INFO"):
        load_config({"APP_ENV": "test", "MONGODB_URI": "mongodb://x", "LOG_LEVEL": "LOUD"})
