"""`/journey`: the automatic messages, each on or off, with its own settings."""

from __future__ import annotations

from bot.chat.context import Context
from bot.chat.messages import text
from bot.chat.registry import Registry, Role
from bot.i18n import N_
from bot.marketing import journeys

USAGE = N_(
    "Usage: /journey list | on <name> | off <name> | set <name> <setting> <value>\n"
    "Settings: birthday when day|month · after_purchase days 1-365, after latest|first · "
    "winback lapsed 0-365 (days away; 0 = only overdue), every 7-365"
)


def register(registry: Registry) -> None:
    registry.command(
        "/journey",
        role=Role.OWNER,
        summary=N_("automatic messages on or off"),
        usage=N_("list | on <name> | off <name> | set <name> <setting> <value>"),
    )(journey)


def journey(ctx: Context) -> list:
    """`/journey list|on|off <name>|set <name> <setting> <value>`: automatic messages."""
    action = ctx.args[0].lower() if ctx.args else "list"
    name = ctx.args[1].lower() if len(ctx.args) >= 2 else ""
    if action in ("on", "off") and len(ctx.args) == 2 and name in journeys.DEFAULTS:
        _save(ctx, name, {"on": action == "on"})
    elif action == "set" and len(ctx.args) == 4 and name in journeys.DEFAULTS:
        change = journeys.parse_option(name, ctx.args[2], ctx.args[3])
        if change is None:
            ctx.audit["result"] = "usage"
            allowed = journeys.allowed_values(ctx.t, name, ctx.args[2])
            return [text(allowed or ctx._(USAGE))]
        _save(ctx, name, change)
    elif action != "list":
        ctx.audit["result"] = "usage"
        return [text(ctx._(USAGE))]
    lines = [ctx._("Journeys:")]
    for each in journeys.DEFAULTS:
        lines.append(journeys.describe(ctx.t, each, journeys.settings(ctx.store, each)))
    return [text("\n".join(lines))]


def _save(ctx: Context, name: str, change: dict) -> None:
    saved = ctx.store.get_setting("journeys") or {}
    saved[name] = {**saved.get(name, {}), **change}
    ctx.store.put_setting("journeys", saved)
