"""GET /images/<sha256>.<jpg|png>: the images owners sent in chat, as LINE fetches them."""

from __future__ import annotations

import re

from flask import Blueprint, Response, abort, current_app

from bot.images import EXTENSIONS

bp = Blueprint("media", __name__)
DIGEST = re.compile(r"^[0-9a-f]{64}$")


@bp.get("/images/<digest>.<ext>")
def image(digest: str, ext: str):
    """The stored bytes; the name is their hash, so they may be cached for ever."""
    if not DIGEST.match(digest) or ext not in EXTENSIONS:
        abort(404)
    found = current_app.extensions["samachik"].store.image(digest)
    if found is None or found["content_type"] != EXTENSIONS[ext]:
        abort(404)
    response = Response(bytes(found["data"]), mimetype=found["content_type"])
    response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
    response.set_etag(digest)
    return response
