"""Small helpers shared by handlers: merchant name, keywords, yes/no, cancel."""

from __future__ import annotations

from bot.chat.context import Context
from bot.chat.registry import Role, normalise

YES_WORDS = {"yes", "y", "ok", "agree", "i agree", "ใช่", "ตกลง", "ยอมรับ", "是", "好", "同意"}
NO_WORDS = {"no", "n", "decline", "disagree", "ไม่", "ไม่ใช่", "ไม่ยอมรับ", "否", "不", "不同意"}
CANCEL_WORDS = {"cancel", "stop", "ยกเลิก", "取消"}


def merchant_name(ctx: Context) -> str:
    merchant = ctx.store.get_setting("merchant") or {}
    return merchant.get("name") or ctx._("our shop")


def keyword(ctx: Context, command: str) -> str:
    """How the sender would type a command in their language ("help" -> "ช่วยเหลือ")."""
    match = ctx.services.registry.find_command(command, Role.OWNER)
    return match.command.keyword_for(ctx.t.locale) if match else command


def is_cancel(text: str) -> bool:
    return normalise(text) in CANCEL_WORDS


def yes_or_no(text: str) -> bool | None:
    word = normalise(text)
    if word in YES_WORDS:
        return True
    if word in NO_WORDS:
        return False
    return None
