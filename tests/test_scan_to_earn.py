"""Scan to earn with LINE's own QR reader: every QR the bot shows opens its chat with a
staff command typed, which the bot accepts from staff and kindly refuses from customers.

The QR images are fetched from the app and read by a real decoder (zxing-cpp, as the
simulated LINE app does), so these tests see what a phone camera sees.
"""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import quote, urlsplit

import time_machine

from bot import create_app
from bot.loyalty import qr
from bot.marketing import campaign_message
from bot.store import utcnow
from simulator import texts
from simulator.app import read_qr
from simulator.events import BOT_BASIC_ID
from tests.test_rewards import add_reward, redeem

CHAT = f"https://line.me/R/oaMessage/{quote(BOT_BASIC_ID, safe='')}/"  # the shop's chat
REFUSAL = (
    "This QR code is for our staff at the counter: show it to the cashier when you pay "
    "and they will scan it for you."
)


def qr_png(client, message: dict) -> bytes:
    """The QR image a Flex message shows, fetched from the app as LINE fetches it."""
    [url] = re.findall(r"https?://[^\"']+/qr/[^\"']+\.png", str(message))
    response = client.get(urlsplit(url).path)
    assert response.status_code == 200 and response.mimetype == "image/png"
    return response.data


def code_of(store, user) -> str:
    return store.member_by_line_id(user.id)["code"]


def test_a_card_qr_opens_the_chat_with_earn_typed_and_the_cashier_adds_the_amount(
    member, cashier, client, store
):
    card = member.says("card")[0]
    token = urlsplit(card["contents"]["hero"]["url"]).path.removeprefix("/qr/")[:-4]

    scanned = cashier.scans(qr_png(client, card))

    assert scanned["scanned"].startswith(CHAT + "?%2Fearn%20")
    assert scanned["type"] == "typed" and cashier.draft == f"/earn {token} "
    reply = texts(cashier.says(cashier.draft + "150"))[0]
    assert reply.startswith("Purchase ") and "฿150.00 @ asoke → 6 points" in reply
    assert store.member_by_line_id(member.id)["points"] == 56


def test_reward_and_coupon_qrs_open_the_chat_with_use_typed(
    owner, member, cashier, client, store, services
):
    cookie = add_reward(owner, "30 5 Cookie")
    reward_code = redeem(member, cookie)[0]
    given = texts(owner.says(f"/coupon give {code_of(store, member)} free Thai tea"))[0]
    coupon = store.coupon(re.match(r"Coupon (C\w{7})", given).group(1))
    campaign = {"content": {"title": "A gift", "text": "For you"}, "template": "coupon"}
    gift = campaign_message.render(
        services.config, campaign, store.member_by_line_id(member.id), None, coupon=coupon
    )

    for message, handed in ((reward_code, "Cookie"), (gift, "free Thai tea")):
        scanned = cashier.scans(qr_png(client, message))
        assert scanned["scanned"].startswith(CHAT + "?%2Fuse%20")
        assert re.fullmatch(r"/use SMR1\.\S+", cashier.draft)
        assert texts(cashier.sends_draft()) == [f"OK: hand over {handed} to Alice."]


def test_a_customer_who_scans_a_code_meant_for_the_counter_is_kindly_refused(
    owner, member, client, store
):
    card = member.says("card")[0]
    cookie = add_reward(owner, "30 5 Cookie")
    reward_code = redeem(member, cookie)[0]

    for message in (card, reward_code):
        member.scans(qr_png(client, message))
        assert texts(member.sends_draft()) == [REFUSAL]
    token = urlsplit(card["contents"]["hero"]["url"]).path.removeprefix("/qr/")[:-4]
    assert texts(member.says(token)) == [REFUSAL]  # the code read by another app, pasted
    assert texts(member.says(f"/earn {code_of(store, member)} 150")) == [
        "Sorry, you are not allowed to use /earn."
    ]
    assert store.db.purchases.count_documents({}) == 0
    assert store.redemption(reward_code["contents"]["body"]["contents"][0]["text"])["status"] == (
        "issued"
    )


def test_a_scan_sent_without_an_amount_asks_for_it_with_recent_ticket_sizes(
    member, cashier, client, store
):
    code = code_of(store, member)
    with time_machine.travel(utcnow() - timedelta(minutes=30)):
        for amount, receipt in ((120, "R1"), (65, "R2"), (120, "R3"), (250, "R4")):
            cashier.says(f"/earn {code} {amount} {receipt}")
    card = member.says("card")[0]
    cashier.scans(qr_png(client, card))

    question = cashier.sends_draft()[0]  # the cashier forgot to type the amount

    assert question["text"] == (
        "How much did Alice spend? Tap an amount, or send “/earn " + code + " <amount>”."
    )
    buttons = [item["action"] for item in question["quickReply"]["items"]]
    assert [b["label"] for b in buttons] == ["฿65.00", "฿120.00", "฿250.00", "Cancel"]
    recorded = texts(cashier.taps(buttons[1]["data"]))[0]
    assert "฿120.00 @ asoke → 4 points" in recorded
    again = texts(cashier.taps(buttons[2]["data"]))[0]  # a second tap on the same question
    assert again.startswith("Purchase ") and "was already recorded" in again
    assert store.db.purchases.count_documents({}) == 5
    assert store.audit_entries(command="/earn", result="ask-amount")


def test_a_token_sent_alone_is_taken_as_the_command_it_stands_for(member, cashier, store):
    token = qr.make_token("another-shop", "nobody")  # not signed by us: refused as forged
    card = member.says("card")[0]
    real = urlsplit(card["contents"]["hero"]["url"]).path.removeprefix("/qr/")[:-4]

    assert texts(cashier.says(token)) == ["This QR code is not a valid member card."]
    question = texts(cashier.says(real))[0]
    assert question.startswith("How much did Alice spend?")


def test_the_basic_id_comes_from_line_once_or_from_the_configuration(
    member, client, sim, config, store
):
    first = member.says("card")[0]
    with time_machine.travel(utcnow() + timedelta(minutes=6)):
        second = member.says("card")[0]
    texts_read = [read_qr(qr_png(client, card)) for card in (first, second)]

    assert all(t.startswith(CHAT) for t in texts_read)
    assert texts_read[0] != texts_read[1]
    assert len(sim.requests("bot_info")) == 1

    configured = create_app({**config, "LINE_BOT_BASIC_ID": "@shop"})
    try:
        image = qr_png(configured.test_client(), first)
    finally:
        configured.extensions["samachik"].store.client.close()
        configured.extensions["samachik"].line.close()
    assert read_qr(image).startswith("https://line.me/R/oaMessage/%40shop/?%2Fearn%20SMC1.")
    assert len(sim.requests("bot_info")) == 1


def test_without_the_basic_id_the_qr_holds_the_bare_token(member, client, sim):
    sim.inject("bot_info", 500, times=5)
    card = member.says("card")[0]

    token = urlsplit(card["contents"]["hero"]["url"]).path.removeprefix("/qr/")[:-4]
    assert read_qr(qr_png(client, card)) == token
