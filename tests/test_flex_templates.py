"""Every Flex template renders, parses with the SDK and fits LINE's limits."""

from datetime import date
from zoneinfo import ZoneInfo

import pytest
from linebot.v3.messaging import FlexMessage

import flex_templates
from bot.analytics.kpis import BranchRow, Kpis, Metric, RewardCount
from bot.analytics.messages import stats_message
from bot.i18n import translator
from bot.marketing import campaigns
from flex_templates import TemplateError

CAMPAIGN_SAMPLE = {
    "hero": None,
    "title": "Happy birthday, Alice!",
    "body": "A treat from us: show code C2345678 by 30 Nov.",
    "coupon": None,
    "footer": {
        "type": "box",
        "layout": "vertical",
        "contents": [
            {
                "type": "button",
                "action": {"type": "uri", "label": "See menu", "uri": "https://example.com/r/x"},
            }
        ],
    },
}
SAMPLES = {
    **{f"campaign_{name}": CAMPAIGN_SAMPLE for name in campaigns.TEMPLATES},
    "reward": {
        "hero": {
            "type": "image",
            "url": "https://cdn.example.com/tea.jpg",
            "size": "full",
            "aspectRatio": "20:13",
            "aspectMode": "cover",
        },
        "name": "ชาไทยฟรี",
        "price": "100 points",
        "stock_note": None,
        "status": "You can redeem this.",
        "status_color": "#0B6E4F",
        "button_style": "primary",
        "button_color": "#0B6E4F",
        "button_label": "Redeem",
        "button_data": "a=redeem&r=WABC",
    },
    "reward_more": {
        "text": "4 more rewards",
        "button_label": "Show more",
        "button_data": "a=rewards&page=2",
    },
    "redemption": {
        "title": "Reward",
        "name": "Free Thai tea",
        "qr_url": "https://loyalty.example.com/qr/SMR1.RABC.1.sig.png",
        "code": "RK7M4QXA",
        "instructions": "Show this code to our staff.",
        "valid_until": "Valid until 14:20.",
    },
    "member_card": {
        "merchant": "Cha Samachik",
        "name": "Alice Smith",
        "tier": "Gold",
        "tier_color": "#B8860B",
        "qr_url": "https://loyalty.example.com/qr/SMC1.x.1.y.png",
        "points_label": "Points",
        "points": "1,250",
        "code_label": "Member code",
        "code": "K7M4QX",
        "valid_until": "QR valid until 14:05.",
        "refresh_label": "Refresh",
        "points_button": "Points",
        "points_text": "points",
    },
    "member_welcome": {
        "merchant": "Cha Samachik",
        "title": "Welcome, Alice!",
        "code_label": "Member code",
        "code": "K7M4QX",
        "points_label": "Points",
        "points": "50",
        "body": "Show your member card when you pay.",
        "button_label": "Member card",
        "button_text": "card",
    },
    "stats_summary": {
        "hero": None,
        "merchant": "Cha Samachik",
        "title": "Last 30 days",
        "subtitle": "27 Oct 2026 – 25 Nov 2026",
        "rows": [
            {"type": "text", "text": "Sales", "weight": "bold", "size": "sm"},
            {
                "type": "box",
                "layout": "horizontal",
                "contents": [
                    {"type": "text", "text": "Revenue", "size": "sm", "flex": 5},
                    {"type": "text", "text": "฿950.00", "size": "sm", "align": "end", "flex": 4},
                    {"type": "text", "text": "+171.4%", "size": "xs", "align": "end", "flex": 3},
                ],
            },
        ],
        "note": "Members as of 25/11/2026, 09:45.",
        "button_label": "Dashboard",
        "button_text": "/dashboard",
    },
    "notice": {
        "merchant": "Cha Samachik",
        "title": "ยินดีต้อนรับ",
        "body": "สะสมแต้มทุกครั้งที่ซื้อ",
        "button_label": "สมัครสมาชิก",
        "button_text": "join",
    },
    "help_menu": {
        "title": "เจ้าของ: ตั้งค่า",
        "buttons": [
            {
                "type": "button",
                "style": "secondary",
                "height": "sm",
                "action": {
                    "type": "postback",
                    "label": "เพิ่มของรางวัล",
                    "data": "a=form_reward",
                    "displayText": "เพิ่มของรางวัล",
                },
            },
            {
                "type": "button",
                "style": "secondary",
                "height": "sm",
                "action": {
                    "type": "postback",
                    "label": "Earn points",
                    "data": "a=help&c=/earn",
                    "inputOption": "openKeyboard",
                    "fillInText": "/earn ",
                },
            },
        ],
        "note": "Each button asks one question at a time.",
    },
    "purchase": {
        "amount": "฿150.00",
        "points": "6 points",
        "when": "Nov 25, 2026 at 3:00 PM",
        "where": "#K7M4QXAB · asoke",
        "status": None,
        "footer": {
            "type": "box",
            "layout": "vertical",
            "contents": [
                {
                    "type": "button",
                    "action": {"type": "postback", "label": "Void", "data": "a=void_ask&p=K7M4"},
                }
            ],
        },
    },
    "share": {
        "title": "Share the invite",
        "body": "Send it to your new staff member in LINE. The code works once.",
        "share_label": "Share invite",
        "share_uri": "https://line.me/R/share?text=%2Fjoin%20K7M4QXAB",
        "copy_label": "Copy message",
        "copy_text": "/join K7M4QXAB",
    },
    "private_chat": {
        "body": "เรื่องนี้เป็นข้อมูลส่วนตัว ขอตอบในแชทส่วนตัวกับคุณเท่านั้นนะคะ",
        "button_label": "แชทส่วนตัวกับเรา",
        "uri": "https://line.me/R/oaMessage/%40123abcde/?card",
    },
}


def test_every_template_has_sample_data():
    assert sorted(SAMPLES) == flex_templates.names()


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_template_renders_to_a_message_the_sdk_accepts(name):
    message = flex_templates.render(name, alt_text="Samachik", **SAMPLES[name])

    parsed = FlexMessage.from_dict(message)
    assert parsed.alt_text == "Samachik"
    assert "{{" not in str(message)


def test_values_are_filled_in_place():
    message = flex_templates.render("notice", alt_text="hi", **SAMPLES["notice"])

    header = message["contents"]["header"]["contents"]
    assert header[1]["text"] == "ยินดีต้อนรับ"
    assert message["contents"]["footer"]["contents"][0]["action"]["text"] == "join"


def test_a_missing_parameter_is_named():
    params = {k: v for k, v in SAMPLES["notice"].items() if k != "title"}

    with pytest.raises(TemplateError, match="title"):
        flex_templates.render("notice", alt_text="hi", **params)


def test_an_oversized_bubble_is_refused():
    params = {**SAMPLES["notice"], "body": "ก" * 12000}

    with pytest.raises(TemplateError, match="bytes"):
        flex_templates.render("notice", alt_text="hi", **params)


def test_alt_text_must_fit_line_limit():
    with pytest.raises(TemplateError, match="altText"):
        flex_templates.render("notice", alt_text="x" * 401, **SAMPLES["notice"])


def test_a_carousel_holds_at_most_twelve_bubbles():
    bubble = flex_templates.render("notice", alt_text="hi", **SAMPLES["notice"])["contents"]

    assert len(flex_templates.carousel([bubble] * 12, "menu")["contents"]["contents"]) == 12
    with pytest.raises(TemplateError, match="12 bubbles"):
        flex_templates.carousel([bubble] * 13, "menu")


def test_an_optional_part_set_to_none_disappears():
    params = {**SAMPLES["reward"], "hero": None}

    message = flex_templates.render("reward", alt_text="r", **params)

    assert "hero" not in message["contents"]
    assert len(message["contents"]["body"]["contents"]) == 3  # the stock note is gone too


def test_the_stats_summary_fits_line_with_every_row():
    """The fullest `/stats` summary (eight branches, every section) stays a valid bubble."""
    metric = Metric(123_456_789, 98_765_432)
    kpis = Kpis(
        **{name: metric for name in Kpis.__dataclass_fields__ if name not in _NOT_METRICS},
        period="12m",
        branch=None,
        start=date(2025, 11, 26),
        end=date(2026, 11, 25),
        previous_start=date(2024, 11, 26),
        previous_end=date(2025, 11, 25),
        has_data=True,
        members_as_of=None,
        funnel=[],
        top_rewards=[RewardCount(f"W{i}", {"default": "ชุดน้ำชายามบ่าย" * 3}, 9, 8) for i in range(5)],
        rfm_groups={"champions": 500, "loyal": 400, "at_risk": 300, "lost": 200},
        branches=[
            BranchRow(f"b{i}", "สาขาสยามสแควร์" * 2, metric, metric, metric, metric)
            for i in range(8)
        ],
        heatmap=[[7] * 24 for _ in range(7)],
    )
    for locale in ("th", "en", "zh_Hant"):
        message = stats_message(translator(locale), kpis, "ร้านชาสมาชิก", BANGKOK, "สยาม", None)
        assert FlexMessage.from_dict(message)


BANGKOK = ZoneInfo("Asia/Bangkok")
_NOT_METRICS = {
    "period", "branch", "start", "end", "previous_start", "previous_end", "has_data",
    "members_as_of", "clv_by_group", "clv_by_tier", "funnel", "top_rewards", "rfm_groups",
    "rfm_grid", "branches", "heatmap", "daily", "sends",
}  # fmt: skip
