"""What the LINE app does when a user opens a link (DESIGN §7, LINE URL schemes).

Web pages open in a browser; `https://line.me/R/…` (and the older `line://…`)
links drive the app itself: `oaMessage/<basic id>/?<text>` opens the account's
chat with the text typed in the input box, `nv/QRCodeReader` opens the QR
reader, and so on. `effect_of` says which, as data the console and tests act on.
"""

from __future__ import annotations

import re
from urllib.parse import quote, unquote, urlsplit

_LINE_PREFIXES = ("https://line.me/R/", "http://line.me/R/", "line://")
# Screens a link can open, by path prefix, described for a tester.
_SCREENS = {
    "nv/camera": "opens the camera",
    "nv/cameraRoll": "opens the photo picker",
    "nv/location": "opens the location sharing screen",
    "nv/chat": "opens the chat list",
    "nv/profile": "opens the user's own profile",
    "nv/settings": "opens LINE's settings",
    "nv/addFriends": "opens the add-friends screen",
    "ti/p/": "opens an account's profile (to add it as a friend)",
    "share": "opens the share screen",
    "msg/text/": "opens the share screen with a text to send to a friend",
}


def line_path(uri: str) -> str | None:
    """The part after `https://line.me/R/` (or `line://`), or None for other links."""
    for prefix in _LINE_PREFIXES:
        if uri.startswith(prefix):
            return uri[len(prefix) :]
    return None


def effect_of(uri: str, basic_id: str) -> dict:
    """What opening `uri` does in the chat with the account `basic_id`."""
    path = line_path(uri)
    if path is None:
        scheme = urlsplit(uri).scheme.lower()
        if scheme in ("http", "https"):
            return {"type": "browser", "uri": uri}
        return {"type": "other", "uri": uri, "description": f"opens a {scheme}: link"}
    if path.startswith("oaMessage/"):
        return _oa_message(path, basic_id, uri)
    if re.match(r"nv/QRCodeReader/?$", path, re.IGNORECASE):
        return {"type": "scanner", "uri": uri}
    for prefix, description in _SCREENS.items():
        if path.startswith(prefix):
            return {"type": "line", "uri": uri, "description": f"LINE {description}"}
    return {"type": "line", "uri": uri, "description": f"LINE opens its screen {path!r}"}


def _oa_message(path: str, basic_id: str, uri: str) -> dict:
    """`oaMessage/<basic id>/?<url-encoded text>`: the chat opens with the text typed."""
    account, _, text = path.removeprefix("oaMessage/").partition("?")
    account = unquote(account.rstrip("/"))
    if account.lower() != basic_id.lower():
        description = f"LINE opens the chat with another account, {account}"
        return {"type": "line", "uri": uri, "description": description}
    return {"type": "typed", "uri": uri, "text": unquote(text)}


def oa_message_url(basic_id: str, text: str) -> str:
    """The link that opens `basic_id`'s chat with `text` typed (for tests and demos)."""
    return f"https://line.me/R/oaMessage/{quote(basic_id)}/?{quote(text, safe='')}"
