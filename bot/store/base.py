"""Connection, clock and index bookkeeping shared by every part of the store."""

from __future__ import annotations

import contextlib
import logging
from datetime import UTC, datetime

import pymongo
from pymongo.errors import CollectionInvalid, PyMongoError

log = logging.getLogger("bot.store")


def utcnow() -> datetime:
    """Current UTC time, truncated to milliseconds as BSON stores it."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def connect(uri: str, timeout_ms: int = 3000) -> pymongo.MongoClient:
    """Build a client; `connect=False` keeps it fork-safe under gunicorn."""
    if uri.startswith("mongomock://"):
        # Last-resort fallback where Go is missing (DESIGN §6); never in CI.
        import mongomock  # noqa: PLC0415 - optional, imported only when asked for

        return mongomock.MongoClient(tz_aware=True)
    return pymongo.MongoClient(
        uri,
        connect=False,
        tz_aware=True,
        serverSelectionTimeoutMS=timeout_ms,
        connectTimeoutMS=timeout_ms,
        appname="samachik",
    )


class StoreBase:
    """Holds the database; each part of the store declares its own INDEXES."""

    INDEXES: dict[str, list[pymongo.IndexModel]] = {}

    def __init__(self, client: pymongo.MongoClient, db_name: str):
        self.client = client
        self.db = client[db_name]

    def ping(self) -> bool:
        try:
            self.client.admin.command("ping")
            return True
        except PyMongoError as exc:
            log.warning("database ping failed: %s", type(exc).__name__)
            return False

    @classmethod
    def all_indexes(cls) -> dict[str, list[pymongo.IndexModel]]:
        merged: dict[str, list[pymongo.IndexModel]] = {}
        for part in reversed(cls.__mro__):
            for name, indexes in vars(part).get("INDEXES", {}).items():
                merged.setdefault(name, []).extend(indexes)
        return merged

    def ensure_indexes(self) -> list[str]:
        """Create every collection and its indexes; safe to run again."""
        created = []
        existing = set(self.db.list_collection_names())
        for name, indexes in self.all_indexes().items():
            if name not in existing:
                # Another process may create it meanwhile.
                with contextlib.suppress(CollectionInvalid):
                    self.db.create_collection(name)

            # One index per call: FerretDB 1.24 panics when a single
            # createIndexes names several indexes that already exist.
            for index in indexes:
                created += self.db[name].create_indexes([index])
        return created
