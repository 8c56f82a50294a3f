"""Owners, staff and branches; every admin action is audited."""

import re
from datetime import timedelta

import pytest
import time_machine

from bot.store import utcnow
from simulator import texts


@pytest.fixture
def somchai(sim, app):
    """A shop assistant-to-be."""
    user = sim.user("somchai", "Somchai", language="en")
    user.state.friend = True
    return user


def invite_code(reply: str) -> str:
    return re.search(r": ([2-9A-Z]{8})\n", reply).group(1)


def test_owner_invites_staff_who_can_then_look_up_members(owner, somchai, member, store):
    owner.says("/branch add asoke Asoke")
    code = invite_code(texts(owner.says("/staff invite asoke"))[0])

    assert texts(somchai.says(f"/join {code}"))[0].startswith(
        "Welcome to the team! You are now staff of asoke."
    )
    member_code = store.member_by_line_id(member.id)["code"]
    lookup = texts(somchai.says(f"/member {member_code}"))[0]

    assert lookup.splitlines() == [
        f"Alice Smith ({member_code})",
        "Phone: 081 234 5678",
        "Points: 50",
        "Tier: Member",
        f"Member since {lookup.splitlines()[4].removeprefix('Member since ')}",
    ]
    assert texts(somchai.says("/member 081-234-5678"))[0].startswith("Alice Smith")
    assert store.staff_record(somchai.id)["branch"] == "asoke"


def test_a_plain_member_cannot_look_up_members_and_the_attempt_is_audited(member, store):
    assert texts(member.says("/member 0812345678")) == [
        "Sorry, you are not allowed to use /member."
    ]

    [entry] = store.audit_entries(command="/member")
    assert entry["actor"] == member.id
    assert entry["role"] == "member"
    assert entry["result"] == "denied"
    assert entry["args"] == ["0812345678"]


def test_staff_cannot_use_owner_commands(owner, somchai, store):
    somchai.says(f"/join {invite_code(texts(owner.says('/staff invite'))[0])}")

    assert texts(somchai.says("/staff invite")) == ["Sorry, you are not allowed to use /staff."]
    assert store.audit_entries(command="/staff", result="denied")[0]["role"] == "staff"


def test_an_invite_works_once(owner, somchai, sim, store):
    code = invite_code(texts(owner.says("/staff invite"))[0])
    somchai.says(f"/join {code}")
    nid = sim.user("nid", language="en")

    reply = texts(nid.says(f"/join {code}"))[0]

    assert reply.startswith("That invite code is not valid, already used or expired.")
    assert not store.is_active_staff(nid.id)
    assert store.audit_entries(command="/join")[0]["result"] == "invalid-code"


def test_an_invite_expires_after_24_hours(owner, somchai, store):
    code = invite_code(texts(owner.says("/staff invite"))[0])

    with time_machine.travel(utcnow() + timedelta(hours=24, minutes=1)):
        reply = texts(somchai.says(f"/join {code}"))[0]

    assert reply.startswith("That invite code is not valid")
    assert not store.is_active_staff(somchai.id)


def test_inviting_to_an_unknown_branch_is_refused(owner):
    assert texts(owner.says("/staff invite mars")) == ["There is no branch mars. See /branch list."]


def test_staff_list_and_remove(owner, somchai, store):
    somchai.says(f"/join {invite_code(texts(owner.says('/staff invite'))[0])}")

    listing = texts(owner.says("/staff list"))[0].splitlines()
    assert listing[0] == "Staff:"
    assert listing[1].startswith("1. Somchai — all branches")

    assert texts(owner.says("/staff remove 1")) == ["Somchai is no longer staff."]
    assert not store.is_active_staff(somchai.id)
    assert texts(somchai.says("/member X")) == ["Sorry, you are not allowed to use /member."]
    assert texts(owner.says("/staff remove 7")) == ["No staff number 7. See /staff list."]


def test_branches_are_added_and_listed(owner, store):
    assert texts(owner.says("/branch add ratchada Ratchada Soi 4")) == [
        "Branch ratchada (Ratchada Soi 4) added."
    ]
    assert texts(owner.says("/branch add ratchada Again")) == ["Branch ratchada already exists."]
    assert texts(owner.says("/branch add X! Bad")) == [
        "A branch code is 2 to 20 letters, digits or dashes, like “asoke”."
    ]
    assert texts(owner.says("/branch list")) == ["Branches:\n• ratchada — Ratchada Soi 4"]
    assert texts(owner.says("/branch")) == ["Usage: /branch add <code> <name> | list"]


def test_help_gives_the_usage_of_exactly_the_commands_the_sender_may_use(owner, somchai):
    """The menu itself is tested in test_help_menu.py; usage comes one command at a time."""
    somchai.says(f"/join {invite_code(texts(owner.says('/staff invite'))[0])}")

    assert texts(somchai.says("/help member")) == ["/member <code|phone> — look up a member"]
    assert texts(somchai.says("/help reward")) == ["No command called reward."]
    assert texts(owner.says("/help reward")) == [
        "/reward add | list | edit | stock | off | on … — reward catalogue and stock"
    ]


def test_every_admin_action_is_audited(owner, store):
    owner.says("/branch add siam Siam")
    owner.says("/staff invite siam")
    owner.says("/member nobody")

    entries = store.audit_entries()
    assert [(e["command"], e["result"]) for e in entries] == [
        ("/member", "not-found"),
        ("/staff", "ok"),
        ("/branch", "ok"),
    ]
    assert all(e["actor"] == owner.id and e["role"] == "owner" and e["at"] for e in entries)
    assert entries[1]["args"] == ["invite", "siam"]


def test_member_lookup_of_an_unknown_member(owner):
    assert texts(owner.says("/member ZZZZZZ")) == ["No member found for ZZZZZZ."]
    assert texts(owner.says("/member")) == ["Usage: /member <code|phone>"]
