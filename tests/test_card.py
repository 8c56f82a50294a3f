"""The rotating QR member card."""

from datetime import timedelta
from urllib.parse import urlsplit

import time_machine

from bot.loyalty import qr
from bot.store import utcnow
from simulator import texts


def card_token(card: dict) -> str:
    url = card["contents"]["hero"]["url"]
    return urlsplit(url).path.removeprefix("/qr/").removesuffix(".png")


def test_the_card_shows_name_tier_points_and_a_qr(member, store, client):
    card = member.says("card")[0]
    code = store.member_by_line_id(member.id)["code"]

    assert card["type"] == "flex"
    assert card["altText"] == f"Member card: {code}, 50 points"
    header = card["contents"]["header"]["contents"]
    assert header[0]["contents"][1]["text"] == "Alice Smith"
    assert header[1]["text"] == "Member"
    image = client.get(urlsplit(card["contents"]["hero"]["url"]).path)
    assert image.status_code == 200
    assert image.headers["Content-Type"] == "image/png"
    assert image.data.startswith(b"\x89PNG")


def test_staff_can_earn_with_the_qr_token(cashier, member, store):
    token = card_token(member.says("card")[0])

    reply = texts(cashier.says(f"/earn {token} 150"))[0]

    assert reply.startswith("Purchase ")
    assert store.member_by_line_id(member.id)["points"] == 56


def test_an_expired_qr_is_refused_and_a_refreshed_one_works(cashier, member, store):
    old = card_token(member.says("card")[0])

    with time_machine.travel(utcnow() + timedelta(minutes=6)):
        refused = texts(cashier.says(f"/earn {old} 150"))[0]
        fresh = card_token(member.taps("a=card")[0])
        accepted = texts(cashier.says(f"/earn {fresh} 150"))[0]

    assert refused == "This QR code has expired. Ask the customer to refresh their card."
    assert accepted.startswith("Purchase ")
    assert store.member_by_line_id(member.id)["points"] == 56


def test_a_forged_qr_is_refused_and_gets_no_image(cashier, member, store, client, services):
    genuine = qr.make_token(services.config.SECRET_KEY, store.member_by_line_id(member.id)["_id"])
    forged = genuine[:-2] + ("AA" if not genuine.endswith("AA") else "BB")

    assert texts(cashier.says(f"/earn {forged} 150")) == [
        "This QR code is not a valid member card."
    ]
    assert client.get(f"/qr/{forged}.png").status_code == 404


def test_tokens_expire_after_five_minutes():
    token = qr.make_token("secret", "m1", now=1_000_000)

    assert qr.read_token("secret", token, now=1_000_299) == "m1"
    try:
        qr.read_token("secret", token, now=1_000_301)
    except qr.TokenError as error:
        assert error.reason == "expired"
    else:
        raise AssertionError("an expired token was accepted")


def test_a_non_member_is_asked_to_join(alice):
    assert texts(alice.says("card"))[0].startswith("You are not a member yet.")
