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
BATCH_SIZE = 500
DEFAULT_HOLDOUT = 0.10
DEFAULT_WINDOW_DAYS = 7
DEFAULT_CAP = (2, 7)  # messages per member per days
DEFAULT_QUIET = ("21:00", "09:00")
SEND_THREADS = 8


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
        "{" + p + "}" in text for p in PLACEHOLDERS
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
    """Write the run's audience into deliveries; returns counts by status."""
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
    rows, pending, batch_rows = [], 0, {}
    for page in store.member_pages(query, fields):
        for member in page:
            if not keep(member) or store.has_delivery(run_id, member["_id"]):
                continue
            status = _status_for(campaign, member, sent_lately.get(member["_id"], 0), cap)
            row = {
                "_id": f"{run_id}:{member['_id']}",
                "campaign_id": campaign["_id"],
                "run_id": run_id,
                "member_id": member["_id"],
                "line_user_id": member["line_user_id"],
                "group": "holdout" if status == "holdout" else "treatment",
                "status": status,
            }
            if status == "pending":
                row["batch"] = pending // batch_size
                pending += 1
                batch_rows.setdefault(row["batch"], []).append(
                    {k: row[k] for k in ("_id", "member_id", "line_user_id")}
                )
            rows.append(row)
        store.add_deliveries(rows)
        rows = []
    store.add_batches(
        [
            {"_id": f"{run_id}:b{n}", "run_id": run_id, "number": n, "rows": r}
            for n, r in batch_rows.items()
        ]
    )
    return store.run_counts(run_id)


def snapshot_journey(
    store: Store,
    journey: dict,
    run_id: str,
    now: datetime,
    tz: ZoneInfo,
    once_per_days: int | None = None,
) -> dict:
    """A journey's audience for today: birthdays today, purchases N days ago, overdue."""
    today = now.astimezone(tz).date()
    extra, keep = None, lambda member: True
    if journey["journey"] == "birthday":
        day = f"-{today.month:02d}-{today.day:02d}"
        keep = lambda m: (m.get("profile") or {}).get("birthday", "").endswith(day)  # noqa: E731
    elif journey["journey"] == "after_purchase":
        start, end = journey["between"]
        extra = {"stats.last_visit": {"$gte": start, "$lt": end}}
    if once_per_days:
        already = store.recent_send_counts(now - timedelta(days=once_per_days), journey["_id"])
        keep = lambda m: m["_id"] not in already  # noqa: E731
    return snapshot(store, journey, run_id, now, tz, extra=extra, keep=keep)


def _status_for(campaign, member, sent_lately: int, cap: int) -> str:
    if not member.get("reachable", True):
        return "skipped_blocked"
    if not member.get("marketing_opt_in"):
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

    def __post_init__(self):
        # FerretDB hangs under concurrent multi-statement writes: send one batch at a time.
        if self.store.serialises_writes:
            self.threads = 1


def render_message(
    sender: Sender,
    campaign: dict,
    member: dict | None,
    delivery_id: str | None,
    coupon: dict | None = None,
) -> dict:
    """The campaign's Flex message for one member (or a generic one for multicast)."""
    config = sender.config
    t = translator_for(member or {}, config)
    values = {"first_name": "", "points": "", "tier": "", "coupon_code": "", "expires": ""}
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
    """Send every pending batch of a run; safe to call again after a crash."""
    store = sender.store
    rate = float(
        store.get_setting("line_rate_per_second", {}).get(
            "push" if personalised(campaign) else "multicast",
            2000 if personalised(campaign) else 200,
        )
    )
    limiter = RateLimiter(rate)
    batches = store.pending_batches(run_id)
    with ThreadPoolExecutor(sender.threads) as pool:
        for start in range(0, len(batches), sender.threads):
            if should_stop():
                break
            chunk = batches[start : start + sender.threads]
            list(pool.map(lambda b: _send_batch(sender, campaign, run_id, b, limiter), chunk))
    return store.run_counts(run_id)


def _send_batch(
    sender: Sender, campaign: dict, run_id: str, batch: int, limiter: RateLimiter
) -> None:
    store = sender.store
    rows = store.batch_deliveries(run_id, batch)
    if not rows:
        return
    now = utcnow()
    if not personalised(campaign):
        message = render_message(sender, {**campaign, "run_id": run_id}, None, None)
        limiter.acquire()
        result = sender.line.multicast(
            [r["line_user_id"] for r in rows], [message], retry_key=retry_key_for(run_id, batch)
        )
        failed = {user for user, _error in result.failed}
        sent = [r["_id"] for r in rows if r["line_user_id"] not in failed]
        store.mark_deliveries(sent, "sent", sent_at=now)
        store.mark_deliveries([r["_id"] for r in rows if r["_id"] not in sent], "failed")
        store.finish_batch(run_id, batch)
        return
    for row in rows:
        member = store.member_by_id(row["member_id"])
        if member is None or member.get("status") != "member":
            store.mark_deliveries([row["_id"]], "skipped_blocked")
            continue
        coupon = None
        if campaign.get("coupon"):
            spec = campaign["coupon"]
            coupon, _new = rewards.issue_coupon(
                store,
                member["_id"],
                spec["kind"],
                spec["value"],
                spec["item"],
                0,
                spec["days"],
                source={"type": "campaign", "campaign_id": campaign["_id"], "run_id": run_id},
                key=f"campaign:{row['_id']}",
            )
        message = render_message(sender, {**campaign, "run_id": run_id}, member, row["_id"], coupon)
        limiter.acquire()
        try:
            sender.line.push(member["line_user_id"], [message], retry_key=retry_key_for(row["_id"]))
            store.mark_deliveries(
                [row["_id"]], "sent", sent_at=now, coupon=coupon["_id"] if coupon else None
            )
        except LineApiError as error:
            store.mark_deliveries([row["_id"]], "failed", error=str(error.status))
            if error.permanent and error.status in (400, 403):
                store.record_unfollow(member["line_user_id"])
    store.finish_batch(run_id, batch)


def new_campaign_id() -> str:
    return "K" + new_code(5)
