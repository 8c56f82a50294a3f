"""A campaign's Flex message: the template filled for one member, or for everyone."""

from __future__ import annotations

from datetime import datetime

import flex_templates
from bot import qr
from bot.campaigns import JOURNEY_PLACEHOLDERS, PLACEHOLDERS
from bot.config import Config
from bot.store import utcnow
from bot.translate import translator_for

LINK_LIFETIME_SECONDS = 90 * 24 * 3600


def render(
    config: Config,
    campaign: dict,
    member: dict | None,
    delivery_id: str | None,
    coupon: dict | None = None,
    own: dict | None = None,
) -> dict:
    """The campaign's Flex message for one member (or a generic one for multicast)."""
    t = translator_for(member or {}, config)
    values = dict.fromkeys(PLACEHOLDERS + JOURNEY_PLACEHOLDERS, "")
    for key, value in (own or {}).items():
        if isinstance(value, datetime):
            values[key] = t.date(value.astimezone(config.tz))
        elif isinstance(value, int | float):
            values[key] = t.number(value)
    if member is not None:
        values.update(
            first_name=(member.get("profile") or {}).get("first_name", ""),
            points=t.number(member.get("points", 0)),
            tier=(member.get("tier") or "member").title(),
        )
    if coupon is not None:
        values.update(
            coupon_code=coupon["_id"],
            expires=t.date(coupon["expires_at"].astimezone(config.tz)),
        )
    content = campaign["content"]
    if campaign.get("translate"):  # a journey's default wording, in the member's language
        catalogue = t._  # (not `_` itself: the wording is marked where it is defined)
        content = {**content, **{k: catalogue(content[k]) for k in ("title", "text")}}
    fill = lambda s: s.format_map(_Blank(values)) if s else s  # noqa: E731
    base = config.PUBLIC_BASE_URL.rstrip("/")
    button = None
    if content.get("link") and content.get("button"):
        token = qr.make_token(
            config.SECRET_KEY,
            delivery_id or f"run:{campaign['run_id']}",
            prefix="SML1",
            lifetime=LINK_LIFETIME_SECONDS,
        )
        button = {
            "type": "button",
            "style": "primary",
            "color": "#0B6E4F",
            "action": {"type": "uri", "label": content["button"], "uri": f"{base}/r/{token}"},
        }
    coupon_box = None
    if coupon is not None:
        coupon_token = qr.make_token(
            config.SECRET_KEY,
            coupon["_id"],
            prefix=qr.REDEMPTION_PREFIX,
            lifetime=int((coupon["expires_at"] - utcnow()).total_seconds()),
        )
        coupon_box = {
            "type": "box",
            "layout": "vertical",
            "spacing": "sm",
            "contents": [
                {"type": "image", "url": f"{base}/qr/{coupon_token}.png", "size": "md"},
                {
                    "type": "text",
                    "text": coupon["_id"],
                    "weight": "bold",
                    "align": "center",
                    "size": "lg",
                },
                {
                    "type": "text",
                    "text": t._("Valid until %(date)s", date=values["expires"]),
                    "size": "xs",
                    "color": "#777777",
                    "align": "center",
                },
            ],
        }
    hero = flex_templates.hero_image(content.get("image"))
    return flex_templates.render(
        f"campaign_{campaign['template']}",
        alt_text=fill(content["title"])[:400] or "…",
        hero=hero,
        title=fill(content["title"]) or "…",
        body=fill(content["text"]) or "…",
        coupon=coupon_box,
        footer={"type": "box", "layout": "vertical", "contents": [button]} if button else None,
    )


class _Blank(dict):
    def __missing__(self, key):
        return "{" + key + "}"
