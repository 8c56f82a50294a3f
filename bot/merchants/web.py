"""Multi-merchant wiring of the app: the registry, `/m/<slug>/…` URLs, the CLI.

Every public URL a merchant hands out (QR images, export and campaign links,
privacy notice, owner's images, chart images, the dashboard with its sign-in,
session and CSV exports) also lives under `/m/<slug>/`, served with that
merchant's Services. The routes are the same rules, copied with the prefix and
the same endpoint names: inside a merchant's request `url_for` picks the prefixed
copy (the slug is filled in), so every link a page makes stays with its merchant.
Tokens are signed with the merchant's own key (Config.SECRET_KEY), and the
dashboard's cookie has the merchant's path and key, so nothing made for one
merchant opens anything of another.
"""

from __future__ import annotations

import re

from flask import Flask, abort, current_app, g, request
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import URLSafeTimedSerializer
from werkzeug.routing import Rule

from bot.chat.context import Services
from bot.merchants import cli
from bot.merchants.registry import Merchants, merchant_secret_key

PREFIX = "/m/<slug>"
# The blueprints whose every route is also served per merchant.
PER_MERCHANT = frozenset({"pages", "media", "auth", "dashboard", "exports", "charts"})
_IN_PATH = re.compile(r"^/m/([a-z0-9][a-z0-9-]{1,29})/")


def install(app: Flask, services: Services) -> None:
    """Add the merchant registry and routes when MERCHANT_KEYS_SECRET is set."""
    app.register_blueprint(cli.bp)
    if not services.config.multi_merchant:
        return
    app.extensions["samachik.merchants"] = Merchants(
        services.config, services.registry, services.store.client
    )
    for rule in list(app.url_map.iter_rules()):
        if rule.endpoint.split(".", 1)[0] in PER_MERCHANT:
            app.url_map.add(_prefixed(rule))
    app.url_value_preprocessor(_merchant_from_url)
    app.url_defaults(_slug_in_urls)
    app.session_interface = MerchantSessions()


def _prefixed(rule: Rule) -> Rule:
    """The same route under /m/<slug>, with the same endpoint (and so the same view)."""
    copy = Rule(PREFIX + rule.rule, **rule.get_empty_kwargs())
    copy.provide_automatic_options = getattr(rule, "provide_automatic_options", False)
    return copy


def slug_in_path(path: str) -> str | None:
    found = _IN_PATH.match(path)
    return found.group(1) if found else None


def _merchant_from_url(endpoint: str | None, values: dict | None) -> None:
    """Resolve `/m/<slug>/…` to that merchant's Services; 404 if unknown or disabled."""
    rule = request.url_rule
    if not values or "slug" not in values or rule is None or not rule.rule.startswith(PREFIX):
        return
    slug = values.pop("slug")
    services = current_app.extensions["samachik.merchants"].services(slug)
    if services is None:
        abort(404)
    g.samachik_services = services
    g.merchant_slug = slug


def _slug_in_urls(endpoint: str, values: dict) -> None:
    if "merchant_slug" in g and endpoint.split(".", 1)[0] in PER_MERCHANT:
        values.setdefault("slug", g.merchant_slug)


class MerchantSessions(SecureCookieSessionInterface):
    """The dashboard cookie under `/m/<slug>/`: that merchant's path and signing key."""

    def get_cookie_path(self, app: Flask) -> str:
        slug = slug_in_path(request.path)
        path = super().get_cookie_path(app)
        return f"/m/{slug}{path}" if slug else path

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        slug = slug_in_path(request.path)
        if not slug or not app.secret_key:
            return super().get_signing_serializer(app)
        # Newest key last, as itsdangerous expects; each derived for this merchant.
        keys = [*(app.config.get("SECRET_KEY_FALLBACKS") or ()), app.secret_key]
        return URLSafeTimedSerializer(
            [merchant_secret_key(str(key), slug) for key in keys],
            salt=self.salt,
            serializer=self.serializer,
            signer_kwargs={
                "key_derivation": self.key_derivation,
                "digest_method": self.digest_method,
            },
        )
