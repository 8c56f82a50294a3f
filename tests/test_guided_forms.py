"""Owners' guided forms: one question at a time, buttons, a summary and Confirm; photos.

Each form ends in exactly one reward, coupon, branch, invite or rule, whatever is
tapped twice; wrong answers get the one-line command's refusal and lose nothing.
"""

import io
import re
import zlib
from datetime import timedelta
from urllib.parse import unquote, urlsplit

import pytest
import time_machine
from PIL import Image

from bot.loyalty import points
from bot.store import utcnow
from simulator import events as ev
from simulator import texts
from tests.conftest import app_settings

SHOP = "https://shop.example"


@pytest.fixture
def config(mongo_uri, sim):
    # Image URLs are made from PUBLIC_BASE_URL; LINE fetches only https.
    return {**app_settings(mongo_uri, sim), "PUBLIC_BASE_URL": SHOP}


def button(replies, label: str) -> dict:
    """The action of the quick reply called `label` under the last message."""
    items = replies[-1]["quickReply"]["items"]
    for item in items:
        if item["action"]["label"] == label:
            return item["action"]
    raise AssertionError(f"no {label!r} among {[i['action']['label'] for i in items]}")


def tap(user, replies, label: str):
    return user.perform(button(replies, label))


def png(width: int, height: int, colour="teal") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(out, "PNG")
    return out.getvalue()


def oversized_png() -> bytes:
    """A real PNG of more than 10 MB: a small picture plus a large private chunk."""
    data = png(20, 20)
    kind, body = b"prVt", b"x" * (10 * 1024 * 1024 + 1)
    chunk = len(body).to_bytes(4, "big") + kind + body + zlib.crc32(kind + body).to_bytes(4, "big")
    return data[:33] + chunk + data[33:]  # after the 8-byte signature and the IHDR chunk


def sends_file(user, sim, data: bytes, stored_days_ago: int = 0):
    """The user sends a photo whose bytes are `data` (the LINE app's own check bypassed),
    stored at the content endpoint `stored_days_ago` days ago."""
    event = ev.image_message(user.id)
    with time_machine.travel(utcnow() - timedelta(days=stored_days_ago), tick=False):
        sim.platform.store_content(event["message"]["id"], data, "image/jpeg")
    return user.send(event, {"type": "image", "id": event["message"]["id"]})


def test_an_owner_adds_a_reward_by_answering_questions(owner, store):
    assert texts(owner.perform({"type": "postback", "data": "a=form_reward"})) == [
        "New reward. What is it called? Type its name in your language."
    ]
    owner.says("Thai milk tea")
    replies = owner.says("ชาไทย")  # Thai
    replies = tap(owner, replies, "Skip")  # Chinese
    assert texts(replies) == ["How many points does it cost?"]
    refused = owner.says("9" * 25)
    assert texts(refused)[0] == (
        "Points: “9999999999999999999…” is not a whole number from 1 to 1,000,000."
    )
    replies = tap(owner, refused, "100")
    replies = owner.says("40")
    replies = tap(owner, replies, "Skip")  # no picture

    assert texts(replies) == [
        "New reward: Thai milk tea\n• English: Thai milk tea\n• ไทย: ชาไทย\n100 points\n"
        "Stock: 40\nNo image.\nAdd it?"
    ]
    assert store.list_rewards() == []  # nothing before Confirm
    done = tap(owner, replies, "Confirm")
    again = tap(owner, replies, "Confirm")  # a double tap

    assert texts(done)[0].startswith("Reward W")
    assert texts(again) == ["That form is already finished or cancelled; nothing more was changed."]
    [reward] = store.list_rewards()
    assert reward["names"] == {"default": "Thai milk tea", "en": "Thai milk tea", "th": "ชาไทย"}
    assert (reward["points"], reward["stock"], reward["active"]) == (100, 40, True)
    [entry] = store.audit_entries(command="/reward")
    assert entry["args"] == ["form", "reward"] and entry["result"] == "ok"


def test_a_photo_sent_to_the_form_becomes_the_rewards_image(owner, store, client):
    owner.says("/reward add")
    for answer in ("Mango sticky rice", "skip", "skip", "250", "unlimited"):
        replies = owner.says(answer)
    assert button(replies, "Photo library")["type"] == "cameraRoll"

    replies = owner.sends_image(png(1600, 1200))
    tap(owner, replies, "Confirm")

    [reward] = store.list_rewards()
    url = reward["image_url"]
    assert re.fullmatch(rf"{SHOP}/images/[0-9a-f]{{64}}\.png", url)
    served = client.get(urlsplit(url).path)
    assert served.status_code == 200 and served.mimetype == "image/png"
    assert "immutable" in served.headers["Cache-Control"]
    assert Image.open(io.BytesIO(served.data)).size == (1024, 768)  # fitted into 1024×1024
    assert client.get(urlsplit(url).path.replace(".png", ".jpg")).status_code == 404


def test_unusable_photos_are_refused_and_the_form_keeps_its_answers(owner, store, sim):
    owner.says("/reward add")
    for answer in ("Iced coffee", "skip", "skip", "80", "5"):
        owner.says(answer)
    question = "A picture? Send a photo, type its link (https://…), or skip."

    too_large = owner.sends_image(oversized_png())
    not_image = sends_file(owner, sim, b"%PDF-1.7 a menu, not a photo")
    expired = sends_file(owner, sim, png(300, 300), stored_days_ago=8)
    sim.inject("message_content", 500, times=5)
    unavailable = owner.sends_image(png(300, 300))

    assert texts(too_large) == [
        "That image is too large: it can be at most 10 MB. Please send a smaller one.",
        question,
    ]
    assert texts(not_image) == [
        "That file is not a JPEG or PNG image. Please send a photo.",
        question,
    ]
    assert texts(expired)[0].startswith("LINE no longer has that image")
    assert (
        texts(unavailable)[0] == "I could not download that image just now. Please send it again."
    )
    assert store.db.images.count_documents({}) == 0
    summary = owner.sends_image(png(300, 300, "orange"))
    assert "80 points\nStock: 5\nWith an image." in texts(summary)[0]
    tap(owner, summary, "Confirm")
    [reward] = store.list_rewards()
    assert reward["names"]["default"] == "Iced coffee" and reward["image_url"].startswith(SHOP)


def test_an_owner_gives_a_coupon_step_by_step(owner, member, store):
    code = store.member_by_line_id(member.id)["code"]
    owner.says("/coupon give")
    assert texts(owner.says("ZZZZZZ"))[0] == "No member found for ZZZZZZ."
    kinds = owner.says(code)
    replies = tap(owner, kinds, "Percent off")
    assert texts(replies) == ["How many percent off (1–100)?"]
    assert texts(owner.says("150"))[0] == "Percent: “150” is not a whole number from 1 to 100."
    days = owner.says("20")
    stale = tap(owner, kinds, "Amount off")  # a button from an earlier question
    assert texts(stale) == [
        "That button belongs to an earlier question.",
        "Valid for how many days (1–365)?",
    ]
    replies = tap(owner, days, "14")
    summary = tap(owner, replies, "Skip")  # no minimum spend
    assert texts(summary) == [
        f"A coupon for Alice Smith ({code}): 20% off.\nValid for 14 days.\nSend it?"
    ]
    done = tap(owner, summary, "Confirm")
    tap(owner, summary, "Confirm")

    [coupon] = store.db.coupons.find()
    assert (coupon["kind"], coupon["value"], coupon["min_spend"]) == ("percent", 20, 0)
    assert texts(done) == [f"Coupon {coupon['_id']} (20% off) sent to Alice."]
    assert texts(member.inbox)[-1].startswith(f"A gift for you: 20% off. Code {coupon['_id']}")


def test_an_owner_adds_a_branch_and_cancel_leaves_nothing(owner, store):
    owner.says("/branch add")
    owner.says("cancel")
    assert store.list_branches() == []

    replies = owner.perform({"type": "postback", "data": "a=form_branch"})
    assert texts(owner.says("Asoke!"))[0] == (
        "A branch code is 2 to 20 letters, digits or dashes, like “asoke”."
    )
    owner.says("asoke")
    replies = owner.says("Asoke, Sukhumvit 21")
    assert texts(replies) == ["Add branch asoke (Asoke, Sukhumvit 21)?"]
    assert texts(tap(owner, replies, "Confirm")) == ["Branch asoke (Asoke, Sukhumvit 21) added."]

    owner.says("/branch add")
    assert texts(owner.says("ASOKE"))[0] == "Branch asoke already exists."
    assert [b["_id"] for b in store.list_branches()] == ["asoke"]


def test_an_invite_is_made_once_and_shared_to_the_new_staff_member(owner, sim, store):
    store.add_branch("asoke", "Asoke")
    noi = sim.user("noi", "Noi", language="en")
    noi.state.friend = True

    replies = owner.perform({"type": "postback", "data": "a=form_invite"})
    assert [i["action"]["label"] for i in replies[-1]["quickReply"]["items"]] == [
        "All branches",
        "Asoke",
        "Cancel",
    ]
    summary = tap(owner, replies, "Asoke")
    made = tap(owner, summary, "Confirm")
    tap(owner, summary, "Confirm")

    assert store.db.invites.count_documents({}) == 1
    code = re.search(r": ([2-9A-Z]{8})\n", texts(made)[0]).group(1)
    share = made[1]["contents"]["footer"]["contents"][0]["action"]
    assert share["label"] == "Share invite"
    assert owner.perform(share).effect["type"] == "line"  # LINE's share screen
    shared = unquote(share["uri"].removeprefix("https://line.me/R/share?text="))
    assert f"/join {code}" in shared
    link = re.search(r"https://line\.me/R/oaMessage/\S+", shared).group(0)

    assert noi.opens(link)["type"] == "typed"  # our chat opens with `/join <code>` typed
    welcome = noi.sends_draft()
    assert texts(welcome)[0].startswith("Welcome to the team! You are now staff of asoke.")
    assert store.staff_record(noi.id)["branch"] == "asoke"


def test_an_owner_changes_the_earn_rate_and_adds_a_promotion(owner, store):
    store.add_branch("asoke", "Asoke")
    replies = owner.perform({"type": "postback", "data": "a=form_rule"})
    replies = tap(owner, replies, "Earn rate")
    replies = tap(owner, replies, "2")
    assert texts(replies) == ["2 points for every how many baht spent?"]
    assert texts(owner.says("0"))[0] == "Amount: “0” is not an amount from ฿0.01 to ฿100,000.00."
    summary = owner.says("50")
    assert texts(summary) == [
        "After the change:\nEarn: 2 points per ฿50.00, rounded down.\nSave it?"
    ]
    tap(owner, summary, "Confirm")
    rules = points.load_rules(store)
    assert (rules.rate_points, rules.rate_amount) == (2, 5_000)

    replies = owner.says("/rule promo add")
    assert texts(owner.says("20"))[0] == "Factor: “20” is not a number from 1.01 to 10."
    replies = tap(owner, owner.says("2"), "Asoke")
    replies = tap(owner, replies, "Mon–Fri")
    assert texts(owner.says("16:00-14:00"))[0] == "A time window like 14:00-16:00."
    replies = tap(owner, owner.says("14:00-16:00"), "Skip")
    summary = owner.says("2026-12-31")
    assert texts(summary)[0].startswith(
        "New promotion: ×2 asoke Mon–Fri 14:00–16:00 … → Dec 31, 2026"
    )
    tap(owner, summary, "Confirm")
    tap(owner, summary, "Confirm")

    [promotion] = points.load_rules(store).promotions
    assert (promotion.factor, promotion.branch, promotion.days) == (2.0, "asoke", (0, 1, 2, 3, 4))
    assert (promotion.start, promotion.end, promotion.valid_until) == (
        "14:00",
        "16:00",
        "2026-12-31",
    )


def test_commands_stickers_and_other_buttons_mid_form_do_not_break_it(owner, store):
    owner.says("/branch add")
    owner.says("ratchada")
    question = "Its name, as customers know it?"
    in_the_middle = "You are in the middle of “New branch”. Answer the question, or type “cancel”."

    assert texts(owner.says("/reward list")) == [in_the_middle, question]
    assert texts(owner.sends_sticker()) == ["Please answer with text.", question]
    assert texts(owner.taps("a=form_coupon")) == [in_the_middle, question]
    assert texts(owner.sends_image(png(50, 50))) == ["I don't need a photo here.", question]
    summary = owner.says("Ratchada")
    tap(owner, summary, "Confirm")
    assert [b["_id"] for b in store.list_branches()] == ["ratchada"]


def test_staff_cannot_open_owner_forms(cashier, store):
    assert texts(cashier.taps("a=form_reward")) == ["Sorry, you are not allowed to use /reward."]
    assert (store.member_by_line_id(cashier.id) or {}).get("conversation") is None


def test_a_campaign_photo_goes_into_the_campaign(owner, store):
    owner.says("/campaign new")
    for answer in ("Mango season", "all", "news", "Mangoes are here", "Come and taste them"):
        owner.says(answer)
    owner.sends_image(png(800, 800, "gold"))
    for answer in ("skip", "skip", "10", "now"):
        owner.says(answer)
    replies = owner.says("7")

    [campaign] = store.list_campaigns()
    assert campaign["content"]["image"].startswith(f"{SHOP}/images/")
    assert replies[0]["contents"]["hero"]["url"] == campaign["content"]["image"]
