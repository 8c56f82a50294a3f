"""Journeys: automatic messages on a member's own dates, through the campaign ledger.

Each journey is a campaign-like document `journey:<name>` whose runs are keyed so
the deliveries table's unique (campaign, run, member) makes it fire once:
birthday once a year, after-purchase once per purchase day, win-back at most once
per 60 days. They respect marketing consent, the frequency cap and quiet hours
(they run at 10:00 local).
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from bot import campaigns
from bot.campaigns import Sender
from bot.store import utcnow

DEFAULTS = {
    "birthday": {
        "on": True,
        "template": "birthday",
        "title": "Happy birthday, {first_name}!",
        "text": "A treat from us for your birthday: show code {coupon_code} by {expires}.",
        "coupon": {"kind": "free", "value": 0, "item": "birthday drink", "days": 30},
    },
    "after_purchase": {
        "on": True,
        "days": 30,
        "template": "promotion",
        "title": "Something new to try",
        "text": "Hi {first_name}, thanks for your visit last month! You have {points} points.",
        "coupon": None,
    },
    "winback": {
        "on": True,
        "every_days": 60,
        "template": "winback",
        "title": "We miss you, {first_name}",
        "text": "It has been a while! Here is {coupon_code} for your next visit, until {expires}.",
        "coupon": {"kind": "percent", "value": 15, "item": None, "days": 14},
    },
}


def settings(store, name: str) -> dict:
    saved = (store.get_setting("journeys") or {}).get(name, {})
    return {**DEFAULTS[name], **saved}


def run_journeys(sender: Sender) -> dict:
    """Daily: send each journey to the members whose day it is."""
    store, tz = sender.store, sender.config.tz
    today = datetime.now(tz).date()
    sent = {}
    for name, audience, run_id in (
        ("birthday", _birthday_filter(today), f"journey:birthday:{today.year}"),
        ("after_purchase", None, f"journey:after_purchase:{today.isoformat()}"),
        ("winback", "overdue", f"journey:winback:{today.isoformat()}"),
    ):
        config = settings(store, name)
        if not config["on"]:
            continue
        query_days = None
        if name == "after_purchase":
            day = today - timedelta(days=int(config["days"]))
            start = datetime.combine(day, time(0), tz)
            query_days = (start, start + timedelta(days=1))
        campaign = _journey_campaign(store, name, config, audience, query_days, run_id)
        before = store.run_counts(run_id).get("sent", 0)
        every = int(config.get("every_days", 0)) or None
        campaigns.snapshot_journey(store, campaign, run_id, utcnow(), tz, once_per_days=every)
        counts = campaigns.send_run(sender, campaign, run_id)
        sent[name] = counts.get("sent", 0) - before
    return sent


def _birthday_filter(today) -> str:
    return f"birth_month:{today.month}"


def _journey_campaign(store, name, config, audience, query_days, run_id) -> dict:
    return {
        "_id": f"journey:{name}",
        "name": name,
        "filters": audience or "",
        "between": query_days,
        "template": config["template"],
        "content": {
            "title": config["title"],
            "text": config["text"],
            "image": None,
            "button": None,
            "link": None,
        },
        "coupon": config["coupon"],
        "holdout": 0.0,
        "run_id": run_id,
        "journey": name,
    }
