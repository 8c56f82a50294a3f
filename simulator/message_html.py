"""Every message type, quick replies and the rich menu as HTML for the chat console.

Flex goes through `flex_html`; the other types get LINE-like bubbles. As there,
anything tappable carries its action in `data-action` for the console to perform.
"""

from __future__ import annotations

import re

from simulator import flex_html
from simulator.flex_html import action_attr, esc, safe_url

_LINK = re.compile(r"https?://[^\s<>\"']+")


def render(message: dict) -> str:
    """One message the bot sent, as the chat shows it."""
    kind = message.get("type")
    renderer = {
        "text": _text,
        "textV2": _text,
        "sticker": _sticker,
        "image": _image,
        "video": _video,
        "audio": _audio,
        "location": _location,
        "imagemap": _imagemap,
        "template": _template,
        "flex": _flex,
    }.get(kind)
    if renderer is None:
        return f'<div class="msg msg-unknown">[{esc(kind)}]</div>'
    return renderer(message)


def render_sent(shown: dict, content_url: str | None = None) -> str:
    """What the user's own chat shows they sent (text, sticker, image, location)."""
    kind = shown.get("type")
    if kind == "text":
        return f'<div class="msg msg-text">{_linkify(shown.get("text", ""))}</div>'
    if kind == "sticker":
        return _sticker(shown)
    if kind == "image":
        src = esc(content_url or "")
        return f'<div class="msg msg-image"><img src="{src}" alt="photo"/></div>'
    if kind == "location":
        return _location(shown)
    return f'<div class="msg msg-note">{esc(shown.get("text", kind))}</div>'


def alt_text(message: dict) -> str:
    """What the chat list and notifications show for a message."""
    kind = message.get("type")
    if kind in ("text", "textV2"):
        return message.get("text", "")
    if message.get("altText"):
        return message["altText"]
    return {"sticker": "Sent a sticker", "image": "Sent a photo", "video": "Sent a video"}.get(
        kind, f"[{kind}]"
    )


def quick_reply(items: list[dict]) -> str:
    """Quick reply buttons as chips (with their icon when there is one)."""
    chips = []
    for item in items:
        action = item.get("action") or {}
        icon = safe_url(item.get("imageUrl"))
        image = f'<img src="{icon}" alt=""/>' if icon else ""
        label = esc(action.get("label") or _DEFAULT_LABELS.get(action.get("type"), ""))
        chips.append(
            f'<button type="button" class="chip"{action_attr(action)}>{image}{label}</button>'
        )
    return f'<div class="quick-replies">{"".join(chips)}</div>'


_DEFAULT_LABELS = {"camera": "Camera", "cameraRoll": "Camera roll", "location": "Location"}


def rich_menu(menu: dict, image_url: str) -> str:
    """The menu's image with one tappable area per bounds, placed in percent."""
    width, height = menu["size"]["width"], menu["size"]["height"]
    areas = []
    for index, area in enumerate(menu["areas"]):
        b, action = area["bounds"], area["action"]
        style = (
            f"left: {100 * b['x'] / width:.3f}%; top: {100 * b['y'] / height:.3f}%; "
            f"width: {100 * b['width'] / width:.3f}%; height: {100 * b['height'] / height:.3f}%"
        )
        label = esc(action.get("label") or action.get("text") or action.get("type"))
        areas.append(
            f'<button type="button" class="richmenu-area" data-area="{index}" title="{label}" '
            f'aria-label="{label}" style="{style}"{action_attr(action)}></button>'
        )
    return (
        f'<div class="richmenu" data-menu-id="{esc(menu["richMenuId"])}" '
        f'style="aspect-ratio: {width} / {height}">'
        f'<img src="{esc(image_url)}" alt="{esc(menu.get("name", ""))}"/>{"".join(areas)}</div>'
    )


# -- message types -----------------------------------------------------------------------------


def _text(message: dict) -> str:
    return f'<div class="msg msg-text">{_linkify(message.get("text", ""))}</div>'


def _linkify(text: str) -> str:
    """Escaped text whose web links open like LINE opens them (LINE URL schemes too)."""
    out, last = [], 0
    for match in _LINK.finditer(text):
        out.append(esc(text[last : match.start()]))
        uri = match.group(0)
        action = action_attr({"type": "uri", "uri": uri, "label": "link"})
        out.append(f'<a href="{esc(uri)}" class="fx-tap"{action}>{esc(uri)}</a>')
        last = match.end()
    out.append(esc(text[last:]))
    return "".join(out)


def _sticker(message: dict) -> str:
    ids = f"{message.get('packageId', '?')}/{message.get('stickerId', '?')}"
    return (
        f'<div class="msg msg-sticker" title="sticker {esc(ids)}">🐻<small>{esc(ids)}</small></div>'
    )


def _image(message: dict) -> str:
    preview = safe_url(message.get("previewImageUrl") or message.get("originalContentUrl"))
    full = {"type": "uri", "uri": message.get("originalContentUrl", ""), "label": "photo"}
    return (
        f'<div class="msg msg-image fx-tap"{action_attr(full)}>'
        f'<img src="{preview}" alt="photo"/></div>'
    )


def _video(message: dict) -> str:
    preview = safe_url(message.get("previewImageUrl"))
    action = {"type": "uri", "uri": message.get("originalContentUrl", ""), "label": "video"}
    return (
        f'<div class="msg msg-image msg-video fx-tap"{action_attr(action)}>'
        f'<img src="{preview}" alt="video"/><span class="fx-play">▶</span></div>'
    )


def _audio(message: dict) -> str:
    seconds = int(message.get("duration", 0)) // 1000
    return f'<div class="msg msg-text">🔊 {seconds // 60}:{seconds % 60:02d}</div>'


def _location(message: dict) -> str:
    title, address = esc(message.get("title", "")), esc(message.get("address", ""))
    return f'<div class="msg msg-location">📍 <b>{title}</b><br/><small>{address}</small></div>'


def _imagemap(message: dict) -> str:
    base = message.get("baseSize") or {"width": 1040, "height": 1040}
    width, height = base.get("width", 1040), base.get("height", 1040)
    areas = []
    for action in message.get("actions", []):
        a = action.get("area") or {}
        style = (
            f"left: {100 * a.get('x', 0) / width:.3f}%; top: {100 * a.get('y', 0) / height:.3f}%; "
            f"width: {100 * a.get('width', 0) / width:.3f}%; "
            f"height: {100 * a.get('height', 0) / height:.3f}%"
        )
        tap = {"type": action.get("type"), "label": action.get("label", "")}
        tap |= {"uri": action["linkUri"]} if "linkUri" in action else {"text": action.get("text")}
        attrs = f'class="richmenu-area" style="{style}"{action_attr(tap)}'
        areas.append(f'<button type="button" {attrs}></button>')
    src = safe_url((message.get("baseUrl") or "") + "/1040")
    return (
        f'<div class="msg msg-imagemap richmenu" style="aspect-ratio: {width} / {height}">'
        f'<img src="{src}" alt="{esc(message.get("altText", ""))}"/>{"".join(areas)}</div>'
    )


def _template(message: dict) -> str:
    """Buttons, confirm and carousel templates as simple cards with their actions."""
    template = message.get("template") or {}
    kind = template.get("type")
    if kind in ("carousel", "image_carousel"):
        columns = "".join(_template_card(column, kind) for column in template.get("columns", []))
        return f'<div class="fx-carousel"><div class="fx-carousel-track">{columns}</div></div>'
    return _template_card(template, kind)


def _template_card(card: dict, kind: str) -> str:
    parts = []
    image = safe_url(card.get("thumbnailImageUrl") or card.get("imageUrl"))
    if image:
        parts.append(f'<div class="tpl-image"><img src="{image}" alt=""/></div>')
    if card.get("title"):
        parts.append(f'<div class="tpl-title">{esc(card["title"])}</div>')
    if card.get("text"):
        parts.append(f'<div class="tpl-text">{esc(card["text"])}</div>')
    actions = card.get("actions") or ([card["action"]] if card.get("action") else [])
    buttons = "".join(
        f'<button type="button" class="tpl-action"{action_attr(a)}>{esc(a.get("label", ""))}'
        "</button>"
        for a in actions
    )
    layout = " tpl-confirm" if kind == "confirm" else ""
    inner = f'{"".join(parts)}<div class="tpl-actions">{buttons}</div>'
    return f'<div class="msg tpl-card{layout}">{inner}</div>'


def _flex(message: dict) -> str:
    return f'<div class="msg msg-flex">{flex_html.render(message.get("contents") or {})}</div>'
