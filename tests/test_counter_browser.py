"""The counter, end to end in the chat console: three phones in a real browser.

A new customer follows the shop, joins from the guest rich menu (birthday from the
date picker) and opens her card; the cashier scans its QR with LINE's reader (the
test decodes the PNG the card shows and follows the LINE link it holds, so the
command lands typed in the cashier's chat), adds the amount and sends; the customer
sees her points, redeems a reward from the carousel, and the cashier scans the
reward's QR to hand it over; the owner taps Stats and Campaigns in the owner menu.

The bot runs in-process on the dev database behind the simulator, with its rich
menus deployed as `flask richmenu deploy` does. Playwright drives Debian's Chromium
(`make test` installs it). Screenshots of the key screens (390 px wide, as a phone)
go to a temporary folder; `COUNTER_SCREENSHOTS=docs` refreshes the README's.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import threading
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
import requests
import time_machine
import zxingcpp
from PIL import Image
from werkzeug.serving import make_server

from bot import create_app
from bot.i18n import translator
from simulator import texts
from simulator.events import BOT_BASIC_ID
from tests.conftest import OWNER, app_settings, free_port

CHROMIUM = "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 11, 20, 4, 0, tzinfo=UTC)  # 11:00 on a Friday in Bangkok
PHONE = {"width": 390, "height": 844}
CHAT = f"https://line.me/R/oaMessage/{BOT_BASIC_ID.replace('@', '%40')}/?"
TH, EN = translator("th"), translator("en")
STEP_TIMEOUT_MS = 15_000  # any one step; the whole walk takes seconds
MAX_SHOT = 400 * 1024  # a README image, not a download
MEMBER_MENU = ("Member card", "Points", "Rewards", "Coupons", "Profile", "Help")
STAFF_MENU = ["Scan to earn", "Use a code", "Member lookup", "My card", "Help"]
OWNER_MENU = [
    *STAFF_MENU[:3],
    "Stats",
    "Campaigns",
    "Dashboard",
    *STAFF_MENU[3:],
]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.devdb_only(reason="one walk through the browser against the dev server"),
    pytest.mark.skipif(
        not shutil.which(CHROMIUM), reason="Chromium is missing: `make test` installs it"
    ),
]
sync_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture
def shots(tmp_path) -> Path:
    wanted = os.environ.get("COUNTER_SCREENSHOTS")
    return (ROOT / wanted) if wanted else tmp_path


@pytest.fixture
def clock():
    """A fixed start, so dates (the birthday picker's latest day, the stats) are known."""
    with time_machine.travel(NOW, tick=True):
        yield


@pytest.fixture
def shop(clock, mongo_uri, sim):
    """The bot served over HTTP (its QR images), menus deployed, an owner and a cashier."""
    port = free_port()
    settings = app_settings(mongo_uri, sim) | {"PUBLIC_BASE_URL": f"http://127.0.0.1:{port}"}
    app = create_app(settings)
    services = app.extensions["samachik"]
    services.store.ensure_indexes()
    server = make_server("127.0.0.1", port, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    sim.reset()
    sim.connect(app)
    deployed = app.test_cli_runner().invoke(args=["richmenu", "deploy"])
    assert deployed.exit_code == 0, deployed.output
    open_shop(sim)
    yield app
    server.shutdown()
    services.store.client.drop_database(settings["MONGODB_DB"])
    services.store.client.close()
    services.line.close()


def open_shop(sim) -> None:
    """What the owner set up earlier, by chat: a branch, a cashier, rewards, a campaign."""
    owner = sim.user(OWNER, "Owner", language="en")
    owner.follow()
    owner.says("/branch add asoke Asoke")
    invite = texts(owner.says("/staff invite asoke"))[0]
    code = re.search(r"/join (\w+)", invite).group(1)
    cashier = sim.user("somchai", "Somchai", language="en")
    cashier.follow()
    assert texts(cashier.says(f"/join {code}"))[0].startswith("Welcome")
    owner.says("/reward add 60 20 Thai tea | th=ชาไทย")
    owner.says("/reward add 120 unlimited Cake set | th=ชุดเค้ก")
    replies = owner.says(
        "/campaign new Tea week | audience: optin | text: Two teas for one, {first_name}! "
        "| holdout: 0 | at: 2026-11-25 11:00"
    )
    owner.taps(replies[-1]["quickReply"]["items"][0]["action"]["data"])


@pytest.fixture
def browser(shop):
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM)
        yield chromium
        chromium.close()


class Phone:
    """One user's phone: the console open on their chat, at a phone's width."""

    def __init__(self, browser, sim, name: str, shots: Path):
        self.context = browser.new_context(
            viewport=PHONE, timezone_id="Asia/Bangkok", locale="th-TH"
        )
        self.context.set_default_timeout(STEP_TIMEOUT_MS)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.shots = shots
        self.page.goto(f"{sim.base_url}/?user={name}")
        self.page.wait_for_selector("#log")

    def bot_rows(self) -> int:
        return self.page.locator(".row.bot").count()

    def answered_after(self, count: int) -> None:
        """Wait until the bot has said something more than `count` messages."""
        self.page.wait_for_function(
            "n => document.querySelectorAll('.row.bot').length > n", arg=count
        )

    def says(self, text: str) -> None:
        """Type and send, then wait for the answer."""
        count = self.bot_rows()
        self.page.fill("#text", text)
        self.page.press("#text", "Enter")
        self.answered_after(count)

    def taps(self, selector: str) -> None:
        """Tap a button, chip or menu area, then wait for the answer."""
        count = self.bot_rows()
        self.page.click(selector)
        self.answered_after(count)

    def menu_labels(self) -> list[str]:
        self.page.wait_for_selector("#richmenu:not([hidden]) .richmenu img")
        return self.page.eval_on_selector_all(
            "#richmenu .richmenu-area", "areas => areas.map(a => a.getAttribute('aria-label'))"
        )

    def waits_for_menu(self, labels: list[str]) -> None:
        """The menu LINE shows this user (linked after the bot's reply) has these areas."""
        self.page.wait_for_function(
            "labels => JSON.stringify([...document.querySelectorAll("
            "'#richmenu:not([hidden]) .richmenu-area')].map(a => a.getAttribute('aria-label')))"
            " === JSON.stringify(labels)",
            arg=labels,
        )

    def last_bot_text(self) -> str:
        return self.page.locator(".row.bot .content").last.inner_text()

    def last_user_text(self) -> str:
        return self.page.locator(".row.user .msg").last.inner_text()

    def sees(self, text: str) -> None:
        """Wait until the chat shows `text` (a push arrives on the console's next poll)."""
        self.page.wait_for_function(
            "t => document.querySelector('#log').innerText.includes(t)", arg=text
        )

    def images_loaded(self) -> None:
        self.page.wait_for_function(
            "() => [...document.querySelectorAll('#log img, #richmenu img')]"
            ".every(i => i.complete && i.naturalWidth > 0)"
        )

    def fold_menu(self) -> None:
        if self.page.locator("#richmenu").is_visible():
            self.page.click("#menubar")

    def unfold_menu(self) -> None:
        if not self.page.locator("#richmenu").is_visible():
            self.page.click("#menubar")

    def shoot(self, name: str, top_of_last: bool = False) -> None:
        """A README screenshot of what the phone shows now, scrolled to the newest message
        (or to the top of it, for one taller than the screen)."""
        self.images_loaded()
        self.page.evaluate(
            "top => { const log = document.querySelector('#log');"
            " const last = [...log.querySelectorAll('.row')].pop();"
            " const below = last.getBoundingClientRect().top - log.getBoundingClientRect().top;"
            " log.scrollTop = top ? log.scrollTop + below - 8 : 1e9; }",
            top_of_last,
        )
        path = self.shots / f"counter-{name}.png"
        self.page.screenshot(path=str(path))
        assert path.stat().st_size < MAX_SHOT, f"{path.name} is {path.stat().st_size} bytes"


def qr_in(phone: Phone) -> tuple[bytes, str]:
    """The QR image the newest Flex message shows, and what LINE's reader reads in it."""
    src = phone.page.locator(".row.bot").last.locator(".fx-hero img").get_attribute("src")
    png = requests.get(src, timeout=5).content
    codes = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)).convert("L"))
    assert [c.format for c in codes] == [zxingcpp.BarcodeFormat.QRCode]
    return png, codes[0].text


def prefilled(link: str) -> str:
    """The text a LINE oaMessage link types into the chat's input box."""
    assert link.startswith(CHAT), link
    return unquote(urlsplit(link).query)


def test_the_counter_walk_from_follow_to_the_owners_stats(shop, sim, browser, shots):
    store = shop.extensions["samachik"].store
    nok = Phone(browser, sim, "nok", shots)
    follows_and_joins(nok, store, sim)
    card_link = opens_her_card(nok, store, sim)
    somchai = Phone(browser, sim, "somchai", shots)
    earn_text = scans_and_rings_up(somchai, card_link)
    reward_png, use_text, code = sees_points_and_redeems(nok, store, sim)
    hands_over(somchai, nok, reward_png, use_text, code)
    owner = Phone(browser, sim, OWNER, shots)
    reads_stats_and_campaigns(owner)

    assert earn_text.startswith("/earn ")
    for phone in (nok, somchai, owner):
        assert phone.errors == []


def follows_and_joins(nok: Phone, store, sim) -> None:
    """A new customer adds the shop as a friend, sees the guest menu and joins from it."""
    nok.page.select_option("#lang", "th")
    nok.page.click("#more summary")
    nok.taps("button[data-do=follow]")
    assert TH._("Welcome to %(merchant)s!", merchant=TH._("our shop")) in nok.last_bot_text()
    nok.waits_for_menu([TH._("Join"), TH._("About us"), TH._("Help")])
    nok.shoot("01-guest-menu")

    nok.taps("#richmenu .richmenu-area >> nth=0")
    assert nok.last_user_text() == TH._("Join")
    assert TH._("What is your first name?") in nok.last_bot_text()
    nok.says("นก")
    nok.says("ใจดี")
    nok.taps("#quick .chip[data-action*='v=female']")
    # The birthday chip is LINE's date picker: a real date input, no later than today.
    nok.page.click("#quick .chip[data-action*=datetimepicker]")
    nok.page.wait_for_selector("#picker[open] input[type=date]")
    assert nok.page.get_attribute("#picker-input", "max") == "2026-11-20"
    nok.page.fill("#picker-input", "1995-03-08")
    nok.shoot("02-birthday-picker")
    count = nok.bot_rows()
    nok.page.click("#picker-ok")
    nok.answered_after(count)
    assert TH._("What is your mobile number?") in nok.last_bot_text()
    nok.says("081 234 5678")
    nok.taps("#quick .chip[data-action*='v=skip']")  # no email
    nok.taps("#quick .chip[data-action*='privacy&v=yes']")
    nok.taps("#quick .chip[data-action*='marketing&v=yes']")
    welcome = nok.last_bot_text()
    assert TH._("Welcome, %(name)s!", name="นก") in welcome
    member = store.member_by_line_id(sim.user("nok").id)
    assert member["profile"]["birthday"] == "1995-03-08" and member["points"] == 50
    assert member["code"] in welcome and "50" in welcome
    nok.waits_for_menu([TH._(label) for label in MEMBER_MENU])


def opens_her_card(nok: Phone, store, sim) -> str:
    """Her card shows her name, code, points and a QR code: a LINE link to the shop's chat."""
    nok.taps(f"#richmenu [aria-label='{TH._('Member card')}']")
    card = nok.page.locator(".row.bot .content").last.inner_text()
    assert "นก ใจดี" in card and store.member_by_line_id(sim.user("nok").id)["code"] in card
    assert re.search(rf"{TH._('Points')}\s+50\b", card)
    nok.fold_menu()
    nok.shoot("03-member-card")
    _png, link = qr_in(nok)
    assert re.fullmatch(r"/earn SMC1\.\S+ ", prefilled(link))
    return link


def scans_and_rings_up(somchai: Phone, card_link: str) -> str:
    """The cashier taps "Scan to earn"; LINE's reader opens the card's link: the shop's
    chat with the command typed. The cashier adds the amount and sends."""
    somchai.waits_for_menu(STAFF_MENU)
    somchai.page.click("#richmenu [aria-label='Scan to earn']")
    somchai.page.wait_for_selector("#scanner[open]")
    somchai.shoot("04-cashier-reader")
    somchai.page.fill("#scan-text", card_link)
    somchai.page.click("#scan-go")
    earn_text = prefilled(card_link)
    somchai.page.wait_for_function(
        "t => document.querySelector('#text').value === t", arg=earn_text
    )
    assert somchai.page.inner_text("#toast") == "LINE typed this into the input box: press Send"
    # The keyboard is up instead of the menu; the cursor waits after the typed command,
    # and the box shows that end of it.
    assert somchai.page.locator("#richmenu").is_hidden()
    assert somchai.page.evaluate(
        "() => { const box = document.querySelector('#text');"
        " return box === document.activeElement && box.selectionStart === box.value.length"
        " && box.scrollLeft > 0; }"
    )
    somchai.shoot("05-cashier-scanned")

    count = somchai.bot_rows()
    somchai.page.keyboard.type("250")
    somchai.page.keyboard.press("Enter")
    somchai.answered_after(count)
    assert somchai.last_user_text() == earn_text + "250"
    assert somchai.page.locator("#toast").is_hidden()  # the hint went with the message
    receipt = somchai.last_bot_text()
    assert re.match(r"Purchase \w+: ฿250\.00 @ asoke → 10 points", receipt)
    assert "นก now has 60 points." in receipt
    somchai.fold_menu()
    somchai.shoot("06-cashier-receipt")
    return earn_text


def sees_points_and_redeems(nok: Phone, store, sim) -> tuple[bytes, str, str]:
    """The points land in her chat; the rewards carousel names each reward on its button;
    she redeems the one she can afford and gets its QR code."""
    earned = TH.n_(
        "Thank you! You earned %(count)s point for %(amount)s.",
        "Thank you! You earned %(count)s points for %(amount)s.",
        10,
        amount=TH.money(25_000),
    )
    balance = TH.n_("Balance: %(count)s point.", "Balance: %(count)s points.", 60)
    nok.sees(f"{earned} {balance}")
    assert store.member_by_line_id(sim.user("nok").id)["points"] == 60

    nok.unfold_menu()
    nok.taps(f"#richmenu [aria-label='{TH._('Rewards')}']")
    bubbles = nok.page.locator(".row.bot").last.locator(".fx-carousel .fx-bubble")
    assert bubbles.count() == 2
    tea, cake = bubbles.nth(0), bubbles.nth(1)
    redeem_tea = TH._("Redeem %(name)s", name="ชาไทย")
    assert "ชาไทย" in tea.inner_text() and tea.locator("button").inner_text() == redeem_tea
    # 120 points: out of reach, so its button only refreshes the list.
    assert "ชุดเค้ก" in cake.inner_text() and cake.locator("button").inner_text() == TH._("Refresh")
    nok.fold_menu()
    nok.shoot("07-rewards")

    nok.taps(f".fx-carousel button:has-text('{redeem_tea}')")
    assert nok.last_user_text() == redeem_tea
    nok.taps("#quick .chip[data-action*=redeem_ok]")
    shown = nok.last_bot_text()
    [code] = re.findall(r"\b[A-Z0-9]{8}\b", shown)
    assert store.redemption(code)["status"] != "used"
    assert store.member_by_line_id(sim.user("nok").id)["points"] == 0
    nok.shoot("08-reward-code")
    png, link = qr_in(nok)
    use_text = prefilled(link)
    assert re.fullmatch(r"/use SMR1\.\S+", use_text.strip())
    return png, use_text, code


def hands_over(somchai: Phone, nok: Phone, reward_png: bytes, use_text: str, code: str) -> None:
    """The cashier scans the reward's QR (the reader gets the picture this time) and sends."""
    somchai.unfold_menu()
    somchai.page.click("#richmenu [aria-label='Scan to earn']")
    somchai.page.wait_for_selector("#scanner[open]")
    picture = {"name": "reward.png", "mimeType": "image/png", "buffer": reward_png}
    somchai.page.set_input_files("#scan-file", files=[picture])
    somchai.page.wait_for_function("t => document.querySelector('#text').value === t", arg=use_text)
    count = somchai.bot_rows()
    somchai.page.keyboard.press("Enter")
    somchai.answered_after(count)
    assert somchai.last_bot_text() == "OK: hand over Thai tea to นก."
    somchai.fold_menu()
    somchai.shoot("09-cashier-use")
    nok.sees(TH._("Enjoy your %(reward)s! Code %(code)s has been used.", reward="ชาไทย", code=code))


def reads_stats_and_campaigns(owner: Phone) -> None:
    """The owner's menu: Stats shows the last 30 days, Campaigns the scheduled one."""
    owner.waits_for_menu(OWNER_MENU)
    owner.taps("#richmenu [aria-label=Stats]")
    assert owner.last_user_text() == "Stats"
    stats = owner.last_bot_text()
    assert "Last 30 days" in stats and "Oct 22, 2026 – Nov 20, 2026" in stats
    for figure in (r"Revenue\s+฿250\.00", r"Purchases\s+1\b", r"Redeemed\s+60\b"):
        assert re.search(figure, stats), figure
    assert re.search(r"Top rewards\s+Thai tea\s+1\b", stats)
    owner.fold_menu()
    owner.shoot("10-owner-stats", top_of_last=True)
    owner.unfold_menu()
    owner.taps("#richmenu [aria-label=Campaigns]")
    assert owner.last_user_text() == "Campaigns"
    assert "Tea week" in owner.last_bot_text()
    owner.fold_menu()
    owner.shoot("11-owner-campaigns")
