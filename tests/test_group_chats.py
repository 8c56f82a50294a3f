"""Group and multi-person chats: nothing personal is ever said where everyone can read it."""

import json

import pytest
import requests

from simulator import events as ev
from simulator import texts

PRIVATE_CHAT = "https://line.me/R/oaMessage/%40123abcde/"  # the simulator's basic id, encoded
HINT = "That's personal, so I only answer it in a private chat with you."
PERSONAL = ["profile", "my data", "card", "points", "history", "coupons", "rewards"]


def button_uri(message: dict) -> str:
    """The URI of the Flex button under a hint."""
    footer = message["contents"]["footer"]["contents"]
    return footer[0]["action"]["uri"]


def said_anything_personal(messages: list[dict]) -> list[str]:
    """Whatever of Alice's details (see conftest.sign_up) or live tokens the messages show."""
    dump = json.dumps(messages, ensure_ascii=False)
    secrets = ["Smith", "081", "+6681", "alice@example.com", "1990", "/my-data/", "SMC1.", "/qr/"]
    return [s for s in secrets if s in dump]


@pytest.fixture
def family(sim, app):
    return sim.group("family")


@pytest.mark.parametrize("command", PERSONAL)
def test_a_personal_command_in_a_group_gets_a_hint_and_nothing_personal(member, family, command):
    private_before = len(member.inbox)

    replies = family.says(member, command)

    assert family.last_status == 200
    assert len(replies) == 1
    assert replies[0]["altText"] == HINT
    assert said_anything_personal(family.inbox) == []
    assert len(member.inbox) == private_before  # nothing pushed behind the group's back


def test_the_hint_button_opens_the_private_chat_with_the_command_typed(member, family):
    (hint,) = family.says(member, "card")

    assert button_uri(hint) == PRIVATE_CHAT + "?card"
    assert hint["contents"]["footer"]["contents"][0]["action"]["label"] == "Message me privately"


def test_the_hint_speaks_the_members_language(member, family):
    member.says("language th")

    (hint,) = family.says(member, "บัตร")

    assert hint["altText"] == "เรื่องนี้เป็นข้อมูลส่วนตัว ขอตอบในแชทส่วนตัวกับคุณเท่านั้นนะคะ"
    assert button_uri(hint) == PRIVATE_CHAT + "?%E0%B8%9A%E0%B8%B1%E0%B8%95%E0%B8%A3"


def test_without_a_known_basic_id_the_hint_says_where_to_type(member, family, sim):
    sim.inject("bot_info", 403)

    replies = family.says(member, "points")

    assert texts(replies) == [HINT + " Open my chat and type “points” there."]


def test_a_room_is_treated_like_a_group(member, sim):
    room = sim.room("lunch")

    replies = room.says(member, "my data")

    assert [r["altText"] for r in replies] == [HINT]
    assert said_anything_personal(room.inbox) == []


def test_staff_commands_in_a_group_are_not_run(cashier, member, family, store):
    code = store.member_by_line_id(member.id)["code"]

    replies = family.says(cashier, f"/earn {code} 500")

    assert [r["altText"] for r in replies] == [HINT]
    assert store.member_by_line_id(member.id)["points"] == 50  # the signup bonus only


def test_a_button_tapped_in_a_group_gets_the_hint(member, family):
    replies = family.taps(member, "a=card")

    assert [r["altText"] for r in replies] == [HINT]
    assert said_anything_personal(family.inbox) == []


def test_help_is_answered_in_a_group(member, family):
    replies = family.says(member, "help")

    assert texts(replies)[0].startswith("Here is what you can type:")


def test_group_chatter_and_stickers_get_no_answer(member, family, sim):
    replies_before = len(sim.requests("reply"))

    assert family.says(member, "see you at 6?") == []
    assert family.sends_sticker(member) == []
    assert len(sim.requests("reply")) == replies_before


@pytest.mark.parametrize("text", ["join", "language", "card", "help"])
def test_a_group_message_without_a_user_id_is_answered_with_silence(family, store, text):
    event = ev.text_message(None, text, source=family.source())

    assert family.send(event) == []
    assert family.last_status == 200
    assert store.event_status(event["webhookEventId"]) == "done"  # handled, not crashed


def test_the_bot_joining_a_group_and_members_coming_and_going_are_quiet(family, alice, store):
    assert family.bot_joins() == []
    assert family.member_joins(alice) == []
    assert family.member_leaves(alice) == []
    assert family.bot_leaves() == []
    assert family.last_status == 200
    assert store.db.webhook_events.count_documents({"status": "done"}) == 4


def test_a_signup_in_progress_is_not_fed_from_the_group(alice, family, store):
    assert texts(alice.says("join"))[0].startswith("Great! A few quick questions")

    assert family.says(alice, "Bobby") == []  # group talk, not an answer to the signup

    alice.says("Alice")
    assert store.member_by_line_id(alice.id)["conversation"]["answers"]["first_name"] == "Alice"


def test_the_same_commands_still_work_in_the_private_chat(member, family):
    family.says(member, "card")

    assert texts(member.says("points"))[0].startswith("You have 50 points")


def test_a_refused_reply_in_a_group_is_not_pushed_to_the_member_instead(member, family, sim):
    private_before = len(member.inbox)
    sim.inject("reply", 400)

    assert family.says(member, "help") == []

    assert sim.requests("push") == []
    assert len(member.inbox) == private_before


def test_the_simulator_control_api_speaks_in_groups_and_rooms(sim, member):
    said = requests.post(
        f"{sim.base_url}/_sim/groups/family/say",
        json={"user": "alice", "text": "card"},
        timeout=10,
    ).json()
    anonymous = requests.post(
        f"{sim.base_url}/_sim/rooms/lunch/say", json={"text": "card"}, timeout=10
    ).json()
    joined = requests.post(f"{sim.base_url}/_sim/groups/family/join", timeout=10).json()
    seen = requests.get(f"{sim.base_url}/_sim/groups/family/messages", timeout=10).json()

    assert said["webhookStatus"] == 200
    assert [r["altText"] for r in said["replies"]] == [HINT]
    assert said["chatId"] == sim.group("family").id
    assert anonymous["replies"] == [] and anonymous["webhookStatus"] == 200
    assert joined["replies"] == [] and joined["webhookStatus"] == 200
    assert [m["message"]["altText"] for m in seen] == [HINT]


def test_only_help_is_answered_where_everyone_reads_it(services):
    public = [c.name for c in services.registry.commands if not c.private]

    assert public == ["help"]
