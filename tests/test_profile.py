"""`profile`, `edit` and `language`."""

from simulator import texts


def test_profile_shows_what_is_stored(member, store):
    code = store.member_by_line_id(member.id)["code"]

    reply = texts(member.says("profile"))[0]

    assert reply.splitlines() == [
        f"Your profile (member code {code}):",
        "• First name: Alice",
        "• Last name: Smith",
        "• Gender: Female",
        "• Birthday: May 17, 1990",
        "• Phone: 081 234 5678",
        "• Email: alice@example.com",
        "• News and offers: yes",
        "• Language: English",
        "Type “edit” to change something.",
    ]


def test_profile_before_joining_invites_to_join(alice):
    assert texts(alice.says("profile")) == ["You are not a member yet. Type “join” to sign up."]


def test_edit_phone_goes_through_the_same_validation(member, store):
    replies = texts(member.says("edit phone"))
    assert replies == ["Now: 081 234 5678", "What is your mobile number?"]

    assert "phone number" in texts(member.says("not a phone"))[0]
    assert texts(member.says("089 999 8888")) == ["Saved. Your phone is now 089 999 8888."]
    doc = store.member_by_line_id(member.id)
    assert doc["profile"]["phone"] == "+66899998888"
    assert store.phone_owner("+66899998888") == doc["_id"]
    assert store.phone_owner("+66812345678") is None  # the old number is free again


def test_edit_offers_the_fields_and_a_button_starts_the_edit(member, store):
    choices = member.says("edit")[0]
    labels = [i["action"]["label"] for i in choices["quickReply"]["items"]]
    assert labels == ["First name", "Last name", "Gender", "Birthday", "Phone", "Email"]

    member.taps("a=edit&field=gender")
    assert texts(member.taps("a=edit&step=gender&v=male")) == ["Saved. Your gender is now Male."]
    assert store.member_by_line_id(member.id)["profile"]["gender"] == "male"


def test_edit_birthday_with_the_date_picker(member, store):
    member.says("edit birthday")

    member.taps("a=edit&step=birthday", params={"date": "1991-12-01"})

    profile = store.member_by_line_id(member.id)["profile"]
    assert profile["birthday"] == "1991-12-01" and profile["birth_month"] == 12


def test_cancel_an_edit_changes_nothing(member, store):
    member.says("edit name")

    assert texts(member.says("cancel")) == ["Nothing changed."]
    assert store.member_by_line_id(member.id)["profile"]["first_name"] == "Alice"


def test_language_switches_every_reply(member, store):
    offer = member.says("language")[0]
    assert [i["action"]["text"] for i in offer["quickReply"]["items"]] == [
        "language th",
        "language en",
        "language zh",
    ]

    member.says("language th")

    assert store.member_by_line_id(member.id)["locale"] == "th"
    thai_help = texts(member.says("help"))[0]
    assert thai_help != texts(member.says("language en"))[0]
    assert any("\u0e00" <= ch <= "\u0e7f" for ch in thai_help)

    member.says("language zh")
    chinese = texts(member.says("profile"))[0]
    assert "1990年5月17日" in chinese


def test_thai_profile_shows_the_buddhist_era_year(member):
    member.says("language th")

    assert "2533" in texts(member.says("profile"))[0]


def test_an_unknown_language_offers_the_three(member):
    replies = member.says("language klingon")

    assert [i["action"]["label"] for i in replies[0]["quickReply"]["items"]] == [
        "ไทย",
        "English",
        "中文",
    ]
