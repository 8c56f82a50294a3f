"""GET /healthz: database reachability and the running version."""

from flask import Blueprint, current_app, jsonify

from bot.version import __version__

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    """200 with {"database": "ok"} when MongoDB answers a ping, else 503."""
    store = current_app.extensions["samachik"].store
    database_ok = store.ping()
    body = {
        "status": "ok" if database_ok else "degraded",
        "database": "ok" if database_ok else "unreachable",
        "version": __version__,
    }
    return jsonify(body), 200 if database_ok else 503
