"""Every number an owner types: huge, negative, zero or odd digits get a clear answer.

MongoDB integers hold at most 8 bytes, so before each number had a range a
25-digit stock or a 400-digit segment bound crashed the handler and the owner
heard nothing. Each command below is fed the same awkward values; each must
either work (the value is in range) or refuse with the range, changing nothing.
"""

import re

import pytest

from simulator import texts

RANGE_REFUSAL = re.compile(r"is not (a whole number|an amount|a number) from .+ to .+\.$")
BIG, HUGE = "9" * 25, "9" * 400
# value → the commands (by name below) that must accept it; all others refuse it.
PROBES = {
    "0": {"stock", "edit-stock", "limit", "edit-limit", "min-spend", "rule-min", "expiry", "bonus"}
    | {"tier-spend", "avg", "spend", "visits", "hour", "age"},
    "-5": set(),
    BIG: set(),
    HUGE: set(),
    "²": set(),  # a superscript two: a digit to str.isdigit, not a decimal digit
    "๕": "all",  # Thai five
    "５": "all",  # full-width five, as Chinese keyboards type it
}
# name → (command, what a success reply contains)
COMMANDS = {
    "points": ("/reward add {n} 5 Tea", "added"),
    "stock": ("/reward add 5 {n} Tea", "added"),
    "limit": ("/reward add 5 5 Tea limit:{n}", "added"),
    "edit-points": ("/reward edit {reward} points {n}", "updated"),
    "edit-stock": ("/reward stock {reward} {n}", "Stock of"),
    "edit-limit": ("/reward edit {reward} limit {n}", "updated"),
    "percent": ("/coupon give {member} percent {n}", "sent to"),
    "amount": ("/coupon give {member} amount {n}", "sent to"),
    "days": ("/coupon give {member} free tea days:{n}", "sent to"),
    "min-spend": ("/coupon give {member} percent 10 min:{n}", "sent to"),
    "rate-points": ("/rule rate {n} per 25", "Saved."),
    "rate-amount": ("/rule rate 1 per {n}", "Saved."),
    "rule-min": ("/rule min {n}", "Saved."),
    "cap": ("/rule cap {n}", "Saved."),
    "expiry": ("/rule expiry {n}", "Saved."),
    "bonus": ("/rule bonus {n}", "Saved."),
    "tier-spend": ("/rule tier gold {n} 1.5", "Saved."),
    "tier-factor": ("/rule tier gold 15000 {n}", "Saved."),
    "promo": ("/rule promo add {n}", "Saved."),
    "avg": ("/segment avg:<{n}", "match"),
    "spend": ("/segment spend:>{n}", "match"),
    "visits": ("/segment visits:>={n}", "match"),
    "visited": ("/segment visited:{n}d", "match"),
    "lapsed": ("/segment lapsed:{n}", "match"),
    "new": ("/segment new:{n}d", "match"),
    "hour": ("/segment hour:{n}-24", "match"),
    "age": ("/segment age:{n}", "match"),
    "birth-month": ("/segment birth_month:{n}", "match"),
}


def what_is_stored(store) -> list:
    """Everything an owner command here could change."""
    return [
        list(store.db[name].find({}, {"updated_at": 0}).sort("_id"))
        for name in ("rewards", "coupons", "settings", "segments")
    ]


@pytest.mark.parametrize(
    "value", list(PROBES), ids=["zero", "neg", "big", "huge", "sup", "th", "fw"]
)
def test_each_command_accepts_or_refuses_the_number_clearly(value, owner, member, store):
    reward = texts(owner.says("/reward add 10 5 Tea"))[0].split()[1]
    fill = {"reward": reward, "member": store.member_by_line_id(member.id)["code"]}
    accepted = set(COMMANDS) if PROBES[value] == "all" else PROBES[value]
    problems = []
    for name, (command, success) in COMMANDS.items():
        before = what_is_stored(store)
        reply = texts(owner.says(command.format(n=value, **fill)))
        if name in accepted:
            if len(reply) != 1 or success not in reply[0]:
                problems.append((name, "should accept", reply))
        elif len(reply) != 1 or not RANGE_REFUSAL.search(reply[0]):
            problems.append((name, "should refuse with the range", reply))
        elif what_is_stored(store) != before:
            problems.append((name, "refused but changed something", reply))

    assert problems == []


def test_the_refusal_names_the_number_and_keeps_the_reply_short(owner):
    assert texts(owner.says(f"/segment avg:<{HUGE}")) == [
        "avg: “9999999999999999999…” is not an amount from ฿0.00 to ฿100,000,000.00."
    ]
    assert texts(owner.says(f"/reward add 5 {BIG} Tea")) == [
        "Stock: “9999999999999999999…” is not a whole number from 0 to 1,000,000."
    ]
    assert texts(owner.says("/rule promo add 1")) == [
        "Factor: “1” is not a number from 1.01 to 10."
    ]


def test_thai_digits_are_read_as_numbers(owner, store):
    reply = texts(owner.says("/reward add ๑๕๐ ๒๐ ชาไทย limit:๒"))[0]

    reward = store.reward(reply.split()[1])
    assert (reward["points"], reward["stock"], reward["per_member_limit"]) == (150, 20, 2)
