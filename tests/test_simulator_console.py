"""The console's control API: what the chat page reads and does, over HTTP.

A tiny echo bot stands in for ours (it answers through the simulator's reply
endpoint, with a quick reply), so these run without a database.
"""

from __future__ import annotations

import io
import json

import pytest
import qrcode
import requests
from flask import Flask, request
from PIL import Image

from simulator import events as ev
from simulator.line_urls import oa_message_url
from simulator.richmenu import MenuImage

TIMEOUT = 10


@pytest.fixture(autouse=True)
def fresh_platform(sim):
    sim.reset()
    yield
    sim.reset()


@pytest.fixture
def echo_bot(sim):
    """Replies "echo: <text>" with a Yes/No quick reply to every text message."""
    bot = Flask("echo")

    @bot.post("/callback")
    def callback():
        for event in json.loads(request.get_data())["events"]:
            if event.get("message", {}).get("type") != "text":
                continue
            items = [
                {"type": "action", "action": {"type": "message", "label": w, "text": w}}
                for w in ("Yes", "No")
            ]
            message = {
                "type": "text",
                "text": f"echo: {event['message']['text']}",
                "quickReply": {"items": items},
            }
            body = {"replyToken": event["replyToken"], "messages": [message]}
            headers = {"Authorization": f"Bearer {sim.platform.access_token}"}
            requests.post(f"{sim.base_url}/v2/bot/message/reply", json=body, headers=headers,
                          timeout=TIMEOUT)  # fmt: skip
        return "OK"

    sim.connect(bot)
    return bot


def console(sim, method: str, path: str, **kw) -> requests.Response:
    return requests.request(method, f"{sim.base_url}{path}", timeout=TIMEOUT, **kw)


def perform(sim, action: dict, params: dict | None = None) -> requests.Response:
    body = {"action": action, "params": params}
    return console(sim, "POST", "/_sim/users/alice/perform", json=body)


def png(width: int = 40, height: int = 40) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), "#FF8800").save(buffer, "PNG")
    return buffer.getvalue()


def test_looking_at_a_chat_does_not_create_the_user_so_the_chosen_language_counts(sim, echo_bot):
    looked = console(sim, "GET", "/_sim/users/newbie/chat").json()
    console(sim, "GET", "/_sim/users/newbie/messages")

    console(sim, "POST", "/_sim/users/newbie/say", json={"text": "hi", "language": "en"})

    assert looked["user"] is None
    assert sim.user("newbie").state.language == "en"


def test_the_chat_keeps_both_sides_in_order_across_reloads(sim, echo_bot):
    alice = sim.user("alice", "Alice", language="en")
    alice.follow()
    alice.says("hello")
    alice.taps("a=card", display_text="My card")
    alice.sends_sticker()

    chat = console(sim, "GET", "/_sim/users/alice/chat").json()

    sides = [(e["from"], e.get("alt")) for e in chat["entries"]]
    assert sides == [("user", None), ("user", None), ("bot", "echo: hello"), ("user", None),
                     ("user", None)]  # fmt: skip
    assert chat["entries"][0]["note"] is True
    assert "hello" in chat["entries"][1]["html"]
    assert "My card" in chat["entries"][3]["html"]
    assert "msg-sticker" in chat["entries"][4]["html"]
    assert chat["quickReply"] is None  # the last message is hers: quick replies are gone
    again = console(sim, "GET", "/_sim/users/alice/chat").json()
    assert again["entries"] == chat["entries"]


def test_quick_replies_of_the_last_message_are_offered_as_chips(sim, echo_bot):
    sim.user("alice").says("menu")

    chat = console(sim, "GET", "/_sim/users/alice/chat").json()

    assert 'class="chip"' in chat["quickReply"]
    assert ">Yes</button>" in chat["quickReply"]


def test_perform_runs_an_action_like_the_app(sim, echo_bot):
    tapped = perform(sim, {"type": "message", "label": "Yes", "text": "Yes"})
    link = oa_message_url(ev.BOT_BASIC_ID, "card")
    opened = perform(sim, {"type": "uri", "label": "Card", "uri": link})
    picker = {"type": "datetimepicker", "data": "a=b", "mode": "date", "max": "2000-01-01"}
    refused = perform(sim, picker, {"date": "2020-01-01"})

    assert tapped.json()["replies"][0]["text"] == "echo: Yes"
    assert opened.json()["effect"] == {"type": "typed", "uri": link, "text": "card"}
    assert refused.status_code == 400
    assert "max" in refused.json()["error"]


def test_a_photo_sent_from_the_console_shows_in_her_chat(sim, echo_bot):
    sent = console(sim, "POST", "/_sim/users/alice/image", data=png())

    assert sent.status_code == 200
    (entry,) = console(sim, "GET", "/_sim/users/alice/chat").json()["entries"]
    src = entry["html"].split('src="')[1].split('"')[0]
    assert console(sim, "GET", src).content == png()
    assert console(sim, "POST", "/_sim/users/alice/image", data=b"text").status_code == 400


def test_the_qr_reader_reads_an_image_text_or_an_image_the_bot_sent(sim, echo_bot):
    image = io.BytesIO()
    qrcode.make(oa_message_url(ev.BOT_BASIC_ID, "/earn K7M4QX")).save(image)

    from_image = console(sim, "POST", "/_sim/users/alice/scan", data=image.getvalue())
    from_text = console(sim, "POST", "/_sim/users/alice/scan", json={"text": "SMC1.x"})
    not_sent = console(sim, "POST", "/_sim/users/alice/scan", json={"url": "http://10.0.0.1/x.png"})

    assert from_image.json()["effect"]["text"] == "/earn K7M4QX"
    assert from_text.json()["effect"] == {"type": "text", "text": "SMC1.x", "scanned": "SMC1.x"}
    assert not_sent.status_code == 400


def test_the_rich_menu_a_user_sees_comes_with_the_chat(sim, echo_bot):
    alice = sim.user("alice")
    menus = sim.platform.richmenus
    menus.menus["richmenu-x"] = {
        "richMenuId": "richmenu-x", "size": {"width": 2500, "height": 843}, "selected": False,
        "name": "m", "chatBarText": "Tap me",
        "areas": [{"bounds": {"x": 0, "y": 0, "width": 2500, "height": 843},
                   "action": {"type": "message", "label": "Card", "text": "card"}}],
    }  # fmt: skip
    buffer = io.BytesIO()
    Image.new("RGB", (2500, 843)).save(buffer, "PNG")
    menus.images["richmenu-x"] = MenuImage(buffer.getvalue(), "image/png")
    menus.links[alice.id] = "richmenu-x"

    menu = console(sim, "GET", "/_sim/users/alice/chat").json()["richMenu"]

    assert menu["chatBarText"] == "Tap me"
    assert menu["selected"] is False
    assert 'aria-label="Card"' in menu["html"]
    image = console(sim, "GET", "/_sim/richmenus/richmenu-x/image")
    assert image.headers["Content-Type"] == "image/png"


def test_the_chat_list_previews_the_alt_text_and_names_users(sim, echo_bot):
    sim.user("alice", "Alice").says("hi")

    (listed,) = console(sim, "GET", "/_sim/users").json()

    assert listed["name"] == "alice"
    assert listed["displayName"] == "Alice"
    assert listed["preview"] == "echo: hi"


def test_the_language_of_an_existing_user_can_change(sim):
    sim.user("alice", language="th")

    console(sim, "POST", "/_sim/users/alice/profile", json={"language": "zh-TW"})

    assert sim.user("alice").state.language == "zh-TW"


def test_the_page_has_an_icon(sim):
    icon = console(sim, "GET", "/favicon.ico")

    assert icon.status_code == 200
    assert icon.headers["Content-Type"].startswith("image/svg+xml")
    assert console(sim, "GET", "/static/console.js").status_code == 200
