"""Validation of profile answers, shared by signup and `edit` (pure functions).

Each parser takes what the member typed (or picked) and returns the value to
store, or raises `InvalidAnswer` carrying the message to re-ask with.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from bot.chat.registry import normalise
from bot.i18n import N_

FIELDS = ("first_name", "last_name", "gender", "birthday", "phone", "email")
GENDERS = ("female", "male", "other", "unspecified")
MAX_NAME = 50
MAX_AGE_YEARS = 120
BUDDHIST_ERA_OFFSET = 543

# What people type for each gender, in our three languages.
GENDER_WORDS = {
    "female": ("female", "f", "woman", "หญิง", "ผู้หญิง", "เพศหญิง", "女", "女性"),
    "male": ("male", "m", "man", "ชาย", "ผู้ชาย", "เพศชาย", "男", "男性"),
    "other": ("other", "อื่นๆ", "อื่น ๆ", "其他"),
    "unspecified": (
        "prefer not to say",
        "skip",
        "ไม่ระบุ",
        "ไม่ต้องการระบุ",
        "不透露",
        "不願透露",
    ),
}
FIELD_LABELS = {
    "first_name": N_("First name"),
    "last_name": N_("Last name"),
    "gender": N_("Gender"),
    "birthday": N_("Birthday"),
    "phone": N_("Phone"),
    "email": N_("Email"),
}
GENDER_LABELS = {
    "female": N_("Female"),
    "male": N_("Male"),
    "other": N_("Other"),
    "unspecified": N_("Prefer not to say"),
}
_DATE_FORMATS = (
    re.compile(r"^(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})$"),
    re.compile(r"^(?P<d>\d{1,2})[/.\-](?P<m>\d{1,2})[/.\-](?P<y>\d{4})$"),
)


class InvalidAnswer(ValueError):  # noqa: N818 - reads better at the call sites
    """The answer cannot be stored; `message` (N_-marked) says what to send instead."""

    def __init__(self, message: str, **params):
        super().__init__(message)
        self.message = message
        self.params = params


def parse_name(text: str) -> str:
    """Letters of any script (with their marks), spaces, hyphens, apostrophes, dots."""
    name = " ".join(text.split())
    letters = [c for c in name if unicodedata.category(c)[0] == "L"]
    allowed = all(unicodedata.category(c)[0] in "LM" or c in " -'’." for c in name)
    if not name or not letters or not allowed or len(name) > MAX_NAME:
        raise InvalidAnswer(N_("Please type a name using letters only (up to 50 characters)."))
    return name


def parse_gender(text: str) -> str:
    word = normalise(text)
    for gender, words in GENDER_WORDS.items():
        if word == gender or word in words:
            return gender
    raise InvalidAnswer(N_("Please pick one of the buttons below."))


def parse_birthday(text: str, today: date) -> str:
    """A date of birth as YYYY-MM-DD; accepts d/m/yyyy and Buddhist-era years."""
    value = text.strip()
    for pattern in _DATE_FORMATS:
        match = pattern.match(value)
        if match:
            break
    else:
        raise InvalidAnswer(N_("Please pick a date, or type it like 31/12/1990."))
    year, month, day = int(match["y"]), int(match["m"]), int(match["d"])
    if year > today.year + BUDDHIST_ERA_OFFSET - 200:
        year -= BUDDHIST_ERA_OFFSET  # 2533 is 1990 in the Buddhist era
    try:
        born = date(year, month, day)
    except ValueError:
        raise InvalidAnswer(N_("That date does not exist. Please try again.")) from None
    if born > today or today.year - born.year > MAX_AGE_YEARS:
        raise InvalidAnswer(N_("Please check the year: that birthday is not possible."))
    return born.isoformat()


def parse_phone(text: str, region: str = "TH") -> str:
    """A valid phone number, normalised to E.164 (+66812345678)."""
    try:
        number = phonenumbers.parse(text.strip(), region)
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        raise InvalidAnswer(
            N_("That doesn't look like a phone number. Please type it like 081 234 5678.")
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def parse_email(text: str) -> str:
    try:
        result = validate_email(text.strip(), check_deliverability=False)
    except EmailNotValidError:
        raise InvalidAnswer(
            N_("That doesn't look like an email address. Please try again.")
        ) from None
    return result.normalized


def parse(field: str, text: str, today: date) -> str:
    """Validate an answer for any profile field."""
    if field in ("first_name", "last_name"):
        return parse_name(text)
    if field == "gender":
        return parse_gender(text)
    if field == "birthday":
        return parse_birthday(text, today)
    if field == "phone":
        return parse_phone(text)
    if field == "email":
        return parse_email(text)
    raise KeyError(field)


def display_phone(e164: str) -> str:
    """How a Thai (or any) number reads at home: 081 234 5678."""
    number = phonenumbers.parse(e164)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
