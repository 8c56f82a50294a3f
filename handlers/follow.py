"""Follow and unfollow: greet new friends, welcome members back, stop targeting leavers."""

from __future__ import annotations

import flex_templates
from bot.chat.context import Context
from bot.chat.messages import text
from bot.chat.registry import Registry
from bot.richmenu import relink as relink_menu
from handlers.common import keyword, merchant_name


def register(registry: Registry) -> None:
    registry.on_event("follow")(on_follow)
    registry.on_event("unfollow")(on_unfollow)


def on_follow(ctx: Context) -> list:
    """Greet in the user's LINE language; a returning member is welcomed back."""
    known = ctx.member
    locale = known.get("locale") if known else ctx.line_locale()
    ctx.store.record_follow(ctx.user_id, locale)
    member = ctx.reload_member()
    relink_menu(ctx)
    if member.get("status") == "member":
        first_name = member["profile"]["first_name"]
        return [
            text(
                ctx._("Welcome back, %(name)s! Your points are waiting for you.", name=first_name),
                quick_replies=[(ctx._("Member card"), keyword(ctx, "card"))],
            )
        ]
    return [welcome_bubble(ctx)]


def welcome_bubble(ctx: Context) -> dict:
    merchant = merchant_name(ctx)
    return flex_templates.render(
        "notice",
        alt_text=ctx._(
            "Welcome to %(merchant)s! Type “%(join)s” to become a member.",
            merchant=merchant,
            join=keyword(ctx, "join"),
        ),
        merchant=merchant,
        title=ctx._("Welcome to %(merchant)s!", merchant=merchant),
        body=ctx._("Join our membership to collect points on every visit and get rewards."),
        button_label=ctx._("Join now"),
        button_text=keyword(ctx, "join"),
    )


def on_unfollow(ctx: Context) -> list:
    """Blocked: mark unreachable so no campaign targets them (no reply is possible)."""
    ctx.store.record_unfollow(ctx.user_id)
    return []
