"""Chart images already drawn, shared by every web process until their URL expires."""

from __future__ import annotations

import contextlib
from datetime import datetime

from bson import Binary
from pymongo import ASCENDING, IndexModel
from pymongo.errors import DuplicateKeyError

from bot.store.base import StoreBase, utcnow


class ChartStore(StoreBase):
    INDEXES = {"chart_images": [IndexModel([("expires_at", ASCENDING)])]}  # _id = spec hash

    def chart_image(self, key: str) -> bytes | None:
        found = self.db.chart_images.find_one({"_id": key}, {"data": 1})
        return bytes(found["data"]) if found else None

    def save_chart_image(self, key: str, data: bytes, expires_at: datetime) -> None:
        """Keep a drawn chart; the first process to draw it wins, expired ones go."""
        self.db.chart_images.delete_many({"expires_at": {"$lt": utcnow()}})
        with contextlib.suppress(DuplicateKeyError):
            self.db.chart_images.insert_one(
                {"_id": key, "data": Binary(data), "expires_at": expires_at, "at": utcnow()}
            )
