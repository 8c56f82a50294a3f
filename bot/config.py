"""One place that reads the environment (DESIGN §3) into a validated Config."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

SUPPORTED_LOCALES = ("th", "en", "zh_Hant")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
APP_ENVS = ("production", "demo", "test")

# Settings that production cannot run without; demo and test environments get
# harmless local defaults instead, so `make demo` and the suite need no secrets.
REQUIRED_IN_PRODUCTION = (
    "LINE_CHANNEL_SECRET",
    "LINE_CHANNEL_ACCESS_TOKEN",
    "PUBLIC_BASE_URL",
    "SECRET_KEY",
)
CHANNEL_SETTINGS = ("LINE_CHANNEL_SECRET", "LINE_CHANNEL_ACCESS_TOKEN")
LOCAL_DEFAULTS = {
    "LINE_CHANNEL_SECRET": "local-channel-secret",
    "LINE_CHANNEL_ACCESS_TOKEN": "local-access-token",
    "PUBLIC_BASE_URL": "http://127.0.0.1:8090",
    "SECRET_KEY": "local-secret-key",
}


class ConfigError(Exception):
    """A setting is missing or invalid; the message is one line naming it."""


@dataclass(frozen=True)
class Config:
    """Validated settings; build it with `load_config`."""

    MONGODB_URI: str
    LINE_CHANNEL_SECRET: str
    LINE_CHANNEL_ACCESS_TOKEN: str
    PUBLIC_BASE_URL: str
    SECRET_KEY: str
    APP_ENV: str = "production"
    LINE_API_BASE_URL: str = "https://api.line.me"
    MONGODB_DB: str = "samachik"
    ADMIN_LINE_USER_IDS: frozenset[str] = field(default_factory=frozenset)
    TIMEZONE: str = "Asia/Bangkok"
    DEFAULT_LOCALE: str = "th"
    # The account's basic id ("@123abcde") for LINE links in QR codes; empty: asked
    # from the Messaging API (GET /v2/bot/info) once per process.
    LINE_BOT_BASIC_ID: str = ""
    # Operational knobs with safe defaults; documented in the README.
    MONGODB_TIMEOUT_MS: int = 3000
    WEBHOOK_MAX_BYTES: int = 1024 * 1024
    LINE_API_MAX_ATTEMPTS: int = 5
    LINE_API_BACKOFF_SECONDS: float = 0.5
    LOG_LEVEL: str = "INFO"
    # Multi-merchant mode (README "Many merchants"): set, it turns the mode on and its
    # comma-separated secrets (newest first) encrypt the merchants' LINE credentials.
    MERCHANT_KEYS_SECRET: str = ""
    MERCHANT_CACHE_SECONDS: float = 10.0
    WORKER_THREADS: int = 8
    # Set on a merchant's own copy of the config (bot.merchants), empty for the environment's.
    MERCHANT_SLUG: str = ""
    RATE_LIMIT_PER_MINUTE: int = 30  # messages and taps per LINE user; 0 turns it off

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.TIMEZONE)

    @property
    def is_production(self) -> bool:
        return self.APP_ENV == "production"

    @property
    def multi_merchant(self) -> bool:
        return bool(self.MERCHANT_KEYS_SECRET)


def _split_ids(value: str | frozenset | list | tuple) -> frozenset[str]:
    if isinstance(value, str):
        return frozenset(part.strip() for part in value.split(",") if part.strip())
    return frozenset(value)


def load_config(overrides: dict | None = None, environ: dict | None = None) -> Config:
    """Read settings from the environment; `overrides` (tests) win over it."""
    source = dict(os.environ if environ is None else environ)
    source.update({k: v for k, v in (overrides or {}).items() if v is not None})

    app_env = str(source.get("APP_ENV", "production")).strip() or "production"
    if app_env not in APP_ENVS:
        raise ConfigError(f"APP_ENV must be one of {', '.join(APP_ENVS)} (got {app_env!r})")

    if not source.get("MONGODB_URI"):
        raise ConfigError("MONGODB_URI is required (a mongodb:// URI)")
    for name in REQUIRED_IN_PRODUCTION:
        if not source.get(name):
            if name in CHANNEL_SETTINGS and source.get("MERCHANT_KEYS_SECRET"):
                # Multi-merchant mode: channels are merchant records; /callback is off.
                source[name] = ""
                continue
            if app_env == "production":
                raise ConfigError(f"{name} is required")
            source[name] = LOCAL_DEFAULTS[name]

    known = {f.name: f for f in fields(Config)}
    values = {}
    for name, spec in known.items():
        if name not in source or name == "MERCHANT_SLUG":
            continue
        raw = source[name]
        try:
            values[name] = _coerce(name, spec.type, raw)
        except ValueError:
            raise ConfigError(f"{name} has an invalid value: {raw!r}") from None
    values["APP_ENV"] = app_env

    config = Config(**values)
    _check(config)
    return config


def _coerce(name: str, type_name: str, raw):
    if name == "ADMIN_LINE_USER_IDS":
        return _split_ids(raw)
    if type_name == "int":
        return int(raw)
    if type_name == "float":
        return float(raw)
    return str(raw).strip()


def _check(config: Config) -> None:
    if config.DEFAULT_LOCALE not in SUPPORTED_LOCALES:
        raise ConfigError(
            f"DEFAULT_LOCALE must be one of {', '.join(SUPPORTED_LOCALES)}"
            f" (got {config.DEFAULT_LOCALE!r})"
        )
    try:
        ZoneInfo(config.TIMEZONE)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"TIMEZONE is not a known time zone: {config.TIMEZONE!r}") from None
    if config.is_production and not config.PUBLIC_BASE_URL.startswith("https://"):
        raise ConfigError("PUBLIC_BASE_URL must start with https:// (LINE only fetches https)")
    if config.LOG_LEVEL.upper() not in LOG_LEVELS:
        raise ConfigError(f"LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}")
    if config.WORKER_THREADS < 1:
        raise ConfigError("WORKER_THREADS must be at least 1")
    if config.LINE_API_MAX_ATTEMPTS < 1:
        raise ConfigError("LINE_API_MAX_ATTEMPTS must be at least 1")
    if config.RATE_LIMIT_PER_MINUTE < 0:
        raise ConfigError("RATE_LIMIT_PER_MINUTE must be 0 (off) or more")
