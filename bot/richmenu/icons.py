"""Menu icons drawn with Pillow primitives on a 100 × 100 grid (no icon files, no downloads).

Each drawing fills shapes in the foreground colour and cuts details out in the
colour of the disc it sits on, like a glyph. `icon` draws one four times larger
than asked and shrinks it, so the edges come out smooth.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from PIL import Image, ImageDraw, ImageFont

from bot.charts.fonts import FONT_DIR

OVERSAMPLE = 4


class Pen:
    """Draws on the 100-unit grid, scaled to the image."""

    def __init__(self, draw: ImageDraw.ImageDraw, size: int, fg: str, bg: str):
        self.draw, self.k, self.fg, self.bg = draw, size / 100, fg, bg

    def _xy(self, *points: float) -> list[float]:
        return [p * self.k for p in points]

    def box(self, x0, y0, x1, y1, radius=0, cut=False, outline=0):
        colour = self.bg if cut else self.fg
        if outline:
            self.draw.rounded_rectangle(
                self._xy(x0, y0, x1, y1),
                radius * self.k,
                outline=colour,
                width=round(outline * self.k),
            )
        else:
            self.draw.rounded_rectangle(self._xy(x0, y0, x1, y1), radius * self.k, fill=colour)

    def disc(self, cx, cy, r, cut=False):
        self.draw.ellipse(
            self._xy(cx - r, cy - r, cx + r, cy + r), fill=self.bg if cut else self.fg
        )

    def ring(self, cx, cy, r, width, cut=False):
        colour = self.bg if cut else self.fg
        self.draw.ellipse(
            self._xy(cx - r, cy - r, cx + r, cy + r), outline=colour, width=round(width * self.k)
        )

    def line(self, points, width, cut=False):
        """A polyline with round ends and joints."""
        colour = self.bg if cut else self.fg
        flat = [c for point in points for c in point]
        self.draw.line(self._xy(*flat), fill=colour, width=round(width * self.k), joint="curve")
        for x, y in (points[0], points[-1]):
            self.disc(x, y, width / 2, cut=cut)

    def polygon(self, points, cut=False):
        flat = [c for point in points for c in point]
        self.draw.polygon(self._xy(*flat), fill=self.bg if cut else self.fg)

    def arc(self, x0, y0, x1, y1, start, end, width, cut=False):
        colour = self.bg if cut else self.fg
        self.draw.arc(
            self._xy(x0, y0, x1, y1), start, end, fill=colour, width=round(width * self.k)
        )

    def glyph(self, text, cx, cy, size, cut=False):
        """A character of the shipped Noto Sans Bold, centred on (cx, cy)."""
        font = ImageFont.truetype(str(FONT_DIR / "NotoSans-Bold-subset.ttf"), round(size * self.k))
        colour = self.bg if cut else self.fg
        self.draw.text(self._xy(cx, cy), text, font=font, fill=colour, anchor="mm")

    def chord(self, x0, y0, x1, y1, start, end, cut=False):
        self.draw.chord(self._xy(x0, y0, x1, y1), start, end, fill=self.bg if cut else self.fg)


def card(pen: Pen) -> None:
    pen.box(8, 22, 92, 78, radius=9)
    pen.box(16, 32, 42, 58, radius=3, cut=True)
    for x, y in ((19, 35), (31, 35), (19, 47)):  # a QR's finder squares
        pen.box(x, y, x + 8, y + 8, radius=1)
    pen.box(32, 48, 38, 54)
    pen.line([(52, 38), (82, 38)], 6, cut=True)
    pen.line([(52, 50), (74, 50)], 6, cut=True)
    pen.line([(16, 68), (84, 68)], 4, cut=True)


def star(pen: Pen) -> None:
    points = []
    for index in range(10):
        radius = 44 if index % 2 == 0 else 19
        angle = math.radians(-90 + 36 * index)
        points.append((50 + radius * math.cos(angle), 54 + radius * math.sin(angle)))
    pen.polygon(points)


def gift(pen: Pen) -> None:
    pen.polygon([(50, 31), (28, 12), (22, 20), (30, 31)])  # the bow's two loops
    pen.polygon([(50, 31), (72, 12), (78, 20), (70, 31)])
    pen.disc(25, 16, 5)
    pen.disc(75, 16, 5)
    pen.box(10, 33, 90, 50, radius=4)
    pen.box(16, 53, 84, 90, radius=4)
    pen.box(45, 33, 55, 90, cut=True)
    pen.box(46.5, 33, 53.5, 90)


def ticket(pen: Pen) -> None:
    pen.box(6, 26, 94, 74, radius=7)
    pen.disc(6, 50, 10, cut=True)
    pen.disc(94, 50, 10, cut=True)
    for y in range(31, 72, 10):
        pen.box(33, y, 37, y + 5, cut=True)
    pen.ring(53, 40, 5, 4, cut=True)
    pen.ring(73, 60, 5, 4, cut=True)
    pen.line([(74, 38), (52, 62)], 4.5, cut=True)


def redeem(pen: Pen) -> None:
    pen.box(6, 26, 94, 74, radius=7)
    pen.disc(6, 50, 10, cut=True)
    pen.disc(94, 50, 10, cut=True)
    pen.line([(35, 50), (46, 61), (67, 39)], 8, cut=True)


def person(pen: Pen, dx: float = 0) -> None:
    pen.disc(50 + dx, 33, 17)
    pen.chord(20 + dx, 56, 80 + dx, 124, 180, 360)


def join(pen: Pen) -> None:
    person(pen, dx=-12)
    pen.disc(77, 28, 21, cut=True)
    pen.line([(77, 14), (77, 42)], 9)
    pen.line([(63, 28), (91, 28)], 9)


def question(pen: Pen) -> None:
    pen.disc(50, 50, 46)
    pen.glyph("?", 50, 52, 68, cut=True)


def scan(pen: Pen) -> None:
    for x, y, dx, dy in ((10, 10, 1, 1), (90, 10, -1, 1), (10, 90, 1, -1), (90, 90, -1, -1)):
        pen.line([(x, y + dy * 24), (x, y), (x + dx * 24, y)], 8)
    for x, y in ((26, 26), (56, 26), (26, 56)):
        pen.box(x, y, x + 18, y + 18, radius=3)
        pen.box(x + 5, y + 5, x + 13, y + 13, cut=True)
    pen.box(60, 60, 74, 74, radius=2)
    pen.line([(4, 50), (96, 50)], 5)


def search(pen: Pen) -> None:
    pen.ring(42, 42, 27, 10)
    pen.line([(62, 62), (86, 86)], 13)


def chart(pen: Pen) -> None:
    pen.box(14, 56, 32, 86, radius=3)
    pen.box(41, 36, 59, 86, radius=3)
    pen.box(68, 16, 86, 86, radius=3)
    pen.line([(8, 92), (92, 92)], 5)


def megaphone(pen: Pen) -> None:
    pen.polygon([(20, 38), (60, 16), (60, 84), (20, 62)])
    pen.box(6, 36, 26, 64, radius=5)
    pen.line([(20, 64), (28, 86)], 9)
    pen.arc(46, 32, 82, 68, -42, 42, 7)  # sound waves, centred on the horn's mouth
    pen.arc(36, 20, 96, 80, -40, 40, 7)


def gauge(pen: Pen) -> None:
    pen.arc(8, 20, 92, 104, 180, 360, 12)
    for degrees in (200, 235, 270, 305, 340):
        angle = math.radians(degrees)
        inner = (50 + 26 * math.cos(angle), 62 + 26 * math.sin(angle))
        outer = (50 + 31 * math.cos(angle), 62 + 31 * math.sin(angle))
        pen.line([inner, outer], 4)
    pen.line([(50, 62), (70, 36)], 8)
    pen.disc(50, 62, 9)
    pen.box(14, 78, 86, 86, radius=4)


def shop(pen: Pen) -> None:
    pen.box(16, 46, 84, 90, radius=3, outline=7)
    pen.box(41, 62, 59, 90, radius=2)
    pen.polygon([(18, 10), (82, 10), (92, 32), (8, 32)])  # the awning
    for index in range(5):
        x = 8 + 16.8 * index
        pen.chord(x, 22, x + 16.8, 42, 0, 180)
    for index in range(1, 5):
        top = 18 + 12.8 * index
        pen.line([(top, 12), (8 + 16.8 * index, 40)], 2.5, cut=True)


DRAWINGS: dict[str, Callable[[Pen], None]] = {
    "card": card,
    "star": star,
    "gift": gift,
    "ticket": ticket,
    "redeem": redeem,
    "person": person,
    "join": join,
    "question": question,
    "scan": scan,
    "search": search,
    "chart": chart,
    "megaphone": megaphone,
    "gauge": gauge,
    "shop": shop,
}


def icon(name: str, size: int, fg: str, bg: str) -> Image.Image:
    """The icon as a transparent square image `size` pixels wide."""
    big = size * OVERSAMPLE
    image = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    DRAWINGS[name](Pen(ImageDraw.Draw(image), big, fg, bg))
    return image.resize((size, size), Image.Resampling.LANCZOS)
