"""Owners: `/segment …` (live counts and saved segments) and `/tag`, `/untag`."""

from __future__ import annotations

import re
from datetime import datetime

from babel.numbers import format_percent

from bot.chat import numbers
from bot.chat.context import Context
from bot.chat.messages import text
from bot.chat.registry import Registry, Role
from bot.i18n import N_
from bot.marketing.segments import BASE, Clock, SegmentError, compile_filters, describe_keys
from bot.store import utcnow
from handlers.lookup import NotFound, resolve_member

NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{1,29}$")
TAG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,19}$")
EXAMPLES = 5


def register(registry: Registry) -> None:
    registry.command(
        "/segment",
        role=Role.OWNER,
        summary=N_("count members matching filters; save segments"),
        usage=N_("<filters> | save <name> <filters> | list | show <name>"),
    )(segment)
    registry.command(
        "/tag", role=Role.OWNER, summary=N_("tag a member"), usage=N_("<member> <tag>")
    )(tag)
    registry.command(
        "/untag", role=Role.OWNER, summary=N_("remove a tag"), usage=N_("<member> <tag>")
    )(untag)


def clock(ctx: Context) -> Clock:
    now = utcnow()
    return Clock(now=now, today=datetime.now(ctx.config.tz).date())


def segment(ctx: Context) -> list:
    """`/segment <filters>` counts live; save, list and show named segments."""
    action = ctx.args[0].lower() if ctx.args else ""
    if action == "list":
        return [text(_list(ctx))]
    if action == "show" and len(ctx.args) == 2:
        saved = ctx.store.segment(ctx.args[1].lower())
        if saved is None:
            ctx.audit["result"] = "not-found"
            return [text(ctx._("No saved segment %(name)s. See /segment list.", name=ctx.args[1]))]
        return _count(ctx, saved["filters"], title=saved["_id"])
    if action == "save":
        return _save(ctx)
    if not ctx.args:
        ctx.audit["result"] = "usage"
        return [text(usage(ctx))]
    return _count(ctx, " ".join(ctx.args))


def _count(ctx: Context, filters: str, title: str | None = None) -> list:
    try:
        query = compile_filters(filters, clock(ctx))
    except SegmentError as bad:
        return [text(not_understood(ctx, bad))]
    matching = ctx.store.count_members(query)
    everyone = ctx.store.count_members(dict(BASE))
    share = format_percent(matching / everyone if everyone else 0, locale=ctx.t.babel_locale)
    lines = [
        (f"{title}: " if title else "")
        + ctx.t.n_(
            "%(count)s member (%(share)s of %(total)s) matches %(filters)s.",
            "%(count)s members (%(share)s of %(total)s) match %(filters)s.",
            matching,
            share=share,
            total=ctx.t.number(everyone),
            filters=filters,
        )
    ]
    examples = ctx.store.sample_members(query, EXAMPLES)
    if examples:
        names = ", ".join(f"{m['profile']['first_name']} ({m['code']})" for m in examples)
        lines.append(ctx._("For example: %(names)s", names=names))
    return [text("\n".join(lines))]


def _save(ctx: Context) -> list:
    if len(ctx.args) < 3 or not NAME.match(ctx.args[1].lower()):
        ctx.audit["result"] = "usage"
        return [
            text(ctx._("Usage: /segment save <name> <filters> (name: letters, digits, - or _)"))
        ]
    name, filters = ctx.args[1].lower(), " ".join(ctx.args[2:])
    try:
        compile_filters(filters, clock(ctx))
    except SegmentError as bad:
        return [text(not_understood(ctx, bad))]
    ctx.store.save_segment(name, filters, ctx.user_id)
    return [text(ctx._("Segment %(name)s saved.", name=name)), *_count(ctx, filters, title=name)]


def _list(ctx: Context) -> str:
    saved = ctx.store.list_segments()
    if not saved:
        return ctx._("No saved segments yet. Save one with /segment save <name> <filters>.")
    return "\n".join([ctx._("Saved segments:")] + [f"• {s['_id']}: {s['filters']}" for s in saved])


def not_understood(ctx: Context, bad: SegmentError) -> str:
    """Name the number out of range, or the word not understood and every key."""
    ctx.audit["result"] = "bad-filter"
    if bad.problem is not None:
        return numbers.refusal(ctx.t, bad.problem)
    return ctx._("I don't understand “%(word)s”.", word=bad.word) + "\n" + usage(ctx)


def usage(ctx: Context) -> str:
    return ctx._("Filters: %(keys)s", keys=describe_keys())


def tag(ctx: Context) -> list:
    """Add a tag to a member, for `tag:` segments."""
    return _tagging(ctx, add=True)


def untag(ctx: Context) -> list:
    """Remove a tag from a member."""
    return _tagging(ctx, add=False)


def _tagging(ctx: Context, add: bool) -> list:
    if len(ctx.args) != 2 or not TAG.match(ctx.args[1].lower()):
        ctx.audit["result"] = "usage"
        return [text(ctx._("Usage: /tag <member> <tag> (tag: letters, digits, - or _)"))]
    try:
        member = resolve_member(ctx, ctx.args[0])
    except NotFound as missing:
        ctx.audit["result"] = "not-found"
        return [text(missing.message)]
    ctx.audit["subject_member_id"] = member["_id"]
    label = ctx.args[1].lower()
    if add:
        ctx.store.add_tag(member["_id"], label)
        return [
            text(
                ctx._(
                    "Tagged %(name)s with %(tag)s.", name=member["profile"]["first_name"], tag=label
                )
            )
        ]
    ctx.store.remove_tag(member["_id"], label)
    return [
        text(
            ctx._("Removed %(tag)s from %(name)s.", name=member["profile"]["first_name"], tag=label)
        )
    ]
