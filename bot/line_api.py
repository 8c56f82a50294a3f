"""The one module that calls the LINE Messaging API (through line-bot-sdk v3).

Retries follow LINE's rules: push and multicast carry an `X-Line-Retry-Key`
that is reused on every retry of the same call, so a retry after a lost
response is answered 409 ("already accepted") and counted as delivered. 429
and 5xx are retried with exponential backoff a bounded number of times; any
other 4xx is permanent and reported to the caller.
"""

from __future__ import annotations

import logging
import random
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from linebot.v3.messaging import (
    ApiClient,
    Configuration,
    Message,
    MessagingApi,
    MulticastRequest,
    PushMessageRequest,
    ReplyMessageRequest,
)
from linebot.v3.messaging.exceptions import ApiException
from linebot.v3.messaging.rest import RESTResponse
from urllib3 import Timeout
from urllib3.exceptions import HTTPError as Urllib3Error

log = logging.getLogger(__name__)

MAX_MESSAGES_PER_CALL = 5
MAX_MULTICAST_RECIPIENTS = 500
MAX_BACKOFF_SECONDS = 30.0
REQUEST_TIMEOUT = (5, 15)  # connect, read (seconds)
_URLLIB3_TIMEOUT = Timeout(connect=REQUEST_TIMEOUT[0], read=REQUEST_TIMEOUT[1])
BOT_INFO_RETRY_SECONDS = 600.0
# Namespace for retry keys derived from our own ids (webhook event, campaign run).
RETRY_KEY_NAMESPACE = uuid.UUID("7f1c2a4e-5b8d-4c61-9a0e-3d2f6b1e8c47")


CONNECTIONS = 64


class LineApiError(Exception):
    """A call LINE refused; `permanent` means retrying the same call cannot help."""

    def __init__(self, message: str, status: int | None = None, permanent: bool = True):
        super().__init__(message)
        self.status = status
        self.permanent = permanent


@dataclass
class Delivery:
    """Outcome of one push: `duplicate` is LINE's 409 for a retry key it already accepted."""

    request_id: str | None = None
    duplicate: bool = False


@dataclass
class MulticastResult:
    sent: list[str] = field(default_factory=list)
    failed: list[tuple[str, LineApiError]] = field(default_factory=list)


def retry_key_for(*parts: object) -> str:
    """A stable UUID retry key for a logical send (same parts, same key)."""
    return str(uuid.uuid5(RETRY_KEY_NAMESPACE, ":".join(str(p) for p in parts)))


def as_messages(messages: Iterable[Message | dict]) -> list[Message]:
    """Accept SDK models or plain dicts (from Flex templates) alike."""
    return [m if isinstance(m, Message) else Message.from_dict(m) for m in messages]


class LineApi:
    """Reply, push, multicast, profile and quota with LINE's retry semantics."""

    def __init__(
        self,
        access_token: str,
        base_url: str = "https://api.line.me",
        max_attempts: int = 5,
        backoff_seconds: float = 0.5,
        sleep: Callable[[float], None] = time.sleep,
    ):
        configuration = Configuration(host=base_url, access_token=access_token)
        # Campaign sends overlap many calls; keep a connection for each sending thread.
        configuration.connection_pool_maxsize = CONNECTIONS
        self._client = ApiClient(configuration)
        self._api = MessagingApi(self._client)
        # Bodies made by the caller go through the SDK's own connection pool.
        self._pool = self._client.rest_client.pool_manager
        self._push_url = f"{base_url.rstrip('/')}/v2/bot/message/push"
        self._headers = {
            "Authorization": f"Bearer {access_token}",
            "Content-Type": "application/json",
            "User-Agent": self._client.user_agent,
        }
        self.max_attempts = max_attempts
        self.backoff_seconds = backoff_seconds
        self._sleep = sleep
        self._basic_id: str | None = None
        self._basic_id_asked_at: float | None = None

    def close(self) -> None:
        self._client.close()

    # -- sending -------------------------------------------------------------

    def reply(self, reply_token: str, messages: Sequence[Message | dict]) -> None:
        """Answer a webhook event; the token is single-use and short-lived."""
        request = ReplyMessageRequest(reply_token=reply_token, messages=_checked(messages))
        self._call("reply", lambda: self._api.reply_message_with_http_info(request, **_timeout()))

    def push(
        self, user_id: str, messages: Sequence[Message | dict], retry_key: str | None = None
    ) -> Delivery:
        """Push to one user; pass the same `retry_key` when repeating a send."""
        request = PushMessageRequest(to=user_id, messages=_checked(messages))
        key = retry_key or str(uuid.uuid4())
        return self._send_with_key(
            "push",
            key,
            lambda: self._api.push_message_with_http_info(
                request, x_line_retry_key=key, **_timeout()
            ),
        )

    def push_body(self, body: bytes, retry_key: str) -> Delivery:
        """Push a JSON body the caller made and checked (`{"to": …, "messages": […]}`,
        e.g. campaign_message.PushBodies): `push` without building SDK models."""
        headers = {**self._headers, "X-Line-Retry-Key": retry_key}

        def call():
            response = self._pool.request(
                "POST", self._push_url, body=body, headers=headers, timeout=_URLLIB3_TIMEOUT
            )
            if not 200 <= response.status <= 299:
                raise ApiException(http_resp=RESTResponse(response))
            return response

        return self._send_with_key("push", retry_key, call)

    def multicast(
        self, user_ids: Sequence[str], messages: Sequence[Message | dict], retry_key: str
    ) -> MulticastResult:
        """Send to many users in chunks of 500, one derived retry key per chunk."""
        checked = _checked(messages)
        result = MulticastResult()
        for index in range(0, len(user_ids), MAX_MULTICAST_RECIPIENTS):
            chunk = list(user_ids[index : index + MAX_MULTICAST_RECIPIENTS])
            key = retry_key_for(retry_key, index // MAX_MULTICAST_RECIPIENTS)
            # Built without re-validating: the messages are checked models already and
            # the ids a list of ≤500 strings; validating 500 ids per call costs ~1.5 ms.
            request = MulticastRequest.construct(to=chunk, messages=checked)
            try:
                self._send_with_key(
                    "multicast",
                    key,
                    lambda request=request, key=key: self._api.multicast_with_http_info(
                        request, x_line_retry_key=key, **_timeout()
                    ),
                )
                result.sent += chunk
            except LineApiError as error:
                result.failed += [(user_id, error) for user_id in chunk]
        return result

    # -- reading -------------------------------------------------------------

    def profile(self, user_id: str) -> dict | None:
        """The user's LINE profile, or None when LINE does not know them (404)."""
        try:
            response = self._call(
                "profile", lambda: self._api.get_profile_with_http_info(user_id, **_timeout())
            )
        except LineApiError as error:
            if error.status == 404:
                return None
            raise
        data = response.data
        return {
            "user_id": data.user_id,
            "display_name": data.display_name,
            "language": data.language,
            "picture_url": data.picture_url,
        }

    def basic_id(self) -> str | None:
        """The account's basic ID (`@…`, for links that open its chat); None if LINE won't say.

        Asked once per process (it only changes if the account is re-created); after a
        failure, not again for BOT_INFO_RETRY_SECONDS, so an outage does not slow replies.
        """
        if self._basic_id is not None:
            return self._basic_id
        asked = self._basic_id_asked_at
        if asked is not None and time.monotonic() - asked < BOT_INFO_RETRY_SECONDS:
            return None
        self._basic_id_asked_at = time.monotonic()
        try:
            info = self._call(
                "bot_info", lambda: self._api.get_bot_info_with_http_info(**_timeout())
            ).data
        except LineApiError as error:
            log.info("bot info lookup failed: %s", error.status)
            return None
        self._basic_id = info.basic_id
        return self._basic_id

    def quota(self) -> dict:
        """Monthly message quota and how much of it is used."""
        limit = self._call(
            "quota", lambda: self._api.get_message_quota_with_http_info(**_timeout())
        ).data
        used = self._call(
            "quota", lambda: self._api.get_message_quota_consumption_with_http_info(**_timeout())
        ).data
        return {"type": limit.type, "limit": limit.value, "used": used.total_usage}

    # -- retry machinery -----------------------------------------------------

    def _send_with_key(self, name: str, key: str, call: Callable) -> Delivery:
        try:
            response = self._call(name, call)
        except _AlreadyAcceptedError as accepted:
            return Delivery(request_id=accepted.request_id, duplicate=True)
        return Delivery(request_id=_request_id(response.headers))

    def _call(self, name: str, call: Callable):
        attempt = 0
        while True:
            attempt += 1
            try:
                return call()
            except ApiException as exc:
                status = exc.status or 0
                if status == 409 and name in ("push", "multicast"):
                    raise _AlreadyAcceptedError(_request_id(exc.headers)) from None
                retryable = status == 429 or status >= 500
                error = LineApiError(_describe(name, exc), status=status, permanent=not retryable)
                retry_after = _retry_after(exc.headers)
            except Urllib3Error as exc:
                error = LineApiError(f"{name}: network error {type(exc).__name__}", permanent=False)
                retry_after = None
            if error.permanent or attempt >= self.max_attempts:
                raise error
            delay = retry_after if retry_after is not None else self._backoff(attempt)
            log.info("LINE %s failed (%s); retry %d in %.2fs", name, error, attempt, delay)
            self._sleep(delay)

    def _backoff(self, attempt: int) -> float:
        # Full jitter keeps many workers from retrying in lockstep after a 429.
        ceiling = min(MAX_BACKOFF_SECONDS, self.backoff_seconds * 2 ** (attempt - 1))
        return random.uniform(ceiling / 2, ceiling)


class _AlreadyAcceptedError(Exception):
    def __init__(self, request_id: str | None):
        self.request_id = request_id


def _checked(messages: Sequence[Message | dict]) -> list[Message]:
    if not 1 <= len(messages) <= MAX_MESSAGES_PER_CALL:
        raise ValueError(f"LINE takes 1 to {MAX_MESSAGES_PER_CALL} messages per call")
    return as_messages(messages)


def _timeout() -> dict:
    return {"_request_timeout": REQUEST_TIMEOUT}


def _request_id(headers) -> str | None:
    return headers.get("x-line-request-id") if headers else None


def _retry_after(headers) -> float | None:
    value = headers.get("retry-after") if headers else None
    try:
        return min(float(value), MAX_BACKOFF_SECONDS) if value is not None else None
    except ValueError:
        return None


def _describe(name: str, exc: ApiException) -> str:
    # LINE's error bodies name the problem ("Invalid reply token"), never the
    # access token or message content, so they are safe to log.
    detail = ""
    if exc.body:
        detail = exc.body.decode() if isinstance(exc.body, bytes) else str(exc.body)
    return f"{name}: HTTP {exc.status} {detail[:300]}".strip()
