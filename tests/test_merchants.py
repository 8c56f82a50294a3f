"""Many merchants on one deployment: two and three shops side by side, through the simulator.

The tea shop and the bakery share a customer: same LINE user id, same name, same
phone. Nothing of one shop may show in the other's chat, pages, exports, tokens or jobs.
"""

from __future__ import annotations

import re
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlparse

import pytest

from bot import create_app
from bot.loyalty import points
from bot.members import privacy
from bot.store import utcnow
from jobs.fleet import FleetWorker
from simulator import texts, user_id_for
from tests.conftest import OWNER, app_settings, sign_up

KEYS = "test-merchant-keys-secret-1"
NEVER_QUIET = ["00:00", "00:00"]


@dataclass
class Shop:
    slug: str
    line: object  # the merchant's channel in the simulator
    secret: str
    token: str

    def services(self, app):
        return app.extensions["samachik.merchants"].services(self.slug)

    def store(self, app):
        return self.services(app).store

    def person(self, name: str, display: str | None = None):
        user = self.line.user(name, display or name.title(), language="en")
        user.state.friend = True
        return user


@pytest.fixture
def fleet_settings(mongo_uri, sim):
    return {
        **app_settings(mongo_uri, sim),
        "MERCHANT_KEYS_SECRET": KEYS,
        "MERCHANT_CACHE_SECONDS": "0",
    }


@pytest.fixture
def fleet_app(fleet_settings, sim):
    application = create_app(fleet_settings)
    sim.reset()
    opened: list[Shop] = []
    application.extensions["test.shops"] = opened
    yield application
    merchants = application.extensions["samachik.merchants"]
    problems = []
    for shop in opened:
        shop.line.stop()
        record = merchants.operator.merchant(shop.slug)
        problems += points.check_ledger(merchants.store_for(record))
    client = merchants.operator.client
    for name in client.list_database_names():
        if name.startswith(fleet_settings["MONGODB_DB"]):
            client.drop_database(name)
    client.close()
    assert problems == [], problems


def run_cli(app, *args: str):
    result = app.test_cli_runner().invoke(args=list(args))
    return result


def open_shop(app, sim, slug: str, staff: str = "somchai") -> Shop:
    """Register a merchant with its own channel in the simulator, an owner and a cashier."""
    suffix = uuid.uuid4().hex[:8]
    secret, token = f"secret-{slug}-{suffix}", f"token-{slug}-{suffix}"
    line = sim.channel(secret, token, basic_id=f"@{slug}")
    result = run_cli(
        app, "merchant", "add", slug, "--name", f"Shop {slug}",
        "--channel-secret", secret, "--access-token", token,
        "--owner", user_id_for(OWNER), "--locale", "en",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert f"/callback/{slug}" in result.output
    line.connect(app, f"/callback/{slug}")
    shop = Shop(slug, line, secret, token)
    app.extensions["test.shops"].append(shop)
    store = shop.store(app)
    store.put_setting("quiet_hours", NEVER_QUIET)
    store.add_branch("asoke", "Asoke")
    cashier = shop.person(staff)
    store.add_staff(cashier.id, "asoke", staff.title(), invited_by="owner")
    return shop


@pytest.fixture
def tea(fleet_app, sim):
    return open_shop(fleet_app, sim, "tea")


@pytest.fixture
def bakery(fleet_app, sim):
    return open_shop(fleet_app, sim, "bakery")


def code_of(app, shop, user) -> str:
    return shop.store(app).member_by_line_id(user.id)["code"]


def balance(app, shop, user) -> int:
    return shop.store(app).member_by_line_id(user.id)["points"]


def redeem(user, reward_id: str) -> list[dict]:
    question = user.taps(f"a=redeem&r={reward_id}")[0]
    return user.taps(question["quickReply"]["items"][0]["action"]["data"])


# -- records and credentials -------------------------------------------------------------


def test_credentials_are_encrypted_at_rest_and_never_shown(fleet_app, tea):
    operator = fleet_app.extensions["samachik.merchants"].operator
    raw = operator.db.merchants.find_one({"_id": "tea"})
    assert tea.secret not in str(raw) and tea.token not in str(raw)

    shown = run_cli(fleet_app, "merchant", "show", "tea").output
    assert tea.secret not in shown and tea.token not in shown
    assert f"access_token: …{tea.token[-4:]}" in shown
    listed = run_cli(fleet_app, "merchant", "list").output
    assert re.search(r"^tea\s+active\s+Shop tea$", listed, re.M)

    again = run_cli(fleet_app, "merchant", "add", "tea", "--name", "x",
                    "--channel-secret", "s", "--access-token", "t")  # fmt: skip
    assert again.exit_code != 0 and "exists already" in again.output
    bad = run_cli(fleet_app, "merchant", "add", "Tea Shop!", "--name", "x",
                  "--channel-secret", "s", "--access-token", "t")  # fmt: skip
    assert bad.exit_code != 0 and "a slug is" in bad.output


def test_a_rotated_key_still_decrypts_and_rekey_moves_records_to_it(fleet_settings, sim, tea):
    rotated = create_app({**fleet_settings, "MERCHANT_KEYS_SECRET": f"new-key-2,{KEYS}"})
    merchants = rotated.extensions["samachik.merchants"]
    assert tea.token == merchants.services("tea").config.LINE_CHANNEL_ACCESS_TOKEN

    assert "1 merchants re-encrypted" in run_cli(rotated, "merchant", "rekey").output
    only_new = create_app({**fleet_settings, "MERCHANT_KEYS_SECRET": "new-key-2"})
    assert (tea.secret) == only_new.extensions["samachik.merchants"].services(
        "tea"
    ).config.LINE_CHANNEL_SECRET
    # And back, for the fixture that reads them with the first key.
    back = create_app({**fleet_settings, "MERCHANT_KEYS_SECRET": f"{KEYS},new-key-2"})
    run_cli(back, "merchant", "rekey")


def test_a_rotated_token_is_used_at_once(fleet_app, sim, tea):
    alice = tea.person("alice")
    assert texts(alice.says("help"))  # the old token works
    fresh = f"token-tea-new-{uuid.uuid4().hex[:6]}"
    sim._channels[fresh] = sim._channels.pop(tea.token)
    tea.line.platform.access_token = fresh

    result = run_cli(fleet_app, "merchant", "rotate-token", "tea", "--access-token", fresh)

    assert result.exit_code == 0 and fresh not in result.output
    assert texts(alice.says("help"))  # replies go out with the new token
    tea.token = fresh


def test_multi_merchant_mode_off_says_how_to_turn_it_on(app):
    result = app.test_cli_runner().invoke(args=["merchant", "list"])
    assert result.exit_code != 0 and "MERCHANT_KEYS_SECRET" in result.output


# -- webhooks ------------------------------------------------------------------------------


def test_each_merchant_verifies_its_own_signature(fleet_app, tea, bakery):
    alice = tea.person("alice")
    assert texts(alice.says("help"))
    # The bakery's channel signs with its own secret: the tea shop's URL refuses it.
    bakery.line.connect(fleet_app, "/callback/tea")
    bakery_alice = bakery.person("alice")
    bakery_alice.says("help")
    assert bakery_alice.last_status == 400 and bakery_alice.inbox == []


def test_unknown_and_disabled_merchants_get_404_without_the_body_being_read(
    fleet_app, fleet_settings, tea
):
    client = fleet_app.test_client()
    oversized = b"x" * (2 * 1024 * 1024)  # would be 413 if it were read
    headers = {"X-Line-Signature": "x"}
    assert client.post("/callback/nobody", data=oversized, headers=headers).status_code == 404
    assert client.post("/callback/tea", data=oversized, headers=headers).status_code == 413

    assert run_cli(fleet_app, "merchant", "disable", "tea").exit_code == 0
    alice = tea.person("alice")
    alice.says("help")
    assert alice.last_status == 404 and alice.inbox == []
    assert client.post("/callback/tea", data=oversized, headers=headers).status_code == 404
    assert client.get("/m/tea/privacy").status_code == 404

    run_cli(fleet_app, "merchant", "enable", "tea")
    assert texts(alice.says("help")) and alice.last_status == 200


def test_another_web_process_sees_a_disable_within_its_cache_time(fleet_settings, sim, tea):
    other = create_app({**fleet_settings, "MERCHANT_CACHE_SECONDS": "0.2"})
    merchants = other.extensions["samachik.merchants"]
    assert merchants.is_active("tea")
    tea_app = other  # noqa: F841 - the same database, another process's cache
    fleet = create_app(fleet_settings)
    run_cli(fleet, "merchant", "disable", "tea")
    assert merchants.is_active("tea")  # cached
    deadline = time.monotonic() + 5
    while merchants.is_active("tea") and time.monotonic() < deadline:
        time.sleep(0.05)  # real time: the cache's own clock
    assert not merchants.is_active("tea")


def test_single_merchant_callback_is_off_when_no_channel_is_configured(fleet_settings):
    settings = {
        **fleet_settings,
        "APP_ENV": "production",
        "PUBLIC_BASE_URL": "https://x.test",
        "SECRET_KEY": "k",
    }
    settings.update(LINE_CHANNEL_SECRET="", LINE_CHANNEL_ACCESS_TOKEN="")
    application = create_app(settings)
    response = application.test_client().post(
        "/callback", data=b"{}", headers={"X-Line-Signature": "x"}
    )
    assert response.status_code == 404


# -- isolation ----------------------------------------------------------------------------


def test_two_shops_with_the_same_customer_share_nothing(fleet_app, tea, bakery):
    """Alice is a member of both, same LINE id, name and phone; each shop sees its own Alice."""
    alice_tea, alice_bakery = tea.person("alice"), bakery.person("alice")
    assert alice_tea.id == alice_bakery.id
    sign_up(alice_tea)
    sign_up(alice_bakery)
    assert balance(fleet_app, tea, alice_tea) == balance(fleet_app, bakery, alice_bakery) == 50

    tea_cashier, bakery_cashier = tea.person("somchai"), bakery.person("somchai")
    earned = texts(tea_cashier.says(f"/earn {code_of(fleet_app, tea, alice_tea)} 150"))[0]
    assert "Alice now has 56 points." in earned
    assert balance(fleet_app, tea, alice_tea) == 56
    assert balance(fleet_app, bakery, alice_bakery) == 50
    # The tea shop's thank-you reached Alice's chat with the tea shop only.
    assert any("You earned 6 points" in t for t in texts(alice_tea.inbox))
    assert not any("You earned" in t for t in texts(alice_bakery.inbox))
    # The tea shop's member code means nothing at the bakery.
    tea_code = code_of(fleet_app, tea, alice_tea)
    assert tea_code != code_of(fleet_app, bakery, alice_bakery)
    assert not texts(bakery_cashier.says(f"/earn {tea_code} 150"))[0].startswith("Purchase")

    # A reward code from the bakery is unknown at the tea shop's counter.
    owner = bakery.person(OWNER)
    reply = texts(owner.says("/reward add 30 5 Cookie"))[0]
    cookie = re.match(r"Reward (W\w{3}) added", reply).group(1)
    shown = redeem(alice_bakery, cookie)[0]
    code = shown["contents"]["body"]["contents"][0]["text"]
    assert not texts(tea_cashier.says(f"/use {code}"))[0].startswith("OK")
    assert texts(bakery_cashier.says(f"/use {code}")) == ["OK: hand over Cookie to Alice."]
    assert balance(fleet_app, bakery, alice_bakery) == 20
    assert balance(fleet_app, tea, alice_tea) == 56
    # Owners' lookups by name or phone find only their own shop's Alice.
    assert "56" in texts(tea.person(OWNER).says("/member 0812345678"))[0]
    assert "20" in texts(owner.says("/member 0812345678"))[0]


def path_of(url: str) -> str:
    return urlparse(url).path


def test_qr_images_links_and_exports_are_signed_per_merchant(fleet_app, tea, bakery):
    client = fleet_app.test_client()
    alice_tea, alice_bakery = tea.person("alice"), bakery.person("alice")
    sign_up(alice_tea)
    sign_up(alice_bakery)

    card = alice_tea.says("card")[0]
    qr_url = card["contents"]["hero"]["url"] if "hero" in card["contents"] else None
    qr_url = qr_url or re.search(r"https?://[^\"']+/qr/[^\"']+\.png", str(card)).group(0)
    path = path_of(qr_url)
    assert path.startswith("/m/tea/qr/SMC1.")
    assert client.get(path).status_code == 200
    token = path.rsplit("/", 1)[-1]
    assert client.get(f"/m/bakery/qr/{token}").status_code == 404
    assert client.get(f"/qr/{token}").status_code == 404
    # Staff of the bakery scanning the tea shop's card: not a valid card there.
    scanned = token.removesuffix(".png")
    assert (
        "not a valid member card" in texts(bakery.person("somchai").says(f"/member {scanned}"))[0]
    )

    export = re.search(r"https?://\S+/my-data/\S+", texts(alice_tea.says("my data"))[-1])
    page_path = path_of(export.group(0))
    assert page_path.startswith("/m/tea/my-data/")
    page = client.get(page_path)
    assert page.status_code == 200 and b"/m/tea/my-data/" in page.data
    assert b"+66812345678" in page.data or b"081" in page.data
    stolen = page_path.replace("/m/tea/", "/m/bakery/")
    assert client.get(stolen).status_code == 404
    assert client.get(page_path.removeprefix("/m/tea")).status_code == 404


# -- jobs ---------------------------------------------------------------------------------


def add_crowd(app, shop, count: int, prefix: str, birthday_today: bool = False) -> list:
    """`count` opted-in members, friends of the shop's channel, inserted in bulk."""
    store = shop.store(app)
    today = datetime.now(shop.services(app).config.tz).date()
    users = []
    docs = []
    for index in range(count):
        user_id = user_id_for(f"{prefix}{index}")
        shop.line.platform.add_user(user_id, f"{prefix}{index}", "en").friend = True
        birthday = today.replace(year=1990) if birthday_today and index == 0 else None
        docs.append(
            {
                "_id": f"M{prefix}{index:06d}",
                "line_user_id": user_id,
                "code": f"{prefix[:3].upper()}{index:05d}",
                "status": "member",
                "reachable": True,
                "marketing_opt_in": True,
                "locale": "en",
                "points": 0,
                "ledger_seq": 0,
                "tags": [prefix],
                "consents": [privacy.consent("marketing", True, "test")],
                "profile": {
                    "first_name": f"P{index}",
                    "last_name": "X",
                    **(
                        {"birthday": birthday.isoformat(), "birth_month": birthday.month}
                        if birthday
                        else {}
                    ),
                },
            }
        )
        users.append(user_id)
    for start in range(0, count, 2000):
        store.db.members.insert_many(docs[start : start + 2000], ordered=False)
    return users


def new_campaign(app, shop, prefix: str, text: str) -> str:
    campaign_id = f"K{prefix.upper()[:3]}{uuid.uuid4().hex[:4].upper()}"
    shop.store(app).insert_campaign(
        {
            "_id": campaign_id,
            "name": prefix,
            "audience": f"tag:{prefix}",
            "filters": f"tag:{prefix}",
            "template": "news",
            "content": {"title": "News", "text": text, "image": None, "button": None, "link": None},
            "coupon": None,
            "holdout": 0.0,
            "schedule": {"type": "once", "at": utcnow()},
            "window_days": 7,
            "status": "scheduled",
            "next_run_at": utcnow(),
        }
    )
    return campaign_id


def received(shop, user_id: str) -> list[str]:
    return texts([e["message"] for e in shop.line.platform.users[user_id].inbox])


@pytest.fixture
def fleet(fleet_app):
    worker = FleetWorker(fleet_app.extensions["samachik.merchants"], holder="w1", threads=4)
    yield worker
    worker.shutdown()


def test_campaigns_go_to_each_merchants_own_members_only(fleet_app, tea, bakery, fleet):
    tea_crowd = add_crowd(fleet_app, tea, 5, "twin")
    bakery_crowd = add_crowd(fleet_app, bakery, 5, "twin")
    assert tea_crowd == bakery_crowd  # the same LINE user ids, member ids and names
    tea_campaign = new_campaign(fleet_app, tea, "twin", "Tea week!")

    assert fleet.tick() == ["bakery", "tea"]
    fleet.run("tea", "run_campaigns")
    fleet.run("bakery", "run_campaigns")

    assert all(
        any("Tea week!" in str(m) for m in tea.line.platform.users[u].inbox) for u in tea_crowd
    )
    assert all(bakery.line.platform.users[u].inbox == [] for u in bakery_crowd)
    assert tea.store(fleet_app).campaign(tea_campaign)["status"] == "done"


def test_a_disabled_merchants_campaigns_stop(fleet_app, tea, bakery, fleet):
    crowd = add_crowd(fleet_app, tea, 3, "quiet")
    new_campaign(fleet_app, tea, "quiet", "Should not go")
    fleet.tick()
    run_cli(fleet_app, "merchant", "disable", "tea")

    assert fleet.run("tea", "run_campaigns") is None
    assert fleet.tick() == ["bakery"]
    assert all(tea.line.platform.users[u].inbox == [] for u in crowd)


def test_workers_share_the_merchants_and_take_over_a_stopped_one(fleet_app, sim):
    for slug in ("one", "two", "three"):
        open_shop(fleet_app, sim, slug)
    merchants = fleet_app.extensions["samachik.merchants"]
    first = FleetWorker(merchants, holder="w-first", threads=1)
    second = FleetWorker(merchants, holder="w-second", threads=1)
    try:
        assert first.tick() == ["one", "three", "two"]  # alone: everything
        second.tick()  # second sees two live workers, finds all taken
        first.tick()  # first gives back what is over its share of 2
        held_second = second.tick()
        held_first = first.tick()
        assert len(held_first) == 2 and len(held_second) == 1
        assert set(held_first).isdisjoint(held_second)
        assert set(held_first) | set(held_second) == {"one", "two", "three"}
        first.shutdown()
        assert second.tick() == ["one", "three", "two"]
    finally:
        first.shutdown()
        second.shutdown()


@pytest.mark.devdb_only(reason="10,000 members and a timing bound measured on the dev server")
def test_a_big_campaign_does_not_delay_another_merchants_journey(fleet_app, tea, bakery):
    """10,000 tea members get a slow campaign; the bakery's birthday goes out meanwhile."""
    add_crowd(fleet_app, tea, 10_000, "big")
    birthday_girl = add_crowd(fleet_app, bakery, 3, "bday", birthday_today=True)[0]
    big = new_campaign(fleet_app, tea, "big", "Big news")
    tea.line.set_latency("multicast", 1.0)  # LINE slow for the tea shop only

    worker = FleetWorker(fleet_app.extensions["samachik.merchants"], holder="w1", threads=4)
    worker.tick()
    worker.start()
    try:
        now = datetime.now().astimezone()
        worker.scheduler.modify_job("tea:run_campaigns", next_run_time=now)
        deadline = time.monotonic() + 60
        while tea_status(fleet_app, tea, big) == "scheduled" and time.monotonic() < deadline:
            time.sleep(0.05)  # real threads: wait until the worker has taken the campaign
        assert tea_status(fleet_app, tea, big) == "running"

        started = time.monotonic()
        worker.scheduler.modify_job(
            "bakery:run_journeys", next_run_time=datetime.now().astimezone()
        )
        while not received(bakery, birthday_girl) and time.monotonic() - started < 60:
            time.sleep(0.05)
        latency = time.monotonic() - started
        tea_after = tea_status(fleet_app, tea, big)
    finally:
        run_cli(fleet_app, "merchant", "disable", "tea")  # its run stops between batches
        worker.shutdown()

    assert any("birthday" in t.lower() for t in received(bakery, birthday_girl))
    assert latency < 60, f"the bakery's journey waited {latency:.1f}s (one job interval is 60s)"
    assert tea_after == "running", "the tea campaign was over: it did not run alongside"
    assert tea.line.requests("multicast") == [] or len(tea.line.requests("multicast")) < 20


def tea_status(app, shop, campaign_id: str) -> str:
    return shop.store(app).campaign(campaign_id)["status"]
