"""The one module that calls the LINE Messaging API (through line-bot-sdk v3).

Messages, profiles, the bot's own info, and rich menus (menus, their images on
the api-data host, aliases, the default menu, per-user and bulk links).

Retries follow LINE's rules: push and multicast carry an `X-Line-Retry-Key`
that is reused on every retry of the same call, so a retry after a lost
response is answered 409 ("already accepted") and counted as delivered. 429
and 5xx are retried with exponential backoff a bounded number of times; any
other 4xx is permanent and reported to the caller.
"""

from __future__ import annotations

import json
import logging
import random
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from urllib.parse import quote

import requests
from linebot.v3.messaging import (
    ApiClient,
    Configuration,
    CreateRichMenuAliasRequest,
    Message,
    MessagingApi,
    MessagingApiBlob,
    MulticastRequest,
    PushMessageRequest,
    ReplyMessageRequest,
    RichMenuBulkLinkRequest,
    RichMenuRequest,
    UpdateRichMenuAliasRequest,
)
from linebot.v3.messaging.exceptions import ApiException
from linebot.v3.messaging.rest import RESTResponse
from urllib3 import Timeout
from urllib3.exceptions import HTTPError as Urllib3Error

log = logging.getLogger(__name__)

MAX_MESSAGES_PER_CALL = 5
MAX_MULTICAST_RECIPIENTS = 500
MAX_BULK_LINK_USERS = 500
MAX_BACKOFF_SECONDS = 30.0
REQUEST_TIMEOUT = (5, 15)  # connect, read (seconds)
# Content users send is served by LINE's api-data host; a simulator serves both hosts.
LINE_API_HOST = "https://api.line.me"
LINE_DATA_HOST = "https://api-data.line.me"
BOT_INFO_RETRY_SECONDS = 600.0
MONTHLY_LIMIT = "monthly limit"  # in LINE's 429 body when the month's quota is used up
# Namespace for retry keys derived from our own ids (webhook event, campaign run).
RETRY_KEY_NAMESPACE = uuid.UUID("7f1c2a4e-5b8d-4c61-9a0e-3d2f6b1e8c47")


CONNECTIONS = 64


class LineApiError(Exception):
    """A call LINE refused; `permanent` means retrying the same call cannot help.

    `quota`: LINE's 429 for a month's message quota used up — permanent until the
    quota grows, so it is not retried and a campaign run stops on it. `body`: LINE's
    error JSON, {"message": …, "details": [{"property": …, "message": …}]}.
    """

    def __init__(
        self,
        message: str,
        status: int | None = None,
        permanent: bool = True,
        quota: bool = False,
        body: dict | None = None,
    ):
        super().__init__(message)
        self.status = status
        self.permanent = permanent
        self.quota = quota
        self.body = body or {}

    def said(self) -> str:
        """What LINE answered, readably: status, message and each detail."""
        message = self.body.get("message") or str(self)
        details = [
            f"{d.get('property')}: {d.get('message')}"
            if d.get("property")
            else str(d.get("message"))
            for d in self.body.get("details") or []
        ]
        status = f"HTTP {self.status}: " if self.status else ""
        return status + message + (" (" + "; ".join(details) + ")" if details else "")


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
        timeout: tuple[float, float] = REQUEST_TIMEOUT,
    ):
        configuration = Configuration(host=base_url, access_token=access_token)
        # The SDK sends every call to `host` once it is set, api-data ones too: LINE's
        # own host needs its data twin for content, a simulator serves both.
        base = base_url.rstrip("/")
        self._data_url = LINE_DATA_HOST if base == LINE_API_HOST else base
        self._token = access_token
        self._session = requests.Session()
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
        # Rich menu images go to the api-data host too (a simulator serves both).
        data_configuration = Configuration(host=self._data_url, access_token=access_token)
        self._data_client = ApiClient(data_configuration)
        self._blob = MessagingApiBlob(self._data_client)
        self.max_attempts = max_attempts
        self.backoff_seconds = backoff_seconds
        self._sleep = sleep
        self._timeout = {"_request_timeout": timeout}
        self._body_timeout = Timeout(connect=timeout[0], read=timeout[1])  # for push_body
        self._basic_id: str | None = None
        self._basic_id_asked_at: float | None = None

    def close(self) -> None:
        self._client.close()
        self._data_client.close()
        self._session.close()

    # -- sending -------------------------------------------------------------

    def reply(self, reply_token: str, messages: Sequence[Message | dict]) -> None:
        """Answer a webhook event; the token is single-use and short-lived."""
        request = ReplyMessageRequest(reply_token=reply_token, messages=_checked(messages))
        lost: list[LineApiError] = []
        try:
            self._call(
                "reply",
                lambda: self._api.reply_message_with_http_info(request, **self._timeout),
                lost,
            )
        except LineApiError as error:
            if lost and error.status == 400 and "reply token" in str(error).lower():
                # An attempt whose answer we never got used the token: LINE delivered it.
                log.info("reply token used by an attempt that timed out: taken as delivered")
                return
            raise

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
                request, x_line_retry_key=key, **self._timeout
            ),
        )

    def push_body(self, body: bytes, retry_key: str) -> Delivery:
        """Push a JSON body the caller made and checked (`{"to": …, "messages": […]}`,
        e.g. campaign_message.PushBodies): `push` without building SDK models."""
        headers = {**self._headers, "X-Line-Retry-Key": retry_key}

        def call():
            response = self._pool.request(
                "POST", self._push_url, body=body, headers=headers, timeout=self._body_timeout
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
                        request, x_line_retry_key=key, **self._timeout
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
                "profile", lambda: self._api.get_profile_with_http_info(user_id, **self._timeout)
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
                "bot_info", lambda: self._api.get_bot_info_with_http_info(**self._timeout)
            ).data
        except LineApiError as error:
            log.info("bot info lookup failed: %s", error.status)
            return None
        self._basic_id = info.basic_id
        return self._basic_id

    def quota(self) -> dict:
        """Monthly message quota and how much of it is used."""
        limit = self._call(
            "quota", lambda: self._api.get_message_quota_with_http_info(**self._timeout)
        ).data
        used = self._call(
            "quota", lambda: self._api.get_message_quota_consumption_with_http_info(**self._timeout)
        ).data
        return {"type": limit.type, "limit": limit.value, "used": used.total_usage}

    def message_content(self, message_id: str, max_bytes: int) -> bytes:
        """The bytes of an image (or file) a user sent, read up to `max_bytes` + 1, so a
        caller can refuse an oversized one without us reading all of it. LINE keeps
        content for a limited time: after that it answers 404 (a permanent error)."""
        url = f"{self._data_url}/v2/bot/message/{quote(message_id, safe='')}/content"
        return self._call("content", lambda: self._download(url, max_bytes + 1))

    def _download(self, url: str, limit: int) -> bytes:
        headers = {"Authorization": f"Bearer {self._token}"}
        with self._session.get(url, headers=headers, stream=True, timeout=REQUEST_TIMEOUT) as got:
            if got.status_code >= 400:
                raise ApiException(status=got.status_code, reason=got.reason)
            body = bytearray()
            for chunk in got.iter_content(64 * 1024):
                body += chunk
                if len(body) >= limit:
                    break
            return bytes(body[:limit])

    # -- rich menus ------------------------------------------------------------

    def create_rich_menu(self, menu: dict) -> str:
        """Store a rich menu object; returns its id (it shows once it has an image)."""
        request = RichMenuRequest.from_dict(menu)
        response = self._call(
            "richmenu_create",
            lambda: self._api.create_rich_menu_with_http_info(request, **self._timeout),
        )
        return response.data.rich_menu_id

    def upload_rich_menu_image(self, menu_id: str, data: bytes, content_type: str) -> None:
        """The menu's picture, on the api-data host; LINE takes it once per menu."""
        self._call(
            "richmenu_image",
            lambda: self._blob.set_rich_menu_image_with_http_info(
                menu_id, bytearray(data), _headers={"Content-Type": content_type}, **self._timeout
            ),
        )

    def rich_menus(self) -> list[dict]:
        """Every rich menu of the channel: id, name, chat bar text, size and areas."""
        response = self._call(
            "richmenu_list", lambda: self._api.get_rich_menu_list_with_http_info(**self._timeout)
        )
        return [menu.to_dict() for menu in response.data.richmenus]

    def delete_rich_menu(self, menu_id: str) -> None:
        """Delete a menu; one that is already gone (404) counts as deleted."""
        try:
            self._call(
                "richmenu_delete",
                lambda: self._api.delete_rich_menu_with_http_info(menu_id, **self._timeout),
            )
        except LineApiError as error:
            if error.status != 404:
                raise

    def rich_menu_aliases(self) -> dict[str, str]:
        """Alias id -> rich menu id."""
        response = self._call(
            "richmenu_alias_list",
            lambda: self._api.get_rich_menu_alias_list_with_http_info(**self._timeout),
        )
        return {a.rich_menu_alias_id: a.rich_menu_id for a in response.data.aliases}

    def point_rich_menu_alias(self, alias_id: str, menu_id: str, exists: bool) -> None:
        """Create the alias, or move an existing one to another menu."""
        if exists:
            request = UpdateRichMenuAliasRequest(rich_menu_id=menu_id)
            call = lambda: self._api.update_rich_menu_alias_with_http_info(  # noqa: E731
                alias_id, request, **self._timeout
            )
        else:
            request = CreateRichMenuAliasRequest(rich_menu_alias_id=alias_id, rich_menu_id=menu_id)
            call = lambda: self._api.create_rich_menu_alias_with_http_info(  # noqa: E731
                request, **self._timeout
            )
        self._call("richmenu_alias", call)

    def default_rich_menu(self) -> str | None:
        """The menu everyone without a link of their own sees; None if there is none."""
        try:
            response = self._call(
                "richmenu_default",
                lambda: self._api.get_default_rich_menu_id_with_http_info(**self._timeout),
            )
        except LineApiError as error:
            if error.status == 404:
                return None
            raise
        return response.data.rich_menu_id

    def set_default_rich_menu(self, menu_id: str) -> None:
        self._call(
            "richmenu_default",
            lambda: self._api.set_default_rich_menu_with_http_info(menu_id, **self._timeout),
        )

    def link_rich_menu(self, user_id: str, menu_id: str) -> None:
        self._call(
            "richmenu_link",
            lambda: self._api.link_rich_menu_id_to_user_with_http_info(
                user_id, menu_id, **self._timeout
            ),
        )

    def unlink_rich_menu(self, user_id: str) -> None:
        """Back to the default menu."""
        self._call(
            "richmenu_unlink",
            lambda: self._api.unlink_rich_menu_id_from_user_with_http_info(
                user_id, **self._timeout
            ),
        )

    def bulk_link_rich_menu(self, menu_id: str, user_ids: Sequence[str]) -> None:
        """Link many users to one menu, 500 per call (LINE applies it asynchronously)."""
        for index in range(0, len(user_ids), MAX_BULK_LINK_USERS):
            request = RichMenuBulkLinkRequest(
                rich_menu_id=menu_id, user_ids=list(user_ids[index : index + MAX_BULK_LINK_USERS])
            )
            self._call(
                "richmenu_bulk_link",
                lambda request=request: self._api.link_rich_menu_id_to_users_with_http_info(
                    request, **self._timeout
                ),
            )

    # -- retry machinery -----------------------------------------------------

    def _send_with_key(self, name: str, key: str, call: Callable) -> Delivery:
        try:
            response = self._call(name, call)
        except _AlreadyAcceptedError as accepted:
            return Delivery(request_id=accepted.request_id, duplicate=True)
        return Delivery(request_id=_request_id(response.headers))

    def _call(self, name: str, call: Callable, lost: list | None = None):
        """`lost` collects network errors: attempts LINE may have carried out unanswered."""
        attempt = 0
        while True:
            attempt += 1
            try:
                return call()
            except ApiException as exc:
                status = exc.status or 0
                if status == 409 and name in ("push", "multicast"):
                    raise _AlreadyAcceptedError(_request_id(exc.headers)) from None
                quota = status == 429 and MONTHLY_LIMIT in _body(exc)
                retryable = (status == 429 and not quota) or status >= 500
                error = LineApiError(
                    _describe(name, exc),
                    status=status,
                    permanent=not retryable,
                    quota=quota,
                    body=_json_body(exc),
                )
                retry_after = _retry_after(exc.headers)
            except (Urllib3Error, requests.RequestException) as exc:
                error = LineApiError(f"{name}: network error {type(exc).__name__}", permanent=False)
                retry_after = None
                if lost is not None:
                    lost.append(error)
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


def _request_id(headers) -> str | None:
    return headers.get("x-line-request-id") if headers else None


def _retry_after(headers) -> float | None:
    value = headers.get("retry-after") if headers else None
    try:
        return min(float(value), MAX_BACKOFF_SECONDS) if value is not None else None
    except ValueError:
        return None


def _body(exc: ApiException) -> str:
    if not exc.body:
        return ""
    return exc.body.decode(errors="replace") if isinstance(exc.body, bytes) else str(exc.body)


def _json_body(exc: ApiException) -> dict | None:
    """LINE's error body as JSON, if it is an object."""
    try:
        body = json.loads(_body(exc) or "null")
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _describe(name: str, exc: ApiException) -> str:
    # LINE's error bodies name the problem ("Invalid reply token"), never the
    # access token or message content, so they are safe to log.
    return f"{name}: HTTP {exc.status} {_body(exc)[:300]}".strip()
