"""The Python API of the simulator, for tests, the demo and benchmarks.

sim = Simulator(secret, token).start()
sim.connect("http://127.0.0.1:8090/callback")   # or a Flask app, in-process
alice = sim.user("alice", language="en")
alice.follow()
replies = alice.says("help")
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading

import requests
import waitress
from waitress import wasyncore

from simulator import app as line_app
from simulator import events as ev
from simulator.line_urls import effect_of
from simulator.openapi import default_validator
from simulator.platform import Platform, UserState

SERVER_THREADS = 64  # calls answered at once (a campaign sends on up to 32 threads)
# Connections kept open at once. LINE sets no such limit; waitress's default (100) let
# a web process of 100 merchants, each client keeping its own pool alive, lock itself
# out: new connections waited until a reply timed out (bench/merchants.py: 0.7 events/s).
CONNECTION_LIMIT = 2000
# waitress warns whenever a call waits for a thread: injected latency makes that normal.
logging.getLogger("waitress.queue").setLevel(logging.ERROR)


class Simulator:
    """A local LINE platform: Messaging API server plus signed webhook sender."""

    def __init__(
        self,
        channel_secret: str,
        access_token: str,
        webhook_target=None,
        validate=True,
        language: str = "th",
        basic_id: str = ev.BOT_BASIC_ID,
        _validator=None,
    ):
        validator = _validator or (default_validator() if validate else None)
        self.platform = Platform(channel_secret, access_token, validator, basic_id=basic_id)
        self.webhook_target = webhook_target
        self.webhook_path = "/callback"
        # Channels served by this simulator's server, by access token (itself included);
        # a channel made with `channel()` points at the simulator that serves it.
        self._channels: dict[str, Platform] = {access_token: self.platform}
        self._host: Simulator | None = None
        # The LINE app language of users the console or HTTP API creates.
        self.language = language
        self._server = None
        self._thread = None
        self._session = requests.Session()

    # -- server lifecycle ----------------------------------------------------

    def start(self, host: str = "127.0.0.1", port: int = 0) -> Simulator:
        """Serve the Messaging API on a thread (port 0 picks a free port).

        waitress keeps connections alive between calls, as LINE's servers do
        (werkzeug's development server closes each one, so every call would pay for
        a new connection, and the simulator for a new thread).
        """
        from simulator.server import create_server_app  # noqa: PLC0415

        self._server = waitress.create_server(
            create_server_app(self),
            host=host,
            port=port,
            threads=SERVER_THREADS,
            connection_limit=CONNECTION_LIMIT,
        )
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        return self

    @property
    def base_url(self) -> str:
        if self._host is not None:
            return self._host.base_url
        return f"http://{self._server.effective_host}:{self._server.effective_port}"

    def channel(self, channel_secret: str, access_token: str, basic_id: str) -> Simulator:
        """Another LINE Official Account on this simulator's server: its own secret,
        token, basic id, users, inboxes, rich menus, limits and faults."""
        if access_token in self._channels:
            raise ValueError("two channels cannot share an access token")
        other = Simulator(
            channel_secret,
            access_token,
            language=self.language,
            basic_id=basic_id,
            _validator=self.platform._validator,
        )
        other._host = self
        self._channels[access_token] = other.platform
        return other

    def platform_for(self, authorization: str) -> Platform:
        """The channel whose token a request carries (unknown tokens get this one's 401)."""
        token = authorization.removeprefix("Bearer ")
        return self._channels.get(token, self.platform)

    def stop(self) -> None:
        if self._host is not None:
            self._host._channels.pop(self.platform.access_token, None)
            return
        if self._server is not None:
            self._server.task_dispatcher.shutdown()
            wasyncore.close_all(self._server._map)  # the listener and open connections
            self._thread.join(5)
            self._server = None

    def reset(self) -> None:
        self.platform.reset()

    def connect(self, target, path: str = "/callback") -> None:
        """Where webhooks go: a URL, or a Flask app (posted to `path` by its test client)."""
        self.webhook_target = target
        self.webhook_path = path

    # -- users and webhooks ----------------------------------------------------

    def user(self, name: str, display_name: str | None = None, language: str = "th") -> SimUser:
        """A LINE user; a name becomes a stable, valid-looking user id."""
        user_id = name if ev.is_user_id(name) else user_id_for(name)
        state = self.platform.add_user(user_id, display_name or name, language)
        if state.handle is None and not ev.is_user_id(name):
            state.handle = name
        return SimUser(self, state)

    def group(self, name: str) -> SimChat:
        """A LINE group chat the account is in; a name becomes a stable group id."""
        return SimChat(self, "group", chat_id_for("C", name))

    def room(self, name: str) -> SimChat:
        """A multi-person chat (room) the account is in."""
        return SimChat(self, "room", chat_id_for("R", name))

    def deliver(self, events: list[dict], signature: str | None = None) -> int:
        """Sign and POST events to the bot like LINE does; returns the HTTP status."""
        for event in events:
            chat_id = ev.chat_of(event)
            if event.get("replyToken") and chat_id:
                self.platform.issue_reply_token(event["replyToken"], chat_id)
        body = ev.body_of(events)
        return self.post_raw(
            body, ev.sign(self.platform.channel_secret, body) if signature is None else signature
        )

    def post_raw(self, body: bytes, signature: str | None) -> int:
        """POST any bytes with any signature (None: no header) to the webhook."""
        headers = {"Content-Type": "application/json; charset=utf-8"}
        if signature is not None:
            headers["X-Line-Signature"] = signature
        target = self.webhook_target
        if target is None:
            raise RuntimeError("no webhook target: call sim.connect(url_or_app) first")
        if isinstance(target, str):
            return self._session.post(target, data=body, headers=headers, timeout=30).status_code
        with target.test_client() as client:
            return client.post(self.webhook_path, data=body, headers=headers).status_code

    # -- fault injection and inspection -----------------------------------------

    def inject(self, endpoint: str, status: int, times: int = 1) -> None:
        self.platform.inject(endpoint, status, times)

    def set_latency(self, endpoint: str, seconds: float) -> None:
        self.platform.set_latency(endpoint, seconds)

    def interrupt(self, endpoint: str, action) -> None:
        """Run `action` once, on the next call to `endpoint`, before LINE answers it."""
        self.platform.interrupt(endpoint, action)

    def set_fault_rates(
        self, endpoint: str, rates: dict, seed: int = 0, timeout_seconds: float = 1.0
    ) -> None:
        """Random faults, e.g. `{429: 0.2, 500: 0.1, "timeout": 0.05}` (see Platform)."""
        self.platform.set_fault_rates(endpoint, rates, seed, timeout_seconds)

    def set_rate_limit(self, endpoint: str, per_second: int) -> None:
        self.platform.set_rate_limit(endpoint, per_second)

    def requests(self, endpoint: str | None = None) -> list[dict]:
        return [r for r in self.platform.requests if endpoint in (None, r["endpoint"])]


class SimUser:
    """One LINE user talking to the bot."""

    def __init__(self, sim: Simulator, state: UserState):
        self.sim = sim
        self.state = state
        self.last_status: int | None = None

    @property
    def id(self) -> str:
        return self.state.user_id

    @property
    def inbox(self) -> list[dict]:
        """Every message the bot has sent this user, oldest first."""
        return [entry["message"] for entry in self.sim.platform.inbox(self.id)]

    @property
    def draft(self) -> str:
        """The text in the chat's input box (an oaMessage link types it there)."""
        return self.state.draft

    @property
    def scanner_open(self) -> bool:
        return self.state.scanner_open

    @property
    def opened(self) -> list[str]:
        """Web pages this user's LINE app opened, oldest first."""
        return list(self.state.opened)

    def send(self, event: dict, shown: dict | None = None) -> Replies:
        """Deliver one event from this user; returns what the bot sent back meanwhile.

        `shown` is what the user's own chat shows they sent (None: nothing, as for a
        postback without displayText); the console lists it beside the bot's messages.
        """
        platform = self.sim.platform
        if shown is not None:
            platform.record_sent(self.id, shown)
        before = len(platform.inbox(self.id))
        self.last_status = self.sim.deliver([event])
        return Replies(entry["message"] for entry in platform.inbox(self.id)[before:])

    def follow(self) -> Replies:
        """Add the account as a friend (or unblock it: LINE flags that)."""
        unblocked = self.state.blocked_before
        self.state.friend = True
        note = "unblocked the account" if unblocked else "added the account as a friend"
        return self.send(ev.follow(self.id, unblocked=unblocked), {"type": "note", "text": note})

    def block(self) -> Replies:
        """Block the account; LINE sends an unfollow event."""
        self.state.friend = False
        self.state.blocked_before = True
        return self.send(ev.unfollow(self.id), {"type": "note", "text": "blocked the account"})

    def says(self, text: str) -> Replies:
        if self.state.draft == text:
            self.state.draft = ""
        return self.send(ev.text_message(self.id, text), {"type": "text", "text": text})

    def sends_draft(self) -> Replies:
        """Press send with whatever the input box holds (after an oaMessage link)."""
        if not self.state.draft.strip():
            raise line_app.AppError("the input box is empty")
        return self.says(self.state.draft)

    def sends_sticker(self) -> Replies:
        event = ev.sticker_message(self.id)
        sticker = {k: event["message"][k] for k in ("packageId", "stickerId")}
        return self.send(event, {"type": "sticker", **sticker})

    def sends_image(self, data: bytes) -> Replies:
        """Send a photo (JPEG or PNG): LINE's image event; the bytes wait at the content
        endpoint (`GET /v2/bot/message/<id>/content`) for a limited time."""
        content_type = line_app.image_type(data)
        event = ev.image_message(self.id)
        message_id = event["message"]["id"]
        self.sim.platform.store_content(message_id, bytes(data), content_type)
        return self.send(event, {"type": "image", "id": message_id})

    def sends_location(
        self, title: str = "Asoke", address: str = "Sukhumvit 21, Bangkok", at=(13.7373, 100.5603)
    ) -> Replies:
        event = ev.location_message(self.id, title, address, *at)
        return self.send(event, {"type": "location", "title": title, "address": address})

    def taps(
        self, data: str, params: dict | None = None, display_text: str | None = None
    ) -> Replies:
        """Tap a postback button (rich menu, Flex or quick reply); `display_text` is
        what the chat shows as the user's message, as LINE does with displayText."""
        shown = {"type": "text", "text": display_text} if display_text else None
        return self.send(ev.postback(self.id, data, params), shown)

    # -- the LINE app: actions, rich menu, links, QR reader ----------------------------

    def perform(self, action: dict, params: dict | None = None) -> Replies:
        """Do what the LINE app does when this action is tapped (any LINE action type).

        A datetime picker needs the chosen value, e.g. params={"date": "2025-05-17"}.
        The result's `effect` says what the app did besides sending, if anything.
        """
        kind = action.get("type")
        if kind == "message":
            return self.says(action["text"])
        if kind == "postback":
            replies = self.taps(
                action["data"], display_text=action.get("displayText") or action.get("text")
            )
            replies.effect = self._input_option(action)
            return replies
        if kind == "datetimepicker":
            chosen = line_app.picker_params(action, params)
            return self.taps(action["data"], chosen)
        if kind == "richmenuswitch":
            return self._switch_menu(action)
        if kind == "uri":
            return Replies(effect=self.opens(action["uri"]))
        if kind == "clipboard":
            self.state.clipboard = action["clipboardText"]
            return Replies(effect={"type": "clipboard", "text": action["clipboardText"]})
        if kind in ("camera", "cameraRoll", "location"):
            return Replies(effect={"type": kind})  # the app opens a picker; nothing is sent yet
        raise line_app.AppError(f"unknown action type {kind!r}")

    def rich_menu(self) -> dict | None:
        """The rich menu this user's chat shows (switched, linked or default), if any."""
        return self.sim.platform.rich_menu_of(self.id)

    def taps_rich_menu(self, which: int | str, params: dict | None = None) -> Replies:
        """Tap an area of the shown rich menu: by index, or by its label, text or data."""
        menu = self.rich_menu()
        if menu is None:
            raise line_app.AppError(f"{self.state.display_name} sees no rich menu")
        return self.perform(line_app.find_area(menu, which)["action"], params)

    def opens(self, uri: str) -> dict:
        """Open a link in LINE: a web page, or a LINE URL scheme acting on the app."""
        effect = effect_of(uri, self.sim.platform.basic_id)
        if effect["type"] == "typed":
            self.state.draft = effect["text"]
        elif effect["type"] == "scanner":
            self.state.scanner_open = True
        elif effect["type"] == "browser":
            self.state.opened.append(uri)
        return effect

    def scans(self, code: bytes | str) -> dict:
        """Point LINE's QR reader at a code (an image, or the text it holds).

        A link is opened as if tapped; any other text is shown by the reader.
        """
        text = line_app.read_qr(code) if isinstance(code, bytes | bytearray) else code
        self.state.scanner_open = False
        if re.match(r"^(https?|line)://", text):
            return {**self.opens(text), "scanned": text}
        return {"type": "text", "text": text, "scanned": text}

    def _input_option(self, action: dict) -> dict | None:
        """A postback's inputOption: what the app opens after the tap."""
        option = action.get("inputOption")
        if option == "openKeyboard" and action.get("fillInText"):
            self.state.draft = action["fillInText"]
            return {"type": "typed", "text": action["fillInText"]}
        if option:
            return {"type": "input", "option": option}
        return None

    def _switch_menu(self, action: dict) -> Replies:
        """richmenuswitch: show the aliased menu, and send the postback LINE sends."""
        alias = action["richMenuAliasId"]
        switched = self.sim.platform.switch_rich_menu(self.id, alias)
        status = "SUCCESS" if switched else "RICHMENU_ALIAS_ID_NOTFOUND"
        replies = self.taps(action["data"], {"newRichMenuAliasId": alias, "status": status})
        replies.effect = {"type": "switched", "richMenuAliasId": alias, "richMenuId": switched}
        return replies


class Replies(list):
    """What the bot sent back (a list of messages); `effect` is what the LINE app
    itself did on screen, e.g. {"type": "typed", "text": …} or {"type": "scanner"}."""

    def __init__(self, messages=(), effect: dict | None = None):
        super().__init__(messages)
        self.effect = effect


class SimChat:
    """A group or multi-person chat: what its members say, what the bot says to all of them.

    A member may be None: LINE leaves `userId` out for some senders (and for
    every event that is not a message), so the bot cannot tell who it was.
    """

    def __init__(self, sim: Simulator, kind: str, chat_id: str):
        self.sim = sim
        self.kind = kind
        self.id = chat_id
        self.last_status: int | None = None

    @property
    def inbox(self) -> list[dict]:
        """Every message the bot has sent to this chat (seen by all its members)."""
        return [entry["message"] for entry in self.sim.platform.chat_inbox(self.id)]

    def source(self, member: SimUser | None = None) -> dict:
        make = ev.group_source if self.kind == "group" else ev.room_source
        return make(self.id, member.id if member else None)

    def send(self, event: dict) -> list[dict]:
        """Deliver one event from this chat; returns what the bot said here meanwhile."""
        before = len(self.sim.platform.chat_inbox(self.id))
        self.last_status = self.sim.deliver([event])
        return [entry["message"] for entry in self.sim.platform.chat_inbox(self.id)[before:]]

    def says(self, member: SimUser | None, text: str) -> list[dict]:
        return self.send(ev.text_message(None, text, source=self.source(member)))

    def taps(self, member: SimUser | None, data: str, params: dict | None = None) -> list[dict]:
        """A postback from a button shown in this chat."""
        return self.send(ev.postback(None, data, params, source=self.source(member)))

    def sends_sticker(self, member: SimUser | None) -> list[dict]:
        return self.send(ev.sticker_message(None, source=self.source(member)))

    def bot_joins(self) -> list[dict]:
        """The account is added to the chat: a `join` event, with no userId."""
        return self.send(ev.other_event("join", None, source=self.source()))

    def member_joins(self, member: SimUser) -> list[dict]:
        event = ev.other_event("memberJoined", None, source=self.source())
        event["joined"] = {"members": [ev.user_source(member.id)]}
        return self.send(event)

    def member_leaves(self, member: SimUser) -> list[dict]:
        event = ev.other_event("memberLeft", None, source=self.source())
        event["left"] = {"members": [ev.user_source(member.id)]}
        return self.send(event)

    def bot_leaves(self) -> list[dict]:
        return self.send(ev.other_event("leave", None, source=self.source()))


def user_id_for(name: str) -> str:
    return "U" + hashlib.md5(name.encode()).hexdigest()


def chat_id_for(kind: str, name: str) -> str:
    """A stable group (C…) or room (R…) id for a name."""
    return kind + hashlib.md5(name.encode()).hexdigest()


def texts(messages: list[dict]) -> list[str]:
    """The readable text of each message: text, or a Flex message's altText."""
    return [m.get("text") or m.get("altText") or f"[{m.get('type')}]" for m in messages]
