"""Daily points jobs: expire lots and re-evaluate tiers (the notices are journeys)."""

from __future__ import annotations

import logging

from bot.chat.messages import text
from bot.config import Config
from bot.line_api import LineApi, LineApiError, retry_key_for
from bot.loyalty import points, rewards
from bot.store import Store, utcnow
from bot.translate import translator_for

log = logging.getLogger(__name__)


def expire_points(store: Store) -> int:
    """Write expire entries for lots past their date."""
    written = points.expire_due(store)
    log.info("expired %d lots", written)
    return written


def reevaluate_tiers(store: Store) -> int:
    """Nightly: move members to the tier their rolling 12-month spend earns (downgrades too).

    One read of the members and one of the year's purchases find whose tier no longer
    fits; only those are looked at again (a purchase meanwhile may have kept their tier).
    """
    rules = points.load_rules(store)
    changed = 0
    for page in store.spend_pages(utcnow() - points.TIER_WINDOW):
        for member, spend in page:
            if rules.tier_for(spend).name == member.get("tier"):
                continue
            before, after = points.evaluate_tier(store, rules, member["_id"])
            changed += int(before.name != after.name)
    log.info("tier changes: %d", changed)
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
