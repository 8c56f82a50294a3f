"""`help`, `/help`, and the answer to anything the bot does not understand."""

from bot.context import Context
from bot.i18n import N_
from bot.messages import text
from bot.registry import Registry, Role


def register(registry: Registry) -> None:
    registry.command(
        "help",
        th=("ช่วยเหลือ", "วิธีใช้"),
        zh=("幫助", "說明"),
        summary=N_("show what you can do here"),
    )(member_help)
    registry.command(
        "/help",
        role=Role.STAFF,
        summary=N_("list the commands you may use"),
        usage="[command]",
    )(staff_help)
    registry.on_unknown_text(unknown_text)
    registry.on_event("message")(non_text_message)


def member_help(ctx: Context) -> list:
    """Reply with the member commands, in the member's language."""
    commands = [c for c in ctx.services.registry.commands if c.role == Role.MEMBER]
    lines = [ctx._("Here is what you can type:")]
    lines += [f"• {c.keyword_for(ctx.t.locale)} — {ctx._(c.summary)}" for c in commands]
    if ctx.role >= Role.STAFF:
        lines.append(ctx._("Staff: type /help for your commands."))
    return [text("\n".join(lines))]


def staff_help(ctx: Context) -> list:
    """List the commands the sender may use, or the usage of one of them."""
    allowed = ctx.services.registry.commands_for(ctx.role)
    if ctx.args:
        wanted = ctx.args[0].casefold().lstrip("/")
        for command in allowed:
            if command.name.lstrip("/") == wanted:
                return [text(_usage_line(ctx, command))]
        return [text(ctx._("No command called %(name)s.", name=ctx.args[0]))]
    lines = [ctx._("Commands you can use:")]
    lines += [_usage_line(ctx, c) for c in allowed if c.name.startswith("/")]
    return [text("\n".join(lines))]


def unknown_text(ctx: Context) -> list:
    """Point anyone who typed something unknown at `help`."""
    hint = ctx._(
        "Sorry, I didn't understand that. Type “%(help)s” to see what I can do.",
        help=_help_keyword(ctx),
    )
    return [text(hint)]


def non_text_message(ctx: Context) -> list:
    """Stickers, photos and the like: say kindly that only text is understood."""
    hint = ctx._(
        "Thanks! I can only read text messages. Type “%(help)s” to start.",
        help=_help_keyword(ctx),
    )
    return [text(hint)]


def _help_keyword(ctx: Context) -> str:
    match = ctx.services.registry.find_command("help", Role.MEMBER)
    return match.command.keyword_for(ctx.t.locale)


def _usage_line(ctx: Context, command) -> str:
    usage = f"{command.name} {command.usage}".strip()
    return f"{usage} — {ctx._(command.summary)}" if command.summary else usage
