"""Charts: PNGs of the promised size, Thai and Chinese drawn with the shipped fonts,
served at signed URLs that expire, and the `/stats` Flex hero."""

from __future__ import annotations

import io
import warnings
from datetime import date, timedelta
from functools import partial
from pathlib import Path

import pytest
import time_machine
from fontTools.ttLib import TTFont
from PIL import Image

from bot.analytics.campaign_report import GroupResult
from bot.analytics.stats import Interval
from bot.charts import build, fonts, labels, render
from bot.charts.specs import ChartSpec, chart_url, for_chat, make_token
from bot.i18n import translator
from bot.store import utcnow

ROOT = Path(__file__).resolve().parent.parent


def png_size(data: bytes) -> tuple[int, int]:
    image = Image.open(io.BytesIO(data))
    assert image.format == "PNG"
    image.verify()
    return image.size


def sample_figures(locale: str) -> dict:
    """Every chart, drawn from plain numbers with labels in `locale`."""
    t = translator(locale)
    money = partial(labels.money_short, t)
    percent = partial(labels.percent, t)
    days = [date(2026, 10, 1) + timedelta(days=i) for i in range(30)]
    messaged = GroupResult(
        900, 160, 4_500_000, 0.18, Interval(0.15, 0.2), 5000.0, Interval(4e3, 6e3)
    )
    held_out = GroupResult(100, 12, 300_000, 0.12, Interval(0.07, 0.2), 3000.0, Interval(1e3, 5e3))
    arms = [(t._(labels.TREATMENT), messaged), (t._(labels.HOLDOUT), held_out)]
    return {
        "campaign": partial(
            render.ab_comparison,
            arms=arms,
            titles=(t._("Revenue per member"), t._("Revenue per day")),
            percent=percent,
            money=money,
            empty_message="",
        ),
        "daily": partial(
            render.daily_revenue,
            days=days,
            revenue=[(i % 7 + 1) * 150_000 for i in range(30)],
            sends=[(days[5], "ชานมไข่มุก 珍珠奶茶 week")],
            title=t._("Revenue per day"),
            money=money,
            day_label=partial(labels.short_day, t),
            send_label=t._("Campaign sent"),
            empty_message="",
        ),
        "funnel": partial(
            render.funnel,
            stages=[
                (labels.stage(t, s), n)
                for s, n in zip(labels.FUNNEL_STAGES, (900, 600, 400, 200, 50), strict=True)
            ],
            number=t.number,
            percent=percent,
            empty_message="",
        ),
        "rfm": partial(
            render.grid,
            rows=["5", "4", "3", "2", "1"],
            columns=["1", "2", "3", "4", "5"],
            values=[[i * 5 + j for j in range(5)] for i in range(5)],
            label=t.number,
            notes=[[labels.rfm_group(t, "at_risk")] * 5 for _ in range(5)],
            title="",
            xlabel=t._("Frequency and spend (5 = most)"),
            ylabel=t._("Recency (5 = most recent)"),
            empty_message="",
        ),
        "heatmap": partial(
            render.grid,
            rows=labels.weekdays(t),
            columns=[str(h) for h in range(24)],
            values=[[(d + h) % 9 for h in range(24)] for d in range(7)],
            label=t.number,
            title="",
            xlabel=t._("Hour of the day"),
            annotate=False,
            empty_message="",
        ),
    }


@pytest.mark.parametrize(
    ("locale", "size"), [("th", "flex"), ("th", "narrow"), ("zh_Hant", "wide"), ("en", "flex")]
)
def test_every_chart_is_a_png_of_its_size_with_no_missing_glyphs(locale, size):
    for kind, figure in sample_figures(locale).items():
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            data = render.draw(figure, render.SIZES[size])
        missing = [str(w.message) for w in caught if "missing from font" in str(w.message)]
        assert missing == [], (kind, missing)
        assert png_size(data) == (render.SIZES[size].width, render.SIZES[size].height), kind


def test_the_flex_chart_fits_the_bubbles_hero():
    flex = render.SIZES["flex"]
    assert max(flex.width, flex.height) <= 1024  # LINE's largest image
    assert flex.width * 13 == flex.height * 20  # flex_templates.hero_image is 20:13


def test_thai_and_chinese_come_from_the_shipped_fonts_not_the_systems():
    from matplotlib import font_manager

    fonts.register()
    for family in fonts.FAMILIES[:2]:
        path = Path(font_manager.findfont(family, fallback_to_default=False))
        assert path.parent == fonts.FONT_DIR, family


def test_every_thai_and_chinese_character_in_the_catalogues_has_a_glyph():
    """If this fails after new translations: run tools/subset_fonts.py and commit the fonts."""
    covered = set()
    for path in fonts.FONT_DIR.glob("*-subset.*tf"):
        covered |= set(TTFont(path).getBestCmap())
    text = "".join(p.read_text("utf-8") for p in ROOT.glob("locale/*/LC_MESSAGES/messages.po"))
    wanted = {ord(c) for c in text if 0x0E00 <= ord(c) <= 0x0E7F or 0x4E00 <= ord(c) <= 0x9FFF}
    assert sorted(chr(c) for c in wanted - covered) == []


def test_the_fonts_are_small_and_carry_their_licence():
    files = list(fonts.FONT_DIR.iterdir())
    assert {p.suffix for p in files} >= {".ttf", ".otf", ".txt"}
    for path in files:
        assert path.stat().st_size < 2 * 1024 * 1024, path.name
    licence = (fonts.FONT_DIR / "OFL.txt").read_text()
    assert "SIL Open Font License" in licence
    assert "Adobe" in licence  # Noto Sans CJK's copyright line
    assert "Google" in licence  # Noto Sans Thai's


# -- served at signed, expiring URLs ---------------------------------------------------------


def local_path(url: str) -> str:
    return "/" + url.split("/", 3)[3]


@pytest.mark.parametrize("kind", ["campaign", "daily", "funnel", "cohorts", "rfm", "heatmap"])
def test_charts_of_an_empty_shop_say_no_data_yet(client, config, services, kind):
    spec = for_chat(kind, "th", campaign_id="nothing")
    response = client.get(local_path(chart_url(services.config, spec)))
    assert response.status_code == 200
    assert response.mimetype == "image/png"
    assert png_size(response.data) == (1000, 650)


def test_a_tampered_or_expired_chart_url_is_refused(client, services):
    spec = for_chat("daily", "en")
    path = local_path(chart_url(services.config, spec))
    assert client.get(path).status_code == 200
    token = path.removeprefix("/charts/").removesuffix(".png")
    assert client.get(f"/charts/{token[:-2]}xy.png").status_code == 404
    forged = make_token(
        services.config.__class__(**{**services.config.__dict__, "SECRET_KEY": "x"}), spec
    )
    assert client.get(f"/charts/{forged}.png").status_code == 404
    with time_machine.travel(utcnow() + timedelta(days=7, minutes=1)):
        assert client.get(path).status_code == 404


def test_page_charts_also_come_as_svg(client, services):
    spec = ChartSpec(kind="heatmap", locale="zh_Hant", expires=int(utcnow().timestamp()) + 60)
    response = client.get(f"/charts/{make_token(services.config, spec)}.svg")
    assert response.status_code == 200
    assert response.mimetype == "image/svg+xml"
    assert response.data.lstrip().startswith(b"<?xml")


def test_stats_shows_a_revenue_chart_line_can_fetch(client, owner, cashier, member, store):
    code = store.member_by_line_id(member.id)["code"]
    cashier.says(f"/earn {code} 350 asoke")
    [summary] = owner.says("/stats 7d")
    hero = summary["contents"]["hero"]
    assert hero["aspectRatio"] == "20:13"
    assert hero["url"].startswith("http://127.0.0.1:8090/charts/")
    response = client.get(local_path(hero["url"]))
    assert response.status_code == 200
    assert png_size(response.data) == (1000, 650)
    assert "public" in response.headers["Cache-Control"]


def test_a_chart_url_always_shows_the_same_picture(
    client, owner, cashier, member, store, monkeypatch
):
    """LINE fetching a hero again (any web process, days later) gets what the message showed."""
    code = store.member_by_line_id(member.id)["code"]
    cashier.says(f"/earn {code} 350 asoke")
    [summary] = owner.says("/stats 7d")
    path = local_path(summary["contents"]["hero"]["url"])
    first = client.get(path).data

    cashier.says(f"/earn {code} 9000 asoke")
    # Another web process: nothing drawn in its memory yet.
    monkeypatch.setattr(build, "_images", build._Cache(build.CACHE_SIZE))
    assert client.get(path).data == first
    assert store.db.chart_images.count_documents({}) == 1
    # A new /stats message gets a new chart, with the new purchase in it.
    [later] = owner.says("/stats 7d")
    assert client.get(local_path(later["contents"]["hero"]["url"])).data != first
