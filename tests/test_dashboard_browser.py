"""The dashboard in a real browser: the owner signs in from chat, reads the overview and a
campaign's report of the demo shop, and the figures shown are the ones computed.

Playwright drives Debian's Chromium (`make test` installs it); screenshots of both
pages in Thai and English, on a phone and a laptop, are saved under docs/ for the
README. The clock is fixed, so the demo history and the screenshots come out the same.
"""

from __future__ import annotations

import shutil
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
import time_machine
from werkzeug.serving import make_server

from bot import create_app
from bot.analytics.campaign_report import campaign_report
from bot.analytics.kpis import merchant_kpis
from bot.charts import labels
from bot.demo import demo_history
from bot.i18n import translator
from simulator import texts
from tests.conftest import OWNER, app_settings, free_port

CHROMIUM = "/usr/bin/chromium"
DOCS = Path(__file__).resolve().parent.parent / "docs"
NOW = datetime(2026, 11, 20, 4, 0, tzinfo=UTC)  # 11:00 in Bangkok
DEMO_MEMBERS = 300  # small: the point is the path, not the volume
PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1280, "height": 900}

pytestmark = [
    pytest.mark.browser,
    pytest.mark.devdb_only(reason="a browser against the dev server is enough; run once"),
    pytest.mark.skipif(
        not shutil.which(CHROMIUM), reason="Chromium is missing: `make test` installs it"
    ),
]


@pytest.fixture(scope="module")
def clock():
    with time_machine.travel(NOW, tick=True):
        yield


@pytest.fixture(scope="module")
def shop(clock, mongo_uri, sim):
    """The demo tea shop with its history, served on a local port as in production."""
    from bot.demo import demo_history

    port = free_port()
    settings = {**app_settings(mongo_uri, sim), "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}"}
    app = create_app(settings)
    services = app.extensions["samachik"]
    services.store.ensure_indexes()
    demo_history.generate(
        services.store,
        now=NOW,
        tz=services.config.tz,
        members=DEMO_MEMBERS,
        owner=OWNER,
    )
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    sim.reset()
    sim.connect(app)
    yield app
    server.shutdown()
    services.store.client.drop_database(settings["MONGODB_DB"])
    services.store.client.close()
    services.line.close()


@pytest.fixture(scope="module")
def browser(shop):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM)
        yield chromium
        chromium.close()


def signed_in_page(browser, sim, viewport: dict, lang: str):
    """A browser tab where the owner opened the link `/dashboard` sent them."""
    owner = sim.user(OWNER, "Owner", language="en")
    owner.state.friend = True
    reply = texts(owner.says("/dashboard"))[0]
    link = next(word for word in reply.split() if "/dashboard/signin/" in word)
    context = browser.new_context(viewport=viewport, locale="th-TH" if lang == "th" else "en-US")
    page = context.new_page()
    page.goto(f"{link}?lang={lang}")
    page.click("#signin")
    page.wait_for_url("**/dashboard/")
    assert page.get_attribute("html", "lang") == lang.replace("_", "-")
    return page


def shoot(page, name: str) -> None:
    page.wait_for_load_state("networkidle")
    path = DOCS / f"{name}.png"
    DOCS.mkdir(exist_ok=True)
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size < 1024 * 1024, f"{path.name} is over 1 MB"


def charts_loaded(page) -> bool:
    return page.evaluate("[...document.images].every(img => img.complete && img.naturalWidth > 0)")


@pytest.mark.parametrize(
    ("lang", "viewport", "device"), [("th", PHONE, "phone"), ("en", LAPTOP, "laptop")]
)
def test_the_overview_shows_the_computed_kpis(shop, browser, sim, lang, viewport, device):
    services = shop.extensions["samachik"]
    page = signed_in_page(browser, sim, viewport, lang)
    page.wait_for_load_state("networkidle")
    assert charts_loaded(page)

    found = merchant_kpis(
        services.store, period="30d", now=datetime.now(UTC), config=services.config
    )
    t = translator(lang)
    assert found.has_data
    shown = {
        key: page.inner_text(f'[data-kpi="{key}"] .value')
        for key in ("revenue", "purchases", "active_members", "retention", "liability")
    }
    assert shown == {
        "revenue": labels.money_whole(t, found.revenue.value),
        "purchases": t.number(found.purchases.value),
        "active_members": t.number(found.active_members.value),
        "retention": labels.percent(t, found.retention.value),
        "liability": labels.money_whole(t, found.liability.value),
    }
    shoot(page, f"dashboard-overview-{lang}-{device}")
    page.context.close()


@pytest.mark.parametrize(
    ("lang", "viewport", "device"), [("en", PHONE, "phone"), ("th", LAPTOP, "laptop")]
)
def test_a_campaign_report_shows_the_computed_results(shop, browser, sim, lang, viewport, device):

    services = shop.extensions["samachik"]
    page = signed_in_page(browser, sim, viewport, lang)
    page.click('nav a[href^="/dashboard/campaigns"]')
    page.click(f'a[href="/dashboard/campaigns/{demo_history.WINBACK["id"]}"]')
    page.wait_for_load_state("networkidle")
    assert charts_loaded(page)

    report = campaign_report(
        services.store, demo_history.WINBACK["id"], now=datetime.now(UTC), config=services.config
    )
    t = translator(lang)
    total = report.total
    assert page.inner_text('[data-kpi="incremental"] .value') == labels.money_whole(
        t, total.incremental_revenue.value
    )
    for key, group in (("treatment", total.treatment), ("holdout", total.holdout)):
        cells = page.locator(f'tr[data-group="{key}"] td').all_inner_texts()
        assert cells[1] == t.number(group.members)
        assert cells[2] == t.number(group.purchasers)
        assert cells[3].splitlines()[0] == labels.percent(t, group.conversion)
    shoot(page, f"dashboard-campaign-{lang}-{device}")
    page.context.close()
