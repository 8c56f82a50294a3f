"""Rich menus: which LINE menu serves each role and language, and links still to make.

`rich_menus` has one document per menu key ("member:th"): the LINE rich menu id
live under its alias, the layout digest it was drawn from, the menu id every
user of that key was last bulk-linked to, and replaced menus waiting to be
deleted once nobody is linked to them. `rich_menu_links` queues the per-user
links LINE refused, keyed by member id (never the LINE id, so erasure has
nothing to scrub here); the retry job works through it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pymongo import ASCENDING, IndexModel

from bot.store.base import StoreBase, utcnow

MAX_LINK_DELAY = timedelta(hours=1)


class RichMenuStore(StoreBase):
    INDEXES = {
        "rich_menus": [],  # _id = "<role>:<locale>"
        "rich_menu_links": [IndexModel([("next_at", ASCENDING)])],  # _id = member id
    }

    # -- deployed menus ----------------------------------------------------------

    def rich_menu(self, key: str) -> dict | None:
        return self.db.rich_menus.find_one({"_id": key})

    def rich_menus(self) -> dict[str, dict]:
        return {doc["_id"]: doc for doc in self.db.rich_menus.find()}

    def save_rich_menu(self, key: str, menu_id: str, alias: str, digest: str) -> None:
        """A new menu went live under the key's alias; the one it replaced is retired."""
        previous = self.rich_menu(key) or {}
        retired = list(previous.get("retired") or [])
        old = previous.get("rich_menu_id")
        if old and old != menu_id and old not in retired:
            retired.append(old)
        self.db.rich_menus.update_one(
            {"_id": key},
            {
                "$set": {
                    "rich_menu_id": menu_id,
                    "alias": alias,
                    "digest": digest,
                    "retired": retired,
                    "deployed_at": utcnow(),
                }
            },
            upsert=True,
        )

    def mark_rich_menu_linked(self, key: str, menu_id: str) -> None:
        """Everyone of this key was bulk-linked to `menu_id`."""
        self.db.rich_menus.update_one(
            {"_id": key}, {"$set": {"linked_menu_id": menu_id, "linked_at": utcnow()}}
        )

    def forget_retired_menus(self, key: str, menu_ids: list[str]) -> None:
        """Deleted at LINE: off the list (only `richmenu deploy` and its job write it)."""
        retired = (self.rich_menu(key) or {}).get("retired") or []
        kept = [menu_id for menu_id in retired if menu_id not in menu_ids]
        self.db.rich_menus.update_one({"_id": key}, {"$set": {"retired": kept}})

    # -- per-user links LINE refused ------------------------------------------------

    def queue_menu_link(self, member_id: str, error: str) -> None:
        """Try this member's link again later; waits double after each failure, ≤ 1 hour."""
        now = utcnow()
        previous = self.db.rich_menu_links.find_one({"_id": member_id}) or {}
        attempts = previous.get("attempts", 0) + 1
        delay = min(timedelta(minutes=2 ** (attempts - 1)), MAX_LINK_DELAY)
        self.db.rich_menu_links.update_one(
            {"_id": member_id},
            {
                "$set": {"attempts": attempts, "error": error[:300], "next_at": now + delay},
                "$setOnInsert": {"queued_at": now},
            },
            upsert=True,
        )

    def clear_menu_link(self, member_id: str) -> None:
        self.db.rich_menu_links.delete_one({"_id": member_id})

    def due_menu_links(self, now: datetime, limit: int = 500) -> list[dict]:
        query = {"next_at": {"$lte": now}}
        return list(self.db.rich_menu_links.find(query).sort("next_at", ASCENDING).limit(limit))

    def menu_links_waiting(self) -> int:
        return self.db.rich_menu_links.count_documents({})
