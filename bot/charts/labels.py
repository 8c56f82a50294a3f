"""Words and number formats charts and the dashboard share, in the reader's language."""

from __future__ import annotations

from datetime import date

from babel import dates, numbers

from bot.analytics import messages
from bot.i18n import CURRENCY_SYMBOLS, N_, Translator

# The chat reports' words, so chat, charts and pages name things alike.
FUNNEL_STAGES = messages.FUNNEL_LABELS
RFM_GROUPS = messages.RFM_LABELS
TREATMENT = N_("Messaged")
HOLDOUT = N_("Held out")


def stage(t: Translator, name: str) -> str:
    return t._(FUNNEL_STAGES.get(name, name))


def rfm_group(t: Translator, name: str) -> str:
    return t._(RFM_GROUPS.get(name, name))


def percent(t: Translator, share: float | None) -> str:
    return messages.percent(t, share)


def money_short(t: Translator, minor_units: float, currency: str = "THB") -> str:
    """Money for axes and tight cells: ฿12K, ฿950 (compact, no decimals)."""
    digits = numbers.get_currency_precision(currency)
    major = minor_units / 10**digits
    symbol = CURRENCY_SYMBOLS.get(currency) or numbers.get_currency_symbol(currency, "en")
    sign = "-" if major < 0 else ""
    if abs(major) < 1_000:
        text = numbers.format_decimal(round(abs(major)), locale=t.babel_locale)
    else:
        text = numbers.format_compact_decimal(abs(major), fraction_digits=1, locale=t.babel_locale)
    return f"{sign}{symbol}{text}"


def short_day(t: Translator, day: date) -> str:
    """A date on an axis: 3 Nov, 11月3日, 3 พ.ย."""
    return dates.format_skeleton("MMMd", day, locale=t.babel_locale)


def month(t: Translator, yyyy_mm: str) -> str:
    """A cohort's month: Nov 2026, พ.ย. 2569, 2026年11月."""
    year, number = (int(part) for part in yyyy_mm.split("-"))
    first = date(year, number, 1)
    text = dates.format_skeleton("yMMM", first, locale=t.babel_locale)
    # Thai readers expect the Buddhist-era year (as bot.i18n does for dates).
    return text.replace(str(year), str(year + 543)) if t.locale == "th" else text


def weekdays(t: Translator) -> list[str]:
    """Monday first, abbreviated in the reader's language."""
    names = dates.get_day_names("abbreviated", locale=t.babel_locale)
    return [names[i] for i in range(7)]


def money_whole(t: Translator, minor_units: float | None, currency: str = "THB") -> str:
    """Money rounded to whole units for headline figures: ฿12,346."""
    if minor_units is None:
        return "—"
    digits = numbers.get_currency_precision(currency)
    major = round(minor_units / 10**digits)
    symbol = CURRENCY_SYMBOLS.get(currency) or numbers.get_currency_symbol(currency, "en")
    text = numbers.format_decimal(abs(major), locale=t.babel_locale)
    return f"{'-' if major < 0 else ''}{symbol}{text}"
