"""Owners: `/dashboard` replies with a single-use sign-in link to the web dashboard."""

from __future__ import annotations

from bot.chat.context import Context
from bot.chat.messages import text
from bot.chat.registry import Registry, Role
from bot.i18n import N_
from bot.web.auth import LINK_LIFETIME, issue_link


def register(registry: Registry) -> None:
    registry.command(
        "/dashboard",
        role=Role.OWNER,
        summary=N_("open the web dashboard (a sign-in link)"),
    )(dashboard)


def dashboard(ctx: Context) -> list:
    """A link that signs this owner in once, within ten minutes (1:1 chats only, as
    every private command: dispatch answers a group with a pointer to the private chat)."""
    url = issue_link(ctx.services, ctx.user_id)
    minutes = int(LINK_LIFETIME.total_seconds() // 60)
    return [
        text(
            ctx.t.n_(
                "Your dashboard: %(url)s\nThe link works once, within %(count)s minute.",
                "Your dashboard: %(url)s\nThe link works once, within %(count)s minutes.",
                minutes,
                url=url,
            )
        )
    ]
