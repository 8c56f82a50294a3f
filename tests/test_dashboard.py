"""The owner's web dashboard: sign-in from chat, who gets in, pages and CSV exports."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine

from bot import create_app
from bot.analytics.campaign_report import campaign_report
from bot.demo import demo_history
from bot.store import utcnow
from bot.web.auth import issue_link
from simulator import texts


def link_in(reply: str) -> str:
    return re.search(r"(https?://\S+/dashboard/signin/\S+)", reply).group(1)


def path_of(url: str) -> str:
    return "/" + url.split("/", 3)[3]


def sign_in(client, owner) -> str:
    """Ask for a link in chat, open it and press Sign in; returns the link's path."""
    path = path_of(link_in(texts(owner.says("/dashboard"))[0]))
    assert client.get(path).status_code == 200
    response = client.post(path)
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/dashboard/")
    return path


@pytest.fixture
def signed_in(client, owner):
    sign_in(client, owner)
    return client


# -- signing in ------------------------------------------------------------------------------


def test_the_owner_gets_a_link_that_opens_the_dashboard_once(client, owner):
    reply = texts(owner.says("/dashboard"))[0]
    assert "works once, within 10 minutes" in reply
    path = path_of(link_in(reply))

    page = client.get(path)
    assert page.status_code == 200
    assert "Sign in" in page.text
    assert client.post(path).status_code == 303
    assert client.get("/dashboard/members").status_code == 200

    # The same link again, from another browser: refused, and it says why.
    other = client.application.test_client()
    again = other.post(path)
    assert again.status_code == 403
    assert "already used" in again.text
    assert other.get("/dashboard/members").status_code == 401


def test_opening_the_link_does_not_use_it_up(client, owner):
    """Link previews only GET; the link still works for the owner afterwards."""
    path = path_of(link_in(texts(owner.says("/dashboard"))[0]))
    for _ in range(3):
        assert client.get(path).status_code == 200
    assert client.post(path).status_code == 303


def test_an_expired_link_is_refused(client, owner):
    path = path_of(link_in(texts(owner.says("/dashboard"))[0]))
    with time_machine.travel(utcnow() + timedelta(minutes=10, seconds=1)):
        page = client.get(path)
        assert page.status_code == 403
        assert "expired" in page.text
        assert client.post(path).status_code == 403
    assert client.get("/dashboard/members").status_code == 401


def test_a_tampered_or_made_up_link_is_refused(client, owner):
    path = path_of(link_in(texts(owner.says("/dashboard"))[0]))
    tampered = path[:-1] + ("A" if path[-1] != "A" else "B")
    assert client.post(tampered).status_code == 403
    assert "not valid" in client.get(tampered).text
    assert client.post("/dashboard/signin/made-up").status_code == 403
    assert client.get("/dashboard/members").status_code == 401
    # The genuine link is still good.
    assert client.post(path).status_code == 303


def test_staff_and_customers_cannot_get_a_link(client, cashier, member, store):
    assert texts(cashier.says("/dashboard")) == ["Sorry, you are not allowed to use /dashboard."]
    assert texts(member.says("/dashboard")) == ["Sorry, you are not allowed to use /dashboard."]
    assert store.db.signin_links.count_documents({}) == 0


def test_a_link_made_for_someone_who_is_not_an_owner_lets_nobody_in(client, services, cashier):
    """Even a genuine link is refused if its LINE id is not (or no longer) an owner."""

    path = path_of(issue_link(services, cashier.id))
    response = client.post(path)
    assert response.status_code == 403
    assert "owners can open the dashboard" in response.text
    assert client.get("/dashboard/members").status_code == 401


def test_the_session_lasts_12_hours_and_sign_out_ends_it(client, owner):
    sign_in(client, owner)
    cookie = client.get_cookie("samachik_dashboard", path="/dashboard")
    assert cookie.http_only
    assert cookie.same_site == "Lax"

    with time_machine.travel(utcnow() + timedelta(hours=11, minutes=59)):
        assert client.get("/dashboard/members").status_code == 200
    with time_machine.travel(utcnow() + timedelta(hours=12, minutes=1)):
        assert client.get("/dashboard/members").status_code == 401

    sign_in(client, owner)
    page = client.get("/dashboard/members").text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    stolen = client.get_cookie("samachik_dashboard", path="/dashboard").value
    assert client.post("/dashboard/signout", data={"csrf": "wrong"}).status_code == 400
    assert client.post("/dashboard/signout", data={"csrf": csrf}).status_code == 200
    assert client.get("/dashboard/members").status_code == 401
    # A copy of the old cookie is worthless: the session ended on the server.
    client.set_cookie("samachik_dashboard", stolen, path="/dashboard")
    assert client.get("/dashboard/members").status_code == 401


def test_the_cookie_is_secure_in_production(config, mongo_uri):

    production = create_app(
        {
            **config,
            "APP_ENV": "production",
            "PUBLIC_BASE_URL": "https://shop.example",
            "SECRET_KEY": "s" * 32,
        }
    )
    assert production.config["SESSION_COOKIE_SECURE"] is True
    assert production.config["PERMANENT_SESSION_LIFETIME"] == timedelta(hours=12)
    production.extensions["samachik"].store.client.close()
    production.extensions["samachik"].line.close()


def test_removing_an_owner_ends_their_sessions(client, owner, app):
    sign_in(client, owner)
    services = app.extensions["samachik"]
    services.config = services.config.__class__(
        **{**services.config.__dict__, "ADMIN_LINE_USER_IDS": frozenset()}
    )
    assert client.get("/dashboard/members").status_code == 403


def test_a_link_is_only_sent_to_a_one_to_one_chat(sim, owner, store):
    """In a group anyone could open it: the group gets a pointer to the private chat."""
    family = sim.group("family")
    [hint] = family.says(owner, "/dashboard")
    assert "/dashboard/signin/" not in str(hint)
    assert "private chat" in hint["altText"]
    assert "/dashboard/signin/" not in str(owner.inbox)
    assert store.db.signin_links.count_documents({}) == 0


# -- members and exports ---------------------------------------------------------------------


def rows_of(response) -> list[dict]:
    assert response.mimetype == "text/csv"
    body = response.get_data(as_text=True).lstrip("\ufeff")
    return list(csv.DictReader(io.StringIO(body)))


def test_member_csv_has_no_personal_fields_unless_asked(signed_in, member, store):
    code = store.member_by_line_id(member.id)["code"]
    plain = signed_in.get("/dashboard/export/members.csv")
    [row] = rows_of(plain)
    assert row["code"] == code
    assert row["points"] == "50"
    text = plain.get_data(as_text=True)
    for personal in (
        "Alice",
        "Smith",
        "+66812345678",
        "alice@example.com",
        "1990-05-17",
        member.id,
    ):
        assert personal not in text

    [row] = rows_of(signed_in.get("/dashboard/export/members.csv?personal=1"))
    assert (row["first_name"], row["last_name"], row["phone"], row["email"]) == (
        "Alice",
        "Smith",
        "+66812345678",
        "alice@example.com",
    )
    [entry] = store.audit_entries(command="dashboard export")
    assert entry["args"] == ["members", "personal"]


def test_purchases_csv_lists_the_periods_purchases(signed_in, cashier, member, store):
    code = store.member_by_line_id(member.id)["code"]
    cashier.says(f"/earn {code} 250 asoke R-1")
    cashier.says(f"/earn {code} 120.50 asoke R-2")
    rows = rows_of(signed_in.get("/dashboard/export/purchases.csv?period=7d"))
    assert [(r["amount"], r["branch"], r["receipt"], r["status"]) for r in rows] == [
        ("250.00", "asoke", "R-1", "active"),
        ("120.50", "asoke", "R-2", "active"),
    ]
    assert "Alice" not in signed_in.get("/dashboard/export/purchases.csv").get_data(as_text=True)


def test_exports_need_a_session(client, member):
    for path in (
        "/dashboard/export/members.csv",
        "/dashboard/export/members.csv?personal=1",
        "/dashboard/export/purchases.csv",
        "/dashboard/export/campaigns/x.csv",
    ):
        assert client.get(path).status_code == 401


def test_members_are_found_by_code_or_phone_and_personal_fields_show_only_on_their_page(
    signed_in, member, store
):
    found = store.member_by_line_id(member.id)
    listing = signed_in.get(f"/dashboard/members?q={found['code'].lower()}").text
    assert found["code"] in listing
    assert "Alice" not in listing
    assert found["code"] in signed_in.get("/dashboard/members?q=081-234-5678").text
    assert "No member found" in signed_in.get("/dashboard/members?q=0899999999").text

    page = signed_in.get(f"/dashboard/members/{found['_id']}").text
    assert "Alice" in page
    assert "+66812345678" in page
    [entry] = store.audit_entries(command="dashboard member")
    assert entry["subject_member_id"] == found["_id"]


# -- an empty shop -----------------------------------------------------------------------------

PAGES = [
    "/dashboard/",
    "/dashboard/?period=7d",
    "/dashboard/?period=12m&branch=nowhere",
    "/dashboard/funnel",
    "/dashboard/retention",
    "/dashboard/rfm",
    "/dashboard/branches",
    "/dashboard/campaigns",
    "/dashboard/members",
    "/dashboard/members?q=ABC234",
]


@pytest.mark.parametrize("lang", ["th", "en", "zh_Hant"])
def test_every_page_of_an_empty_shop_renders(signed_in, lang):
    for path in PAGES:
        joiner = "&" if "?" in path else "?"
        response = signed_in.get(f"{path}{joiner}lang={lang}")
        assert response.status_code == 200, path
        assert f'<html lang="{lang.replace("_", "-")}">' in response.text
    overview = signed_in.get("/dashboard/?lang=en").text
    assert "No data yet" in overview
    assert "฿0" in overview
    assert signed_in.get("/dashboard/campaigns/nothing").status_code == 404
    assert rows_of(signed_in.get("/dashboard/export/members.csv")) == []
    assert rows_of(signed_in.get("/dashboard/export/purchases.csv")) == []


def test_a_campaign_not_sent_yet_has_a_page_and_a_csv_of_zeros(signed_in, store):
    store.insert_campaign(
        {"_id": "KDRAFT", "name": "Songkran", "status": "draft", "content": {"text": "Hi"}}
    )
    page = signed_in.get("/dashboard/campaigns/KDRAFT")
    assert page.status_code == 200
    assert "Not sent yet" in page.text
    assert "Songkran" in signed_in.get("/dashboard/campaigns").text
    [total] = rows_of(signed_in.get("/dashboard/export/campaigns/KDRAFT.csv"))
    assert (total["scope"], total["sent"], total["treatment_members"]) == ("total", "0", "0")


def test_pages_speak_the_owners_chat_language(client, owner, store):
    owner.says("language th")
    sign_in(client, owner)
    assert '<html lang="th">' in client.get("/dashboard/").text
    assert '<html lang="en">' in client.get("/dashboard/?lang=en").text
    assert '<html lang="en">' in client.get("/dashboard/funnel").text  # remembered


def test_a_language_chosen_on_the_sign_in_page_carries_on(client, owner):
    path = path_of(link_in(texts(owner.says("/dashboard"))[0]))
    assert '<html lang="zh-Hant">' in client.get(f"{path}?lang=zh_Hant").text
    client.post(path)
    assert '<html lang="zh-Hant">' in client.get("/dashboard/").text


def test_owner_pages_are_never_cached_framed_or_referred(signed_in, client, owner):
    for path in ("/dashboard/", "/dashboard/members", "/dashboard/export/members.csv"):
        headers = signed_in.get(path).headers
        assert "no-store" in headers["Cache-Control"], path
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["Referrer-Policy"] == "no-referrer"
    link = path_of(link_in(texts(owner.says("/dashboard"))[0]))
    assert client.get(link).headers["Referrer-Policy"] == "no-referrer"


def test_campaign_results_csv_has_each_run_and_the_total_as_reported(signed_in, services):
    now = utcnow()
    demo_history.generate(services.store, now=now, tz=services.config.tz, members=120)
    campaign_id = demo_history.WINBACK["id"]
    report = campaign_report(services.store, campaign_id, now=utcnow(), config=services.config)

    rows = rows_of(signed_in.get(f"/dashboard/export/campaigns/{campaign_id}.csv"))
    assert [r["scope"] for r in rows] == [run.run_id for run in report.runs] + ["total"]
    total = rows[-1]
    assert int(total["treatment_members"]) == report.total.treatment.members
    assert int(total["holdout_purchasers"]) == report.total.holdout.purchasers
    assert total["verdict"] == report.total.verdict
    assert Decimal(total["treatment_revenue"]) * 100 == report.total.treatment.revenue
    assert int(total["sent"]) == report.counts.sent
    # Campaign results name no one.
    assert not {"member_id", "phone", "first_name"} & set(total)
    assert signed_in.get("/dashboard/export/campaigns/NOPE.csv").status_code == 404
