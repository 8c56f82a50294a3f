"""Pages LINE users open from chat: the privacy notice and their data export."""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    abort,
    redirect,
    render_template,
    request,
    url_for,
)

from bot.chat import private_chat
from bot.chat.context import current_services
from bot.i18n import LOCALES, normalise_locale, translator
from bot.loyalty import qr
from bot.members import export, privacy
from bot.members.profile_fields import FIELD_LABELS
from bot.web import links

bp = Blueprint("pages", __name__, template_folder="templates")


@bp.get("/privacy")
def privacy_notice():
    """The full privacy notice, in the language asked for (?lang=th|en|zh_Hant)."""
    services = current_services()
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


# The export link carries its token in the URL: keep it out of caches, referrers and indexes.
PRIVATE_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex",
}


def _member_copy(token: str) -> dict:
    """The member's copy for a valid, unexpired export token; 404 otherwise."""
    services = current_services()
    member_id = links.member_from_export_token(services.config, token)
    copy = export.member_copy(services.store, services.config, member_id) if member_id else None
    if copy is None:
        abort(404)
    return copy


@bp.get("/my-data/<token>")
def my_data_page(token: str):
    """The member's data as a page in their language; the signed link expires in an hour."""
    copy = _member_copy(token)
    config = current_services().config
    t = translator(copy["language"])
    page = render_template(
        "my_data.html",
        _=t._,
        copy=copy,
        lang=t.locale,
        download_url=url_for(".my_data_download", token=token),
        privacy_url=url_for(".privacy_notice", lang=t.locale),
        fields=list(FIELD_LABELS.items()),
        **export.formatters(t, config.tz),
    )
    return Response(page, mimetype="text/html", headers=PRIVATE_HEADERS)


@bp.get("/my-data/<token>/download")
def my_data_download(token: str):
    """The same copy as a JSON file, for taking it elsewhere (data portability)."""
    return Response(
        export.as_json(_member_copy(token)),
        mimetype="application/json",
        headers={**PRIVATE_HEADERS, "Content-Disposition": 'attachment; filename="my-data.json"'},
    )


@bp.get("/qr/<token>.png")
def qr_image(token: str):
    """A card's or code's QR; genuine tokens only, expired ones still render (LINE may re-fetch).

    It holds the LINE link that types the staff command into the shop's chat;
    while the account's basic id is unknown (LINE unreachable), the bare token.
    """
    services = current_services()
    secret = services.config.SECRET_KEY
    prefix = qr.REDEMPTION_PREFIX if qr.looks_like_token(token, qr.REDEMPTION_PREFIX) else qr.PREFIX
    try:
        qr.read_token(secret, token, check_expiry=False, prefix=prefix)
    except qr.TokenError:
        abort(404)
    basic_id = services.config.LINE_BOT_BASIC_ID or services.line.basic_id()
    content = private_chat.chat_link(basic_id, qr.counter_command(token)) if basic_id else token
    return Response(
        qr.png(content),
        mimetype="image/png",
        headers={"Cache-Control": f"public, max-age={qr.LIFETIME_SECONDS}"},
    )


@bp.get("/r/<token>")
def tracked_link(token: str):
    """A campaign link: count the click for its delivery, then go to the target."""
    services = current_services()
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
