"""The console's Flex renderer: the HTML of every template mirrors its Flex JSON.

The console shows exactly this HTML, so these tests check what a tester sees: each
component in the same place and order, every text, image source and button label,
LINE's sizes as classes, colours as styles — and nothing unescaped.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest
from test_flex_templates import SAMPLES  # the sample data every template is tested with

import flex_templates
from simulator import flex_html, message_html


def parse(fragment: str) -> ET.Element:
    """The renderer writes well-formed markup, so an XML parser reads it strictly."""
    return ET.fromstring(f"<root>{fragment}</root>")[0]


def classes(element: ET.Element) -> set[str]:
    return set((element.get("class") or "").split())


def style_of(element: ET.Element) -> dict[str, str]:
    pairs = (part.split(":", 1) for part in (element.get("style") or "").split(";") if part)
    return {key.strip(): value.strip() for key, value in pairs}


def text_of(element: ET.Element) -> str:
    return "".join(element.itertext())


def rendered(name: str) -> tuple[dict, ET.Element]:
    message = flex_templates.render(name, alt_text="Samachik", **SAMPLES[name])
    return message["contents"], parse(flex_html.render(message["contents"]))


# -- the HTML tree follows the Flex tree, for every template -------------------------------------


def check_component(node: dict, element: ET.Element) -> None:
    """`element` draws `node`: same type, properties and, for a box, the same children."""
    kind = node["type"]
    assert f"fx-{kind}" in classes(element), (kind, element.get("class"))
    check = {"box": check_box, "text": check_text, "image": check_image, "button": check_button}
    check.get(kind, lambda *_: None)(node, element)
    if node.get("action") and kind != "button":
        assert json.loads(element.get("data-action")) == node["action"]


def check_box(node: dict, element: ET.Element) -> None:
    assert f"fx-{node['layout']}" in classes(element)
    if node.get("spacing"):
        assert f"fx-spacing-{node['spacing']}" in classes(element)
    if node.get("backgroundColor"):
        assert style_of(element)["background-color"] == node["backgroundColor"]
    if node.get("paddingAll"):
        assert style_of(element)["padding"] == node["paddingAll"]
    children = list(element)
    assert len(children) == len(node["contents"])
    for child, child_element in zip(node["contents"], children, strict=True):
        check_component(child, child_element)


def check_text(node: dict, element: ET.Element) -> None:
    assert text_of(element) == node["text"]
    expected = {
        f"fx-size-{node['size']}" if node.get("size") else None,
        "fx-bold" if node.get("weight") == "bold" else None,
        "fx-wrap" if node.get("wrap") else None,
        f"fx-align-{node['align']}" if node.get("align") else None,
    } - {None}
    assert expected <= classes(element)
    if node.get("color"):
        assert style_of(element)["color"] == node["color"]


def check_image(node: dict, element: ET.Element) -> None:
    frame = element.find("div")
    image = frame.find("img")
    assert image.get("src") == node["url"]
    assert f"fx-image-{node.get('size', 'md')}" in classes(element)
    width, height = node.get("aspectRatio", "1:1").split(":")
    assert style_of(frame)["aspect-ratio"] == f"{width} / {height}"
    assert classes(image) == {f"fx-{node.get('aspectMode', 'fit')}"}


def check_button(node: dict, element: ET.Element) -> None:
    face = element.find("button")
    assert face.text == node["action"]["label"]
    assert json.loads(face.get("data-action")) == node["action"]
    assert f"fx-{node.get('style', 'link')}" in classes(element)
    if node.get("color"):
        assert style_of(face)["background-color"] == node["color"]


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_every_template_renders_as_its_flex_tree(name):
    contents, bubble = rendered(name)

    assert {"fx-bubble", f"fx-bubble-{contents.get('size', 'mega')}"} <= classes(bubble)
    blocks = [b for b in ("header", "hero", "body", "footer") if b in contents]
    assert [next(c for c in classes(e) if c in {f"fx-{b}" for b in blocks}) for e in bubble] == [
        f"fx-{b}" for b in blocks
    ]
    for block, element in zip(blocks, bubble, strict=True):
        (root,) = list(element)
        check_component(contents[block], root)


# -- what a tester looks at ---------------------------------------------------------------------


def test_member_card_shows_the_qr_whole_and_the_balance_large():
    _, card = rendered("member_card")
    header, hero, body, footer = card

    assert style_of(header[0])["background-color"] == "#B8860B"
    qr_frame = hero.find(".//div[@class='fx-image-frame']")
    assert qr_frame.find("img").get("src") == SAMPLES["member_card"]["qr_url"]
    assert style_of(qr_frame) == {"aspect-ratio": "1 / 1", "background-color": "#FFFFFF"}
    assert qr_frame.find("img").get("class") == "fx-fit"  # never cropped
    points = [e for e in body.iter() if text_of(e) == "1,250" and "fx-text" in classes(e)]
    assert {"fx-size-xl", "fx-bold", "fx-align-end"} <= classes(points[0])
    buttons = footer.findall(".//button")
    assert [b.text for b in buttons] == ["Refresh", "Points"]
    assert json.loads(buttons[0].get("data-action"))["displayText"] == "Refresh"
    assert "fx-secondary" in classes(footer[0][0])


def test_the_rewards_carousel_scrolls_sideways_with_one_bubble_per_reward():
    bubbles = [
        flex_templates.render("reward", alt_text="r", **{**SAMPLES["reward"], "name": name})[
            "contents"
        ]
        for name in ("ชาไทยฟรี", "Free cookie", "10% off")
    ]
    bubbles.append(
        flex_templates.render("reward_more", alt_text="m", **SAMPLES["reward_more"])["contents"]
    )
    message = flex_templates.carousel(bubbles, "Rewards")

    carousel = parse(flex_html.render(message["contents"]))

    assert classes(carousel) == {"fx-carousel"}
    cards = list(carousel[0])
    assert len(cards) == 4
    assert all("fx-bubble-kilo" in classes(card) for card in cards)
    assert [c.find(".//img").get("src") for c in cards[:3]] == [
        "https://cdn.example.com/tea.jpg"
    ] * 3
    assert [c.find(".//button").text for c in cards] == ["Redeem", "Redeem", "Redeem", "Show more"]
    assert "ชาไทยฟรี" in text_of(cards[0])


def test_layout_properties_become_lines_sizes():
    box = {
        "type": "box",
        "layout": "horizontal",
        "spacing": "md",
        "cornerRadius": "lg",
        "borderWidth": "light",
        "borderColor": "#cccccc",
        "paddingTop": "xl",
        "contents": [
            {"type": "text", "text": "Tea", "flex": 2, "margin": "sm"},
            {"type": "separator", "color": "#ff0000"},
            {"type": "filler"},
            {"type": "text", "text": "฿45", "flex": 0, "size": "14px"},
        ],
    }

    element = parse(flex_html.component(box))

    assert style_of(element)["border-radius"] == "12px"
    assert style_of(element)["border-width"] == "0.5px"
    assert style_of(element)["padding-top"] == "16px"
    tea, line, filler, price = element
    assert style_of(tea)["flex"] == "2 1 0"
    assert "fx-margin-left-sm" in classes(tea)
    assert style_of(line)["border-color"] == "#ff0000"
    assert style_of(filler)["flex"] == "1 0 0"
    assert style_of(price)["flex"] == "none"
    assert style_of(price)["font-size"] == "14px"


def test_text_and_values_are_escaped_and_unsafe_values_dropped():
    bubble = {
        "type": "bubble",
        "body": {
            "type": "box",
            "layout": "vertical",
            "backgroundColor": "red;background:url(https://evil.example)",
            "contents": [
                {"type": "text", "text": "<script>alert('x')</script>", "color": "#12345"},
                {"type": "image", "url": "javascript:alert(1)"},
            ],
        },
    }

    html = flex_html.render(bubble)

    assert "<script>" not in html
    assert "&lt;script&gt;" in html
    assert "evil" not in html and "javascript:" not in html
    body = parse(html)[0][0]
    assert body.get("style") is None
    assert text_of(body[0]) == "<script>alert('x')</script>"


def test_the_chat_list_shows_the_alt_text():
    message = flex_templates.render("notice", alt_text="Welcome!", **SAMPLES["notice"])

    assert message_html.alt_text(message) == "Welcome!"
    assert message_html.alt_text({"type": "text", "text": "hi"}) == "hi"


def test_quick_replies_are_chips_with_their_actions():
    items = [
        {"type": "action", "action": {"type": "message", "label": "Yes", "text": "yes"}},
        {
            "type": "action",
            "imageUrl": "https://example.com/i.png",
            "action": {"type": "datetimepicker", "label": "Birthday", "data": "b", "mode": "date"},
        },
        {"type": "action", "action": {"type": "camera", "label": "Photo"}},
    ]

    chips = parse(message_html.quick_reply(items))

    assert [text_of(chip) for chip in chips] == ["Yes", "Birthday", "Photo"]
    assert [json.loads(chip.get("data-action"))["type"] for chip in chips] == [
        "message",
        "datetimepicker",
        "camera",
    ]
    assert chips[1].find("img").get("src") == "https://example.com/i.png"


def test_a_rich_menu_is_its_image_with_areas_in_percent():
    menu = {
        "richMenuId": "richmenu-" + "a" * 32,
        "name": "member",
        "size": {"width": 2500, "height": 843},
        "areas": [
            {
                "bounds": {"x": 0, "y": 0, "width": 1250, "height": 843},
                "action": {"type": "message", "label": "Card", "text": "card"},
            },
            {
                "bounds": {"x": 1250, "y": 0, "width": 1250, "height": 843},
                "action": {
                    "type": "uri",
                    "label": "Scan",
                    "uri": "https://line.me/R/nv/QRCodeReader",
                },
            },
        ],
    }

    element = parse(message_html.rich_menu(menu, "/_sim/richmenus/x/image"))

    assert style_of(element)["aspect-ratio"] == "2500 / 843"
    assert element.find("img").get("src") == "/_sim/richmenus/x/image"
    card, scan = element.findall("button")
    assert style_of(card) == {"left": "0.000%", "top": "0.000%", "width": "50.000%",
                              "height": "100.000%"}  # fmt: skip
    assert style_of(scan)["left"] == "50.000%"
    assert json.loads(scan.get("data-action"))["uri"] == "https://line.me/R/nv/QRCodeReader"
    assert scan.get("aria-label") == "Scan"


def test_links_in_text_messages_are_tappable():
    element = parse(message_html.render({"type": "text", "text": "See https://ex.com/a?b=1 <now>"}))

    link = element.find("a")
    assert json.loads(link.get("data-action")) == {
        "type": "uri",
        "uri": "https://ex.com/a?b=1",
        "label": "link",
    }
    assert text_of(element) == "See https://ex.com/a?b=1 <now>"
