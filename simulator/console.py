"""The simulator's control API (/_sim/…) and the chat console page (/)."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, render_template, request

from simulator import events as ev
from simulator.sim import user_id_for

bp = Blueprint("console", __name__, template_folder="templates")


def _sim():
    return current_app.extensions["simulator"]


@bp.get("/")
def page():
    """The chat console: type as a LINE user, see what the bot answers."""
    return render_template("console.html", language=_sim().language)


@bp.get("/_sim/users")
def users():
    platform = _sim().platform
    return jsonify(
        [
            {
                "userId": u.user_id,
                "displayName": u.display_name,
                "friend": u.friend,
                "language": u.language,
            }
            for u in platform.users.values()
        ]
    )


@bp.post("/_sim/users/<name>/<action>")
def act(name: str, action: str):
    """follow, block, say {text} or tap {data}: returns the bot's replies."""
    payload = request.get_json(silent=True) or {}
    language = payload.get("language")
    user = _sim().user(name, payload.get("displayName"), language or _sim().language)
    if language:
        # The console's language menu is the phone's LINE language: it may change any time.
        user.state.language = language
    if action == "follow":
        replies = user.follow()
    elif action == "block":
        replies = user.block()
    elif action == "say" and str(payload.get("text", "")).strip():
        replies = user.says(str(payload["text"])[:5000])
    elif action == "tap" and payload.get("data"):
        replies = user.taps(str(payload["data"]), payload.get("params"))
    elif action == "sticker":
        replies = user.sends_sticker()
    else:
        return jsonify({"error": "unknown action or missing text/data"}), 400
    return jsonify({"userId": user.id, "webhookStatus": user.last_status, "replies": replies})


@bp.post("/_sim/groups/<name>/<action>", defaults={"kind": "group"})
@bp.post("/_sim/rooms/<name>/<action>", defaults={"kind": "room"})
def chat_act(kind: str, name: str, action: str):
    """In a group or room: say {user, text}, tap {user, data}, sticker {user}, join, leave.

    `user` names the sender; leave it out for an event LINE sends without a userId.
    """
    payload = request.get_json(silent=True) or {}
    sim = _sim()
    chat = sim.group(name) if kind == "group" else sim.room(name)
    member = sim.user(str(payload["user"])) if payload.get("user") else None
    if action == "say" and str(payload.get("text", "")).strip():
        replies = chat.says(member, str(payload["text"])[:5000])
    elif action == "tap" and payload.get("data"):
        replies = chat.taps(member, str(payload["data"]), payload.get("params"))
    elif action == "sticker":
        replies = chat.sends_sticker(member)
    elif action == "join":
        replies = chat.bot_joins()
    elif action == "leave":
        replies = chat.bot_leaves()
    else:
        return jsonify({"error": "unknown action or missing text/data"}), 400
    return jsonify({"chatId": chat.id, "webhookStatus": chat.last_status, "replies": replies})


@bp.get("/_sim/groups/<name>/messages", defaults={"kind": "group"})
@bp.get("/_sim/rooms/<name>/messages", defaults={"kind": "room"})
def chat_messages(kind: str, name: str):
    """Everything the bot said in a group or room (every member saw it), oldest first."""
    chat = _sim().group(name) if kind == "group" else _sim().room(name)
    return jsonify(_sim().platform.chat_inbox(chat.id))


@bp.get("/_sim/users/<name>/messages")
def messages(name: str):
    """Everything the bot sent this user (reply, push, multicast), oldest first."""
    # Looking does not create the user (that would fix their language too early).
    user_id = name if ev.is_user_id(name) else user_id_for(name)
    return jsonify(_sim().platform.inbox(user_id))


@bp.post("/_sim/faults")
def faults():
    """Inject failures: {"endpoint": "push", "status": 429, "times": 3}."""
    payload = request.get_json(silent=True) or {}
    try:
        status, times = int(payload["status"]), int(payload.get("times", 1))
        if not (400 <= status <= 599 and times >= 1):
            raise ValueError("status must be 400-599 and times at least 1")
        _sim().inject(str(payload["endpoint"]), status, times)
    except (KeyError, ValueError, TypeError) as error:
        return jsonify({"error": f"bad fault: {error}"}), 400
    return jsonify({"ok": True})


@bp.post("/_sim/latency")
def latency():
    payload = request.get_json(silent=True) or {}
    _sim().set_latency(payload.get("endpoint", "push"), float(payload.get("seconds", 0)))
    return jsonify({"ok": True})


@bp.get("/_sim/requests")
def recorded_requests():
    """API calls the bot made, newest last (bodies included: this is a test double)."""
    return jsonify(_sim().requests(request.args.get("endpoint")))


@bp.post("/_sim/reset")
def reset():
    _sim().reset()
    return jsonify({"ok": True})
