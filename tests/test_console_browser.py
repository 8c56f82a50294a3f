"""The chat console in a real browser (Chromium): what a tester sees and taps.

The bot runs in-process behind the simulator; its QR images are served over HTTP so
the page shows them as a phone would. Set CONSOLE_SCREENSHOTS=<dir> to keep
screenshots of each screen at phone (390 px) and desktop (1280 px) width.
"""

from __future__ import annotations

import io
import json
import os
import threading
from pathlib import Path

import pytest
from conftest import OWNER, app_settings, free_port, sign_up
from PIL import Image, ImageDraw, ImageFont
from werkzeug.serving import make_server

from bot import create_app
from simulator import events as ev
from simulator.line_urls import oa_message_url

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium"),
]
sync_api = pytest.importorskip("playwright.sync_api")
SHOTS = os.environ.get("CONSOLE_SCREENSHOTS")
WIDTHS = {"phone": 390, "desktop": 1280}


@pytest.fixture
def served(mongo_uri, sim):
    """The bot, reachable over HTTP for its images, receiving the simulator's webhooks."""
    port = free_port()
    config = app_settings(mongo_uri, sim) | {"PUBLIC_BASE_URL": f"http://127.0.0.1:{port}"}
    application = create_app(config)
    services = application.extensions["samachik"]
    services.store.ensure_indexes()
    server = make_server("127.0.0.1", port, application, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    sim.reset()
    sim.connect(application)
    yield application
    server.shutdown()
    services.store.client.drop_database(config["MONGODB_DB"])
    services.store.client.close()
    services.line.close()


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM))
        yield launched
        launched.close()


def menu_image() -> bytes:
    """A 2500×843 menu: Card | Rewards | Scan, drawn with their labels."""
    image = Image.new("RGB", (2500, 843), "#0B6E4F")
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=120)
    for index, label in enumerate(("Card", "Rewards", "Scan")):
        x = index * 833
        draw.rectangle((x + 20, 20, x + 813, 823), outline="#FFFFFF", width=8)
        draw.text((x + 416, 421), label, fill="#FFFFFF", font=font, anchor="mm")
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def give_menu(sim) -> None:
    """The merchant's default menu, made through the platform as the bot would."""
    platform = sim.platform
    body = {
        "size": {"width": 2500, "height": 843},
        "selected": True,
        "name": "member",
        "chatBarText": "Menu",
        "areas": [
            {"bounds": {"x": 0, "y": 0, "width": 833, "height": 843},
             "action": {"type": "message", "label": "Card", "text": "card"}},
            {"bounds": {"x": 833, "y": 0, "width": 834, "height": 843},
             "action": {"type": "message", "label": "Rewards", "text": "rewards"}},
            {"bounds": {"x": 1667, "y": 0, "width": 833, "height": 843},
             "action": {"type": "uri", "label": "Scan", "uri": "https://line.me/R/nv/QRCodeReader"}},
        ],
    }  # fmt: skip
    headers = {"Authorization": f"Bearer {platform.access_token}"}
    created = platform.call(
        "richmenu_create", "POST", "/v2/bot/richmenu", headers, json.dumps(body).encode()
    )
    menu_id = created.body["richMenuId"]
    image = headers | {"Content-Type": "image/png"}
    path = f"/v2/bot/richmenu/{menu_id}/content"
    assert platform.call("richmenu_image_upload", "POST", path, image, menu_image()).status == 200
    path = f"/v2/bot/user/all/richmenu/{menu_id}"
    assert platform.call("richmenu_default_set", "POST", path, headers, b"").status == 200


def shoot(page, name: str) -> None:
    """Screenshots at phone and desktop width, when CONSOLE_SCREENSHOTS names a folder."""
    if not SHOTS:
        return
    Path(SHOTS).mkdir(parents=True, exist_ok=True)
    for label, width in WIDTHS.items():
        page.set_viewport_size({"width": width, "height": 844})
        page.evaluate("document.querySelector('#log').scrollTop = 1e9")
        page.screenshot(path=f"{SHOTS}/{name}-{label}.png")
    page.set_viewport_size({"width": WIDTHS["phone"], "height": 844})


def open_console(browser, sim, user: str, width: int):
    page = browser.new_page(viewport={"width": width, "height": 844})
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{sim.base_url}/?user={user}")
    page.wait_for_selector("#log")
    return page, errors


def types(page, text: str) -> None:
    """Type and send like a user, then wait for the bot's answer to show."""
    answered = page.locator(".row.bot").count()
    page.fill("#text", text)
    page.press("#text", "Enter")
    page.wait_for_function("n => document.querySelectorAll('.row.bot').length > n", arg=answered)


def wait_for_image(page, selector: str) -> None:
    page.wait_for_function(
        "s => [...document.querySelectorAll(s)].every(i => i.complete && i.naturalWidth > 0)",
        arg=selector,
    )


def test_a_member_sees_and_taps_what_line_would_show(served, sim, browser):
    alice = sim.user("alice", "Alice", language="en")
    alice.follow()
    sign_up(alice)
    owner = sim.user(OWNER, "Owner", language="en")
    owner.state.friend = True
    owner.says("/reward add 100 20 Free Thai tea | th=ชาไทยฟรี")
    owner.says("/reward add 250 unlimited Tea set for two")
    owner.says("/adjust 0812345678 +100 opening gift")
    give_menu(sim)
    page, errors = open_console(browser, sim, "alice", WIDTHS["phone"])

    # The rich menu is at the bottom; its Card area sends "card".
    page.wait_for_selector("#richmenu .richmenu img")
    page.click("#richmenu [aria-label=Card]")
    page.wait_for_selector(".fx-bubble .fx-hero img")
    wait_for_image(page, ".fx-bubble .fx-hero img")
    assert page.locator(".row.user .msg-text").last.inner_text() == "card"
    assert "Alice Smith" in page.locator(".fx-bubble").last.inner_text()
    page.click("#menubar")  # fold the menu away, as a member reading the card would
    shoot(page, "member-card-en")
    page.click("#menubar")

    # Rewards: a carousel whose Redeem button posts back and shows its displayText.
    types(page, "rewards")
    page.wait_for_selector(".fx-carousel .fx-bubble")
    carousel = page.locator(".fx-carousel").last
    assert carousel.locator(".fx-bubble").count() == 2
    shoot(page, "rewards-en")
    carousel.locator("button", has_text="Redeem").first.click()
    page.wait_for_selector("#quick:not([hidden]) .chip")
    assert page.locator(".row.user .msg-text").last.inner_text() == "Redeem Free Thai tea"
    shoot(page, "redeem-quick-reply-en")
    page.click("#quick .chip >> text=Confirm")
    page.wait_for_selector(".row.bot:last-child .fx-hero img")
    wait_for_image(page, ".fx-hero img")
    shoot(page, "redemption-en")

    # The Scan area opens LINE's QR reader; a scanned oaMessage link types into the box.
    page.click("#richmenu [aria-label=Scan]")
    page.wait_for_selector("#scanner[open]")
    page.fill("#scan-text", oa_message_url(ev.BOT_BASIC_ID, "points"))
    page.click("#scan-go")
    page.wait_for_function("() => document.querySelector('#text').value === 'points'")

    # Reloading keeps both sides of the conversation.
    count = page.locator(".row.user").count()
    page.reload()
    page.wait_for_selector(".row.user")
    assert page.locator(".row.user").count() == count
    assert errors == []


def test_a_thai_newcomer_gets_quick_replies_and_the_language_chosen(served, sim, browser):
    page, errors = open_console(browser, sim, "somsri", WIDTHS["phone"])
    page.select_option("#lang", "th")
    # The header fits a phone: nothing sticks out sideways.
    assert page.evaluate("document.documentElement.scrollWidth") <= WIDTHS["phone"]

    page.click("#more summary")
    page.click("button[data-do=follow]")
    page.wait_for_selector(".row.bot")
    for answer in ("สมัครสมาชิก", "สมศรี", "ใจดี"):  # join, first name, last name
        types(page, answer)
    page.wait_for_selector("#quick:not([hidden]) .chip >> nth=2")
    shoot(page, "signup-quick-reply-th")

    assert sim.user("somsri").state.language == "th"
    page.locator("#quick .chip").first.click()

    # The birthday question's chip is a date picker: a real date input, within its bounds.
    page.wait_for_selector("#quick:not([hidden]) .chip[data-action*=datetimepicker]")
    answered = page.locator(".row.bot").count()
    page.click("#quick .chip[data-action*=datetimepicker]")
    page.wait_for_selector("#picker[open] input[type=date]")
    assert page.get_attribute("#picker-input", "max")
    page.fill("#picker-input", "1990-05-17")
    page.click("#picker-ok")
    page.wait_for_function("n => document.querySelectorAll('.row.bot').length > n", arg=answered)
    assert sim.requests("reply")[-1]["status"] == 200
    assert errors == []
