"""Chart images at signed, expiring URLs: `/charts/<token>.png` (Flex heroes, pages) or `.svg`."""

from __future__ import annotations

from flask import Blueprint, Response, abort

from bot.charts import build
from bot.charts.specs import read_token
from bot.chat.context import current_services

bp = Blueprint("charts", __name__)
MIME = {"png": "image/png", "svg": "image/svg+xml"}


@bp.get("/charts/<token>.<any(png, svg):fmt>")
def chart_image(token: str, fmt: str = "png"):
    """Draw (or take from the cache) the chart the token names; 404 if forged or expired."""
    services = current_services()
    spec = read_token(services.config, token)
    if spec is None:
        abort(404)
    body = build.image(services, spec, fmt)
    # The token fixes the numbers' time, so the picture behind a URL never changes.
    return Response(body, mimetype=MIME[fmt], headers={"Cache-Control": "public, max-age=86400"})
