"""Sending a run's batches to LINE, exactly once per member, as fast as LINE allows.

A reader thread fetches batches ahead, the calling thread prepares each batch's
messages (and issues personalised coupons), a pool of threads makes the LINE
calls within the rate limit, and a writer thread closes each batch once LINE has
answered: one small write per batch, whose outcome stands for its members' rows.
So calls overlap up to the rate limit and no database round trip holds them up. Each call
carries a retry key derived from the run and batch (multicast) or the delivery
(push), so a run resumed after a crash repeats exactly the calls it may have
made and LINE answers 409 for those it had accepted.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from linebot.v3.messaging import Message

from bot.config import Config
from bot.line_api import LineApi, LineApiError, as_messages, retry_key_for
from bot.loyalty import rewards
from bot.marketing import campaign_message
from bot.marketing.campaigns import personalised
from bot.store import Store
from bot.store.campaigns import ERASED

log = logging.getLogger(__name__)

SEND_THREADS = 32  # LINE calls in flight; at 50 ms each that is 640 pushes/s
DEFAULT_RATES = {"push": 2000, "multicast": 200}  # requests/s (configurable per merchant)
CALLS_AHEAD_PER_THREAD = 2  # calls queued ahead of the pool: keeps it busy, bounds memory
READ_AHEAD = 32  # batches fetched ahead: rides out a slow read; ~1 MB
BATCH_ATTEMPTS = 5  # a batch LINE keeps refusing with 429/5xx fails after this many runs


class QuotaExhaustedError(Exception):
    """LINE refused a send because the month's quota is used up: the run stopped there."""


@dataclass
class Sender:
    store: Store
    line: LineApi
    config: Config
    threads: int = SEND_THREADS


class RateLimiter:
    """At most `per_second` acquisitions per second, shared by threads."""

    def __init__(self, per_second: float):
        self.interval = 1.0 / per_second if per_second > 0 else 0.0
        self._next = 0.0
        self._lock = threading.Lock()

    def acquire(self) -> None:
        with self._lock:
            now = time.monotonic()
            wait = self._next - now
            self._next = max(now, self._next) + self.interval
        if wait > 0:
            time.sleep(wait)


def limiter_for(store: Store, endpoint: str) -> RateLimiter:
    rates = store.get_setting("line_rate_per_second", {})
    return RateLimiter(float(rates.get(endpoint, DEFAULT_RATES[endpoint])))


def send_run(sender: Sender, campaign: dict, run_id: str, should_stop=lambda: False) -> int:
    """Send every pending batch of a run; returns how many it closed. Safe to repeat."""
    store = sender.store
    personal = personalised(campaign)
    limiter = limiter_for(store, "push" if personal else "multicast")
    campaign = {**campaign, "run_id": run_id}
    if personal:  # each member's body made from the message prepared once per language
        prepare = functools.partial(
            _prepare_pushes, bodies=campaign_message.PushBodies(sender.config, campaign)
        )
    else:  # one message for the whole run, rendered and checked once
        message = as_messages([campaign_message.render(sender.config, campaign, None, None)])[0]
        prepare = functools.partial(_prepare_multicast, message=message)
    in_flight: deque = deque()
    recorded = []
    quota = threading.Event()  # set by a call LINE refused for the month's quota
    # A reader thread fetches batches ahead and a writer thread closes them, so this
    # thread only prepares and hands out calls; each batch is written by one thread.
    with (
        ThreadPoolExecutor(1) as reader,
        ThreadPoolExecutor(1) as writer,
        ThreadPoolExecutor(sender.threads) as pool,
    ):
        numbers, ahead = deque(store.pending_batches(run_id)), deque()
        while numbers or ahead:
            while numbers and len(ahead) < READ_AHEAD:
                ahead.append(reader.submit(store.batch_to_send, run_id, numbers.popleft()))
            if should_stop() or quota.is_set():
                break
            batch = ahead.popleft().result()
            if batch is None:
                continue
            calls = prepare(sender, campaign, batch)
            for call in calls:
                call.future = pool.submit(_call, sender.line, limiter, quota, *call.request)
            in_flight.append((batch, calls))
            calls_ahead = sender.threads * CALLS_AHEAD_PER_THREAD
            while in_flight and (
                _answered(in_flight[0])
                or (len(in_flight) > 1 and sum(len(c) for _b, c in in_flight) > calls_ahead)
            ):
                _wait(in_flight[0])
                recorded.append(writer.submit(_record, sender, *in_flight.popleft()))
        while in_flight:
            recorded.append(writer.submit(_record, sender, *in_flight.popleft()))
    closed = sum(done.result() for done in recorded)
    if quota.is_set():
        raise QuotaExhaustedError(run_id)
    return closed


def _prepare_multicast(sender: Sender, campaign: dict, batch: dict, message: Message) -> list:
    """One call for the batch: the same message to all its members."""
    key = retry_key_for(batch["run_id"], batch["number"])
    to = [(m, line_id) for m, line_id in zip(batch["members"], batch["line_ids"], strict=True)]
    to = [(m, line_id) for m, line_id in to if line_id != ERASED and m not in batch["erased"]]
    if not to:
        return []
    members, line_ids = (list(column) for column in zip(*to, strict=True))
    return [_Call(members, ("multicast", line_ids, [message], key))]


def _prepare_pushes(
    sender: Sender, campaign: dict, batch: dict, bodies: campaign_message.PushBodies
) -> list:
    """One call per member: their own message (and coupon, issued once per delivery)."""
    calls = []
    for member_id, line_id, values in zip(
        batch["members"], batch["line_ids"], batch["values"], strict=True
    ):
        if line_id == ERASED or member_id in batch["erased"]:
            continue
        delivery_id = f"{batch['run_id']}:{member_id}"
        member = {
            "_id": member_id,
            "locale": values.get("locale"),
            "points": values.get("points", 0),
            "tier": values.get("tier"),
            "profile": {"first_name": values.get("first_name", "")},
        }
        coupon = _campaign_coupon(sender.store, campaign, member_id, delivery_id)
        body = bodies.body(line_id, member, delivery_id, coupon, values)
        request = ("push", line_id, body, retry_key_for(delivery_id))
        calls.append(_Call([member_id], request, line_id))
    return calls


def _campaign_coupon(store: Store, campaign: dict, member_id: str, delivery_id: str):
    """The delivery's coupon, issued once however often the batch is tried."""
    spec = campaign.get("coupon")
    if not spec:
        return None
    coupon, _new = rewards.issue_coupon(
        store,
        member_id,
        spec["kind"],
        spec["value"],
        spec["item"],
        0,
        spec["days"],
        source={"type": "campaign", "campaign_id": campaign["_id"], "run_id": campaign["run_id"]},
        key=f"campaign:{delivery_id}",
    )
    return coupon


def _call(line: LineApi, limiter: RateLimiter, quota, endpoint: str, to, messages, key):
    """Runs on a pool thread: one LINE call, its failure returned rather than raised."""
    if quota.is_set():  # the month's quota ran out meanwhile: do not even ask
        return LineApiError("monthly quota used up", status=429, quota=True)
    limiter.acquire()
    try:
        if endpoint == "multicast":
            result = line.multicast(to, messages, retry_key=key)
            error = result.failed[0][1] if result.failed else None
        else:
            line.push_body(messages, retry_key=key)  # a body made by PushBodies
            error = None
    except LineApiError as refused:
        error = refused
    except Exception as error:  # a message LINE could never take: fail it, not the run
        log.exception("campaign call failed before reaching LINE")
        return LineApiError(type(error).__name__, permanent=True)
    if error is not None and error.quota:
        quota.set()
    return error


@dataclass
class _Call:
    """One LINE call of a batch and the members it is for."""

    member_ids: list[str]
    request: tuple  # (endpoint, to, messages (push: the JSON body), retry key)
    push_to: str | None = None
    future: Future | None = None


def _answered(entry) -> bool:
    _batch, calls = entry
    return all(call.future.done() for call in calls)


def _wait(entry) -> None:
    """Hold back until a batch's calls are answered: bounds what waits in memory."""
    _batch, calls = entry
    for call in calls:
        call.future.exception()


def _record(sender: Sender, batch: dict, calls: list[_Call]) -> bool:
    """On the writer thread: close a batch once its calls are answered (one write)."""
    store, run_id = sender.store, batch["run_id"]
    lines = zip(batch["members"], batch["line_ids"], strict=True)
    exceptions = {m: "erased" for m, line_id in lines if line_id == ERASED or m in batch["erased"]}
    waiting = []
    for call in calls:
        error = call.future.result()
        if error is None:
            continue
        if error.quota:  # not sent, and the run stops (jobs/campaign_jobs.py)
            exceptions.update(dict.fromkeys(call.member_ids, "quota"))
            continue
        if not error.permanent:
            waiting += call.member_ids
            continue
        exceptions.update(dict.fromkeys(call.member_ids, "failed"))
        if call.push_to and error.status in (400, 403):
            # A push LINE refuses for good: the user is gone (blocked or deleted).
            store.record_unfollow(call.push_to)
    if waiting and store.retry_batch_later(run_id, batch["number"]) < BATCH_ATTEMPTS:
        # LINE is struggling (429/5xx after backoff): the whole batch goes again on
        # the next run; retry keys make LINE answer 409 for what it already took.
        return False
    exceptions.update(dict.fromkeys(waiting, "failed"))
    store.finish_batch(batch, exceptions)
    return True
