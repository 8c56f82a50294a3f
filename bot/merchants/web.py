"""Multi-merchant wiring of the app: the registry, `/m/<slug>/…` pages, the CLI."""

from __future__ import annotations

from flask import Flask, abort, current_app, g

from bot.chat.context import Services
from bot.merchants import cli
from bot.merchants.registry import Merchants

PREFIXED = "merchant_pages"


def install(app: Flask, services: Services) -> None:
    """Add the merchant registry and routes when MERCHANT_KEYS_SECRET is set."""
    app.register_blueprint(cli.bp)
    if not services.config.multi_merchant:
        return
    from bot.web import pages  # noqa: PLC0415 - pages import the app's modules

    app.extensions["samachik.merchants"] = Merchants(
        services.config, services.registry, services.store.client
    )
    # The same pages (QR images, links, exports, privacy) once per merchant: each
    # merchant's PUBLIC_BASE_URL ends in /m/<slug>, so what it sends comes back here.
    app.register_blueprint(pages.bp, url_prefix="/m/<slug>", name=PREFIXED)
    app.url_value_preprocessor(_merchant_from_url)
    app.url_defaults(_slug_in_urls)


def _merchant_from_url(endpoint: str | None, values: dict | None) -> None:
    """Resolve `/m/<slug>/…` to that merchant's Services; 404 if unknown or disabled."""
    if not endpoint or not endpoint.startswith(f"{PREFIXED}.") or not values:
        return
    slug = values.pop("slug")
    services = current_app.extensions["samachik.merchants"].services(slug)
    if services is None:
        abort(404)
    g.samachik_services = services
    g.merchant_slug = slug


def _slug_in_urls(endpoint: str, values: dict) -> None:
    if endpoint.startswith(f"{PREFIXED}.") and "merchant_slug" in g:
        values.setdefault("slug", g.merchant_slug)
