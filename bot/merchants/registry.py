"""Merchants: a slug to its own Services (config, store, LINE client), cached per process.

Each merchant gets a copy of the environment's Config with its channel, owners,
time zone, language, database and two derived values: PUBLIC_BASE_URL ends in
`/m/<slug>` (so its QR images and links route back to it) and SECRET_KEY is
HMAC(SECRET_KEY, slug), so a token signed for one merchant fails every other's
check. One MongoClient per database URI is shared by every merchant on it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import logging
import threading
import time

import pymongo

from bot.chat.context import Services
from bot.chat.registry import Registry
from bot.config import Config
from bot.line_api import LineApi
from bot.merchants.crypto import Keyring
from bot.merchants.records import OperatorStore
from bot.store import Store, connect

log = logging.getLogger(__name__)


def merchant_secret_key(secret_key: str, slug: str) -> str:
    """The signing key of one merchant's QR tokens and links."""
    return hmac.new(secret_key.encode(), f"merchant:{slug}".encode(), hashlib.sha256).hexdigest()


def merchant_db_name(base_db: str, slug: str) -> str:
    return f"{base_db}_{slug}"


def operator_db_name(base_db: str) -> str:
    return f"{base_db}_operator"


class Merchants:
    """The registered merchants of this deployment, and their Services."""

    def __init__(self, base: Config, registry: Registry, client: pymongo.MongoClient):
        self.base = base
        self.registry = registry
        self._clients: dict[str, pymongo.MongoClient] = {base.MONGODB_URI: client}
        self.operator = OperatorStore(
            client, operator_db_name(base.MONGODB_DB), Keyring(base.MERCHANT_KEYS_SECRET)
        )
        # slug -> (Services or None if unknown/disabled, record version, checked at)
        self._cache: dict[str, tuple[Services | None, tuple | None, float]] = {}
        self._lock = threading.RLock()

    def services(self, slug: str) -> Services | None:
        """The active merchant's Services; None for an unknown or disabled slug."""
        entry = self._cache.get(slug)
        now = time.monotonic()
        if entry and now - entry[2] < self.base.MERCHANT_CACHE_SECONDS:
            return entry[0]
        # Cheap check first: rebuild clients only when the record changed.
        version = self.operator.version(slug)
        if entry and entry[1] == version:
            self._cache[slug] = (entry[0], version, now)
            return entry[0]
        services = self._build(slug) if version and version[1] == "active" else None
        self._cache[slug] = (services, version, now)
        return services

    def is_active(self, slug: str) -> bool:
        return self.services(slug) is not None

    def invalidate(self, slug: str) -> None:
        """Forget a merchant's clients now (this process); others notice within the TTL."""
        self._cache.pop(slug, None)

    def active_slugs(self) -> list[str]:
        return sorted(self.operator.active_slugs())

    def store_for(self, record: dict) -> Store:
        """The merchant's database, on its own cluster if it has one."""
        uri = record.get("mongodb_uri") or self.base.MONGODB_URI
        name = record.get("db_name") or merchant_db_name(self.base.MONGODB_DB, record["_id"])
        return Store(self._client(uri), name)

    def config_for(self, record: dict) -> Config:
        slug = record["_id"]
        base = self.base
        return dataclasses.replace(
            base,
            MERCHANT_SLUG=slug,
            LINE_CHANNEL_SECRET=record["channel_secret"],
            LINE_CHANNEL_ACCESS_TOKEN=record["access_token"],
            MONGODB_URI=record.get("mongodb_uri") or base.MONGODB_URI,
            MONGODB_DB=record.get("db_name") or merchant_db_name(base.MONGODB_DB, slug),
            ADMIN_LINE_USER_IDS=frozenset(record.get("owners") or ()),
            TIMEZONE=record.get("timezone") or base.TIMEZONE,
            DEFAULT_LOCALE=record.get("locale") or base.DEFAULT_LOCALE,
            PUBLIC_BASE_URL=f"{base.PUBLIC_BASE_URL.rstrip('/')}/m/{slug}",
            SECRET_KEY=merchant_secret_key(base.SECRET_KEY, slug),
            LINE_BOT_BASIC_ID="",  # the environment's is the single merchant's: ask LINE
        )

    def _build(self, slug: str) -> Services | None:
        with self._lock:
            record = self.operator.merchant(slug)
            if record is None or record["status"] != "active":
                return None
            config = self.config_for(record)
            line = LineApi(
                config.LINE_CHANNEL_ACCESS_TOKEN,
                base_url=config.LINE_API_BASE_URL,
                max_attempts=config.LINE_API_MAX_ATTEMPTS,
                backoff_seconds=config.LINE_API_BACKOFF_SECONDS,
            )
            log.info("merchant %s: clients ready", slug)
            return Services(config, self.store_for(record), line, self.registry)

    def _client(self, uri: str) -> pymongo.MongoClient:
        with self._lock:
            if uri not in self._clients:
                self._clients[uri] = connect(uri, self.base.MONGODB_TIMEOUT_MS)
            return self._clients[uri]

    def close(self) -> None:
        """Close the clients of merchants on their own clusters (the shared one is the app's)."""
        for uri, client in list(self._clients.items())[1:]:
            client.close()
            self._clients.pop(uri, None)
