"""Flex Messages as HTML, close enough to LINE's rendering to judge a design.

Each Flex component becomes one element with the class `fx-<type>` and, for a
box, its children as direct child elements in order, so tests can walk the HTML
beside the JSON. LINE's keyword sizes (text sizes, spacing, margins, paddings,
image sizes, corner radii) become classes whose CSS in `static/flex.css` holds
LINE's pixel values; free values (colours, px and %) become inline styles after a
strict check, and every text is escaped. An element a user can tap carries its
action as JSON in `data-action`; the console performs it through the simulator.
"""

from __future__ import annotations

import html
import json
import re

KEYWORDS = ("none", "xs", "sm", "md", "lg", "xl", "xxl")
SIZES = ("xxs", "xs", "sm", "md", "lg", "xl", "xxl", "3xl", "4xl", "5xl")
BUBBLE_SIZES = ("nano", "micro", "deca", "hecto", "kilo", "mega", "giga")
BORDER_WIDTHS = {
    "none": "0",
    "light": "0.5px",
    "normal": "1px",
    "medium": "2px",
    "semi-bold": "3px",
    "bold": "4px",
}
KEYWORD_PX = {"none": 0, "xs": 2, "sm": 4, "md": 8, "lg": 12, "xl": 16, "xxl": 20}
_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}([0-9a-fA-F]{2})?$")
_LENGTH = re.compile(r"^-?\d+(\.\d+)?(px|%)$")
_ANGLE = re.compile(r"^-?\d+(\.\d+)?deg$")
_RATIO = re.compile(r"^(\d+(\.\d+)?):(\d+(\.\d+)?)$")
_ALIGN = {"start": "start", "end": "end", "center": "center"}
_JUSTIFY = ("flex-start", "center", "flex-end", "space-between", "space-around", "space-evenly")
_BLOCKS = ("header", "hero", "body", "footer")  # LINE's order, whatever the JSON's


def render(contents: dict) -> str:
    """A bubble or carousel (a Flex message's `contents`) as an HTML fragment."""
    if contents.get("type") == "carousel":
        bubbles = "".join(bubble(item) for item in contents.get("contents", []))
        return f'<div class="fx-carousel"><div class="fx-carousel-track">{bubbles}</div></div>'
    return bubble(contents)


def bubble(node: dict) -> str:
    size = node.get("size") if node.get("size") in BUBBLE_SIZES else "mega"
    styles = node.get("styles") or {}
    blocks = []
    for name in _BLOCKS:
        if not isinstance(node.get(name), dict):
            continue
        extra = " fx-has-footer" if name == "body" and node.get("footer") else ""
        blocks.append(_block(name, node[name], styles.get(name) or {}, extra))
    direction = "rtl" if node.get("direction") == "rtl" else "ltr"
    return _element(
        f"fx-bubble fx-bubble-{size}",
        "".join(blocks),
        action=node.get("action"),
        attrs={"dir": direction},
    )


def _block(name: str, node: dict, style: dict, extra: str) -> str:
    css = {"background-color": _colour(style.get("backgroundColor"))}
    if style.get("separator"):
        css["border-top"] = f"1px solid {_colour(style.get('separatorColor')) or '#d4d6da'}"
    inner = component(node, parent="vertical")
    return f'<div class="fx-block fx-{name}{extra}"{_style(css)}>{inner}</div>'


def component(node: dict, parent: str = "vertical") -> str:
    """One Flex component inside a box whose layout is `parent`."""
    kind = node.get("type")
    render_kind = {
        "box": _box,
        "text": _text,
        "image": _image,
        "video": _video,
        "button": _button,
        "icon": _icon,
        "separator": _separator,
        "filler": _filler,
        "spacer": _spacer,
    }.get(kind)
    if render_kind is None:
        return f'<div class="fx-unknown">[{esc(kind)}]</div>'
    return render_kind(node, parent)


# -- components --------------------------------------------------------------------------------


def _box(node: dict, parent: str) -> str:
    layout = node.get("layout") if node.get("layout") in ("horizontal", "baseline") else "vertical"
    classes = ["fx-box", f"fx-{layout}", *_common_classes(node, parent)]
    if node.get("spacing") in KEYWORDS:
        classes.append(f"fx-spacing-{node['spacing']}")
    css = _common_css(node, parent)
    css |= {
        "background-color": _colour(node.get("backgroundColor")),
        "border-color": _colour(node.get("borderColor")),
        "border-width": BORDER_WIDTHS.get(node.get("borderWidth")) or _length(
            node.get("borderWidth")
        ),
        "border-radius": _px(node.get("cornerRadius")),
        "width": _length(node.get("width")),
        "max-width": _length(node.get("maxWidth")),
        "height": _length(node.get("height")),
        "max-height": _length(node.get("maxHeight")),
        "justify-content": node.get("justifyContent") if node.get("justifyContent") in _JUSTIFY
        else None,
        "align-items": node.get("alignItems") if node.get("alignItems") in _JUSTIFY[:3] else None,
        "background": _gradient(node.get("background")),
    }  # fmt: skip
    if node.get("borderColor") or node.get("borderWidth"):
        css["border-style"] = "solid"
    css |= _paddings(node)
    children = "".join(
        component(child, layout) for child in node.get("contents", []) if isinstance(child, dict)
    )
    return _element(" ".join(classes), children, css, node.get("action"))


def _text(node: dict, parent: str) -> str:
    classes = ["fx-text", *_common_classes(node, parent), *_font_classes(node)]
    if node.get("wrap"):
        classes.append("fx-wrap")
    if node.get("align") in _ALIGN:
        classes.append(f"fx-align-{node['align']}")
    css = _common_css(node, parent) | {"color": _colour(node.get("color"))}
    para = {}
    if node.get("maxLines"):
        para["-webkit-line-clamp"] = str(int(node["maxLines"]))
    if _px(node.get("lineSpacing")):
        para["line-height"] = f"calc(1.4em + {_px(node['lineSpacing'])})"
    spans = node.get("contents")
    if spans:
        inner = "".join(_span(span) for span in spans if isinstance(span, dict))
    else:
        inner = esc(node.get("text", ""))
    line_class = ' class="fx-clamp"' if node.get("maxLines") else ""
    body = f"<p{line_class}{_style(para)}>{inner}</p>"
    return _element(" ".join(classes), body, css, node.get("action"))


def _span(node: dict) -> str:
    classes = ["fx-span", *_font_classes(node)]
    css = {"color": _colour(node.get("color"))} | _font_css(node)
    return f'<span class="{" ".join(classes)}"{_style(css)}>{esc(node.get("text", ""))}</span>'


def _font_classes(node: dict) -> list[str]:
    classes = []
    if node.get("size") in SIZES:
        classes.append(f"fx-size-{node['size']}")
    if node.get("weight") == "bold":
        classes.append("fx-bold")
    if node.get("style") == "italic":
        classes.append("fx-italic")
    if node.get("decoration") in ("underline", "line-through"):
        classes.append(f"fx-{node['decoration']}")
    return classes


def _font_css(node: dict) -> dict:
    size = node.get("size")
    return {"font-size": _px(size) if size not in SIZES else None}


def _image(node: dict, parent: str) -> str:
    size = node.get("size", "md")
    classes = ["fx-image", *_common_classes(node, parent)]
    classes.append(f"fx-image-{size}" if size in (*SIZES, "full") else "fx-image-custom")
    classes.append(f"fx-align-{node.get('align', 'center')}")
    mode = "cover" if node.get("aspectMode") == "cover" else "fit"
    frame = {
        "aspect-ratio": _ratio(node.get("aspectRatio", "1:1")),
        "background-color": _colour(node.get("backgroundColor")),
        "width": _length(size) if size not in (*SIZES, "full") else None,
    }
    img = f'<img class="fx-{mode}" src="{safe_url(node.get("url"))}" alt="" loading="lazy"/>'
    body = f'<div class="fx-image-frame"{_style(frame)}>{img}</div>'
    return _element(" ".join(classes), body, _common_css(node, parent), node.get("action"))


def _video(node: dict, parent: str) -> str:
    """A hero video shows its preview image with a play mark; the tap opens the video."""
    frame = {"aspect-ratio": _ratio(node.get("aspectRatio", "16:9"))}
    img = f'<img class="fx-cover" src="{safe_url(node.get("previewUrl"))}" alt="" loading="lazy"/>'
    body = f'<div class="fx-image-frame"{_style(frame)}>{img}<span class="fx-play">▶</span></div>'
    action = node.get("action") or {"type": "uri", "uri": node.get("url"), "label": "video"}
    return _element("fx-video fx-image fx-image-full", body, action=action)


def _button(node: dict, parent: str) -> str:
    style = node.get("style") if node.get("style") in ("primary", "secondary") else "link"
    height = "sm" if node.get("height") == "sm" else "md"
    classes = ["fx-button", f"fx-{style}", f"fx-height-{height}"]
    classes += _common_classes(node, parent)
    colour = _colour(node.get("color"))
    face = {"color": colour} if style == "link" else {"background-color": colour}
    action = node.get("action") or {}
    label = esc(action.get("label", ""))
    data = action_attr(action)
    body = f'<button type="button" class="fx-button-face"{data}{_style(face)}>{label}</button>'
    return _element(" ".join(classes), body, _common_css(node, parent))


def _icon(node: dict, parent: str) -> str:
    classes = ["fx-icon", *_common_classes(node, parent)]
    if node.get("size", "md") in SIZES:
        classes.append(f"fx-size-{node.get('size', 'md')}")
    width, height = _ratio_parts(node.get("aspectRatio", "1:1"))
    img_css = {"width": f"{width / height:.4g}em"}
    img = f'<img src="{safe_url(node.get("url"))}" alt=""{_style(img_css)}/>'
    css = _common_css(node, parent) | _font_css(node)
    return _element(" ".join(classes), img, css)


def _separator(node: dict, parent: str) -> str:
    css = {"border-color": _colour(node.get("color"))} | _margin_css(node, parent)
    classes = ["fx-separator", *_margin_classes(node, parent)]
    return _element(" ".join(classes), "", css)


def _filler(node: dict, parent: str) -> str:
    flex = node.get("flex", 1)
    return _element("fx-filler", "", {"flex": f"{int(flex)} 0 0"})


def _spacer(node: dict, parent: str) -> str:
    size = node.get("size") if node.get("size") in KEYWORDS else "md"
    return _element(f"fx-spacer fx-spacer-{size}", "")


# -- shared properties -------------------------------------------------------------------------


def _common_classes(node: dict, parent: str) -> list[str]:
    classes = _margin_classes(node, parent)
    if node.get("gravity") in ("top", "center", "bottom"):
        classes.append(f"fx-gravity-{node['gravity']}")
    if node.get("position") == "absolute":
        classes.append("fx-absolute")
    return classes


def _margin_classes(node: dict, parent: str) -> list[str]:
    margin = node.get("margin")
    if margin in KEYWORDS:
        side = "left" if parent in ("horizontal", "baseline") else "top"
        return [f"fx-margin-{side}-{margin}"]
    return []


def _margin_css(node: dict, parent: str) -> dict:
    margin = _length(node.get("margin"))
    side = "margin-left" if parent in ("horizontal", "baseline") else "margin-top"
    return {side: margin} if margin else {}


def _common_css(node: dict, parent: str) -> dict:
    """flex, margin, absolute offsets and text font size shared by components."""
    css = _flex_css(node, parent) | _margin_css(node, parent)
    for offset, side in (
        ("offsetTop", "top"),
        ("offsetBottom", "bottom"),
        ("offsetStart", "inset-inline-start"),
        ("offsetEnd", "inset-inline-end"),
    ):
        css[side] = _px(node.get(offset))
    if node.get("type") == "text":
        css |= _font_css(node)
    return css


def _flex_css(node: dict, parent: str) -> dict:
    """LINE's flex: in a horizontal box each child grows (default 1) from a zero basis;
    in a vertical box children keep their height unless given a flex."""
    flex = node.get("flex")
    if node.get("position") == "absolute":
        return {}
    if parent in ("horizontal", "baseline"):
        if node.get("type") in ("separator", "icon", "spacer"):
            return {"flex": "none"}
        if flex is None and node.get("type") == "box" and node.get("width"):
            return {"flex": "none"}
        grow = 1 if flex is None else int(flex)
        return {"flex": f"{grow} 1 0" if grow else "none"}
    if flex:
        return {"flex": f"{int(flex)} 0 auto"}
    return {}


def _paddings(node: dict) -> dict:
    css = {"padding": _px(node.get("paddingAll"))}
    for key, side in (
        ("paddingTop", "padding-top"),
        ("paddingBottom", "padding-bottom"),
        ("paddingStart", "padding-inline-start"),
        ("paddingEnd", "padding-inline-end"),
    ):
        css[side] = _px(node.get(key))
    return css


# -- values ------------------------------------------------------------------------------------


def _colour(value) -> str | None:
    return value if isinstance(value, str) and _COLOUR.match(value) else None


def _length(value) -> str | None:
    return value if isinstance(value, str) and _LENGTH.match(value) else None


def _px(value) -> str | None:
    """A keyword (none…xxl) or an explicit px/% length, as CSS."""
    if value in KEYWORD_PX:
        return f"{KEYWORD_PX[value]}px"
    return _length(value)


def _ratio_parts(value) -> tuple[float, float]:
    match = _RATIO.match(value) if isinstance(value, str) else None
    if not match or float(match.group(3)) == 0:
        return 1.0, 1.0
    return float(match.group(1)), float(match.group(3))


def _ratio(value) -> str:
    width, height = _ratio_parts(value)
    return f"{width:g} / {height:g}"


def _gradient(background) -> str | None:
    if not isinstance(background, dict) or background.get("type") != "linearGradient":
        return None
    angle = background.get("angle", "0deg")
    start, end = _colour(background.get("startColor")), _colour(background.get("endColor"))
    if not (_ANGLE.match(str(angle)) and start and end):
        return None
    stops = [start]
    centre = _colour(background.get("centerColor"))
    if centre:
        stops.append(f"{centre} {_length(background.get('centerPosition')) or '50%'}")
    stops.append(end)
    return f"linear-gradient({angle}, {', '.join(stops)})"


def safe_url(value) -> str:
    """Only web addresses become image sources (LINE itself wants https)."""
    if isinstance(value, str) and re.match(r"^(https?://|/)", value):
        return esc(value)
    return ""


def esc(value) -> str:
    return html.escape(str(value), quote=True)


def _style(css: dict) -> str:
    parts = [f"{key}: {value}" for key, value in css.items() if value]
    return f' style="{esc("; ".join(parts))}"' if parts else ""


def action_attr(action: dict | None) -> str:
    if not isinstance(action, dict) or not action.get("type"):
        return ""
    return f' data-action="{esc(json.dumps(action, ensure_ascii=False))}"'


def _element(
    classes: str, inner: str, css: dict | None = None, action=None, attrs: dict | None = None
) -> str:
    """A div for one component; a tappable one gets its action and the button role."""
    extra = "".join(f' {key}="{esc(value)}"' for key, value in (attrs or {}).items())
    data = action_attr(action)
    if data:
        classes += " fx-tap"
        extra += ' role="button" tabindex="0"'
    return f'<div class="{classes}"{_style(css or {})}{data}{extra}>{inner}</div>'
