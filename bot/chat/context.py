"""What a handler receives: the event, the sender's record, role and language, services."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from urllib.parse import parse_qsl

from bot.chat.registry import Registry, Role
from bot.config import Config
from bot.i18n import Translator, normalise_locale, translator
from bot.line_api import LineApi, LineApiError
from bot.store import Store

log = logging.getLogger(__name__)


@dataclass
class Services:
    """Per-process clients and settings, kept on `app.extensions['samachik']`."""

    config: Config
    store: Store
    line: LineApi
    registry: Registry


def current_services() -> Services:
    """This request's merchant: the one its URL names (multi-merchant), else the app's."""
    from flask import current_app, g  # noqa: PLC0415 - handlers and jobs run without Flask

    return g.get("samachik_services") or current_app.extensions["samachik"]


@dataclass
class Context:
    services: Services
    event: object  # the SDK's event model
    raw: dict  # the event as LINE sent it (never logged)
    text: str = ""
    args: list[str] = field(default_factory=list)
    # Handlers of audited commands may set "result" and "subject_member_id".
    audit: dict = field(default_factory=dict)
    # Pushes to other users (e.g. the member a staff earn was for), sent after the reply.
    outbox: list[tuple[str, list, str]] = field(default_factory=list)
    # Work that need not hold up the reply (e.g. linking a rich menu), run after it.
    after_reply: list[Callable[[], object]] = field(default_factory=list)

    @property
    def user_id(self) -> str | None:
        """The sender; LINE leaves it out in groups for some senders and most events."""
        return (self.raw.get("source") or {}).get("userId")

    @property
    def in_shared_chat(self) -> bool:
        """A group or multi-person chat (room): every member there sees our reply."""
        return (self.raw.get("source") or {}).get("type", "user") != "user"

    @property
    def store(self) -> Store:
        return self.services.store

    @property
    def config(self) -> Config:
        return self.services.config

    @functools.cached_property
    def member(self) -> dict | None:
        """The sender's record (follower, member), or None if we never saw them."""
        return self.store.member_by_line_id(self.user_id) if self.user_id else None

    def reload_member(self) -> dict | None:
        self.__dict__.pop("member", None)
        self.__dict__.pop("t", None)
        return self.member

    def ensure_member(self) -> dict:
        """The sender's record, created on first contact (friends from before we ran)."""
        if self.member is None:
            self.store.record_follow(self.user_id, self.line_locale())
            self.reload_member()
        return self.member

    def line_locale(self) -> str:
        """The language of the sender's LINE app, else the merchant's default."""
        if not self.user_id:
            return self.config.DEFAULT_LOCALE
        try:
            profile = self.services.line.profile(self.user_id)
        except LineApiError as error:
            log.info("profile lookup failed: %s", error.status)
            profile = None
        language = (profile or {}).get("language")
        return normalise_locale(language, self.config.DEFAULT_LOCALE)

    @property
    def is_member(self) -> bool:
        return bool(self.member) and self.member.get("status") == "member"

    @property
    def conversation(self) -> dict | None:
        return (self.member or {}).get("conversation")

    @functools.cached_property
    def postback(self) -> dict:
        """Postback data `a=…&k=v` as a dict, with picker params (date, time) merged in."""
        body = self.raw.get("postback") or {}
        data = dict(parse_qsl(body.get("data", ""), keep_blank_values=True))
        return {**data, **(body.get("params") or {})}

    @functools.cached_property
    def role(self) -> Role:
        """Owners come from ADMIN_LINE_USER_IDS; staff from the staff collection."""
        if self.user_id is None:
            return Role.MEMBER
        if self.user_id in self.config.ADMIN_LINE_USER_IDS:
            return Role.OWNER
        if self.store.is_active_staff(self.user_id):
            return Role.STAFF
        return Role.MEMBER

    @functools.cached_property
    def t(self) -> Translator:
        """The sender's language: their saved choice, else the merchant default."""
        saved = (self.member or {}).get("locale")
        return translator(saved or self.config.DEFAULT_LOCALE)

    def notify(self, member: dict, messages: list, key: str) -> None:
        """Push `messages` to a member after replying; `key` makes retries send once."""
        if member.get("reachable", True) and not member["line_user_id"].startswith("erased:"):
            self.outbox.append((member["line_user_id"], messages, key))

    def _(self, message: str, **params) -> str:
        return self.t._(message, **params)

    def today(self) -> date:
        """The merchant's local date (birthdays, expiry)."""
        return datetime.now(self.config.tz).date()
