"""Draw a rich menu image from the layout: tiles, icon discs and large labels.

Curved edges (tile corners, discs, icons) are drawn larger and shrunk so they
come out smooth. Labels use the OFL fonts shipped in bot/charts/fonts (Noto Sans Bold
for English, Noto Sans Thai Bold, Noto Sans CJK TC thickened by a stroke since
only its regular weight is shipped); Thai is shaped by Pillow's Raqm layout.
"""

from __future__ import annotations

import functools
import io

from PIL import Image, ImageDraw, ImageFilter, ImageFont

from bot.charts.fonts import FONT_DIR
from bot.i18n import Translator, translator
from bot.richmenu.icons import icon
from bot.richmenu.layout import Area, Item, Layout, Menu, areas

GAP = 26  # between tiles and around the edge, in pixels
RADIUS = 44
OVERSAMPLE = 4  # curved edges are drawn this much larger and shrunk: smooth, not jagged
SHADOW_COLOUR, SHADOW_ALPHA = "#0C281E", 36
MAX_BYTES = 1024 * 1024  # LINE's limit for a rich menu image
HERO_SIZE, LABEL_SIZE, MIN_LABEL_SIZE = 112, 92, 56  # label sizes in pixels
LABEL_MARGIN = 36
FONTS = {
    "en": ("NotoSans-Bold-subset.ttf", 0),
    "th": ("NotoSansThai-Bold-subset.ttf", 0),
    "zh_Hant": ("NotoSansCJKtc-Regular-subset.otf", 1.2),  # stroke, % of the size: bolder
}


def font_for(locale: str, size: int) -> tuple[ImageFont.FreeTypeFont, int]:
    """The label font of a language at a pixel size, and the stroke that makes it bold."""
    name, stroke = FONTS[locale]
    return _font(name, size), round(stroke * size / 100)


@functools.cache
def _font(name: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(FONT_DIR / name), size, layout_engine=ImageFont.Layout.RAQM)


def render_png(layout: Layout, role: str, t: Translator) -> bytes:
    """The menu's image as a PNG within LINE's limits."""
    menu = layout.menus[role]
    # Only what is drawn: a menu whose actions change keeps its cached picture.
    drawn = tuple((key, layout.items[key].label, layout.items[key].icon) for key in menu.items)
    return _render(menu, drawn, layout.width, t.locale)


@functools.lru_cache(maxsize=32)
def _render(menu: Menu, drawn: tuple, width: int, locale: str) -> bytes:
    """Drawn once per process for each menu, language and look (deploy and status share)."""
    t = translator(locale)
    items = {key: Item(key, label, icon) for key, label, icon in drawn}
    layout = Layout(menus={menu.role: menu}, items=items, width=width)
    role = menu.role
    canvas = Image.new("RGB", (layout.width, menu.height), menu.theme.background)
    tiles = [(area, _tile_box(area, layout.width, menu.height)) for area in areas(layout, role)]
    _shadows(canvas, [box for _area, box in tiles])
    sizes = _label_sizes(menu, tiles, t)
    draw = ImageDraw.Draw(canvas)
    for area, box in tiles:
        _tile(canvas, draw, menu, area, box, t, sizes[area.y])
    data = _png(canvas)
    if len(data) > MAX_BYTES:
        raise ValueError(f"the {role} menu image is {len(data)} bytes; LINE takes {MAX_BYTES}")
    return data


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG", compress_level=1)  # fast; still far below 1 MB
    return buffer.getvalue()


def _tile_box(area: Area, width: int, height: int) -> tuple[int, int, int, int]:
    """The tile inside its tap area: a full gap at the image's edges, half a gap between."""
    x0 = area.x + (GAP if area.x == 0 else GAP // 2)
    y0 = area.y + (GAP if area.y == 0 else GAP // 2)
    x1 = area.x + area.width - (GAP if area.x + area.width == width else GAP // 2)
    y1 = area.y + area.height - (GAP if area.y + area.height == height else GAP // 2)
    return x0, y0, x1, y1


def _shadows(canvas: Image.Image, boxes: list[tuple[int, int, int, int]]) -> None:
    """The tiles' soft shadows, blurred at a quarter size (same look, a fraction of the work)."""
    quarter = Image.new("L", (canvas.width // 4, canvas.height // 4), 0)
    draw = ImageDraw.Draw(quarter)
    for x0, y0, x1, y1 in boxes:
        draw.rounded_rectangle(
            (x0 // 4, (y0 + 8) // 4, x1 // 4, (y1 + 8) // 4), RADIUS // 4, fill=SHADOW_ALPHA
        )
    mask = quarter.filter(ImageFilter.GaussianBlur(4)).resize(
        canvas.size, Image.Resampling.BILINEAR
    )
    canvas.paste(SHADOW_COLOUR, (0, 0), mask)


@functools.cache
def _corner(radius: int) -> Image.Image:
    """A quarter disc mask (top left), smooth-edged."""
    big = Image.new("L", (radius * 2 * OVERSAMPLE,) * 2, 0)
    ImageDraw.Draw(big).ellipse((0, 0, big.width - 1, big.height - 1), fill=255)
    return big.resize((radius * 2, radius * 2), Image.Resampling.LANCZOS).crop(
        (0, 0, radius, radius)
    )


def _rounded_mask(width: int, height: int, radius: int) -> Image.Image:
    mask = Image.new("L", (width, height), 255)
    corner = _corner(radius)
    mask.paste(corner, (0, 0))
    mask.paste(corner.transpose(Image.Transpose.FLIP_LEFT_RIGHT), (width - radius, 0))
    mask.paste(corner.transpose(Image.Transpose.FLIP_TOP_BOTTOM), (0, height - radius))
    mask.paste(corner.transpose(Image.Transpose.ROTATE_180), (width - radius, height - radius))
    return mask


@functools.cache
def _disc(diameter: int) -> Image.Image:
    big = Image.new("L", (diameter * OVERSAMPLE,) * 2, 0)
    ImageDraw.Draw(big).ellipse((0, 0, big.width - 1, big.height - 1), fill=255)
    return big.resize((diameter, diameter), Image.Resampling.LANCZOS)


def _tile(canvas, draw, menu: Menu, area: Area, box, t: Translator, size: int) -> None:
    theme = menu.theme
    hero = area.item.key == menu.hero
    fill, disc, fg, ink = (
        (theme.accent, _mix(theme.accent, "#FFFFFF", 0.16), "#FFFFFF", "#FFFFFF")
        if hero
        else (theme.tile, theme.tint, theme.accent, theme.text)
    )
    x0, y0, x1, y1 = box
    tile_w, tile_h = x1 - x0, y1 - y0
    canvas.paste(fill, (x0, y0), _rounded_mask(tile_w, tile_h, RADIUS))
    diameter = int(min(tile_h * 0.48, tile_w * 0.66))
    cx, cy = (x0 + x1) // 2, y0 + int(tile_h * 0.40)
    canvas.paste(disc, (cx - diameter // 2, cy - diameter // 2), _disc(diameter))
    side = int(diameter * 0.6)
    glyph = icon(area.item.icon, side, fg, disc)
    canvas.paste(glyph, (cx - side // 2, cy - side // 2), glyph)
    if hero:
        size = _fitted(t._(area.item.label), t.locale, _room(box), HERO_SIZE)
    font, stroke = font_for(t.locale, size)
    lines = _lines(t._(area.item.label), t.locale, font, stroke, _room(box))
    below_disc = cy + diameter // 2
    draw.multiline_text(
        (cx, (below_disc + y1) // 2),
        "\n".join(lines),
        font=font,
        fill=ink,
        anchor="mm",
        align="center",
        spacing=size // 6,
        stroke_width=stroke,
        stroke_fill=ink,
    )


def _room(box) -> int:
    return box[2] - box[0] - 2 * LABEL_MARGIN


def _label_sizes(menu: Menu, tiles, t: Translator) -> dict[int, int]:
    """One label size per row (by the row's top): the largest that fits all its labels."""
    sizes: dict[int, int] = {}
    for area, box in tiles:
        if area.item.key != menu.hero:
            fitted = _fitted(t._(area.item.label), t.locale, _room(box), LABEL_SIZE)
            sizes[area.y] = min(sizes.get(area.y, LABEL_SIZE), fitted)
    return sizes


def _fitted(label: str, locale: str, room: int, biggest: int) -> int:
    """The largest size, down to MIN_LABEL_SIZE, at which the label fits in one or two lines."""
    for size in range(biggest, MIN_LABEL_SIZE, -4):
        font, stroke = font_for(locale, size)
        if _lines(label, locale, font, stroke, room):
            return size
    return MIN_LABEL_SIZE


def _lines(label: str, locale: str, font, stroke: int, room: int) -> list[str]:
    """The label on one line, else split at a space into two; [] if neither fits."""
    fits = lambda text: _width(text, font, stroke) <= room  # noqa: E731
    if fits(label):
        return [label]
    words = label.split(" ")
    splits = [(" ".join(words[:i]), " ".join(words[i:])) for i in range(1, len(words))]
    splits = [pair for pair in splits if all(fits(line) for line in pair)]
    if not splits:
        return []
    # The most even split reads best.
    return list(
        min(
            splits,
            key=lambda pair: abs(_width(pair[0], font, stroke) - _width(pair[1], font, stroke)),
        )
    )


def _width(text: str, font, stroke: int) -> float:
    return font.getlength(text) + 2 * stroke


def _mix(colour: str, other: str, share: float) -> str:
    a, b = Image.new("RGB", (1, 1), colour), Image.new("RGB", (1, 1), other)
    r, g, bl = Image.blend(a, b, share).getpixel((0, 0))
    return f"#{r:02X}{g:02X}{bl:02X}"
