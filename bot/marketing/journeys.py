"""Journeys: what each automatic message says, when it goes, and what a merchant may set.

Sending them is `jobs/journey_jobs.py`; the `/journey` command is `handlers/journeys.py`.
"""

from __future__ import annotations

from bot.i18n import N_


def n_(singular: str, plural: str) -> tuple[str, str]:
    """Mark a wording with a plural form for extraction; `count` names the number that
    picks the form when it is sent (`bot/marketing/campaign_message.py`)."""
    return singular, plural


DEFAULTS = {
    "birthday": {
        "on": True,
        "when": "day",
        "template": "birthday",
        "title": N_("Happy birthday, {first_name}!"),
        "text": N_("A treat from us for your birthday: show code {coupon_code} by {expires}."),
        "coupon": {"kind": "free", "value": 0, "item": "birthday drink", "days": 30},
    },
    "after_purchase": {
        "on": True,
        "days": 30,
        "after": "latest",
        "template": "promotion",
        "title": N_("Something new to try"),
        "text": n_(
            "Hi {first_name}, thanks for your visit last month! You have {points} point.",
            "Hi {first_name}, thanks for your visit last month! You have {points} points.",
        ),
        "count": "points",
        "coupon": None,
    },
    "winback": {
        "on": True,
        "lapsed": 0,
        "every": 60,
        "template": "winback",
        "title": N_("We miss you, {first_name}"),
        "text": N_(
            "It has been a while! Here is {coupon_code} for your next visit, until {expires}."
        ),
        "coupon": {"kind": "percent", "value": 15, "item": None, "days": 14},
    },
    "points_expiring": {
        "on": True,
        "template": "news",
        "title": N_("Your points are expiring"),
        "text": n_(
            "{expiring_points} point expires on {expiry_date}. Use it before then!",
            "{expiring_points} points expire on {expiry_date}. Use them before then!",
        ),
        "count": "expiring_points",
        "coupon": None,
        "service": True,
    },
    "tier_change": {
        "on": True,
        "template": "news",
        "title": N_("You are now {tier}"),
        "text": N_("Your membership tier is now {tier}: you earn {tier_factor}× points."),
        "coupon": None,
        "service": True,
    },
}
# What `/journey set <name> <key> <value>` may change: key → allowed words, or (low, high).
OPTIONS = {
    "birthday": {"when": ("day", "month")},
    "after_purchase": {"days": (1, 365), "after": ("latest", "first")},
    "winback": {"lapsed": (0, 365), "every": (7, 365)},
    "points_expiring": {},
    "tier_change": {},
}


def settings(store, name: str) -> dict:
    saved = (store.get_setting("journeys") or {}).get(name, {})
    return {**DEFAULTS[name], **saved}


def parse_option(name: str, key: str, value: str) -> dict | None:
    """A valid `/journey set` change as {key: value}, else None."""
    allowed = OPTIONS[name].get(key.lower())
    value = value.lower()
    if allowed is None:
        return None
    if isinstance(allowed[0], str):
        return {key.lower(): value} if value in allowed else None
    low, high = allowed
    if value.isdecimal() and len(value) <= 9 and low <= int(value) <= high:
        return {key.lower(): int(value)}
    return None


def allowed_values(t, name: str, key: str) -> str | None:
    """What `/journey set <name> <key>` accepts, said plainly; None for an unknown key."""
    allowed = OPTIONS[name].get(key.lower())
    if allowed is None:
        return None
    if isinstance(allowed[0], str):
        return t._(
            "%(name)s %(setting)s is one of: %(values)s.",
            name=name,
            setting=key.lower(),
            values=", ".join(allowed),
        )
    return t._(
        "%(name)s %(setting)s is a whole number from %(low)s to %(high)s.",
        name=name,
        setting=key.lower(),
        low=t.number(allowed[0]),
        high=t.number(allowed[1]),
    )


def describe(t, name: str, config: dict) -> str:
    """One line of `/journey list`."""
    state = t._("on") if config["on"] else t._("off")
    if name == "birthday":
        detail = t._("on the day") if config["when"] == "day" else t._("on the 1st of the month")
    elif name == "after_purchase":
        after = t._("first visit") if config["after"] == "first" else t._("latest visit")
        detail = t.n_(
            "%(count)s day after the %(visit)s",
            "%(count)s days after the %(visit)s",
            config["days"],
            visit=after,
        )
    elif name == "winback":
        detail = t._("overdue members")
        if config["lapsed"]:
            detail = t.n_(
                "overdue or away %(count)s day", "overdue or away %(count)s days", config["lapsed"]
            )
        detail += " · " + t.n_(
            "at most every %(count)s day", "at most every %(count)s days", config["every"]
        )
    elif name == "points_expiring":
        detail = t._("14 days ahead, once per lot")
    else:
        detail = t._("once per change")
    return f"• {name}: {state} ({detail})"
