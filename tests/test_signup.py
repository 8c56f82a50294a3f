"""Joining in chat: one question at a time, validated, ending in explicit consent."""

from datetime import UTC, datetime, timedelta

import time_machine

from bot import create_app
from bot.loyalty.member_codes import ALPHABET
from bot.store import utcnow
from simulator import texts
from tests.conftest import sign_up


def member_doc(store, user):
    return store.member_by_line_id(user.id)


def quick_labels(message) -> list[str]:
    return [item["action"]["label"] for item in message.get("quickReply", {}).get("items", [])]


def test_a_new_customer_joins_and_gets_a_code_and_50_points(alice, store):
    alice.follow()
    assert texts(alice.says("join"))[-1] == "What is your first name?"

    # Wrong answers first: each gets a clear re-ask of the same question.
    assert texts(alice.says("R2-D2"))[0].startswith("Please type a name using letters only")
    assert texts(alice.says("Alice"))[-1] == "And your last name?"
    replies = alice.says("Smith")
    assert texts(replies)[-1] == "Which gender should we note?"
    assert quick_labels(replies[-1]) == ["Female", "Male", "Other", "Prefer not to say", "Cancel"]
    assert texts(alice.says("robot"))[0] == "Please pick one of the buttons below."
    replies = alice.taps("a=signup&step=gender&v=female")
    assert texts(replies)[-1].startswith("When is your birthday?")
    picker = replies[-1]["quickReply"]["items"][0]["action"]
    assert picker["type"] == "datetimepicker" and picker["mode"] == "date"
    assert "not possible" in texts(alice.says("01/01/2999"))[0]
    assert "does not exist" in texts(alice.says("31/02/1990"))[0]
    assert texts(alice.taps("a=signup&step=birthday", params={"date": "1990-05-17"}))[-1] == (
        "What is your mobile number?"
    )
    assert "phone number" in texts(alice.says("12345"))[0]
    assert texts(alice.says("081-234-5678"))[-1] == "Your email address? (optional)"
    assert "email address" in texts(alice.says("alice@@example"))[0]
    consent = alice.says("Alice@Example.com")
    assert "privacy" in texts(consent)[-1].lower()
    assert "/privacy?lang=en" in texts(consent)[-1]
    assert quick_labels(consent[-1]) == ["I agree", "I do not agree"]
    assert texts(alice.says("maybe"))[0] == "Please pick one of the buttons below."
    marketing = alice.taps("a=signup&step=privacy&v=yes")
    assert "news and special offers" in texts(marketing)[-1]

    welcome = alice.taps("a=signup&step=marketing&v=no")

    member = member_doc(store, alice)
    assert member["status"] == "member"
    assert len(member["code"]) == 6 and set(member["code"]) <= set(ALPHABET)
    assert member["points"] == 50 == store.ledger_sum(member["_id"])
    assert member["profile"] == {
        "first_name": "Alice",
        "last_name": "Smith",
        "gender": "female",
        "birthday": "1990-05-17",
        "birth_month": 5,
        "phone": "+66812345678",
        "email": "Alice@example.com",
    }
    assert member["marketing_opt_in"] is False
    kinds = [(c["kind"], c["granted"]) for c in member["consents"]]
    assert kinds == [("privacy", True), ("marketing", False)]
    assert all(c["version"] and c["channel"] == "line-chat" and c["at"] for c in member["consents"])
    assert welcome[0]["type"] == "flex"
    assert welcome[0]["altText"] == (
        f"Welcome, Alice! Your member code is {member['code']} and you have 50 points."
    )
    assert "conversation" not in member


def test_the_signup_bonus_is_credited_once(member, store):
    doc = member_doc(store, member)

    texts(member.says("join"))

    again = member_doc(store, member)
    assert again["points"] == 50
    assert len(store.ledger_for(doc["_id"])) == 1
    assert store.campaign_counts("journey:welcome") == {"sent": 1}  # the welcome journey


def test_joining_twice_says_you_are_already_a_member(member, store):
    code = member_doc(store, member)["code"]

    assert texts(member.says("join")) == [f"You are already a member. Your member code is {code}."]


def test_declining_the_privacy_notice_keeps_nothing_personal(alice, store):
    alice.says("join")
    for answer in ("Alice", "Smith"):
        alice.says(answer)
    alice.taps("a=signup&step=gender&v=female")
    alice.says("17/05/1990")
    alice.says("0812345678")
    alice.taps("a=signup&step=email&v=skip")

    replies = alice.taps("a=signup&step=privacy&v=no")

    assert texts(replies)[0].startswith("No problem. We have not kept any of your details.")
    doc = member_doc(store, alice)
    assert doc["status"] == "follower"
    assert "profile" not in doc and "conversation" not in doc and "code" not in doc
    assert store.phone_owner("+66812345678") is None
    assert store.ledger_for(doc["_id"]) == []
    assert "Alice" not in str(doc) and "0812345678" not in str(doc)
    assert [(c["kind"], c["granted"]) for c in doc["consents"]] == [("privacy", False)]


def test_cancel_stops_and_forgets_the_answers(alice, store):
    alice.says("join")
    alice.says("Alice")

    assert texts(alice.says("cancel")) == ["Signup cancelled. We did not keep anything you typed."]
    doc = member_doc(store, alice)
    assert "conversation" not in doc
    assert texts(alice.says("help"))[0].startswith("Here is what you can type:")


def test_stickers_and_commands_mid_signup_do_not_break_it(alice):
    alice.says("join")
    alice.says("Alice")

    sticker = texts(alice.sends_sticker())
    command = texts(alice.says("help"))

    assert sticker[-1] == "And your last name?"
    assert command == [
        "You are in the middle of signing up. Answer the question, or type “cancel”.",
        "And your last name?",
    ]
    assert texts(alice.says("Smith"))[-1] == "Which gender should we note?"


def test_an_old_button_changes_that_answer_and_carries_on(alice, store):
    alice.says("join")
    alice.says("Alice")
    alice.says("Smith")
    alice.taps("a=signup&step=gender&v=female")

    replies = alice.taps("a=signup&step=gender&v=other")

    assert texts(replies) == ["Changed your gender.", texts(replies)[1]]
    assert texts(replies)[1].startswith("When is your birthday?")
    assert member_doc(store, alice)["conversation"]["answers"]["gender"] == "other"


def test_a_button_for_a_later_question_only_re_asks(alice):
    alice.says("join")

    replies = alice.taps("a=signup&step=privacy&v=yes")

    assert texts(replies)[-1] == "What is your first name?"


def test_the_conversation_survives_a_restart(alice, app, config, sim):
    alice.says("join")
    alice.says("Alice")
    sim.connect(create_app(config))  # a new process: nothing in memory

    assert texts(alice.says("Smith"))[-1] == "Which gender should we note?"


def test_an_idle_signup_expires_after_a_day(alice, store):
    alice.says("join")
    alice.says("Alice")

    with time_machine.travel(utcnow() + timedelta(days=1, minutes=1)):
        replies = texts(alice.says("Smith"))

    assert replies[0] == "Your unfinished conversation expired, so we deleted what you had typed."
    assert replies[1].startswith("Sorry, I didn't understand")
    assert "conversation" not in member_doc(store, alice)


def up_to_the_phone(user) -> None:
    user.says("join")
    user.says("Bob")
    user.says("Jones")
    user.taps("a=signup&step=gender&v=male")
    user.says("1985-01-02")


def test_the_phone_step_does_not_tell_whether_a_number_is_a_members(member, sim, store):
    bob, carol = sim.user("bob", language="en"), sim.user("carol", language="en")
    for user in (bob, carol):
        user.state.friend = True
        up_to_the_phone(user)

    taken = texts(bob.says("0812345678"))  # Alice's number
    free = texts(carol.says("0855555555"))

    assert taken == free == ["Your email address? (optional)"]


def test_a_number_already_registered_is_left_out_after_consent_and_the_signup_goes_through(
    member, sim, store
):
    bob = sim.user("bob", language="en")
    bob.state.friend = True
    up_to_the_phone(bob)
    bob.says("0812345678")  # Alice's number
    bob.taps("a=signup&step=email&v=skip")
    bob.taps("a=signup&step=privacy&v=yes")

    replies = texts(bob.taps("a=signup&step=marketing&v=no"))

    assert replies[0].startswith("Welcome, Bob!")
    assert replies[1] == (
        "The number 081 234 5678 is already registered to another member, so we did not add "
        "it to your membership. If it is yours, please ask our staff to help; to give another "
        "number, type “edit”."
    )
    doc = member_doc(store, bob)
    assert doc["status"] == "member" and doc["points"] == 50
    assert "phone" not in doc["profile"]  # never stored twice
    assert store.phone_owner("+66812345678") == member_doc(store, member)["_id"]
    assert texts(bob.says("edit phone"))[-1] == "What is your mobile number?"
    assert texts(bob.says("0899999999")) == ["Saved. Your phone is now 089 999 9999."]


def test_phone_numbers_typed_are_limited_to_five_an_hour(alice, store):
    alice.state.friend = True
    with time_machine.travel(datetime(2026, 11, 25, 3, 0, tzinfo=UTC), tick=False) as clock:
        for attempt in range(5):
            up_to_the_phone(alice)
            alice.says(f"08123400{attempt:02d}")
            alice.says("cancel")
        up_to_the_phone(alice)

        refused = texts(alice.says("0812340099"))

        assert refused == [
            "You have typed several phone numbers in a short time. Please try again after "
            "11:00\u202fAM, or ask our staff for help. Your other answers are kept."
        ]
        assert member_doc(store, alice)["conversation"]["step"] == "phone"
        clock.shift(timedelta(hours=1))
        assert texts(alice.says("0812340099")) == ["Your email address? (optional)"]


def test_edit_phone_counts_towards_the_same_limit(member, store):
    for attempt in range(4):  # the signup typed one already
        member.says("edit phone")
        member.says(f"08999900{attempt:02d}")
    member.says("edit phone")

    refused = texts(member.says("0899990099"))

    assert refused[0].startswith("You have typed several phone numbers in a short time.")
    assert member_doc(store, member)["profile"]["phone"] == "+66899990003"


def test_thai_customer_signs_up_in_thai(sim, app, store):
    somchai = sim.user("somchai", "สมชาย", language="th")
    somchai.state.friend = True
    somchai.follow()

    somchai.says("สมัครสมาชิก")
    somchai.says("สมชาย")
    somchai.says("ใจดี")
    somchai.says("ชาย")
    somchai.says("17/05/2533")  # Buddhist era
    somchai.says("0891112222")
    somchai.taps("a=signup&step=email&v=skip")
    somchai.says("ยอมรับ")
    welcome = somchai.says("ใช่")

    doc = member_doc(store, somchai)
    assert doc["profile"]["birthday"] == "1990-05-17"
    assert doc["profile"]["gender"] == "male"
    assert doc["marketing_opt_in"] is True
    assert doc["points"] == 50
    assert doc["locale"] == "th"
    assert welcome[0]["altText"] != "" and doc["code"] in welcome[0]["altText"]
    assert any("\u0e00" <= ch <= "\u0e7f" for ch in welcome[0]["altText"])


def test_chinese_customer_signs_up_in_chinese(sim, app, store):
    mei = sim.user("mei", "美玲", language="zh-TW")
    mei.state.friend = True
    mei.follow()

    mei.says("加入會員")
    mei.says("美玲")
    mei.says("陳")
    mei.says("女")
    mei.taps("a=signup&step=birthday", params={"date": "1995-03-08"})
    mei.says("+886 912 345 678")
    mei.says("mei@example.tw")
    mei.says("同意")
    welcome = mei.says("不")

    doc = member_doc(store, mei)
    assert doc["profile"]["phone"] == "+886912345678"
    assert doc["profile"]["gender"] == "female"
    assert doc["marketing_opt_in"] is False
    assert doc["locale"] == "zh_Hant"
    assert doc["code"] in welcome[0]["altText"]
    assert any("\u4e00" <= ch <= "\u9fff" for ch in welcome[0]["altText"])


def test_member_codes_are_unique(sim, app, store):
    codes = set()
    for index in range(5):
        user = sim.user(f"customer{index}", language="en")
        user.state.friend = True
        sign_up(user, phone=f"08123400{index:02d}", email=None)
        codes.add(member_doc(store, user)["code"])

    assert len(codes) == 5
