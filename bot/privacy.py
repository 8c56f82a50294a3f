"""The privacy policy version and consent records (Thai PDPA, Taiwan PDPA, GDPR)."""

from bot.store import utcnow

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
