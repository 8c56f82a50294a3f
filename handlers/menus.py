"""Rich menu taps (and the guest menu's About us), and QR codes meant for the counter."""

from __future__ import annotations

from bot import richmenu
from bot.chat.context import Context
from bot.chat.dispatch import route_text
from bot.chat.messages import text
from bot.chat.registry import Command, Registry, Role
from bot.loyalty import qr
from bot.richmenu.layout import LAYOUT
from handlers.common import keyword, merchant_name

# Staff commands whose argument is a QR token when a code was scanned.
COUNTER_COMMANDS = {qr.PREFIX: "/earn", qr.REDEMPTION_PREFIX: "/use"}


def register(registry: Registry) -> None:
    registry.on_postback("menu")(menu_tap)
    registry.on_refused(scanned_by_customer)
    # A pasted QR code is not unknown text: check for one before help's answer to it.
    unknown = registry.fallback
    registry.on_unknown_text(lambda ctx: pasted_code(ctx) or (unknown(ctx) if unknown else []))


def menu_tap(ctx: Context) -> list:
    """A rich menu tile: its command as if typed; a staff tile politely refuses a customer."""
    item = LAYOUT.items.get(ctx.postback.get("c", ""))
    if item is None:
        richmenu.relink(ctx)  # a menu from an older release: show the current one
        gone = ctx._(
            "That button is no longer on the menu. Type “%(help)s” to see what I can do.",
            help=keyword(ctx, "help"),
        )
        return [text(gone)]
    needed = item.command or (item.fill_in or "").strip()
    match = ctx.services.registry.find_command(needed, ctx.role) if needed else None
    if match is not None and not match.allowed:
        richmenu.relink(ctx)  # they see a menu that is not theirs (e.g. just removed as staff)
        return [text(ctx._("Sorry, that button is for our staff. Your menu will be updated."))]
    if item.prompt:
        return [text(ctx._(item.prompt))]
    if item.reply:
        return REPLIES[item.reply](ctx)
    return route_text(ctx, item.command) if item.command else []  # a link: LINE opens it


def about(ctx: Context) -> list:
    """The shop in a few words, its privacy notice, and how to join."""
    merchant = ctx.store.get_setting("merchant") or {}
    blurb = merchant.get("about") or ctx._(
        "We thank our regulars: collect points on every visit and swap them for rewards, "
        "with coupons and birthday treats along the way."
    )
    privacy_url = f"{ctx.config.PUBLIC_BASE_URL.rstrip('/')}/privacy?lang={ctx.t.locale}"
    lines = [
        merchant_name(ctx),
        blurb,
        ctx._("How we handle your data: %(url)s", url=privacy_url),
    ]
    replies = [(ctx._("Help"), keyword(ctx, "help"))]
    if not ctx.is_member:
        replies.insert(0, (ctx._("Join"), keyword(ctx, "join")))
    return [text("\n\n".join(lines), quick_replies=replies)]


REPLIES = {"about": about}


def scanned_by_customer(ctx: Context, command: Command) -> list | None:
    """A customer sent a counter command holding a QR token: they scanned a code meant
    for the cashier (their own card, a friend's coupon). Say so kindly."""
    token = ctx.args[0] if ctx.args else ""
    if command.name in COUNTER_COMMANDS.values() and _prefix(token):
        return [text(_show_the_cashier(ctx))]
    return None


def pasted_code(ctx: Context) -> list | None:
    """A message that is only a QR token (a code read by a QR reader and sent as it was):
    staff get the counter command for it, anyone else a kind word. None if it is not one."""
    word = ctx.text.strip()
    prefix = _prefix(word) if word and " " not in word else None
    if prefix is None:
        return None
    if ctx.role < Role.STAFF:
        return [text(_show_the_cashier(ctx))]
    return route_text(ctx, f"{COUNTER_COMMANDS[prefix]} {word}")


def _prefix(token: str) -> str | None:
    for prefix in COUNTER_COMMANDS:
        if qr.looks_like_token(token, prefix):
            return prefix
    return None


def _show_the_cashier(ctx: Context) -> str:
    return ctx._(
        "This QR code is for our staff at the counter: show it to the cashier when you pay "
        "and they will scan it for you."
    )
