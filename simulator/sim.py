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
import threading

import requests
import waitress
from waitress import wasyncore

from simulator import events as ev
from simulator.openapi import default_validator
from simulator.platform import Platform, UserState

SERVER_THREADS = 64  # calls answered at once (a campaign sends on up to 32 threads)
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
    ):
        self.platform = Platform(
            channel_secret, access_token, validator=default_validator() if validate else None
        )
        self.webhook_target = webhook_target
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
            create_server_app(self), host=host, port=port, threads=SERVER_THREADS
        )
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        return self

    @property
    def base_url(self) -> str:
        return f"http://{self._server.effective_host}:{self._server.effective_port}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.task_dispatcher.shutdown()
            wasyncore.close_all(self._server._map)  # the listener and open connections
            self._thread.join(5)
            self._server = None

    def reset(self) -> None:
        self.platform.reset()

    def connect(self, target) -> None:
        """Where webhooks go: a URL, or a Flask app (posted through its test client)."""
        self.webhook_target = target

    # -- users and webhooks ----------------------------------------------------

    def user(self, name: str, display_name: str | None = None, language: str = "th") -> SimUser:
        """A LINE user; a name becomes a stable, valid-looking user id."""
        user_id = name if ev.is_user_id(name) else user_id_for(name)
        state = self.platform.add_user(user_id, display_name or name, language)
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
            return client.post("/callback", data=body, headers=headers).status_code

    # -- fault injection and inspection -----------------------------------------

    def inject(self, endpoint: str, status: int, times: int = 1) -> None:
        self.platform.inject(endpoint, status, times)

    def set_latency(self, endpoint: str, seconds: float) -> None:
        self.platform.set_latency(endpoint, seconds)

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

    def send(self, event: dict) -> list[dict]:
        """Deliver one event from this user; returns what the bot sent back meanwhile."""
        before = len(self.sim.platform.inbox(self.id))
        self.last_status = self.sim.deliver([event])
        return [entry["message"] for entry in self.sim.platform.inbox(self.id)[before:]]

    def follow(self) -> list[dict]:
        """Add the account as a friend (or unblock it: LINE flags that)."""
        unblocked = self.state.blocked_before
        self.state.friend = True
        return self.send(ev.follow(self.id, unblocked=unblocked))

    def block(self) -> list[dict]:
        """Block the account; LINE sends an unfollow event."""
        self.state.friend = False
        self.state.blocked_before = True
        return self.send(ev.unfollow(self.id))

    def says(self, text: str) -> list[dict]:
        return self.send(ev.text_message(self.id, text))

    def sends_sticker(self) -> list[dict]:
        return self.send(ev.sticker_message(self.id))

    def taps(self, data: str, params: dict | None = None) -> list[dict]:
        """Tap a postback button (rich menu, Flex or quick reply)."""
        return self.send(ev.postback(self.id, data, params))


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
