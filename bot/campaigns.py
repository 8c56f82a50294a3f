"""Campaigns: the one-line spec, schedules, holdout, personalisation and quiet hours.

A run is worked by `jobs/campaign_jobs.py`: `bot/audience.py` writes down who gets
the message, `bot/sending.py` sends it, `bot/campaign_message.py` renders it.
"""

from __future__ import annotations

import hashlib
import logging
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.member_codes import new_code
from bot.rules import parse_days
from bot.segments import Clock, compile_filters
from bot.store import Store

log = logging.getLogger(__name__)

TEMPLATES = ("promotion", "coupon", "birthday", "winback", "news")
PLACEHOLDERS = ("first_name", "points", "tier", "coupon_code", "expires")
# Filled from a journey's own values for each member (points expiring, tier change).
JOURNEY_PLACEHOLDERS = ("expiring_points", "expiry_date", "tier_factor")
DEFAULT_HOLDOUT = 0.10
DEFAULT_WINDOW_DAYS = 7
DEFAULT_CAP = (2, 7)  # messages per member per days
DEFAULT_QUIET = ("21:00", "09:00")


class SpecError(ValueError):
    """`part` names what could not be understood in a campaign spec."""

    def __init__(self, part: str):
        super().__init__(part)
        self.part = part


# -- the spec -------------------------------------------------------------------------


def parse_spec(text: str, store: Store, now: datetime, tz: ZoneInfo) -> dict:
    """`<name> | audience: … | template: … | title: … | text: … | at: now …` → a campaign."""
    parts = [p.strip() for p in text.split("|")]
    if not parts or not parts[0]:
        raise SpecError("name")
    fields = {}
    for part in parts[1:]:
        key, sep, value = part.partition(":")
        if not sep or not value.strip():
            raise SpecError(part)
        fields[key.strip().lower()] = value.strip()
    unknown = set(fields) - {
        "audience",
        "template",
        "title",
        "text",
        "image",
        "button",
        "link",
        "coupon",
        "holdout",
        "at",
        "weekly",
        "window",
    }
    if unknown:
        raise SpecError(sorted(unknown)[0])
    template = fields.get("template", "promotion").lower()
    if template not in TEMPLATES or "text" not in fields or "audience" not in fields:
        raise SpecError("template" if template not in TEMPLATES else "text/audience")
    audience = fields["audience"]
    saved = store.segment(audience.lower())
    filters = saved["filters"] if saved else audience
    if audience.lower() in ("all", "everyone"):
        filters = ""
    compile_filters(filters, Clock(now=now, today=now.astimezone(tz).date()))  # validates
    for key in ("image", "link"):
        if key in fields and not fields[key].startswith("https://"):
            raise SpecError(key)
    schedule = _schedule(fields, now, tz)
    return {
        "name": parts[0][:60],
        "audience": audience,
        "filters": filters,
        "template": template,
        "content": {
            "title": fields.get("title", parts[0])[:80],
            "text": fields["text"][:1000],
            "image": fields.get("image"),
            "button": fields.get("button", "")[:20] or None,
            "link": fields.get("link"),
        },
        "coupon": _coupon(fields.get("coupon")),
        "holdout": _holdout(fields.get("holdout")),
        "schedule": schedule,
        "window_days": int(fields.get("window", DEFAULT_WINDOW_DAYS)),
        "next_run_at": next_run(schedule, now, tz),
    }


def _holdout(value: str | None) -> float:
    if value is None:
        return DEFAULT_HOLDOUT
    share = float(value.rstrip("%")) / 100
    if not 0 <= share <= 0.5:
        raise SpecError("holdout")
    return share


def _coupon(value: str | None) -> dict | None:
    """`percent 20 14` (kind, value, valid days), `amount 50`, `free Thai tea`."""
    if value is None:
        return None
    words = value.split()
    kind = words[0].lower()
    if kind == "percent" and len(words) >= 2 and words[1].isdigit():
        coupon = {"kind": kind, "value": int(words[1]), "item": None, "days": words[2:3]}
    elif kind == "amount" and len(words) >= 2 and words[1].isdigit():
        coupon = {"kind": kind, "value": int(words[1]) * 100, "item": None, "days": words[2:3]}
    elif kind in ("free", "bogo") and len(words) >= 2:
        coupon = {"kind": kind, "value": 0, "item": " ".join(words[1:]), "days": []}
    else:
        raise SpecError("coupon")
    coupon["days"] = int(coupon["days"][0]) if coupon["days"] else 14
    return coupon


def _schedule(fields: dict, now: datetime, tz: ZoneInfo) -> dict:
    if "weekly" in fields:
        days, _, at = fields["weekly"].partition(" ")
        if not re.match(r"^\d{1,2}:\d{2}$", at.strip()):
            raise SpecError("weekly")
        return {"type": "weekly", "days": list(parse_days(days.lower())), "time": at.strip()}
    when = fields.get("at", "now")
    if when.lower() == "now":
        return {"type": "once", "at": now}
    try:
        local = datetime.fromisoformat(when.replace(" ", "T"))
    except ValueError:
        raise SpecError("at") from None
    return {"type": "once", "at": local.replace(tzinfo=tz).astimezone(UTC)}


def next_run(schedule: dict, after: datetime, tz: ZoneInfo) -> datetime | None:
    """When the schedule next fires, at or after `after` (weekly: strictly after)."""
    if schedule["type"] == "once":
        return schedule["at"]
    hour, minute = (int(x) for x in schedule["time"].split(":"))
    local = after.astimezone(tz)
    for offset in range(8):
        day = local.date() + timedelta(days=offset)
        moment = datetime(day.year, day.month, day.day, hour, minute, tzinfo=tz)
        if day.weekday() in schedule["days"] and moment > local:
            return moment.astimezone(UTC)
    return None


# -- who gets what ------------------------------------------------------------------------


def in_holdout(campaign_id: str, member_id: str, share: float) -> bool:
    """Deterministic: the same member is always in or out of the same campaign's holdout."""
    digest = hashlib.sha256(f"{campaign_id}:{member_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < share


def personalised(campaign: dict) -> bool:
    content = campaign["content"]
    text = " ".join(str(v) for v in content.values() if v)
    return bool(campaign.get("coupon") or content.get("link")) or any(
        "{" + p + "}" in text for p in PLACEHOLDERS + JOURNEY_PLACEHOLDERS
    )


def quiet_now(
    now: datetime, tz: ZoneInfo, quiet: tuple[str, str] = DEFAULT_QUIET
) -> datetime | None:
    """When sending may resume if `now` is in quiet hours, else None."""
    local = now.astimezone(tz)
    clock = local.strftime("%H:%M")
    start, end = quiet
    inside = clock >= start or clock < end if start > end else start <= clock < end
    if not inside:
        return None
    hour, minute = (int(x) for x in end.split(":"))
    resume = local.replace(hour=hour, minute=minute, second=0, microsecond=0)
    if resume <= local:
        resume += timedelta(days=1)
    return resume.astimezone(UTC)


def new_campaign_id() -> str:
    return "K" + new_code(5)
