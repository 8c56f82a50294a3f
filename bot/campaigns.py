"""Campaigns: the one-line spec, schedules, holdout, personalisation and the send run.

A run snapshots its audience into `deliveries` (one row per member, unique per
campaign run): blocked, opted-out, holdout and capped members get a row with that
status and are never sent to; the rest are `pending`, numbered into batches of
500 in member order. Sending works through pending batches; each LINE call
carries a retry key derived from the run and the batch (multicast) or the
member (push), so a run resumed after a crash repeats exactly the calls it may
have made and LINE answers 409 for those it had accepted.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import flex_templates
from bot import qr, rewards
from bot.config import Config
from bot.line_api import LineApi, LineApiError, retry_key_for
from bot.member_codes import new_code
from bot.rules import parse_days
from bot.segments import Clock, compile_filters
from bot.store import Store, utcnow
from bot.translate import translator_for

log = logging.getLogger(__name__)

TEMPLATES = ("promotion", "coupon", "birthday", "winback", "news")
PLACEHOLDERS = ("first_name", "points", "tier", "coupon_code", "expires")
# Filled from a journey's own values for each member (points expiring, tier change).
JOURNEY_PLACEHOLDERS = ("expiring_points", "expiry_date", "tier_factor")
BATCH_SIZE = 500
DEFAULT_HOLDOUT = 0.10
DEFAULT_WINDOW_DAYS = 7
DEFAULT_CAP = (2, 7)  # messages per member per days
DEFAULT_QUIET = ("21:00", "09:00")
SEND_THREADS = 32  # LINE calls in flight; at 50 ms each that is 640 pushes/s


class SpecError(ValueError):
    """`part` names what could not be understood in a campaign spec."""

    def __init__(self, part: str):
        super().__init__(part)
        self.part = part


# -- the spec -------------------------------------------------------------------------


def parse_spec(text: str, store: Store, now: datetime, tz: ZoneInfo) -> dict:
    """`<name> | audience: … | template: … | title: … | text: … | at: now …` → a campaign."""
    parts = [p.strip() for p in text.split("|")]
    if not parts or not parts[0]:
        raise SpecError("name")
    fields = {}
    for part in parts[1:]:
        key, sep, value = part.partition(":")
        if not sep or not value.strip():
            raise SpecError(part)
        fields[key.strip().lower()] = value.strip()
    unknown = set(fields) - {
        "audience",
        "template",
        "title",
        "text",
        "image",
        "button",
        "link",
        "coupon",
        "holdout",
        "at",
        "weekly",
        "window",
    }
    if unknown:
        raise SpecError(sorted(unknown)[0])
    template = fields.get("template", "promotion").lower()
    if template not in TEMPLATES or "text" not in fields or "audience" not in fields:
        raise SpecError("template" if template not in TEMPLATES else "text/audience")
    audience = fields["audience"]
    saved = store.segment(audience.lower())
    filters = saved["filters"] if saved else audience
    if audience.lower() in ("all", "everyone"):
        filters = ""
    compile_filters(filters, Clock(now=now, today=now.astimezone(tz).date()))  # validates
    for key in ("image", "link"):
        if key in fields and not fields[key].startswith("https://"):
            raise SpecError(key)
    schedule = _schedule(fields, now, tz)
    return {
        "name": parts[0][:60],
        "audience": audience,
        "filters": filters,
        "template": template,
        "content": {
            "title": fields.get("title", parts[0])[:80],
            "text": fields["text"][:1000],
            "image": fields.get("image"),
            "button": fields.get("button", "")[:20] or None,
            "link": fields.get("link"),
        },
        "coupon": _coupon(fields.get("coupon")),
        "holdout": _holdout(fields.get("holdout")),
        "schedule": schedule,
        "window_days": int(fields.get("window", DEFAULT_WINDOW_DAYS)),
        "next_run_at": next_run(schedule, now, tz),
    }


def _holdout(value: str | None) -> float:
    if value is None:
        return DEFAULT_HOLDOUT
    share = float(value.rstrip("%")) / 100
    if not 0 <= share <= 0.5:
        raise SpecError("holdout")
    return share


def _coupon(value: str | None) -> dict | None:
    """`percent 20 14` (kind, value, valid days), `amount 50`, `free Thai tea`."""
    if value is None:
        return None
    words = value.split()
    kind = words[0].lower()
    if kind == "percent" and len(words) >= 2 and words[1].isdigit():
        coupon = {"kind": kind, "value": int(words[1]), "item": None, "days": words[2:3]}
    elif kind == "amount" and len(words) >= 2 and words[1].isdigit():
        coupon = {"kind": kind, "value": int(words[1]) * 100, "item": None, "days": words[2:3]}
    elif kind in ("free", "bogo") and len(words) >= 2:
        coupon = {"kind": kind, "value": 0, "item": " ".join(words[1:]), "days": []}
    else:
        raise SpecError("coupon")
    coupon["days"] = int(coupon["days"][0]) if coupon["days"] else 14
    return coupon


def _schedule(fields: dict, now: datetime, tz: ZoneInfo) -> dict:
    if "weekly" in fields:
        days, _, at = fields["weekly"].partition(" ")
        if not re.match(r"^\d{1,2}:\d{2}$", at.strip()):
            raise SpecError("weekly")
        return {"type": "weekly", "days": list(parse_days(days.lower())), "time": at.strip()}
    when = fields.get("at", "now")
    if when.lower() == "now":
        return {"type": "once", "at": now}
    try:
        local = datetime.fromisoformat(when.replace(" ", "T"))
    except ValueError:
        raise SpecError("at") from None
    return {"type": "once", "at": local.replace(tzinfo=tz).astimezone(UTC)}


def next_run(schedule: dict, after: datetime, tz: ZoneInfo) -> datetime | None:
    """When the schedule next fires, at or after `after` (weekly: strictly after)."""
    if schedule["type"] == "once":
        return schedule["at"]
    hour, minute = (int(x) for x in schedule["time"].split(":"))
    local = after.astimezone(tz)
    for offset in range(8):
        day = local.date() + timedelta(days=offset)
        moment = datetime(day.year, day.month, day.day, hour, minute, tzinfo=tz)
        if day.weekday() in schedule["days"] and moment > local:
            return moment.astimezone(UTC)
    return None


# -- who gets what ------------------------------------------------------------------------


def in_holdout(campaign_id: str, member_id: str, share: float) -> bool:
    """Deterministic: the same member is always in or out of the same campaign's holdout."""
    digest = hashlib.sha256(f"{campaign_id}:{member_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < share


def personalised(campaign: dict) -> bool:
    content = campaign["content"]
    text = " ".join(str(v) for v in content.values() if v)
    return bool(campaign.get("coupon") or content.get("link")) or any(
        "{" + p + "}" in text for p in PLACEHOLDERS + JOURNEY_PLACEHOLDERS
    )


def quiet_now(
    now: datetime, tz: ZoneInfo, quiet: tuple[str, str] = DEFAULT_QUIET
) -> datetime | None:
    """When sending may resume if `now` is in quiet hours, else None."""
    local = now.astimezone(tz)
    clock = local.strftime("%H:%M")
    start, end = quiet
    inside = clock >= start or clock < end if start > end else start <= clock < end
    if not inside:
        return None
    hour, minute = (int(x) for x in end.split(":"))
    resume = local.replace(hour=hour, minute=minute, second=0, microsecond=0)
    if resume <= local:
        resume += timedelta(days=1)
    return resume.astimezone(UTC)


def snapshot(
    store: Store,
    campaign: dict,
    run_id: str,
    now: datetime,
    tz: ZoneInfo,
    extra: dict | None = None,
    keep=lambda member: True,
) -> dict:
    """Write the run's audience as batches (and final rows); returns counts by status.

    Members are read in _id order and cut into batches of up to 500 members to
    send. Each batch document is written whole before its final rows (holdout,
    skipped, capped) and names the last member it covers, so a snapshot
    interrupted anywhere carries on after its last batch: no member is left out
    or taken twice.
    """
    query = compile_filters(
        campaign["filters"],
        Clock(now=now, today=now.astimezone(tz).date()),
        base={"status": "member"},
    )
    if extra:
        query["$and"].append(extra)
    cap, cap_days = store.get_setting("campaign_cap", list(DEFAULT_CAP))
    sent_lately = store.recent_send_counts(now - timedelta(days=cap_days))
    batch_size = int(store.get_setting("campaign_batch_size", BATCH_SIZE))
    fields = {"reachable": 1, "marketing_opt_in": 1, "line_user_id": 1, "profile.birthday": 1}
    values = campaign.get("values") or {}
    last = store.last_batch(run_id)
    number = 0
    if last is not None:
        _write_final_rows(store, campaign, last)  # it may have been cut short
        query["$and"].append({"_id": {"$gt": last["last_member"]}})
        number = last["number"] + 1
    rows, pending = [], 0
    for page in store.member_pages(query, fields):
        for member in page:
            if not keep(member):
                continue
            status = _status_for(campaign, member, sent_lately.get(member["_id"], 0), cap)
            row = {"member_id": member["_id"], "line_user_id": member["line_user_id"]}
            row["status"] = status
            if member["_id"] in values:  # what this member's own message says (journeys)
                row["values"] = {k: v for k, v in values[member["_id"]].items() if k != "lots"}
            rows.append(row)
            pending += status == "pending"
            if pending == batch_size or len(rows) == MAX_BATCH_ROWS:
                _write_batch(store, campaign, run_id, number, rows)
                number, rows, pending = number + 1, [], 0
    if rows:
        _write_batch(store, campaign, run_id, number, rows)
    return store.run_counts(run_id)


MAX_BATCH_ROWS = 2000  # members per batch document, whatever their status


def _write_batch(store: Store, campaign: dict, run_id: str, number: int, rows: list) -> None:
    pending = sum(row["status"] == "pending" for row in rows)
    batch = store.add_batch(
        {
            "_id": f"{run_id}:b{number}",
            "campaign_id": campaign["_id"],
            "run_id": run_id,
            "number": number,
            "rows": rows,
            "pending": pending,
            "last_member": rows[-1]["member_id"],
            "status": "pending" if pending else "sent",
            "created_at": utcnow(),
        }
    )
    _write_final_rows(store, campaign, batch)


def _write_final_rows(store: Store, campaign: dict, batch: dict) -> None:
    """The batch's members who are not sent to (holdout, skipped, capped) get their row now."""
    store.add_deliveries(
        [
            delivery_row(campaign["_id"], batch["run_id"], row, row["status"])
            for row in batch["rows"]
            if row["status"] != "pending"
        ]
    )


def delivery_row(campaign_id: str, run_id: str, row: dict, status: str, **fields) -> dict:
    """One member's row in the deliveries ledger (unique per run)."""
    return {
        "_id": f"{run_id}:{row['member_id']}",
        "campaign_id": campaign_id,
        "run_id": run_id,
        "member_id": row["member_id"],
        "group": "holdout" if status == "holdout" else "treatment",
        "status": status,
        **fields,
    }


def snapshot_journey(
    store: Store,
    journey: dict,
    run_id: str,
    now: datetime,
    tz: ZoneInfo,
    once_per_days: int | None = None,
) -> dict:
    """A journey's audience for its day: birthdays today, purchases N days ago, overdue…"""
    today = now.astimezone(tz).date()
    extra, keep = journey.get("extra"), lambda member: True
    if journey["journey"] == "birthday":
        day = f"-{today.month:02d}-{today.day:02d}"
        keep = lambda m: (m.get("profile") or {}).get("birthday", "").endswith(day)  # noqa: E731
    elif journey["journey"] == "after_purchase":
        start, end = journey["between"]
        extra = {"stats.last_visit": {"$gte": start, "$lt": end}}
    if once_per_days:
        already = store.recent_send_counts(now - timedelta(days=once_per_days), journey["_id"])
        was_kept = keep
        keep = lambda m: m["_id"] not in already and was_kept(m)  # noqa: E731
    return snapshot(store, journey, run_id, now, tz, extra=extra, keep=keep)


def _status_for(campaign, member, sent_lately: int, cap: int) -> str:
    if not member.get("reachable", True):
        return "skipped_blocked"
    if not member.get("marketing_opt_in") and not campaign.get("service"):
        return "skipped_optout"
    if in_holdout(campaign["_id"], member["_id"], campaign.get("holdout", 0)):
        return "holdout"
    if sent_lately >= cap:
        return "capped"
    return "pending"


# -- messages -------------------------------------------------------------------------------


@dataclass
class Sender:
    store: Store
    line: LineApi
    config: Config
    threads: int = SEND_THREADS


def render_message(
    sender: Sender,
    campaign: dict,
    member: dict | None,
    delivery_id: str | None,
    coupon: dict | None = None,
    own: dict | None = None,
) -> dict:
    """The campaign's Flex message for one member (or a generic one for multicast)."""
    config = sender.config
    t = translator_for(member or {}, config)
    values = dict.fromkeys(PLACEHOLDERS + JOURNEY_PLACEHOLDERS, "")
    for key, value in (own or {}).items():
        if isinstance(value, datetime):
            values[key] = t.date(value.astimezone(config.tz))
        elif isinstance(value, int | float):
            values[key] = t.number(value)
    if member is not None:
        values.update(
            first_name=(member.get("profile") or {}).get("first_name", ""),
            points=t.number(member.get("points", 0)),
            tier=(member.get("tier") or "member").title(),
        )
    if coupon is not None:
        values.update(
            coupon_code=coupon["_id"],
            expires=t.date(coupon["expires_at"].astimezone(config.tz)),
        )
    content = campaign["content"]
    if campaign.get("translate"):  # a journey's default wording, in the member's language
        catalogue = t._  # (not `_` itself: the wording is marked where it is defined)
        content = {**content, **{k: catalogue(content[k]) for k in ("title", "text")}}
    fill = lambda s: s.format_map(_Blank(values)) if s else s  # noqa: E731
    base = config.PUBLIC_BASE_URL.rstrip("/")
    button = None
    if content.get("link") and content.get("button"):
        token = qr.make_token(
            config.SECRET_KEY,
            delivery_id or f"run:{campaign['run_id']}",
            prefix="SML1",
            lifetime=90 * 24 * 3600,
        )
        button = {
            "type": "button",
            "style": "primary",
            "color": "#0B6E4F",
            "action": {"type": "uri", "label": content["button"], "uri": f"{base}/r/{token}"},
        }
    coupon_box = None
    if coupon is not None:
        coupon_token = qr.make_token(
            config.SECRET_KEY,
            coupon["_id"],
            prefix=qr.REDEMPTION_PREFIX,
            lifetime=int((coupon["expires_at"] - utcnow()).total_seconds()),
        )
        coupon_box = {
            "type": "box",
            "layout": "vertical",
            "spacing": "sm",
            "contents": [
                {"type": "image", "url": f"{base}/qr/{coupon_token}.png", "size": "md"},
                {
                    "type": "text",
                    "text": coupon["_id"],
                    "weight": "bold",
                    "align": "center",
                    "size": "lg",
                },
                {
                    "type": "text",
                    "text": t._("Valid until %(date)s", date=values["expires"]),
                    "size": "xs",
                    "color": "#777777",
                    "align": "center",
                },
            ],
        }
    hero = flex_templates.hero_image(content.get("image"))
    return flex_templates.render(
        f"campaign_{campaign['template']}",
        alt_text=fill(content["title"])[:400] or "…",
        hero=hero,
        title=fill(content["title"]) or "…",
        body=fill(content["text"]) or "…",
        coupon=coupon_box,
        footer={"type": "box", "layout": "vertical", "contents": [button]} if button else None,
    )


class _Blank(dict):
    def __missing__(self, key):
        return "{" + key + "}"


# -- running ----------------------------------------------------------------------------------


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


def send_run(sender: Sender, campaign: dict, run_id: str, should_stop=lambda: False) -> dict:
    """Send every pending batch of a run; safe to call again after a crash.

    This thread does all the database work (reading a batch, issuing coupons,
    recording outcomes) while a pool of threads makes the LINE calls, so the
    calls overlap up to the rate limit and the bookkeeping of one batch overlaps
    the sending of the next. FerretDB never sees two of our writes at once.
    """
    store = sender.store
    personal = personalised(campaign)
    endpoint = "push" if personal else "multicast"
    rates = store.get_setting("line_rate_per_second", {})
    limiter = RateLimiter(float(rates.get(endpoint, DEFAULT_RATES[endpoint])))
    campaign = {**campaign, "run_id": run_id}
    in_flight: deque = deque()
    with ThreadPoolExecutor(sender.threads) as pool:
        for number in store.pending_batches(run_id):
            if should_stop():
                break
            batch = store.pending_batch(run_id, number)
            if batch is None:
                continue
            prepare = _prepare_pushes if personal else _prepare_multicast
            calls = prepare(sender, campaign, batch)
            futures = [
                (rows, pool.submit(_call, sender.line, limiter, *call) if call else None)
                for rows, call in calls
            ]
            in_flight.append((batch, futures))
            while len(in_flight) > IN_FLIGHT_BATCHES or (in_flight and _done(in_flight[0])):
                _record(sender, campaign, *in_flight.popleft())
        while in_flight:
            _record(sender, campaign, *in_flight.popleft())
    return store.run_counts(run_id)


DEFAULT_RATES = {"push": 2000, "multicast": 200}
IN_FLIGHT_BATCHES = 4  # batches read ahead of their outcomes: bounds memory, keeps calls busy
BATCH_ATTEMPTS = 5  # a batch LINE keeps refusing with 429/5xx fails after this many runs


def _prepare_multicast(sender: Sender, campaign: dict, batch: dict) -> list:
    """One call for the batch: the same message to all its members."""
    rows = [row for row in batch["rows"] if row["status"] == "pending"]
    message = render_message(sender, campaign, None, None)
    key = retry_key_for(batch["run_id"], batch["number"])
    ids = [row["line_user_id"] for row in rows]
    return [(rows, ("multicast", ids, [message], key))]


def _prepare_pushes(sender: Sender, campaign: dict, batch: dict) -> list:
    """One call per member: their own message (and coupon, issued once per delivery)."""
    calls = []
    for queued in batch["rows"]:
        if queued["status"] != "pending":
            continue
        delivery_id = f"{batch['run_id']}:{queued['member_id']}"
        member = sender.store.member_by_id(queued["member_id"])
        if member is None or member.get("status") != "member" or not member.get("reachable"):
            calls.append(([queued], None))
            continue
        coupon = _campaign_coupon(sender.store, campaign, member, batch["run_id"], delivery_id)
        row = {**queued, "coupon": coupon["_id"]} if coupon else queued
        own = queued.get("values")
        message = render_message(sender, campaign, member, delivery_id, coupon, own)
        key = retry_key_for(delivery_id)
        calls.append(([row], ("push", member["line_user_id"], [message], key)))
    return calls


def _campaign_coupon(store: Store, campaign: dict, member: dict, run_id: str, delivery_id: str):
    """The delivery's coupon, issued once however often the batch is tried."""
    spec = campaign.get("coupon")
    if not spec:
        return None
    coupon, _new = rewards.issue_coupon(
        store,
        member["_id"],
        spec["kind"],
        spec["value"],
        spec["item"],
        0,
        spec["days"],
        source={"type": "campaign", "campaign_id": campaign["_id"], "run_id": run_id},
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


def _done(entry) -> bool:
    _batch, futures = entry
    return all(future is None or future.done() for _rows, future in futures)


def _record(sender: Sender, campaign: dict, batch: dict, futures: list) -> None:
    """Write a batch's outcome rows once its calls are answered (this thread only)."""
    store, run_id = sender.store, batch["run_id"]
    now, rows, waiting = utcnow(), [], []
    campaign_id = campaign["_id"]
    for members, future in futures:
        error = future.result() if future is not None else None
        for row in members:
            extra = {"coupon": row["coupon"]} if row.get("coupon") else {}
            if future is None:  # left, blocked or erased since the snapshot
                rows.append(delivery_row(campaign_id, run_id, row, "skipped_blocked"))
            elif error is None:
                rows.append(delivery_row(campaign_id, run_id, row, "sent", sent_at=now, **extra))
            elif not error.permanent:
                waiting.append(row)
            else:
                rows.append(
                    delivery_row(campaign_id, run_id, row, "failed", error=error.status, **extra)
                )
                if len(members) == 1 and error.status in (400, 403):
                    # A push LINE refuses for good: the user is gone (blocked or deleted).
                    store.record_unfollow(row["line_user_id"])
    if waiting and store.retry_batch_later(run_id, batch["number"]) < BATCH_ATTEMPTS:
        # LINE is struggling (429/5xx after backoff): record what went out and try
        # the batch again on the next run; retry keys make the repeats harmless.
        store.add_deliveries(rows)
        return
    rows += [
        delivery_row(campaign["_id"], run_id, row, "failed", error="retries") for row in waiting
    ]
    store.finish_batch(run_id, batch["number"], rows)


def new_campaign_id() -> str:
    return "K" + new_code(5)
