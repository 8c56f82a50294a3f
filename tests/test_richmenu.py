"""Rich menus per role and language: what each shows and does, deploying them, linking users.

Menus are deployed through the Messaging API to the simulator, which keeps them as
LINE does; a user's `rich_menu()` is the menu their chat shows (linked, else default).
"""

from __future__ import annotations

import dataclasses
import io
import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
import time_machine
from fontTools.ttLib import TTFont
from PIL import Image

from bot import create_app
from bot.charts.fonts import FONT_DIR
from bot.i18n import LOCALES, translator
from bot.richmenu import deploy as richmenu_deploy
from bot.richmenu.layout import LAYOUT, QR_READER, Theme, alias_for
from bot.richmenu.render import FONTS, render_png
from bot.store import utcnow
from jobs import richmenu_jobs
from simulator import texts
from simulator.app import read_qr
from tests.conftest import sign_up
from tests.test_merchants import bakery, fleet_app, fleet_settings, tea  # noqa: F401 - fixtures

# What each role's menu offers, in order: (action type, data or uri, English label).
MENUS = {
    "guest": [
        ("postback", "a=menu&c=join", "Join"),
        ("postback", "a=menu&c=about", "About us"),
        ("postback", "a=menu&c=help", "Help"),
    ],
    "member": [
        ("postback", "a=menu&c=card", "Member card"),
        ("postback", "a=menu&c=points", "Points"),
        ("postback", "a=menu&c=rewards", "Rewards"),
        ("postback", "a=menu&c=coupons", "Coupons"),
        ("postback", "a=menu&c=profile", "Profile"),
        ("postback", "a=menu&c=help", "Help"),
    ],
    "staff": [
        ("uri", QR_READER, "Scan to earn"),
        ("postback", "a=menu&c=use", "Use a code"),
        ("postback", "a=menu&c=lookup", "Member lookup"),
        ("postback", "a=menu&c=my_card", "My card"),
        ("postback", "a=menu&c=staff_help", "Help"),
    ],
    "owner": [
        ("uri", QR_READER, "Scan to earn"),
        ("postback", "a=menu&c=use", "Use a code"),
        ("postback", "a=menu&c=lookup", "Member lookup"),
        ("postback", "a=menu&c=stats", "Stats"),
        ("postback", "a=menu&c=campaigns", "Campaigns"),
        ("postback", "a=menu&c=dashboard", "Dashboard"),
        ("postback", "a=menu&c=my_card", "My card"),
        ("postback", "a=menu&c=staff_help", "Help"),
    ],
}
# Tiles that run a command: tapping one answers exactly as typing the command does.
TYPED = {
    "Join": "join",
    "Member card": "card",
    "Points": "points",
    "Rewards": "rewards",
    "Coupons": "coupons",
    "Profile": "profile",
    "My card": "card",
    "Stats": "/stats",
    "Campaigns": "/campaign list",
    "Dashboard": "/dashboard",
}
# A layout whose menus differ from the real one (another colour), as an older release.
OLDER = dataclasses.replace(
    LAYOUT,
    menus={
        role: dataclasses.replace(menu, theme=Theme(accent="#884422", tint="#F5E6DA"))
        for role, menu in LAYOUT.menus.items()
    },
)


def answers(replies) -> list[str]:
    """What the replies say, one-time tokens (sign-in links) masked."""
    return [re.sub(r"[A-Za-z0-9_-]{30,}", "…", line) for line in texts(replies)]


def deploy(app) -> str:
    result = app.test_cli_runner().invoke(args=["richmenu", "deploy"])
    assert result.exit_code == 0, result.output
    return result.output


def shown(user) -> str | None:
    """The role and language of the menu a user's chat shows, e.g. "member en"."""
    menu = user.rich_menu()
    return " ".join(menu["name"].split()[1:3]) if menu else None


def live(sim) -> dict:
    """alias -> the menu LINE keeps under it."""
    menus = sim.platform.richmenus
    return {alias: menus.menus[menu_id] for alias, menu_id in menus.aliases.items()}


# -- what each menu shows and does ---------------------------------------------------


def test_every_menu_in_every_language_has_its_areas_and_actions(app, sim):
    deploy(app)

    menus = live(sim)
    assert len(menus) == len(MENUS) * len(LOCALES) == len(sim.platform.richmenus.menus)
    for role, expected in MENUS.items():
        for locale in LOCALES:
            menu = menus[alias_for(role, locale)]
            t = translator(locale)
            actions = [area["action"] for area in menu["areas"]]
            assert [(a["type"], a.get("data") or a.get("uri"), a["label"]) for a in actions] == [
                (kind, target, t._(label)) for kind, target, label in expected
            ]
            assert len(menu["chatBarText"]) <= 14
            for action in actions:
                if action["type"] == "postback":
                    assert action["displayText"] == action["label"]
            assert menu["chatBarText"] == t._("Menu" if role in ("guest", "member") else
                                              f"{role.title()} menu")  # fmt: skip
            _assert_tiled(menu, 843 if role == "guest" else 1686)


def _assert_tiled(menu: dict, height: int) -> None:
    """Areas cover the whole 2500-wide image exactly once: every pixel taps something."""
    assert menu["size"] == {"width": 2500, "height": height}
    assert len(menu["areas"]) <= 20
    covered = 0
    boxes = [area["bounds"] for area in menu["areas"]]
    for index, a in enumerate(boxes):
        covered += a["width"] * a["height"]
        assert a["x"] + a["width"] <= 2500 and a["y"] + a["height"] <= height
        for b in boxes[index + 1 :]:
            overlap_x = min(a["x"] + a["width"], b["x"] + b["width"]) - max(a["x"], b["x"])
            overlap_y = min(a["y"] + a["height"], b["y"] + b["height"]) - max(a["y"], b["y"])
            assert overlap_x <= 0 or overlap_y <= 0
    assert covered == 2500 * height


@pytest.mark.parametrize("locale", LOCALES)
def test_menu_images_fit_lines_limits_and_every_label_has_its_glyphs(locale):
    t = translator(locale)
    font = TTFont(FONT_DIR / FONTS[locale][0])
    glyphs = set(font.getBestCmap())
    for role, menu in LAYOUT.menus.items():
        data = render_png(LAYOUT, role, t)
        with Image.open(io.BytesIO(data)) as image:
            assert (image.format, image.size) == ("PNG", (2500, menu.height))
        assert len(data) <= 1024 * 1024
        for key in menu.items:
            label = t._(LAYOUT.items[key].label)
            missing = {ch for ch in label if ch != " " and ord(ch) not in glyphs}
            assert not missing, f"{locale} {label!r}: no glyph for {missing}"


def test_each_tile_does_what_its_label_says(app, sim, owner, cashier, store):
    deploy(app)
    owner.follow()
    cashier.follow()
    alice = sim.user("alice", "Alice", language="en")
    alice.follow()
    assert [shown(u) for u in (alice, cashier, owner)] == ["guest en", "staff en", "owner en"]
    [about] = alice.taps_rich_menu("About us")
    assert about["text"].startswith("our shop\n\nWe thank our regulars: collect points")
    assert "How we handle your data: http://127.0.0.1:8090/privacy?lang=en" in about["text"]
    assert [item["action"]["text"] for item in about["quickReply"]["items"]] == ["join", "help"]
    tapped = texts(alice.taps_rich_menu("Join"))
    alice.says("cancel")
    assert tapped == texts(alice.says("join"))
    alice.says("cancel")
    sign_up(alice)
    assert shown(alice) == "member en"

    for _kind, _target, label in MENUS["member"]:
        typed = TYPED.get(label, "help")
        assert texts(alice.taps_rich_menu(label)) == texts(alice.says(typed)), label
    for user in (cashier, owner):
        scan = user.taps_rich_menu("Scan to earn")
        assert (list(scan), scan.effect["type"], user.scanner_open) == ([], "scanner", True)
        use = user.taps_rich_menu("Use a code")
        assert use.effect == {"type": "typed", "text": "/use "}
        assert texts(use)[0].startswith("Type the reward or coupon code after “/use”")
        lookup = user.taps_rich_menu("Member lookup")
        assert lookup.effect == {"type": "typed", "text": "/member "}
        assert texts(user.taps_rich_menu("Help")) == texts(user.says("/help"))
        assert texts(user.taps_rich_menu("My card")) == texts(user.says("card"))
    for label in ("Stats", "Campaigns", "Dashboard"):
        assert answers(owner.taps_rich_menu(label)) == answers(owner.says(TYPED[label])), label


def test_a_customer_tapping_a_staff_tile_is_refused_and_gets_their_own_menu(
    app, sim, owner, cashier, member
):
    deploy(app)
    cashier.follow()
    assert shown(cashier) == "staff en"
    sim.inject("richmenu_user_link", 500, times=5)  # LINE fails while the owner removes them
    owner.says("/staff remove 1")
    assert shown(cashier) == "staff en"

    reply = cashier.taps_rich_menu("Use a code")

    assert texts(reply) == ["Sorry, that button is for our staff. Your menu will be updated."]
    assert shown(cashier) == "guest en"
    assert texts(member.taps("a=menu&c=lookup")) == [
        "Sorry, that button is for our staff. Your menu will be updated."
    ]
    assert texts(member.taps("a=menu&c=gone")) == [
        "That button is no longer on the menu. Type “help” to see what I can do."
    ]


# -- linking each user to their menu ---------------------------------------------------


def test_users_are_linked_when_they_join_change_language_become_staff_or_leave(
    app, sim, owner, store
):
    deploy(app)
    alice = sim.user("alice", "Alice", language="en")
    owner.follow()

    alice.follow()
    assert shown(alice) == "guest en"
    sign_up(alice)
    assert shown(alice) == "member en"
    alice.says("language th")
    assert shown(alice) == "member th"
    invite = texts(owner.says("/staff invite"))[0].split(": ")[1].split()[0]
    alice.says(f"/join {invite}")
    assert shown(alice) == "staff th"
    owner.says("/staff remove 1")
    assert shown(alice) == "member th"
    alice.says("delete my data")
    alice.taps("a=erase&v=yes")
    assert alice.id not in sim.platform.richmenus.links
    assert shown(alice) == "guest en"  # the default menu, in the shop's language


def test_deploy_links_everyone_who_was_there_before(app, sim, owner, cashier, store):
    alice = sim.user("alice", "Alice", language="en")
    bob = sim.user("bob", "Bob", language="zh-TW")
    sign_up(alice)
    bob.follow()
    cashier.follow()

    deploy(app)

    assert [shown(u) for u in (alice, bob, cashier, owner)] == [
        "member en",
        "guest zh_Hant",
        "staff en",
        "owner en",
    ]
    assert sim.requests("richmenu_user_link") == []  # all in bulk calls
    assert len(sim.requests("richmenu_bulk_link")) == 4


def test_deploy_is_idempotent_and_status_shows_what_is_live(app, sim):
    first = deploy(app)
    creates = len(sim.requests("richmenu_create"))

    again = deploy(app)
    status = app.test_cli_runner().invoke(args=["richmenu", "status"])

    assert "guest/en: new menu richmenu-" in first and creates == 12
    assert "all 12 menus up to date" in again
    assert len(sim.requests("richmenu_create")) == creates
    assert len(sim.platform.richmenus.menus) == 12
    default = sim.platform.richmenus.default
    assert sim.platform.richmenus.menus[default]["name"].startswith("samachik guest en ")
    assert status.exit_code == 0
    assert f"guest/en: {default} up to date [default]" in status.output
    assert "member/zh_Hant: richmenu-" in status.output
    assert "user links waiting for a retry: 0" in status.output


def test_a_new_layout_replaces_the_menus_and_relinks_everyone(app, sim, services, member):
    richmenu_deploy.deploy(services.store, services.line, services.config, layout=OLDER)
    older = member.rich_menu()["richMenuId"]

    report = deploy(app)

    assert "member:en: 1 user(s) linked" in report
    assert "member:en: deleted 1 replaced menu(s)" in report
    assert member.rich_menu()["richMenuId"] != older
    assert shown(member) == "member en"
    assert older not in sim.platform.richmenus.menus
    assert len(sim.platform.richmenus.menus) == 12


def test_a_member_who_blocks_and_returns_gets_their_menu_back(app, sim, services, member):
    richmenu_deploy.deploy(services.store, services.line, services.config, layout=OLDER)
    member.block()
    earlier = len(sim.requests("richmenu_bulk_link"))
    deploy(app)  # the menus change while they are away: their old one is deleted
    later = sim.requests("richmenu_bulk_link")[earlier:]
    assert later and member.id not in {u for r in later for u in r["body"]["userIds"]}

    member.follow()

    assert shown(member) == "member en"
    assert member.rich_menu()["richMenuId"] == live(sim)["samachik-member-en"]["richMenuId"]


def test_a_link_that_fails_is_retried_with_the_latest_role_and_language(app, sim, services, store):
    deploy(app)
    alice = sim.user("alice", "Alice", language="en")
    alice.follow()
    sim.inject("richmenu_user_link", 500, times=5)
    sign_up(alice)
    sim.inject("richmenu_user_link", 429, times=5)
    alice.says("language zh")
    assert shown(alice) == "guest en"
    assert store.menu_links_waiting() == 1

    with time_machine.travel(utcnow() + timedelta(minutes=1)):
        assert richmenu_jobs.retry_menu_links(store, services.line, services.config) == {
            "bulk": []
        }  # not due yet
    with time_machine.travel(utcnow() + timedelta(minutes=3)):
        done = richmenu_jobs.retry_menu_links(store, services.line, services.config)

    assert done == {"linked": 1, "bulk": []}
    assert shown(alice) == "member zh_Hant"
    assert store.menu_links_waiting() == 0


# -- LINE refusing a deploy --------------------------------------------------------------


def test_deploy_reports_an_unauthorised_token_and_changes_nothing(app, sim, config):
    deploy(app)
    before = dict(sim.platform.richmenus.aliases), sim.platform.richmenus.default
    wrong = create_app({**config, "LINE_CHANNEL_ACCESS_TOKEN": "expired-token"})
    try:
        result = wrong.test_cli_runner().invoke(args=["richmenu", "deploy"])
    finally:
        wrong.extensions["samachik"].store.client.close()
        wrong.extensions["samachik"].line.close()

    assert result.exit_code == 1
    assert "LINE refused to list the rich menus: HTTP 401: Authentication failed." in result.output
    assert (dict(sim.platform.richmenus.aliases), sim.platform.richmenus.default) == before


@pytest.mark.parametrize("fault", ["rate limit", "bad menu"])
def test_a_refused_deploy_says_what_line_said_and_leaves_the_live_menus(
    app, sim, services, member, fault
):
    richmenu_deploy.deploy(services.store, services.line, services.config, layout=OLDER)
    before = dict(sim.platform.richmenus.aliases), member.rich_menu()["richMenuId"]
    if fault == "rate limit":
        sim.inject("richmenu_image_upload", 429, times=5)
        layout, said = LAYOUT, "HTTP 429: Too Many Requests"
    else:
        too_long = dataclasses.replace(LAYOUT.items["scan"], uri=QR_READER + "?" + "x" * 1000)
        layout = dataclasses.replace(LAYOUT, items={**LAYOUT.items, "scan": too_long})
        said = (
            "HTTP 400: The request body has 1 error(s) "
            "(areas[0].action.uri: at most 1000 characters)"
        )

    with pytest.raises(richmenu_deploy.DeployError) as refused:
        richmenu_deploy.deploy(services.store, services.line, services.config, layout=layout)

    assert str(refused.value) == (
        f"LINE refused the new menus: {said}. Nothing changed: the menus that were live stay live."
    )
    assert (dict(sim.platform.richmenus.aliases), member.rich_menu()["richMenuId"]) == before
    assert len(sim.platform.richmenus.menus) == 12  # the half-made menu was deleted again
    assert shown(member) == "member en"


def test_a_deploy_refused_halfway_keeps_everyone_on_a_menu_and_finishes_next_time(
    app, sim, services, member
):
    richmenu_deploy.deploy(services.store, services.line, services.config, layout=OLDER)
    older = member.rich_menu()["richMenuId"]
    sim.inject("richmenu_alias_update", 429, times=5)  # LINE keeps refusing to move an alias

    with pytest.raises(richmenu_deploy.DeployError) as refused:
        richmenu_deploy.deploy(services.store, services.line, services.config)

    assert str(refused.value) == (
        "LINE refused a change: HTTP 429: Too Many Requests. Users keep the menus they had; "
        "run `richmenu deploy` again to finish."
    )
    assert member.rich_menu()["richMenuId"] == older
    report = deploy(app)
    assert "member:en: 1 user(s) linked" in report
    assert shown(member) == "member en" and member.rich_menu()["richMenuId"] != older
    assert len(sim.platform.richmenus.menus) == 12  # replaced and half-made menus deleted


def test_each_merchant_deploys_its_own_menus_and_its_cards_open_its_own_chat(
    fleet_app,  # noqa: F811 - fixtures from tests/test_merchants.py
    sim,
    tea,  # noqa: F811
    bakery,  # noqa: F811
):
    alice = tea.person("alice")
    sign_up(alice)

    result = fleet_app.test_cli_runner().invoke(args=["richmenu", "deploy", "--merchant", "tea"])

    assert result.exit_code == 0, result.output
    assert "member:en: 1 user(s) linked" in result.output
    assert shown(alice) == "member en"
    assert len(tea.line.platform.richmenus.menus) == 12
    assert bakery.line.platform.richmenus.menus == {}
    assert tea.store(fleet_app).rich_menus() and not bakery.store(fleet_app).rich_menus()
    card = alice.says("card")[0]
    png = fleet_app.test_client().get(urlsplit(card["contents"]["hero"]["url"]).path).data
    assert read_qr(png).startswith("https://line.me/R/oaMessage/%40tea/?%2Fearn%20SMC1.")
    unknown = fleet_app.test_cli_runner().invoke(args=["richmenu", "status", "--merchant", "pie"])
    assert unknown.exit_code != 0 and "no active merchant 'pie'" in unknown.output
