"""The simulated LINE platform: users, reply tokens, retry keys, limits and faults.

Framework-free so it can be driven from tests directly; `simulator.server`
exposes it over HTTP exactly where LINE's Messaging API lives.
"""

from __future__ import annotations

import itertools
import json
import random
import threading
import time
import uuid
from collections import defaultdict, deque
from dataclasses import dataclass, field

from linebot.v3.messaging import MulticastRequest, PushMessageRequest, ReplyMessageRequest
from pydantic import ValidationError

from simulator import limits, richmenu
from simulator.events import BOT_BASIC_ID, BOT_USER_ID, is_chat_id, message_id, new_token

REPLY_TOKEN_TTL = 60.0  # seconds; LINE's tokens last about a minute
RETRY_KEY_TTL = 24 * 3600.0
# LINE deletes what users sent "after a certain period"; a week here.
CONTENT_TTL = 7 * 24 * 3600.0
# LINE's per-channel rate limits (requests per second); 0 disables a limit.
DEFAULT_RATE_LIMITS = {"push": 2000, "multicast": 200}
AUTH_FAILED = (
    "Authentication failed. Confirm that the access token in the authorization header is valid."
)
ENDPOINTS = (
    *("reply", "push", "multicast", "profile", "quota", "quota_consumption", "bot_info"),
    *richmenu.ENDPOINTS,
    "message_content",
)
MONTHLY_LIMIT = "You have reached your monthly limit."  # LINE's 429 when the quota is used up


@dataclass
class Reply:
    """What the simulated API answers: status, JSON body and headers."""

    status: int
    body: dict
    headers: dict = field(default_factory=dict)
    raw: bytes | None = None  # binary answers (images) instead of JSON
    late: float = 0.0  # seconds the answer is held back after the call took effect


@dataclass
class UserState:
    user_id: str
    display_name: str
    language: str = "th"
    picture_url: str | None = None
    status_message: str | None = None
    handle: str | None = None  # the name tests and the console call this user by
    friend: bool = False  # followed and not blocked
    blocked_before: bool = False  # a later follow is an unblock
    inbox: list[dict] = field(default_factory=list)
    # What the user's own chat shows they sent (texts, stickers, images, postback
    # display texts), for the console; `seq` orders it among the inbox entries.
    sent: list[dict] = field(default_factory=list)
    # The LINE app's screen: the input box, the QR reader, pages opened, clipboard.
    draft: str = ""
    scanner_open: bool = False
    opened: list[str] = field(default_factory=list)
    clipboard: str | None = None


@dataclass
class Fault:
    endpoint: str
    status: int
    remaining: int


class Platform:
    """State and rules of the fake Messaging API."""

    def __init__(
        self,
        channel_secret: str,
        access_token: str,
        validator=None,
        clock=time.time,
        basic_id: str = BOT_BASIC_ID,
    ):
        self.channel_secret = channel_secret
        self.access_token = access_token
        self.basic_id = basic_id
        self.clock = clock
        self._validator = validator
        self._lock = threading.RLock()
        self.reset()

    def reset(self) -> None:
        """Forget every user, token, key, fault and recorded request."""
        with self._lock:
            self.users: dict[str, UserState] = {}
            # Group (C…) and multi-person chat (R…) ids -> what the bot said there,
            # which every member of that chat sees.
            self.chats: dict[str, list[dict]] = defaultdict(list)
            self.reply_tokens: dict[str, dict] = {}
            self.retry_keys: dict[str, dict] = {}
            self.requests: list[dict] = []
            self.faults: list[Fault] = []
            self.latency: dict[str, float] = {}
            # endpoint -> ({429: 0.2, 500: 0.1, "timeout": 0.05}, its random generator)
            self.fault_rates: dict[str, tuple[dict, random.Random]] = {}
            self.timeout_seconds = 1.0
            self.rate_limits: dict[str, int] = dict(DEFAULT_RATE_LIMITS)
            self._windows: dict[str, deque] = defaultdict(deque)
            self.quota_limit = 1_000_000
            self.usage = 0
            self.richmenus = richmenu.RichMenus()
            self.contents: dict[str, dict] = {}  # message id -> what a user sent
            self._seq = itertools.count(1)

    # -- set-up used by the webhook sender and tests -------------------------

    def add_user(self, user_id: str, display_name: str, language: str = "th") -> UserState:
        with self._lock:
            if user_id not in self.users:
                self.users[user_id] = UserState(user_id, display_name, language)
            return self.users[user_id]

    def issue_reply_token(self, token: str, chat_id: str) -> None:
        """A token for replying to a user, or to a group or room (everyone there sees it)."""
        # A redelivered event carries its original token: never revive it.
        with self._lock:
            self.reply_tokens.setdefault(
                token, {"to": chat_id, "issued_at": self.clock(), "used": False}
            )

    def inject(self, endpoint: str, status: int, times: int = 1) -> None:
        """Make the next `times` calls to `endpoint` fail with `status` (429, 500…)."""
        if endpoint not in ENDPOINTS:
            raise ValueError(f"unknown endpoint {endpoint!r}; one of {ENDPOINTS}")
        with self._lock:
            self.faults.append(Fault(endpoint, status, times))

    def set_latency(self, endpoint: str, seconds: float) -> None:
        with self._lock:
            self.latency[endpoint] = seconds

    def set_fault_rates(
        self, endpoint: str, rates: dict, seed: int = 0, timeout_seconds: float = 1.0
    ) -> None:
        """Fail a share of the calls to `endpoint` at random (reproducibly, from `seed`).

        `rates` maps a status (429, 500…) or "timeout" to a probability. A timeout is
        LINE doing the call and answering `timeout_seconds` late, after the caller gave
        up: the lost acknowledgement that retry keys exist for. `{}` stops the faults.
        """
        if endpoint not in ENDPOINTS:
            raise ValueError(f"unknown endpoint {endpoint!r}; one of {ENDPOINTS}")
        with self._lock:
            self.fault_rates[endpoint] = (dict(rates), random.Random(seed))
            self.timeout_seconds = timeout_seconds

    def set_rate_limit(self, endpoint: str, per_second: int) -> None:
        with self._lock:
            self.rate_limits[endpoint] = per_second

    def inbox(self, user_id: str) -> list[dict]:
        with self._lock:
            user = self.users.get(user_id)
            return list(user.inbox) if user else []

    def record_sent(self, user_id: str, shown: dict) -> None:
        """Remember what a user's chat shows they sent (console history)."""
        with self._lock:
            user = self.users.get(user_id)
            if user is not None:
                user.sent.append({**shown, "at": self.clock(), "seq": next(self._seq)})

    def conversation(self, user_id: str) -> list[dict]:
        """Both sides of a user's 1:1 chat, oldest first: {"from": "user"|"bot", …}."""
        with self._lock:
            user = self.users.get(user_id)
            if user is None:
                return []
            mine = [{"from": "user", **entry} for entry in user.sent]
            theirs = [{"from": "bot", **entry} for entry in user.inbox]
        return sorted(mine + theirs, key=lambda entry: entry["seq"])

    def rich_menu_of(self, user_id: str) -> dict | None:
        """The rich menu a user's chat shows (switched-to, linked or default), if any."""
        with self._lock:
            menu = self.richmenus.shown_to(user_id)
            return dict(menu) if menu else None

    def switch_rich_menu(self, user_id: str, alias_id: str) -> str | None:
        """A richmenuswitch tap on the user's phone; the menu id, None if the alias is unknown."""
        with self._lock:
            return self.richmenus.switch(user_id, alias_id)

    def rich_menu_image(self, menu_id: str):
        with self._lock:
            return self.richmenus.images.get(menu_id)

    def store_content(self, message_id: str, data: bytes, content_type: str) -> None:
        """The bytes of an image a user sent, downloadable by the bot for a while."""
        with self._lock:
            self.contents[message_id] = {
                "data": data,
                "content_type": content_type,
                "at": self.clock(),
            }

    def content(self, message_id: str) -> dict | None:
        with self._lock:
            item = self.contents.get(message_id)
            if item is None or self.clock() - item["at"] > CONTENT_TTL:
                return None
            return item

    def chat_inbox(self, chat_id: str) -> list[dict]:
        """What the bot said in a group or multi-person chat, oldest first."""
        with self._lock:
            return list(self.chats.get(chat_id, []))

    # -- the API -------------------------------------------------------------

    def call(self, endpoint: str, method: str, path: str, headers: dict, raw: bytes) -> Reply:
        """Run one API request through auth, faults, limits, validation and the action."""
        request_id = str(uuid.uuid4())
        reply = self._call(endpoint, method, path, headers, raw)
        reply.headers.setdefault("x-line-request-id", request_id)
        with self._lock:
            self.requests.append(
                {
                    "endpoint": endpoint,
                    "status": reply.status,
                    "retry_key": _header(headers, "x-line-retry-key"),
                    "body": _json_or_none(raw),
                    "at": self.clock(),
                }
            )
        if reply.late:
            time.sleep(reply.late)  # an injected timeout: the caller has stopped listening
        return reply

    def _call(self, endpoint, method, path, headers, raw) -> Reply:
        if _header(headers, "authorization") != f"Bearer {self.access_token}":
            return Reply(401, {"message": AUTH_FAILED})
        delay = self.latency.get(endpoint, 0.0)
        if delay:
            time.sleep(delay)  # injected on demand for benchmarks and the demo
        fault = self._take_fault(endpoint)
        if fault is not None:
            return _fault_reply(fault)
        drawn = self._draw_fault(endpoint)
        if drawn == "timeout":
            reply = self._answer(endpoint, method, path, headers, raw)
            reply.late = self.timeout_seconds
            return reply
        if drawn is not None:
            return _fault_reply(Fault(endpoint, drawn, 0))
        return self._answer(endpoint, method, path, headers, raw)

    def _answer(self, endpoint, method, path, headers, raw) -> Reply:
        if self._over_rate_limit(endpoint):
            return Reply(429, {"message": "Too Many Requests"})

        body = None
        if endpoint == "richmenu_image_upload":
            body = raw  # image bytes, not JSON
        elif method == "POST" and endpoint not in richmenu.NO_JSON_BODY:
            body = _json_or_none(raw)
            if not isinstance(body, dict):
                return Reply(400, {"message": "The request body could not be parsed as JSON"})
        if self._validator is not None and not isinstance(body, bytes):
            errors = self._validator.validate_request(method, path, body)
            if errors:
                return _invalid(errors)
        if endpoint in richmenu.ENDPOINTS:
            with self._lock:
                answer = self.richmenus.handle(endpoint, path, headers, body)
            headers = {"Content-Type": answer.content_type} if answer.content_type else {}
            return Reply(answer.status, answer.body, headers, answer.raw)
        action = getattr(self, f"_{endpoint}")
        return action(path, headers, body)

    def _draw_fault(self, endpoint: str):
        with self._lock:
            rates, draw = self.fault_rates.get(endpoint, ({}, None))
            if not rates:
                return None
            roll, edge = draw.random(), 0.0
            for fault, rate in rates.items():
                edge += rate
                if roll < edge:
                    return fault
        return None

    def _take_fault(self, endpoint: str) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.endpoint == endpoint and fault.remaining > 0:
                    fault.remaining -= 1
                    return fault
        return None

    def _over_rate_limit(self, endpoint: str) -> bool:
        limit = self.rate_limits.get(endpoint, 0)
        if not limit:
            return False
        with self._lock:
            now = time.monotonic()
            window = self._windows[endpoint]
            while window and now - window[0] >= 1.0:
                window.popleft()
            if len(window) >= limit:
                return True
            window.append(now)
            return False

    # -- endpoints -------------------------------------------------------------

    def _reply(self, path, headers, body) -> Reply:
        errors = _sdk_errors(ReplyMessageRequest, body) or limits.check_messages(body["messages"])
        if errors:
            return _invalid(errors)
        with self._lock:
            token = self.reply_tokens.get(body["replyToken"])
            if (
                token is None
                or token["used"]
                or self.clock() - token["issued_at"] > REPLY_TOKEN_TTL
            ):
                return Reply(400, {"message": "Invalid reply token"})
            token["used"] = True
            sent = self._deliver([token["to"]], body["messages"], "reply")
        return Reply(200, {"sentMessages": sent})

    def _push(self, path, headers, body) -> Reply:
        errors = (
            _sdk_errors(PushMessageRequest, body)
            or limits.check_user_id("to", body.get("to"))
            or limits.check_messages(body["messages"])
        )
        if errors:
            return _invalid(errors)
        return self._with_retry_key(
            headers,
            lambda: self._deliver([body["to"]], body["messages"], "push"),
            self._cost([body["to"]], body["messages"]),
        )

    def _multicast(self, path, headers, body) -> Reply:
        errors = (
            _sdk_errors(MulticastRequest, body)
            or limits.check_recipients(body["to"])
            or limits.check_messages(body["messages"])
        )
        if errors:
            return _invalid(errors)
        return self._with_retry_key(
            headers,
            lambda: self._deliver(body["to"], body["messages"], "multicast") and [],
            self._cost(body["to"], body["messages"]),
        )

    def _cost(self, user_ids: list[str], messages: list) -> int:
        """Messages counted against the monthly quota: one per message per friend."""
        friends = sum(1 for u in user_ids if (user := self.users.get(u)) and user.friend)
        return friends * len(messages)

    def _profile(self, path, headers, body) -> Reply:
        user = self.users.get(path.rsplit("/", 1)[-1])
        if user is None or not user.friend:
            return Reply(404, {"message": "Not found"})
        profile = {
            "userId": user.user_id,
            "displayName": user.display_name,
            "language": user.language,
        }
        if user.picture_url:
            profile["pictureUrl"] = user.picture_url
        if user.status_message:
            profile["statusMessage"] = user.status_message
        return Reply(200, profile)

    def _bot_info(self, path, headers, body) -> Reply:
        """GET /v2/bot/info: the account's ids (BotInfoResponse)."""
        info = {
            "userId": BOT_USER_ID,
            "basicId": self.basic_id,
            "displayName": "Samachik Simulator",
            "chatMode": "bot",
            "markAsReadMode": "auto",
        }
        return Reply(200, info)

    def _message_content(self, path, headers, body) -> Reply:
        """GET /v2/bot/message/<id>/content (api-data host): what a user sent, for a while."""
        item = self.content(path.rstrip("/").split("/")[-2])
        if item is None:
            return Reply(404, {"message": "Not found"})
        return Reply(200, {}, {"Content-Type": item["content_type"]}, item["data"])

    def _quota(self, path, headers, body) -> Reply:
        return Reply(200, {"type": "limited", "value": self.quota_limit})

    def _quota_consumption(self, path, headers, body) -> Reply:
        return Reply(200, {"totalUsage": self.usage})

    # -- delivery ------------------------------------------------------------

    def _with_retry_key(self, headers, deliver, cost: int = 0) -> Reply:
        key = _header(headers, "x-line-retry-key")
        if key is not None and not _is_uuid(key):
            return Reply(400, {"message": "The value of the X-Line-Retry-Key header is invalid"})
        with self._lock:
            seen = self.retry_keys.get(key) if key else None
            if seen and self.clock() - seen["at"] < RETRY_KEY_TTL:
                conflict = {"message": "The retry key is already accepted"}
                if seen["sent"]:  # push echoes them; multicast has none (spec: minItems 1)
                    conflict["sentMessages"] = seen["sent"]
                return Reply(409, conflict, {"x-line-accepted-request-id": seen["request_id"]})
            if self.usage + cost > self.quota_limit:
                return Reply(429, {"message": MONTHLY_LIMIT})
            sent = deliver()
            request_id = str(uuid.uuid4())
            if key:
                self.retry_keys[key] = {"at": self.clock(), "request_id": request_id, "sent": sent}
        body = {"sentMessages": sent} if sent else {}
        return Reply(200, body, {"x-line-request-id": request_id})

    def _deliver(self, user_ids: list[str], messages: list[dict], via: str) -> list[dict]:
        """Record messages in each friend's inbox; LINE silently skips non-friends."""
        now = self.clock()
        sent = [{"id": message_id(), "quoteToken": new_token()} for _ in messages]
        for user_id in user_ids:
            if via == "reply" and is_chat_id(user_id):
                self.chats[user_id] += [{"via": via, "message": m, "at": now} for m in messages]
                continue
            user = self.users.get(user_id)
            if via != "reply" and (user is None or not user.friend):
                continue
            if user is None:
                user = self.add_user(user_id, user_id[:8])
            self.usage += 0 if via == "reply" else len(messages)
            for message in messages:
                user.inbox.append(
                    {"via": via, "message": message, "at": now, "seq": next(self._seq)}
                )
        return sent


def _sdk_errors(model, body: dict) -> list[str]:
    """The SDK's own models must accept the request too (discriminators, types)."""
    try:
        model.from_dict(body)
    except (ValidationError, ValueError, TypeError, KeyError) as exc:
        return [f"rejected by the SDK model {model.__name__}: {str(exc).splitlines()[0]}"]
    return []


def _invalid(errors: list[str]) -> Reply:
    details = []
    for error in errors[:20]:
        prop, _, message = error.partition(": ")
        details.append({"message": message or error, "property": prop if message else ""})
    return Reply(
        400, {"message": f"The request body has {len(errors)} error(s)", "details": details}
    )


def _fault_reply(fault: Fault) -> Reply:
    messages = {429: "Too Many Requests", 500: "Internal Server Error", 503: "Service Unavailable"}
    return Reply(fault.status, {"message": messages.get(fault.status, "Injected fault")})


def _header(headers: dict, name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return None


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
        return True
    except ValueError:
        return False


def _json_or_none(raw: bytes):
    try:
        return json.loads(raw) if raw else None
    except (ValueError, UnicodeDecodeError):
        return None
