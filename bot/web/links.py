"""Signed, expiring links (data exports) built on itsdangerous."""

from __future__ import annotations

import re

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from bot.config import Config

EXPORT_SALT = "samachik.my-data"
EXPORT_MAX_AGE_SECONDS = 3600
# base64url payload, timestamp and signature joined by dots; a member id makes ~75.
_TOKEN = re.compile(r"[A-Za-z0-9_.-]{1,160}")
_MEMBER_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


def export_token(config: Config, member_id: str) -> str:
    return URLSafeTimedSerializer(config.SECRET_KEY, salt=EXPORT_SALT).dumps(member_id)


def export_url(config: Config, member_id: str) -> str:
    return f"{config.PUBLIC_BASE_URL.rstrip('/')}/my-data/{export_token(config, member_id)}"


def member_from_export_token(config: Config, token: str) -> str | None:
    """The member id in a valid, unexpired token; None otherwise.

    Length and alphabet are checked before the signature, and the signed payload
    must be a member id: whatever else it holds never reaches a query.
    """
    if not _TOKEN.fullmatch(token):
        return None
    serializer = URLSafeTimedSerializer(config.SECRET_KEY, salt=EXPORT_SALT)
    try:
        member_id = serializer.loads(token, max_age=EXPORT_MAX_AGE_SECONDS)
    except (SignatureExpired, BadSignature):
        return None
    return member_id if isinstance(member_id, str) and _MEMBER_ID.fullmatch(member_id) else None
