"""The owner's web dashboard: sign-in from chat, pages, CSV exports and chart images.

- `auth.py`: single-use sign-in links and 12-hour sessions (owners only);
- `views.py`: the pages (overview, funnel, retention, RFM, branches, campaigns, members);
- `exports.py`: CSV downloads;
- `charts.py`: chart images at signed, expiring URLs (also used by Flex messages);
- `templates/dashboard/`, `static/`: one layout and one small stylesheet.

Every number on these pages comes from `bot.analytics`, the functions behind
`/stats` and `/campaign show`.
"""

from __future__ import annotations

from flask import Flask

from bot.web import auth, charts, exports, views
from bot.web.auth import SESSION_LIFETIME
from bot.web.locale import template_helpers


def init_app(app: Flask, production: bool) -> None:
    """Register the blueprints and the session cookie's settings."""
    app.config.update(
        SESSION_COOKIE_NAME="samachik_dashboard",
        SESSION_COOKIE_PATH="/dashboard",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=production,
        PERMANENT_SESSION_LIFETIME=SESSION_LIFETIME,
    )
    for blueprint in (auth.bp, views.bp, exports.bp, charts.bp):
        app.register_blueprint(blueprint)
    app.context_processor(template_helpers)
