"""`help` and `/help`: a menu of buttons for what the sender may do, by role.

Every button is tapped as LINE would and must be understood: no "didn't understand",
no "not allowed", no silence.
"""

from bot.chat.messages import text
from bot.chat.registry import Role
from bot.i18n import LOCALES
from simulator import texts
from tests.conftest import sign_up

MEMBER_BUTTONS = [
    "Member card",
    "Points",
    "Rewards",
    "My coupons",
    "History",
    "My profile",
    "Edit profile",
    "Language",
    "Stop offers",
    "My data",
    "Delete my data",
]
STAFF_BUTTONS = ["Earn points", "Use a code", "Look up member", "Void a purchase"]
OWNER_BUTTONS = [
    "Add a reward",
    "Give a coupon",
    "Add a branch",
    "Invite staff",
    "Earn rule",
    "Add a promotion",
    "Stats",
    "Dashboard",
    "New campaign",
    "Campaigns",
    "Reward list",
    "Earn rules",
    "Segments",
    "Journeys",
    "Staff list",
    "Branches",
]
REFUSALS = ("Sorry, I didn't understand", "Sorry, you are not allowed")


def menu_actions(reply: dict) -> list[dict]:
    """Every button in a help menu (one bubble or a carousel), in order."""
    assert reply["type"] == "flex"
    contents = reply["contents"]
    bubbles = contents["contents"] if contents["type"] == "carousel" else [contents]
    return [button["action"] for bubble in bubbles for button in bubble["body"]["contents"]]


def labels(reply: dict) -> list[str]:
    return [action["label"] for action in menu_actions(reply)]


def test_a_follower_who_has_not_joined_is_offered_to_join(alice):
    [reply] = alice.says("help")

    assert labels(reply) == ["Join now", "Language"]
    assert reply["altText"] == "Here is what you can type: join · language"


def test_a_member_sees_member_buttons_in_their_own_language(member):
    [english] = member.says("help")
    member.says("language th")
    [thai] = member.says("ช่วยเหลือ")

    assert labels(english) == MEMBER_BUTTONS
    assert menu_actions(english)[0] == {"type": "message", "label": "Member card", "text": "card"}
    assert menu_actions(thai)[0]["text"] == "บัตร"  # the Thai keyword, which the bot reads
    assert all(any("\u0e00" <= ch <= "\u0e7f" for ch in label) for label in labels(thai))


def test_staff_see_their_counter_buttons_and_the_member_ones(cashier):
    [reply] = cashier.says("/help")

    assert labels(reply) == [*STAFF_BUTTONS, "Join now", "Language"]
    earn = menu_actions(reply)[0]
    assert (earn["inputOption"], earn["fillInText"]) == ("openKeyboard", "/earn ")
    assert cashier.says("help") == [reply]  # `help` and `/help` show the same menu


def test_owners_see_every_button_and_the_remaining_commands(owner):
    [reply] = owner.says("/help")

    assert labels(reply) == [
        *OWNER_BUTTONS,
        *STAFF_BUTTONS,
        "/adjust",  # commands without a button of their own, under "More commands"
        "/tag",
        "/untag",
        "Join now",
        "Language",
    ]


def test_usage_text_only_for_one_command(owner):
    assert texts(owner.says("/help member")) == ["/member <code|phone> — look up a member"]
    assert texts(owner.says("/help nope")) == ["No command called nope."]


def test_labels_fit_lines_limit_in_every_language(owner, cashier, member, store):
    """LINE cuts button labels at 20 characters: every one fits, in every language."""
    for locale in LOCALES:
        for user in (owner, cashier, member):
            known = store.member_by_line_id(user.id) or store.record_follow(user.id, "en")[0]
            store.set_locale(known["_id"], locale)
            [reply] = user.says("help")
            assert all(1 <= len(label) <= 20 for label in labels(reply)), labels(reply)


def tap_every_button(user, store) -> dict[str, list[str]]:
    """Tap each button of the user's menu; returns what came back, by label."""
    answers = {}
    for action in menu_actions(user.says("help")[0]):
        replies = user.perform(action)
        answers[action["label"]] = texts(replies)
        if (store.member_by_line_id(user.id) or {}).get("conversation"):
            user.says("cancel")  # a form, signup or erasure question was started
    return answers


def assert_all_understood(answers: dict[str, list[str]]) -> None:
    for label, replies in answers.items():
        assert replies, f"{label}: no answer"
        assert not replies[0].startswith(REFUSALS), f"{label}: {replies[0]}"


def test_every_button_of_a_member_is_understood(member, store):
    answers = tap_every_button(member, store)

    assert_all_understood(answers)
    assert answers["Points"][0].startswith("You have 50 points")
    assert store.member_by_line_id(member.id)["status"] == "member"  # erasure was cancelled


def test_every_button_of_a_follower_is_understood(alice, store):
    assert_all_understood(tap_every_button(alice, store))


def test_every_button_of_staff_is_understood(cashier, store):
    answers = tap_every_button(cashier, store)

    assert_all_understood(answers)
    assert answers["Earn points"] == [
        "/earn <member> <amount> [branch] [receipt] [coupon:<code>] "
        "— record a purchase and award points"
    ]


def test_every_button_of_an_owner_is_understood(owner, store):
    sign_up(owner, first="Oy", phone="089 999 0000", email=None)
    answers = tap_every_button(owner, store)

    assert_all_understood(answers)
    assert answers["Add a reward"] == [
        "New reward. What is it called? Type its name in your language."
    ]
    assert answers["Campaigns"][0].startswith("No campaigns yet.")
    assert store.list_rewards() == [] and store.list_branches() == []


def test_a_command_added_later_gets_a_button_without_editing_the_menu(alice, owner, services):
    services.registry.command("about", th=("เกี่ยวกับเรา",))(lambda ctx: [text("About us")])
    services.registry.command("/weekly", role=Role.OWNER)(lambda ctx: [text("Weekly")])

    [follower_menu] = alice.says("help")
    [owner_menu] = owner.says("help")

    assert labels(follower_menu) == ["Join now", "Language", "about"]
    assert texts(alice.perform(menu_actions(follower_menu)[-1])) == ["About us"]
    assert "/weekly" in labels(owner_menu)
    assert texts(owner.perform(menu_actions(owner_menu)[labels(owner_menu).index("/weekly")])) == [
        "/weekly"
    ]
