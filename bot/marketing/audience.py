"""A run's audience: who gets the message, written down before anything is sent.

The snapshot reads the segment's members in _id order, gives each one row in
`deliveries` (unique per run: holdout, skipped_optout, skipped_blocked, capped,
or pending with its batch number) and cuts those to send into batch documents
of up to 500 (`batches`, the run's queue, whose outcome later stands for its
members' rows: see the store). Each batch document is written whole before its
rows and names the last member it covers, so a snapshot interrupted anywhere
carries on after its last batch: no member is left out or taken twice.
"""

from __future__ import annotations

import heapq
from collections import Counter
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.marketing.campaigns import DEFAULT_CAP, in_holdout, personalised
from bot.marketing.segments import Clock, compile_filters
from bot.store import Store, utcnow

BATCH_SIZE = 500  # LINE's multicast limit
MAX_BATCH_MEMBERS = 2000  # members per batch document, whatever their status
# What a personalised message needs of each member, copied into the batch so
# sending reads nothing per member (the batch is emptied once sent).
MEMBER_FIELDS = {
    "reachable": 1,
    "marketing_opt_in": 1,
    "line_user_id": 1,
    "locale": 1,
    "points": 1,
    "tier": 1,
    "profile.first_name": 1,
    "profile.birthday": 1,
}


def snapshot(
    store: Store,
    campaign: dict,
    run_id: str,
    now: datetime,
    tz: ZoneInfo,
    extra: dict | None = None,
    keep=lambda member: True,
) -> None:
    """Write the run's audience as rows and batches."""
    query = compile_filters(
        campaign["filters"],
        Clock(now=now, today=now.astimezone(tz).date()),
        base={"status": "member"},
    )
    if extra:
        query["$and"].append(extra)
    cap, cap_days = store.get_setting("campaign_cap", list(DEFAULT_CAP))
    sent_lately = _SendCounts(store.sent_streams(now - timedelta(days=cap_days)))
    batch_size = int(store.get_setting("campaign_batch_size", BATCH_SIZE))
    batch = _Batch(campaign, run_id, 0)
    last = store.last_batch(run_id)
    if last is not None:
        _write_rows(store, last, store.batch_queue(last["_id"]))  # it may have been cut short
        query["$and"].append({"_id": {"$gt": last["last_member"]}})
        batch = _Batch(campaign, run_id, last["number"] + 1)
    for page in store.member_pages(query, MEMBER_FIELDS):
        for member in page:
            if not keep(member):
                continue
            status = _status_for(campaign, member, sent_lately.count(member["_id"]), cap)
            batch.add(member, status)
            if len(batch.members) == batch_size or batch.size == MAX_BATCH_MEMBERS:
                batch = batch.write(store)
    if batch.size:
        batch.write(store)


def snapshot_journey(
    store: Store,
    journey: dict,
    run_id: str,
    now: datetime,
    tz: ZoneInfo,
    once_per_days: int | None = None,
) -> None:
    """A journey's audience for its day: its filters and extra query, birthdays on the day,
    only the members it names (`only`), less those it reached within `once_per_days`."""
    today = now.astimezone(tz).date()
    keep = lambda member: True  # noqa: E731
    if journey.get("on_the_day"):
        day = f"-{today.month:02d}-{today.day:02d}"
        keep = lambda m: (m.get("profile") or {}).get("birthday", "").endswith(day)  # noqa: E731
    if journey.get("only") is not None:
        only, kept_before = journey["only"], keep
        keep = lambda m: m["_id"] in only and kept_before(m)  # noqa: E731
    if once_per_days:
        already = store.recent_send_counts(now - timedelta(days=once_per_days), journey["_id"])
        already = {*already, *store.queued_members(journey["_id"])}  # not sent yet, but will be
        was_kept = keep
        keep = lambda m: m["_id"] not in already and was_kept(m)  # noqa: E731
    snapshot(store, journey, run_id, now, tz, extra=journey.get("extra"), keep=keep)


class _SendCounts:
    """Campaign messages each member got lately, for members asked about in `_id` order.

    The runs' sent members are merged as the snapshot walks the audience, so memory
    holds one batch per run, never the audience.
    """

    def __init__(self, streams: list):
        self._merged = heapq.merge(*streams)
        self._next = next(self._merged, None)

    def count(self, member_id: str) -> int:
        while self._next is not None and self._next < member_id:
            self._next = next(self._merged, None)
        found = 0
        while self._next == member_id:
            found += 1
            self._next = next(self._merged, None)
        return found


def delivery_row(campaign_id: str, run_id: str, member_id: str, status: str, **fields) -> dict:
    """One member's row in the deliveries ledger (unique per run)."""
    return {
        "_id": f"{run_id}:{member_id}",
        "campaign_id": campaign_id,
        "run_id": run_id,
        "member_id": member_id,
        "group": "holdout" if status == "holdout" else "treatment",
        "status": status,
        **fields,
    }


def record_welcome(store: Store, member_id: str, day) -> None:
    """The welcome journey is the signup's own reply: it only needs recording."""
    store.record_reply("journey:welcome", f"journey:welcome:{day.isoformat()}", member_id)


class _Batch:
    """One batch document in the making: parallel lists keep it compact."""

    def __init__(self, campaign: dict, run_id: str, number: int):
        self.campaign, self.run_id, self.number = campaign, run_id, number
        self.personal = personalised(campaign)
        self.own_values = campaign.get("values") or {}
        self.members, self.line_ids, self.values, self.others = [], [], [], []
        self.last_member = None

    @property
    def size(self) -> int:
        return len(self.members) + len(self.others)

    def add(self, member: dict, status: str) -> None:
        self.last_member = member["_id"]
        if status != "pending":
            self.others.append({"member_id": member["_id"], "status": status})
            return
        self.members.append(member["_id"])
        self.line_ids.append(member["line_user_id"])
        if self.personal:
            own = self.own_values.get(member["_id"], {})
            self.values.append(
                {
                    "locale": member.get("locale"),
                    "first_name": (member.get("profile") or {}).get("first_name", ""),
                    "points": member.get("points", 0),
                    "tier": member.get("tier"),
                    **{k: v for k, v in own.items() if k != "lots"},
                }
            )

    def write(self, store: Store) -> _Batch:
        """Store this batch and its final rows; returns the next, empty batch."""
        batch = {
            "_id": f"{self.run_id}:b{self.number}",
            "campaign_id": self.campaign["_id"],
            "run_id": self.run_id,
            "number": self.number,
            "members": self.members,
            "size": len(self.members),
            "counts": dict(Counter(row["status"] for row in self.others)),
            "last_member": self.last_member,
            "created_at": utcnow(),
        }
        queue = {"line_ids": self.line_ids, "values": self.values, "others": self.others}
        _write_rows(store, store.add_batch(batch, queue), {**queue, "members": self.members})
        return _Batch(self.campaign, self.run_id, self.number + 1)


def _write_rows(store: Store, batch: dict, queue: dict) -> None:
    """Every member of the batch gets their row (a resumed snapshot's are kept)."""
    campaign_id, run_id, number = batch["campaign_id"], batch["run_id"], batch["number"]
    store.add_deliveries(
        [delivery_row(campaign_id, run_id, m, "pending", batch=number) for m in queue["members"]]
        + [delivery_row(campaign_id, run_id, r["member_id"], r["status"]) for r in queue["others"]]
    )


def _status_for(campaign, member, sent_lately: int, cap: int) -> str:
    if not member.get("reachable", True):
        return "skipped_blocked"
    if not member.get("marketing_opt_in") and not campaign.get("service"):
        return "skipped_optout"
    if in_holdout(campaign["_id"], member["_id"], campaign.get("holdout", 0)):
        return "holdout"
    if sent_lately >= cap and not campaign.get("service"):
        return "capped"
    return "pending"
