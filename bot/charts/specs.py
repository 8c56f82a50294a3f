"""Which chart to draw, signed into an expiring URL.

A token carries the whole request (kind, period, branch, campaign, language,
size) and the moment its numbers are as of, so the image LINE fetches later
shows the same period as the message it came with, and the same URL always
gives the same picture (which is what makes it cacheable).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

from itsdangerous import BadSignature, URLSafeSerializer

from bot.config import Config

SALT = "samachik.chart"
KINDS = ("campaign", "daily", "funnel", "cohorts", "rfm", "heatmap")
CHAT_LIFETIME = 7 * 24 * 3600  # LINE may fetch a hero image again days later
FORMATS = ("png", "svg")


@dataclass(frozen=True)
class ChartSpec:
    kind: str
    locale: str
    size: str = "wide"
    period: str = "30d"
    branch: str | None = None
    campaign_id: str | None = None
    at: int = 0  # unix seconds the numbers are as of
    expires: int = 0  # unix seconds the URL stops working


def _serializer(config: Config) -> URLSafeSerializer:
    return URLSafeSerializer(config.SECRET_KEY, salt=SALT)


def make_token(config: Config, spec: ChartSpec) -> str:
    # Short keys keep the URL small; empty fields are left out.
    fields = {k: v for k, v in asdict(spec).items() if v not in (None, "")}
    return _serializer(config).dumps(fields)


def chart_url(config: Config, spec: ChartSpec, fmt: str = "png") -> str:
    """The absolute URL LINE (or a browser) fetches the chart from."""
    return f"{config.PUBLIC_BASE_URL.rstrip('/')}/charts/{make_token(config, spec)}.{fmt}"


def for_chat(kind: str, locale: str, at: int | None = None, **params) -> ChartSpec:
    """A Flex-sized chart whose URL lives long enough for LINE to fetch it again."""
    now = int(time.time()) if at is None else at
    return ChartSpec(
        kind=kind, locale=locale, size="flex", at=now, expires=now + CHAT_LIFETIME, **params
    )


def read_token(config: Config, token: str, now: float | None = None) -> ChartSpec | None:
    """The spec in a genuine, unexpired token; None for a forged, altered or expired one."""
    try:
        fields = _serializer(config).loads(token)
        spec = ChartSpec(**fields)
    except (BadSignature, TypeError):
        return None
    if spec.kind not in KINDS or spec.expires < (time.time() if now is None else now):
        return None
    return spec
