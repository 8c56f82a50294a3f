"""Privacy rights in chat: `stop ads`, `start ads`, `my data`, `delete my data`."""

from __future__ import annotations

from bot.chat.context import Context
from bot.chat.messages import tap, text
from bot.chat.registry import Registry
from bot.i18n import N_
from bot.members import privacy
from bot.richmenu import relink as relink_menu
from bot.store import utcnow
from bot.web import links
from handlers.common import is_cancel, keyword, yes_or_no
from handlers.profile import not_member_yet


def register(registry: Registry) -> None:
    registry.command(
        "stop ads",
        th=("หยุดโฆษณา", "ไม่รับโปรโมชั่น"),
        zh=("停止廣告",),
        summary=N_("stop news and offers"),
    )(stop_ads)
    registry.command(
        "start ads",
        th=("รับโฆษณา", "รับโปรโมชั่น"),
        zh=("接收廣告",),
        summary=N_("get news and offers"),
    )(start_ads)
    registry.command(
        "my data",
        th=("ขอข้อมูลของฉัน",),
        zh=("我的資料",),
        summary=N_("get a copy of everything we store about you"),
    )(my_data)
    registry.command(
        "delete my data",
        th=("ลบข้อมูลของฉัน",),
        zh=("刪除我的資料",),
        summary=N_("erase your personal data"),
    )(delete_my_data)
    registry.flow("erase")(confirm_erasure)


def stop_ads(ctx: Context) -> list:
    """Withdraw marketing consent at once; recorded in the consent history."""
    return _set_marketing(ctx, False)


def start_ads(ctx: Context) -> list:
    """Give marketing consent; recorded in the consent history."""
    return _set_marketing(ctx, True)


def _set_marketing(ctx: Context, granted: bool) -> list:
    if not ctx.is_member:
        return [not_member_yet(ctx)]
    ctx.store.record_consent(ctx.member["_id"], privacy.consent("marketing", granted, "command"))
    if granted:
        return [text(ctx._("Done: you will receive our news and offers. Type “stop ads” to stop."))]
    return [
        text(
            ctx._(
                "Done: no more news or offers. You will still get replies and receipts. "
                "Type “start ads” to change your mind."
            )
        )
    ]


def my_data(ctx: Context) -> list:
    """A summary in chat and a signed, expiring link to the full JSON export."""
    member = ctx.member
    if member is None or member.get("status") != "member":
        return [
            text(
                ctx._(
                    "We only store your LINE user ID and language, because you are not a "
                    "member. Nothing else."
                )
            )
        ]
    profile = member["profile"]
    ledger = ctx.store.ledger_for(member["_id"])
    privacy_consent = next(
        (c for c in reversed(member.get("consents", [])) if c["kind"] == "privacy"), None
    )
    lines = [
        ctx._("Here is what we store about you:"),
        f"• {profile['first_name']} {profile['last_name']}",
        "• "
        + ctx._(
            "Phone, birthday, gender%(email)s",
            email=ctx._(" and email") if profile.get("email") else "",
        ),
        "• "
        + ctx._(
            "Member code %(code)s, %(points)s, %(moves)s",
            code=member["code"],
            points=ctx.t.n_("%(count)s point", "%(count)s points", member.get("points", 0)),
            moves=ctx.t.n_("%(count)s point movement", "%(count)s point movements", len(ledger)),
        ),
    ]
    if privacy_consent:
        lines.append(
            "• "
            + ctx._(
                "Privacy notice %(version)s accepted on %(date)s",
                version=privacy_consent["version"],
                date=ctx.t.date(privacy_consent["at"]),
            )
        )
    lines.append(
        "• "
        + (
            ctx._("News and offers: yes")
            if member.get("marketing_opt_in")
            else ctx._("News and offers: no")
        )
    )
    lines.append(
        ctx._(
            "Your full copy, to read or download (link valid for 1 hour): %(url)s",
            url=links.export_url(ctx.config, member["_id"]),
        )
    )
    return [text("\n".join(lines))]


def delete_my_data(ctx: Context) -> list:
    """Ask for confirmation before erasing anything."""
    if not ctx.is_member:
        return [not_member_yet(ctx)]
    ctx.store.set_conversation(
        ctx.member["_id"],
        {"flow": "erase", "step": "confirm", "answers": {}, "started_at": utcnow()},
    )
    question = ctx._(
        "This erases your name, phone, email, birthday and member code, and unlinks your "
        "LINE account. Your %(points)s points will be lost. Are you sure?",
        points=ctx.t.number(ctx.member.get("points", 0)),
    )
    items = [
        tap(ctx._("Yes, delete"), "a=erase&v=yes"),
        tap(ctx._("No, keep"), "a=erase&v=no"),
    ]
    return [text(question, items=items)]


def confirm_erasure(ctx: Context) -> list:
    """Erase on a clear yes; anything else keeps the data."""
    member = ctx.member
    if ctx.raw.get("type") == "postback":
        choice = (
            {"yes": True, "no": False}.get(ctx.postback.get("v", ""))
            if ctx.postback.get("a") == "erase"
            else None
        )
    else:
        choice = False if is_cancel(ctx.text) else yes_or_no(ctx.text)
    if choice is None:
        return [
            text(
                ctx._("Please answer yes or no."),
                items=[
                    tap(ctx._("Yes, delete"), "a=erase&v=yes"),
                    tap(ctx._("No, keep"), "a=erase&v=no"),
                ],
            )
        ]
    ctx.store.clear_conversation(member["_id"])
    if not choice:
        return [text(ctx._("Nothing was deleted."))]
    privacy.erase(ctx.store, ctx.config, member)
    relink_menu(ctx)
    return [
        text(
            ctx._(
                "Your personal data has been erased and your LINE account is no longer linked. "
                "We kept anonymous records of past purchases and points, with no name, phone or "
                "LINE account attached, because the shop's accounts must still add up. "
                "You can join again at any time with “%(join)s”.",
                join=keyword(ctx, "join"),
            )
        )
    ]
