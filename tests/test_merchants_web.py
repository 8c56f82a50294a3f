"""Many merchants on the web: the dashboard, charts, images and exports live under /m/<slug>/.

The tea shop and the bakery have the same owner (one LINE id) and a customer with
the same name, phone and LINE id. A link, token, image or session of one shop opens
nothing at the other, and nothing of one shows on the other's pages.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from simulator import texts
from tests import test_merchants as shops
from tests.conftest import OWNER, sign_up
from tests.test_guided_forms import png, tap
from tests.test_merchants import code_of

# The shops of test_merchants: their channels in the simulator, an owner, a cashier.
fleet_settings, fleet_app, tea, bakery = (
    shops.fleet_settings,
    shops.fleet_app,
    shops.tea,
    shops.bakery,
)

COOKIE = "samachik_dashboard"


def path_of(url: str) -> str:
    return urlsplit(url).path


def signin_path(shop) -> str:
    reply = texts(shop.person(OWNER).says("/dashboard"))[0]
    return path_of(re.search(r"https?://\S+/dashboard/signin/\S+", reply).group(0))


def test_dashboard_sign_in_and_session_belong_to_one_merchant(fleet_app, tea, bakery):
    """Same owner at both shops: a sign-in at the tea shop opens the tea shop's pages only."""
    alice_tea, alice_bakery = tea.person("alice"), bakery.person("alice")
    sign_up(alice_tea)
    sign_up(alice_bakery)
    tea_code = code_of(fleet_app, tea, alice_tea)
    bakery_code = code_of(fleet_app, bakery, alice_bakery)
    by_phone = "members?q=0812345678"  # Alice's phone, at both shops
    client = fleet_app.test_client()

    path = signin_path(tea)
    assert path.startswith("/m/tea/dashboard/signin/")
    # The tea shop's link means nothing at the bakery or on the single-merchant dashboard.
    for elsewhere in (path.replace("/m/tea/", "/m/bakery/"), path.removeprefix("/m/tea")):
        assert client.get(elsewhere).status_code == 403
        assert client.post(elsewhere).status_code == 403
    signed_in = client.post(path)
    assert signed_in.status_code == 303
    assert path_of(signed_in.headers["Location"]) == "/m/tea/dashboard/"

    cookie = client.get_cookie(COOKIE, path="/m/tea/dashboard")
    assert cookie is not None and cookie.http_only
    members = client.get(f"/m/tea/dashboard/{by_phone}")
    assert members.status_code == 200
    assert tea_code in members.text and bakery_code not in members.text
    # Every link on the page stays with the tea shop.
    links = re.findall(r'(?:href|src|action)="(/[^"]*)"', members.text)
    assert links and all(link.startswith("/m/tea/") for link in links), links

    # The tea shop's session opens neither the bakery's dashboard nor the single one…
    assert client.get(f"/m/bakery/dashboard/{by_phone}").status_code == 401
    assert client.get(f"/dashboard/{by_phone}").status_code == 401
    # …not even with its cookie copied to the bakery's path (signed for the tea shop).
    client.set_cookie(COOKIE, cookie.value, path="/m/bakery/dashboard")
    assert client.get(f"/m/bakery/dashboard/{by_phone}").status_code == 401
    # The tea shop's member page, asked for at the bakery (same member id there).
    detail = re.search(r'href="/m/tea(/dashboard/members/[^"]+)"', members.text).group(1)
    assert client.get(f"/m/tea{detail}").status_code == 200

    # Signed in at the bakery too: each shop's pages show its own members.
    assert client.post(signin_path(bakery)).status_code == 303
    bakery_page = client.get(f"/m/bakery/dashboard/{by_phone}").text
    assert bakery_code in bakery_page and tea_code not in bakery_page
    assert tea_code in client.get(f"/m/tea/dashboard/{by_phone}").text
    assert tea_code not in client.get(f"/m/bakery{detail}").text


def test_csv_export_links_are_per_merchant(fleet_app, tea, bakery):
    alice_tea, bob = tea.person("alice"), bakery.person("bob")
    sign_up(alice_tea)
    sign_up(bob, first="Bob", phone="089 999 0000", email="bob@example.com")
    client = fleet_app.test_client()
    client.post(signin_path(tea))

    page = client.get("/m/tea/dashboard/members").text
    exports = re.findall(r'href="(/[^"]*/export/members\.csv[^"]*)"', page)
    assert exports and all(link.startswith("/m/tea/dashboard/export/") for link in exports)
    personal = client.get("/m/tea/dashboard/export/members.csv?personal=1")
    assert personal.status_code == 200
    assert code_of(fleet_app, tea, alice_tea) in personal.text
    assert "Bob" not in personal.text and code_of(fleet_app, bakery, bob) not in personal.text
    # The same link under the bakery's prefix, with the tea shop's session: refused.
    assert client.get("/m/bakery/dashboard/export/members.csv?personal=1").status_code == 401
    assert client.get("/dashboard/export/members.csv?personal=1").status_code == 401


def test_chart_urls_are_signed_per_merchant(fleet_app, tea, bakery):
    [summary] = tea.person(OWNER).says("/stats 7d")
    hero = path_of(summary["contents"]["hero"]["url"])
    assert hero.startswith("/m/tea/charts/") and hero.endswith(".png")
    client = fleet_app.test_client()
    image = client.get(hero)
    assert image.status_code == 200 and image.mimetype == "image/png"
    token = hero.removeprefix("/m/tea")
    assert client.get(f"/m/bakery{token}").status_code == 404
    assert client.get(token).status_code == 404
    assert client.get(f"/m/nobody{token}").status_code == 404

    # The dashboard's own charts also point at the shop's prefix.
    client.post(signin_path(tea))
    overview = client.get("/m/tea/dashboard/").text
    charts = re.findall(r'src="([^"]*/charts/[^"]+)"', overview)
    assert charts and all(path_of(src).startswith("/m/tea/charts/") for src in charts)
    assert client.get(path_of(charts[0])).status_code == 200


def test_images_sent_by_an_owner_are_served_under_their_merchant_only(fleet_app, tea, bakery):
    owner = bakery.person(OWNER)
    owner.says("/reward add")
    for answer in ("Croissant", "skip", "skip", "250", "unlimited"):
        replies = owner.says(answer)
    tap(owner, owner.sends_image(png(640, 480, "gold")), "Confirm")

    [reward] = bakery.store(fleet_app).list_rewards()
    path = path_of(reward["image_url"])
    assert re.fullmatch(r"/m/bakery/images/[0-9a-f]{64}\.png", path), path
    client = fleet_app.test_client()
    served = client.get(path)
    assert served.status_code == 200 and served.mimetype == "image/png"
    # The tea shop and the single-merchant app never had this picture.
    assert client.get(path.replace("/m/bakery/", "/m/tea/")).status_code == 404
    assert client.get(path.removeprefix("/m/bakery")).status_code == 404
    assert replies  # the form asked for a photo
