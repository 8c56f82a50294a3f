"""`help`, `/help`, and the answer to anything the bot does not understand."""

from bot.context import Context
from bot.i18n import N_
from bot.messages import text
from bot.registry import Registry, Role
from handlers import help_menu


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
    registry.on_postback("help")(command_usage)
    registry.on_unknown_text(unknown_text)
    registry.on_event("message")(non_text_message)


def member_help(ctx: Context) -> list:
    """The menu of what the sender may do (by role), each a button."""
    return [help_menu.menu(ctx)]


def staff_help(ctx: Context) -> list:
    """The menu of what the sender may do; `/help <command>` gives that command's usage."""
    if not ctx.args:
        return [help_menu.menu(ctx)]
    wanted = ctx.args[0].casefold().lstrip("/")
    for command in ctx.services.registry.commands_for(ctx.role):
        if command.name.lstrip("/") == wanted:
            return [text(_usage_line(ctx, command))]
    return [text(ctx._("No command called %(name)s.", name=ctx.args[0]))]


def command_usage(ctx: Context) -> list:
    """A menu button for a command with arguments: the keyboard opens with the command
    typed (LINE does that), and this says what to add."""
    wanted = ctx.postback.get("c", "")
    for command in ctx.services.registry.commands_for(ctx.role):
        if command.name == wanted:
            return [text(_usage_line(ctx, command))]
    return []


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
