"""Owner sign-in without passwords: a single-use link from chat starts a 12-hour session.

`/dashboard` in chat makes a link bound to the owner's LINE id, valid for ten
minutes. Opening it shows a button (link previews and prefetchers only GET, so
they cannot use the link up); pressing it claims the link with a conditional
update and starts a server-side session whose id sits in a signed, HttpOnly
cookie (Secure in production). Every request checks that session and that its
LINE id is still an owner, so removing someone from ADMIN_LINE_USER_IDS or
signing out ends access at once.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets
from datetime import timedelta

from flask import (
    Blueprint,
    abort,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

from bot.chat.context import current_services
from bot.store import utcnow
from bot.web.locale import use_locale

LINK_LIFETIME = timedelta(minutes=10)
SESSION_LIFETIME = timedelta(hours=12)

bp = Blueprint("auth", __name__, url_prefix="/dashboard")


def private(response):
    """Owner pages hold the shop's figures and members' details: no caches, no frames,
    and no sign-in token leaking out in a Referer header."""
    response.headers.setdefault("Cache-Control", "private, no-store")
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


bp.after_request(private)


def _key(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _services():
    return current_services()


def is_owner(line_user_id: str | None) -> bool:
    return bool(line_user_id) and line_user_id in _services().config.ADMIN_LINE_USER_IDS


def issue_link(services, line_user_id: str) -> str:
    """A fresh single-use sign-in URL for `line_user_id` (called by the chat command)."""
    token = secrets.token_urlsafe(32)
    services.store.create_signin_link(_key(token), line_user_id, utcnow() + LINK_LIFETIME)
    return f"{services.config.PUBLIC_BASE_URL.rstrip('/')}/dashboard/signin/{token}"


def _refuse(reason: str, status: int = 403):
    use_locale(None)
    return render_template("dashboard/refused.html", reason=reason), status


@bp.get("/signin/<token>")
def signin_page(token: str):
    """Show the sign-in button if the link can still be used (GET never uses it up)."""
    link = _services().store.signin_link(_key(token))
    reason = _link_problem(link)
    if reason:
        return _refuse(reason)
    use_locale(link["line_user_id"])
    return render_template("dashboard/signin.html", token=token)


@bp.post("/signin/<token>")
def signin(token: str):
    """Use the link once and start a session for the owner it was made for."""
    store = _services().store
    link = store.claim_signin_link(_key(token))
    if link is None:
        return _refuse(_link_problem(store.signin_link(_key(token))) or "invalid")
    if not is_owner(link["line_user_id"]):
        return _refuse("not-owner")
    secret = secrets.token_urlsafe(32)
    store.start_web_session(_key(secret), link["line_user_id"], utcnow() + SESSION_LIFETIME)
    lang = session.get("lang")  # a language chosen on the sign-in page carries on
    session.clear()
    session.permanent = True
    session["sid"] = secret
    if lang:
        session["lang"] = lang
    return redirect(url_for("dashboard.overview"), code=303)


def _link_problem(link: dict | None) -> str | None:
    if link is None:
        return "invalid"
    if link["used_at"] is not None:
        return "used"
    if link["expires_at"] <= utcnow():
        return "expired"
    return None


@bp.post("/signout")
def signout():
    """End the session on the server and drop the cookie."""
    sid = session.get("sid")
    if sid and hmac.compare_digest(request.form.get("csrf", ""), csrf_token(sid)):
        _services().store.end_web_session(_key(sid))
        session.clear()
    elif sid:
        abort(400)
    use_locale(None)
    return render_template("dashboard/refused.html", reason="signed-out"), 200


def csrf_token(sid: str) -> str:
    """Ties forms to the session: a page elsewhere cannot post without it."""
    secret = _services().config.SECRET_KEY.encode()
    return hmac.new(secret, f"csrf:{sid}".encode(), hashlib.sha256).hexdigest()[:32]


def owner_required(view):
    """Pages for the signed-in owner only; anyone else is told to send /dashboard in chat."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        sid = session.get("sid")
        record = _services().store.web_session(_key(sid)) if sid else None
        if record is None:
            session.clear()
            return _refuse("signed-out" if sid is None else "expired-session", 401)
        if not is_owner(record["line_user_id"]):
            return _refuse("not-owner")
        g.owner = record["line_user_id"]
        g.csrf = csrf_token(sid)
        use_locale(record["line_user_id"])
        return view(*args, **kwargs)

    return wrapper
