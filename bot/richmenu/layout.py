"""The rich menus as data: one description that the images, the LINE objects and the taps share.

Each role has one menu per language (DESIGN §7): tiles on a grid, each with an
icon, a label and what a tap does. A tap that runs a command sends the postback
`a=menu&c=<item key>`; handlers/menus.py looks the key up here, so a menu still
on someone's phone after a release can only ever run what this file offers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.i18n import LOCALES, N_, Translator

WIDTH = 2500
FULL_HEIGHT, HALF_HEIGHT = 1686, 843
QR_READER = "https://line.me/R/nv/QRCodeReader"


@dataclass(frozen=True)
class Item:
    """One tile: `command` is run as if typed, `reply` names an answer of handlers/menus.py;
    `uri` is opened by the LINE app instead."""

    key: str
    label: str  # N_()-marked
    icon: str  # a drawing in bot/richmenu/icons.py
    command: str | None = None
    reply: str | None = None
    uri: str | None = None
    fill_in: str | None = None  # text put in the keyboard after the tap (staff commands)
    prompt: str | None = None  # N_()-marked reply instead of running `command`


@dataclass(frozen=True)
class Theme:
    accent: str  # hero tile, icons
    tint: str  # icon discs
    background: str = "#EEF2F0"
    tile: str = "#FFFFFF"
    text: str = "#1E2A25"


@dataclass(frozen=True)
class Menu:
    """A grid of rows; each row lists (item key, columns spanned) and spans a whole row."""

    role: str
    chat_bar: str  # N_()-marked, ≤ 14 characters in every language
    height: int
    rows: tuple[tuple[tuple[str, int], ...], ...]
    theme: Theme
    hero: str  # the item drawn in the accent colour: what this role taps most

    @property
    def items(self) -> list[str]:
        return [key for row in self.rows for key, _span in row]


ITEMS = {
    item.key: item
    for item in (
        Item("card", N_("Member card"), "card", command="card"),
        Item("points", N_("Points"), "star", command="points"),
        Item("rewards", N_("Rewards"), "gift", command="rewards"),
        Item("coupons", N_("Coupons"), "ticket", command="coupons"),
        Item("profile", N_("Profile"), "person", command="profile"),
        Item("help", N_("Help"), "question", command="help"),
        Item("scan", N_("Scan to earn"), "scan", uri=QR_READER),
        Item(
            "use",
            N_("Use a code"),
            "redeem",
            fill_in="/use ",
            prompt=N_(
                "Type the reward or coupon code after “/use” and send it. "
                "For a QR code, tap “Scan to earn” and scan it."
            ),
        ),
        Item(
            "lookup",
            N_("Member lookup"),
            "search",
            fill_in="/member ",
            prompt=N_("Type the member code or phone number after “/member” and send it."),
        ),
        Item("my_card", N_("My card"), "card", command="card"),
        Item("staff_help", N_("Help"), "question", command="/help"),
        Item("stats", N_("Stats"), "chart", command="/stats"),
        Item("campaigns", N_("Campaigns"), "megaphone", command="/campaign list"),
        Item("dashboard", N_("Dashboard"), "gauge", command="/dashboard"),
        Item("join", N_("Join"), "join", command="join"),
        Item("about", N_("About us"), "shop", reply="about"),
    )
}

GREEN = Theme(accent="#0B6E4F", tint="#DDF0E6")
MENUS = {
    menu.role: menu
    for menu in (
        Menu(
            "guest",
            N_("Menu"),
            HALF_HEIGHT,
            ((("join", 1), ("about", 1), ("help", 1)),),
            GREEN,
            hero="join",
        ),
        Menu(
            "member",
            N_("Menu"),
            FULL_HEIGHT,
            (
                (("card", 1), ("points", 1), ("rewards", 1)),
                (("coupons", 1), ("profile", 1), ("help", 1)),
            ),
            GREEN,
            hero="card",
        ),
        Menu(
            "staff",
            N_("Staff menu"),
            FULL_HEIGHT,
            (
                (("scan", 2), ("use", 1)),
                (("lookup", 1), ("my_card", 1), ("staff_help", 1)),
            ),
            Theme(accent="#1C5D99", tint="#DEEAF6"),
            hero="scan",
        ),
        Menu(
            "owner",
            N_("Owner menu"),
            FULL_HEIGHT,
            (
                (("scan", 2), ("use", 1), ("lookup", 1)),
                (
                    ("stats", 1),
                    ("campaigns", 1),
                    ("dashboard", 1),
                    ("my_card", 1),
                    ("staff_help", 1),
                ),
            ),
            Theme(accent="#4B3F8F", tint="#E7E4F5"),
            hero="scan",
        ),
    )
}


@dataclass(frozen=True)
class Area:
    item: Item
    x: int
    y: int
    width: int
    height: int


@dataclass(frozen=True)
class Layout:
    """Every menu and item; deploy takes one, so a test can deploy a variant."""

    menus: dict[str, Menu] = field(default_factory=lambda: dict(MENUS))
    items: dict[str, Item] = field(default_factory=lambda: dict(ITEMS))
    width: int = WIDTH


LAYOUT = Layout()


def areas(layout: Layout, role: str) -> list[Area]:
    """The tappable rectangles: together they cover the whole image, gaps included."""
    menu = layout.menus[role]
    found = []
    row_height = menu.height // len(menu.rows)
    for index, row in enumerate(menu.rows):
        y = index * row_height
        height = menu.height - y if index == len(menu.rows) - 1 else row_height
        columns = sum(span for _key, span in row)
        x = 0
        for position, (key, span) in enumerate(row):
            width = layout.width - x if position == len(row) - 1 else layout.width * span // columns
            found.append(Area(layout.items[key], x, y, width, height))
            x += width
    return found


def key_for(role: str, locale: str) -> str:
    """A deployed menu's name in our records: "member:th"."""
    return f"{role}:{locale}"


def alias_for(role: str, locale: str) -> str:
    """LINE's rich menu alias id (≤ 32 characters of [A-Za-z0-9_-])."""
    return f"samachik-{role}-{locale.lower()}"


def all_keys(layout: Layout = LAYOUT) -> list[tuple[str, str]]:
    return [(role, locale) for role in layout.menus for locale in LOCALES]


def action(item: Item, t: Translator) -> dict:
    """The LINE action of a tile, in the menu's language."""
    label = t._(item.label)[:20]
    if item.uri:
        return {"type": "uri", "label": label, "uri": item.uri}
    postback = {
        "type": "postback",
        "label": label,
        "data": f"a=menu&c={item.key}",
        "displayText": label,
    }
    if item.fill_in:
        postback.update(inputOption="openKeyboard", fillInText=item.fill_in)
    return postback


def menu_object(layout: Layout, role: str, t: Translator, name: str) -> dict:
    """The rich menu object LINE stores (POST /v2/bot/richmenu)."""
    menu = layout.menus[role]
    return {
        "size": {"width": layout.width, "height": menu.height},
        "selected": True,
        "name": name,
        "chatBarText": t._(menu.chat_bar)[:14],
        "areas": [
            {
                "bounds": {"x": a.x, "y": a.y, "width": a.width, "height": a.height},
                "action": action(a.item, t),
            }
            for a in areas(layout, role)
        ],
    }
