"""`profile`, `edit` and `language`: what we store about a member, and changing it."""

from __future__ import annotations

from datetime import date

from bot.chat.context import Context
from bot.chat.messages import say, tap, text
from bot.chat.registry import Registry, normalise
from bot.i18n import LOCALES, N_
from bot.members.profile_fields import (
    FIELD_LABELS,
    FIELDS,
    GENDER_LABELS,
    InvalidAnswer,
    display_phone,
    parse,
)
from bot.richmenu import relink as relink_menu
from bot.store import utcnow
from handlers.common import is_cancel, keyword
from handlers.signup import ask as ask_signup_question
from handlers.signup import too_many_phone_tries

LANGUAGE_WORDS = {
    "th": ("th", "thai", "ไทย", "ภาษาไทย", "泰文", "泰語"),
    "en": ("en", "english", "อังกฤษ", "ภาษาอังกฤษ", "英文", "英語"),
    "zh_Hant": ("zh", "zh_hant", "zh-tw", "chinese", "จีน", "ภาษาจีน", "中文", "繁體中文"),
}
LANGUAGE_NAMES = {"th": "ไทย", "en": "English", "zh_Hant": "中文"}
# What members type after `edit`, in our three languages.
FIELD_WORDS = {
    "first_name": ("first name", "firstname", "name", "ชื่อ", "名字"),
    "last_name": ("last name", "lastname", "surname", "นามสกุล", "姓氏"),
    "gender": ("gender", "เพศ", "性別"),
    "birthday": ("birthday", "birth date", "วันเกิด", "生日"),
    "phone": ("phone", "mobile", "เบอร์", "เบอร์โทร", "電話", "手機"),
    "email": ("email", "e-mail", "อีเมล", "電子郵件"),
}


def register(registry: Registry) -> None:
    registry.command(
        "profile", th=("โปรไฟล์", "ข้อมูลของฉัน"), zh=("個人資料",), summary=N_("see what we store")
    )(show_profile)
    registry.command(
        "edit",
        th=("แก้ไข",),
        zh=("修改", "編輯"),
        summary=N_("change one of your details"),
        usage=N_("[field]"),
    )(edit)
    registry.command(
        "language",
        th=("ภาษา",),
        zh=("語言",),
        summary=N_("switch language: th, en or zh"),
        usage="th|en|zh",
    )(language)
    registry.on_postback("edit")(edit_from_button)
    registry.flow("edit")(edit_answer)


def show_profile(ctx: Context) -> list:
    """Everything stored in the member's profile, formatted for their language."""
    member = ctx.member
    if not ctx.is_member:
        return [not_member_yet(ctx)]
    lines = [ctx._("Your profile (member code %(code)s):", code=member["code"])]
    lines += [
        f"• {ctx._(FIELD_LABELS[f])}: {display_value(ctx, f, member['profile'].get(f))}"
        for f in FIELDS
    ]
    marketing = ctx._("yes") if member.get("marketing_opt_in") else ctx._("no")
    lines.append(f"• {ctx._('News and offers')}: {marketing}")
    lines.append(f"• {ctx._('Language')}: {LANGUAGE_NAMES[ctx.t.locale]}")
    lines.append(ctx._("Type “%(edit)s” to change something.", edit=keyword(ctx, "edit")))
    return [text("\n".join(lines), quick_replies=[(ctx._("Edit"), keyword(ctx, "edit"))])]


def display_value(ctx: Context, field: str, value) -> str:
    if not value:
        return "—"
    if field == "gender":
        return ctx._(GENDER_LABELS[value])
    if field == "birthday":
        return ctx.t.date(date.fromisoformat(value), fmt="long")
    if field == "phone":
        return display_phone(value)
    return str(value)


def not_member_yet(ctx: Context):
    return text(
        ctx._("You are not a member yet. Type “%(join)s” to sign up.", join=keyword(ctx, "join")),
        quick_replies=[(ctx._("Join now"), keyword(ctx, "join"))],
    )


def edit(ctx: Context) -> list:
    """`edit` lists the fields; `edit phone` asks for the new value right away."""
    if not ctx.is_member:
        return [not_member_yet(ctx)]
    field = _field_from_words(" ".join(ctx.args))
    if field is None:
        items = [tap(ctx._(FIELD_LABELS[f]), f"a=edit&field={f}") for f in FIELDS]
        return [text(ctx._("What would you like to change?"), items=items)]
    return _start_edit(ctx, field)


def edit_from_button(ctx: Context) -> list:
    """A field button from `edit`."""
    if not ctx.is_member or ctx.postback.get("field") not in FIELDS:
        return []
    return _start_edit(ctx, ctx.postback["field"])


def _start_edit(ctx: Context, field: str) -> list:
    ctx.store.set_conversation(
        ctx.member["_id"], {"flow": "edit", "step": field, "answers": {}, "started_at": utcnow()}
    )
    current = display_value(ctx, field, ctx.member["profile"].get(field))
    intro = ctx._("Now: %(value)s", value=current)
    return [text(intro), *_ask_edit(ctx, field)]


def _ask_edit(ctx: Context, field: str) -> list:
    """The signup question for the field, its buttons answering this edit."""
    return ask_signup_question(ctx, field, flow="edit")


def edit_answer(ctx: Context) -> list:
    """Validate the new value like signup does, then store it."""
    member = ctx.member
    field = ctx.conversation["step"]
    if ctx.text and is_cancel(ctx.text):
        ctx.store.clear_conversation(member["_id"])
        return [text(ctx._("Nothing changed."))]
    if ctx.raw.get("type") == "postback":
        data = ctx.postback
        if data.get("a") != "edit" or data.get("step") != field:
            return _ask_edit(ctx, field)
        raw = data.get("date") or data.get("v") or ""
    else:
        raw = ctx.text
    if not raw.strip():
        return _ask_edit(ctx, field)
    if field == "email" and raw == "skip":
        value = None
    else:
        try:
            value = parse(field, raw, ctx.today())
        except InvalidAnswer as problem:
            return [text(ctx._(problem.message, **problem.params)), *_ask_edit(ctx, field)]
    if field == "phone" and (refusal := too_many_phone_tries(ctx)):
        return refusal
    if field == "phone" and not _move_phone(ctx, member, value):
        refusal = ctx._(
            "This phone number is already registered to another member. "
            "If it is yours, please ask our staff for help, or type another number."
        )
        return [text(refusal), *_ask_edit(ctx, field)]
    ctx.store.set_profile_field(member["_id"], field, value)
    if field == "birthday":
        ctx.store.set_profile_field(member["_id"], "birth_month", int(value[5:7]))
    ctx.store.clear_conversation(member["_id"])
    label = ctx._(FIELD_LABELS[field])
    return [
        text(
            ctx._(
                "Saved. Your %(field)s is now %(value)s.",
                field=label.lower(),
                value=display_value(ctx, field, value),
            )
        )
    ]


def _move_phone(ctx: Context, member: dict, phone: str) -> bool:
    old = member["profile"].get("phone")
    if phone == old:
        return True
    if not ctx.store.claim_phone(phone, member["_id"]):
        return False
    if old:
        ctx.store.release_phone(old, member["_id"])
    return True


def _field_from_words(words: str) -> str | None:
    wanted = normalise(words)
    for field, names in FIELD_WORDS.items():
        if wanted == field or wanted in names:
            return field
    return None


def language(ctx: Context) -> list:
    """Switch the language of every reply; without an argument, offer the three."""
    chosen = _locale_from_words(" ".join(ctx.args))
    if chosen is None:
        items = [
            say(LANGUAGE_NAMES[loc], f"language {code}")
            for loc, code in (("th", "th"), ("en", "en"), ("zh_Hant", "zh"))
        ]
        return [text(ctx._("Which language would you like?"), items=items)]
    member = ctx.ensure_member()
    ctx.store.set_locale(member["_id"], chosen)
    ctx.reload_member()
    relink_menu(ctx)
    return [text(ctx._("From now on I will reply in English."))]


def _locale_from_words(words: str) -> str | None:
    wanted = normalise(words)
    for locale in LOCALES:
        if wanted in LANGUAGE_WORDS[locale]:
            return locale
    return None
