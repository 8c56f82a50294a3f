"""The dashboard's language: `?lang=` if given (remembered), else the owner's chat language."""

from __future__ import annotations

from flask import g, request, session, url_for

from bot.analytics import messages
from bot.charts import labels
from bot.chat.context import current_services
from bot.i18n import LOCALES, translator


def use_locale(line_user_id: str | None) -> None:
    """Pick the page language for this request and keep it on `g`."""
    wanted = request.args.get("lang")
    if wanted in LOCALES:
        session["lang"] = wanted
    locale = session.get("lang")
    if locale not in LOCALES:
        services = current_services()
        saved = services.store.member_locale(line_user_id) if line_user_id else None
        locale = saved if saved in LOCALES else services.config.DEFAULT_LOCALE
    g.lang = locale
    g.t = translator(locale)


def template_helpers() -> dict:
    """`_`, number and money formats in the page's language, for every template."""
    # handlers/ imports this package (for /dashboard); import its labels when rendering.
    from handlers.labels import TIER_NAMES  # noqa: PLC0415

    t = g.get("t") or translator(current_services().config.DEFAULT_LOCALE)
    return {
        "_": t._,
        "n_": t.n_,
        "t": t,
        "lang": t.locale,
        "locales": LOCALES,
        "percent": lambda share: labels.percent(t, share),
        "money": lambda minor: labels.money_whole(t, minor),
        "money_exact": t.money,
        "lang_url": _lang_url,
        "tier": lambda name: t._(TIER_NAMES[name]) if name in TIER_NAMES else (name or "—").title(),
        "signed_points": lambda share: messages.signed_points(t, share),
        "pp": lambda share: t._(
            "%(value)s percentage points", value=messages.signed_points(t, share)
        ),
    }


def _lang_url(code: str) -> str:
    """This page in another language (the choice is then remembered)."""
    args = {**request.args.to_dict(), "lang": code}
    return url_for(request.endpoint, **(request.view_args or {}), **args)
