"""Fuzzing every parser and the webhook edge: bad input is answered, never a crash.

Parsers alone must return a value in range or raise the error their handler turns
into a reply. Through the chat, any words after any command must get a reply and
no handler may fail; any signed body must get 200 or 400, never 500.
"""

from __future__ import annotations

import contextlib
import json
import logging
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.chat import numbers
from bot.loyalty import rules
from bot.marketing import campaigns, segments
from bot.members import profile_fields
from simulator import events as ev
from tests.hypothesis_budget import budget

TODAY = date(2026, 3, 2)
NOW = datetime(2026, 3, 2, 5, 0, tzinfo=UTC)
ZONE = ZoneInfo("Asia/Bangkok")

# Words that parsers treat specially, mixed with anything at all.
TRICKY = [
    "0", "-1", "1", "25", "150", "1,250.50", "฿99", "99999999999999999999999999", "1e400",
    "nan", "inf", "-0", "0.001", "²", "๑๕๐", "１５０", "12:00", "25:61", "14-16", "16-14",
    "2026-12-01", "31/12/1990", "29/02/2567", "00:00", "mon-fri", "sun-mon", "x-y",
    "081 234 5678", "+66812345678", "0000", "a@b.c", "@", "|", "||", ":", "key:", ":value",
    "audience:", "text:", "at:", "at: now", "weekly:", "coupon:", "coupon: percent 200",
    "holdout: 51", "window: 0", "{first_name}", "{0}", "{", "}", "{{", "branch:", "hour:",
    "age:-5", "avg:<", "spend:>9e99", "visits:>=", "birth_month:13", "rfm:", "tag:",
    "-", "--", "-x", "limit:", "from:", "until:2026-02-30", "image:http://x", "th=", "zh=",
    "unlimited", "percent", "amount", "free", "bogo", "days:", "min:", "show", "add", "list",
    "edit", "off", "on", "stock", "set", "new", "test", "cancel", "pause", "resume", "cap",
    "quiet", "remove", "invite", "rate", "per", "tier", "promo", "flag", "receipt", "default",
    "after", "every", "lapsed", "when", "month", "birthday", "winback", "\u200b", "\n", "Ω",
    "🍵", "null", "[]", "{}", "$gt", "$where", "\\", "'", '"',
]  # fmt: skip
WORDS = st.one_of(
    st.sampled_from(TRICKY),
    st.integers(-(10**30), 10**30).map(str),
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
    st.text(max_size=12),
)
ARGS = st.lists(WORDS, max_size=8).map(" ".join)


# -- parsers alone -----------------------------------------------------------------


@settings(max_examples=budget(150, 5000))
@given(text=WORDS, low=st.integers(-(10**9), 10**9), span=st.integers(0, 10**12))
def test_number_parsers_return_a_number_in_range_or_say_why(text, low, span):
    high = low + span
    for parse in (numbers.parse_int, numbers.parse_money):
        try:
            value = parse(text, low, high)
        except numbers.NumberError as error:
            assert error.args  # the refusal names the number and its range
        else:
            assert isinstance(value, int) and low <= value <= high
    try:
        value = numbers.parse_decimal(text, 1, 10)
    except numbers.NumberError:
        pass
    else:
        assert 1 <= value <= 10


@settings(max_examples=budget(150, 5000))
@given(text=ARGS)
def test_segment_filters_compile_or_name_the_bad_word(text):
    clock = segments.Clock(NOW, TODAY)
    try:
        query = segments.compile_filters(text, clock)
    except segments.SegmentError as error:
        assert error.word
    else:
        assert "$and" in query
        json.dumps(query, default=str)  # plain data, nothing executable


@settings(max_examples=budget(150, 5000))
@given(field=st.sampled_from(["first_name", "gender", "birthday", "phone", "email"]), text=ARGS)
def test_profile_answers_are_stored_or_re_asked(field, text):
    try:
        value = profile_fields.parse(field, text, TODAY)
    except profile_fields.InvalidAnswer as problem:
        assert problem.message
    else:
        assert isinstance(value, str) and len(value) <= 320


@settings(max_examples=budget(150, 5000))
@given(days=ARGS, window=ARGS)
def test_rule_days_and_windows_parse_or_raise_what_rule_answers(days, window):
    # handlers/rules.py answers ValueError (its RuleError too) and IndexError with the usage.
    for parse, text in ((rules.parse_days, days), (rules.parse_window, window)):
        with contextlib.suppress(ValueError, IndexError):
            parse(text)


@settings(max_examples=budget(100, 3000))
@given(spec=st.lists(st.one_of(ARGS, WORDS.map(lambda w: f"{w}: {w}")), max_size=6))
def test_campaign_specs_parse_or_name_the_part(store, spec):
    try:
        campaign = campaigns.parse_spec(" | ".join(spec), store, NOW, ZONE)
    except campaigns.SpecError as problem:
        assert problem.part is not None
    except ValueError:
        pass  # handlers/campaigns.py answers it with the usage
    else:
        assert campaign["name"]


# -- through the chat ------------------------------------------------------------------

COMMANDS = [
    "/earn", "/void", "/adjust", "/use", "/member", "/reward add", "/reward edit",
    "/reward stock", "/reward off", "/coupon give", "/rule rate", "/rule min", "/rule cap",
    "/rule expiry", "/rule bonus", "/rule tier", "/rule promo add", "/rule flag",
    "/rule receipt", "/branch add", "/staff invite", "/staff remove", "/segment",
    "/segment save", "/segment show", "/campaign new", "/campaign show", "/campaign cap",
    "/campaign quiet", "/campaign pause", "/journey set", "/journey on", "/tag", "/untag",
    "/join", "/help", "language", "edit", "redeem", "join",
]  # fmt: skip


class _Errors(logging.Handler):
    """Collects ERROR records: a handler that raised is logged by dispatch at ERROR."""

    def __init__(self):
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record):
        self.records.append(record)


@pytest.fixture
def errors():
    collector = _Errors()
    logging.getLogger().addHandler(collector)
    yield collector.records
    logging.getLogger().removeHandler(collector)


@pytest.fixture
def shop(owner, cashier, member, store):
    """An owner, a cashier, a member and a reward: the commands have things to act on."""
    owner.says("/reward add 100 5 Mug")
    return owner


@settings(max_examples=budget(120, 1000))
@given(command=st.sampled_from(COMMANDS), args=ARGS)
def test_any_words_after_any_command_get_an_answer(shop, store, errors, command, args):
    replies = shop.says(f"{command} {args}"[:5000])
    assert shop.last_status == 200
    assert errors == [], [r.getMessage() for r in errors]
    assert replies, f"no answer to {command} {args!r}"
    if (store.member_by_line_id(shop.id) or {}).get("conversation"):
        shop.says("cancel")  # leave the guided form it started


FORMS = ["join", "edit phone", "edit birthday", "edit email", "/campaign new", "/earn CODE01 150"]


@settings(max_examples=budget(60, 500))
@given(form=st.sampled_from(FORMS), answers=st.lists(ARGS, min_size=1, max_size=3))
def test_any_answer_in_a_guided_form_gets_an_answer(shop, store, errors, form, answers):
    shop.says(form)
    for answer in answers:
        assert shop.says(answer[:5000]), f"no answer to {answer!r} in {form!r}"
        assert errors == [], [r.getMessage() for r in errors]
    if (store.member_by_line_id(shop.id) or {}).get("conversation"):
        shop.says("cancel")


# -- the webhook edge ------------------------------------------------------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
FIELDS = ["type", "mode", "timestamp", "webhookEventId", "deliveryContext", "replyToken",
          "source", "message", "postback", "joined", "left", "follow", "unsend"]  # fmt: skip


@st.composite
def events(draw, user_id):
    """A real event with some fields replaced by random JSON, or random JSON outright."""
    kind = draw(st.sampled_from(["text", "postback", "follow", "random"]))
    if kind == "random":
        return draw(JSON)
    event = {
        "text": lambda: ev.text_message(user_id, draw(ARGS)),
        "postback": lambda: ev.postback(user_id, draw(ARGS)),
        "follow": lambda: ev.follow(user_id),
    }[kind]()
    for field in draw(st.lists(st.sampled_from(FIELDS), max_size=3, unique=True)):
        if draw(st.booleans()):
            event[field] = draw(JSON)
        else:
            event.pop(field, None)
    return event


@settings(max_examples=budget(150, 2000))
@given(data=st.data())
def test_any_signed_body_gets_200_or_400_never_500(sim, alice, errors, data):
    shape = data.draw(st.sampled_from(["events", "body"]))
    if shape == "events":
        body = {
            "destination": ev.BOT_USER_ID,
            "events": data.draw(st.lists(events(alice.id), max_size=3)),
        }
    else:
        body = data.draw(JSON)
    raw = json.dumps(body).encode()
    status = sim.post_raw(raw, ev.sign(sim.platform.channel_secret, raw))
    assert status in (200, 400)
    assert errors == [], [r.getMessage() for r in errors]
