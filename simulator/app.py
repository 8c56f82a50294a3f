"""The LINE app's side of a tap: picking a rich menu area, a date, or reading a QR code.

Pure helpers for `SimUser` (and so for the console): they decide what a tap
sends, and refuse what the app would never send (a date outside the picker's
min/max, an area that is not on the menu).
"""

from __future__ import annotations

import io
import re
from datetime import date, datetime, time

import zxingcpp
from PIL import Image, UnidentifiedImageError

# The datetime picker's value formats, per mode (LINE's postback.params keys).
_PICKER_FORMATS = {"date": "%Y-%m-%d", "time": "%H:%M", "datetime": "%Y-%m-%dT%H:%M"}
_PICKER_SHAPES = {
    "date": re.compile(r"^\d{4}-\d{2}-\d{2}$"),
    "time": re.compile(r"^\d{2}:\d{2}$"),
    "datetime": re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}$"),
}


class AppError(ValueError):
    """Something the LINE app would not let a user do."""


def find_area(menu: dict, which: int | str) -> dict:
    """A rich menu area by index, or by its action's label, text or data."""
    areas = menu["areas"]
    if isinstance(which, int):
        if not 0 <= which < len(areas):
            raise AppError(f"the menu has {len(areas)} areas; there is no area {which}")
        return areas[which]
    for area in areas:
        action = area["action"]
        keys = ("label", "text", "data", "richMenuAliasId", "uri")
        if which in (action.get(key) for key in keys):
            return area
    raise AppError(f"no area of the menu {menu.get('name')!r} is labelled {which!r}")


def picker_params(action: dict, params: dict | None) -> dict:
    """The postback params of a datetime picker: {mode: value}, inside min/max."""
    mode = action.get("mode", "datetime")
    value = (params or {}).get(mode)
    if not isinstance(value, str) or not _PICKER_SHAPES[mode].match(value):
        example = {"date": "2025-05-17", "time": "14:30", "datetime": "2025-05-17T14:30"}[mode]
        raise AppError(f"a {mode} picker sends params={{'{mode}': '{example}'}}")
    chosen = _parse(mode, value)
    for bound, too_far in (("min", lambda b: chosen < b), ("max", lambda b: chosen > b)):
        if action.get(bound) and too_far(_parse(mode, action[bound])):
            raise AppError(f"{value} is outside the picker's {bound} {action[bound]}")
    return {mode: value}


def _parse(mode: str, value: str) -> date | time | datetime:
    parsed = datetime.strptime(value, _PICKER_FORMATS[mode])
    return parsed.date() if mode == "date" else parsed.time() if mode == "time" else parsed


def image_type(data: bytes) -> str:
    """The MIME type of a JPEG or PNG (what the LINE app would upload)."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            kind = image.format
    except (UnidentifiedImageError, OSError) as error:
        raise AppError("not an image the LINE app can send (JPEG or PNG)") from error
    if kind not in ("JPEG", "PNG"):
        raise AppError(f"{kind} images are converted by LINE; send a JPEG or PNG")
    return f"image/{kind.lower()}"


def read_qr(data: bytes) -> str:
    """The text of the QR code in an image, as LINE's QR reader reads it."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            found = zxingcpp.read_barcodes(image.convert("L"))
    except (UnidentifiedImageError, OSError) as error:
        raise AppError("the QR reader could not open that image") from error
    codes = [code.text for code in found if code.format == zxingcpp.BarcodeFormat.QRCode]
    if not codes:
        raise AppError("no QR code found in the image")
    return codes[0]
