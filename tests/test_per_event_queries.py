"""Every webhook event reaches its documents by `_id`, so its cost stays flat as members grow.

On the dev server (FerretDB 1.24 on SQLite) a filter on any field other than `_id`
decodes every document of the collection: at 100,000 members a lookup by LINE user id
took seconds, past LINE's 2-second reply budget. A pymongo command listener records
every command each kind of event issues, and any filter not on `_id` fails the test
unless it is allowed below with its reason.
"""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pymongo
import pytest
import time_machine
from bson import ObjectId
from PIL import Image
from pymongo import monitoring

from bot.chat.conversation import CONVERSATION_TTL
from bot.store import Store, utcnow
from simulator import events as ev
from simulator import texts

pytestmark = pytest.mark.devdb_only(reason="counts what a real server receives (command listener)")

# (collection, filter fields) -> why reading the whole collection is fine there.
ALLOWED = {
    ("rewards", ("active",)): "the reward catalogue: a few dozen documents, not one per member",
    ("branches", ()): "the shop's branches: a handful of documents",
    ("rich_menus", ()): "the rich menus: one per kind and language, a handful of documents",
}
FILTERED = {
    "find": ("filter",),
    "findAndModify": ("query",),
    "count": ("query",),
    "distinct": ("query",),
}


def on_id(query: dict) -> bool:
    """True if the query selects by `_id` equality or an `_id` list (the dev server's index)."""
    value = query.get("_id")
    if isinstance(value, str | ObjectId):
        return True
    if isinstance(value, dict) and set(value) == {"$in"}:
        return 0 < len(value["$in"]) <= 1000 and all(
            isinstance(v, str | ObjectId) for v in value["$in"]
        )
    return False


class Commands(monitoring.CommandListener):
    """The commands sent while recording: (command, collection, filter or None)."""

    def __init__(self) -> None:
        self.recording = False
        self.seen: list[tuple[str, str, dict | None]] = []

    def started(self, event) -> None:
        if not self.recording:
            return
        command = event.command
        name = event.command_name
        collection = command.get(name)
        if name in FILTERED:
            self.seen.append((name, collection, command.get(FILTERED[name][0]) or {}))
        elif name in ("update", "delete"):
            part = "updates" if name == "update" else "deletes"
            self.seen += [(name, collection, statement["q"]) for statement in command[part]]
        elif name == "aggregate":
            first = (command.get("pipeline") or [{}])[0]
            self.seen.append((name, collection, first.get("$match", {})))
        else:
            self.seen.append((name, collection, None))  # insert, getMore… select nothing

    def succeeded(self, event) -> None:
        pass

    def failed(self, event) -> None:
        pass

    def scans(self) -> list[str]:
        """The commands that would read a whole collection, and are not allowed to."""
        found = []
        for name, collection, query in self.seen:
            if query is None or on_id(query):
                continue
            if (collection, tuple(sorted(query))) in ALLOWED:
                continue
            found.append(f"{name} {collection} {query}")
        return found


@pytest.fixture
def commands(services, mongo_uri, config):
    """The app's store, on a client that tells `Commands` about every command."""
    listener = Commands()
    client = pymongo.MongoClient(mongo_uri, event_listeners=[listener], tz_aware=True)
    original = services.store
    original.backfill()  # as `flask init-db` does: the shop's running totals exist
    services.store = Store(client, config["MONGODB_DB"])
    services.store.serialises_writes  # noqa: B018 - asked once here, not during an event
    yield listener
    services.store = original
    client.close()


@pytest.fixture
def per_event(commands):
    """Run each event while recording; collect the scans of every event, by event."""
    found: dict[str, list[str]] = {}

    def run(label: str, send):
        commands.seen = []
        commands.recording = True
        try:
            replies = send()
        finally:
            commands.recording = False
        assert commands.seen, f"{label}: no database command recorded"
        if commands.scans():
            found[label] = commands.scans()
        return replies

    run.found = found
    return run


def no_scans(found: dict[str, list[str]]) -> None:
    assert found == {}, "\n".join(f"{label}: {scans}" for label, scans in found.items())


def test_a_members_events_read_by_id(per_event, sim, store, cashier, owner):
    alice = sim.user("alice", "Alice", language="en")
    per_event("follow", alice.follow)
    steps = [
        ("join", lambda: alice.says("join")),
        ("first name", lambda: alice.says("Alice")),
        ("last name", lambda: alice.says("Smith")),
        ("gender", lambda: alice.taps("a=signup&step=gender&v=female")),
        ("birthday", lambda: alice.taps("a=signup&step=birthday", params={"date": "1990-05-17"})),
        ("phone", lambda: alice.says("081 234 5678")),
        ("email", lambda: alice.says("alice@example.com")),
        ("privacy", lambda: alice.taps("a=signup&step=privacy&v=yes")),
        ("marketing", lambda: alice.taps("a=signup&step=marketing&v=yes")),
    ]
    for label, step in steps:
        per_event(f"signup {label}", step)
    assert store.member_by_line_id(alice.id)["status"] == "member"
    code = store.member_by_line_id(alice.id)["code"]
    cashier.says(f"/earn {code} 500")  # something to show in points and history
    owner.says("/reward add 10 20 Free tea")
    reward_id = store.list_rewards()[0]["_id"]
    owner.says(f"/coupon give {code} amount 20")

    for command in ("card", "points", "history", "rewards", "coupons", "profile", "help"):
        assert per_event(command, lambda command=command: alice.says(command)), command
    per_event("language", lambda: alice.says("language th"))
    per_event("card button", lambda: alice.taps("a=card"))
    question = per_event("redeem", lambda: alice.taps(f"a=redeem&r={reward_id}"))
    confirm = question[0]["quickReply"]["items"][0]["action"]["data"]
    assert "R" in texts(per_event("confirm", lambda: alice.taps(confirm)))[0]
    per_event("confirm again", lambda: alice.taps(confirm))
    per_event("unfollow", alice.block)
    per_event("follow again", alice.follow)

    no_scans(per_event.found)


def test_staff_and_owner_commands_read_by_id(per_event, sim, store, cashier, owner, member):
    code = store.member_by_line_id(member.id)["code"]
    owner.says("/reward add 10 20 Free tea")
    reward_id = store.list_rewards()[0]["_id"]
    owner.says(f"/coupon give {code} amount 20")
    coupon = store.member_coupons(store.member_by_line_id(member.id)["_id"])[0]["_id"]
    question = member.taps(f"a=redeem&r={reward_id}")[0]
    member.taps(question["quickReply"]["items"][0]["action"]["data"])
    redemption = store.member_redemptions(store.member_by_line_id(member.id)["_id"], ("issued",))

    earned = texts(per_event("/earn", lambda: cashier.says(f"/earn {code} 150")))[0]
    purchase = re.match(r"Purchase (\w{8}):", earned).group(1)
    per_event("/earn with receipt", lambda: cashier.says(f"/earn {code} 250 R-7"))
    per_event("/earn same receipt", lambda: cashier.says(f"/earn {code} 250 R-7"))
    per_event("/earn with coupon", lambda: cashier.says(f"/earn {code} 300 coupon:{coupon}"))
    per_event("/earn by phone", lambda: cashier.says("/earn 0812345678 120"))
    per_event("/use", lambda: cashier.says(f"/use {redemption[0]['_id']}"))
    per_event("/member", lambda: cashier.says(f"/member {code}"))
    per_event("/member by phone", lambda: cashier.says("/member 081 234 5678"))
    per_event("/void", lambda: cashier.says(f"/void {purchase}"))
    per_event("/void again", lambda: cashier.says(f"/void {purchase}"))
    per_event("/help", lambda: cashier.says("/help"))
    per_event("/earn (owner, asks the branch)", lambda: owner.says(f"/earn {code} 90"))
    per_event("/adjust", lambda: owner.says(f"/adjust {code} +5 sorry"))
    per_event("/coupon give", lambda: owner.says(f"/coupon give {code} percent 10"))
    per_event("/tag", lambda: owner.says(f"/tag {code} vip"))
    per_event("/untag", lambda: owner.says(f"/untag {code} vip"))
    per_event("/rule show", lambda: owner.says("/rule show"))

    no_scans(per_event.found)


def test_the_listener_catches_a_scan(per_event, services, member):
    """The test itself: a lookup by LINE user id on the members would be caught."""
    recorded = services.store
    per_event("scan", lambda: recorded.db.members.find_one({"line_user_id": member.id}))
    per_event("by id", lambda: recorded.member_by_line_id(member.id))

    assert list(per_event.found) == ["scan"]


def a_png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(buffer, "PNG")
    return buffer.getvalue()


def quick_replies(replies) -> list[dict]:
    """The actions of the last message's quick-reply buttons."""
    return [item["action"] for item in replies[-1].get("quickReply", {}).get("items", [])]


def test_every_other_event_kind_reads_by_id(per_event, sim, store, cashier, owner, member):
    """Non-text messages, every other webhook type, group chats, buttons, conversations,
    redeliveries and standby: none of them scans a collection either."""
    code = store.member_by_line_id(member.id)["code"]
    per_event("sticker", member.sends_sticker)
    per_event("location", member.sends_location)
    per_event("image", lambda: member.sends_image(a_png()))
    per_event("unknown text", lambda: member.says("what a nice shop"))
    for kind in ev.OTHER_EVENT_TYPES:
        per_event(kind, lambda kind=kind: member.send(ev.other_event(kind, member.id)))

    first = ev.text_message(member.id, "points")
    sim.deliver([first])
    per_event("redelivered", lambda: sim.deliver([ev.redelivered(first)]))
    per_event(
        "standby", lambda: sim.deliver([{**ev.text_message(member.id, "card"), "mode": "standby"}])
    )

    for data in ("a=card", "a=rewards", "a=help&c=points", "a=menu&c=card"):
        per_event(f"button {data}", lambda data=data: member.taps(data))
    owner.says("/reward add 10 20 Free tea")
    question = member.taps(f"a=redeem&r={store.list_rewards()[0]['_id']}")
    keep = [a for a in quick_replies(question) if "redeem_no" in a.get("data", "")]
    per_event("redeem, not now", lambda: member.perform(keep[0]))

    per_event("profile edit", lambda: member.taps("a=edit&field=gender"))
    per_event("profile edit answer", lambda: member.taps("a=edit&step=gender&v=male"))
    member.taps("a=edit&field=gender")
    with time_machine.travel(utcnow() + CONVERSATION_TTL + timedelta(minutes=1), tick=False):
        expired = per_event("conversation expired", lambda: member.says("points"))
    assert "expired" in texts(expired)[0]

    family = sim.group("family")
    per_event("bot joins a group", family.bot_joins)
    per_event("member joins", lambda: family.member_joins(member))
    per_event("group: private command", lambda: family.says(member, "card"))
    per_event("group: help", lambda: family.says(member, "help"))
    per_event("group: chatter", lambda: family.says(member, "see you at 5"))
    per_event("group: unnamed sender", lambda: family.says(None, "points"))
    per_event("group: button", lambda: family.taps(member, "a=card"))
    per_event("group: sticker", lambda: family.sends_sticker(member))
    per_event("member leaves", lambda: family.member_leaves(member))
    per_event("bot leaves", family.bot_leaves)

    asked = per_event("/earn (owner)", lambda: owner.says(f"/earn {code} 90"))
    branch = [a for a in quick_replies(asked) if a.get("data", "").startswith("a=earn&")]
    per_event("/earn branch button", lambda: owner.perform(branch[0]))
    shown = cashier.says(f"/member {code}")
    void = next(a for m in shown for a in _actions(m) if "a=void_ask" in a.get("data", ""))
    question = per_event("void button", lambda: cashier.perform(void))
    keep = [a for a in quick_replies(question) if "void_no" in a.get("data", "")]
    per_event("void, keep it", lambda: cashier.perform(keep[0]))

    no_scans(per_event.found)


def _actions(message: dict):
    """Every action in a message (Flex boxes, buttons, quick replies), depth first."""
    if isinstance(message, dict):
        if "type" in message and "data" in message and "label" in message:
            yield message
        for value in message.values():
            yield from _actions(value)
    elif isinstance(message, list):
        for value in message:
            yield from _actions(value)
