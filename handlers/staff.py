"""Staff and branches: `/staff`, `/join <code>`, `/branch`, `/member` (audited)."""

from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta
from urllib.parse import quote

import flex_templates
from bot.chat.context import Context
from bot.chat.messages import text
from bot.chat.registry import Registry, Role
from bot.i18n import N_
from bot.loyalty import points
from bot.loyalty.member_codes import INVITE_CODE_LENGTH, clean, new_code
from bot.members.profile_fields import display_phone
from bot.richmenu import relink as relink_menu
from bot.store import utcnow
from handlers import wizard
from handlers.common import merchant_name
from handlers.labels import tier_label
from handlers.lookup import NotFound, resolve_member
from handlers.rewards import moment

INVITE_TTL = timedelta(hours=24)
BRANCH_CODE = re.compile(r"^[a-z0-9][a-z0-9-]{1,19}$")
BAD_BRANCH_CODE = N_("A branch code is 2 to 20 letters, digits or dashes, like “asoke”.")
MAX_BRANCH_NAME = 60
RECENT_PURCHASES = 5  # shown by `/member`
log = logging.getLogger(__name__)


def register(registry: Registry) -> None:
    registry.command(
        "/staff",
        role=Role.OWNER,
        summary=N_("invite, list or remove staff"),
        usage=N_("invite [branch] | list | remove <number>"),
    )(staff)
    registry.command(
        "/join", summary=N_("become staff with an invite code"), usage=N_("<code>"), audit=True
    )(join_as_staff)
    registry.command(
        "/branch",
        role=Role.OWNER,
        summary=N_("add or list branches"),
        usage=N_("add <code> <name> | list"),
    )(branch)
    registry.command(
        "/member", role=Role.STAFF, summary=N_("look up a member"), usage=N_("<code|phone>")
    )(member_lookup)
    wizard.register(registry, BRANCH_FORM)
    wizard.register(registry, INVITE_FORM)


def staff(ctx: Context) -> list:
    """Dispatch `/staff invite|list|remove`."""
    action = ctx.args[0].lower() if ctx.args else ""
    if action == "invite":
        return invite(ctx, ctx.args[1] if len(ctx.args) > 1 else None)
    if action == "list":
        return list_staff(ctx)
    if action == "remove" and len(ctx.args) == 2:
        return remove_staff(ctx, ctx.args[1])
    ctx.audit["result"] = "usage"
    return [text(ctx._("Usage: /staff invite [branch] | list | remove <number>"))]


def invite(ctx: Context, branch_code: str | None) -> list:
    """A one-time code, valid 24 hours, that makes its sender staff (of a branch)."""
    if branch_code is not None and ctx.store.branch(branch_code.lower()) is None:
        ctx.audit["result"] = "unknown-branch"
        return [text(ctx._("There is no branch %(code)s. See /branch list.", code=branch_code))]
    branch_code = branch_code.lower() if branch_code else None
    while True:
        code = new_code(INVITE_CODE_LENGTH)
        if ctx.store.create_invite(code, branch_code, ctx.user_id, utcnow() + INVITE_TTL):
            break
    where = branch_code or ctx._("all branches")
    return [
        text(
            ctx._(
                "Invite code for %(branch)s: %(code)s\n"
                "Ask your staff member to send “/join %(code)s” to this account "
                "within 24 hours. It works once.",
                branch=where,
                code=code,
            )
        ),
        _share_invite(ctx, code),
    ]


def _share_invite(ctx: Context, code: str) -> dict:
    """A button that hands the invite to LINE's share screen (pick the new staff member's
    chat), with a link that opens this account's chat with `/join <code>` typed in."""
    account = ctx.services.line.basic_id()  # None if LINE would not say: no link then
    message = f"/join {code}"
    invited = ctx._(
        "You are invited to join the staff of %(shop)s. Within 24 hours, send this message "
        "to our LINE account: %(words)s",
        shop=merchant_name(ctx),
        words=message,
    )
    lines = [invited]
    if account:  # opens our chat with the message typed in, ready to send
        lines.append(f"https://line.me/R/oaMessage/{quote(account)}/?{quote(message, safe='')}")
    return flex_templates.render(
        "share",
        alt_text=ctx._("Share the invite"),
        title=ctx._("Share the invite"),
        body=ctx._("Send it to your new staff member in LINE. The code works once."),
        share_label=ctx._("Share invite"),
        share_uri="https://line.me/R/share?text=" + quote("\n".join(lines)),
        copy_label=ctx._("Copy message"),
        copy_text=message,
    )


def join_as_staff(ctx: Context) -> list:
    """Redeem a staff invite code."""
    if len(ctx.args) != 1:
        ctx.audit["result"] = "usage"
        return [text(ctx._("Usage: /join <code>"))]
    invitation = ctx.store.redeem_invite(clean(ctx.args[0]), ctx.user_id)
    if invitation is None:
        ctx.audit["result"] = "invalid-code"
        return [
            text(
                ctx._(
                    "That invite code is not valid, already used or expired. "
                    "Please ask the owner for a new one."
                )
            )
        ]
    profile = ctx.services.line.profile(ctx.user_id) or {}
    name = profile.get("display_name") or ctx.user_id[-6:]
    ctx.store.add_staff(ctx.user_id, invitation["branch"], name, invitation["created_by"])
    relink_menu(ctx)
    where = invitation["branch"] or ctx._("all branches")
    return [
        text(
            ctx._(
                "Welcome to the team! You are now staff of %(branch)s. "
                "Type /help to see your commands.",
                branch=where,
            )
        )
    ]


def list_staff(ctx: Context) -> list:
    people = ctx.store.list_staff()
    if not people:
        return [text(ctx._("No staff yet. Invite someone with /staff invite [branch]."))]
    lines = [ctx._("Staff:")]
    for number, person in enumerate(people, start=1):
        where = person.get("branch") or ctx._("all branches")
        since = local_date(ctx, person["added_at"])
        lines.append(f"{number}. {person['name']} — {where} ({since})")
    lines.append(ctx._("Remove with /staff remove <number>."))
    return [text("\n".join(lines))]


def remove_staff(ctx: Context, which: str) -> list:
    people = ctx.store.list_staff()
    if not which.isdigit() or not 1 <= int(which) <= len(people):
        ctx.audit["result"] = "not-found"
        return [text(ctx._("No staff number %(number)s. See /staff list.", number=which))]
    person = people[int(which) - 1]
    ctx.store.remove_staff(person["_id"])
    relink_menu(ctx, person["_id"])
    return [text(ctx._("%(name)s is no longer staff.", name=person["name"]))]


def branch(ctx: Context) -> list:
    """`/branch add <code> <name>` and `/branch list`."""
    action = ctx.args[0].lower() if ctx.args else ""
    if action == "list":
        branches = ctx.store.list_branches()
        if not branches:
            return [text(ctx._("No branches yet. Add one with /branch add <code> <name>."))]
        lines = [ctx._("Branches:")] + [f"• {b['_id']} — {b['name']}" for b in branches]
        return [text("\n".join(lines))]
    if action == "add" and len(ctx.args) == 1:
        return wizard.start(ctx, BRANCH_FORM)
    if action == "add" and len(ctx.args) >= 3:
        return _add_branch(ctx, ctx.args[1].lower(), " ".join(ctx.args[2:]))
    ctx.audit["result"] = "usage"
    return [text(ctx._("Usage: /branch add <code> <name> | list"))]


def _add_branch(ctx: Context, code: str, name: str) -> list:
    """`/branch add <code> <name>` and its guided form."""
    if not BRANCH_CODE.match(code):
        ctx.audit["result"] = "bad-code"
        return [text(ctx._(BAD_BRANCH_CODE))]
    if not ctx.store.add_branch(code, name[:MAX_BRANCH_NAME]):
        ctx.audit["result"] = "exists"
        return [text(ctx._("Branch %(code)s already exists.", code=code))]
    return [
        text(ctx._("Branch %(code)s (%(name)s) added.", code=code, name=name[:MAX_BRANCH_NAME]))
    ]


def member_lookup(ctx: Context) -> list:
    """A member's profile summary for the counter, by member code, phone or QR token."""
    if len(ctx.args) < 1:
        ctx.audit["result"] = "usage"
        return [text(ctx._("Usage: /member <code|phone>"))]
    try:
        member = resolve_member(ctx, " ".join(ctx.args))
    except NotFound as missing:
        ctx.audit["result"] = "not-found"
        return [text(missing.message)]
    ctx.audit["subject_member_id"] = member["_id"]
    profile = member["profile"]
    rules = points.load_rules(ctx.store)
    lines = [
        f"{profile['first_name']} {profile['last_name']} ({member['code']})",
        ctx._(
            "Phone: %(phone)s",
            phone=display_phone(profile["phone"]) if profile.get("phone") else "—",
        ),
        ctx._("Points: %(points)s", points=ctx.t.number(member.get("points", 0))),
        ctx._("Tier: %(tier)s", tier=tier_label(ctx.t, rules.tier_named(member.get("tier")))),
        ctx._("Member since %(date)s", date=local_date(ctx, member["joined_at"])),
    ]
    stats = member.get("stats") or {}
    if stats.get("visits"):
        lines.append(
            ctx.t.n_(
                "%(count)s visit, last on %(date)s",
                "%(count)s visits, last on %(date)s",
                stats["visits"],
                date=local_date(ctx, stats["last_visit"]),
            )
        )
    if not member.get("reachable", True):
        lines.append(ctx._("Has blocked our LINE account."))
    recent = ctx.store.recent_purchases(member["_id"], RECENT_PURCHASES)
    if not recent:
        return [text("\n".join(lines))]
    return [text("\n".join(lines)), _purchases(ctx, profile["first_name"], recent)]


def _purchases(ctx: Context, name: str, purchases: list[dict]) -> dict:
    """The latest purchases, newest first, each with a Void button for whoever may void it."""
    bubbles = [_purchase(ctx, p)["contents"] for p in purchases]
    return flex_templates.carousel(bubbles, ctx._("Recent purchases of %(name)s", name=name))


def _purchase(ctx: Context, purchase: dict) -> dict:
    active = purchase["status"] == "active"
    void = {
        "type": "postback",
        "label": ctx._("Void"),
        "data": f"a=void_ask&p={purchase['_id']}",
        "displayText": ctx._("Void purchase %(id)s", id=purchase["_id"]),
    }
    footer = {
        "type": "box",
        "layout": "vertical",
        "contents": [{"type": "button", "style": "secondary", "height": "sm", "action": void}],
    }
    status = {"type": "text", "text": ctx._("Voided"), "size": "xxs", "color": "#B00020"}
    return flex_templates.render(
        "purchase",
        alt_text=purchase["_id"],
        amount=ctx.t.money(purchase["amount"]),
        points=ctx.t.n_("%(count)s point", "%(count)s points", purchase["points"]),
        when=moment(ctx.t, purchase["created_at"], ctx.config.tz),
        where=f"#{purchase['_id']} · {purchase.get('branch') or ctx._('no branch')}",
        status=None if active else status,
        footer=footer if active and may_void(ctx, purchase) else None,
    )


def may_void(ctx: Context, purchase: dict) -> bool:
    """As `/void` decides: owners and staff of all branches any purchase, others their own
    branch's."""
    if ctx.role >= Role.OWNER:
        return True
    branch = (ctx.store.staff_record(ctx.user_id) or {}).get("branch")
    return not branch or purchase.get("branch") == branch


# -- guided forms: `/branch add` alone, and the help menu's buttons --------------------------


def _branch_code(ctx: Context, answer: str, answers: dict) -> str:
    code = answer.lower()
    if not BRANCH_CODE.match(code):
        raise wizard.Refused(ctx._(BAD_BRANCH_CODE))
    if ctx.store.branch(code) is not None:
        raise wizard.Refused(ctx._("Branch %(code)s already exists.", code=code))
    return code


BRANCH_FORM = wizard.Form(
    name="branch",
    title=N_("New branch"),
    command="/branch",
    steps=(
        wizard.Step(
            "code",
            N_("New branch. Its short code: 2 to 20 letters, digits or dashes, like “asoke”?"),
            check=_branch_code,
        ),
        wizard.Step(
            "name",
            N_("Its name, as customers know it?"),
            check=lambda ctx, answer, answers: answer[:MAX_BRANCH_NAME],
        ),
    ),
    summary=lambda ctx, answers: ctx._(
        "Add branch %(code)s (%(name)s)?", code=answers["code"], name=answers["name"]
    ),
    finish=lambda ctx, answers: _add_branch(ctx, answers["code"], answers["name"]),
)

ALL_BRANCHES = "all"


def _invite_branch(ctx: Context, answer: str, answers: dict) -> str:
    code = answer.lower()
    if code != ALL_BRANCHES and ctx.store.branch(code) is None:
        raise wizard.Refused(ctx._("There is no branch %(code)s. See /branch list.", code=answer))
    return code


def _branch_choices(ctx: Context, answers: dict) -> list[tuple[str, str]]:
    return [(ctx._("All branches"), ALL_BRANCHES)] + [
        (b["name"], b["_id"]) for b in ctx.store.list_branches()
    ]


def _invite_summary(ctx: Context, answers: dict) -> str:
    where = ctx._("all branches") if answers["branch"] == ALL_BRANCHES else answers["branch"]
    return ctx._(
        "A one-time invite code for staff of %(branch)s, valid for 24 hours. Create it?",
        branch=where,
    )


INVITE_FORM = wizard.Form(
    name="invite",
    title=N_("Invite staff"),
    command="/staff",
    steps=(
        wizard.Step(
            "branch",
            N_("Invite staff for which branch? (Staff of all branches may serve at any.)"),
            check=_invite_branch,
            choices=_branch_choices,
        ),
    ),
    summary=_invite_summary,
    finish=lambda ctx, answers: invite(
        ctx, None if answers["branch"] == ALL_BRANCHES else answers["branch"]
    ),
)


def local_date(ctx: Context, moment: datetime) -> str:
    """A stored UTC time as the date it was at the shop."""
    return ctx.t.date(moment.astimezone(ctx.config.tz))
