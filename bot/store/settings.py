"""Merchant settings: one document per key."""

from __future__ import annotations

import time

from bot.store.base import StoreBase, utcnow

# (database, key) -> (monotonic time read, value): settings read on every event
# (earn rules) come from here; see `cached_setting`.
_CACHE: dict[tuple[str, str], tuple[float, object]] = {}
CACHE_SECONDS = 5.0


class SettingsStore(StoreBase):
    INDEXES = {"settings": []}

    def get_setting(self, key: str, default=None):
        doc = self.db.settings.find_one({"_id": key})
        return doc["value"] if doc else default

    def cached_setting(self, key: str, default=None, max_age: float = CACHE_SECONDS):
        """`get_setting`, read from the database at most every `max_age` seconds per process.

        A change made in this process shows at once; one made in another process
        (another gunicorn worker) within `max_age`. Treat the value as read-only.
        """
        slot, now = (self.db.name, key), time.monotonic()
        hit = _CACHE.get(slot)
        if hit is not None and now - hit[0] < max_age:
            return hit[1]
        value = self.get_setting(key, default)
        _CACHE[slot] = (now, value)
        return value

    def put_setting(self, key: str, value) -> None:
        _CACHE.pop((self.db.name, key), None)
        self.db.settings.update_one(
            {"_id": key}, {"$set": {"value": value, "updated_at": utcnow()}}, upsert=True
        )
        _CACHE.pop((self.db.name, key), None)  # a read meanwhile may have cached the old value
