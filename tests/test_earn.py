"""Staff at the counter: earning, promotions, tiers, receipts, voids and adjustments."""

import re
from datetime import UTC, datetime

import pytest
import time_machine

from simulator import texts

WEDNESDAY_3PM_BANGKOK = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)


def code_of(store, user) -> str:
    return store.member_by_line_id(user.id)["code"]


def balance(store, user) -> int:
    return store.member_by_line_id(user.id)["points"]


def purchase_id(reply: str) -> str:
    return re.match(r"Purchase (\w{8}):", reply).group(1)


def test_earning_at_the_base_rate(cashier, member, store):
    code = code_of(store, member)

    reply = texts(cashier.says(f"/earn {code} 150"))[0]

    assert reply.splitlines() == [
        f"Purchase {purchase_id(reply)}: ฿150.00 @ asoke → 6 points (base 6).",
        "Alice now has 56 points.",
    ]
    assert balance(store, member) == 56
    assert texts(member.inbox)[-1] == (
        "Thank you! You earned 6 points for ฿150.00. Balance: 56 points."
    )
    purchase = store.purchase(purchase_id(reply))
    assert purchase["amount"] == 15_000 and purchase["branch"] == "asoke"
    assert purchase["staff"] == cashier.id and purchase["points"] == 6
    stats = store.member_by_line_id(member.id)["stats"]
    assert stats["visits"] == 1 and stats["spend"] == 15_000 and stats["branches"] == {"asoke": 1}


def test_double_points_on_weekday_afternoons(owner, cashier, member, store):
    owner.says("/rule promo add 2 days:mon-fri time:14:00-16:00")

    with time_machine.travel(WEDNESDAY_3PM_BANGKOK, tick=False):
        reply = texts(cashier.says(f"/earn {code_of(store, member)} 150"))[0]

    assert "→ 12 points (base 6, ×2 Mon–Fri 14:00–16:00)." in reply
    purchase = store.purchase(purchase_id(reply))
    assert purchase["local_hour"] == 15 and purchase["local_weekday"] == 2


def test_reaching_gold_is_announced_and_multiplies_the_next_purchase(cashier, member, store):
    code = code_of(store, member)

    upgrade = texts(cashier.says(f"/earn {code} 15000"))[0]

    assert upgrade.endswith("Upgraded to Gold!")
    assert "Congratulations, you are now Gold: you earn 1.5× points." in texts(member.inbox)[-1]
    assert store.member_by_line_id(member.id)["tier"] == "gold"
    next_visit = texts(cashier.says(f"/earn {code} 150"))[0]
    assert "→ 9 points (base 6, Gold ×1.5)." in next_visit


def test_a_receipt_is_credited_once_per_branch(cashier, member, store):
    code = code_of(store, member)
    cashier.says(f"/earn {code} 150 asoke R-1001")

    again = texts(cashier.says(f"/earn {code} 150 asoke R-1001"))[0]

    assert again.startswith("Receipt R-1001 was already credited")
    assert balance(store, member) == 56
    assert store.db.purchases.count_documents({}) == 1
    other_branch = texts(cashier.says(f"/earn {code} 150 siam R-1001"))[0]
    assert other_branch.startswith("Purchase ")


def test_voiding_reverses_the_points_once(cashier, member, store):
    earned = texts(cashier.says(f"/earn {code_of(store, member)} 250"))[0]
    pid = purchase_id(earned)

    reply = texts(cashier.says(f"/void {pid}"))[0]

    assert reply == f"Purchase {pid} voided: 10 points taken back. Balance: 50."
    assert balance(store, member) == 50
    assert store.purchase(pid)["status"] == "voided"
    assert "was cancelled, so 10 points were taken back" in texts(member.inbox)[-1]
    assert texts(cashier.says(f"/void {pid}")) == [f"Purchase {pid} was already voided."]
    assert texts(cashier.says("/void NOPE1234")) == ["No purchase NOPE1234."]


def test_a_void_after_spending_shows_a_negative_balance(owner, cashier, member, store):
    code = code_of(store, member)
    pid = purchase_id(texts(cashier.says(f"/earn {code} 2500"))[0])  # +100 → 150
    owner.says(f"/adjust {code} -140 spent at the fair")  # → 10

    reply = texts(cashier.says(f"/void {pid}"))[0].splitlines()

    assert reply[0].endswith("Balance: -90.")
    assert reply[1] == "The balance is negative: the member had already used these points."
    assert balance(store, member) == -90


@pytest.mark.parametrize(
    ("command", "complaint"),
    [
        ("/earn {code} 0", "“0” is not an amount."),
        ("/earn {code} -50", "“-50” is not an amount."),
        ("/earn {code} abc", "“abc” is not an amount."),
        ("/earn {code} 12.345", "“12.345” is not an amount."),
        ("/earn {code} " + "9" * 400, "is not an amount."),
        ("/earn {code} ²", "“²” is not an amount."),
        ("/earn {code} 100001", "฿100,001.00 is more than the ฿100,000.00 limit"),
        ("/earn {code} 150 mars R1", "“mars” is not a branch or a receipt number."),
        ("/earn {code} 350 baht", "“baht” is not a branch or a receipt number."),
        ("/earn {code} 350 R1 R2", "“R2” is not a branch or a receipt number."),
        ("/earn ZZZZZZ 150", "No member found for ZZZZZZ."),
        ("/earn 0899999999 150", "No member found for 0899999999."),
        ("/earn SMC1.abc.1.forged 150", "This QR code is not a valid member card."),
        ("/earn", "Usage: /earn <member> <amount> [branch] [receipt] [coupon:<code>]"),
        ("/earn {code}", "How much did Alice spend?"),  # a scanned card: asks, records nothing
    ],
)
def test_bad_earn_input_is_refused_and_writes_nothing(cashier, member, store, command, complaint):
    before = (balance(store, member), store.db.purchases.count_documents({}))

    reply = texts(cashier.says(command.format(code=code_of(store, member))))[0]

    assert complaint in reply
    assert (balance(store, member), store.db.purchases.count_documents({})) == before


def test_amounts_with_commas_and_satang(cashier, member, store):
    reply = texts(cashier.says(f"/earn {code_of(store, member)} 1,250.50"))[0]

    assert "฿1,250.50" in reply and "→ 50 points" in reply


def test_a_member_cannot_earn_for_themselves(member, store):
    assert texts(member.says(f"/earn {code_of(store, member)} 150")) == [
        "Sorry, you are not allowed to use /earn."
    ]


def test_adjust_is_for_owners_and_audited(owner, cashier, member, store):
    code = code_of(store, member)

    assert texts(cashier.says(f"/adjust {code} +20 goodwill")) == [
        "Sorry, you are not allowed to use /adjust."
    ]
    reply = texts(owner.says(f"/adjust {code} +20 birthday cake mix-up"))[0]

    assert reply == "Alice: +20 points (birthday cake mix-up). Balance: 70."
    [entry] = store.audit_entries(command="/adjust", result="ok")
    assert entry["subject_member_id"] == store.member_by_line_id(member.id)["_id"]
    assert "corrected by +20 (birthday cake mix-up)" in texts(member.inbox)[-1]
    assert texts(owner.says(f"/adjust {code} 0 nothing")) == [
        "Adjust by 1 to 1,000,000 points, up or down."
    ]


def test_points_and_history_for_the_member(cashier, member, store):
    cashier.says(f"/earn {code_of(store, member)} 150")

    summary = texts(member.says("points"))[0].splitlines()
    movements = texts(member.says("history"))[0].splitlines()

    assert summary[0] == "You have 56 points. Tier: Member."
    assert summary[1] == "Spend ฿4,850.00 more within 12 months to reach Silver."
    assert movements[0] == "Your last point movements:"
    assert movements[1].endswith("· +6 · Purchase")
    assert movements[2].endswith("· +50 · Bonus")


def test_staff_earn_defaults_to_their_branch_and_takes_a_receipt(cashier, member, store):
    reply = texts(cashier.says(f"/earn {code_of(store, member)} 99 INV-7"))[0]

    purchase = store.purchase(purchase_id(reply))
    assert purchase["branch"] == "asoke" and purchase["receipt"] == "INV-7"
