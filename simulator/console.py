"""The simulator's control API (/_sim/…) and the chat console page (/).

The console draws what the simulator recorded, rendered server-side by
`message_html` (so tests check the very HTML a tester sees), and performs taps
through `SimUser`, exactly as tests do.
"""

from __future__ import annotations

import requests
from flask import Blueprint, Response, current_app, jsonify, render_template, request

from simulator import events as ev
from simulator import message_html
from simulator.app import AppError
from simulator.sim import user_id_for

bp = Blueprint("console", __name__, template_folder="templates", static_folder="static")
FETCH_TIMEOUT = 5
MAX_UPLOAD = 10 * 1024 * 1024  # LINE takes photos up to 10 MB
# A small LINE-green speech bubble, so browsers find an icon (no 404 in the console).
FAVICON = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">'
    '<rect width="32" height="32" rx="8" fill="#06C755"/>'
    '<path d="M16 7c-6 0-10 3.6-10 8 0 4 3.3 7.2 7.8 7.9l-.6 3.1 4.1-3C22 22.6 26 19.2 26 15'
    'c0-4.4-4-8-10-8z" fill="#fff"/></svg>'
)


def _sim():
    return current_app.extensions["simulator"]


def _known(name: str):
    """The user's state without creating one (looking must not create a user)."""
    user_id = name if ev.is_user_id(name) else user_id_for(name)
    return _sim().platform.users.get(user_id)


def _user(name: str):
    """The user, created on first use with the console's language and display name."""
    payload = request.get_json(silent=True) or {}
    language = payload.get("language")
    user = _sim().user(name, payload.get("displayName"), language or _sim().language)
    if language:
        # The console's language menu is the phone's LINE language: it may change any time.
        user.state.language = str(language)[:10]
    return user


@bp.get("/")
def page():
    """The chat console: type as a LINE user, see what the bot answers."""
    return render_template("console.html", basic_id=ev.BOT_BASIC_ID, language=_sim().language)


@bp.get("/favicon.ico")
def favicon():
    return Response(FAVICON, mimetype="image/svg+xml")


@bp.get("/_sim/users")
def users():
    """Everyone the simulator knows, with the chat list's preview (the altText)."""
    listed = []
    for state in list(_sim().platform.users.values()):
        last = state.inbox[-1]["message"] if state.inbox else None
        listed.append(
            {
                "userId": state.user_id,
                "name": state.handle or state.user_id,
                "displayName": state.display_name,
                "friend": state.friend,
                "language": state.language,
                "preview": message_html.alt_text(last) if last else "",
            }
        )
    return jsonify(listed)


@bp.post("/_sim/users/<name>/<action>")
def act(name: str, action: str):
    """follow, block, say {text}, tap {data}, sticker, location: returns the bot's replies."""
    payload = request.get_json(silent=True) or {}
    user = _user(name)
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
    elif action == "location":
        replies = user.sends_location()
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
    state = _known(name)
    return jsonify(_sim().platform.inbox(state.user_id) if state else [])


@bp.post("/_sim/users/<name>/perform")
def perform(name: str):
    """Tap anything: {"action": <LINE action>, "params": {...}} as the LINE app would."""
    payload = request.get_json(silent=True) or {}
    action = payload.get("action")
    if not isinstance(action, dict) or not action.get("type"):
        return jsonify({"error": "send {action: {type: …}}"}), 400
    user = _user(name)
    try:
        replies = user.perform(action, payload.get("params"))
    except (AppError, KeyError) as error:
        return jsonify({"error": f"the LINE app would not do that: {error}"}), 400
    effect, status = replies.effect, user.last_status
    return jsonify({"replies": replies, "effect": effect, "webhookStatus": status})


@bp.post("/_sim/users/<name>/image")
def send_image(name: str):
    """The raw body is a photo (JPEG or PNG) the user sends."""
    data = request.get_data()
    if not data or len(data) > MAX_UPLOAD:
        return jsonify({"error": "send a JPEG or PNG of at most 10 MB as the body"}), 400
    user = _sim().user(name, language=request.args.get("language", _sim().language))
    try:
        replies = user.sends_image(data)
    except AppError as error:
        return jsonify({"error": str(error)}), 400
    return jsonify({"replies": replies, "webhookStatus": user.last_status})


@bp.post("/_sim/users/<name>/scan")
def scan(name: str):
    """LINE's QR reader: an image body, {"text": …}, or {"url": <an image the bot sent>}."""
    user = _sim().user(name, language=request.args.get("language", _sim().language))
    payload = request.get_json(silent=True)
    try:
        if payload is None:
            code = request.get_data()
        elif payload.get("url"):
            code = _fetch_sent_image(user, str(payload["url"]))
        else:
            code = str(payload.get("text", "")).strip()
        if not code:
            return jsonify({"error": "choose a QR image or paste its text"}), 400
        effect = user.scans(code)
    except AppError as error:
        return jsonify({"error": str(error)}), 400
    return jsonify({"effect": effect})


def _fetch_sent_image(user, url: str) -> bytes:
    """Download an image the bot sent this user (only those: the console is no proxy)."""
    if url not in _image_urls(user.inbox):
        raise AppError("only images the bot sent to this user can be scanned by address")
    try:
        response = requests.get(url, timeout=FETCH_TIMEOUT)
    except requests.RequestException as error:
        raise AppError(f"could not fetch the image: {type(error).__name__}") from error
    if not response.ok:
        raise AppError(f"the image answered {response.status_code}")
    return response.content


def _image_urls(node) -> set[str]:
    found = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("url", "originalContentUrl", "previewImageUrl") and isinstance(value, str):
                found.add(value)
            else:
                found |= _image_urls(value)
    elif isinstance(node, list):
        for item in node:
            found |= _image_urls(item)
    return found


@bp.post("/_sim/users/<name>/profile")
def profile(name: str):
    """Change a user's LINE profile (language, display name) as the app's settings would."""
    payload = request.get_json(silent=True) or {}
    user = _user(name)
    if payload.get("language"):
        user.state.language = str(payload["language"])[:10]
    if payload.get("displayName"):
        user.state.display_name = str(payload["displayName"])[:20]
    return jsonify({"userId": user.id, "language": user.state.language})


@bp.get("/_sim/users/<name>/chat")
def chat(name: str):
    """The console's view of one chat: both sides as HTML, quick replies, the rich menu."""
    state = _known(name)
    if state is None:
        return jsonify({"user": None, "entries": [], "quickReply": None, "richMenu": None})
    platform = _sim().platform
    entries = [_entry(item) for item in platform.conversation(state.user_id)]
    last = entries[-1] if entries else None
    return jsonify(
        {
            "user": {
                "userId": state.user_id,
                "displayName": state.display_name,
                "language": state.language,
                "friend": state.friend,
                "draft": state.draft,
            },
            "entries": entries,
            "quickReply": last.get("quickReply") if last and last["from"] == "bot" else None,
            "richMenu": _menu(platform.rich_menu_of(state.user_id)),
        }
    )


def _entry(item: dict) -> dict:
    if item["from"] == "user":
        url = f"/_sim/content/{item['id']}" if item.get("type") == "image" else None
        return {
            "from": "user",
            "seq": item["seq"],
            "at": item["at"],
            "note": item.get("type") == "note",
            "html": message_html.render_sent(item, url),
        }
    message = item["message"]
    quick = (message.get("quickReply") or {}).get("items")
    return {
        "from": "bot",
        "seq": item["seq"],
        "at": item["at"],
        "via": item["via"],
        "alt": message_html.alt_text(message),
        "html": message_html.render(message),
        "quickReply": message_html.quick_reply(quick) if quick else None,
    }


def _menu(menu: dict | None) -> dict | None:
    if menu is None:
        return None
    image_url = f"/_sim/richmenus/{menu['richMenuId']}/image"
    return {
        "richMenuId": menu["richMenuId"],
        "chatBarText": menu["chatBarText"],
        "selected": menu["selected"],
        "html": message_html.rich_menu(menu, image_url),
    }


@bp.get("/_sim/richmenus/<menu_id>/image")
def rich_menu_image(menu_id: str):
    image = _sim().platform.rich_menu_image(menu_id)
    if image is None:
        return jsonify({"error": "no such rich menu image"}), 404
    return Response(image.data, mimetype=image.content_type)


@bp.get("/_sim/content/<message_id>")
def content(message_id: str):
    """A photo a user sent (as long as LINE keeps it)."""
    item = _sim().platform.content(message_id)
    if item is None:
        return jsonify({"error": "gone"}), 404
    return Response(item["data"], mimetype=item["content_type"])


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
