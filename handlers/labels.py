"""Localised names for tiers and ledger movements."""

from __future__ import annotations

from bot.i18n import N_, Translator
from bot.rules import Tier

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
