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

from datetime import datetime, time, timedelta

from bot import audience, campaigns, points, sending
from bot.i18n import N_
from bot.sending import Sender
from bot.store import utcnow

DEFAULTS = {
    "birthday": {
        "on": True,
        "template": "birthday",
        "title": N_("Happy birthday, {first_name}!"),
        "text": N_("A treat from us for your birthday: show code {coupon_code} by {expires}."),
        "coupon": {"kind": "free", "value": 0, "item": "birthday drink", "days": 30},
    },
    "after_purchase": {
        "on": True,
        "days": 30,
        "template": "promotion",
        "title": N_("Something new to try"),
        "text": N_("Hi {first_name}, thanks for your visit last month! You have {points} points."),
        "coupon": None,
    },
    "winback": {
        "on": True,
        "every_days": 60,
        "template": "winback",
        "title": N_("We miss you, {first_name}"),
        "text": N_(
            "It has been a while! Here is {coupon_code} for your next visit, until {expires}."
        ),
        "coupon": {"kind": "percent", "value": 15, "item": None, "days": 14},
    },
    "points_expiring": {
        "on": True,
        "template": "news",
        "title": N_("Your points are expiring"),
        "text": N_("{expiring_points} points expire on {expiry_date}. Use them before then!"),
        "coupon": None,
        "service": True,
    },
    "tier_change": {
        "on": True,
        "template": "news",
        "title": N_("You are now {tier}"),
        "text": N_("Your membership tier is now {tier}: you earn {tier_factor}× points."),
        "coupon": None,
        "service": True,
    },
}
BIRTHDAY_ONCE_DAYS = 300  # once a year, whatever day the run falls on


def settings(store, name: str) -> dict:
    saved = (store.get_setting("journeys") or {}).get(name, {})
    return {**DEFAULTS[name], **saved}


def run_journeys(sender: Sender) -> dict:
    """Daily: send each journey to the members whose day it is; returns sent counts."""
    store, tz = sender.store, sender.config.tz
    now = utcnow()
    today = now.astimezone(tz).date()
    quiet = tuple(store.get_setting("quiet_hours", list(campaigns.DEFAULT_QUIET)))
    sent = {}
    for name in DEFAULTS:
        config = settings(store, name)
        if not config["on"]:
            continue
        journey = _journey_campaign(name, config)
        run_id = f"journey:{name}:{today.isoformat()}"
        before = store.run_counts(run_id).get("sent", 0)
        once_per_days = None
        if name == "birthday":
            journey["filters"] = f"birth_month:{today.month}"
            once_per_days = BIRTHDAY_ONCE_DAYS
        elif name == "after_purchase":
            start = datetime.combine(today - timedelta(days=int(config["days"])), time(0), tz)
            journey["between"] = (start, start + timedelta(days=1))
        elif name == "winback":
            journey["filters"] = "overdue"
            once_per_days = int(config["every_days"])
        elif name == "points_expiring":
            journey["values"] = _expiring_points(sender)
            journey["extra"] = {"_id": {"$in": sorted(journey["values"])}}
        elif name == "tier_change":
            journey["values"] = _tier_changes(sender)
            journey["extra"] = {"_id": {"$in": sorted(journey["values"])}}
        if "extra" not in journey or journey["values"]:
            audience.snapshot_journey(store, journey, run_id, now, tz, once_per_days)
        _after_snapshot(store, name, journey)
        if campaigns.quiet_now(utcnow(), tz, quiet) is None:  # else tomorrow's run sends it
            for unfinished in store.unfinished_runs(journey["_id"]):
                sending.send_run(sender, journey, unfinished)
                if not store.pending_batches(unfinished):
                    store.drop_queues(unfinished)
        if not store.pending_batches(run_id):
            store.drop_queues(run_id)
        sent[name] = store.run_counts(run_id).get("sent", 0) - before
    return sent


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
        "coupon": config["coupon"],
        "holdout": 0.0,
        "journey": name,
        "service": config.get("service", False),
    }
