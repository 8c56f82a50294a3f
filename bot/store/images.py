"""Images owners send in chat for rewards and campaigns, served back to LINE by URL."""

from __future__ import annotations

import contextlib

from bson.binary import Binary
from pymongo.errors import DuplicateKeyError

from bot.store.base import StoreBase, utcnow


class ImageStore(StoreBase):
    # _id = SHA-256 of the stored bytes: the same picture sent twice is kept once, and
    # its URL never changes. No LINE id is kept (nothing here names a person).
    INDEXES = {"images": []}

    def put_image(self, digest: str, data: bytes, content_type: str, size: tuple[int, int]) -> None:
        """Keep an image once (a second put of the same bytes changes nothing)."""
        doc = {
            "_id": digest,
            "data": Binary(data),
            "content_type": content_type,
            "width": size[0],
            "height": size[1],
            "bytes": len(data),
            "created_at": utcnow(),
        }
        with contextlib.suppress(DuplicateKeyError):
            self.db.images.insert_one(doc)

    def image(self, digest: str) -> dict | None:
        return self.db.images.find_one({"_id": digest})
