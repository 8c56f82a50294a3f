"""Campaigns: the one-line spec, schedules, holdout, personalisation and quiet hours.

A run is worked by `jobs/campaign_jobs.py`: `bot/marketing/audience.py` writes down who gets
the message, `bot/marketing/sending.py` sends it, `bot/marketing/campaign_message.py` renders it.
"""

from __future__ import annotations

import hashlib
import logging
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.i18n import N_
from bot.loyalty.member_codes import new_code
from bot.loyalty.rules import parse_days
from bot.marketing.segments import Clock, compile_filters
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
# What an owner may type, and the refusal that says so.
HOLDOUT_PERCENT = (0, 50)
WINDOW_DAYS = (1, 90)
COUPON_PERCENT = (1, 100)
COUPON_BAHT = (1, 100_000)
COUPON_DAYS = (1, 365)
COUPON_ITEM_CHARS = 60
SCHEDULE_AHEAD_DAYS = 365
CAP_MESSAGES = (1, 50)  # `/campaign cap <messages> <days>`
CAP_DAYS = (1, 90)
# `{name}`: a documented name is filled in; anything else between braces stays as typed.
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_CLOCK = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")

HINTS = {
    "holdout": N_("The holdout is 0 to 50 (percent of the audience)."),
    "window": N_("The attribution window is a whole number of days from 1 to 90."),
    "coupon": N_(
        "A coupon is “percent <1-100> [days]”, “amount <baht 1-100000> [days]”, "
        "“free <item>” or “bogo <item>”; days valid 1 to 365 (14 if left out)."
    ),
    "at": N_(
        "“at” is “now” or a local date and time from now to a year ahead, like 2026-12-01 10:00."
    ),
    "weekly": N_("“weekly” is days and a time, like “mon,thu 10:00” or “mon-fri 09:30”."),
    "placeholder": N_(
        "Placeholders you can use: {first_name} {points} {tier} {coupon_code} {expires}."
    ),
    "pipe": N_("“|” separates the parts of a campaign, so it cannot be used inside one."),
    "needs_coupon": N_("{coupon_code} and {expires} need a coupon (“| coupon: percent 20 14”)."),
}


class SpecError(ValueError):
    """`part` names what could not be understood in a campaign spec; `hint` (a key of
    HINTS, or None) says what is allowed there."""

    def __init__(self, part: str, hint: str | None = None):
        super().__init__(part)
        self.part = part
        self.hint = hint


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
    title, body = fields.get("title", parts[0])[:80], fields["text"][:1000]
    coupon = _coupon(fields.get("coupon"))
    check_placeholders(f"{title} {body}", PLACEHOLDERS, has_coupon=coupon is not None)
    schedule = _schedule(fields, now, tz)
    return {
        "name": parts[0][:60],
        "audience": audience,
        "filters": filters,
        "template": template,
        "content": {
            "title": title,
            "text": body,
            "image": fields.get("image"),
            "button": fields.get("button", "")[:20] or None,
            "link": fields.get("link"),
        },
        "coupon": coupon,
        "holdout": _holdout(fields.get("holdout")),
        "schedule": schedule,
        "window_days": _window(fields.get("window")),
        "next_run_at": next_run(schedule, now, tz),
    }


def clock(text: str) -> str | None:
    """`9:30` or `21:00` as zero-padded `HH:MM` (so times compare as text), else None."""
    match = _CLOCK.match(text.strip())
    return f"{int(match[1]):02d}:{match[2]}" if match else None


def whole(text: str, low: int, high: int) -> int | None:
    """A whole number typed in digits within [low, high], else None (25 digits too)."""
    text = text.strip()
    if not text.isdecimal() or len(text) > 9:
        return None
    value = int(text)
    return value if low <= value <= high else None


def _holdout(value: str | None) -> float:
    if value is None:
        return DEFAULT_HOLDOUT
    try:
        share = float(value.strip().rstrip("%"))
    except ValueError:
        raise SpecError(value, "holdout") from None
    low, high = HOLDOUT_PERCENT
    if not low <= share <= high:  # also refuses nan and inf
        raise SpecError(value, "holdout")
    return share / 100


def _window(value: str | None) -> int:
    if value is None:
        return DEFAULT_WINDOW_DAYS
    days = whole(value, *WINDOW_DAYS)
    if days is None:
        raise SpecError(value, "window")
    return days


def _coupon(value: str | None) -> dict | None:
    """`percent 20 14` (kind, value, valid days), `amount 50`, `free Thai tea`."""
    if value is None:
        return None
    words = value.split()
    kind = words[0].lower()
    ranges = {"percent": COUPON_PERCENT, "amount": COUPON_BAHT}
    if kind in ranges and 2 <= len(words) <= 3:
        amount = whole(words[1], *ranges[kind])
        days = whole(words[2], *COUPON_DAYS) if len(words) == 3 else 14
        if amount is None or days is None:
            raise SpecError(value, "coupon")
        scale = 100 if kind == "amount" else 1  # baht are stored as satang
        return {"kind": kind, "value": amount * scale, "item": None, "days": days}
    item = " ".join(words[1:])
    if kind in ("free", "bogo") and 0 < len(item) <= COUPON_ITEM_CHARS:
        return {"kind": kind, "value": 0, "item": item, "days": 14}
    raise SpecError(value, "coupon")


def _schedule(fields: dict, now: datetime, tz: ZoneInfo) -> dict:
    if "weekly" in fields:
        days, _, at = fields["weekly"].strip().partition(" ")
        try:
            weekdays = list(parse_days(days.lower()))
        except ValueError:
            weekdays = []
        if clock(at) is None or not weekdays:
            raise SpecError(fields["weekly"], "weekly")
        return {"type": "weekly", "days": weekdays, "time": clock(at)}
    when = fields.get("at", "now")
    if when.lower() == "now":
        return {"type": "once", "at": now}
    try:
        local = datetime.fromisoformat(when.replace(" ", "T"))
    except ValueError:
        raise SpecError(when, "at") from None
    moment = local.replace(tzinfo=tz).astimezone(UTC)
    this_minute = now.replace(second=0, microsecond=0)
    if not this_minute <= moment <= now + timedelta(days=SCHEDULE_AHEAD_DAYS):
        raise SpecError(when, "at")
    return {"type": "once", "at": moment}


# -- placeholders -----------------------------------------------------------------------


def fill(text: str, values: dict) -> str:
    """`{name}` replaced by `values[name]`; any other `{…}` is left exactly as typed.

    (Not `str.format`: that would let `{0}`, `{x:>40000}` or `{x.__class__}` crash a
    run or print Python's internals into a customer's chat.)
    """
    return _PLACEHOLDER.sub(lambda m: str(values[m[1]]) if m[1] in values else m[0], text)


def check_placeholders(text: str, names: tuple[str, ...], has_coupon: bool) -> None:
    """Refuse a `{…}` that is not one of `names`, and coupon values without a coupon."""
    for match in _PLACEHOLDER.finditer(text):
        if match[1] not in names:
            raise SpecError(match[0], "placeholder")
        if match[1] in ("coupon_code", "expires") and not has_coupon:
            raise SpecError(match[0], "needs_coupon")


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


def starts_at(
    due: datetime, now: datetime, tz: ZoneInfo, quiet: tuple[str, str] = DEFAULT_QUIET
) -> tuple[datetime, bool]:
    """When a run due at `due` will really start, and whether quiet hours hold it back."""
    moment = max(due, now)
    resume = quiet_now(moment, tz, quiet)
    return (moment, False) if resume is None else (resume, True)


def new_campaign_id() -> str:
    return "K" + new_code(5)
