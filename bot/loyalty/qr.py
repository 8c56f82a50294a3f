"""Member card QR tokens and their PNG images.

Token format (version 1), all ASCII so it fits any QR reader:

    SMC1.<member id>.<expiry, unix seconds>.<signature>

The signature is HMAC-SHA256 over `SMC1.<member id>.<expiry>` with SECRET_KEY,
base64url without padding, first 22 characters (132 bits). Tokens live for
five minutes, so a screenshot of a card cannot be used later; the card has a
refresh button.

The QR image holds a LINE link rather than the bare token (DESIGN §7): scanned
with LINE's own QR reader it opens the shop's chat with the staff command
typed — `/earn <token> ` for a card (the cashier adds the amount), `/use
<token>` for a reward or coupon code — so the counter needs no other app.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import io
import re
import time

import qrcode

PREFIX = "SMC1"  # member cards
REDEMPTION_PREFIX = "SMR1"  # redemption codes, same mechanics
LIFETIME_SECONDS = 300
SIGNATURE_LENGTH = 22
# Subjects are member ids (24 hex), R…/C… codes and `<run>:<member>` delivery ids.
MAX_SUBJECT_LENGTH = 120
MAX_TOKEN_LENGTH = 4 + 1 + MAX_SUBJECT_LENGTH + 1 + 12 + 1 + SIGNATURE_LENGTH
# Checked before any arithmetic or comparison: ASCII only (`str.isdigit` takes "²",
# `hmac.compare_digest` raises on non-ASCII), every part bounded.
_TOKEN = re.compile(
    rf"(SM[A-Z][0-9])\.([A-Za-z0-9_:-]{{1,{MAX_SUBJECT_LENGTH}}})\.([0-9]{{1,12}})"
    rf"\.([A-Za-z0-9_-]{{{SIGNATURE_LENGTH}}})"
)


class TokenError(ValueError):
    """`reason` is "malformed", "forged" or "expired"."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def _signature(secret: str, member_id: str, expires: int, prefix: str = PREFIX) -> str:
    message = f"{prefix}.{member_id}.{expires}".encode()
    digest = hmac.new(secret.encode(), message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")[:SIGNATURE_LENGTH]


def make_token(
    secret: str,
    subject: str,
    now: float | None = None,
    prefix: str = PREFIX,
    lifetime: int = LIFETIME_SECONDS,
) -> str:
    """A signed token for a member card (or, with REDEMPTION_PREFIX, a redemption)."""
    expires = int(now if now is not None else time.time()) + lifetime
    token = f"{prefix}.{subject}.{expires}.{_signature(secret, subject, expires, prefix)}"
    if not _TOKEN.fullmatch(token):  # never hand out a token read_token would refuse
        raise ValueError(f"cannot make a {prefix} token for that subject")
    return token


def looks_like_token(text: str, prefix: str = PREFIX) -> bool:
    return text.startswith(prefix + ".")


def read_token(
    secret: str,
    token: str,
    now: float | None = None,
    check_expiry: bool = True,
    prefix: str = PREFIX,
) -> str:
    """The subject of a genuine, unexpired token; raises TokenError otherwise."""
    token = token.strip()
    match = _TOKEN.fullmatch(token) if len(token) <= MAX_TOKEN_LENGTH else None
    if match is None or match[1] != prefix:
        raise TokenError("malformed")
    _prefix, subject, expires, signature = match.groups()
    if not hmac.compare_digest(signature, _signature(secret, subject, int(expires), prefix)):
        raise TokenError("forged")
    if check_expiry and int(expires) < (now if now is not None else time.time()):
        raise TokenError("expired")
    return subject


def expires_at(token: str) -> int:
    return int(token.split(".")[2])


def counter_command(token: str) -> str:
    """What the cashier's chat should hold after scanning: the command for this token."""
    if looks_like_token(token, REDEMPTION_PREFIX):
        return f"/use {token}"
    return f"/earn {token} "  # the cashier types the amount after it


@functools.lru_cache(maxsize=512)
def png(content: str) -> bytes:
    """The QR image of a text (cached: a card is fetched by LINE more than once)."""
    image = qrcode.make(
        content, box_size=8, border=2, error_correction=qrcode.constants.ERROR_CORRECT_M
    )
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()
