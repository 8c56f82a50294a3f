"""Photos owners send in chat (reward and campaign images): checked, resized, kept, served.

LINE shows Flex images only as JPEG or PNG, at most 1024×1024 and 10 MB, fetched
over https. A photo sent in chat arrives as a message id; its bytes come from the
content endpoint for a limited time. We decode it with Pillow (so a file that only
claims to be an image is refused), shrink it to fit 1024×1024, re-encode it (which
also drops EXIF data such as where a photo was taken) and keep it under the SHA-256
of the result, so its URL is stable: `PUBLIC_BASE_URL/images/<sha256>.<jpg|png>`.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from bot.config import Config
from bot.line_api import LineApi, LineApiError
from bot.store import Store

MAX_BYTES = 10 * 1024 * 1024  # LINE's limit for an image it shows
MAX_SIDE = 1024
# A small file can decode to a huge bitmap (a "decompression bomb"); above this many
# pixels we refuse before decoding. A 48-megapixel phone photo still fits.
MAX_PIXELS = 50_000_000
FORMATS = {"JPEG": ("image/jpeg", "jpg"), "PNG": ("image/png", "png")}
EXTENSIONS = {ext: content_type for content_type, ext in FORMATS.values()}
JPEG_QUALITY = 85


class ImageRefused(ValueError):  # noqa: N818 - an answer we refuse, not a bug
    """Why an image cannot be used: too-large, not-image, gone or unavailable."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Prepared:
    data: bytes
    content_type: str
    size: tuple[int, int]

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    @property
    def extension(self) -> str:
        return "jpg" if self.content_type == "image/jpeg" else "png"


def prepare(data: bytes) -> Prepared:
    """A real JPEG or PNG of at most 10 MB, as a JPEG or PNG within 1024×1024."""
    if len(data) > MAX_BYTES:
        raise ImageRefused("too-large")
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.format not in FORMATS:
                raise ImageRefused("not-image")
            if image.width * image.height > MAX_PIXELS:
                raise ImageRefused("too-large")
            if image.format == "JPEG":
                image.draft("RGB", (MAX_SIDE, MAX_SIDE))  # decode at a reduced scale
            kind = image.format
            image.load()  # a truncated or corrupt file fails here
            return _fit(ImageOps.exif_transpose(image), kind)
    except ImageRefused:
        raise
    except Image.DecompressionBombError:
        raise ImageRefused("too-large") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        # Pillow reports broken files with any of these.
        raise ImageRefused("not-image") from None


def _fit(image: Image.Image, kind: str) -> Prepared:
    image.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    if kind == "JPEG":
        image.convert("RGB").save(out, "JPEG", quality=JPEG_QUALITY, optimize=True)
    else:
        keep = "RGBA" if image.mode in ("RGBA", "LA", "P") else "RGB"
        image.convert(keep).save(out, "PNG", optimize=True)
    return Prepared(out.getvalue(), FORMATS[kind][0], image.size)


def keep(store: Store, config: Config, prepared: Prepared) -> str:
    """Store a prepared image; returns the https URL LINE fetches it from."""
    store.put_image(prepared.digest, prepared.data, prepared.content_type, prepared.size)
    return f"{config.PUBLIC_BASE_URL.rstrip('/')}/images/{prepared.digest}.{prepared.extension}"


def from_message(store: Store, config: Config, line: LineApi, message_id: str) -> str:
    """Download the photo a user sent (message id), check and keep it; returns its URL."""
    try:
        data = line.message_content(message_id, MAX_BYTES)
    except LineApiError as error:
        # 404: LINE no longer keeps it (content expires); anything else: try again later.
        raise ImageRefused("gone" if error.status in (404, 410) else "unavailable") from None
    return keep(store, config, prepare(data))
