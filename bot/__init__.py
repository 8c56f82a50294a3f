"""Samachik: the Flask app factory (DESIGN §2, a contract)."""

from __future__ import annotations

import logging

from flask import Flask

from bot.chat.context import Services
from bot.config import Config, ConfigError, load_config
from bot.line_api import LineApi
from bot.store import Store, connect
from bot.version import __version__

__all__ = ["__version__", "create_app"]


def create_app(config: dict | Config | None = None) -> Flask:
    """Build the app from the environment; a dict (tests) overrides settings."""
    try:
        settings = config if isinstance(config, Config) else load_config(config)
    except ConfigError as error:
        # One line naming the setting, instead of a traceback from gunicorn.
        raise SystemExit(f"samachik: configuration error: {error}") from None
    configure_logging(settings.LOG_LEVEL)

    # Imported here so importing `bot` stays cheap and free of side effects.
    from bot import cli, web  # noqa: PLC0415
    from bot.chat import webhook  # noqa: PLC0415
    from bot.merchants import web as merchant_web  # noqa: PLC0415
    from bot.web import health, media, pages  # noqa: PLC0415
    from handlers import build_registry  # noqa: PLC0415

    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = settings.WEBHOOK_MAX_BYTES
    app.config["SECRET_KEY"] = settings.SECRET_KEY
    # Clients are made per process, here, never at import: gunicorn forks.
    services = Services(
        config=settings,
        store=Store(
            connect(settings.MONGODB_URI, settings.MONGODB_TIMEOUT_MS), settings.MONGODB_DB
        ),
        line=LineApi(
            settings.LINE_CHANNEL_ACCESS_TOKEN,
            base_url=settings.LINE_API_BASE_URL,
            max_attempts=settings.LINE_API_MAX_ATTEMPTS,
            backoff_seconds=settings.LINE_API_BACKOFF_SECONDS,
        ),
        registry=build_registry(),
    )
    app.extensions["samachik"] = services
    app.register_blueprint(webhook.bp)
    app.register_blueprint(health.bp)
    app.register_blueprint(pages.bp)
    app.register_blueprint(media.bp)
    app.register_blueprint(cli.bp)
    web.init_app(app, production=settings.is_production)
    merchant_web.install(app, services)
    return app


# Our own code: LOG_LEVEL applies to these (and their children, e.g. bot.store).
APP_LOGGERS = ("bot", "handlers", "jobs")
# Libraries that log what they send and receive at DEBUG: pymongo whole commands
# (names, phones, birthdays), urllib3 and the LINE SDK URLs and response bodies
# (profiles). They stay at WARNING whatever LOG_LEVEL says.
DRIVER_LOGGERS = ("pymongo", "urllib3", "linebot")


def configure_logging(level: str) -> None:
    """Plain single-line logs; under gunicorn its own handlers are kept.

    LOG_LEVEL sets our own loggers only; everything else, drivers included,
    logs at WARNING (or above, if LOG_LEVEL is higher).
    """
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    wanted = logging.getLevelName(level.upper())
    others = max(wanted, logging.WARNING)
    root.setLevel(others)
    for name in APP_LOGGERS:
        logging.getLogger(name).setLevel(wanted)
    for name in DRIVER_LOGGERS:
        # Set explicitly, not only through the root: tools that lower the root
        # level (a test's caplog, a debugger) must not turn them on.
        logging.getLogger(name).setLevel(others)
