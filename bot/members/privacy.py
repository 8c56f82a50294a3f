"""The privacy policy version, consent records and erasure (Thai PDPA, Taiwan PDPA, GDPR)."""

from __future__ import annotations

import hashlib
import hmac
from typing import TYPE_CHECKING

from bot.store import utcnow

if TYPE_CHECKING:
    from bot.config import Config
    from bot.store import Store

# Bump when the notice changes: members then consent to the new version.
POLICY_VERSION = "2026-11-01"
CHANNEL = "line-chat"


def consent(kind: str, granted: bool, source: str) -> dict:
    """One entry of the append-only consent history."""
    return {
        "kind": kind,  # "privacy" or "marketing"
        "granted": granted,
        "version": POLICY_VERSION,
        "channel": CHANNEL,
        "source": source,  # signup, command, erasure…
        "at": utcnow(),
    }


def pseudonym(secret: str, line_user_id: str) -> str:
    """A stable stand-in for an erased person's LINE id: the same person always gets the
    same one (rows still group by who acted), and without SECRET_KEY nobody can tell whose."""
    digest = hmac.new(secret.encode(), f"erased:{line_user_id}".encode(), hashlib.sha256)
    return "erased-" + digest.hexdigest()[:20]


def erase(store: Store, config: Config, member: dict) -> None:
    """Right to erasure: nothing left in the database identifies the person.

    Rows the shop's accounts need (ledger, purchases, what they did as staff) stay,
    anonymous or under a pseudonym; see bot/store/erasure.py for the fields.
    """
    line_user_id = member["line_user_id"]
    alias = pseudonym(config.SECRET_KEY, line_user_id)
    store.erase_member(member["_id"])
    store.scrub_ledger_reasons(member["_id"])
    store.scrub_audit_subject(member["_id"])
    store.pseudonymise_audit_actor(line_user_id, alias)  # anyone may be refused a command
    # Only staff and owners act on other people's rows: spare everyone else the scans.
    if store.was_ever_staff(line_user_id) or line_user_id in config.ADMIN_LINE_USER_IDS:
        store.pseudonymise_actor(line_user_id, alias)
