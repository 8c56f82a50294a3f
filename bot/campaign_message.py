"""A campaign's Flex message: the template filled for one member, or for everyone."""

from __future__ import annotations

from datetime import datetime, timedelta

import flex_templates
from bot import qr
from bot.campaign_text import moment
from bot.campaigns import JOURNEY_PLACEHOLDERS, PLACEHOLDERS, fill
from bot.config import Config
from bot.i18n import Translator
from bot.store import utcnow
from bot.translate import translator_for

LINK_LIFETIME_SECONDS = 90 * 24 * 3600
SAMPLE_COUPON_CODE = "CSAMPLE"  # not a code we issue (no L in the alphabet): /use refuses it


def sample_coupon(campaign: dict, now: datetime) -> dict | None:
    """What a preview shows in place of the coupon each member will get."""
    spec = campaign.get("coupon")
    if not spec:
        return None
    return {"_id": SAMPLE_COUPON_CODE, "expires_at": now + timedelta(days=spec["days"])}


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
    counts = {}  # the raw numbers, for a journey wording's plural form
    for key, value in (own or {}).items():
        if isinstance(value, datetime):
            values[key] = t.date(value.astimezone(config.tz))
        elif isinstance(value, int | float):
            values[key], counts[key] = t.number(value), value
    if member is not None:
        counts["points"] = member.get("points", 0)
        values.update(
            first_name=(member.get("profile") or {}).get("first_name", ""),
            points=t.number(counts["points"]),
            tier=(member.get("tier") or "member").title(),
        )
    if coupon is not None:
        values.update(
            coupon_code=coupon["_id"],
            expires=moment(t, coupon["expires_at"], config.tz),
        )
    content = _wording(t, campaign, counts)
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
        alt_text=fill(content["title"], values)[:400] or "…",
        hero=hero,
        title=fill(content["title"], values) or "…",
        body=fill(content["text"], values) or "…",
        coupon=coupon_box,
        footer={"type": "box", "layout": "vertical", "contents": [button]} if button else None,
    )


def _wording(t: Translator, campaign: dict, counts: dict) -> dict:
    """The title and text to fill: a journey's default wording is in our catalogues, in
    the member's language, with the plural form its count asks for."""
    content = campaign["content"]
    if not campaign.get("translate"):
        return content
    catalogue = t._  # (not `_` itself: the wording is marked where it is defined)
    title, text = content["title"], content["text"]
    if isinstance(text, list | tuple):  # (singular, plural), by the journey's count
        text = t.n_(text[0], text[1], counts.get(campaign.get("count", ""), 0))
    else:
        text = catalogue(text)
    return {**content, "title": catalogue(title), "text": text}
