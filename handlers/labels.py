"""Localised names for tiers, ledger movements and promotions."""

from __future__ import annotations

from datetime import date

from bot.i18n import N_, Translator
from bot.loyalty.rules import Promotion, Tier, describe_days

TIER_NAMES = {"member": N_("Member"), "silver": N_("Silver"), "gold": N_("Gold")}
MOVEMENTS = {
    "earn": N_("Purchase"),
    "bonus": N_("Bonus"),
    "redeem": N_("Reward"),
    "expire": N_("Expired"),
    "adjust": N_("Correction"),
    "reverse": N_("Purchase voided"),
}


def tier_label(t: Translator, tier: Tier) -> str:
    """Built-in tiers are translated; an owner's own tier names are shown as typed."""
    name = TIER_NAMES.get(tier.name)
    return t._(name) if name else tier.name.title()


def movement_label(t: Translator, kind: str) -> str:
    return t._(MOVEMENTS.get(kind, kind))


def promotion_label(t: Translator, promotion: Promotion, with_dates: bool = False) -> str:
    """×2 asoke Mon–Fri 14:00–16:00 (and its dates, for the owner)."""
    parts = [f"×{t.number(promotion.factor)}"]
    if promotion.branch:
        parts.append(promotion.branch)
    if promotion.days:
        parts.append(describe_days(promotion.days))
    if promotion.start:
        parts.append(f"{promotion.start}–{promotion.end}")
    if with_dates and (promotion.valid_from or promotion.valid_until):
        first, last = (
            t.date(date.fromisoformat(day)) if day else "…"
            for day in (promotion.valid_from, promotion.valid_until)
        )
        parts.append(f"{first} → {last}")
    return " ".join(parts)
