"""The counter's insider controls and its questions: own accounts, branches, large
earns, coupons claimed before the purchase, and the same purchase typed twice."""

import re
import threading
from datetime import timedelta
from urllib.parse import parse_qsl

import pytest
import time_machine

from bot.loyalty import points, rewards
from bot.store import utcnow
from simulator import events, texts
from tests.conftest import sign_up


@pytest.fixture
def nok(sim, app, store, cashier):
    """Nok, staff of the Siam Square branch."""
    user = sim.user("nok", "Nok", language="en")
    user.state.friend = True
    store.add_staff(user.id, "siam", "Nok", invited_by="owner")
    return user


def code_of(store, user) -> str:
    return store.member_by_line_id(user.id)["code"]


def balance(store, user) -> int:
    return store.member_by_line_id(user.id)["points"]


def purchases(store) -> list[dict]:
    return list(store.db.purchases.find().sort("created_at", 1))


def purchase_id(reply: str) -> str:
    return re.match(r"Purchase (\w{8}):", reply).group(1)


def buttons(message: dict) -> dict[str, str]:
    """Quick-reply label -> postback data."""
    return {i["action"]["label"]: i["action"]["data"] for i in message["quickReply"]["items"]}


def give_coupon(owner, store, member) -> str:
    reply = texts(owner.says(f"/coupon give {code_of(store, member)} amount 20"))[0]
    return re.match(r"Coupon (C\w{7})", reply).group(1)


# -- insider controls ---------------------------------------------------------------


def test_staff_cannot_earn_for_their_own_member_account(cashier, nok, member, store):
    sign_up(cashier, first="Somchai", phone="089 111 2222", email=None)
    own_code = code_of(store, cashier)

    reply = texts(cashier.says(f"/earn {own_code} 500"))

    assert reply == [
        "You cannot record a purchase for your own member account. Please ask a colleague."
    ]
    assert balance(store, cashier) == 50 and purchases(store) == []
    [entry] = store.audit_entries(command="/earn")
    assert entry["actor"] == cashier.id and entry["result"] == "own-account"
    assert entry["subject_member_id"] == store.member_by_line_id(cashier.id)["_id"]
    # A colleague can.
    assert texts(nok.says(f"/earn {own_code} 500"))[0].startswith("Purchase ")


def test_an_owner_cannot_earn_or_adjust_for_their_own_account(owner, member, store):
    sign_up(owner, first="Owner", phone="089 333 4444", email=None)
    own_code = code_of(store, owner)

    adjusted = texts(owner.says(f"/adjust {own_code} +500 thanks to me"))
    earned = texts(owner.says(f"/earn {own_code} 500"))

    assert adjusted == [
        "You cannot change the points of your own member account. Another owner has to do it."
    ]
    assert earned == [
        "You cannot record a purchase for your own member account. Please ask a colleague."
    ]
    assert balance(store, owner) == 50
    assert [e["result"] for e in store.audit_entries(actor=owner.id, role="owner")][:2] == [
        "own-account",
        "own-account",
    ]
    # Someone else's account is fine.
    assert texts(owner.says(f"/adjust {code_of(store, member)} +5 sorry"))[0].startswith("Alice:")


def test_staff_void_only_their_own_branchs_purchases(owner, cashier, nok, member, store):
    pid = purchase_id(texts(cashier.says(f"/earn {code_of(store, member)} 250"))[0])  # asoke

    refused = texts(nok.says(f"/void {pid}"))

    assert refused == [
        f"Purchase {pid} was made at asoke: only its branch's staff or an owner can void it."
    ]
    assert store.purchase(pid)["status"] == "active" and balance(store, member) == 60
    [entry] = store.audit_entries(command="/void")
    assert entry["actor"] == nok.id and entry["result"] == "other-branch"
    assert texts(owner.says(f"/void {pid}"))[0].startswith(f"Purchase {pid} voided")
    assert balance(store, member) == 50


def test_staff_of_all_branches_void_any_purchase(cashier, sim, member, store):
    floater = sim.user("floater", "Floater", language="en")
    store.add_staff(floater.id, None, "Floater", invited_by="owner")
    pid = purchase_id(texts(cashier.says(f"/earn {code_of(store, member)} 250"))[0])

    assert texts(floater.says(f"/void {pid}"))[0].startswith(f"Purchase {pid} voided")


# -- large earns --------------------------------------------------------------------


def shop_history(store, services, user, purchases_before=10):
    """Earlier purchases of ฿100 each: the shop's average purchase is ฿100."""
    member_doc = store.member_by_line_id(user.id)
    for _ in range(purchases_before):
        points.earn(store, member_doc, 10_000, "asoke", "staff", None, services.config.tz)


def test_a_large_earn_is_recorded_but_flagged_to_the_owners(
    owner, cashier, member, store, services
):
    shop_history(store, services, member)
    code = code_of(store, member)

    large = texts(cashier.says(f"/earn {code} 1,000"))[0]
    smaller = texts(cashier.says(f"/earn {code} 999"))[0]

    pid = purchase_id(large)
    assert large.startswith(f"Purchase {pid}: ฿1,000.00 @ asoke → 40 points")
    assert store.purchase(pid)["flag"] == {"reason": "large", "average": 10_000, "factor": 10.0}
    assert store.purchase(purchase_id(smaller))["flag"] is None  # 10 × ฿181.81 is the bar now
    flagged = [t for t in texts(owner.inbox) if t.startswith("Large purchase")]
    assert flagged == [
        f"Large purchase flagged: ฿1,000.00 for Alice ({code}) at asoke, entered by Somchai "
        f"— 10× the average purchase of ฿100.00. Purchase {pid}; /void {pid} reverses it."
    ]
    assert not any("flagged" in t for t in texts(cashier.inbox))


def test_the_owner_sets_the_flag_multiplier(owner, cashier, member, store, services):
    shop_history(store, services, member)
    code = code_of(store, member)

    assert "Purchases of 10× the average purchase" in texts(owner.says("/rule show"))[0]
    assert texts(owner.says("/rule flag 1"))[0].startswith("Factor: “1” is not")
    assert texts(owner.says("/rule flag 101"))[0].startswith("Factor: “101” is not")
    assert texts(owner.says("/rule flag lots"))[0].startswith("Factor: “lots” is not")
    assert "Purchases of 3× the average purchase or more" in texts(owner.says("/rule flag 3"))[0]
    assert store.purchase(purchase_id(texts(cashier.says(f"/earn {code} 300"))[0]))["flag"]
    assert "Large purchases are not flagged." in texts(owner.says("/rule flag off"))[0]
    assert not store.purchase(purchase_id(texts(cashier.says(f"/earn {code} 5000"))[0]))["flag"]


def test_few_purchases_make_no_average_to_flag_against(owner, cashier, member, store, services):
    shop_history(store, services, member, purchases_before=8)

    reply = texts(cashier.says(f"/earn {code_of(store, member)} 5000"))[0]

    assert store.purchase(purchase_id(reply))["flag"] is None
    assert not any(t.startswith("Large purchase") for t in texts(owner.inbox))


def test_the_average_purchase_is_kept_up_to_date_without_a_scan(cashier, member, store):
    code = code_of(store, member)
    first = purchase_id(texts(cashier.says(f"/earn {code} 100"))[0])
    cashier.says(f"/earn {code} 300")
    cashier.says(f"/earn {code} 200 R-1")

    cashier.says(f"/void {first}")

    assert store.purchase_totals() == (2, 50_000)
    # A shop from before the figure existed gets it counted once from its purchases.
    store.db.purchase_totals.delete_many({})
    assert store.purchase_totals() == (2, 50_000)
    cashier.says(f"/earn {code} 100 R-2")
    assert store.purchase_totals() == (3, 60_000)


# -- coupons are claimed before the purchase ------------------------------------------


def test_two_cashiers_one_coupon_one_purchase(owner, cashier, nok, member, store):
    code = code_of(store, member)
    rounds = 3
    for round_no in range(rounds):
        coupon = give_coupon(owner, store, member)
        start = threading.Barrier(2)
        replies = {}

        def at_the_till(user, receipt, coupon=coupon, start=start, replies=replies):
            start.wait()
            replies[user.id] = texts(user.says(f"/earn {code} 250 {receipt} coupon:{coupon}"))[0]

        tills = [
            threading.Thread(target=at_the_till, args=(cashier, f"A-{round_no}")),
            threading.Thread(target=at_the_till, args=(nok, f"S-{round_no}")),
        ]
        for till in tills:
            till.start()
        for till in tills:
            till.join(timeout=60)

        linked = [p for p in purchases(store) if p.get("coupon") == coupon]
        assert len(linked) == 1, replies
        assert store.coupon(coupon)["purchase_id"] == linked[0]["_id"]
        assert sorted(r.startswith("Purchase ") for r in replies.values()) == [False, True]
        [refusal] = [r for r in replies.values() if not r.startswith("Purchase ")]
        assert refusal == f"Coupon {coupon} was already used. Nothing was recorded."
    assert len(purchases(store)) == rounds
    assert balance(store, member) == 50 + rounds * 10


def test_a_used_coupon_records_nothing(owner, cashier, member, store):
    coupon = give_coupon(owner, store, member)
    cashier.says(f"/use {coupon}")

    reply = texts(cashier.says(f"/earn {code_of(store, member)} 250 coupon:{coupon}"))

    assert reply == [f"Coupon {coupon} was already used. Nothing was recorded."]
    assert purchases(store) == [] and balance(store, member) == 50


def test_a_refused_receipt_gives_the_coupon_back(owner, cashier, member, store):
    code = code_of(store, member)
    cashier.says(f"/earn {code} 250 R-9")
    coupon = give_coupon(owner, store, member)

    again = texts(cashier.says(f"/earn {code} 250 R-9 coupon:{coupon}"))[0]

    assert again.startswith("Receipt R-9 was already credited")
    assert store.coupon(coupon)["status"] == "issued"
    assert "purchase_id" not in store.coupon(coupon)
    assert texts(cashier.says(f"/earn {code} 260 R-10 coupon:{coupon}"))[0].endswith(
        f"Coupon {coupon} used with this purchase."
    )


def test_a_redelivered_earn_that_had_claimed_its_coupon_completes_once(
    owner, cashier, member, store
):
    code = code_of(store, member)
    coupon = give_coupon(owner, store, member)
    event = events.text_message(cashier.id, f"/earn {code} 250 coupon:{coupon}")
    # The first delivery died right after claiming the coupon; this is what it left behind.
    pid = store.claim_purchase_key(f"earn:{event['webhookEventId']}", points.new_purchase_id())
    member_id = store.member_by_line_id(member.id)["_id"]
    claim = rewards.claim_coupon_for_purchase(store, coupon, member_id, 25_000, pid, cashier.id)
    assert claim is None

    reply = texts(cashier.send(events.redelivered(event)))[0]

    assert reply.startswith(f"Purchase {pid}: ฿250.00 @ asoke → 10 points")
    assert reply.endswith(f"Coupon {coupon} used with this purchase.")
    assert [p["_id"] for p in purchases(store)] == [pid]
    assert store.coupon(coupon)["purchase_id"] == pid
    assert balance(store, member) == 60
    assert store.member_by_line_id(member.id)["stats"]["visits"] == 1


def test_an_earn_redelivered_after_it_was_recorded_adds_nothing(cashier, member, store):
    code = code_of(store, member)
    event = events.text_message(cashier.id, f"/earn {code} 250")
    first = texts(cashier.send(event))[0]
    # As if the process had died after recording, before marking the event handled:
    # LINE's redelivery takes the stale claim over 5 minutes later.
    store.db.webhook_events.update_one(
        {"_id": event["webhookEventId"]}, {"$set": {"status": "processing"}}
    )

    with time_machine.travel(utcnow() + timedelta(minutes=6)):
        again = texts(cashier.send(events.redelivered(event)))[0]

    pid = purchase_id(first)
    assert again == f"Purchase {pid} was already recorded: ฿250.00 → 10 points. Nothing was added."
    assert len(purchases(store)) == 1 and balance(store, member) == 60
    assert store.member_by_line_id(member.id)["stats"]["visits"] == 1


# -- what is typed after the amount ---------------------------------------------------


def test_the_owner_can_change_what_a_receipt_number_looks_like(owner, cashier, member, store):
    code = code_of(store, member)
    assert "letters and digits, with at least one digit" in texts(owner.says("/rule show"))[0]

    owner.says("/rule receipt [A-Z]{3}")
    accepted = texts(cashier.says(f"/earn {code} 150 ABC"))[0]
    refused = texts(cashier.says(f"/earn {code} 160 R-1"))[0]

    assert store.purchase(purchase_id(accepted))["receipt"] == "ABC"
    assert refused.startswith("“R-1” is not a branch or a receipt number.")
    assert texts(owner.says("/rule receipt ([bad"))[0].startswith("Usage:")
    owner.says("/rule receipt default")
    assert texts(cashier.says(f"/earn {code} 160 R-1"))[0].startswith("Purchase ")


def test_branch_receipt_and_coupon_in_any_order(owner, cashier, member, store):
    coupon = give_coupon(owner, store, member)

    reply = texts(cashier.says(f"/earn {code_of(store, member)} 250 coupon:{coupon} R7 siam"))[0]

    purchase = store.purchase(purchase_id(reply))
    assert (purchase["branch"], purchase["receipt"], purchase["coupon"]) == ("siam", "R7", coupon)


# -- the same purchase twice within 2 minutes ----------------------------------------


def test_the_same_purchase_again_within_two_minutes_asks_first(cashier, member, store):
    code = code_of(store, member)
    first = purchase_id(texts(cashier.says(f"/earn {code} 350"))[0])

    [question] = cashier.says(f"/earn {code} 350")

    assert question["text"].startswith(
        "Alice already has the same purchase (฿350.00 @ asoke) from "
    )
    assert question["text"].endswith(f": purchase {first}. Record another one?")
    assert len(purchases(store)) == 1
    yes = buttons(question)["Yes, record again"]
    recorded = texts(cashier.taps(yes))[0]
    second = purchase_id(recorded)
    assert second != first and balance(store, member) == 50 + 14 + 14
    # A double tap, or the button pressed again later, records nothing more.
    assert texts(cashier.taps(yes)) == [
        f"Purchase {second} was already recorded: ฿350.00 → 14 points. Nothing was added."
    ]
    assert len(purchases(store)) == 2
    [asked_again] = cashier.says(f"/earn {code} 350")
    assert texts(cashier.taps(buttons(asked_again)["No"])) == ["Nothing was recorded."]
    assert len(purchases(store)) == 2


def test_after_two_minutes_the_same_purchase_is_recorded_without_asking(cashier, member, store):
    code = code_of(store, member)
    cashier.says(f"/earn {code} 350")

    with time_machine.travel(utcnow() + timedelta(minutes=2, seconds=1)):
        again = texts(cashier.says(f"/earn {code} 350"))[0]

    other_amount = texts(cashier.says(f"/earn {code} 351"))[0]
    assert again.startswith("Purchase ") and other_amount.startswith("Purchase ")
    assert len(purchases(store)) == 3


def test_a_voided_purchase_does_not_ask(cashier, member, store):
    code = code_of(store, member)
    cashier.says(f"/void {purchase_id(texts(cashier.says(f'/earn {code} 350'))[0])}")

    assert texts(cashier.says(f"/earn {code} 350"))[0].startswith("Purchase ")


# -- which branch? ----------------------------------------------------------------


def test_an_owner_without_a_branch_is_asked_which_one(owner, cashier, member, store):
    code = code_of(store, member)

    [question] = owner.says(f"/earn {code} 150")

    assert question["text"] == (
        "Which branch was this ฿150.00 purchase for Alice at? Or type the branch after the amount."
    )
    choices = buttons(question)
    assert list(choices) == ["Asoke", "Siam Square", "Cancel"]
    assert purchases(store) == []
    at_siam = texts(owner.taps(choices["Siam Square"]))[0]
    pid = purchase_id(at_siam)
    assert at_siam.startswith(f"Purchase {pid}: ฿150.00 @ siam → 6 points")
    # Only one of the answers records the purchase, however often they are tapped.
    already = [f"Purchase {pid} was already recorded: ฿150.00 → 6 points. Nothing was added."]
    assert texts(owner.taps(choices["Siam Square"])) == already
    assert texts(owner.taps(choices["Asoke"])) == already
    assert [p["branch"] for p in purchases(store)] == ["siam"]
    answers = [e for e in store.audit_entries(command="/earn") if e["args"][0] == "(answer)"]
    assert sorted(e["result"] for e in answers) == ["already-recorded", "already-recorded", "ok"]


def test_the_branch_question_carries_everything_within_lines_limit(owner, cashier, member, store):
    store.add_branch("central-world-east-2", "Central World")  # the longest branch code
    coupon = give_coupon(owner, store, member)
    receipt = "1" + "#" * 39  # the longest receipt number once URL-encoded
    code = code_of(store, member)

    [question] = owner.says(f"/earn {code} 99,999.99 {receipt} coupon:{coupon}")

    data = buttons(question)["Central World"]
    assert len(data) <= 300
    [reply] = owner.taps(data)
    purchase = store.purchase(purchase_id(reply["text"]))
    assert (purchase["amount"], purchase["branch"], purchase["receipt"], purchase["coupon"]) == (
        9_999_999,
        "central-world-east-2",
        receipt,
        coupon,
    )


def test_an_old_or_altered_answer_records_nothing(owner, cashier, member, store):
    [question] = owner.says(f"/earn {code_of(store, member)} 150")
    data = buttons(question)["Asoke"]
    altered = "&".join(
        f"{k}={'1500000' if k == 'v' else v}" for k, v in parse_qsl(data, keep_blank_values=True)
    )
    expired = ["This question has expired. Nothing was recorded: type /earn again."]

    assert texts(owner.taps(altered)) == expired
    with time_machine.travel(utcnow() + timedelta(minutes=6)):
        assert texts(owner.taps(data)) == expired
    assert texts(member.taps(data)) == []  # not staff
    assert purchases(store) == []
    answers = [e for e in store.audit_entries(command="/earn") if e["args"] == ["(answer)"]]
    assert sorted(e["result"] for e in answers) == ["denied", "expired", "forged"]


def test_without_branches_an_owner_earns_at_once(owner, member, store):
    reply = texts(owner.says(f"/earn {code_of(store, member)} 150"))[0]

    assert store.purchase(purchase_id(reply))["branch"] is None


# -- counts read naturally ------------------------------------------------------------


def test_one_point_and_one_visit_are_singular(owner, cashier, member, store):
    code = code_of(store, member)

    earned = texts(cashier.says(f"/earn {code} 25"))[0]
    told = texts(member.inbox)[-1]
    lookup = texts(cashier.says(f"/member {code}"))[0]
    voided = texts(cashier.says(f"/void {purchase_id(earned)}"))[0]
    adjusted = texts(owner.says(f"/adjust {code} -49 tidy up"))[0]

    assert "→ 1 point (base 1)." in earned and earned.endswith("Alice now has 51 points.")
    assert told == "Thank you! You earned 1 point for ฿25.00. Balance: 51 points."
    assert re.search(r"^1 visit, last on ", lookup, re.M)
    assert voided == f"Purchase {purchase_id(earned)} voided: 1 point taken back. Balance: 50."
    assert adjusted == "Alice: -49 points (tidy up). Balance: 1."
    assert texts(member.inbox)[-1] == (
        "Your points were corrected by -49 (tidy up). Balance: 1 point."
    )
