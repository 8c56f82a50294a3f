"""`/member` shows the latest purchases; staff who may void one get a one-tap Void."""

import re

import pytest

from simulator import texts


@pytest.fixture
def ploy(sim, app, store, cashier):
    """Staff of the Siam Square branch (the cashier fixture made the branches)."""
    user = sim.user("ploy", "Ploy", language="en")
    user.state.friend = True
    store.add_staff(user.id, "siam", "Ploy", invited_by="owner")
    return user


def code_of(store, user) -> str:
    return store.member_by_line_id(user.id)["code"]


def purchase_id(replies) -> str:
    return re.match(r"Purchase (\w{8}):", texts(replies)[0]).group(1)


def purchases_shown(replies) -> dict[str, dict]:
    """The purchase bubbles under `/member`, by purchase id: their Void action or None."""
    carousel = replies[1]
    assert carousel["altText"] == "Recent purchases of Alice"
    shown = {}
    for bubble in carousel["contents"]["contents"]:
        where = bubble["body"]["contents"][3]["text"]  # "#<id> · <branch>"
        footer = bubble.get("footer")
        shown[where[1:9]] = footer["contents"][0]["action"] if footer else None
    return shown


def tap(user, replies, label: str):
    [action] = [
        i["action"] for i in replies[-1]["quickReply"]["items"] if i["action"]["label"] == label
    ]
    return user.perform(action)


def test_staff_void_their_branchs_purchase_with_one_confirmed_tap(owner, cashier, member, store):
    code = code_of(store, member)
    at_asoke = purchase_id(cashier.says(f"/earn {code} 150"))
    at_siam = purchase_id(owner.says(f"/earn {code} 200 siam"))

    lookup = cashier.says(f"/member {code}")
    shown = purchases_shown(lookup)

    assert list(shown) == [at_siam, at_asoke]  # newest first
    assert shown[at_siam] is None  # another branch's purchase: no button
    question = cashier.perform(shown[at_asoke])
    assert texts(question)[0].startswith(f"Void purchase {at_asoke} of ฿150.00 on ")
    assert texts(question)[0].endswith("? Its 6 points are taken back.")
    assert store.purchase(at_asoke)["status"] == "active"  # nothing before the confirmation

    done = tap(cashier, question, "Void it")
    again = tap(cashier, question, "Void it")

    assert texts(done)[0] == f"Purchase {at_asoke} voided: 6 points taken back. Balance: 58."
    assert texts(again) == [f"Purchase {at_asoke} was already voided."]
    assert store.member_by_line_id(member.id)["points"] == 50 + 8
    reversals = [
        e
        for e in store.ledger_for(store.member_by_line_id(member.id)["_id"])
        if e["kind"] == "reverse"
    ]
    assert len(reversals) == 1
    after = purchases_shown(cashier.says(f"/member {code}"))
    assert after[at_asoke] is None  # voided: no button any more
    audited = [(e["actor"], e["result"]) for e in store.audit_entries(command="/void")]
    assert audited == [(cashier.id, "already-voided"), (cashier.id, "ok")]  # newest first


def test_staff_of_another_branch_get_no_void_button_and_cannot_void(cashier, ploy, member, store):
    code = code_of(store, member)
    at_asoke = purchase_id(cashier.says(f"/earn {code} 150"))

    shown = purchases_shown(ploy.says(f"/member {code}"))

    assert shown == {at_asoke: None}
    question = ploy.taps(f"a=void_ask&p={at_asoke}")  # a button they were never shown
    refused = tap(ploy, question, "Void it")
    assert texts(refused)[0].startswith(f"Purchase {at_asoke} was made at asoke")
    assert store.purchase(at_asoke)["status"] == "active"


def test_owners_may_void_any_purchase_and_members_no_purchase(owner, cashier, member, store):
    code = code_of(store, member)
    at_asoke = purchase_id(cashier.says(f"/earn {code} 150"))

    shown = purchases_shown(owner.says(f"/member {code}"))

    assert shown[at_asoke]["data"] == f"a=void_ask&p={at_asoke}"
    assert member.taps(f"a=void_ask&p={at_asoke}") == []  # not staff: nothing happens
    keep = tap(owner, owner.perform(shown[at_asoke]), "Keep it")
    assert texts(keep) == ["OK, the purchase stays."]
    assert store.purchase(at_asoke)["status"] == "active"
