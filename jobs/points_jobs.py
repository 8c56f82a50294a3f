"""Daily points jobs: expire lots and re-evaluate tiers (the notices are journeys)."""

from __future__ import annotations

import itertools
import logging
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.analytics import rollups
from bot.chat.messages import text
from bot.config import Config
from bot.line_api import LineApi, LineApiError, retry_key_for
from bot.loyalty import points, rewards
from bot.store import Store, utcnow
from bot.translate import translator_for

log = logging.getLogger(__name__)

RECENT_SLACK = timedelta(days=1)


def expire_points(store: Store) -> int:
    """Write expire entries for lots past their date."""
    written = points.expire_due(store)
    log.info("expired %d lots", written)
    return written


def reevaluate_tiers(store: Store, tz: ZoneInfo) -> int:
    """Nightly: move members to the tier their rolling 12-month spend earns (downgrades too).

    Between purchases a tier changes only when purchases leave the 12-month window or
    the tier rules change (a purchase or a void sets the tier at once). So after a full
    review this looks only at the members whose purchases left the window since the
    last review, and at those who bought since (a crash may have come between a
    purchase and its tier), both from the day rollups, read by `_id`. New tier rules, or
    no review on record, mean a full one: one read of the members and one of the
    year's purchases.
    """
    rules = points.load_rules(store)
    now = utcnow()
    window_start = now - points.TIER_WINDOW
    last = store.get_setting(points.TIER_REVIEW) or {}
    if last.get("tiers") == points.tier_thresholds(rules) and last.get("reviewed_at"):
        members = _members_to_review(store, tz, last, window_start, now)
        changed = _review_members(store, rules, members)
    else:
        changed = _review_everyone(store, rules, window_start)
    store.put_setting(points.TIER_REVIEW, points.tier_review_record(rules, now))
    log.info("tier changes: %d", changed)
    return changed


def _members_to_review(store, tz, last: dict, window_start: datetime, now: datetime) -> list:
    """Whose purchases left the window since the last review, and who bought since."""
    left = rollups.purchases_between(
        store, datetime.fromisoformat(last["window_start"]), window_start, tz
    )
    since = datetime.fromisoformat(last["reviewed_at"]) - RECENT_SLACK
    recent = rollups.purchases_between(store, since, now, tz)
    return sorted({purchase["member_id"] for purchase in itertools.chain(left, recent)})


def _review_members(store: Store, rules: points.EarnRules, member_ids: list[str]) -> int:
    changed = 0
    for member_id in member_ids:
        member = store.member_by_id(member_id)
        if member is None or member.get("status") != "member":
            continue  # erased or left since
        before, after = points.evaluate_tier(store, rules, member_id, member.get("tier"))
        changed += int(before.name != after.name)
    return changed


def _review_everyone(store: Store, rules: points.EarnRules, window_start: datetime) -> int:
    """One read of the members and one of the year's purchases find whose tier no longer
    fits; only those are looked at again (a purchase meanwhile may have kept their tier)."""
    changed = 0
    for page in store.spend_pages(window_start):
        for member, spend in page:
            if rules.tier_for(spend).name == member.get("tier"):
                continue
            before, after = points.evaluate_tier(store, rules, member["_id"])
            changed += int(before.name != after.name)
    return changed


def expire_redemptions(store: Store, line: LineApi | None, config: Config) -> int:
    """Every minute: unused reward codes past their time give points and stock back."""
    expired = rewards.expire_redemptions(store, config.tz)
    for redemption in expired:
        member = store.member_by_id(redemption["member_id"])
        if line is None or not member or not member.get("reachable", True):
            continue
        t = translator_for(member, config)
        notice = t.n_(
            "Your reward code %(code)s expired unused, so %(count)s point is back in your account.",
            "Your reward code %(code)s expired unused, so %(count)s points are back in your "
            "account.",
            redemption["points"],
            code=redemption["_id"],
        )
        try:
            line.push(
                member["line_user_id"],
                [text(notice)],
                retry_key=retry_key_for("redemption-expired", redemption["_id"]),
            )
        except LineApiError as error:
            log.warning("expiry notice push failed: %s", error.status)
    coupons = rewards.expire_coupons(store)
    if expired or coupons:
        log.info("expired %d redemptions and %d coupons", len(expired), coupons)
    return len(expired)
