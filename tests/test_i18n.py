"""Three languages: complete catalogues and Babel formatting."""

import re
from datetime import date
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po

from bot.i18n import LOCALE_DIR, LOCALES, normalise_locale, translator

ROOT = Path(__file__).resolve().parent.parent
KEYWORDS = {**DEFAULT_KEYWORDS, "N_": None, "n_": (1, 2)}
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def source_messages() -> set[str]:
    found = set()
    for folder in ("bot", "handlers", "jobs"):
        for _file, _line, message, _comments, _context in extract_from_dir(
            ROOT / folder,
            [("**.py", "python"), ("**/templates/**.html", "jinja2")],
            keywords=KEYWORDS,
        ):
            found.add(message if isinstance(message, str) else message[0])
    return found


def test_the_code_has_user_facing_strings_to_check():
    found = source_messages()
    assert "Here is what you can type:" in found
    assert "What we collect" in found  # from the privacy notice template


@pytest.mark.parametrize("locale", LOCALES)
def test_every_message_is_translated(locale):
    with (LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        catalog = read_po(handle, locale=locale)

    missing = [m for m in source_messages() if not (catalog.get(m) and catalog.get(m).string)]
    assert missing == [], f"{locale} lacks translations; run `make i18n` and translate"
    for message in source_messages():
        translated = catalog.get(message).string
        translated = translated if isinstance(translated, str) else translated[0]
        assert set(PLACEHOLDER.findall(translated)) == set(PLACEHOLDER.findall(message))


def test_replies_change_language():
    assert translator("th")._("Here is what you can type:") == "พิมพ์คำเหล่านี้ได้เลย:"
    assert translator("zh_Hant")._("Here is what you can type:") == "你可以輸入："
    assert translator("en")._("Here is what you can type:") == "Here is what you can type:"


def test_money_keeps_the_merchants_currency_symbol():
    assert translator("th").money(123450) == "฿1,234.50"
    assert translator("en").money(123450) == "฿1,234.50"
    assert translator("zh_Hant").money(123450, "TWD") == "NT$1,234.50"
    assert translator("en").money(-500) == "-฿5.00"


def test_thai_dates_use_the_buddhist_era():
    assert translator("th").date(date(2026, 11, 23)) == "23 พ.ย. 2569"
    assert translator("en").date(date(2026, 11, 23)) == "Nov 23, 2026"
    assert translator("zh_Hant").date(date(2026, 11, 23)) == "2026年11月23日"


def test_numbers_are_grouped():
    assert translator("th").number(1234567) == "1,234,567"


@pytest.mark.parametrize(
    ("tag", "expected"),
    [("th", "th"), ("en-US", "en"), ("zh-TW", "zh_Hant"), ("zh-Hant", "zh_Hant"), ("ja", "th")],
)
def test_line_language_tags_map_to_our_locales(tag, expected):
    assert normalise_locale(tag, default="th") == expected
