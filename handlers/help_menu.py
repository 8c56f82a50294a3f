"""The help menu: what the sender may do, by role, as Flex buttons (`help` and `/help`).

Buttons say a command (members' in the reader's own language), start a guided form
(handlers/wizard.py), or, for a command that needs arguments, open the keyboard with
the command typed and reply with its usage. Commands the sender may use that no
section lists get a button named after them (slash commands under "More", member
keywords among the members' buttons), so a new command is never missing from the menu.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import flex_templates
from bot.chat.context import Context
from bot.chat.registry import Role
from bot.i18n import N_
from handlers import wizard
from handlers.common import keyword

SAY, TYPE, FORM = "say", "type", "form"
MAX_LABEL = 20
MAX_ALT = 400


@dataclass(frozen=True)
class Entry:
    label: str  # N_(); at most 20 characters in every language (LINE's limit)
    kind: str  # SAY: send `value`; TYPE: type `value ` and show its usage; FORM: start form
    value: str
    when: Callable[[Context], bool] | None = None


@dataclass(frozen=True)
class Section:
    title: str
    role: Role
    entries: tuple[Entry, ...]
    note: str


def _joined(ctx: Context) -> bool:
    return ctx.is_member


def _not_joined(ctx: Context) -> bool:
    return not ctx.is_member


def _opted_in(ctx: Context) -> bool:
    return ctx.is_member and bool(ctx.member.get("marketing_opt_in"))


def _opted_out(ctx: Context) -> bool:
    return ctx.is_member and not ctx.member.get("marketing_opt_in")


SECTIONS = (
    Section(
        N_("Owner: set up"),
        Role.OWNER,
        (
            Entry(N_("Add a reward"), FORM, "reward"),
            Entry(N_("Give a coupon"), FORM, "coupon"),
            Entry(N_("Add a branch"), FORM, "branch"),
            Entry(N_("Invite staff"), FORM, "invite"),
            Entry(N_("Earn rule"), FORM, "rule"),
            Entry(N_("Add a promotion"), FORM, "promo"),
        ),
        N_("Each button asks one question at a time. The one-line commands still work."),
    ),
    Section(
        N_("Owner: run"),
        Role.OWNER,
        (
            Entry(N_("Stats"), SAY, "/stats"),
            Entry(N_("Dashboard"), SAY, "/dashboard"),
            Entry(N_("New campaign"), FORM, "campaign"),
            Entry(N_("Campaigns"), SAY, "/campaign list"),
            Entry(N_("Reward list"), SAY, "/reward list"),
            Entry(N_("Earn rules"), SAY, "/rule show"),
            Entry(N_("Segments"), SAY, "/segment list"),
            Entry(N_("Journeys"), SAY, "/journey list"),
            Entry(N_("Staff list"), SAY, "/staff list"),
            Entry(N_("Branches"), SAY, "/branch list"),
        ),
        N_("For a command's one-line form, type /help and its name, e.g. /help reward."),
    ),
    Section(
        N_("Staff"),
        Role.STAFF,
        (
            Entry(N_("Earn points"), TYPE, "/earn"),
            Entry(N_("Use a code"), TYPE, "/use"),
            Entry(N_("Look up member"), TYPE, "/member"),
            Entry(N_("Void a purchase"), TYPE, "/void"),
        ),
        N_("These type the command for you: add what it needs (member, amount, code) and send."),
    ),
    Section(
        N_("Members"),
        Role.MEMBER,
        (
            Entry(N_("Join now"), SAY, "join", _not_joined),
            Entry(N_("Member card"), SAY, "card", _joined),
            Entry(N_("Points"), SAY, "points", _joined),
            Entry(N_("Rewards"), SAY, "rewards", _joined),
            Entry(N_("My coupons"), SAY, "coupons", _joined),
            Entry(N_("History"), SAY, "history", _joined),
            Entry(N_("My profile"), SAY, "profile", _joined),
            Entry(N_("Edit profile"), SAY, "edit", _joined),
            Entry(N_("Language"), SAY, "language"),
            Entry(N_("Stop offers"), SAY, "stop ads", _opted_in),
            Entry(N_("Get offers"), SAY, "start ads", _opted_out),
            Entry(N_("My data"), SAY, "my data", _joined),
            Entry(N_("Delete my data"), SAY, "delete my data", _joined),
        ),
        N_("You can also just type these words."),
    ),
)
MORE = Section(N_("More commands"), Role.STAFF, (), N_("Type /help and a name for its usage."))
# Never in "More": everyone's own way in (`/join`) and this menu itself.
NOT_LISTED = {"/help", "/join"}
# The command each form stands for (its one-line form).
FORM_COMMANDS = {
    "reward": "/reward",
    "coupon": "/coupon",
    "branch": "/branch",
    "invite": "/staff",
    "rule": "/rule",
    "promo": "/rule",
    "campaign": "/campaign",
}


def menu(ctx: Context) -> dict:
    """The menu for the sender's role: one bubble, or a carousel of sections."""
    if ctx.in_shared_chat:  # a group reads it: the members' buttons, nothing of the sender's
        sections = [s for s in SECTIONS if s.role == Role.MEMBER]
    else:
        sections = [s for s in SECTIONS if ctx.role >= s.role]
        more = _more(ctx)
        if more.entries:
            sections.insert(len(sections) - 1, more)
    bubbles = [(section, _entries(ctx, section)) for section in sections]
    rendered = [_bubble(ctx, section, entries) for section, entries in bubbles if entries]
    alt = _alt_text(ctx, [entry for _s, entries in bubbles for entry in entries])
    if len(rendered) == 1:
        return {**rendered[0], "altText": alt}
    return flex_templates.carousel([bubble["contents"] for bubble in rendered], alt)


def buttons(ctx: Context) -> list[dict]:
    """Every button's action in the sender's menu (tests tap each one)."""
    message = menu(ctx)
    contents = message["contents"]
    bubbles = contents["contents"] if contents["type"] == "carousel" else [contents]
    return [b["action"] for bubble in bubbles for b in bubble["body"]["contents"]]


def _entries(ctx: Context, section: Section) -> list[Entry]:
    entries = list(section.entries)
    if section.role == Role.MEMBER:
        entries += _unlisted_keywords(ctx, section)
    if ctx.in_shared_chat:  # the same for everyone: no opt-in state, joined or not
        return [e for e in entries if e.when in (None, _joined, _not_joined)]
    return [e for e in entries if e.when is None or e.when(ctx)]


def _unlisted_keywords(ctx: Context, section: Section) -> list[Entry]:
    """Member keywords added since this list was written: a button named by the keyword."""
    listed = {e.value for e in section.entries} | {"help"}
    return [
        Entry(c.keyword_for(ctx.t.locale), SAY, c.name)
        for c in ctx.services.registry.commands_for(Role.MEMBER)
        if not c.name.startswith("/") and c.name not in listed
    ]


def _more(ctx: Context) -> Section:
    """Slash commands the sender may use that no section has a button for."""
    listed = {
        FORM_COMMANDS[e.value] if e.kind == FORM else e.value.split()[0]
        for s in SECTIONS
        if ctx.role >= s.role
        for e in s.entries
    }
    commands = ctx.services.registry.commands_for(ctx.role)
    extra = tuple(
        Entry(c.name, TYPE, c.name)
        for c in commands
        if c.name.startswith("/") and c.name not in listed | NOT_LISTED
    )
    return Section(MORE.title, MORE.role, extra, MORE.note)


def _bubble(ctx: Context, section: Section, entries: list[Entry]) -> dict:
    return flex_templates.render(
        "help_menu",
        alt_text=ctx._(section.title),
        title=ctx._(section.title),
        buttons=[_button(ctx, entry) for entry in entries],
        note=ctx._(section.note),
    )


def _label(ctx: Context, entry: Entry) -> str:
    named = entry.label in (entry.value, keyword(ctx, entry.value))  # a command's own name
    return (entry.label if named else ctx._(entry.label))[:MAX_LABEL]


def _button(ctx: Context, entry: Entry) -> dict:
    label = _label(ctx, entry)
    if entry.kind == SAY:
        said = entry.value if entry.value.startswith("/") else keyword(ctx, entry.value)
        action = {"type": "message", "label": label, "text": said}
    elif entry.kind == FORM:
        data = wizard.start_button(entry.value)
        action = {"type": "postback", "label": label, "data": data, "displayText": label}
    else:
        action = {
            "type": "postback",
            "label": label,
            "data": f"a=help&c={entry.value}",
            "inputOption": "openKeyboard",
            "fillInText": f"{entry.value} ",
        }
    return {"type": "button", "style": "secondary", "height": "sm", "action": action}


def _alt_text(ctx: Context, entries: list[Entry]) -> str:
    """For notifications and old LINE versions: the same choices as words."""
    text = ctx._("Here is what you can type:") + " " + " · ".join(_said(ctx, e) for e in entries)
    return text if len(text) <= MAX_ALT else text[: MAX_ALT - 1] + "…"


def _said(ctx: Context, entry: Entry) -> str:
    if entry.kind == SAY and not entry.value.startswith("/"):
        return keyword(ctx, entry.value)
    return _label(ctx, entry)
