"""Event and command handlers, one module per area; `build_registry` wires them."""

from bot.chat.registry import Registry
from handlers import (
    campaigns,
    card,
    catalogue,
    dashboard,
    earn,
    follow,
    help,
    journeys,
    menus,
    privacy,
    profile,
    reports,
    rewards,
    rules,
    segments,
    signup,
    staff,
)

AREAS = (
    follow,
    signup,
    card,
    rewards,
    profile,
    privacy,
    earn,
    catalogue,
    staff,
    rules,
    segments,
    campaigns,
    journeys,
    reports,
    dashboard,
    help,
    menus,  # after help: it wraps help's answer to unknown text
)


def build_registry() -> Registry:
    """Every handler, registered once: this is the map from chat to code."""
    registry = Registry()
    for area in AREAS:
        area.register(registry)
    return registry
