"""The webhook as LINE and a customer see it: signatures, limits, once-only events."""

import json
import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import time_machine
from linebot.v3.webhook import WebhookParser

from bot.store import utcnow
from bot.store.events import MAX_EVENT_AGE
from jobs import maintenance
from simulator import events as ev
from simulator import texts


def stored_events(store) -> int:
    return store.db.webhook_events.count_documents({})


def test_help_reaches_the_customer_through_the_full_path(alice, sim):
    replies = alice.says("help")

    assert alice.last_status == 200
    assert len(replies) == 1
    assert texts(replies)[0].startswith("Here is what you can type:")
    assert replies[0]["type"] == "flex"  # the help menu, buttons for what to do
    assert [r["endpoint"] for r in sim.requests()] == ["reply"]


def test_help_answers_in_thai_and_chinese_keywords_too(alice):
    assert texts(alice.says("ช่วยเหลือ"))[0].startswith("Here is what you can type:")
    assert texts(alice.says("  HELP  "))[0].startswith("Here is what you can type:")
    assert texts(alice.says("說明"))[0].startswith("Here is what you can type:")


def test_unknown_text_gets_a_friendly_hint(alice):
    replies = alice.says("what's the wifi password?")

    assert texts(replies) == [
        "Sorry, I didn't understand that. Tap a button below, or type “help” to see "
        "everything I can do."
    ]


def test_a_sticker_gets_a_hint_instead_of_silence(alice):
    replies = alice.sends_sticker()

    assert texts(replies) == ["Thanks! I can only read text messages. Type “help” to start."]


def test_bad_signature_is_400_and_nothing_is_stored(sim, alice, store):
    body = ev.body_of([ev.text_message(alice.id, "help")])

    assert sim.post_raw(body, ev.sign("not-the-channel-secret", body)) == 400
    assert sim.post_raw(body, None) == 400
    assert sim.post_raw(body, "") == 400
    assert stored_events(store) == 0
    assert alice.inbox == []


def test_body_over_one_megabyte_is_413_and_nothing_is_stored(sim, alice, store):
    event = ev.text_message(alice.id, "x" * (1024 * 1024))
    body = ev.body_of([event])

    assert sim.post_raw(body, ev.sign(sim.platform.channel_secret, body)) == 413
    assert stored_events(store) == 0


def test_empty_events_is_a_connectivity_check(sim, store):
    body = b'{"destination": "Uxxxxxxxx", "events": []}'

    assert sim.post_raw(body, ev.sign(sim.platform.channel_secret, body)) == 200
    assert stored_events(store) == 0


@pytest.mark.parametrize("body", [b"not json", b'{"no_events": 1}', b'{"events": "nope"}'])
def test_signed_but_malformed_body_is_400(sim, store, body):
    assert sim.post_raw(body, ev.sign(sim.platform.channel_secret, body)) == 400
    assert stored_events(store) == 0


def test_the_same_signed_event_posted_twice_is_handled_once(sim, alice, store):
    event = ev.text_message(alice.id, "help")
    body = ev.body_of([event])
    signature = ev.sign(sim.platform.channel_secret, body)
    sim.platform.issue_reply_token(event["replyToken"], alice.id)

    assert sim.post_raw(body, signature) == 200
    assert sim.post_raw(body, signature) == 200

    assert len(alice.inbox) == 1
    assert len(sim.requests("reply")) == 1
    assert store.event_status(event["webhookEventId"]) == "done"


def test_a_redelivery_of_a_handled_event_is_skipped(sim, alice):
    event = ev.text_message(alice.id, "help")
    alice.send(event)

    again = alice.send(ev.redelivered(event))

    assert again == []
    assert len(alice.inbox) == 1


def test_a_failed_handler_is_released_and_the_redelivery_retries_it(
    services, sim, alice, store, caplog
):
    calls = []

    def flaky(ctx):
        calls.append(ctx.raw["webhookEventId"])
        if len(calls) == 1:
            raise RuntimeError(f"boom while reading {ctx.raw['postback']['data']}")
        return [{"type": "text", "text": "second time lucky"}]

    services.registry.on_event("postback")(flaky)
    event = ev.postback(alice.id, "secret-customer-data")

    with caplog.at_level(logging.ERROR):
        first = alice.send(event)
    assert alice.last_status == 200  # LINE must not see our bug
    assert first == []
    assert store.event_status(event["webhookEventId"]) is None  # released

    retried = alice.send(ev.redelivered(event))

    assert texts(retried) == ["second time lucky"]
    assert calls == [event["webhookEventId"]] * 2
    assert store.event_status(event["webhookEventId"]) == "done"
    logged = caplog.text
    assert "Traceback" in logged and "RuntimeError" in logged and "flaky" in logged
    assert "secret-customer-data" not in logged  # no personal data, no body


def test_a_redelivery_whose_reply_token_expired_is_answered_by_push(services, sim, alice):
    attempts = []

    def crash_once(ctx):
        attempts.append(1)
        if len(attempts) == 1:
            raise RuntimeError("transient")
        return [{"type": "text", "text": "done"}]

    services.registry.on_event("postback")(crash_once)
    event = ev.postback(alice.id, "action=x")
    alice.send(event)
    sim.platform.reply_tokens[event["replyToken"]]["used"] = True  # LINE's token is gone

    replies = alice.send(ev.redelivered(event))

    assert texts(replies) == ["done"]
    assert [r["endpoint"] for r in sim.requests()][-2:] == ["reply", "push"]
    assert sim.requests("push")[-1]["retry_key"]


def test_standby_events_are_recorded_but_never_answered(sim, alice, store):
    event = ev.text_message(alice.id, "help", mode="standby")

    assert alice.send(event) == []
    assert store.event_status(event["webhookEventId"]) == "standby"
    assert sim.requests() == []


@pytest.mark.parametrize("event_type", ev.OTHER_EVENT_TYPES)
def test_every_line_event_type_is_answered_200_and_recorded(sim, alice, store, event_type):
    event = ev.other_event(event_type, alice.id)
    parsed = WebhookParser(sim.platform.channel_secret).parse(
        ev.body_of([event]).decode(), ev.sign(sim.platform.channel_secret, ev.body_of([event]))
    )
    assert type(parsed[0]).__name__ != "UnknownEvent"  # the fixture is LINE's full shape

    alice.send(event)

    assert alice.last_status == 200
    assert store.event_status(event["webhookEventId"]) == "done"


def test_an_event_type_line_adds_later_is_still_answered_200(sim, alice, store):
    event = ev.base_event("somethingNew", alice.id, reply=False)

    alice.send(event)

    assert alice.last_status == 200
    assert store.event_status(event["webhookEventId"]) == "done"


def test_several_events_in_one_body_are_each_handled(sim, alice, store):
    bob = sim.user("bob", language="en")
    events = [ev.text_message(alice.id, "help"), ev.text_message(bob.id, "hello")]

    assert sim.deliver(events) == 200

    assert texts(alice.inbox)[0].startswith("Here is what you can type:")
    assert texts(bob.inbox)[0].startswith("Sorry, I didn't understand")


def test_staff_commands_are_refused_to_customers(alice):
    assert texts(alice.says("/help")) == ["Sorry, you are not allowed to use /help."]


def test_owner_sees_the_staff_commands(owner):
    reply = texts(owner.says("/help"))[0]

    assert reply.startswith("Here is what you can type:")
    assert "Earn points" in reply and "Add a reward" in reply
    assert owner.says("help") == owner.says("/help")
    assert texts(owner.says("/help void")) == ["/void <purchase-id> — reverse a purchase"]
    assert texts(owner.says("/help nope")) == ["No command called nope."]


def test_no_event_body_reaches_the_logs(sim, alice, caplog):
    with caplog.at_level(logging.DEBUG):
        alice.says("my phone is 0812345678")

    assert "0812345678" not in caplog.text
    assert json.dumps("0812345678") not in caplog.text


def test_the_same_event_arriving_concurrently_is_handled_once(app, sim, alice, store):
    event = ev.text_message(alice.id, "help")
    sim.platform.issue_reply_token(event["replyToken"], alice.id)
    body = ev.body_of([event])
    signature = ev.sign(sim.platform.channel_secret, body)

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(lambda _: sim.post_raw(body, signature), range(8)))

    # Copies that found the first one still working get 500: LINE redelivers them later.
    assert statuses.count(200) >= 1 and set(statuses) <= {200, 500}
    assert sim.post_raw(body, signature) == 200  # that redelivery: done, not handled again
    assert len(alice.inbox) == 1
    assert store.event_status(event["webhookEventId"]) == "done"


def test_a_captured_earn_replayed_after_its_id_was_pruned_earns_nothing(
    sim, cashier, member, store, caplog
):
    code = store.member_by_line_id(member.id)["code"]
    event = ev.text_message(cashier.id, f"/earn {code} 500")
    body = ev.body_of([event])
    signature = ev.sign(sim.platform.channel_secret, body)
    sim.platform.issue_reply_token(event["replyToken"], cashier.id)
    assert sim.post_raw(body, signature) == 200
    assert store.member_by_line_id(member.id)["points"] == 70

    with time_machine.travel(utcnow() + timedelta(days=8)):
        assert maintenance.prune_webhook_events(store) >= 1
        assert store.event_status(event["webhookEventId"]) is None  # forgotten
        with caplog.at_level(logging.INFO, logger="bot.chat.dispatch"):
            assert sim.post_raw(body, signature) == 200

    assert store.member_by_line_id(member.id)["points"] == 70
    assert store.event_status(event["webhookEventId"]) is None  # not even recorded
    assert f"ignoring message event {event['webhookEventId']}: older than 24 hours" in caplog.text


def test_a_late_redelivery_within_a_day_is_still_handled(alice):
    event = ev.redelivered(ev.text_message(alice.id, "help"))
    event["timestamp"] -= int((MAX_EVENT_AGE - timedelta(minutes=5)).total_seconds() * 1000)

    assert texts(alice.send(event))[0].startswith("Here is what you can type:")


def test_an_event_older_than_a_day_is_ignored(alice, store):
    event = ev.redelivered(ev.text_message(alice.id, "help"))
    event["timestamp"] -= int((MAX_EVENT_AGE + timedelta(minutes=1)).total_seconds() * 1000)

    assert alice.send(event) == []
    assert alice.last_status == 200
    assert store.event_status(event["webhookEventId"]) is None


def test_event_ids_are_kept_longer_than_events_are_accepted():
    margin = maintenance.KEEP_WEBHOOK_EVENTS - MAX_EVENT_AGE
    assert margin >= timedelta(days=6)


def _set(path: str, value):
    """Change one field of an event: `source.userId`, `replyToken`…"""

    def change(event: dict) -> None:
        *parents, last = path.split(".")
        node = event
        for key in parents:
            node = node[key]
        node[last] = value

    return change


MALFORMED = {
    "userId is a query": ("card", _set("source.userId", {"$ne": None})),
    "userId is not LINE's": ("card", _set("source.userId", "U" + "0" * 500)),
    "text is a list": ("text", _set("message.text", ["card"])),
    "reply token is an object": ("card", _set("replyToken", {"$gt": ""})),
    "event id is a query": ("card", _set("webhookEventId", {"$gt": ""})),
    "postback data is an object": ("postback", _set("postback.data", {"a": "card"})),
    "postback params nest": ("postback", _set("postback.params", {"date": {"$ne": 1}})),
    "redelivery flag is a string": ("card", _set("deliveryContext.isRedelivery", "no")),
    "no delivery context": ("card", lambda event: event.pop("deliveryContext")),
    "timestamp is a string": ("card", _set("timestamp", "1700000000000")),
}


@pytest.mark.parametrize("case", MALFORMED)
def test_a_signed_event_with_wrong_types_reaches_no_handler_and_no_query(
    sim, member, store, caplog, case
):
    mallory = sim.user("mallory", language="en")
    kind, corrupt = MALFORMED[case]
    if kind == "postback":
        event = ev.postback(mallory.id, "a=card")
    else:
        event = ev.text_message(mallory.id, "card")
    corrupt(event)
    token = event["replyToken"] if isinstance(event["replyToken"], str) else ev.new_token()
    sim.platform.issue_reply_token(token, mallory.id)
    body = ev.body_of([event])
    seen_by_alice = len(member.inbox)

    with caplog.at_level(logging.WARNING):
        assert sim.post_raw(body, ev.sign(sim.platform.channel_secret, body)) == 200

    assert mallory.inbox == []  # above all, not Alice's card
    assert len(member.inbox) == seen_by_alice
    assert store.db.webhook_events.count_documents({"status": {"$ne": "done"}}) == 0
    assert "malformed fields" in caplog.text
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_a_malformed_event_does_not_hold_up_the_others_in_its_body(sim, alice):
    broken = ev.text_message(alice.id, "help")
    broken["message"]["text"] = {"$where": "1"}
    fine = ev.text_message(alice.id, "help")

    assert sim.deliver([broken, fine]) == 200

    assert len(alice.inbox) == 1


@pytest.mark.parametrize("depth", [40, 900, 100_000])
def test_deeply_nested_json_is_400(sim, store, depth):
    event = ev.text_message(ev.BOT_USER_ID, "help")
    event["message"]["extra"] = "@@"
    body = ev.body_of([event]).replace(b'"@@"', b"[" * depth + b"]" * depth)

    assert sim.post_raw(body, ev.sign(sim.platform.channel_secret, body)) == 400
    assert stored_events(store) == 0
