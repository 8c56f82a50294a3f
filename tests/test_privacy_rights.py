"""Marketing consent, data export and erasure in chat; the privacy notice page."""

import json
import re
from datetime import timedelta
from urllib.parse import urlsplit

import time_machine

from bot.store import utcnow
from simulator import texts
from tests.conftest import sign_up


def test_stop_and_start_ads_are_recorded_in_the_consent_history(member, store):
    assert texts(member.says("stop ads"))[0].startswith("Done: no more news or offers.")
    assert store.member_by_line_id(member.id)["marketing_opt_in"] is False

    member.says("start ads")

    doc = store.member_by_line_id(member.id)
    assert doc["marketing_opt_in"] is True
    history = [(c["kind"], c["granted"], c["source"]) for c in doc["consents"]]
    assert history == [
        ("privacy", True, "signup"),
        ("marketing", True, "signup"),
        ("marketing", False, "command"),
        ("marketing", True, "command"),
    ]


def test_stop_ads_before_joining_points_to_join(alice):
    assert texts(alice.says("stop ads"))[0].startswith("You are not a member yet.")


def export_link(reply: str) -> str:
    return re.search(r"(http\S+/my-data/\S+)", reply).group(1)


def test_my_data_summarises_and_links_a_readable_page_with_a_json_download(member, store, client):
    reply = texts(member.says("my data"))[0]

    assert reply.startswith("Here is what we store about you:")
    assert "• Alice Smith" in reply
    assert "50 points, 1 point movement" in reply
    assert "News and offers: yes" in reply
    page = client.get(urlsplit(export_link(reply)).path)
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert page.headers["Cache-Control"] == "no-store"
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert "Your data at" in page.text and "081 234 5678" in page.text
    assert "May 17, 1990" in page.text and "Points history" in page.text
    download = client.get(re.search(r'href="([^"]+/download)"', page.text).group(1))
    assert "attachment" in download.headers["Content-Disposition"]
    data = download.get_json()
    assert data["profile"]["phone"] == "+66812345678"
    assert data["profile"]["first_name"] == "Alice"
    assert [row["points"] for row in data["points_history"]] == [50]
    assert [c["kind"] for c in data["consents"]] == ["privacy", "marketing"]
    # Bookkeeping stays out: keys, sequence numbers, lots, stats counters.
    for internal in ('"key"', "ledger_seq", '"remaining"', '"seq"', '"rev"', "hour_counts"):
        assert internal not in download.text


def export_of(user, client):
    """The member's export: the page's text and the JSON download's."""
    page = client.get(urlsplit(export_link(texts(user.says("my data"))[-1])).path)
    download = client.get(re.search(r'href="([^"]+/download)"', page.text).group(1))
    return page.text, download.text


def test_the_export_names_staff_and_owner_by_role_never_by_line_id(
    member, cashier, owner, store, client
):
    code = store.member_by_line_id(member.id)["code"]
    cashier.says(f"/earn {code} 200")
    owner.says(f"/adjust {code} +5 sorry for the wait")
    gift = texts(owner.says(f"/coupon give {code} percent 10"))[0]
    coupon = re.match(r"Coupon (C\w{7})", gift).group(1)
    cashier.says(f"/use {coupon}")

    page, download = export_of(member, client)

    for body in (page, download):
        assert set(re.findall(r"U[0-9a-f]{32}", body)) == {member.id}  # only her own
        assert "staff at Asoke" in body and "owner" in body
        assert "sorry for the wait" in body  # the reason is about her: she sees it
    data = json.loads(download)
    assert [p["by"] for p in data["purchases"]] == ["staff at Asoke"]
    assert data["coupons"][0]["from"] == "owner"
    assert data["coupons"][0]["used_by"] == "staff at Asoke"


def test_the_export_page_is_in_the_members_language(sim, app, store, client):
    somchai = sim.user("somchai", "Somchai", language="th")
    somchai.state.friend = True
    sign_up(somchai, first="สมชาย", last="ใจดี", email=None)

    page, download = export_of(somchai, client)

    assert 'lang="th"' in page
    assert "ข้อมูลของคุณ" in page and "สมชาย" in page
    assert "17 พฤษภาคม พ.ศ. 2533" in page  # the birthday, in the Buddhist era
    assert json.loads(download)["language"] == "th"


def test_the_export_link_expires_after_an_hour_and_cannot_be_forged(member, client):
    path = urlsplit(export_link(texts(member.says("my data"))[0])).path

    assert client.get(path + "x").status_code == 404
    with time_machine.travel(utcnow() + timedelta(hours=1, minutes=1)):
        assert client.get(path).status_code == 404


def test_delete_my_data_asks_first_and_no_keeps_everything(member, store):
    question = member.says("delete my data")[0]
    assert "Are you sure?" in question["text"]

    assert texts(member.taps("a=erase&v=no")) == ["Nothing was deleted."]
    assert store.member_by_line_id(member.id)["profile"]["first_name"] == "Alice"


def test_erasure_removes_personal_data_but_keeps_the_books_balanced(member, store, sim, owner):
    doc = store.member_by_line_id(member.id)
    owner.says(f"/member {doc['code']}")  # an audited lookup that names her
    member.says("delete my data")

    replies = texts(member.says("yes"))

    assert replies[0].startswith("Your personal data has been erased")
    assert "anonymous records" in replies[0]
    assert store.member_by_line_id(member.id) is None  # the LINE account is unlinked
    shell = store.member_by_id(doc["_id"])
    assert shell["status"] == "erased"
    assert "profile" not in shell and "code" not in shell
    assert member.id not in str(shell)
    assert store.ledger_sum(doc["_id"]) == 50  # the merchant's totals stay right
    assert store.member_by_code(doc["code"]) is None
    assert store.phone_owner("+66812345678") is None
    assert all(entry["args"] == ["[erased]"] for entry in store.audit_entries(command="/member"))


def test_after_erasure_the_person_can_join_again_as_new(member, store):
    old_id = store.member_by_line_id(member.id)["_id"]
    member.says("delete my data")
    member.taps("a=erase&v=yes")

    assert texts(member.says("join"))[-1] == "What is your first name?"
    assert store.member_by_line_id(member.id)["_id"] != old_id


def test_my_data_for_a_non_member_says_how_little_we_keep(alice):
    alice.follow()

    assert texts(alice.says("my data"))[0].startswith("We only store your LINE user ID")


def test_the_privacy_notice_page_is_served_in_three_languages(client):
    english = client.get("/privacy?lang=en")
    thai = client.get("/privacy?lang=th")
    chinese = client.get("/privacy?lang=zh_Hant")

    assert english.status_code == thai.status_code == chinese.status_code == 200
    assert "What we collect" in english.text and "Your rights" in english.text
    assert 'lang="th"' in thai.text and any("\u0e00" <= c <= "\u0e7f" for c in thai.text)
    assert 'lang="zh-Hant"' in chinese.text
