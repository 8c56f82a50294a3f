"""Segment filters (DESIGN §4) compiled to indexed MongoDB queries over members.

`branch:asoke,ratchada visited:90d hour:14-16 dow:mon-fri avg:<150 birth_month:5
rfm:at_risk once lapsed:60d tier:gold gender:f age:20-35 lang:th new:30d optin`

Words are joined by AND; `-word` negates one. Money is in the merchant currency
(`avg:<150` is ฿150). Every query also requires an active, reachable member,
so erased, blocked and unreachable members never appear; campaigns add
`optin`. The definitions behind each key are in the README.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from bot.chat.numbers import NumberError, parse_int, parse_money
from bot.loyalty.rules import parse_days
from bot.marketing.rfm import GROUPS

BASE = {"status": "member", "reachable": True}
GENDERS = {
    "f": "female",
    "female": "female",
    "m": "male",
    "male": "male",
    "o": "other",
    "other": "other",
    "u": "unspecified",
    "unspecified": "unspecified",
}
LANGS = {"th": "th", "en": "en", "zh": "zh_Hant", "zh_hant": "zh_Hant"}
FLAGS = ("once", "overdue", "optin")
KEYS = (
    "branch",
    "visited",
    "hour",
    "dow",
    "avg",
    "spend",
    "visits",
    "birth_month",
    "birthday",
    "rfm",
    "lapsed",
    "new",
    "tier",
    "gender",
    "age",
    "lang",
    "tag",
)
_COMPARE = re.compile(r"^(<=|>=|<|>)?(.+)$")
_RANGE = re.compile(r"^([^<>=-]+)-([^<>=-]+)$")
# The range of every number in a filter (README, "Segments").
MAX_DAYS = 9_999
MAX_MONEY = 10_000_000_000  # ฿100,000,000 (minor units)
MAX_VISITS = 1_000_000
MAX_AGE = 150


class SegmentError(ValueError):
    """`word` is the filter word that could not be understood.

    `problem` says which number in it was out of range or not a number.
    """

    def __init__(self, word: str, problem: NumberError | None = None):
        super().__init__(word)
        self.word = word
        self.problem = problem


@dataclass(frozen=True)
class Clock:
    """When the segment is evaluated, in UTC and in the merchant's local date."""

    now: datetime
    today: date


def compile_filters(
    text: str, clock: Clock, campaign: bool = False, base: dict | None = None
) -> dict:
    """The MongoDB query for a filter text; raises SegmentError naming a bad word.

    `base` replaces the active-and-reachable condition (a campaign snapshot takes
    blocked and opted-out members too, to count them as skipped).
    """
    clauses = [dict(BASE if base is None else base)]
    for word in text.split():
        negated = word.startswith("-") and len(word) > 1
        clause = _clause(word[1:] if negated else word, clock)
        clauses.append({"$nor": [clause]} if negated else clause)
    if campaign:
        clauses.append({"marketing_opt_in": True})
    return {"$and": clauses}


def _clause(word: str, clock: Clock) -> dict:
    lowered = word.lower()
    if lowered in FLAGS:
        return {
            "once": {"stats.visits": 1},
            "overdue": {"stats.overdue_at": {"$lt": clock.now}},
            "optin": {"marketing_opt_in": True},
        }[lowered]
    key, sep, value = word.partition(":")
    key = key.lower()
    if not sep or key not in KEYS or not value:
        raise SegmentError(word)
    try:
        return _KEY_COMPILERS[key](value, clock)
    except NumberError as bad:
        bad.what = key
        raise SegmentError(word, bad) from None
    except (ValueError, KeyError, IndexError):
        raise SegmentError(word) from None


def _days(value: str) -> int:
    """`90d` or `90`: days back from now."""
    return parse_int(value.removesuffix("d").removesuffix("D"), 1, MAX_DAYS)


def _money(value: str) -> int:
    return parse_money(value, 0, MAX_MONEY)


def _visits(value: str) -> int:
    return parse_int(value, 0, MAX_VISITS)


def _number_filter(field: str, value: str, parse) -> dict:
    """`<150`, `>=3`, `100-200`, `150` → a range on `field` (money in minor units)."""
    if match := _RANGE.match(value):
        low, high = (parse(v) for v in match.groups())
        if low > high:
            raise ValueError(value)
        return {field: {"$gte": low, "$lte": high}}
    match = _COMPARE.match(value)
    if not match:
        raise ValueError(value)
    operator = {"<": "$lt", ">": "$gt", "<=": "$lte", ">=": "$gte", None: "$eq"}[match[1]]
    return {field: {operator: parse(match[2])}}


def _hours(value: str, clock: Clock) -> dict:
    start, end = (parse_int(v, 0, 24) for v in value.split("-", 1))
    if start >= end:
        raise ValueError(value)
    return {"stats.top_hour": {"$gte": start, "$lt": end}}


def _age(value: str, clock: Clock) -> dict:
    ages = [parse_int(v, 0, MAX_AGE) for v in value.split("-", 1)]
    youngest, oldest = ages[0], ages[-1]  # `30` alone is 30-30
    if youngest > oldest:
        raise ValueError(value)
    today = clock.today
    born_after = _years_before(today, oldest + 1)  # exclusive: turned oldest+1 already
    born_by = _years_before(today, youngest)
    return {"profile.birthday": {"$gt": born_after.isoformat(), "$lte": born_by.isoformat()}}


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def _birthday(value: str, clock: Clock) -> dict:
    if value.lower() not in ("this_month", "next_month"):
        raise ValueError(value)
    month = clock.today.month + (1 if value.lower() == "next_month" else 0)
    return {"profile.birth_month": (month - 1) % 12 + 1}


def _tier(value: str, clock: Clock) -> dict:
    tiers = [t.lower() for t in value.split(",")]
    if "member" in tiers:
        tiers.append(None)  # members who never changed tier have none stored
    return {"tier": {"$in": tiers}}


def _rfm(value: str, clock: Clock) -> dict:
    groups = [g.lower() for g in value.split(",")]
    if any(g not in GROUPS for g in groups):
        raise ValueError(value)
    return {"rfm.group": {"$in": groups}}


_KEY_COMPILERS = {
    "branch": lambda v, c: {"stats.branch_list": {"$in": [b.lower() for b in v.split(",")]}},
    "visited": lambda v, c: {"stats.last_visit": {"$gte": c.now - timedelta(days=_days(v))}},
    "lapsed": lambda v, c: {"stats.last_visit": {"$lt": c.now - timedelta(days=_days(v))}},
    "new": lambda v, c: {"joined_at": {"$gte": c.now - timedelta(days=_days(v))}},
    "hour": _hours,
    "dow": lambda v, c: {"stats.top_weekday": {"$in": list(parse_days(v.lower()))}},
    "avg": lambda v, c: _number_filter("stats.avg", v, _money),
    "spend": lambda v, c: _number_filter("stats.spend", v, _money),
    "visits": lambda v, c: _number_filter("stats.visits", v, _visits),
    "birth_month": lambda v, c: {"profile.birth_month": {"$in": _months(v)}},
    "birthday": _birthday,
    "rfm": _rfm,
    "tier": _tier,
    "gender": lambda v, c: {"profile.gender": {"$in": [GENDERS[g.lower()] for g in v.split(",")]}},
    "age": _age,
    "lang": lambda v, c: {"locale": {"$in": [LANGS[x.lower()] for x in v.split(",")]}},
    "tag": lambda v, c: {"tags": {"$in": [t.lower() for t in v.split(",")]}},
}


def _months(value: str) -> list[int]:
    return [parse_int(m, 1, 12) for m in value.split(",")]


def describe_keys() -> str:
    """The one-line usage naming every key, for error replies."""
    return " ".join([*(f"{k}:" for k in KEYS), *FLAGS, "-<word>"])
