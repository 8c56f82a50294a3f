"""Following and blocking the account."""

from simulator import texts
from tests.conftest import sign_up


def test_a_new_friend_gets_a_welcome_bubble_with_a_join_button(alice, store):
    replies = alice.follow()

    bubble = replies[0]
    assert bubble["type"] == "flex"
    assert bubble["altText"].startswith("Welcome to")
    button = bubble["contents"]["footer"]["contents"][0]["action"]
    assert button == {"type": "message", "label": "Join now", "text": "join"}
    doc = store.member_by_line_id(alice.id)
    assert doc["status"] == "follower" and doc["reachable"] is True
    assert doc["locale"] == "en"


def test_the_welcome_uses_the_line_app_language(sim, app, store):
    nok = sim.user("nok", "นก", language="th")
    nok.state.friend = True

    bubble = nok.follow()[0]

    assert bubble["contents"]["footer"]["contents"][0]["action"]["text"] == "สมัครสมาชิก"
    assert store.member_by_line_id(nok.id)["locale"] == "th"


def test_blocking_makes_a_member_unreachable_and_unblocking_welcomes_back(alice, store):
    alice.follow()
    sign_up(alice)

    assert alice.block() == []
    assert store.member_by_line_id(alice.id)["reachable"] is False

    replies = alice.follow()

    assert texts(replies) == ["Welcome back, Alice! Your points are waiting for you."]
    doc = store.member_by_line_id(alice.id)
    assert doc["reachable"] is True and doc["status"] == "member" and doc["points"] == 50


def test_a_friend_from_before_we_ran_can_still_join(alice, store):
    # No follow event ever arrived for Alice.
    assert texts(alice.says("join"))[-1] == "What is your first name?"
    assert store.member_by_line_id(alice.id)["status"] == "follower"
