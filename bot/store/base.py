"""Connection, clock and index bookkeeping shared by every part of the store."""

from __future__ import annotations

import contextlib
import functools
import logging
import random
import time
import uuid
from datetime import UTC, datetime, timedelta

import pymongo
from pymongo import UpdateOne
from pymongo.errors import BulkWriteError, CollectionInvalid, DuplicateKeyError, PyMongoError

log = logging.getLogger("bot.store")


def utcnow() -> datetime:
    """Current UTC time, truncated to milliseconds as BSON stores it."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def connect(uri: str, timeout_ms: int = 3000) -> pymongo.MongoClient:
    """Build a client; `connect=False` keeps it fork-safe under gunicorn."""
    if uri.startswith("mongomock://"):
        # In-process fallback where Go is missing (DESIGN §6); the PyPI package
        # mongomock-ng installs the module `mongomock_ng`.
        return _in_process_client()
    return pymongo.MongoClient(
        uri,
        connect=False,
        tz_aware=True,
        serverSelectionTimeoutMS=timeout_ms,
        connectTimeoutMS=timeout_ms,
        appname="samachik",
    )


@functools.cache
def _in_process_store():
    """One in-memory server per process: clients made later see earlier data."""
    from mongomock_ng.store import ServerStore  # noqa: PLC0415 - only when asked for

    return ServerStore()


def _in_process_client():
    import mongomock_ng  # noqa: PLC0415 - only when asked for

    return mongomock_ng.MongoClient(tz_aware=True, _store=_in_process_store())


LOCK_TTL = timedelta(seconds=10)
# FerretDB 1.24 keeps every statement's read open until a multi-statement write
# ends; around 100 statements that exhausts its SQLite connections and the
# command hangs. 32 statements per command is safe and nearly as fast.
FERRETDB_BULK_CHUNK = 32
LOCK_WAIT_SECONDS = 15.0
LOCKED_AT_ONCE = 500  # member locks one bulk update holds (~1 s of writes on the dev server)


class LockTimeoutError(RuntimeError):
    """Another writer held a lock for too long."""


class StoreBase:
    """Holds the database; each part of the store declares its own INDEXES."""

    INDEXES: dict[str, list[pymongo.IndexModel]] = {"locks": []}

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

    @functools.cached_property
    def serialises_writes(self) -> bool:
        """True on FerretDB, whose updates are not atomic (see `locked`)."""
        try:
            return "ferretdbVersion" in self.client.admin.command("buildInfo")
        except (PyMongoError, NotImplementedError):
            # mongomock has no buildInfo; it takes MongoDB's path, without locks.
            return False

    @contextlib.contextmanager
    def locked(self, key: str):
        """Hold a lock document while updating `key`'s documents — on FerretDB only.

        FerretDB 1.x applies an update by reading the document, changing it in
        Go and writing the whole document back, without isolation: two writers
        can both pass a conditional filter, and a `$inc` from one can be
        overwritten by the other's stale copy. Inserts of a unique `_id` are
        atomic there, so writers of the same document take turns through a
        lock document. MongoDB's single-document updates are atomic already,
        so it takes no lock.
        """
        if not self.serialises_writes:
            yield
            return
        token = uuid.uuid4().hex
        deadline = time.monotonic() + LOCK_WAIT_SECONDS
        while True:
            try:
                self.db.locks.insert_one(
                    {"_id": key, "token": token, "expires_at": utcnow() + LOCK_TTL}
                )
                break
            except DuplicateKeyError:
                held = self.db.locks.find_one({"_id": key})
                if held and held["expires_at"] < utcnow():
                    # Its holder died mid-write: clear exactly that stale lock.
                    self.db.locks.delete_one({"_id": key, "token": held["token"]})
                if time.monotonic() > deadline:
                    raise LockTimeoutError(key) from None
                time.sleep(random.uniform(0.002, 0.01))
        try:
            yield
        finally:
            self.db.locks.delete_one({"_id": key, "token": token})

    def bulk_update_members(self, updates: list[tuple[str, dict]]) -> None:
        """Many member updates in one bulk write, each member's lock held (FerretDB).

        The locks for a whole batch are taken with one unordered insert: members
        whose lock is busy are updated one by one afterwards, the rest together.
        """
        if not updates:
            return
        if len(updates) > LOCKED_AT_ONCE:
            # Locks live LOCK_TTL: hold only as many as are written well within it.
            for start in range(0, len(updates), LOCKED_AT_ONCE):
                self.bulk_update_members(updates[start : start + LOCKED_AT_ONCE])
            return
        if not self.serialises_writes:
            self.db.members.bulk_write(
                [UpdateOne({"_id": m}, u) for m, u in updates], ordered=False
            )
            return
        token = uuid.uuid4().hex
        expires = utcnow() + LOCK_TTL
        locks = [{"_id": f"member:{m}", "token": token, "expires_at": expires} for m, _u in updates]
        try:
            self.db.locks.insert_many(locks, ordered=False)
            busy: set[str] = set()
        except BulkWriteError as error:
            busy = {locks[e["index"]]["_id"] for e in error.details.get("writeErrors", [])}
        held = [UpdateOne({"_id": m}, u) for m, u in updates if f"member:{m}" not in busy]
        try:
            for start in range(0, len(held), FERRETDB_BULK_CHUNK):
                self.db.members.bulk_write(held[start : start + FERRETDB_BULK_CHUNK], ordered=False)
        finally:
            self.db.locks.delete_many({"token": token})
        for member_id, update in updates:
            if f"member:{member_id}" in busy:
                self.update_member(member_id, update)

    def insert_missing(self, collection: str, docs) -> int:
        """Insert documents in small unordered batches, skipping `_id`s that exist (backfills)."""
        written, chunk = 0, []
        for doc in docs:
            chunk.append(doc)
            if len(chunk) == FERRETDB_BULK_CHUNK:
                written += self._insert_chunk(collection, chunk)
                chunk = []
        return written + (self._insert_chunk(collection, chunk) if chunk else 0)

    def _insert_chunk(self, collection: str, chunk: list[dict]) -> int:
        try:
            return len(self.db[collection].insert_many(chunk, ordered=False).inserted_ids)
        except BulkWriteError as error:
            return error.details.get("nInserted", 0)

    def owned(self, collection: str, ids: list, fields: dict | None = None) -> list[dict]:
        """Documents of `collection` by their `_id`s (a member's purchases, coupons…)."""
        found: list[dict] = []
        # The dev server reads a list of up to 1,000 `_id`s through its index.
        for start in range(0, len(ids), 1000):
            found += self.db[collection].find({"_id": {"$in": ids[start : start + 1000]}}, fields)
        return found

    def add_owned(self, member_id: str, field: str, doc_id) -> None:
        """List a document on its member before it is written: a crash leaves an id
        that leads nowhere (skipped on reading), never a document the member cannot find."""
        self.update_member(member_id, {"$addToSet": {field: doc_id}})

    def update_member(self, member_id: str, update: dict, condition: dict | None = None):
        """The one way member documents change (see `locked`)."""
        with self.locked(f"member:{member_id}"):
            return self.db.members.update_one({"_id": member_id, **(condition or {})}, update)

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
