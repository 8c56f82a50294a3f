"""Sending a run's batches to LINE, exactly once per member, as fast as LINE allows.

One thread does all the database work (reading a batch, issuing coupons,
recording outcomes) while a pool of threads makes the LINE calls, so calls
overlap up to the rate limit and the bookkeeping of one batch overlaps the
sending of the next; FerretDB never sees two of our writes at once. Each call
carries a retry key derived from the run and batch (multicast) or the delivery
(push), so a run resumed after a crash repeats exactly the calls it may have
made and LINE answers 409 for those it had accepted.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from bot import campaign_message, rewards
from bot.audience import delivery_row
from bot.campaigns import personalised
from bot.config import Config
from bot.line_api import LineApi, LineApiError, retry_key_for
from bot.store import Store, utcnow

SEND_THREADS = 32  # LINE calls in flight; at 50 ms each that is 640 pushes/s
DEFAULT_RATES = {"push": 2000, "multicast": 200}  # requests/s (configurable per merchant)
IN_FLIGHT_BATCHES = 4  # batches read ahead of their outcomes: bounds memory, keeps calls busy
BATCH_ATTEMPTS = 5  # a batch LINE keeps refusing with 429/5xx fails after this many runs


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


def send_run(sender: Sender, campaign: dict, run_id: str, should_stop=lambda: False) -> dict:
    """Send every pending batch of a run; safe to call again after a crash."""
    store = sender.store
    personal = personalised(campaign)
    limiter = limiter_for(store, "push" if personal else "multicast")
    campaign = {**campaign, "run_id": run_id}
    prepare = _prepare_pushes if personal else _prepare_multicast
    in_flight: deque = deque()
    with ThreadPoolExecutor(sender.threads) as pool:
        for number in store.pending_batches(run_id):
            if should_stop():
                break
            batch = store.pending_batch(run_id, number)
            if batch is None:
                continue
            calls = prepare(sender, campaign, batch)
            for call in calls:
                call.future = pool.submit(_call, sender.line, limiter, *call.request)
            in_flight.append((batch, calls))
            while len(in_flight) > IN_FLIGHT_BATCHES or (in_flight and _answered(in_flight[0])):
                _record(sender, campaign, *in_flight.popleft())
        while in_flight:
            _record(sender, campaign, *in_flight.popleft())
    return store.run_counts(run_id)


def _prepare_multicast(sender: Sender, campaign: dict, batch: dict) -> list:
    """One call for the batch: the same message to all its members."""
    message = campaign_message.render(sender.config, campaign, None, None)
    key = retry_key_for(batch["run_id"], batch["number"])
    return [_Call(batch["members"], ("multicast", batch["line_ids"], [message], key))]


def _prepare_pushes(sender: Sender, campaign: dict, batch: dict) -> list:
    """One call per member: their own message (and coupon, issued once per delivery)."""
    calls = []
    for member_id, line_id, values in zip(
        batch["members"], batch["line_ids"], batch["values"], strict=True
    ):
        delivery_id = f"{batch['run_id']}:{member_id}"
        member = {
            "_id": member_id,
            "locale": values.get("locale"),
            "points": values.get("points", 0),
            "tier": values.get("tier"),
            "profile": {"first_name": values.get("first_name", "")},
        }
        coupon = _campaign_coupon(sender.store, campaign, member_id, delivery_id)
        message = campaign_message.render(
            sender.config, campaign, member, delivery_id, coupon, values
        )
        request = ("push", line_id, [message], retry_key_for(delivery_id))
        calls.append(_Call([member_id], request, coupon["_id"] if coupon else None, line_id))
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


def _call(line: LineApi, limiter: RateLimiter, endpoint: str, to, messages, key):
    """Runs on a pool thread: one LINE call, its failure returned rather than raised."""
    limiter.acquire()
    try:
        if endpoint == "multicast":
            result = line.multicast(to, messages, retry_key=key)
            return result.failed[0][1] if result.failed else None
        line.push(to, messages, retry_key=key)
        return None
    except LineApiError as error:
        return error


@dataclass
class _Call:
    """One LINE call of a batch and the members it is for."""

    member_ids: list[str]
    request: tuple  # (endpoint, to, messages, retry key)
    coupon: str | None = None
    push_to: str | None = None
    future: Future | None = None


def _answered(entry) -> bool:
    _batch, calls = entry
    return all(call.future.done() for call in calls)


def _record(sender: Sender, campaign: dict, batch: dict, calls: list[_Call]) -> None:
    """Write a batch's outcome rows once its calls are answered (this thread only)."""
    store, run_id, campaign_id = sender.store, batch["run_id"], campaign["_id"]
    now, rows, waiting = utcnow(), [], []
    for call in calls:
        error = call.future.result()
        extra = {"coupon": call.coupon} if call.coupon else {}
        for member_id in call.member_ids:
            if error is None:
                rows.append(
                    delivery_row(campaign_id, run_id, member_id, "sent", sent_at=now, **extra)
                )
            elif not error.permanent:
                waiting.append(member_id)
            else:
                rows.append(
                    delivery_row(
                        campaign_id, run_id, member_id, "failed", error=error.status, **extra
                    )
                )
                if call.push_to and error.status in (400, 403):
                    # A push LINE refuses for good: the user is gone (blocked or deleted).
                    store.record_unfollow(call.push_to)
    if waiting and store.retry_batch_later(run_id, batch["number"]) < BATCH_ATTEMPTS:
        # LINE is struggling (429/5xx after backoff): record what went out and try
        # the batch again on the next run; retry keys make the repeats harmless.
        store.add_deliveries(rows)
        return
    rows += [delivery_row(campaign_id, run_id, m, "failed", error="retries") for m in waiting]
    store.finish_batch(run_id, batch["number"], rows)
