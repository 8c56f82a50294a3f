"""Daily points jobs: expire lots, warn members 14 days ahead (once), re-evaluate tiers."""

from __future__ import annotations

import logging

from bot import points, rewards
from bot.config import Config
from bot.line_api import LineApi, LineApiError, retry_key_for
from bot.messages import text
from bot.store import Store
from bot.translate import translator_for

log = logging.getLogger(__name__)


def expire_points(store: Store) -> int:
    """Write expire entries for lots past their date."""
    written = points.expire_due(store)
    log.info("expired %d lots", written)
    return written


def send_expiry_notices(store: Store, line: LineApi, config: Config) -> int:
    """Tell each member, once per lot, about points expiring within 14 days."""
    sent = 0
    for member_id, lots in points.lots_to_announce(store):
        member = store.member_by_id(member_id)
        lot_ids = [lot.id for lot in lots]
        if member and member.get("status") == "member" and member.get("reachable", True):
            t = translator_for(member, config)
            lines = [
                t._(
                    "%(points)s points expire on %(date)s. Use them before then!",
                    points=t.number(lot.remaining),
                    date=t.date(lot.expires_at.astimezone(config.tz)),
                )
                for lot in lots
            ]
            try:
                line.push(
                    member["line_user_id"],
                    [text("\n".join(lines))],
                    retry_key=retry_key_for("expiry-notice", *lot_ids),
                )
            except LineApiError as error:
                if not error.permanent:
                    continue  # try again tomorrow; the retry key prevents a double send
            sent += 1
        store.mark_lots_notified(member_id, lot_ids)
    log.info("sent %d expiry notices", sent)
    return sent


def reevaluate_tiers(store: Store) -> int:
    """Nightly: move members to the tier their rolling 12-month spend earns (downgrades too)."""
    rules = points.load_rules(store)
    changed = 0
    for member in store.members_in_status("member", {"_id": 1, "tier": 1}):
        before, after = points.evaluate_tier(store, rules, member["_id"], member.get("tier"))
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
        notice = t._(
            "Your reward code %(code)s expired unused, so %(points)s points are back in your "
            "account.",
            code=redemption["_id"],
            points=t.number(redemption["points"]),
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
