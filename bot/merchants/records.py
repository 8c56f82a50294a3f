"""The operator database: one record per merchant, and the workers' leases.

Credentials (channel secret, access token, a database URI that may carry a
password) are stored encrypted; `public` is the only view that leaves here.
"""

from __future__ import annotations

import re
from datetime import timedelta

from pymongo.errors import DuplicateKeyError

from bot.merchants.crypto import Keyring, mask
from bot.store.base import utcnow
from bot.store.leases import LeaseStore

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{1,29}$")
RESERVED = frozenset({"operator"})
SECRET_FIELDS = ("channel_secret", "access_token", "mongodb_uri")
WORKER_PREFIX = "worker:"


class MerchantError(ValueError):
    """A merchant command that cannot be done; the message says why."""


def check_slug(slug: str) -> str:
    if not SLUG.match(slug or "") or slug in RESERVED:
        raise MerchantError(
            "a slug is 2-30 lowercase letters, digits or '-', starting with a letter or digit"
        )
    return slug


class OperatorStore(LeaseStore):
    """Merchant records and worker leases, in `<MONGODB_DB>_operator`."""

    INDEXES = {"merchants": [], "daily_runs": []}  # _id = slug

    def __init__(self, client, db_name: str, keyring: Keyring):
        super().__init__(client, db_name)
        self.keyring = keyring

    # -- records ---------------------------------------------------------------

    def add_merchant(self, slug: str, name: str, secrets: dict, **fields) -> dict:
        """Register a merchant; MerchantError if the slug is taken."""
        record = {
            "_id": check_slug(slug),
            "name": name,
            "status": "active",
            "created_at": utcnow(),
            "version": 1,
            **{k: v for k, v in fields.items() if v is not None},
            **self._sealed(secrets),
        }
        try:
            self.db.merchants.insert_one(record)
        except DuplicateKeyError:
            raise MerchantError(f"a merchant {slug!r} exists already") from None
        return record

    def merchant(self, slug: str) -> dict | None:
        """The record with its credentials decrypted (for building its clients only)."""
        record = self.db.merchants.find_one({"_id": slug})
        if record is None:
            return None
        for field in SECRET_FIELDS:
            if record.get(field):
                record[field] = self.keyring.decrypt(record[field])
        return record

    def merchants(self, status: str | None = None) -> list[dict]:
        """Every record without credentials, by slug."""
        query = {"status": status} if status else {}
        hidden = dict.fromkeys(SECRET_FIELDS, 0)
        return list(self.db.merchants.find(query, hidden).sort("_id", 1))

    def active_slugs(self) -> list[str]:
        return [r["_id"] for r in self.db.merchants.find({"status": "active"}, {"_id": 1})]

    def update_merchant(self, slug: str, changes: dict, secrets: dict | None = None) -> bool:
        """Change a record; its version moves on so every process rebuilds its clients."""
        update = {"$set": {**changes, **self._sealed(secrets or {}), "updated_at": utcnow()}}
        update["$inc"] = {"version": 1}
        return self.db.merchants.update_one({"_id": slug}, update).matched_count == 1

    def version(self, slug: str) -> tuple[int, str] | None:
        record = self.db.merchants.find_one({"_id": slug}, {"version": 1, "status": 1})
        return (record["version"], record["status"]) if record else None

    def rekey(self) -> int:
        """Re-encrypt every stored credential with the newest secret; returns records done."""
        done = 0
        for record in self.db.merchants.find({}, {**dict.fromkeys(SECRET_FIELDS, 1)}):
            sealed = {f: self.keyring.rotate(record[f]) for f in SECRET_FIELDS if record.get(f)}
            self.db.merchants.update_one({"_id": record["_id"]}, {"$set": sealed})
            done += 1
        return done

    def _sealed(self, secrets: dict) -> dict:
        return {k: self.keyring.encrypt(v) for k, v in secrets.items() if v}

    def created_at(self, slug: str):
        record = self.db.merchants.find_one({"_id": slug}, {"created_at": 1})
        return (record or {}).get("created_at")

    # -- daily jobs: which due time each last ran for --------------------------------

    def daily_runs(self, slug: str) -> dict:
        """Job name → the due time it last ran for, for one merchant."""
        return (self.db.daily_runs.find_one({"_id": slug}) or {}).get("due", {})

    def claim_daily(self, slug: str, name: str, due) -> bool:
        """Take the run of daily job `name` due at `due`; False if a worker took it already."""
        field = f"due.{name}"
        try:
            self.db.daily_runs.update_one(
                {"_id": slug, "$or": [{field: {"$lt": due}}, {field: {"$exists": False}}]},
                {"$set": {field: due}},
                upsert=True,
            )
        except DuplicateKeyError:
            # The upsert lost: the record says this due time (or a later one) is taken.
            return False
        return True

    def release_daily(self, slug: str, name: str, due) -> None:
        """A run that failed: the next worker to take the merchant tries it again."""
        self.db.daily_runs.update_one(
            {"_id": slug, f"due.{name}": due}, {"$unset": {f"due.{name}": ""}}
        )

    # -- worker heartbeats ---------------------------------------------------------

    def heartbeat(self, holder: str, ttl: timedelta) -> None:
        self.acquire_lease(f"{WORKER_PREFIX}{holder}", holder, ttl)

    def live_workers(self) -> int:
        """Workers whose heartbeat has not lapsed (at least this one)."""
        live = self.db.leases.find({"expires_at": {"$gt": utcnow()}}, {"_id": 1})
        return max(1, sum(1 for lease in live if lease["_id"].startswith(WORKER_PREFIX)))

    def stop_heartbeat(self, holder: str) -> None:
        self.release_lease(f"{WORKER_PREFIX}{holder}", holder)


def public(record: dict) -> dict:
    """A record fit to show an operator: credentials masked."""
    shown = {k: v for k, v in record.items() if k not in SECRET_FIELDS}
    for field in ("channel_secret", "access_token"):
        if record.get(field):
            shown[field] = mask(record[field])
    return shown
