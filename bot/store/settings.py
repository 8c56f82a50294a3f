"""Merchant settings: one document per key."""

from __future__ import annotations

from bot.store.base import StoreBase, utcnow


class SettingsStore(StoreBase):
    INDEXES = {"settings": []}

    def get_setting(self, key: str, default=None):
        doc = self.db.settings.find_one({"_id": key})
        return doc["value"] if doc else default

    def put_setting(self, key: str, value) -> None:
        self.db.settings.update_one(
            {"_id": key}, {"$set": {"value": value, "updated_at": utcnow()}}, upsert=True
        )
