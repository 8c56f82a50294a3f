"""Flex layouts as data: JSON files with {{placeholders}}, rendered by one function.

A string that is exactly "{{name}}" is replaced by the value itself (so numbers,
lists and nested components can be injected); a None value removes that key or
list item, for optional parts such as an image. Placeholders inside longer
strings are replaced by text. The result is parsed with the SDK and checked
against LINE's size limits before it is returned, so a broken template fails
in tests, not in a customer's chat.
"""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path

from linebot.v3.messaging import FlexContainer

TEMPLATE_DIR = Path(__file__).resolve().parent
MAX_BUBBLE_BYTES = 30 * 1024
MAX_CAROUSEL_BYTES = 50 * 1024
MAX_CAROUSEL_BUBBLES = 12
MAX_ALT_TEXT = 400

_WHOLE = re.compile(r"^\{\{\s*(\w+)\s*\}\}$")
_INLINE = re.compile(r"\{\{\s*(\w+)\s*\}\}")


class TemplateError(ValueError):
    """A template is missing, lacks a parameter or breaks a LINE limit."""


@functools.cache
def _load(name: str) -> dict:
    path = TEMPLATE_DIR / f"{name}.json"
    if not path.exists():
        raise TemplateError(f"no Flex template named {name!r}")
    return json.loads(path.read_text(encoding="utf-8"))


def names() -> list[str]:
    return sorted(p.stem for p in TEMPLATE_DIR.glob("*.json"))


def render(template: str, /, alt_text: str, **params) -> dict:
    """A Flex message dict ready for line_api: {type, altText, contents}."""
    contents = _fill(_load(template), params)
    check_limits(contents)
    if not alt_text or len(alt_text) > MAX_ALT_TEXT:
        raise TemplateError(f"altText must be 1 to {MAX_ALT_TEXT} characters")
    FlexContainer.from_dict(contents)  # the SDK rejects malformed layouts
    return {"type": "flex", "altText": alt_text, "contents": contents}


def carousel(bubbles: list[dict], alt_text: str) -> dict:
    """Wrap rendered bubbles (their `contents`) in one carousel message."""
    contents = {"type": "carousel", "contents": bubbles}
    check_limits(contents)
    return {"type": "flex", "altText": alt_text[:MAX_ALT_TEXT], "contents": contents}


def hero_image(url: str | None) -> dict | None:
    """An optional full-width hero image (None leaves the bubble without one)."""
    if not url:
        return None
    return {
        "type": "image",
        "url": url,
        "size": "full",
        "aspectRatio": "20:13",
        "aspectMode": "cover",
    }


def check_limits(contents: dict) -> None:
    """LINE's limits: bubble ≤ 30 KB, carousel ≤ 50 KB and ≤ 12 bubbles."""
    size = len(json.dumps(contents, ensure_ascii=False, separators=(",", ":")).encode())
    if contents.get("type") == "carousel":
        if len(contents.get("contents", [])) > MAX_CAROUSEL_BUBBLES:
            raise TemplateError(f"a carousel holds at most {MAX_CAROUSEL_BUBBLES} bubbles")
        if size > MAX_CAROUSEL_BYTES:
            raise TemplateError(f"carousel is {size} bytes; LINE allows {MAX_CAROUSEL_BYTES}")
    elif size > MAX_BUBBLE_BYTES:
        raise TemplateError(f"bubble is {size} bytes; LINE allows {MAX_BUBBLE_BYTES}")


def _fill(node, params: dict):
    if isinstance(node, dict):
        filled = {key: _fill(value, params) for key, value in node.items()}
        return {key: value for key, value in filled.items() if value is not None}
    if isinstance(node, list):
        return [item for item in (_fill(i, params) for i in node) if item is not None]
    if isinstance(node, str):
        whole = _WHOLE.match(node)
        if whole:
            return _param(whole.group(1), params)
        return _INLINE.sub(lambda m: str(_param(m.group(1), params)), node)
    return node


def _param(key: str, params: dict):
    if key not in params:
        raise TemplateError(f"template parameter {key!r} is missing")
    return params[key]
