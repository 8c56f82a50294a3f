"""A merchant with a history: members, six months of purchases, points, rewards, campaigns.

`generate` writes the demo tea shop's past as the real code would have written it, but
in bulk: documents are built in memory and inserted in chunks, because thousands of
earns through the per-event paths would take many minutes on the dev server. What it
writes must stay consistent with that code, and the tests check it: every balance is
its ledger's sum with lots replayed (`check-ledger`), stats equal a rebuild from
purchases (`rebuild-stats --check`), rollups equal a rebuild, and deliveries, batches
and outcomes have the shapes `bot/marketing/audience.py` and the sender give them.

Deterministic: the same seed, size and `now` give the same documents (each member's
past comes from their own random stream). Idempotent: a finished history is marked
in settings and not written again; an interrupted one is completed (inserts of
existing `_id`s are skipped).

Who buys (shares of members; each behaviour has its own days, hours and tickets):
regulars every few days in the morning, afternoon visitors on weekdays 14–16 (the
double-points window), weekend families, one-time buyers, members who stopped coming
after a couple of months, a few big spenders, and occasional visitors. Three campaigns:
a win-back with a coupon whose treatment group really came back more than its holdout,
a menu announcement with no effect, and one scheduled for next Monday.
"""

from __future__ import annotations

import hashlib
import random
from array import array
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from pymongo.errors import BulkWriteError

from bot.analytics import rollups
from bot.loyalty import lots
from bot.loyalty.member_codes import ALPHABET
from bot.loyalty.points import (
    EXPIRY_SWEEP,
    TIER_REVIEW,
    lot_expiry,
    purchase_document,
    save_rules,
    tier_review_record,
)
from bot.loyalty.rules import EarnRules, Promotion, points_for
from bot.marketing import campaigns, rfm
from bot.members import privacy
from bot.members.behaviour import stats_from_purchases
from bot.store import Store
from bot.store.ledger import lot_day

MARKER = "demo_history"
CHUNK = 500  # members built and inserted at a time
INSERT_CHUNK = 2000
KEEP_PEOPLE = 20_000  # members whose drawn past is kept between the two passes
BATCH_SIZE = 500  # as bot/marketing/audience.py
MAX_BATCH_MEMBERS = 2000

BRANCHES = ("asoke", "siam", "ratchada", "ari")
BRANCH_WEIGHTS = (35, 30, 20, 15)
PROMOTION = Promotion(id="TEA2", factor=2.0, days=(0, 1, 2, 3, 4), start="14:00", end="16:00")
REWARDS = (
    ("W2TEA", 100, 500, {"default": "Free Thai tea", "th": "ชาไทยฟรี", "zh_Hant": "免費泰式奶茶"}),
    ("W3TOP", 40, None, {"default": "Free topping", "th": "ท็อปปิ้งฟรี", "zh_Hant": "免費配料"}),
    ("W4CKE", 180, 200, {"default": "Slice of cake", "th": "เค้กหนึ่งชิ้น", "zh_Hant": "一片蛋糕"}),
    ("W5MUG", 400, 60, {"default": "Samachik mug", "th": "แก้วสมาชิก", "zh_Hant": "會員馬克杯"}),
    ("W6BAG", 600, 30, {"default": "Tote bag", "th": "กระเป๋าผ้า", "zh_Hant": "帆布袋"}),
    (
        "W7SET",
        900,
        20,
        {
            "default": "Afternoon tea for two",
            "th": "ชุดน้ำชายามบ่ายสำหรับสองท่าน",
            "zh_Hant": "雙人下午茶",
        },
    ),
)
SEGMENTS = (("afternoon", "hour:14-16 dow:mon-fri"), ("lapsed", "lapsed:30d"))

# behaviour: (share, days between visits (low, high), ticket in baht (low, high))
BEHAVIOURS = {
    "regular": (0.10, (1, 4), (55, 140)),
    "afternoon": (0.18, (2, 6), (70, 160)),
    "weekend": (0.12, (6, 12), (250, 600)),
    "one_time": (0.25, None, (60, 180)),
    "lapsed": (0.22, (3, 8), (60, 160)),
    "big": (0.05, (8, 14), (800, 2500)),
    "occasional": (0.08, (20, 40), (60, 200)),
}
WINBACK = {"id": "KWB01", "days_ago": 20, "holdout": 0.25, "coupon": 3000, "lapsed_days": 30}
NEWS = {"id": "KNW01", "days_ago": 45, "holdout": 0.1}
SCHEDULED = {"id": "KAT01"}
# In the win-back window, how many came back: treatment really more than holdout.
CAME_BACK = {"treatment": 0.30, "holdout": 0.06}


def _code(prefix: str, number: int, length: int) -> str:
    digits = []
    for _ in range(length):
        number, rest = divmod(number, len(ALPHABET))
        digits.append(ALPHABET[rest])
    return prefix + "".join(reversed(digits))


def _member_id(seed: int, index: int) -> str:
    return hashlib.sha1(f"demo:{seed}:{index}".encode()).hexdigest()[:24]


@dataclass
class Person:
    """One member's past, drawn from their own random stream."""

    index: int
    member_id: str
    behaviour: str
    joined_at: datetime
    locale: str
    opt_in: bool
    reachable: bool
    home: str
    profile: dict
    visits: list[tuple[datetime, int, str]] = field(default_factory=list)  # (at, amount, branch)
    coupon_visit: int | None = None  # index in visits paid with the win-back coupon
    groups: dict = field(default_factory=dict)  # campaign id → delivery status


class History:
    def __init__(self, store: Store, tz: ZoneInfo, now: datetime, seed: int, months: int):
        self.store, self.tz, self.now, self.seed = store, tz, now, seed
        self.start = now - timedelta(days=round(months * 30.4))
        self.rules = EarnRules(promotions=(PROMOTION,))
        today = now.astimezone(tz).date()
        self.winback_at = self._local(today - timedelta(days=WINBACK["days_ago"]), 10)
        self.news_at = self._local(today - timedelta(days=NEWS["days_ago"]), 10)
        self.counters = Counter()
        self.coupon_uses: dict[str, tuple[str, datetime]] = {}  # code → (purchase, when)

    def _local(self, day: date, hour: int, minute: int = 0) -> datetime:
        return datetime.combine(day, time(hour, minute), self.tz).astimezone(UTC)

    # -- one member's past ------------------------------------------------------------------

    def person(self, index: int) -> Person:
        rng = random.Random(f"{self.seed}:{index}")
        names = list(BEHAVIOURS)
        behaviour = rng.choices(names, weights=[BEHAVIOURS[n][0] for n in names])[0]
        span = (self.now - self.start).total_seconds()
        joined = self.start + timedelta(seconds=span * rng.random() ** 2)
        born = date(rng.randint(1962, 2006), rng.randint(1, 12), rng.randint(1, 28))
        locale = rng.choices(("th", "en", "zh_Hant"), weights=(60, 25, 15))[0]
        person = Person(
            index=index,
            member_id=_member_id(self.seed, index),
            behaviour=behaviour,
            joined_at=joined,
            locale=locale,
            opt_in=rng.random() < 0.8,
            reachable=rng.random() < 0.96,
            home=rng.choices(BRANCHES, weights=BRANCH_WEIGHTS)[0],
            profile={
                "first_name": rng.choice(FIRST_NAMES),
                "last_name": rng.choice(LAST_NAMES),
                "gender": rng.choices(
                    ("female", "male", "other", "unspecified"), weights=(55, 38, 3, 4)
                )[0],
                "birthday": born.isoformat(),
                "birth_month": born.month,
                "phone": f"+6689{index:07d}",
            },
        )
        person.visits = self._visits(rng, person)
        self._campaigns(rng, person)
        return person

    def _visits(self, rng: random.Random, person: Person) -> list:
        _share, gaps, (low, high) = BEHAVIOURS[person.behaviour]
        local_join = person.joined_at.astimezone(self.tz)
        day = local_join.date()
        last = self.now.astimezone(self.tz).date()
        stop = last
        if person.behaviour == "lapsed":
            stop = min(last, day + timedelta(days=rng.randint(40, 90)))
        visits = []
        first = True
        while day <= stop:
            day = self._shift(rng, person.behaviour, day)
            if day > stop:
                break
            at = self._moment(rng, person.behaviour, day, local_join if first else None)
            if at is not None and at <= self.now:
                amount = rng.randint(low // 5, high // 5) * 500  # whole ฿5 steps
                branch = person.home if rng.random() < 0.85 else rng.choice(BRANCHES)
                visits.append((at, amount, branch))
            first = False
            if gaps is None:
                break
            day += timedelta(days=rng.randint(*gaps))
        return visits

    @staticmethod
    def _shift(rng: random.Random, behaviour: str, day: date) -> date:
        """Move a visit day to one the behaviour shops on."""
        if behaviour == "afternoon":
            while day.weekday() >= 5:
                day += timedelta(days=1)
        elif behaviour == "weekend":
            while day.weekday() < 5:
                day += timedelta(days=1)
        return day

    def _moment(self, rng, behaviour: str, day: date, not_before) -> datetime | None:
        if behaviour == "regular":
            hour = rng.choice((7, 8, 8, 9, 9, 10, 12, 13))
        elif behaviour == "afternoon":
            hour = rng.choice((14, 15))
        elif behaviour == "weekend":
            hour = rng.randint(11, 17)
        else:
            hour = rng.randint(10, 20)
        at = self._local(day, hour, rng.randint(0, 59))
        if not_before is not None and at < not_before:
            at = (not_before + timedelta(minutes=rng.randint(5, 90))).astimezone(UTC)
            if at.astimezone(self.tz).date() != day:
                return None
        return at

    def _campaigns(self, rng: random.Random, person: Person) -> None:
        """Who each past campaign targeted, and who the win-back brought back."""
        for spec, at in ((NEWS, self.news_at), (WINBACK, self.winback_at)):
            if person.joined_at > at:
                continue
            before = [v for v in person.visits if v[0] < at]
            if spec is WINBACK:
                lapsed_since = at - timedelta(days=WINBACK["lapsed_days"])
                if not before or before[-1][0] >= lapsed_since:
                    continue  # the audience is lapsed:30d
            status = self._status(spec, person)
            person.groups[spec["id"]] = status
            if spec is not WINBACK or status in ("skipped_optout", "skipped_blocked"):
                continue
            group = "holdout" if status == "holdout" else "treatment"
            if rng.random() < CAME_BACK[group]:
                when = at + timedelta(hours=rng.randint(12, 150), minutes=rng.randint(0, 59))
                _s, _g, (low, high) = BEHAVIOURS[person.behaviour]
                amount = rng.randint(low // 5, high // 5) * 500
                person.visits.append((when, amount, person.home))
                person.visits.sort()
                if group == "treatment" and status == "sent" and rng.random() < 0.8:
                    person.coupon_visit = person.visits.index((when, amount, person.home))
        if rng.random() < 0.01 and person.groups.get(WINBACK["id"]) == "sent":
            person.groups[WINBACK["id"]] = "failed"

    @staticmethod
    def _status(spec: dict, person: Person) -> str:
        """As bot/marketing/audience.py decides it."""
        if not person.reachable:
            return "skipped_blocked"
        if not person.opt_in:
            return "skipped_optout"
        if campaigns.in_holdout(spec["id"], person.member_id, spec["holdout"]):
            return "holdout"
        return "sent"


FIRST_NAMES = (
    "Somchai", "Somsak", "Malee", "Suda", "Niran", "Pim", "Kanya", "Arthit", "Nok", "Ploy",
    "Alice", "Ben", "Chloe", "David", "Emma", "Mei", "Wei", "Yu-Ting", "Chen", "Hao",
)  # fmt: skip
LAST_NAMES = (
    "Saetang", "Srisuk", "Wongsa", "Chaiyaporn", "Boonmee", "Smith", "Brown", "Lin", "Wang",
    "Chang",
)  # fmt: skip


@dataclass
class Summary:
    members: int = 0
    followers: int = 0
    purchases: int = 0
    revenue: int = 0  # minor units, every purchase
    ledger: int = 0
    redemptions: int = 0
    coupons: int = 0
    skipped: bool = False


def generate(
    store: Store,
    *,
    now: datetime,
    tz: ZoneInfo,
    members: int = 2000,
    months: int = 6,
    seed: int = 7,
    owner: str | None = None,
) -> Summary:
    """Write the demo merchant's past once (see the module docstring)."""
    done = store.get_setting(MARKER)
    if done:
        kept = {k: v for k, v in done.items() if k in Summary.__dataclass_fields__}
        return Summary(**{**kept, "skipped": True})
    history = History(store, tz, now, seed, months)
    _basics(store, history, owner)
    # Each member's past is drawn twice (RFM cut-offs need everyone first) unless it
    # fits in memory: kept for the demo's size, drawn again for the benchmark's.
    kept: dict[int, Person] | None = {} if members <= KEEP_PEOPLE else None
    scores = _rfm(history, members, kept)
    summary = Summary()
    stock = {reward_id: left for reward_id, _p, left, _n in REWARDS}
    audiences: dict[str, list[tuple[str, str]]] = {WINBACK["id"]: [], NEWS["id"]: []}
    # Rollups, the member snapshot's fields and the shop's totals, built as the
    # documents are: reading them all back would take longer than writing them.
    days, moves, counted, expiring = {}, {}, [], defaultdict(set)
    for first in range(0, members, CHUNK):
        people = [
            kept.pop(i) if kept is not None else history.person(i)
            for i in range(first, min(first + CHUNK, members))
        ]
        _write_people(
            store, history, people, scores, stock, summary, (days, moves, counted, expiring)
        )
        for person in people:
            for campaign_id, status in person.groups.items():
                audiences[campaign_id].append((person.member_id, status))
    summary.coupons = _write_campaigns(store, history, audiences, owner)
    summary.followers = _write_followers(store, history, max(members // 7, 1), counted)
    _write_stock(store, stock)
    summary.members = members
    store.set_purchase_totals(summary.purchases, summary.revenue)
    rollups.write(store, days, moves)
    rollups.refresh_members(store, tz, now, members=counted)
    # As the worker leaves them after a night: open lots listed by the day they expire,
    # tiers reviewed (they are computed as of now).
    store.add_lot_days(expiring)
    store.put_setting(EXPIRY_SWEEP, min([*expiring, now.astimezone(UTC).date().isoformat()]))
    store.put_setting(TIER_REVIEW, tier_review_record(history.rules, now))
    store.put_setting(MARKER, {**summary.__dict__, "seed": seed, "at": now})
    return summary


# -- merchant ---------------------------------------------------------------------------------


def _basics(store: Store, history: History, owner: str | None) -> None:
    save_rules(store, history.rules)
    for reward_id, cost, left, names in REWARDS:
        store.db.rewards.replace_one(
            {"_id": reward_id},
            {
                "_id": reward_id,
                "points": cost,
                "stock": left,
                "taken": 0,
                "active": True,
                "names": names,
                "created_at": history.start,
            },
            upsert=True,
        )
    for name, filters in SEGMENTS:
        store.save_segment(name, filters, owner or "demo")


# -- RFM (the nightly job's scores, computed over everyone first) -------------------------------


def _rfm(history: History, members: int, kept: dict | None) -> list:
    recency, frequency, monetary = array("l"), array("l"), array("q")
    for index in range(members):
        person = history.person(index)
        if kept is not None:
            kept[index] = person
        visits = person.visits
        if visits:
            recency.append((history.now - visits[-1][0]).days)
            frequency.append(len(visits))
            monetary.append(sum(v[1] for v in visits))
    return [rfm.thresholds(values) for values in (recency, frequency, monetary)]


def _scores(history: History, cuts: list, visits: list) -> dict | None:
    if not visits:
        return None
    r = rfm.score((history.now - visits[-1][0]).days, cuts[0], higher_is_better=False)
    f = rfm.score(len(visits), cuts[1])
    m = rfm.score(sum(v[1] for v in visits), cuts[2])
    return {"r": r, "f": f, "m": m, "group": rfm.group(r, f, m), "scored_at": history.now}


# -- members, purchases, points ------------------------------------------------------------------


def _write_people(store, history, people: list[Person], cuts, stock, summary, sums) -> None:
    """Members with their documents, and the `_id` lookups the per-event paths read
    (LINE id → member, each key → its entry or redemption), as those paths write them."""
    docs = {name: [] for name in ("members", "purchases", "ledger", "redemptions")}
    codes, phones, lines = [], [], []
    for person in people:
        member, purchases, ledger, redemptions = _member_past(history, person, cuts, stock)
        docs["members"].append(member)
        docs["purchases"] += purchases
        docs["ledger"] += ledger
        docs["redemptions"] += redemptions
        codes.append({"_id": member["code"], "member_id": person.member_id})
        phones.append({"_id": person.profile["phone"], "member_id": person.member_id})
        lines.append(_line_link(member))
    lookups = (
        ("member_codes", codes),
        ("member_phones", phones),
        ("member_lines", lines),
        ("ledger_keys", [{"_id": e["key"], "entry_id": e["_id"]} for e in docs["ledger"]]),
        ("redemption_keys", [{"_id": r["key"], "doc_id": r["_id"]} for r in docs["redemptions"]]),
    )
    for name, rows in (*docs.items(), *lookups):
        _insert(store, name, rows)
    rollups.day_rollups_from(docs["purchases"], into=sums[0])
    rollups.points_rollups_from(docs["ledger"], into=sums[1])
    sums[2].extend(_snapshot_fields(member) for member in docs["members"])
    for entry in docs["ledger"]:
        if entry.get("remaining") and entry.get("expires_at"):
            sums[3][lot_day(entry["expires_at"])].add(entry["member_id"])
    summary.purchases += len(docs["purchases"])
    summary.revenue += sum(p["amount"] for p in docs["purchases"])
    summary.ledger += len(docs["ledger"])
    summary.redemptions += len(docs["redemptions"])


def _member_past(history: History, person: Person, cuts, stock):
    """One member's documents, as signup, earns and redemptions would have written them."""
    rng = random.Random(f"{history.seed}:{person.index}:points")
    rules, tz, mid = history.rules, history.tz, person.member_id
    ledger: list[dict] = []
    balance = 0

    def move(amount: int, kind: str, key: str, at: datetime, **fields) -> None:
        nonlocal balance
        entry = {
            **fields,
            "_id": f"{mid}:{len(ledger) + 1}",
            "member_id": mid,
            "seq": len(ledger) + 1,
            "amount": amount,
            "kind": kind,
            "key": key,
            "created_at": at,
        }
        if amount > 0:
            entry["expires_at"] = lot_expiry(rules, at, tz)
        ledger.append(entry)
        balance += amount

    move(rules.signup_bonus, "bonus", f"signup:{mid}", person.joined_at, reason="signup")
    purchases, redemptions = [], []
    spend, tier, tier_since = 0, rules.tiers[0], person.joined_at
    for number, (at, amount, branch) in enumerate(person.visits):
        history.counters["purchase"] += 1
        purchase_id = _code("D", history.counters["purchase"], 7)
        local = at.astimezone(tz)
        earning = points_for(rules, amount, branch, local, tier)
        purchase = purchase_document(
            purchase_id, mid, amount, branch, "demo-staff", local, earning, tier.name
        )
        purchase.update(status="active", created_at=at)
        if number == person.coupon_visit:
            code = coupon_code(person.member_id)
            purchase["coupon"] = code
            history.coupon_uses[code] = (purchase_id, at)
        purchases.append(purchase)
        move(
            earning.points,
            "earn",
            f"purchase:{purchase_id}",
            at,
            purchase_id=purchase_id,
            branch=branch,
        )
        spend += amount
        reached = rules.tier_for(spend)  # all of it within 12 months
        if reached != tier:
            tier, tier_since = reached, at
        redemption = _maybe_redeem(history, rng, person, at, branch, balance, stock)
        if redemption is not None:
            redemptions.append(redemption)
            code = redemption["_id"]
            move(
                -redemption["points"],
                "redeem",
                f"redeem:{code}",
                redemption["created_at"],
                redemption=code,
                reward_id=redemption["reward_id"],
            )
    held = lots.replay(ledger)
    for entry in ledger:
        if entry["amount"] > 0:
            entry["remaining"] = held.lots[entry["_id"]].remaining
    member = _member_doc(history, person, balance, len(ledger), tier.name, tier_since)
    # The ids a member's own documents are read by (`bot/store/members.py` OWNED).
    coupons = [coupon_code(mid)] if person.groups.get(WINBACK["id"]) == "sent" else []
    for field_name, ids in (
        ("purchase_ids", [p["_id"] for p in purchases]),
        ("redemption_ids", [r["_id"] for r in redemptions]),
        ("coupon_ids", coupons),
    ):
        if ids:
            member[field_name] = ids
    stats = stats_from_purchases(purchases, tz) if purchases else None
    if stats:
        member["stats"] = {**stats, "rev": 0}
        last = purchases[-1]
        member["last_purchase"] = {
            k: last[k] for k in ("_id", "amount", "branch", "receipt", "created_at")
        }
        member["rfm"] = _scores(history, cuts, person.visits)
    return member, purchases, ledger, redemptions


def _line_link(member: dict) -> dict:
    return {
        "_id": member["line_user_id"],
        "member_id": member["_id"],
        "created_at": member["created_at"],
    }


def _snapshot_fields(member: dict) -> dict:
    """What the member snapshot counts of a member (`rollups.MEMBER_FIELDS`)."""
    kept = {k: member[k] for k in ("status", "joined_at", "tier", "points", "rfm") if k in member}
    stats = member.get("stats")
    if stats:
        kept["stats"] = {k: stats[k] for k in ("visits", "spend", "first_visit") if k in stats}
    return kept


def coupon_code(member_id: str) -> str:
    """The win-back coupon of a member (one per member, so derived from the member)."""
    return _code("C", int(hashlib.sha1(member_id.encode()).hexdigest()[:10], 16), 7)


def _maybe_redeem(history, rng, person, at, branch, balance, stock) -> dict | None:
    """Now and then a member spends points on a reward they can afford (used at once)."""
    affordable = [
        (reward_id, cost, names)
        for reward_id, cost, _left, names in REWARDS
        if cost <= balance and (stock[reward_id] is None or stock[reward_id] > 0)
    ]
    if not affordable or rng.random() > 0.1:
        return None
    reward_id, cost, names = rng.choices(affordable, weights=[c for _r, c, _n in affordable])[0]
    if stock[reward_id] is not None:
        stock[reward_id] -= 1
    history.counters["redemption"] += 1
    created = at + timedelta(minutes=2)
    return {
        "_id": _code("R", history.counters["redemption"], 7),
        "key": f"redeem:{person.member_id}:demo{history.counters['redemption']}",
        "member_id": person.member_id,
        "reward_id": reward_id,
        "reward_names": names,
        "points": cost,
        "branch": None,
        "status": "used",
        "stock_taken": True,
        "created_at": created,
        "issued_at": created,
        "expires_at": created + timedelta(minutes=15),
        "used_at": created + timedelta(minutes=3),
        "used_by": "demo-staff",
        "used_branch": branch,
    }


def _member_doc(history, person: Person, balance, seq, tier, tier_since) -> dict:
    consents = [
        {**privacy.consent("privacy", True, "signup"), "at": person.joined_at},
        {**privacy.consent("marketing", person.opt_in, "signup"), "at": person.joined_at},
    ]
    doc = {
        "_id": person.member_id,
        "line_user_id": f"Udemo{history.seed:02d}{person.index:027d}",
        "status": "member",
        "locale": person.locale,
        "points": balance,
        "ledger_seq": seq,
        "reachable": person.reachable,
        "followed_at": person.joined_at - timedelta(minutes=10),
        "created_at": person.joined_at - timedelta(minutes=10),
        "joined_at": person.joined_at,
        "code": _code("", person.index + 31**5, 6)[-6:],
        "profile": person.profile,
        "consents": consents,
        "marketing_opt_in": person.opt_in,
        "tier": tier,
        "tier_since": tier_since,
        "tier_unannounced": False,
    }
    if not person.reachable:
        doc["unfollowed_at"] = person.joined_at + timedelta(days=3)
    return doc


def _write_followers(store: Store, history: History, count: int, counted: list) -> int:
    rng = random.Random(f"{history.seed}:followers")
    docs = []
    for index in range(count):
        at = history.start + (history.now - history.start) * rng.random()
        docs.append(
            {
                "_id": hashlib.sha1(f"follower:{history.seed}:{index}".encode()).hexdigest()[:24],
                "line_user_id": f"Udemof{history.seed:02d}{index:026d}",
                "status": "follower",
                "locale": rng.choice(("th", "th", "en", "zh_Hant")),
                "points": 0,
                "ledger_seq": 0,
                "reachable": True,
                "followed_at": at,
                "created_at": at,
            }
        )
    _insert(store, "members", docs)
    _insert(store, "member_lines", [_line_link(doc) for doc in docs])
    counted.extend(_snapshot_fields(doc) for doc in docs)
    return count


def _write_stock(store: Store, stock: dict) -> None:
    for reward_id, _cost, left, _names in REWARDS:
        taken = (left or 0) - (stock[reward_id] or 0) if left is not None else 0
        store.db.rewards.update_one(
            {"_id": reward_id}, {"$set": {"stock": stock[reward_id], "taken": taken}}
        )


# -- campaigns -------------------------------------------------------------------------------------


def _write_campaigns(store: Store, history: History, audiences, owner) -> int:
    """The two finished campaigns' runs (rows, batches, outcomes, coupons, clicks) and a
    scheduled one."""
    created_by = owner or "demo-owner"
    coupons = 0
    for spec, at, name, content, extra in (
        (
            WINBACK,
            history.winback_at,
            "We miss you",
            {"title": "We miss you!", "text": "Hi {first_name}, here is ฿30 off your next tea."},
            {
                "coupon": {"kind": "amount", "value": WINBACK["coupon"], "item": None, "days": 14},
                "link": "https://cha-samachik.example/menu",
            },
        ),
        (
            NEWS,
            history.news_at,
            "New menu",
            {"title": "Our new menu", "text": "Brown sugar milk tea is here."},
            {"coupon": None},
        ),
    ):
        run_id = f"{spec['id']}-{hashlib.sha1(f'{history.seed}{spec}'.encode()).hexdigest()[:8]}"
        rows = sorted(audiences[spec["id"]])
        _write_run(store, spec["id"], run_id, rows, at)
        counts = store.run_counts(run_id)
        campaign = {
            "_id": spec["id"],
            "name": name,
            "audience": "lapsed" if spec is WINBACK else "all",
            "filters": "lapsed:30d" if spec is WINBACK else "",
            "template": "coupon" if spec is WINBACK else "news",
            "content": {
                **content,
                "image": None,
                "button": "See the menu" if extra.get("link") else None,
                "link": extra.pop("link", None),
            },
            "holdout": spec["holdout"],
            "schedule": {"type": "once", "at": at},
            "window_days": campaigns.DEFAULT_WINDOW_DAYS,
            "next_run_at": None,
            "status": "done",
            "created_by": created_by,
            "created_at": at - timedelta(days=1),
            "run_id": None,
            "snapshot_done": True,
            "runs": [
                {"run_id": run_id, "finished_at": at + timedelta(minutes=2), "counts": counts}
            ],
            **extra,
        }
        _insert(store, "campaigns", [campaign])
        if spec is WINBACK:
            coupons = _write_coupons(store, history, run_id, rows, at)
            _write_clicks(store, history, run_id, rows, at)
    today = history.now.astimezone(history.tz).date()
    monday = today + timedelta(days=7 - today.weekday())
    at = history._local(monday, 10)
    _insert(
        store,
        "campaigns",
        [
            {
                "_id": SCHEDULED["id"],
                "name": "Double points this afternoon",
                "audience": "afternoon",
                "filters": dict(SEGMENTS)["afternoon"],
                "template": "promotion",
                "content": {
                    "title": "Double points 14:00–16:00",
                    "text": "Hi {first_name}, tea time earns double points today.",
                    "image": None,
                    "button": None,
                    "link": None,
                },
                "coupon": None,
                "holdout": campaigns.DEFAULT_HOLDOUT,
                "schedule": {"type": "once", "at": at},
                "window_days": campaigns.DEFAULT_WINDOW_DAYS,
                "next_run_at": at,
                "status": "scheduled",
                "created_by": created_by,
                "created_at": history.now,
            }
        ],
    )
    return coupons


def _write_run(store: Store, campaign_id: str, run_id: str, rows: list, at: datetime) -> None:
    """Rows, batches of up to 500 to send, and their outcomes, in member order."""
    deliveries, batch_docs, members_docs, outcomes = [], [], [], []
    number = 0
    batch: list = []

    def close(batch: list, number: int) -> None:
        pending = [m for m, s in batch if s in ("sent", "failed")]
        others = Counter(s for _m, s in batch if s not in ("sent", "failed"))
        batch_id = f"{run_id}:b{number}"
        batch_docs.append(
            {
                "_id": batch_id,
                "campaign_id": campaign_id,
                "run_id": run_id,
                "number": number,
                "size": len(pending),
                "counts": dict(others),
                "last_member": batch[-1][0],
                "created_at": at,
            }
        )
        members_docs.append({"_id": batch_id, "members": " ".join(pending)})
        if pending:
            failed = {m: "failed" for m, s in batch if s == "failed"}
            outcomes.append(
                {
                    "_id": batch_id,
                    "campaign_id": campaign_id,
                    "run_id": run_id,
                    "status": "sent",
                    "sent_at": at + timedelta(seconds=30),
                    "exceptions": failed,
                }
            )
        for member_id, status in batch:
            row = {
                "_id": f"{run_id}:{member_id}",
                "campaign_id": campaign_id,
                "run_id": run_id,
                "member_id": member_id,
                "group": "holdout" if status == "holdout" else "treatment",
                "status": "pending" if status in ("sent", "failed") else status,
                "created_at": at,
            }
            if status in ("sent", "failed"):
                row["batch"] = number
            deliveries.append(row)

    for member_id, status in rows:
        batch.append((member_id, status))
        pending = sum(1 for _m, s in batch if s in ("sent", "failed"))
        if pending == BATCH_SIZE or len(batch) == MAX_BATCH_MEMBERS:
            close(batch, number)
            batch, number = [], number + 1
    if batch:
        close(batch, number)
    for name, docs in (
        ("batches", batch_docs),
        ("batch_members", members_docs),
        ("batch_outcomes", outcomes),
        ("deliveries", deliveries),
    ):
        _insert(store, name, docs)


def _write_coupons(store: Store, history: History, run_id: str, rows: list, at: datetime) -> int:
    """A coupon for every member the win-back reached; those who came back with it used it."""
    docs = []
    expires = at + timedelta(days=14)
    for member_id, status in rows:
        if status != "sent":
            continue
        code = coupon_code(member_id)
        doc = {
            "_id": code,
            "key": f"campaign:{run_id}:{member_id}",
            "member_id": member_id,
            "kind": "amount",
            "value": WINBACK["coupon"],
            "item": None,
            "min_spend": 0,
            "expires_at": expires,
            "source": {"type": "campaign", "campaign_id": WINBACK["id"], "run_id": run_id},
            "status": "expired" if expires < history.now else "issued",
            "created_at": at + timedelta(seconds=30),
        }
        if code in history.coupon_uses:
            purchase_id, used_at = history.coupon_uses[code]
            doc.update(
                status="used", used_by="demo-staff", used_at=used_at, purchase_id=purchase_id
            )
        docs.append(doc)
    _insert(store, "coupons", docs)
    _insert(store, "coupon_keys", [{"_id": d["key"], "doc_id": d["_id"]} for d in docs])
    return len(docs)


def _write_clicks(store: Store, history: History, run_id: str, rows: list, at: datetime) -> None:
    rng = random.Random(f"{history.seed}:clicks")
    docs = [
        {
            "_id": f"{run_id}:{member_id}",  # one per delivery, as `record_click` keeps them
            "run_id": run_id,
            "campaign_id": WINBACK["id"],
            "at": at + timedelta(minutes=rng.randint(1, 600)),
            "opened": rng.randint(1, 3),
        }
        for member_id, status in rows
        if status == "sent" and rng.random() < 0.18
    ]
    _insert(store, "link_clicks", docs)


def _insert(store: Store, collection: str, docs: list[dict]) -> None:
    """Insert in chunks; documents already there (an interrupted run) are kept."""
    for start in range(0, len(docs), INSERT_CHUNK):
        try:
            store.db[collection].insert_many(docs[start : start + INSERT_CHUNK], ordered=False)
        except BulkWriteError as error:
            codes = {e["code"] for e in error.details.get("writeErrors", [])}
            if codes - {11000}:
                raise
