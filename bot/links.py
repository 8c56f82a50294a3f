"""Signed, expiring links (data exports) built on itsdangerous."""

from __future__ import annotations

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from bot.config import Config

EXPORT_SALT = "samachik.my-data"
EXPORT_MAX_AGE_SECONDS = 3600


def export_token(config: Config, member_id: str) -> str:
    return URLSafeTimedSerializer(config.SECRET_KEY, salt=EXPORT_SALT).dumps(member_id)


def export_url(config: Config, member_id: str) -> str:
    return f"{config.PUBLIC_BASE_URL.rstrip('/')}/my-data/{export_token(config, member_id)}"


def member_from_export_token(config: Config, token: str) -> str | None:
    """The member id in a valid, unexpired token; None otherwise."""
    serializer = URLSafeTimedSerializer(config.SECRET_KEY, salt=EXPORT_SALT)
    try:
        return serializer.loads(token, max_age=EXPORT_MAX_AGE_SECONDS)
    except (SignatureExpired, BadSignature):
        return None
