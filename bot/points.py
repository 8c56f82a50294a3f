"""Points rules (pure where possible); every movement goes through the ledger."""

from __future__ import annotations

from bot.store import Store

SIGNUP_BONUS_DEFAULT = 50


def signup_bonus(store: Store) -> int:
    return int(store.get_setting("signup_bonus", SIGNUP_BONUS_DEFAULT))


def award_signup_bonus(store: Store, member_id: str) -> int:
    """Credit the joining bonus once per member, however often signup completes."""
    amount = signup_bonus(store)
    if amount <= 0:
        return 0
    store.append_ledger(member_id, amount, "bonus", key=f"signup:{member_id}", reason="signup")
    return amount
