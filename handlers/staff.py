"""Staff and branches: `/staff`, `/join <code>`, `/branch`, `/member` (audited)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from bot import points
from bot.context import Context
from bot.i18n import N_
from bot.member_codes import INVITE_CODE_LENGTH, clean, new_code
from bot.messages import text
from bot.profile_fields import display_phone
from bot.registry import Registry, Role
from bot.store import utcnow
from handlers.labels import tier_label
from handlers.lookup import NotFound, resolve_member

INVITE_TTL = timedelta(hours=24)
BRANCH_CODE = re.compile(r"^[a-z0-9][a-z0-9-]{1,19}$")


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
        )
    ]


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
    if action == "add" and len(ctx.args) >= 3:
        code, name = ctx.args[1].lower(), " ".join(ctx.args[2:])
        if not BRANCH_CODE.match(code):
            ctx.audit["result"] = "bad-code"
            return [
                text(ctx._("A branch code is 2 to 20 letters, digits or dashes, like “asoke”."))
            ]
        if not ctx.store.add_branch(code, name[:60]):
            ctx.audit["result"] = "exists"
            return [text(ctx._("Branch %(code)s already exists.", code=code))]
        return [text(ctx._("Branch %(code)s (%(name)s) added.", code=code, name=name[:60]))]
    ctx.audit["result"] = "usage"
    return [text(ctx._("Usage: /branch add <code> <name> | list"))]


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
    return [text("\n".join(lines))]


def local_date(ctx: Context, moment: datetime) -> str:
    """A stored UTC time as the date it was at the shop."""
    return ctx.t.date(moment.astimezone(ctx.config.tz))
