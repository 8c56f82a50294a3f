"""Settings: the environment contract of DESIGN §3."""

import pytest

from bot import create_app
from bot.config import ConfigError, load_config

PRODUCTION = {
    "MONGODB_URI": "mongodb://db.example:27017/",
    "LINE_CHANNEL_SECRET": "s",
    "LINE_CHANNEL_ACCESS_TOKEN": "t",
    "PUBLIC_BASE_URL": "https://loyalty.example.com",
    "SECRET_KEY": "k",
}


@pytest.mark.parametrize(
    "missing",
    [
        "MONGODB_URI",
        "LINE_CHANNEL_SECRET",
        "LINE_CHANNEL_ACCESS_TOKEN",
        "PUBLIC_BASE_URL",
        "SECRET_KEY",
    ],
)
def test_a_missing_required_setting_stops_startup_naming_it(missing):
    environ = {k: v for k, v in PRODUCTION.items() if k != missing}

    with pytest.raises(ConfigError, match=missing):
        load_config(environ=environ)


def test_create_app_exits_with_one_line_naming_the_setting(monkeypatch):
    for name in (*PRODUCTION, "APP_ENV"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MONGODB_URI", "mongodb://127.0.0.1:1/")

    with pytest.raises(SystemExit) as stopped:
        create_app()

    message = str(stopped.value.code)
    assert message == "samachik: configuration error: LINE_CHANNEL_SECRET is required"
    assert "\n" not in message


def test_defaults_follow_the_design():
    config = load_config(environ=PRODUCTION)

    assert config.LINE_API_BASE_URL == "https://api.line.me"
    assert config.MONGODB_DB == "samachik"
    assert config.TIMEZONE == "Asia/Bangkok"
    assert config.DEFAULT_LOCALE == "th"
    assert frozenset() == config.ADMIN_LINE_USER_IDS


def test_demo_and_test_need_no_secrets():
    config = load_config(environ={"APP_ENV": "demo", "MONGODB_URI": "mongodb://x/"})

    assert config.LINE_CHANNEL_SECRET and config.SECRET_KEY


def test_overrides_win_over_the_environment():
    config = load_config({"MONGODB_DB": "other"}, environ={**PRODUCTION, "MONGODB_DB": "env"})

    assert config.MONGODB_DB == "other"


def test_owner_ids_are_a_comma_separated_list():
    config = load_config(environ={**PRODUCTION, "ADMIN_LINE_USER_IDS": " Ua, Ub ,,"})

    assert {"Ua", "Ub"} == config.ADMIN_LINE_USER_IDS


@pytest.mark.parametrize(
    ("name", "value", "complaint"),
    [
        ("DEFAULT_LOCALE", "fr", "DEFAULT_LOCALE"),
        ("TIMEZONE", "Mars/Olympus", "TIMEZONE"),
        ("PUBLIC_BASE_URL", "http://insecure.example", "https://"),
        ("MONGODB_TIMEOUT_MS", "soon", "MONGODB_TIMEOUT_MS"),
        ("APP_ENV", "staging", "APP_ENV"),
    ],
)
def test_invalid_values_are_named(name, value, complaint):
    with pytest.raises(ConfigError, match=complaint):
        load_config(environ={**PRODUCTION, name: value})
