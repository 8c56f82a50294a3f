"""Journeys: automatic messages on a member's own dates, through the campaign ledger.

Each journey is a campaign-like document `journey:<name>` with one run a day
(`journey:<name>:<date>`), so the deliveries ledger, frequency cap, quiet hours
(they run at 10:05 local) and reports are the campaigns' own. Once-only rules are
checks against the journey's earlier deliveries: birthday once a year, win-back
at most once per 60 days, after-purchase once per purchase day; points expiring
once per lot and tier change once per change are marked on the ledger lots and
the member when the run takes them in. The last two are account notices: they
go to members who declined marketing too.
"""

from __future__ import annotations

import logging
from datetime import datetime, time, timedelta

from bot.loyalty import points
from bot.marketing import audience, campaigns, sending
from bot.marketing.journeys import DEFAULTS, settings
from bot.marketing.sending import Sender
from bot.store import utcnow

log = logging.getLogger(__name__)
BIRTHDAY_ONCE_DAYS = 300  # once a year, whatever day the run falls on


def run_journeys(sender: Sender) -> dict:
    """Daily: send each journey to the members whose day it is; returns sent counts."""
    store, tz = sender.store, sender.config.tz
    now = utcnow()
    quiet = tuple(store.get_setting("quiet_hours", list(campaigns.DEFAULT_QUIET)))
    sent = {}
    for name in DEFAULTS:
        config = settings(store, name)
        if not config["on"]:
            continue
        journey = _journey_campaign(name, config)
        run_id = f"journey:{name}:{now.astimezone(tz).date().isoformat()}"
        before = store.run_counts(run_id).get("sent", 0)
        today_is_its_day, once_per_days = _audience(sender, journey, config, now)
        if today_is_its_day:
            audience.snapshot_journey(store, journey, run_id, now, tz, once_per_days)
            _after_snapshot(store, name, journey)
        if campaigns.quiet_now(utcnow(), tz, quiet) is None:  # else `resume_journeys` will
            _send_unfinished(sender, journey)
        sent[name] = store.run_counts(run_id).get("sent", 0) - before
    return sent


def resume_journeys(sender: Sender) -> int:
    """Every minute: send journey batches left unsent (LINE refusing, a crash, quiet
    hours), well within the 24 hours LINE keeps a retry key; returns the runs worked."""
    store, tz = sender.store, sender.config.tz
    quiet = tuple(store.get_setting("quiet_hours", list(campaigns.DEFAULT_QUIET)))
    if campaigns.quiet_now(utcnow(), tz, quiet) is not None:
        return 0
    worked = 0
    for name in DEFAULTS:
        journey = _journey_campaign(name, settings(store, name))
        worked += _send_unfinished(sender, journey)
    return worked


def _send_unfinished(sender: Sender, journey: dict) -> int:
    store = sender.store
    runs = store.unfinished_runs(journey["_id"])
    for run_id in runs:
        try:
            sending.send_run(sender, journey, run_id)
        except sending.QuotaExhaustedError:
            log.warning("journey %s: LINE's monthly quota is used up", journey["_id"])
            break  # its other batches stay queued and are tried again later
        if not store.pending_batches(run_id):
            store.drop_queues(run_id)
    return len(runs)


def _audience(sender: Sender, journey: dict, config: dict, now) -> tuple[bool, int | None]:
    """Set who the journey is for today; returns (anyone to take in?, once per N days)."""
    tz = sender.config.tz
    today = now.astimezone(tz).date()
    name = journey["journey"]
    if name == "birthday":
        journey["filters"] = f"birth_month:{today.month}"
        journey["on_the_day"] = config["when"] == "day"
        # "month": the whole birth month's members go on the 1st.
        return config["when"] == "day" or today.day == 1, BIRTHDAY_ONCE_DAYS
    if name == "after_purchase":
        start = datetime.combine(today - timedelta(days=int(config["days"])), time(0), tz)
        visit = "stats.first_visit" if config["after"] == "first" else "stats.last_visit"
        journey["extra"] = {visit: {"$gte": start, "$lt": start + timedelta(days=1)}}
        return True, None
    if name == "winback":
        away = [{"stats.overdue_at": {"$lt": now}}]
        if config["lapsed"]:
            away.append({"stats.last_visit": {"$lt": now - timedelta(days=config["lapsed"])}})
        journey["extra"] = {"$or": away}
        return True, int(config["every"])
    values = _expiring_points(sender) if name == "points_expiring" else _tier_changes(sender)
    journey["values"] = values
    # Picked as the audience is read, not as an `_id` list in the query: the dev server
    # compares every member with every id of the list (quadratic as both grow).
    journey["only"] = values.keys()
    return bool(values), None


def _expiring_points(sender: Sender) -> dict:
    """member id → what their notice says, for lots expiring within 14 days not yet told."""
    t_values = {}
    for member_id, lots in points.lots_to_announce(sender.store):
        soonest = min(lot.expires_at for lot in lots)
        t_values[member_id] = {
            "expiring_points": sum(lot.remaining for lot in lots),
            "expiry_date": soonest,
            "lots": [lot.id for lot in lots],
        }
    return t_values


def _tier_changes(sender: Sender) -> dict:
    """member id → their new tier, for changes nobody has told them about yet."""
    rules = points.load_rules(sender.store)
    values = {}
    for member in sender.store.members_with_unannounced_tier():
        tier = rules.tier_named(member.get("tier"))
        values[member["_id"]] = {"tier_factor": tier.factor}
    return values


def _after_snapshot(store, name: str, journey: dict) -> None:
    """Once a member is in a run, their lots or tier change count as announced."""
    for member_id, values in (journey.get("values") or {}).items():
        if name == "points_expiring":
            store.mark_lots_notified(member_id, values["lots"])
        elif name == "tier_change":
            store.mark_tier_announced(member_id)


def _journey_campaign(name: str, config: dict) -> dict:
    return {
        "_id": f"journey:{name}",
        "name": name,
        "filters": "",
        "template": config["template"],
        "content": {
            "title": config["title"],
            "text": config["text"],
            "image": None,
            "button": None,
            "link": None,
        },
        # The defaults are in our catalogues; a merchant's own wording is sent as written.
        "translate": config["title"] == DEFAULTS[name]["title"],
        "count": config.get("count"),  # the number that picks the wording's plural form
        "coupon": config["coupon"],
        "holdout": 0.0,
        "journey": name,
        "service": config.get("service", False),
    }
