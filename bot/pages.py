"""Pages LINE users open from chat: the privacy notice and their data export."""

from __future__ import annotations

import json

from flask import Blueprint, Response, abort, current_app, redirect, render_template, request

from bot import links, privacy, qr
from bot.i18n import LOCALES, normalise_locale, translator

bp = Blueprint("pages", __name__, template_folder="templates")


@bp.get("/privacy")
def privacy_notice():
    """The full privacy notice, in the language asked for (?lang=th|en|zh_Hant)."""
    services = current_app.extensions["samachik"]
    wanted = request.args.get("lang", "")
    locale = (
        wanted if wanted in LOCALES else normalise_locale(wanted, services.config.DEFAULT_LOCALE)
    )
    merchant = services.store.get_setting("merchant") or {}
    return render_template(
        "privacy.html",
        _=translator(locale)._,
        lang=locale,
        version=privacy.POLICY_VERSION,
        merchant=merchant.get("name") or "Samachik",
        contact=merchant.get("contact") or "",
    )


@bp.get("/my-data/<token>")
def my_data_export(token: str):
    """The member's data as a JSON download; the link is signed and expires in an hour."""
    services = current_app.extensions["samachik"]
    member_id = links.member_from_export_token(services.config, token)
    if member_id is None:
        abort(404)
    data = services.store.export_member(member_id)
    if not data["member"] or data["member"].get("status") == "erased":
        abort(404)
    body = json.dumps(data, default=str, ensure_ascii=False, indent=2)
    return Response(
        body,
        mimetype="application/json",
        headers={
            "Content-Disposition": 'attachment; filename="my-data.json"',
            "Cache-Control": "no-store",
        },
    )


@bp.get("/qr/<token>.png")
def qr_image(token: str):
    """The member card's QR; genuine tokens only, expired ones still render (LINE may re-fetch)."""
    services = current_app.extensions["samachik"]
    secret = services.config.SECRET_KEY
    prefix = qr.REDEMPTION_PREFIX if qr.looks_like_token(token, qr.REDEMPTION_PREFIX) else qr.PREFIX
    try:
        qr.read_token(secret, token, check_expiry=False, prefix=prefix)
    except qr.TokenError:
        abort(404)
    return Response(
        qr.png(token),
        mimetype="image/png",
        headers={"Cache-Control": f"public, max-age={qr.LIFETIME_SECONDS}"},
    )


@bp.get("/r/<token>")
def tracked_link(token: str):
    """A campaign link: count the click for its delivery, then go to the target."""
    services = current_app.extensions["samachik"]
    try:
        subject = qr.read_token(services.config.SECRET_KEY, token, prefix="SML1")
    except qr.TokenError:
        abort(404)
    run_id = subject.split(":", 1)[0] if not subject.startswith("run:") else subject[4:]
    campaign = services.store.campaign(run_id.split("-", 1)[0])
    if campaign is None or not campaign["content"].get("link"):
        abort(404)
    if not subject.startswith("run:"):  # a preview or test message counts no click
        services.store.record_click(subject, run_id, campaign["_id"])
    return redirect(campaign["content"]["link"], code=302)
