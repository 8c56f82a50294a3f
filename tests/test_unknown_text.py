"""Text the bot does not know: a typo'd slash command gets "did you mean", anything
else gets buttons for what a customer most often wants."""

import pytest

from simulator import texts


def quick_replies(message: dict) -> list[tuple[str, str]]:
    return [(i["action"]["label"], i["action"]["text"]) for i in message["quickReply"]["items"]]


def test_a_mistyped_staff_command_suggests_the_closest_one(cashier, member, store):
    code = store.member_by_line_id(member.id)["code"]

    [reply] = cashier.says(f"/earm {code} 150")

    assert reply["text"] == "There is no command /earm. Did you mean /earn?"
    assert quick_replies(reply) == [("/earn", f"/earn {code} 150")]
    assert store.member_by_line_id(member.id)["points"] == 50  # nothing was earned

    cashier.says(quick_replies(reply)[0][1])  # tapping the button sends the corrected line

    assert store.member_by_line_id(member.id)["points"] == 56


def test_owners_get_suggestions_among_every_command_they_may_use(owner):
    assert texts(owner.says("/segmnet lapsed:60d")) == [
        "There is no command /segmnet. Did you mean /segment?"
    ]


def test_staff_are_not_pointed_at_owner_commands(cashier):
    assert texts(cashier.says("/segmnet lapsed:60d")) == [
        "There is no command /segmnet. Type /help for yours."
    ]


def test_a_member_typing_a_staff_command_gets_the_customer_answer(member):
    [reply] = member.says("/earm 100")

    assert reply["text"].startswith("Sorry, I didn't understand that.")
    assert "/earn" not in str(reply)


def test_unknown_text_from_a_member_offers_the_main_actions(member):
    [reply] = member.says("what's up?")

    assert reply["text"] == (
        "Sorry, I didn't understand that. Tap a button below, or type “help” to see "
        "everything I can do."
    )
    assert quick_replies(reply) == [
        ("Member card", "card"),
        ("Points", "points"),
        ("Rewards", "rewards"),
        ("Help", "help"),
    ]


def test_unknown_text_from_someone_who_has_not_joined_offers_join_and_help(alice):
    [reply] = alice.says("hello?")

    assert quick_replies(reply) == [("Join now", "join"), ("Help", "help")]


@pytest.mark.parametrize(
    ("language", "buttons"),
    [
        (
            "th",
            [
                ("บัตรสมาชิก", "บัตร"),
                ("แต้มสะสม", "แต้ม"),
                ("ของรางวัล", "ของรางวัล"),
                ("ช่วยเหลือ", "ช่วยเหลือ"),
            ],
        ),
        ("zh", [("會員卡", "會員卡"), ("點數", "點數"), ("獎勵", "獎勵"), ("幫助", "幫助")]),
    ],
)
def test_the_buttons_speak_the_members_language(member, language, buttons):
    member.says(f"language {language}")

    [reply] = member.says("🙂 ?")

    assert quick_replies(reply) == buttons


def test_each_button_does_what_it_says(member):
    [reply] = member.says("hm")

    answers = [texts(member.says(sent))[0] for _label, sent in quick_replies(reply)]

    assert answers[0].startswith("Member card:")
    assert answers[1].startswith("You have 50 points")
    assert answers[3].startswith("Here is what you can type:")


def test_a_long_mistyped_line_gets_a_button_with_the_bare_command(owner):
    [reply] = owner.says("/campain new " + "Big sale | text: " + "Tea for everyone! " * 20)

    assert reply["text"] == "There is no command /campain. Did you mean /campaign?"
    assert quick_replies(reply) == [("/campaign", "/campaign")]
