"""Where points are computed and moved: earn, void, adjust, expire, tiers, checks.

Every movement is a ledger entry (bot/store/ledger.py) with an idempotency
key; the rules are pure (bot/loyalty/rules.py) and so is the replay of lots
(bot/loyalty/lots.py). This module joins them with the store.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot import faultpoints
from bot.loyalty.lots import Holdings, replay
from bot.loyalty.member_codes import new_code
from bot.loyalty.rules import Earning, EarnRules, Tier, expiry_date, points_for
from bot.members.behaviour import after_visit, stats_from_purchases
from bot.store import Store, utcnow
from bot.store.ledger import lot_day, lot_days
from bot.store.purchases import spend_since, spend_with

RULES_SETTING = "earn_rules"
TIER_WINDOW = timedelta(days=365)
NOTICE_AHEAD = timedelta(days=14)
TIER_REVIEW = "tier_review"  # where the nightly review left off (`tier_review_record`)
EXPIRY_SWEEP = "lot_expiry_sweep"  # the first UTC date `lot_expiries` still lists
PURCHASE_ID_LENGTH = 8
IDENTICAL_WINDOW = timedelta(minutes=2)  # the same purchase again within it asks first
MIN_PURCHASES_FOR_AVERAGE = 10  # below this, the shop's average purchase means little


def load_rules(store: Store) -> EarnRules:
    """The merchant's rules (cached per process: see `cached_setting`)."""
    return EarnRules.from_dict(store.cached_setting(RULES_SETTING))


def save_rules(store: Store, rules: EarnRules) -> None:
    store.put_setting(RULES_SETTING, rules.to_dict())


def lot_expiry(rules: EarnRules, now: datetime, tz: ZoneInfo) -> datetime | None:
    """Local midnight starting the day points earned `now` expire."""
    day = expiry_date(now.astimezone(tz).date(), rules.expiry_months)
    return datetime.combine(day, time(0), tz).astimezone(UTC) if day else None


def credit(
    store: Store,
    member_id: str,
    amount: int,
    kind: str,
    key: str,
    tz: ZoneInfo,
    rules: EarnRules | None = None,
    in_debt: bool | None = None,
    **fields,
) -> tuple[dict, bool]:
    """A positive movement: a lot that expires per the rules."""
    expires = lot_expiry(rules or load_rules(store), utcnow(), tz)
    entry, created = store.append_ledger(
        member_id, amount, kind, key=key, expires_at=expires, **fields
    )
    if created:
        store.roll_ledger(entry)  # once: only the writer that created the entry
    if in_debt is None:
        in_debt = store.member_by_id(member_id)["points"] < amount
    # A new lot starts full unless it paid off debt; only then do cached lots move.
    if created and in_debt:
        refresh_lots(store, member_id)
    return entry, created


def debit(
    store: Store, member_id: str, amount: int, kind: str, key: str, **fields
) -> tuple[dict, bool]:
    """A negative movement of `amount` points (give a positive number)."""
    entry, created = store.append_ledger(member_id, -abs(amount), kind, key=key, **fields)
    if created:
        store.roll_ledger(entry)
        refresh_lots(store, member_id)
    return entry, created


def holdings(store: Store, member_id: str) -> Holdings:
    return replay(store.ledger_for(member_id))


def refresh_lots(store: Store, member_id: str) -> Holdings:
    """Bring the cached `remaining` of each lot in line with the replay."""
    entries = store.ledger_for(member_id)
    held = replay(entries)
    cached = {e["_id"]: e.get("remaining") for e in entries if e["amount"] > 0}
    for lot in held.lots.values():
        if cached.get(lot.id) != lot.remaining:
            store.set_lot_remaining(member_id, lot.id, lot.remaining)
    return held


def award_signup_bonus(store: Store, member_id: str, tz: ZoneInfo) -> int:
    """Credit the joining bonus once per member, however often signup completes."""
    amount = load_rules(store).signup_bonus
    if amount > 0:
        credit(store, member_id, amount, "bonus", f"signup:{member_id}", tz, reason="signup")
    return max(amount, 0)


# -- purchases -----------------------------------------------------------------


@dataclass
class EarnResult:
    purchase: dict | None
    earning: Earning | None  # None when the purchase had been recorded before
    balance: int
    tier_before: Tier | None = None
    tier_after: Tier | None = None
    duplicate_of: str | None = None
    refused: str | None = None  # the coupon's problem: unknown, used, expired, min-spend
    already: bool = False  # this earn's key had recorded the purchase before

    @property
    def upgraded(self) -> bool:
        return bool(self.tier_after and self.tier_before) and (
            self.tier_after.min_spend > self.tier_before.min_spend
        )


def new_purchase_id() -> str:
    return new_code(PURCHASE_ID_LENGTH)


def large_purchase_flag(rules: EarnRules, amount: int, totals: tuple[int, int]) -> dict | None:
    """What to record on a purchase of `flag_factor` times the shop's average or more."""
    count, total = totals
    if not rules.flag_factor or count < MIN_PURCHASES_FOR_AVERAGE:
        return None
    average = total // count
    if amount < rules.flag_factor * average:
        return None
    return {"reason": "large", "average": average, "factor": rules.flag_factor}


def purchase_document(
    purchase_id: str,
    member_id: str,
    amount: int,
    branch: str | None,
    staff_id: str,
    local: datetime,
    earning: Earning,
    tier: str,
) -> dict:
    """A purchase as it is stored (before receipt, key, coupon and flag): the one shape
    the counter and the demo history both write."""
    return {
        "_id": purchase_id,
        "member_id": member_id,
        "amount": amount,
        "branch": branch,
        "staff": staff_id,
        "receipt": None,
        "points": earning.points,
        "local_hour": local.hour,
        "local_weekday": local.weekday(),
        "local_date": local.date().isoformat(),
        "promotion": earning.promotion.id if earning.promotion else None,
        "tier": tier,
        "key": None,
        "coupon": None,
        "flag": None,
    }


def earn(
    store: Store,
    member: dict,
    amount: int,
    branch: str | None,
    staff_id: str,
    receipt: str | None,
    tz: ZoneInfo,
    *,
    purchase_id: str | None = None,
    key: str | None = None,
    coupon: str | None = None,
) -> EarnResult:
    """Record a purchase and credit its points; a repeated receipt is refused.

    With a `purchase_id` already recorded (a redelivered earn), the purchase is
    finished, never recorded twice: its stats count once and its points are a
    ledger entry keyed by the purchase.
    """
    rules = load_rules(store)
    now = utcnow()
    local = now.astimezone(tz)
    tier = rules.tier_named(member.get("tier"))
    earning = points_for(rules, amount, branch, local, tier)
    purchase_id = purchase_id or new_purchase_id()
    if receipt:
        taken_by = store.claim_receipt(branch, receipt, purchase_id)
        if taken_by not in (None, purchase_id):
            return EarnResult(None, None, member.get("points", 0), duplicate_of=taken_by)
    purchase = purchase_document(
        purchase_id, member["_id"], amount, branch, staff_id, local, earning, tier.name
    )
    purchase.update(
        receipt=receipt,
        key=key,
        coupon=coupon,
        flag=large_purchase_flag(rules, amount, store.purchase_totals()),
    )
    purchase, created = store.insert_purchase(purchase)
    faultpoints.reached("earn.after_purchase")
    counted = None  # the member after a new purchase was counted in one write
    if purchase["status"] == "active":
        store.roll_purchase(purchase)  # keyed by purchase: report rollups (bot/analytics)
        if created:
            counted = _count_new(store, member, purchase, rules, tz)
        if counted is None:  # redelivered, or the member moved meanwhile: the long way
            store.record_visit(member["_id"], purchase)
            if purchase["points"] > 0:
                credit(
                    store,
                    member["_id"],
                    purchase["points"],
                    "earn",
                    f"purchase:{purchase_id}",
                    tz,
                    rules,
                    in_debt=member.get("points", 0) < 0 if created else None,
                    purchase_id=purchase_id,
                    branch=purchase["branch"],
                )
    # An upgrade at the counter is announced in the member's receipt (handlers/earn.py).
    if counted is not None:
        before = rules.tier_named(member.get("tier"))
        after = rules.tier_for(spend_since(counted["tier_spend"], utcnow() - TIER_WINDOW))
        if after.name != counted.get("tier"):
            store.set_tier(member["_id"], after.name, announced=True)
        return EarnResult(purchase, earning, counted["points"], before, after)
    before, after = evaluate_tier(store, rules, member["_id"], member.get("tier"), announced=True)
    balance = store.member_by_id(member["_id"])["points"]
    if not created:
        return EarnResult(purchase, None, balance, before, after, already=True)
    return EarnResult(purchase, earning, balance, before, after)


def _count_new(
    store: Store, member: dict, purchase: dict, rules: EarnRules, tz: ZoneInfo
) -> dict | None:
    """A new purchase counted in one write of the member as read (`member`): its points,
    stats, last purchase and tier spend. Returns the member after, or None if the member
    changed since it was read (the caller then takes the long way)."""
    now = utcnow()
    since = now - TIER_WINDOW
    spend = member.get("tier_spend")
    if spend is None:  # the first earn since a void, a rebuild or an earn the long way
        spend = store.tier_spend_from_purchases(member["_id"], since)
    stats = member.get("stats") or {}
    last = {key: purchase.get(key) for key in ("_id", "amount", "branch", "receipt", "created_at")}
    update = {
        "$set": {
            "stats": after_visit(stats, purchase),
            "last_purchase": last,
            "tier_spend": spend_with(spend, purchase["created_at"], purchase["amount"], since),
        },
        "$addToSet": {"purchase_ids": purchase["_id"]},
    }
    condition = {"stats.rev": stats.get("rev"), "last_purchase._id": {"$ne": purchase["_id"]}}
    entry, after = store.append_and_update(
        member,
        max(purchase["points"], 0),
        "earn",
        f"purchase:{purchase['_id']}",
        update,
        condition,
        expires_at=lot_expiry(rules, now, tz),
        purchase_id=purchase["_id"],
        branch=purchase["branch"],
    )
    if entry is not None:
        store.roll_ledger(entry)  # once: its key is new
    if after is not None and entry is not None and member.get("points", 0) < 0:
        refresh_lots(store, member["_id"])  # the new lot paid off debt
    return after


def recent_identical(
    store: Store, member: dict, amount: int, branch: str | None, receipt: str | None, key: str
) -> dict | None:
    """The member's active purchase of the same amount at the same branch in the last 2 minutes.

    Purchases with a receipt number are told apart by it (a repeated one is
    refused); the purchase this earn's `key` recorded is not "another". Read from
    the summary on the member document, so the check costs no query unless it matches.
    """
    last = member.get("last_purchase") or {}
    if (
        receipt
        or last.get("receipt")
        or (last.get("amount"), last.get("branch")) != (amount, branch)
    ):
        return None
    if last["created_at"] < utcnow() - IDENTICAL_WINDOW:
        return None
    previous = store.purchase(last["_id"])
    if previous is None or previous["status"] != "active" or previous.get("key") == key:
        return None  # voided, or this very earn (a redelivery or a second tap)
    return previous


@dataclass
class VoidResult:
    purchase: dict | None
    reversed_points: int
    balance: int
    refused: str | None = None  # "unknown", "already-voided" or "other-branch"


def rebuild_stats(store: Store, member_id: str, tz: ZoneInfo) -> dict:
    """Recompute a member's stats from their active purchases."""
    stats = stats_from_purchases(store.active_purchases(member_id), tz)
    store.replace_stats(member_id, stats)
    return stats


def void(
    store: Store, purchase_id: str, by: str, tz: ZoneInfo, only_branch: str | None = None
) -> VoidResult:
    """Reverse a purchase and its points once; the balance may go negative.

    `only_branch`: the voider may only reverse that branch's purchases (staff of a branch).
    """
    existing = store.purchase(purchase_id)
    if existing is None:
        return VoidResult(None, 0, 0, refused="unknown")
    if only_branch and existing.get("branch") != only_branch:
        return VoidResult(existing, 0, 0, refused="other-branch")
    purchase = store.void_purchase(purchase_id, by)
    if purchase is None:
        return VoidResult(existing, 0, 0, refused="already-voided")
    member_id = purchase["member_id"]
    store.roll_purchase(purchase, remove=True)
    if purchase["points"]:
        lot = next(
            (
                e["_id"]
                for e in store.ledger_for(member_id)
                if e["key"] == f"purchase:{purchase_id}"
            ),
            None,
        )
        debit(
            store,
            member_id,
            purchase["points"],
            "reverse",
            f"void:{purchase_id}",
            lot_id=lot,
            purchase_id=purchase_id,
        )
    rebuild_stats(store, member_id, tz)
    evaluate_tier(store, load_rules(store), member_id)
    balance = store.member_by_id(member_id)["points"]
    return VoidResult(purchase, purchase["points"], balance)


def adjust(
    store: Store, member_id: str, delta: int, reason: str, by: str, key: str, tz: ZoneInfo
) -> int:
    """An owner's correction, as a new entry; returns the new balance."""
    if delta > 0:
        credit(store, member_id, delta, "adjust", key, tz, reason=reason, by=by)
    else:
        debit(store, member_id, -delta, "adjust", key, reason=reason, by=by)
    return store.member_by_id(member_id)["points"]


# -- tiers ---------------------------------------------------------------------


def evaluate_tier(
    store: Store,
    rules: EarnRules,
    member_id: str,
    current: str | None = None,
    announced: bool = False,
) -> tuple[Tier, Tier]:
    """Set the tier the rolling 12-month spend earns; returns (before, after).

    Unless the caller announces it, the change is left to the tier-change journey.
    """
    if current is None:
        current = store.member_by_id(member_id).get("tier")
    before = rules.tier_named(current)
    spend = store.rolling_spend(member_id, utcnow() - TIER_WINDOW)
    after = rules.tier_for(spend)
    if after.name != current:
        store.set_tier(member_id, after.name, announced=announced)
    return before, after


def tier_thresholds(rules: EarnRules) -> dict[str, int]:
    """What decides a member's tier: each tier's spend by name (not its factor)."""
    return {tier.name: tier.min_spend for tier in rules.tiers}


def tier_review_record(rules: EarnRules, now: datetime) -> dict:
    """What the next review starts from: the thresholds and the window it left off at."""
    return {
        "tiers": tier_thresholds(rules),
        "window_start": (now - TIER_WINDOW).isoformat(),
        "reviewed_at": now.isoformat(),
    }


def spend_to_next_tier(store: Store, rules: EarnRules, member_id: str) -> tuple[Tier | None, int]:
    spend = store.rolling_spend(member_id, utcnow() - TIER_WINDOW)
    following = rules.next_tier(spend)
    return following, (following.min_spend - spend) if following else 0


# -- expiry --------------------------------------------------------------------


def expire_due(store: Store) -> int:
    """Write an expire entry for every lot past its date with points left.

    The members to look at come from `lot_expiries`, read by date from the first day
    the last run left listed up to today; the days before today are then done. The
    first run on a database reads the ledger once instead, and lists the lots still
    open (a database from before the lists, or restored without them).
    """
    now = utcnow()
    today = now.date()
    swept = store.get_setting(EXPIRY_SWEEP)
    if swept is None:
        members, later = set(), defaultdict(set)
        for member_id, expires_at in store.open_lots():
            if expires_at <= now:
                members.add(member_id)
            else:
                later[lot_day(expires_at)].add(member_id)
        store.add_lot_days(later)
        members, done = sorted(members), []
    else:
        first = min(date.fromisoformat(swept), today)
        done = lot_days(first, today - timedelta(days=1))
        members = sorted(store.members_with_lots_expiring([*done, today.isoformat()]))
    written = 0
    for member_id in members:
        written += _expire_member(store, member_id, now)
    store.forget_lot_expiries(done)
    store.put_setting(EXPIRY_SWEEP, today.isoformat())
    return written


def _expire_member(store: Store, member_id: str, now: datetime) -> int:
    written = 0
    for lot in holdings(store, member_id).open_lots():
        if lot.expires_at is not None and lot.expires_at <= now:
            _entry, created = debit(
                store, member_id, lot.remaining, "expire", f"expire:{lot.id}", lot_id=lot.id
            )
            written += int(created)
    refresh_lots(store, member_id)  # also mends a cached `remaining` that fell behind
    return written


def lots_to_announce(store: Store) -> list[tuple[str, list]]:
    """(member id, lots) whose points expire within 14 days and were not announced."""
    now = utcnow()
    swept = store.get_setting(EXPIRY_SWEEP)
    if swept is None:  # the lists are not trusted before the first expiry run
        candidates = store.members_with_lots_due(now + NOTICE_AHEAD, notified=False)
    else:
        first = min(date.fromisoformat(swept), now.date())
        days = lot_days(first, (now + NOTICE_AHEAD).date())
        candidates = sorted(store.members_with_lots_expiring(days))
    due = []
    for member_id in candidates:
        entries = store.ledger_for(member_id)
        notified = {e["_id"] for e in entries if e.get("expiry_notified")}
        lots = [
            lot
            for lot in replay(entries).expiring_between(now, now + NOTICE_AHEAD)
            if lot.id not in notified
        ]
        if lots:
            due.append((member_id, lots))
    return due


# -- consistency ---------------------------------------------------------------


def check_ledger(store: Store) -> list[str]:
    """Every balance must equal the sum of its ledger; returns the differences.

    One pass over the ledger in member order and one over the members' balances,
    so it takes the same time for 2,000 members as a per-member query would for 20.
    """
    balances = {
        doc["_id"]: doc.get("points", 0)
        for page in store.member_pages({}, {"points": 1})
        for doc in page
    }
    problems = []
    for member_id, entries in store.ledger_by_member():
        total = sum(e["amount"] for e in entries)
        if member_id not in balances:
            problems.append(f"{member_id}: ledger entries without a member")
            continue
        if balances[member_id] != total:
            problems.append(f"{member_id}: balance {balances[member_id]} != ledger sum {total}")
        held = replay(entries)
        if held.balance != total:
            problems.append(f"{member_id}: lots hold {held.balance} != ledger sum {total}")
    return problems
