"""The LINE simulator itself, spoken to over real HTTP the way the bot's SDK speaks to LINE.

Each test tells one small story about a rule of LINE's platform (DESIGN §7) and checks that the
simulator enforces it: signatures, webhook event shapes, auth, push/multicast/reply, retry keys,
message limits, injected faults, profiles, quota and the control API.
"""

from __future__ import annotations

import http.client
import json
import time
import uuid
from functools import partial

import pytest
import requests
import time_machine
from linebot.v3.models import UnknownEvent
from linebot.v3.webhook import SignatureValidator, WebhookParser

from simulator import events as ev
from simulator import user_id_for
from simulator.openapi import SpecValidator, default_spec_path, default_validator

WEBHOOK_SPEC = default_spec_path().with_name("webhook.yml")  # /work/shared/line-openapi/
GROUP = "C" + "4" * 32
ROOM = "R" + "5" * 32
PUSH = "/v2/bot/message/push"
MULTICAST = "/v2/bot/message/multicast"
REPLY = "/v2/bot/message/reply"
QUOTA = "/v2/bot/message/quota"
CONSUMPTION = "/v2/bot/message/quota/consumption"
TIMEOUT = 10


# -- helpers: bodies ---------------------------------------------------------------------------


def text(value: str = "hi", **extra) -> dict:
    return {"type": "text", "text": value, **extra}


def bubble(*components: dict) -> dict:
    return {
        "type": "bubble",
        "body": {"type": "box", "layout": "vertical", "contents": list(components) or [label()]},
    }


def label(value: str = "Hello") -> dict:
    return {"type": "text", "text": value}


def button(title: str = "Collect", data: str = "action=stamp") -> dict:
    return {"type": "button", "action": {"type": "postback", "label": title, "data": data}}


def flex(contents: dict, alt_text: str = "A card") -> dict:
    return {"type": "flex", "altText": alt_text, "contents": contents}


def carousel(*bubbles: dict) -> dict:
    return {"type": "carousel", "contents": list(bubbles)}


def quick_reply_item(title: str = "Yes", data: str | None = None) -> dict:
    if data is None:
        action = {"type": "message", "label": title, "text": title}
    else:
        action = {"type": "postback", "label": title, "data": data}
    return {"type": "action", "action": action}


def with_quick_reply(message: dict, *items: dict) -> dict:
    return {**message, "quickReply": {"items": list(items)}}


def guests(count: int) -> list[str]:
    """Valid-looking user ids of people who never met the bot."""
    return [user_id_for(f"guest-{i}") for i in range(count)]


# -- helpers: HTTP -----------------------------------------------------------------------------


def auth(sim, token: str | None = None, **extra: str) -> dict:
    return {"Authorization": f"Bearer {token or sim.platform.access_token}", **extra}


def retry_key_header(key: str) -> dict:
    return {"X-Line-Retry-Key": key}


def post(sim, path: str, body, headers: dict | None = None) -> requests.Response:
    headers = auth(sim) if headers is None else headers
    return requests.post(sim.base_url + path, json=body, headers=headers, timeout=TIMEOUT)


def get(sim, path: str, headers: dict | None = None) -> requests.Response:
    headers = auth(sim) if headers is None else headers
    return requests.get(sim.base_url + path, headers=headers, timeout=TIMEOUT)


def push(sim, to: str, *messages: dict, retry_key: str | None = None) -> requests.Response:
    headers = auth(sim, **(retry_key_header(retry_key) if retry_key else {}))
    return post(sim, PUSH, {"to": to, "messages": list(messages) or [text()]}, headers)


def multicast(sim, to: list[str], *messages: dict, retry_key: str | None = None):
    headers = auth(sim, **(retry_key_header(retry_key) if retry_key else {}))
    return post(sim, MULTICAST, {"to": to, "messages": list(messages) or [text()]}, headers)


def reply(sim, token: str, *messages: dict) -> requests.Response:
    return post(sim, REPLY, {"replyToken": token, "messages": list(messages) or [text()]})


def profile(sim, user_id: str) -> requests.Response:
    return get(sim, f"/v2/bot/profile/{user_id}")


def reply_token_for(sim, user) -> str:
    """A reply token as LINE issues one with a webhook event from `user`."""
    token = ev.new_token()
    sim.platform.issue_reply_token(token, user.id)
    return token


def delivered(sim, user) -> list[tuple[str, str | None]]:
    return [(e["via"], e["message"].get("text")) for e in sim.platform.inbox(user.id)]


def rejected_properties(response: requests.Response) -> list[str]:
    assert response.status_code == 400, response.text
    return [detail["property"] for detail in response.json()["details"]]


def response_errors(schema: str, body: dict) -> list[str]:
    return default_validator().validate_schema(schema, body)


# -- fixtures ----------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def fresh_platform(sim):
    sim.reset()
    yield
    sim.reset()


@pytest.fixture
def ploy(sim):
    """A customer who added the account as a friend."""
    user = sim.user("ploy", "Ploy", language="th")
    user.state.friend = True
    return user


@pytest.fixture
def stranger(sim):
    """Someone LINE knows but who never added the account (or blocked it)."""
    return sim.user("stranger", "Stranger", language="en")


@pytest.fixture(scope="module")
def webhook_spec() -> SpecValidator:
    return SpecValidator(WEBHOOK_SPEC)


# -- signatures --------------------------------------------------------------------------------


def test_signature_is_accepted_by_the_sdk_validator():
    body = ev.body_of([ev.text_message(user_id_for("ploy"), "สวัสดี")])

    signature = ev.sign("channel-secret", body)

    assert SignatureValidator("channel-secret").validate(body.decode(), signature)


def test_signature_made_with_another_secret_is_rejected():
    body = ev.body_of([ev.follow(user_id_for("ploy"))])

    signature = ev.sign("another-secret", body)

    assert not SignatureValidator("channel-secret").validate(body.decode(), signature)


def test_signature_of_a_tampered_body_is_rejected():
    body = ev.body_of([ev.text_message(user_id_for("ploy"), "10 stamps")])
    signature = ev.sign("channel-secret", body)

    tampered = body.replace(b"10 stamps", b"99 stamps")

    assert not SignatureValidator("channel-secret").validate(tampered.decode(), signature)


# -- webhook event shapes ----------------------------------------------------------------------

EVENT_BUILDERS = {
    "text_message": lambda uid: ev.text_message(uid, "hello"),
    "text_message_standby": lambda uid: ev.text_message(uid, "hello", mode="standby"),
    "sticker_message": ev.sticker_message,
    "follow": ev.follow,
    "follow_unblocked": lambda uid: ev.follow(uid, unblocked=True),
    "unfollow": ev.unfollow,
    "postback": lambda uid: ev.postback(uid, "action=stamp"),
    "postback_with_params": lambda uid: ev.postback(
        uid, "action=book", {"datetime": "2025-01-31T10:00"}
    ),
    "redelivered_text": lambda uid: ev.redelivered(ev.text_message(uid, "again")),
    "group_text": lambda uid: ev.text_message(None, "hi all", source=ev.group_source(GROUP, uid)),
    "group_text_without_user": lambda uid: ev.text_message(
        None, "hi all", source=ev.group_source(GROUP)
    ),
    "room_text": lambda uid: ev.text_message(None, "hi all", source=ev.room_source(ROOM, uid)),
    "room_sticker_without_user": lambda uid: ev.sticker_message(None, source=ev.room_source(ROOM)),
    "group_postback": lambda uid: ev.postback(None, "a=card", source=ev.group_source(GROUP, uid)),
    "group_join": lambda uid: ev.other_event("join", None, source=ev.group_source(GROUP)),
    "room_join": lambda uid: ev.other_event("join", None, source=ev.room_source(ROOM)),
    "group_leave": lambda uid: ev.other_event("leave", None, source=ev.group_source(GROUP)),
    "group_member_joined": lambda uid: ev.other_event(
        "memberJoined", None, source=ev.group_source(GROUP)
    ),
    **{name: partial(ev.other_event, name) for name in ev.OTHER_EVENT_TYPES},
}


def test_every_other_event_type_has_a_builder():
    assert set(ev.OTHER_EVENT_TYPES) <= set(EVENT_BUILDERS)
    assert len(ev.OTHER_EVENT_TYPES) == 15


def test_webhook_spec_validator_loads_the_webhook_spec(webhook_spec):
    assert webhook_spec.spec_path == WEBHOOK_SPEC
    assert "CallbackRequest" in webhook_spec.spec["components"]["schemas"]


@pytest.mark.parametrize("name", EVENT_BUILDERS)
def test_built_event_matches_the_webhook_spec(name, webhook_spec):
    body = ev.body_of([EVENT_BUILDERS[name](user_id_for("ploy"))])

    assert webhook_spec.validate_schema("CallbackRequest", json.loads(body)) == []


@pytest.mark.parametrize("name", EVENT_BUILDERS)
def test_built_event_is_parsed_by_the_sdk_as_a_known_event(name):
    event = EVENT_BUILDERS[name](user_id_for("ploy"))
    body = ev.body_of([event])

    parsed = WebhookParser("channel-secret").parse(body.decode(), ev.sign("channel-secret", body))

    assert len(parsed) == 1
    assert not isinstance(parsed[0], UnknownEvent)
    assert parsed[0].type == event["type"]
    assert parsed[0].webhook_event_id == event["webhookEventId"]


def test_webhook_spec_check_catches_an_event_missing_a_required_field(webhook_spec):
    event = ev.text_message(user_id_for("ploy"), "hello")
    del event["webhookEventId"]

    errors = webhook_spec.validate_schema("CallbackRequest", json.loads(ev.body_of([event])))

    assert errors == ["events[0].webhookEventId: is required"]


def test_redelivered_event_keeps_its_id_and_is_flagged():
    original = ev.text_message(user_id_for("ploy"), "hello")

    again = ev.redelivered(original)

    assert again["webhookEventId"] == original["webhookEventId"]
    assert again["deliveryContext"] == {"isRedelivery": True}
    assert original["deliveryContext"] == {"isRedelivery": False}


# -- auth --------------------------------------------------------------------------------------


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong-token"}])
def test_push_without_the_right_token_is_401_and_not_delivered(sim, ploy, headers):
    response = post(sim, PUSH, {"to": ploy.id, "messages": [text()]}, headers)

    assert response.status_code == 401
    assert response.json()["message"].startswith("Authentication failed")
    assert delivered(sim, ploy) == []


def test_read_endpoints_need_the_token_too(sim, ploy):
    assert get(sim, QUOTA, headers={}).status_code == 401
    assert get(sim, f"/v2/bot/profile/{ploy.id}", headers=auth(sim, "nope")).status_code == 401


# -- push --------------------------------------------------------------------------------------


def test_push_to_a_friend_lands_in_their_inbox(sim, ploy):
    response = push(sim, ploy.id, text("Your stamp card is full!"))

    assert response.status_code == 200
    assert len(response.json()["sentMessages"]) == 1
    assert response_errors("PushMessageResponse", response.json()) == []
    assert response.headers["x-line-request-id"]
    assert delivered(sim, ploy) == [("push", "Your stamp card is full!")]


def test_push_to_a_non_friend_is_accepted_but_not_delivered(sim, stranger):
    response = push(sim, stranger.id, text("Hello?"))

    assert response.status_code == 200
    assert sim.platform.inbox(stranger.id) == []


def test_push_to_an_invalid_user_id_is_400(sim):
    response = push(sim, "not-a-user-id", text())

    assert rejected_properties(response) == ["to"]


def test_push_with_a_body_that_is_not_json_is_400(sim, ploy):
    response = requests.post(
        sim.base_url + PUSH,
        data=b"{not json",
        headers=auth(sim, **{"Content-Type": "application/json"}),
        timeout=TIMEOUT,
    )

    assert response.status_code == 400
    assert "JSON" in response.json()["message"]


# -- X-Line-Retry-Key --------------------------------------------------------------------------


def test_repeated_retry_key_is_409_and_delivered_once(sim, ploy):
    key = str(uuid.uuid4())

    first = push(sim, ploy.id, text("Points added"), retry_key=key)
    again = push(sim, ploy.id, text("Points added"), retry_key=key)

    assert first.status_code == 200
    assert again.status_code == 409
    assert again.json()["message"] == "The retry key is already accepted"
    assert again.headers["x-line-accepted-request-id"] == first.headers["x-line-request-id"]
    assert again.json()["sentMessages"] == first.json()["sentMessages"]
    assert delivered(sim, ploy) == [("push", "Points added")]


def test_repeated_retry_key_on_multicast_is_409_with_a_spec_shaped_body(sim, ploy):
    key = str(uuid.uuid4())

    first = multicast(sim, [ploy.id], text("Sale today"), retry_key=key)
    again = multicast(sim, [ploy.id], text("Sale today"), retry_key=key)

    assert first.status_code == 200
    assert again.status_code == 409
    assert again.headers["x-line-accepted-request-id"]
    assert response_errors("ErrorResponse", again.json()) == []
    assert delivered(sim, ploy) == [("multicast", "Sale today")]


def test_different_retry_keys_each_deliver(sim, ploy):
    assert push(sim, ploy.id, text("one"), retry_key=str(uuid.uuid4())).status_code == 200
    assert push(sim, ploy.id, text("two"), retry_key=str(uuid.uuid4())).status_code == 200

    assert delivered(sim, ploy) == [("push", "one"), ("push", "two")]


def test_retry_key_that_is_not_a_uuid_is_400_and_not_delivered(sim, ploy):
    response = push(sim, ploy.id, text(), retry_key="order-42")

    assert response.status_code == 400
    assert "X-Line-Retry-Key" in response.json()["message"]
    assert delivered(sim, ploy) == []


def test_failed_request_does_not_consume_the_retry_key(sim, ploy):
    key = str(uuid.uuid4())
    sim.inject("push", 500)

    failed = push(sim, ploy.id, text("Welcome gift"), retry_key=key)
    retried = push(sim, ploy.id, text("Welcome gift"), retry_key=key)

    assert failed.status_code == 500
    assert retried.status_code == 200
    assert delivered(sim, ploy) == [("push", "Welcome gift")]


def test_retry_key_can_be_used_again_after_a_day(sim, ploy):
    key = str(uuid.uuid4())
    with time_machine.travel(1_700_000_000, tick=False) as traveller:
        assert push(sim, ploy.id, text("first"), retry_key=key).status_code == 200
        traveller.shift(24 * 3600 + 1)
        assert push(sim, ploy.id, text("next day"), retry_key=key).status_code == 200

    assert delivered(sim, ploy) == [("push", "first"), ("push", "next day")]


# -- multicast and message counts --------------------------------------------------------------


def test_multicast_to_500_recipients_is_accepted(sim, ploy):
    response = multicast(sim, [ploy.id, *guests(499)], text("Happy new year"))

    assert response.status_code == 200
    assert delivered(sim, ploy) == [("multicast", "Happy new year")]


def test_multicast_to_501_recipients_is_400(sim, ploy):
    response = multicast(sim, [ploy.id, *guests(500)], text("Happy new year"))

    assert rejected_properties(response) == ["to"]
    assert delivered(sim, ploy) == []


def test_multicast_with_an_invalid_recipient_is_400(sim, ploy):
    response = multicast(sim, [ploy.id, "bob"], text())

    assert rejected_properties(response) == ["to[1]"]


@pytest.mark.parametrize("send", [push, multicast], ids=["push", "multicast"])
def test_six_messages_in_one_request_are_400(sim, ploy, send):
    to = ploy.id if send is push else [ploy.id]

    response = send(sim, to, *[text(f"m{i}") for i in range(6)])

    assert rejected_properties(response) == ["messages"]
    assert delivered(sim, ploy) == []


def test_five_messages_in_one_push_are_delivered_in_order(sim, ploy):
    response = push(sim, ploy.id, *[text(f"m{i}") for i in range(5)])

    assert response.status_code == 200
    assert [t for _, t in delivered(sim, ploy)] == ["m0", "m1", "m2", "m3", "m4"]


@pytest.mark.parametrize("path", [PUSH, MULTICAST])
def test_empty_messages_are_400(sim, ploy, path):
    to = ploy.id if path == PUSH else [ploy.id]

    response = post(sim, path, {"to": to, "messages": []})

    assert rejected_properties(response) == ["messages"]


# -- reply -------------------------------------------------------------------------------------


def test_reply_with_a_fresh_token_reaches_the_user(sim, ploy):
    response = reply(sim, reply_token_for(sim, ploy), text("Thanks!"))

    assert response.status_code == 200
    assert response_errors("ReplyMessageResponse", response.json()) == []
    assert delivered(sim, ploy) == [("reply", "Thanks!")]


def test_reply_to_a_group_event_is_seen_in_the_group_not_in_a_private_chat(sim, ploy):
    group = sim.group("tea lovers")
    event = ev.text_message(None, "card", source=group.source(ploy))
    sim.platform.issue_reply_token(event["replyToken"], ev.chat_of(event))

    response = reply(sim, event["replyToken"], text("For everyone"))

    assert response.status_code == 200
    assert [m["text"] for m in group.inbox] == ["For everyone"]
    assert delivered(sim, ploy) == []


def test_group_and_room_ids_look_like_lines(sim):
    assert ev.is_chat_id(sim.group("a").id) and sim.group("a").id.startswith("C")
    assert ev.is_chat_id(sim.room("a").id) and sim.room("a").id.startswith("R")
    assert sim.group("a").id == sim.group("a").id != sim.group("b").id
    assert not ev.is_chat_id(user_id_for("a"))


def test_reply_with_an_unknown_token_is_400(sim, ploy):
    response = reply(sim, "made-up-token", text("Thanks!"))

    assert response.status_code == 400
    assert response.json()["message"] == "Invalid reply token"
    assert delivered(sim, ploy) == []


def test_reply_token_works_only_once(sim, ploy):
    token = reply_token_for(sim, ploy)

    first = reply(sim, token, text("first"))
    second = reply(sim, token, text("second"))

    assert first.status_code == 200
    assert second.status_code == 400
    assert second.json()["message"] == "Invalid reply token"
    assert delivered(sim, ploy) == [("reply", "first")]


def test_reply_token_expires_after_a_minute(sim, ploy):
    with time_machine.travel(1_700_000_000, tick=False) as traveller:
        fresh, stale = reply_token_for(sim, ploy), reply_token_for(sim, ploy)
        traveller.shift(59)
        in_time = reply(sim, fresh, text("in time"))
        traveller.shift(2)
        too_late = reply(sim, stale, text("too late"))

    assert in_time.status_code == 200
    assert too_late.status_code == 400
    assert too_late.json()["message"] == "Invalid reply token"
    assert delivered(sim, ploy) == [("reply", "in time")]


def test_replies_do_not_count_towards_the_quota(sim, ploy):
    reply(sim, reply_token_for(sim, ploy), text("free"))

    assert get(sim, CONSUMPTION).json() == {"totalUsage": 0}


# -- message validation ------------------------------------------------------------------------


def test_text_message_without_text_is_400_naming_the_property(sim, ploy):
    response = push(sim, ploy.id, {"type": "text"})

    assert rejected_properties(response) == ["messages[0].text"]
    assert response.json()["message"] == "The request body has 1 error(s)"


def test_unknown_message_type_is_400(sim, ploy):
    response = push(sim, ploy.id, text(), {"type": "hologram", "text": "hi"})

    assert rejected_properties(response) == ["messages[1].type"]


def test_text_over_5000_characters_is_400(sim, ploy):
    assert push(sim, ploy.id, text("x" * 5000)).status_code == 200
    assert rejected_properties(push(sim, ploy.id, text("x" * 5001))) == ["messages[0].text"]


def test_flex_bubble_over_30_kb_is_400(sim, ploy):
    huge = bubble(label("x" * (30 * 1024)))

    response = push(sim, ploy.id, flex(huge))

    assert rejected_properties(response) == ["messages[0].contents"]
    assert "limit 30720" in response.json()["details"][0]["message"]


def test_flex_bubble_over_30_kb_inside_a_carousel_is_400(sim, ploy):
    huge = bubble(label("x" * (30 * 1024)))

    response = push(sim, ploy.id, flex(carousel(bubble(), huge)))

    assert rejected_properties(response) == ["messages[0].contents.contents[1]"]


def test_flex_carousel_over_50_kb_is_400(sim, ploy):
    big = bubble(label("x" * (20 * 1024)))

    response = push(sim, ploy.id, flex(carousel(big, big, big)))

    assert rejected_properties(response) == ["messages[0].contents"]


def test_flex_carousel_with_13_bubbles_is_400(sim, ploy):
    assert push(sim, ploy.id, flex(carousel(*[bubble()] * 12))).status_code == 200

    response = push(sim, ploy.id, flex(carousel(*[bubble()] * 13)))

    assert rejected_properties(response) == ["messages[0].contents.contents"]


def test_alt_text_over_400_characters_is_400(sim, ploy):
    assert push(sim, ploy.id, flex(bubble(), alt_text="a" * 400)).status_code == 200

    response = push(sim, ploy.id, flex(bubble(), alt_text="a" * 401))

    assert rejected_properties(response) == ["messages[0].altText"]


def test_quick_reply_with_14_items_is_400(sim, ploy):
    items = [quick_reply_item(f"opt {i}") for i in range(14)]

    response = push(sim, ploy.id, with_quick_reply(text("Pick one"), *items))

    assert rejected_properties(response) == ["messages[0].quickReply.items"]


def test_quick_reply_with_13_items_is_accepted(sim, ploy):
    items = [quick_reply_item(f"opt {i}") for i in range(13)]

    assert push(sim, ploy.id, with_quick_reply(text("Pick one"), *items)).status_code == 200


def test_quick_reply_label_over_20_characters_is_400(sim, ploy):
    item = quick_reply_item("x" * 21)

    response = push(sim, ploy.id, with_quick_reply(text("Pick one"), item))

    assert rejected_properties(response) == ["messages[0].quickReply.items[0].action.label"]


def test_postback_data_over_300_characters_is_400(sim, ploy):
    item = quick_reply_item("Redeem", data="d" * 301)

    response = push(sim, ploy.id, with_quick_reply(text("Redeem?"), item))

    assert rejected_properties(response) == ["messages[0].quickReply.items[0].action.data"]


def test_postback_data_over_300_characters_in_a_flex_button_is_400(sim, ploy):
    response = push(sim, ploy.id, flex(bubble(button(data="d" * 301))))

    assert response.status_code == 400
    assert any(p.endswith(".action.data") for p in rejected_properties(response))


def test_well_formed_flex_bubble_with_a_button_is_delivered(sim, ploy):
    card = flex(bubble(label("3 / 10 stamps"), button("Collect", "action=stamp")), "Stamp card")

    response = push(sim, ploy.id, card)

    assert response.status_code == 200
    assert [entry["message"] for entry in sim.platform.inbox(ploy.id)] == [card]


# -- fault injection ---------------------------------------------------------------------------


@pytest.mark.parametrize("status", [429, 500])
def test_injected_fault_hits_the_next_two_pushes_only(sim, ploy, status):
    sim.inject("push", status, times=2)

    statuses = [push(sim, ploy.id, text(f"try {i}")).status_code for i in range(3)]

    assert statuses == [status, status, 200]
    assert delivered(sim, ploy) == [("push", "try 2")]


def test_injected_fault_leaves_other_endpoints_alone(sim, ploy):
    sim.inject("push", 500)

    assert get(sim, QUOTA).status_code == 200
    assert multicast(sim, [ploy.id]).status_code == 200
    assert push(sim, ploy.id).status_code == 500


def test_fourth_multicast_within_a_second_is_rate_limited(sim, ploy):
    sim.set_rate_limit("multicast", 3)

    statuses = [multicast(sim, [ploy.id], text(f"m{i}")).status_code for i in range(4)]

    assert statuses == [200, 200, 200, 429]
    assert len(delivered(sim, ploy)) == 3
    assert push(sim, ploy.id).status_code == 200  # push has its own budget


def test_injected_latency_slows_the_call_down(sim):
    sim.set_latency("quota", 0.2)

    started = time.perf_counter()
    response = get(sim, QUOTA)
    elapsed = time.perf_counter() - started

    assert response.status_code == 200
    assert elapsed >= 0.2


def test_inject_rejects_an_unknown_endpoint(sim):
    with pytest.raises(ValueError, match="unknown endpoint"):
        sim.inject("broadcast", 500)


# -- profile and quota -------------------------------------------------------------------------


def test_profile_of_a_friend(sim, ploy):
    response = profile(sim, ploy.id)

    assert response.status_code == 200
    assert response.json() == {"displayName": "Ploy", "userId": ploy.id, "language": "th"}
    assert response_errors("UserProfileResponse", response.json()) == []


def test_profile_of_an_unknown_user_is_404(sim):
    assert profile(sim, user_id_for("nobody")).status_code == 404


def test_profile_of_a_non_friend_is_404(sim, stranger):
    assert profile(sim, stranger.id).status_code == 404


def test_profile_disappears_when_the_user_blocks(sim, ploy):
    ploy.state.friend = False

    assert profile(sim, ploy.id).status_code == 404


def test_quota_has_the_documented_shape(sim):
    response = get(sim, QUOTA)

    assert response.status_code == 200
    assert response.json() == {"type": "limited", "value": sim.platform.quota_limit}
    assert response_errors("MessageQuotaResponse", response.json()) == []


def test_bot_info_has_the_documented_shape(sim):
    response = get(sim, "/v2/bot/info")

    assert response.status_code == 200
    assert response_errors("BotInfoResponse", response.json()) == []
    assert response.json()["basicId"] == ev.BOT_BASIC_ID
    assert response.json()["userId"] == ev.BOT_USER_ID


def test_bot_info_needs_the_token(sim):
    assert get(sim, "/v2/bot/info", headers={}).status_code == 401


def test_quota_consumption_counts_pushed_and_multicast_messages(sim, ploy, stranger):
    other = sim.user("nok", "Nok")
    other.state.friend = True

    push(sim, ploy.id, text("a"), text("b"))
    push(sim, stranger.id, text("not delivered"))
    multicast(sim, [ploy.id, other.id, stranger.id], text("c"))
    response = get(sim, CONSUMPTION)

    assert response.status_code == 200
    assert response.json() == {"totalUsage": 4}
    assert response_errors("QuotaConsumptionResponse", response.json()) == []


# -- control API and console -------------------------------------------------------------------


def test_fault_control_with_bad_json_is_400_and_injects_nothing(sim, ploy):
    response = requests.post(
        sim.base_url + "/_sim/faults",
        data=b"{endpoint: push",
        headers={"Content-Type": "application/json"},
        timeout=TIMEOUT,
    )

    assert response.status_code == 400
    assert sim.platform.faults == []
    assert push(sim, ploy.id).status_code == 200


def test_fault_control_injects_a_fault_over_http(sim, ploy):
    response = requests.post(
        sim.base_url + "/_sim/faults",
        json={"endpoint": "push", "status": 503, "times": 1},
        timeout=TIMEOUT,
    )

    assert response.status_code == 200
    assert push(sim, ploy.id).status_code == 503
    assert push(sim, ploy.id).status_code == 200


def test_request_log_lists_recorded_pushes(sim, ploy):
    push(sim, ploy.id, text("first"))
    get(sim, QUOTA)
    push(sim, ploy.id, text("second"))

    response = requests.get(
        sim.base_url + "/_sim/requests", params={"endpoint": "push"}, timeout=TIMEOUT
    )

    assert response.status_code == 200
    logged = response.json()
    assert [r["endpoint"] for r in logged] == ["push", "push"]
    assert [r["body"]["messages"][0]["text"] for r in logged] == ["first", "second"]
    assert [r["status"] for r in logged] == [200, 200]


def test_console_page_is_served_at_the_root(sim):
    response = requests.get(sim.base_url + "/", timeout=TIMEOUT)

    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    assert "LINE chat simulator" in response.text


def test_unsimulated_api_path_is_404(sim):
    response = post(sim, "/v2/bot/message/broadcast", {"messages": [text()]})

    assert response.status_code == 404
    assert "not simulated" in response.json()["message"]


def test_many_kept_alive_connections_are_all_answered(sim):
    """A web process serving 100 merchants keeps a pool per channel open: LINE answers
    each connection, however many are open (waitress's default stopped at 100)."""
    host, port = sim.base_url.removeprefix("http://").split(":")
    connections = [http.client.HTTPConnection(host, int(port), timeout=5) for _ in range(150)]
    statuses = []
    try:
        for connection in connections:  # each stays open, as a pooled keep-alive one does
            connection.request("GET", "/v2/bot/info", headers=auth(sim))
            response = connection.getresponse()
            response.read()
            statuses.append(response.status)
    finally:
        for connection in connections:
            connection.close()

    assert statuses == [200] * 150
