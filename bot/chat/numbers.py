"""Numbers typed by owners and staff: each has a range, and a refusal that names it.

MongoDB stores integers in at most 8 bytes, so an unchecked "9" × 25 typed into a
command fails deep inside pymongo instead of getting an answer. Every number an
owner or staff member types goes through one of these parsers with its own range.

Digits are any decimal digits, so Thai (๕) and full-width (５) ones read as 5;
look-alikes that are not decimal digits (², ½) are refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from bot.i18n import N_, Translator

_WHOLE = re.compile(r"^\d+$", re.ASCII)
_MONEY = re.compile(r"^(?:฿|NT\$|\$)?(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d{1,2}))?$", re.ASCII)
_DECIMAL = re.compile(r"^\d+(?:\.\d{1,2})?$", re.ASCII)
MAX_DIGITS = 15  # far beyond any range below, and far inside int64
SHOWN = 20  # how much of what was typed a refusal repeats

WHOLE, MONEY, DECIMAL = "whole", "money", "decimal"


@dataclass(eq=False)
class NumberError(ValueError):
    """`text` is not a `kind` number within `low`–`high` (`what` names the number)."""

    text: str
    low: int | float
    high: int | float
    kind: str = WHOLE
    what: str = ""

    def __str__(self) -> str:
        return f"{self.what}: {self.text!r} not in {self.low}..{self.high}"


def ascii_digits(text: str) -> str:
    """Decimal digits of any script as 0-9; everything else unchanged."""
    return "".join(str(int(c)) if c.isdecimal() else c for c in text.strip())


def parse_int(text: str, low: int, high: int, what: str = "") -> int:
    """A whole number within low–high (inclusive)."""
    digits = ascii_digits(text)
    if not _WHOLE.match(digits) or len(digits) > MAX_DIGITS or not low <= int(digits) <= high:
        raise NumberError(text, low, high, WHOLE, what)
    return int(digits)


def parse_money(text: str, low: int, high: int, what: str = "") -> int:
    """`150`, `1,250.50`, `฿99` → minor units within low–high (also minor units)."""
    match = _MONEY.match(ascii_digits(text))
    whole = match[1].replace(",", "") if match else ""
    if not match or len(whole) > MAX_DIGITS:
        raise NumberError(text, low, high, MONEY, what)
    value = int(whole) * 100 + int((match[2] or "0").ljust(2, "0"))
    if not low <= value <= high:
        raise NumberError(text, low, high, MONEY, what)
    return value


def parse_decimal(text: str, low: float, high: float, what: str = "") -> float:
    """A number with up to two decimals (a multiplier like 1.5) within low–high."""
    digits = ascii_digits(text)
    if not _DECIMAL.match(digits) or len(digits) > MAX_DIGITS:
        raise NumberError(text, low, high, DECIMAL, what)
    value = Decimal(digits)
    if not Decimal(str(low)) <= value <= Decimal(str(high)):
        raise NumberError(text, low, high, DECIMAL, what)
    return float(value)


def refusal(t: Translator, error: NumberError) -> str:
    """“…” is not a whole number from 0 to 1,000,000 — in the reader's language."""
    typed = error.text if len(error.text) <= SHOWN else error.text[: SHOWN - 1] + "…"
    if error.kind == MONEY:
        low, high = t.money(error.low), t.money(error.high)
        message = N_("%(what)s: “%(text)s” is not an amount from %(low)s to %(high)s.")
    else:
        low, high = t.number(error.low), t.number(error.high)
        message = (
            N_("%(what)s: “%(text)s” is not a whole number from %(low)s to %(high)s.")
            if error.kind == WHOLE
            else N_("%(what)s: “%(text)s” is not a number from %(low)s to %(high)s.")
        )
    return t._(message, what=t._(error.what) if error.what else "", text=typed, low=low, high=high)
