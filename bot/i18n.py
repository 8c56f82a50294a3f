"""Babel catalogues and locale-aware formatting for th, en and zh_Hant.

Every user-facing string is written in English inside `_()` (or marked with
`N_()` where it is translated later) and looked up in `locale/<lang>/LC_MESSAGES/
messages.po`. The .po files are compiled in memory at start-up, so a deploy
never serves a stale .mo.
"""

from __future__ import annotations

import functools
from datetime import date, datetime
from decimal import Decimal
from io import BytesIO
from pathlib import Path

from babel import Locale, dates, numbers
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
LOCALES = ("th", "en", "zh_Hant")
DOMAIN = "messages"

# Money shows the merchant's currency with its home symbol in every language
# (a Thai shop's prices read ฿ to a Chinese reader too; Babel's zh_Hant_TW
# would print TWD as a bare "$").
CURRENCY_SYMBOLS = {"THB": "฿", "TWD": "NT$", "USD": "US$"}
# Babel's zh_Hant has no territory; money and dates read best as Taiwan's.
FORMAT_LOCALE = {"th": "th_TH", "en": "en_US", "zh_Hant": "zh_Hant_TW"}


def N_(message: str) -> str:  # noqa: N802 - gettext convention
    """Mark a string for extraction; it is translated where it is shown."""
    return message


def normalise_locale(value: str | None, default: str = "th") -> str:
    """Map LINE's language tags (th, en, zh-TW, zh-Hant…) to our three locales."""
    if not value:
        return default
    tag = value.replace("-", "_").lower()
    if tag.startswith("th"):
        return "th"
    if tag.startswith("en"):
        return "en"
    if tag.startswith("zh"):
        return "zh_Hant"
    return default


@functools.cache
def _catalogue(locale: str) -> NullTranslations:
    po_path = LOCALE_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po"
    if not po_path.exists():
        return NullTranslations()
    with po_path.open("rb") as handle:
        catalog = read_po(handle, locale=locale, domain=DOMAIN)
    buffer = BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(buffer, domain=DOMAIN)


class Translator:
    """Strings and formats for one locale; handlers get one on their context."""

    def __init__(self, locale: str):
        if locale not in LOCALES:
            raise ValueError(f"unsupported locale {locale!r}")
        self.locale = locale
        self.babel_locale = Locale.parse(FORMAT_LOCALE[locale])
        self._translations = _catalogue(locale)

    def _(self, message: str, **params) -> str:
        text = self._translations.gettext(message)
        return text % params if params else text

    def n_(self, singular: str, plural: str, count: int, **params) -> str:
        text = self._translations.ngettext(singular, plural, count)
        return text % {"count": self.number(count), **params}

    def number(self, value: int | float | Decimal) -> str:
        return numbers.format_decimal(value, locale=self.babel_locale)

    def money(self, minor_units: int, currency: str = "THB") -> str:
        """Integer minor units (satang, cents) as money: ฿1,234.50, NT$1,234.50."""
        digits = numbers.get_currency_precision(currency)
        amount = Decimal(minor_units).scaleb(-digits)
        symbol = CURRENCY_SYMBOLS.get(currency) or numbers.get_currency_symbol(currency, "en")
        pattern = "#,##0" + ("." + "0" * digits if digits else "")
        text = numbers.format_decimal(abs(amount), format=pattern, locale=self.babel_locale)
        return f"{'-' if amount < 0 else ''}{symbol}{text}"

    def date(self, value: date | datetime, fmt: str = "medium") -> str:
        # Thai readers expect the Buddhist-era year; Babel's Gregorian calendar
        # has no switch for it, so shift the year for display only.
        if self.locale == "th":
            return _buddhist_date(value, self.babel_locale, fmt)
        return dates.format_date(value, format=fmt, locale=self.babel_locale)

    def time(self, value: datetime, tz=None) -> str:
        return dates.format_time(value, format="short", tzinfo=tz, locale=self.babel_locale)

    def datetime(self, value: datetime, tz=None, fmt: str = "medium") -> str:
        return dates.format_datetime(value, format=fmt, tzinfo=tz, locale=self.babel_locale)


def _buddhist_date(value: date | datetime, locale: Locale, fmt: str) -> str:
    day = value.date() if isinstance(value, datetime) else value
    text = dates.format_date(day, format=fmt, locale=locale)
    # Long formats name the era too: the Christian "ค.ศ." becomes the Buddhist "พ.ศ.".
    return text.replace(str(day.year), str(day.year + 543), 1).replace("ค.ศ.", "พ.ศ.")


@functools.cache
def translator(locale: str) -> Translator:
    return Translator(locale)
