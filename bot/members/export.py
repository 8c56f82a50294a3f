"""The member's copy of their data (right of access and portability).

One readable structure, in the member's language, served as a page and as a JSON
download (bot/web/pages.py, bot/web/templates/pages/my_data.html). It names nobody else: who
rang up a purchase or accepted a coupon is a label ("staff at Asoke", "owner"),
never that person's LINE id, and internal bookkeeping (ledger keys, sequence
numbers, lots, locks) stays out.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from zoneinfo import ZoneInfo

from bot.config import Config
from bot.i18n import N_, Translator, translator
from bot.loyalty import rewards
from bot.members.profile_fields import FIELDS, GENDER_LABELS, display_phone
from bot.store import Store, utcnow
from handlers.labels import TIER_NAMES, movement_label
from handlers.rewards import describe_coupon

STATUSES = {
    # purchases, redemptions, coupons
    "active": N_("counted"),
    "voided": N_("voided"),
    "issued": N_("ready to use"),
    "used": N_("used"),
    "expired": N_("expired"),
    "failed": N_("not completed"),
    "pending": N_("waiting"),
    # campaign messages
    "sent": N_("sent"),
    "holdout": N_("not sent: comparison group"),
    "skipped_optout": N_("not sent: no consent to offers"),
    "skipped_blocked": N_("not sent: our account was blocked"),
    "capped": N_("not sent: enough messages that week"),
    "erased": N_("not sent"),
    "cancelled": N_("cancelled"),
}
JOURNEYS = {
    "welcome": N_("Welcome"),
    "birthday": N_("Birthday"),
    "after_purchase": N_("After your visit"),
    "winback": N_("We miss you"),
    "points_expiring": N_("Points expiring"),
    "tier_change": N_("Tier change"),
}


def member_copy(store: Store, config: Config, member_id: str) -> dict | None:
    """Everything stored about one member, readable; None for an erased or unknown one."""
    stored = store.export_member(member_id)
    member = stored["member"]
    if not member or member.get("status") != "member":
        return None
    t = translator(member.get("locale") or config.DEFAULT_LOCALE)
    who = _Who(store, config, t, member["line_user_id"])
    names = _CampaignNames(store, t)
    return {
        "language": t.locale,
        "made_at": utcnow(),
        "shop": (store.get_setting("merchant") or {}).get("name") or t._("our shop"),
        "profile": _profile(t, member.get("profile") or {}),
        "membership": _membership(member),
        "consents": [_consent(c) for c in member.get("consents", [])],
        "visits": _visits(member),
        "points_history": [_movement(t, who, e) for e in stored["ledger"]],
        "purchases": [_purchase(t, who, store, p) for p in stored["purchases"]],
        "rewards": [_redemption(t, who, r) for r in stored["redemptions"]],
        "coupons": [_coupon(t, who, names, c) for c in stored["coupons"]],
        "messages": [_delivery(t, names, d) for d in stored["deliveries"]],
    }


def formatters(t: Translator, tz: ZoneInfo) -> dict:
    """What the page needs to show the copy's values in the member's language."""

    def when(value: datetime | None) -> str:
        if value is None:
            return "—"
        local = value.astimezone(tz)
        return f"{t.date(local)} {t.time(local, tz)}"

    def day(value: datetime | None) -> str:
        return t.date(value.astimezone(tz)) if value else "—"

    def show(field: str, value) -> str:
        if not value:
            return "—"
        if field == "phone":
            return display_phone(value)
        return t.date(date.fromisoformat(value), fmt="long") if field == "birthday" else value

    def tier(name: str) -> str:
        return t._(TIER_NAMES[name]) if name in TIER_NAMES else name.title()

    return {
        "when": when,
        "day": day,
        "show": show,
        "tier": tier,
        "number": t.number,
        "money": t.money,
    }


def as_json(copy: dict) -> str:
    return json.dumps(copy, default=_plain, ensure_ascii=False, indent=2)


def _plain(value):
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(type(value).__name__)


class _Who:
    """A label for whoever acted (a LINE id or an erased person's pseudonym)."""

    def __init__(self, store: Store, config: Config, t: Translator, own_line_id: str):
        self.store, self.config, self.t, self.own = store, config, t, own_line_id
        self.known: dict[str, str] = {}

    def __call__(self, actor: str | None) -> str | None:
        if not actor:
            return None
        if actor not in self.known:
            self.known[actor] = self._label(actor)
        return self.known[actor]

    def _label(self, actor: str) -> str:
        if actor == self.own:
            return self.t._("you")
        if actor in self.config.ADMIN_LINE_USER_IDS:
            return self.t._("owner")
        record = self.store.staff_any(actor)
        if record is None:
            return self.t._("the shop")
        branch = self.store.branch(record["branch"]) if record.get("branch") else None
        if branch is None:
            return self.t._("staff")
        return self.t._("staff at %(branch)s", branch=branch.get("name") or branch["_id"])


class _CampaignNames:
    """What a member calls a campaign: its name, or the journey's."""

    def __init__(self, store: Store, t: Translator):
        self.store, self.t = store, t
        self.known: dict[str, str] = {}

    def __call__(self, campaign_id: str) -> str:
        if campaign_id not in self.known:
            journey = campaign_id.removeprefix("journey:")
            if journey in JOURNEYS:
                self.known[campaign_id] = self.t._(JOURNEYS[journey])
            else:
                campaign = self.store.campaign(campaign_id) or {}
                self.known[campaign_id] = campaign.get("name") or self.t._("News and offers")
        return self.known[campaign_id]


def _status(t: Translator, status: str | None) -> str | None:
    return t._(STATUSES[status]) if status in STATUSES else status


def _profile(t: Translator, profile: dict) -> dict:
    shown = {field: profile.get(field) for field in FIELDS}
    label = GENDER_LABELS.get(shown["gender"])
    if label:
        shown["gender"] = t._(label)
    return shown


def _membership(member: dict) -> dict:
    return {
        "member_code": member.get("code"),
        "line_user_id": member["line_user_id"],  # their own: it is how we know them
        "joined_at": member.get("joined_at"),
        "language": member.get("locale"),
        "points": member.get("points", 0),
        "tier": member.get("tier") or "member",
        "news_and_offers": bool(member.get("marketing_opt_in")),
        "tags": member.get("tags", []),
    }


def _consent(record: dict) -> dict:
    keys = ("kind", "granted", "version", "channel", "source", "at")
    return {key: record.get(key) for key in keys}


def _visits(member: dict) -> dict:
    stats, rfm = member.get("stats") or {}, member.get("rfm") or {}
    return {
        "visits": stats.get("visits", 0),
        "spend": stats.get("spend", 0),
        "average": stats.get("avg"),
        "first_visit": stats.get("first_visit"),
        "last_visit": stats.get("last_visit"),
        "branches": stats.get("branch_list", []),
        "usual_hour": stats.get("top_hour"),
        "scores": {k: rfm.get(k) for k in ("r", "f", "m")} if rfm else None,
        "group": rfm.get("group"),
    }


def _movement(t: Translator, who: _Who, entry: dict) -> dict:
    return {
        "at": entry["created_at"],
        "movement": movement_label(t, entry["kind"]),
        "points": entry["amount"],
        "reason": entry.get("reason") if entry["kind"] == "adjust" else None,
        "by": who(entry.get("by")),
        "expires_at": entry.get("expires_at"),
    }


def _purchase(t: Translator, who: _Who, store: Store, purchase: dict) -> dict:
    branch = store.branch(purchase["branch"]) if purchase.get("branch") else None
    return {
        "at": purchase["created_at"],
        "amount": purchase["amount"],
        "branch": (branch or {}).get("name") or purchase.get("branch"),
        "by": who(purchase.get("staff")),
        "receipt": purchase.get("receipt"),
        "points": purchase.get("points", 0),
        "status": _status(t, purchase.get("status")),
        "voided_at": purchase.get("voided_at"),
        "voided_by": who(purchase.get("voided_by")),
        "coupon": purchase.get("coupon"),
    }


def _redemption(t: Translator, who: _Who, redemption: dict) -> dict:
    reward = {"_id": redemption.get("reward_id"), "names": redemption.get("reward_names")}
    return {
        "at": redemption["created_at"],
        "reward": rewards.reward_name(reward, t.locale),
        "points": redemption.get("points"),
        "code": redemption["_id"],
        "status": _status(t, redemption.get("status")),
        "used_at": redemption.get("used_at"),
        "used_by": who(redemption.get("used_by")),
    }


def _coupon(t: Translator, who: _Who, names: _CampaignNames, coupon: dict) -> dict:
    source = coupon.get("source") or {}
    given_by = names(source["campaign_id"]) if source.get("campaign_id") else who(source.get("by"))
    return {
        "at": coupon["created_at"],
        "code": coupon["_id"],
        "offer": describe_coupon(t, coupon),
        "expires_at": coupon.get("expires_at"),
        "from": given_by or t._("the shop"),
        "status": _status(t, coupon.get("status")),
        "used_at": coupon.get("used_at"),
        "used_by": who(coupon.get("used_by")),
    }


def _delivery(t: Translator, names: _CampaignNames, row: dict) -> dict:
    return {
        "at": row.get("sent_at") or row["created_at"],
        "message": names(row["campaign_id"]),
        "status": _status(t, row.get("status")),
    }
