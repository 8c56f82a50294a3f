"""A campaign's Flex message: the template filled for one member, or for everyone."""

from __future__ import annotations

import json
import re
import secrets
from datetime import datetime, timedelta

import flex_templates
from bot.config import Config
from bot.i18n import Translator
from bot.loyalty import qr
from bot.marketing.campaign_text import moment
from bot.marketing.campaigns import JOURNEY_PLACEHOLDERS, PLACEHOLDERS, fill
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
    text = _texts(t, config, campaign, member, delivery_id, coupon, own)
    base = config.PUBLIC_BASE_URL.rstrip("/")
    return _message(t, campaign, base, text, coupon is not None)


def _texts(
    t: Translator,
    config: Config,
    campaign: dict,
    member: dict | None,
    delivery_id: str | None,
    coupon: dict | None,
    own: dict | None,
) -> dict:
    """What differs from one member to the next: every string the message shows."""
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
    text = {}
    if coupon is not None:
        values.update(
            coupon_code=coupon["_id"],
            expires=moment(t, coupon["expires_at"], config.tz),
        )
        text["coupon_code"] = coupon["_id"]
        text["expires"] = values["expires"]
        text["coupon_token"] = qr.make_token(
            config.SECRET_KEY,
            coupon["_id"],
            prefix=qr.REDEMPTION_PREFIX,
            lifetime=int((coupon["expires_at"] - utcnow()).total_seconds()),
        )
    content = _wording(t, campaign, counts)
    if content.get("link") and content.get("button"):
        text["link_token"] = qr.make_token(
            config.SECRET_KEY,
            delivery_id or f"run:{campaign['run_id']}",
            prefix="SML1",
            lifetime=LINK_LIFETIME_SECONDS,
        )
        text["button"] = content["button"]
    title = fill(content["title"], values)
    text.update(alt_text=title[:400] or "…", title=title or "…")
    text["body"] = fill(content["text"], values) or "…"
    return text


def _message(t: Translator, campaign: dict, base: str, text: dict, with_coupon: bool) -> dict:
    """The Flex message showing `text` (a member's strings, or a template's slots)."""
    button = None
    if "link_token" in text:
        button = {
            "type": "button",
            "style": "primary",
            "color": "#0B6E4F",
            "action": {
                "type": "uri",
                "label": text["button"],
                "uri": f"{base}/r/{text['link_token']}",
            },
        }
    coupon_box = None
    if with_coupon:
        coupon_box = {
            "type": "box",
            "layout": "vertical",
            "spacing": "sm",
            "contents": [
                {"type": "image", "url": f"{base}/qr/{text['coupon_token']}.png", "size": "md"},
                {
                    "type": "text",
                    "text": text["coupon_code"],
                    "weight": "bold",
                    "align": "center",
                    "size": "lg",
                },
                {
                    "type": "text",
                    "text": t._("Valid until %(date)s", date=text["expires"]),
                    "size": "xs",
                    "color": "#777777",
                    "align": "center",
                },
            ],
        }
    return flex_templates.render(
        f"campaign_{campaign['template']}",
        alt_text=text["alt_text"],
        hero=flex_templates.hero_image(campaign["content"].get("image")),
        title=text["title"],
        body=text["body"],
        coupon=coupon_box,
        footer={"type": "box", "layout": "vertical", "contents": [button]} if button else None,
    )


class PushBodies:
    """A personalised campaign's push bodies, made without building a message per member.

    For each language its Flex message is rendered and checked once, with a slot
    (a marker no one types) in every string that differs between members, and kept
    as JSON cut at the slots. A member's body is that JSON with their strings put in
    the slots, JSON-escaped: the same message `render` makes for them, for the cost of
    computing a few strings. `fill` still decides which `{names}` are substituted.
    """

    def __init__(self, config: Config, campaign: dict):
        self.config, self.campaign = config, campaign
        self.base = config.PUBLIC_BASE_URL.rstrip("/")
        self._marker = f"SMKSLOT{secrets.token_hex(8)}"
        self._templates: dict[tuple, list[str]] = {}

    def body(
        self,
        line_id: str,
        member: dict,
        delivery_id: str,
        coupon: dict | None = None,
        own: dict | None = None,
    ) -> bytes:
        """The JSON body of the push to `line_id` (`{"to": …, "messages": [one message]}`)."""
        t = translator_for(member, self.config)
        text = _texts(t, self.config, self.campaign, member, delivery_id, coupon, own)
        key = (t.babel_locale, "link_token" in text, coupon is not None, text.get("button"))
        parts = self._templates.get(key)
        if parts is None:
            parts = self._templates[key] = self._template(t, text, coupon is not None)
        pieces = [parts[0]]
        for index in range(1, len(parts), 2):
            pieces.append(json.dumps(text[parts[index]], ensure_ascii=False)[1:-1])
            pieces.append(parts[index + 1])
        message = "".join(pieces)
        if len(message.encode()) > flex_templates.MAX_BUBBLE_BYTES:
            # Too big for LINE as filled: render it the slow way, which says why.
            message = json.dumps(
                render(self.config, self.campaign, member, delivery_id, coupon, own),
                ensure_ascii=False,
            )
        return f'{{"to":{json.dumps(line_id)},"messages":[{message}]}}'.encode()

    def _template(self, t: Translator, text: dict, with_coupon: bool) -> list[str]:
        """The message JSON cut at the slots: [literal, slot, literal, slot, …, literal]."""
        slots = {name: f"{self._marker}{name}Z" for name in text if name != "button"}
        if "button" in text:
            slots["button"] = text["button"]  # the same for everyone (part of the key)
        message = json.dumps(
            _message(t, self.campaign, self.base, slots, with_coupon),
            ensure_ascii=False,
            separators=(",", ":"),
        )
        return re.split(f"{self._marker}([a-z_]+)Z", message)


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
