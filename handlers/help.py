"""`help`, `/help`, and the answer to anything the bot does not understand."""

from linebot.v3.messaging import TextMessage

from bot.chat.context import Context
from bot.chat.messages import MAX_SENT_TEXT, text
from bot.chat.registry import Registry, Role
from bot.i18n import N_
from handlers import help_menu
from handlers.common import keyword


def register(registry: Registry) -> None:
    registry.command(
        "help",
        th=("ช่วยเหลือ", "วิธีใช้"),
        zh=("幫助", "說明"),
        summary=N_("show what you can do here"),
        private=False,  # the one command also answered in group chats
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
    """A mistyped slash command gets "did you mean"; anything else, buttons for the main actions."""
    words = ctx.text.split()
    if words and words[0].startswith("/"):
        suggestion = ctx.services.registry.closest_command(words[0], ctx.role)
        if suggestion is not None:
            return [did_you_mean(ctx, words[0], suggestion.name, words[1:])]
        if ctx.role >= Role.STAFF:
            return [
                text(ctx._("There is no command %(name)s. Type /help for yours.", name=words[0]))
            ]
    hint = ctx._(
        "Sorry, I didn't understand that. Tap a button below, or type “%(help)s” to see "
        "everything I can do.",
        help=keyword(ctx, "help"),
    )
    return [text(hint, quick_replies=main_actions(ctx))]


def did_you_mean(ctx: Context, typed: str, name: str, args: list[str]) -> TextMessage:
    """Name the nearest command; its button sends the whole line again, corrected."""
    question = ctx._(
        "There is no command %(typed)s. Did you mean %(name)s?", typed=typed, name=name
    )
    corrected = " ".join([name, *args])
    # A button may send at most 300 characters: a longer line gets the bare command.
    sent = corrected if len(corrected) <= MAX_SENT_TEXT else name
    return text(question, quick_replies=[(name, sent)])


def non_text_message(ctx: Context) -> list:
    """Stickers, photos and the like: say kindly that only text is understood."""
    hint = ctx._(
        "Thanks! I can only read text messages. Type “%(help)s” to start.",
        help=keyword(ctx, "help"),
    )
    return [text(hint, quick_replies=main_actions(ctx))]


def main_actions(ctx: Context) -> list[tuple[str, str]]:
    """Quick replies for what customers want most: card, points, rewards, or else joining."""
    if ctx.is_member:
        wanted = [
            (ctx._("Member card"), "card"),
            (ctx._("Points"), "points"),
            (ctx._("Rewards"), "rewards"),
        ]
    else:
        wanted = [(ctx._("Join now"), "join")]
    wanted.append((ctx._("Help"), "help"))
    return [(label, keyword(ctx, command)) for label, command in wanted]


def _usage_line(ctx: Context, command) -> str:
    usage = f"{command.name} {command.usage}".strip()
    return f"{usage} — {ctx._(command.summary)}" if command.summary else usage
