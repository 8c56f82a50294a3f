"""What a handler receives: the event, the sender's role and language, services."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

from bot.config import Config
from bot.i18n import Translator, translator
from bot.line_api import LineApi
from bot.registry import Registry, Role
from bot.store import Store


@dataclass
class Services:
    """Per-process clients and settings, kept on `app.extensions['samachik']`."""

    config: Config
    store: Store
    line: LineApi
    registry: Registry


@dataclass
class Context:
    services: Services
    event: object  # the SDK's event model
    raw: dict  # the event as LINE sent it (never logged)
    text: str = ""
    args: list[str] = field(default_factory=list)

    @property
    def user_id(self) -> str | None:
        return (self.raw.get("source") or {}).get("userId")

    @property
    def store(self) -> Store:
        return self.services.store

    @property
    def config(self) -> Config:
        return self.services.config

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
        saved = self.store.member_locale(self.user_id) if self.user_id else None
        return translator(saved or self.config.DEFAULT_LOCALE)

    def _(self, message: str, **params) -> str:
        return self.t._(message, **params)
