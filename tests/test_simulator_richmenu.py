"""Rich menus, images users send and the LINE app's taps, in the simulator.

The bot's side talks to the simulator through line-bot-sdk v3 exactly as it would talk
to LINE (Configuration(host=…) sends api and api-data calls alike); bad requests are
sent raw, to check that the simulator refuses what LINE refuses (DESIGN §7).
"""

from __future__ import annotations

import io
import json

import pytest
import qrcode
import requests
import time_machine
from flask import Flask, request
from linebot.v3.messaging import (
    ApiClient,
    Configuration,
    CreateRichMenuAliasRequest,
    MessagingApi,
    MessagingApiBlob,
    RichMenuBulkLinkRequest,
    RichMenuRequest,
)
from linebot.v3.messaging.exceptions import ApiException
from linebot.v3.webhook import WebhookParser
from linebot.v3.webhooks import ImageMessageContent, MessageEvent
from PIL import Image

from simulator import events as ev
from simulator import user_id_for
from simulator.app import AppError
from simulator.line_urls import oa_message_url
from simulator.openapi import SpecValidator, default_spec_path
from simulator.platform import CONTENT_TTL

TIMEOUT = 10
WIDE, HIGH = 2500, 843


# -- helpers -----------------------------------------------------------------------------------


def picture(width: int = WIDE, height: int = HIGH, kind: str = "PNG", colour="#0B6E4F") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(buffer, kind)
    return buffer.getvalue()


def area(x: int, y: int, width: int, height: int, **action) -> dict:
    return {"bounds": {"x": x, "y": y, "width": width, "height": height}, "action": action}


def menu_body(*areas: dict, width: int = WIDE, height: int = HIGH, **extra) -> dict:
    """A half-height menu of three columns unless areas are given."""
    third = width // 3
    areas = areas or (
        area(0, 0, third, height, type="message", label="Card", text="card"),
        area(third, 0, third, height, type="postback", label="Points", data="a=points",
             displayText="Points"),
        area(2 * third, 0, width - 2 * third, height, type="uri", label="Shop",
             uri="https://example.com/shop"),
    )  # fmt: skip
    return {
        "size": {"width": width, "height": height},
        "selected": True,
        "name": "member menu",
        "chatBarText": "Menu",
        "areas": list(areas),
        **extra,
    }


def auth(sim, token: str | None = None) -> dict:
    return {"Authorization": f"Bearer {token or sim.platform.access_token}"}


def post(sim, path: str, body=None, token: str | None = None, **kw) -> requests.Response:
    return requests.post(
        sim.base_url + path, json=body, headers=auth(sim, token), timeout=TIMEOUT, **kw
    )


def upload(sim, menu_id: str, data: bytes, content_type: str = "image/png"):
    headers = {**auth(sim), "Content-Type": content_type}
    url = f"{sim.base_url}/v2/bot/richmenu/{menu_id}/content"
    return requests.post(url, data=data, headers=headers, timeout=TIMEOUT)


def detail_properties(response: requests.Response) -> list[str]:
    assert response.status_code == 400, response.text
    return [detail["property"] for detail in response.json()["details"]]


def ready_menu(sim, body: dict | None = None) -> str:
    """A created menu with its image uploaded."""
    body = body or menu_body()
    created = post(sim, "/v2/bot/richmenu", body)
    assert created.status_code == 200, created.text
    menu_id = created.json()["richMenuId"]
    size = body["size"]
    assert upload(sim, menu_id, picture(size["width"], size["height"])).status_code == 200
    return menu_id


# -- fixtures ----------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def fresh_platform(sim):
    sim.reset()
    yield
    sim.reset()


@pytest.fixture
def line(sim):
    """The SDK clients the bot uses, pointed at the simulator like tests and the demo do."""
    config = Configuration(host=sim.base_url, access_token=sim.platform.access_token)
    with ApiClient(config) as client:
        yield MessagingApi(client), MessagingApiBlob(client)


@pytest.fixture
def webhooks(sim):
    """A stand-in bot that records each webhook body it receives."""
    received: list[dict] = []
    receiver = Flask("receiver")

    @receiver.post("/callback")
    def callback():
        received.append(json.loads(request.get_data()))
        return "OK"

    sim.connect(receiver)
    return received


@pytest.fixture
def alice(sim, webhooks):
    user = sim.user("alice", "Alice", language="en")
    user.state.friend = True
    return user


@pytest.fixture
def bob(sim, webhooks):
    user = sim.user("bob", "Bob", language="th")
    user.state.friend = True
    return user


def last_event(webhooks: list[dict]) -> dict:
    return webhooks[-1]["events"][0]


# -- the SDK's way: create, upload to the api-data host, default, download ----------------------


def test_a_menu_made_with_the_sdk_is_shown_to_everyone_as_the_default(sim, line, alice, bob):
    api, blob = line
    image = picture()

    menu_id = api.create_rich_menu(RichMenuRequest.from_dict(menu_body())).rich_menu_id
    blob.set_rich_menu_image(menu_id, image, _headers={"Content-Type": "image/png"})
    api.set_default_rich_menu(menu_id)

    assert alice.rich_menu()["richMenuId"] == menu_id
    assert bob.rich_menu()["chatBarText"] == "Menu"
    assert api.get_default_rich_menu_id().rich_menu_id == menu_id
    assert bytes(blob.get_rich_menu_image(menu_id)) == image
    assert [m.rich_menu_id for m in api.get_rich_menu_list().richmenus] == [menu_id]
    assert api.get_rich_menu(menu_id).areas[0].action.text == "card"
    assert [r["endpoint"] for r in sim.requests()][1] == "richmenu_image_upload"


def test_a_menu_is_shown_only_once_it_has_an_image(sim, alice):
    menu_id = post(sim, "/v2/bot/richmenu", menu_body()).json()["richMenuId"]

    refused = post(sim, f"/v2/bot/user/all/richmenu/{menu_id}")
    linked = post(sim, f"/v2/bot/user/{alice.id}/richmenu/{menu_id}")

    assert refused.status_code == linked.status_code == 400
    assert refused.json()["message"] == "must upload richmenu image before applying it to user"
    assert alice.rich_menu() is None


# -- per-user links override the default ------------------------------------------------------


def test_a_linked_menu_overrides_the_default_until_it_is_unlinked(sim, alice, bob):
    everyone, staff = ready_menu(sim), ready_menu(sim, menu_body(name="staff"))
    post(sim, f"/v2/bot/user/all/richmenu/{everyone}")

    assert post(sim, f"/v2/bot/user/{alice.id}/richmenu/{staff}").status_code == 200
    assert alice.rich_menu()["richMenuId"] == staff
    assert bob.rich_menu()["richMenuId"] == everyone

    got = requests.get(f"{sim.base_url}/v2/bot/user/{alice.id}/richmenu", headers=auth(sim))
    assert got.json() == {"richMenuId": staff}
    gone = requests.delete(f"{sim.base_url}/v2/bot/user/{alice.id}/richmenu", headers=auth(sim))
    assert gone.status_code == 200
    assert alice.rich_menu()["richMenuId"] == everyone


def test_a_user_without_a_link_has_no_richmenu_id(sim, alice):
    got = requests.get(f"{sim.base_url}/v2/bot/user/{alice.id}/richmenu", headers=auth(sim))

    assert got.status_code == 404


def test_bulk_link_and_unlink_with_the_sdk(sim, line, alice, bob):
    api, _ = line
    staff = ready_menu(sim)

    api.link_rich_menu_id_to_users(
        RichMenuBulkLinkRequest(rich_menu_id=staff, user_ids=[alice.id, bob.id])
    )
    assert alice.rich_menu()["richMenuId"] == bob.rich_menu()["richMenuId"] == staff

    unlinked = post(sim, "/v2/bot/richmenu/bulk/unlink", {"userIds": [alice.id]})
    assert unlinked.status_code == 202
    assert alice.rich_menu() is None
    assert bob.rich_menu()["richMenuId"] == staff


def test_bulk_link_takes_500_users_but_not_501(sim):
    staff = ready_menu(sim)
    users = [user_id_for(f"guest-{i}") for i in range(501)]

    accepted = post(
        sim, "/v2/bot/richmenu/bulk/link", {"richMenuId": staff, "userIds": users[:500]}
    )
    refused = post(sim, "/v2/bot/richmenu/bulk/link", {"richMenuId": staff, "userIds": users})

    assert accepted.status_code == 202
    assert detail_properties(refused) == ["userIds"]


def test_bulk_link_with_an_invalid_user_id_is_400(sim):
    staff = ready_menu(sim)

    refused = post(sim, "/v2/bot/richmenu/bulk/link", {"richMenuId": staff, "userIds": ["bob"]})

    assert detail_properties(refused) == ["userIds[0]"]


def test_linking_an_unknown_menu_or_an_invalid_user_is_refused(sim, alice):
    staff = ready_menu(sim)

    assert post(sim, f"/v2/bot/user/{alice.id}/richmenu/richmenu-{'0' * 32}").status_code == 404
    assert post(sim, f"/v2/bot/user/alice/richmenu/{staff}").status_code == 400


def test_deleting_a_menu_removes_it_from_the_default_links_and_aliases(sim, alice, bob):
    staff = ready_menu(sim)
    post(sim, f"/v2/bot/user/all/richmenu/{staff}")
    post(sim, f"/v2/bot/user/{alice.id}/richmenu/{staff}")
    post(sim, "/v2/bot/richmenu/alias", {"richMenuAliasId": "staff", "richMenuId": staff})

    gone = requests.delete(f"{sim.base_url}/v2/bot/richmenu/{staff}", headers=auth(sim))

    assert gone.status_code == 200
    assert alice.rich_menu() is bob.rich_menu() is None
    listed = requests.get(f"{sim.base_url}/v2/bot/richmenu/alias/list", headers=auth(sim))
    assert listed.json() == {"aliases": []}
    again = requests.get(f"{sim.base_url}/v2/bot/richmenu/{staff}", headers=auth(sim))
    assert again.status_code == 404


# -- aliases and richmenuswitch tabs -----------------------------------------------------------


def tabs(sim) -> tuple[str, str]:
    """Two menus that switch to each other through aliases, like tabs."""
    half = WIDE // 2
    first = ready_menu(sim, menu_body(
        area(0, 0, half, HIGH, type="richmenuswitch", label="Rewards",
             richMenuAliasId="rewards", data="tab=rewards"),
        area(half, 0, WIDE - half, HIGH, type="message", label="Card", text="card"),
        name="main",
    ))  # fmt: skip
    second = ready_menu(sim, menu_body(
        area(0, 0, half, HIGH, type="richmenuswitch", label="Main",
             richMenuAliasId="main", data="tab=main"),
        area(half, 0, WIDE - half, HIGH, type="message", label="Rewards", text="rewards"),
        name="rewards",
    ))  # fmt: skip
    for alias, menu_id in (("main", first), ("rewards", second)):
        made = post(
            sim, "/v2/bot/richmenu/alias", {"richMenuAliasId": alias, "richMenuId": menu_id}
        )
        assert made.status_code == 200, made.text
    post(sim, f"/v2/bot/user/all/richmenu/{first}")
    return first, second


def test_richmenuswitch_shows_the_aliased_menu_and_sends_lines_postback(sim, alice, webhooks):
    first, second = tabs(sim)

    replies = alice.taps_rich_menu("Rewards")

    assert alice.rich_menu()["richMenuId"] == second
    assert replies.effect == {
        "type": "switched",
        "richMenuAliasId": "rewards",
        "richMenuId": second,
    }
    event = last_event(webhooks)
    assert event["postback"] == {
        "data": "tab=rewards",
        "params": {"newRichMenuAliasId": "rewards", "status": "SUCCESS"},
    }
    alice.taps_rich_menu("Main")
    assert alice.rich_menu()["richMenuId"] == first


def test_a_new_link_replaces_a_switched_tab(sim, alice):
    first, _ = tabs(sim)
    alice.taps_rich_menu("Rewards")

    post(sim, f"/v2/bot/user/{alice.id}/richmenu/{first}")

    assert alice.rich_menu()["richMenuId"] == first


def test_alias_rules(sim, line):
    api, _ = line
    staff = ready_menu(sim)
    api.create_rich_menu_alias(CreateRichMenuAliasRequest(rich_menu_alias_id="staff",
                                                          rich_menu_id=staff))  # fmt: skip

    duplicate = post(
        sim, "/v2/bot/richmenu/alias", {"richMenuAliasId": "staff", "richMenuId": staff}
    )
    bad_id = post(sim, "/v2/bot/richmenu/alias", {"richMenuAliasId": "Staff!", "richMenuId": staff})
    unknown = post(sim, "/v2/bot/richmenu/alias", {"richMenuAliasId": "x", "richMenuId": "nope"})

    assert duplicate.status_code == 400
    assert detail_properties(bad_id) == ["richMenuAliasId"]
    assert unknown.json() == {"message": "richmenu not found"}
    assert api.get_rich_menu_alias("staff").rich_menu_id == staff


# -- what LINE refuses: the menu object -----------------------------------------------------------

BAD_MENUS = {
    "narrower than 800 px": (menu_body(width=799, height=270), ["size.width"]),
    "wider than 2500 px": (menu_body(width=2501, height=843), ["size.width"]),
    "lower than 250 px": (menu_body(width=800, height=249), ["size.height"]),
    "aspect under 1.45": (menu_body(width=1200, height=830), ["size"]),
    "21 areas": (
        menu_body(*[area(i * 100, 0, 100, 100, type="message", text="x") for i in range(21)]),
        ["areas"],
    ),
    "area past the right edge": (
        menu_body(area(2000, 0, 501, 100, type="message", text="x")),
        ["areas[0].bounds"],
    ),
    "area below the bottom": (
        menu_body(area(0, 800, 100, 44, type="message", text="x")),
        ["areas[0].bounds"],
    ),
    "no chatBarText": (
        {k: v for k, v in menu_body().items() if k != "chatBarText"},
        ["chatBarText"],
    ),
    "chatBarText over 14 characters": (menu_body(chatBarText="x" * 15), ["chatBarText"]),
    "switch without an alias": (
        menu_body(area(0, 0, 100, 100, type="richmenuswitch", data="tab=x")),
        ["areas[0].action.richMenuAliasId"],
    ),
    "message action without text": (
        menu_body(area(0, 0, 100, 100, type="message", label="Card")),
        ["areas[0].action.text"],
    ),
    "unknown action type": (
        menu_body(area(0, 0, 100, 100, type="teleport")),
        ["areas[0].action.type"],
    ),
    "postback data over 300 characters": (
        menu_body(area(0, 0, 100, 100, type="postback", data="x" * 301)),
        ["areas[0].action.data"],
    ),
}


@pytest.mark.parametrize("case", BAD_MENUS)
def test_a_menu_line_refuses_is_400_naming_the_property(sim, case):
    body, properties = BAD_MENUS[case]

    created = post(sim, "/v2/bot/richmenu", body)
    validated = post(sim, "/v2/bot/richmenu/validate", body)

    assert detail_properties(created) == properties
    assert detail_properties(validated) == properties
    assert sim.platform.richmenus.menus == {}


def test_the_smallest_and_largest_menus_line_accepts(sim):
    assert (
        post(sim, "/v2/bot/richmenu/validate", menu_body(width=800, height=250)).status_code == 200
    )
    assert post(sim, "/v2/bot/richmenu", menu_body(width=2500, height=1686)).status_code == 200
    assert post(sim, "/v2/bot/richmenu", menu_body(width=1450, height=1000)).status_code == 200


# -- what LINE refuses: the image -----------------------------------------------------------------


def test_image_limits(sim):
    menu_id = post(sim, "/v2/bot/richmenu", menu_body()).json()["richMenuId"]
    noise = Image.effect_noise((WIDE, HIGH), 100).convert("RGB")
    huge = io.BytesIO()
    noise.save(huge, "PNG")
    assert len(huge.getvalue()) > 1024 * 1024

    assert upload(sim, menu_id, huge.getvalue()).status_code == 413
    assert upload(sim, menu_id, picture(), "text/plain").status_code == 415
    assert detail_properties(upload(sim, menu_id, picture(kind="GIF"))) == ["body"]
    assert detail_properties(upload(sim, menu_id, picture(kind="JPEG"))) == ["body"]
    assert detail_properties(upload(sim, menu_id, picture(2500, 1686))) == ["body"]
    assert upload(sim, menu_id, picture(kind="JPEG"), "image/jpeg").status_code == 200
    again = upload(sim, menu_id, picture())
    assert again.status_code == 400
    assert again.json()["message"] == "An image has already been uploaded to the richmenu"
    assert upload(sim, f"richmenu-{'1' * 32}", picture()).status_code == 404


# -- LINE's error shapes under fault injection ---------------------------------------------------


def test_a_bad_token_is_401_with_lines_message(sim):
    refused = post(sim, "/v2/bot/richmenu", menu_body(), token="stolen")

    assert refused.status_code == 401
    assert refused.json()["message"].startswith("Authentication failed")


@pytest.mark.parametrize("endpoint", ["richmenu_create", "richmenu_user_link", "message_content"])
def test_injected_429_hits_rich_menu_and_content_calls(sim, line, alice, endpoint):
    api, blob = line
    sim.inject(endpoint, 429)
    calls = {
        "richmenu_create": lambda: api.create_rich_menu(RichMenuRequest.from_dict(menu_body())),
        "richmenu_user_link": lambda: api.link_rich_menu_id_to_user(alice.id, ready_menu(sim)),
        "message_content": lambda: blob.get_message_content("123"),
    }

    with pytest.raises(ApiException) as limited:
        calls[endpoint]()

    assert limited.value.status == 429
    assert json.loads(limited.value.body) == {"message": "Too Many Requests"}


def test_faults_can_be_injected_into_rich_menu_endpoints_over_http(sim):
    control = requests.post(
        f"{sim.base_url}/_sim/faults", json={"endpoint": "richmenu_bulk_link", "status": 500},
        timeout=TIMEOUT,
    )  # fmt: skip

    assert control.status_code == 200
    staff = ready_menu(sim)
    body = {"richMenuId": staff, "userIds": [user_id_for("alice")]}
    assert post(sim, "/v2/bot/richmenu/bulk/link", body).status_code == 500
    assert post(sim, "/v2/bot/richmenu/bulk/link", body).status_code == 202


# -- images users send ------------------------------------------------------------------------


def test_an_image_a_user_sends_arrives_in_lines_shape_and_can_be_downloaded(
    sim, line, alice, webhooks
):
    _, blob = line
    photo = picture(640, 480, kind="JPEG")

    alice.sends_image(photo)

    body = webhooks[-1]
    webhook_spec = SpecValidator(default_spec_path().with_name("webhook.yml"))
    assert webhook_spec.validate_schema("CallbackRequest", body) == []
    raw = json.dumps(body)
    (event,) = WebhookParser("s").parse(raw, ev.sign("s", raw.encode()))
    assert isinstance(event, MessageEvent)
    assert isinstance(event.message, ImageMessageContent)
    assert event.message.content_provider.type == "line"
    assert bytes(blob.get_message_content(event.message.id)) == photo


def test_sent_images_expire(sim, line, alice, webhooks):
    _, blob = line
    with time_machine.travel(1_700_000_000, tick=False) as traveller:
        alice.sends_image(picture(64, 64))
        message_id = last_event(webhooks)["message"]["id"]
        traveller.shift(CONTENT_TTL + 1)

        with pytest.raises(ApiException) as gone:
            blob.get_message_content(message_id)

    assert gone.value.status == 404


def test_only_jpeg_and_png_can_be_sent_as_images(alice, webhooks):
    with pytest.raises(AppError):
        alice.sends_image(b"not a picture")

    assert webhooks == []


# -- the LINE app: tapping areas, links and the QR reader -------------------------------------


def test_tapping_menu_areas_sends_what_the_app_sends(sim, alice, webhooks):
    post(sim, f"/v2/bot/user/all/richmenu/{ready_menu(sim)}")

    alice.taps_rich_menu("Card")
    assert last_event(webhooks)["message"]["text"] == "card"
    alice.taps_rich_menu(1)
    assert last_event(webhooks)["postback"] == {"data": "a=points"}
    opened = alice.taps_rich_menu("Shop")

    assert opened.effect == {"type": "browser", "uri": "https://example.com/shop"}
    assert alice.opened == ["https://example.com/shop"]
    shown = [(e["from"], e["text"]) for e in sim.platform.conversation(alice.id)]
    assert shown == [("user", "card"), ("user", "Points")]  # displayText shows as hers
    with pytest.raises(AppError, match="labelled"):
        alice.taps_rich_menu("Nothing")


def test_a_datetime_picker_sends_the_chosen_value_inside_its_bounds(alice, webhooks):
    picker = {"type": "datetimepicker", "data": "a=birthday", "mode": "date",
              "min": "1900-01-01", "max": "2010-12-31"}  # fmt: skip

    alice.perform(picker, {"date": "1990-05-17"})

    assert last_event(webhooks)["postback"] == {"data": "a=birthday",
                                                "params": {"date": "1990-05-17"}}  # fmt: skip
    with pytest.raises(AppError, match="max"):
        alice.perform(picker, {"date": "2020-01-01"})
    with pytest.raises(AppError, match="date"):
        alice.perform(picker, {"date": "17/05/1990"})
    assert len(webhooks) == 1


def test_an_oa_message_link_types_the_text_into_the_input_box(alice, webhooks):
    link = oa_message_url(ev.BOT_BASIC_ID, "/earn K7M4QX 120")

    effect = alice.opens(link)

    assert effect["type"] == "typed"
    assert alice.draft == "/earn K7M4QX 120"
    assert webhooks == []  # nothing is sent until the user presses send
    alice.sends_draft()
    assert last_event(webhooks)["message"]["text"] == "/earn K7M4QX 120"
    assert alice.draft == ""


def test_an_oa_message_link_for_another_account_is_only_described(alice):
    effect = alice.opens(oa_message_url("@otherbot", "hi"))

    assert effect["type"] == "line"
    assert "@otherbot" in effect["description"]
    assert alice.draft == ""


def test_scanning_a_qr_code_opens_the_link_it_holds(alice):
    alice.opens("https://line.me/R/nv/QRCodeReader")
    assert alice.scanner_open
    image = io.BytesIO()
    qrcode.make(oa_message_url(ev.BOT_BASIC_ID, "/use RK7M4QXA")).save(image)

    effect = alice.scans(image.getvalue())

    assert effect["type"] == "typed"
    assert alice.draft == "/use RK7M4QXA"
    assert not alice.scanner_open
    assert alice.scans("SMC1.abc.1.sig") == {
        "type": "text",
        "text": "SMC1.abc.1.sig",
        "scanned": "SMC1.abc.1.sig",
    }
    with pytest.raises(AppError, match="no QR code"):
        alice.scans(picture(100, 100))
