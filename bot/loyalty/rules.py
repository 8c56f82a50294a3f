"""Earn rules: how many points a purchase earns (pure, no database).

How multipliers combine (documented in the README):

    base   = floor(amount / rate amount) × rate points        (0 below the minimum spend)
    points = floor(base × tier factor × best promotion factor)

Promotions (branch or day/time windows) do not stack with one another: the
largest one that applies wins, so two overlapping offers never surprise the
merchant with ×4. The tier factor always applies on top.
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, field
from datetime import date, datetime

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
# A receipt number: letters and digits (and - / # . _ after the first), at least one digit,
# so a stray word after the amount ("350 baht") is not taken for one.
DEFAULT_RECEIPT_PATTERN = r"(?=[^0-9]*[0-9])[A-Za-z0-9][A-Za-z0-9\-/#._]*"
MAX_RECEIPT = 40
FLAG_FACTOR_RANGE = (2, 100)  # `/rule flag`, or 0 = never flag


@dataclass(frozen=True)
class Tier:
    name: str
    min_spend: int  # rolling 12-month spend, minor units
    factor: float


@dataclass(frozen=True)
class Promotion:
    """A multiplier limited to a branch and/or a weekly time window and/or dates."""

    id: str
    factor: float
    branch: str | None = None
    days: tuple[int, ...] = ()  # 0 = Monday; empty = every day
    start: str | None = None  # "14:00" local time, inclusive
    end: str | None = None  # "16:00" local time, exclusive
    valid_from: str | None = None  # ISO date, inclusive
    valid_until: str | None = None  # ISO date, inclusive

    def applies(self, branch: str | None, local: datetime) -> bool:
        if self.branch and self.branch != branch:
            return False
        if self.days and local.weekday() not in self.days:
            return False
        if self.start and self.end and not self.start <= local.strftime("%H:%M") < self.end:
            return False
        day = local.date().isoformat()
        if self.valid_from and day < self.valid_from:
            return False
        return not (self.valid_until and day > self.valid_until)


DEFAULT_TIERS = (
    Tier("member", 0, 1.0),
    Tier("silver", 500_000, 1.25),
    Tier("gold", 1_500_000, 1.5),
)


@dataclass(frozen=True)
class EarnRules:
    rate_points: int = 1
    rate_amount: int = 2_500  # minor units: 1 point per ฿25
    min_spend: int = 0
    expiry_months: int = 12  # 0 = points never expire
    max_amount: int = 10_000_000  # ฿100,000: a typo guard for /earn
    signup_bonus: int = 50
    # Flag an earn of this many times the shop's average purchase to the owners (0 = never).
    flag_factor: float = 10.0
    receipt_pattern: str = ""  # a regular expression; "" = DEFAULT_RECEIPT_PATTERN
    tiers: tuple[Tier, ...] = DEFAULT_TIERS
    promotions: tuple[Promotion, ...] = field(default_factory=tuple)

    @classmethod
    def from_dict(cls, data: dict | None) -> EarnRules:
        if not data:
            return cls()
        values = dict(data)
        values["tiers"] = tuple(Tier(**t) for t in data.get("tiers", [])) or DEFAULT_TIERS
        values["promotions"] = tuple(
            Promotion(**{**p, "days": tuple(p.get("days", ()))}) for p in data.get("promotions", [])
        )
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in values.items() if k in known})

    def to_dict(self) -> dict:
        data = asdict(self)
        data["tiers"] = [asdict(t) for t in self.tiers]
        data["promotions"] = [{**asdict(p), "days": list(p.days)} for p in self.promotions]
        return data

    def tier_for(self, spend: int) -> Tier:
        """The highest tier whose threshold the rolling spend reaches."""
        reached = [t for t in self.tiers if spend >= t.min_spend]
        return max(reached, key=lambda t: t.min_spend) if reached else self.tiers[0]

    def next_tier(self, spend: int) -> Tier | None:
        higher = [t for t in self.tiers if t.min_spend > spend]
        return min(higher, key=lambda t: t.min_spend) if higher else None

    def tier_named(self, name: str | None) -> Tier:
        return next((t for t in self.tiers if t.name == name), self.tiers[0])

    def is_receipt(self, word: str) -> bool:
        """Whether a word typed after the amount is shaped like a receipt number.

        Always ASCII and at most 40 characters, whatever the pattern: a receipt number
        travels in the counter's question buttons, whose data LINE caps at 300.
        """
        pattern = self.receipt_pattern or DEFAULT_RECEIPT_PATTERN
        return (
            word.isascii() and len(word) <= MAX_RECEIPT and re.fullmatch(pattern, word) is not None
        )


@dataclass(frozen=True)
class Earning:
    points: int
    base: int
    tier_factor: float
    promotion: Promotion | None


def points_for(
    rules: EarnRules, amount: int, branch: str | None, local: datetime, tier: Tier
) -> Earning:
    """Points for a purchase of `amount` minor units at `local` time and `branch`."""
    if amount < rules.min_spend:
        return Earning(0, 0, tier.factor, None)
    base = (amount // rules.rate_amount) * rules.rate_points
    applying = [p for p in rules.promotions if p.applies(branch, local)]
    best = max(applying, key=lambda p: p.factor) if applying else None
    factor = tier.factor * (best.factor if best else 1.0)
    # A tiny epsilon keeps 6 × 1.5 × 2 from landing on 17.999… and losing a point.
    return Earning(math.floor(base * factor + 1e-9), base, tier.factor, best)


def parse_days(text: str) -> tuple[int, ...]:
    """`mon-fri`, `sat,sun`, `tue` → weekday numbers (Monday = 0)."""
    days: list[int] = []
    for part in text.lower().split(","):
        if "-" in part:
            first, last = (WEEKDAYS.index(d) for d in part.split("-", 1))
            days += (
                list(range(first, last + 1))
                if first <= last
                else [*range(first, 7), *range(0, last + 1)]
            )
        else:
            days.append(WEEKDAYS.index(part))
    return tuple(sorted(set(days)))


def parse_window(text: str) -> tuple[str, str]:
    """`14:00-16:00` → ("14:00", "16:00"), zero-padded so they compare as text."""
    start, end = text.split("-", 1)
    padded = []
    for value in (start, end):
        match = _TIME.match(value)
        if not match:
            raise ValueError(value)
        padded.append(f"{int(match[1]):02d}:{match[2]}")
    if padded[0] >= padded[1]:
        raise ValueError(text)
    return padded[0], padded[1]


def describe_days(days: tuple[int, ...]) -> str:
    if not days:
        return ""
    if list(days) == list(range(days[0], days[-1] + 1)) and len(days) > 2:
        return f"{WEEKDAYS[days[0]].title()}–{WEEKDAYS[days[-1]].title()}"
    return ",".join(WEEKDAYS[d].title() for d in days)


def expiry_date(earned: date, months: int) -> date | None:
    """The day points earned on `earned` expire, `months` later (None: never)."""
    if months <= 0:
        return None
    month = earned.month - 1 + months
    year, month = earned.year + month // 12, month % 12 + 1
    for day in (earned.day, 30, 29, 28):
        try:
            return date(year, month, day)
        except ValueError:
            continue
    raise AssertionError("unreachable")
