"""Points under random sequences of everything that moves them, on the real dev database.

Hypothesis drives the bot's own domain functions (earn at the counter, void, adjust,
redeem, use, expire with time travel, the signup bonus, erasure) in random order over
a few members, and after every step checks what money depends on: each balance is
the sum of its ledger and of its lots, the cached lots match the replay, no balance
went below zero where the rules forbid it, `check-ledger` is clean and the behaviour
stats equal a rebuild from purchases.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import time_machine
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from bot.loyalty import counter, points, rewards
from bot.loyalty.lots import replay
from bot.members import privacy
from bot.store import utcnow
from jobs import segment_jobs
from tests.hypothesis_budget import budget

START = datetime(2026, 3, 2, 5, 0, tzinfo=UTC)  # a Monday, noon in Bangkok
MAX_MEMBERS = 4
REWARDS = {  # id -> (points, stock, per-member limit)
    "WCHEAP": (10, None, 0),
    "WMUG": (60, 2, 0),
    "WBIG": (200, None, 0),
    "WONCE": (5, None, 1),
}
AMOUNTS = st.sampled_from([100, 2500, 9999, 25_000, 100_000, 1_234_567, 10_000_000])
PAUSES = st.sampled_from(
    [timedelta(minutes=m) for m in (1, 20)] + [timedelta(days=d) for d in (1, 200, 366, 400)]
)


class PointsMachine(RuleBasedStateMachine):
    """The shop over months: members come, buy, redeem, get corrected, leave."""

    services = None  # set by the test: the app's services on a fresh database

    members = Bundle("members")
    purchases = Bundle("purchases")
    earn_keys = Bundle("earn_keys")
    codes = Bundle("codes")

    def __init__(self):
        super().__init__()
        self.store = self.services.store
        self.tz = self.services.config.tz
        for name in self.store.db.list_collection_names():
            self.store.db[name].delete_many({})  # a fresh shop per example; indexes stay
        for reward_id, (cost, stock, limit) in REWARDS.items():
            self.store.add_reward(
                {
                    "_id": reward_id,
                    "points": cost,
                    "stock": stock,
                    "taken": 0,
                    "active": True,
                    "names": {"default": reward_id},
                    "per_member_limit": limit,
                }
            )
        self.travel = time_machine.travel(START, tick=False)
        self.clock = self.travel.start()
        self.expected: dict[str, int] = {}  # member id -> balance the steps imply
        self.may_be_negative: set[str] = set()  # made negative by a void or a correction
        self.erased: set[str] = set()
        self.joined = 0

    def teardown(self):
        self.travel.stop()

    # -- helpers ---------------------------------------------------------------------

    def balance(self, member_id: str) -> int:
        return self.store.member_by_id(member_id)["points"]

    def live(self, member_id: str) -> bool:
        return member_id not in self.erased

    def moved(self, member_id: str, delta: int, may_go_negative: bool) -> None:
        self.expected[member_id] += delta
        if self.expected[member_id] < 0 and may_go_negative:
            self.may_be_negative.add(member_id)
        elif self.expected[member_id] >= 0:
            self.may_be_negative.discard(member_id)

    # -- members ---------------------------------------------------------------------

    @initialize(target=members)
    def first_member(self):
        return self._join()

    @precondition(lambda self: self.joined < MAX_MEMBERS)
    @rule(target=members)
    def join(self):
        return self._join()

    def _join(self) -> str:
        self.joined += 1
        name = f"m{self.joined}"
        member, _new = self.store.record_follow("U" + uuid.uuid4().hex, "en")
        self.store.complete_signup(
            member["_id"],
            f"CODE{self.joined:02d}",
            {"first_name": name, "last_name": "Test"},
            [privacy.consent("privacy", True, "test")],
            False,
        )
        bonus = points.award_signup_bonus(self.store, member["_id"], self.tz)
        self.expected[member["_id"]] = bonus
        return member["_id"]

    @rule(member=members)
    def signup_completes_again(self, member):
        """A repeated signup completion (a redelivered answer) pays no second bonus."""
        points.award_signup_bonus(self.store, member, self.tz)

    @rule(member=consumes(members))
    def erase(self, member):
        if self.live(member):
            privacy.erase(self.store, self.services.config, self.store.member_by_id(member))
            self.erased.add(member)

    # -- the counter -------------------------------------------------------------------

    @rule(target=earn_keys, member=members, amount=AMOUNTS)
    def earn(self, member, amount):
        if not self.live(member):
            return None
        key = f"earn:{uuid.uuid4().hex}"
        before = self.balance(member)
        result = counter.record_purchase(
            self.store, self.store.member_by_id(member), amount, None, "staff", None, self.tz, key
        )
        assert not result.already and result.earning is not None
        assert self.balance(member) == before + result.earning.points
        self.moved(member, result.earning.points, may_go_negative=False)
        return (member, key, result.purchase["_id"])

    @rule(earned=earn_keys)
    def earn_redelivered(self, earned):
        """The same `/earn` event again (LINE redelivers): nothing more is recorded."""
        if earned is None or not self.live(earned[0]):
            return
        member, key, purchase_id = earned
        result = counter.record_purchase(
            self.store, self.store.member_by_id(member), 2500, None, "staff", None, self.tz, key
        )
        assert result.already and result.purchase["_id"] == purchase_id

    @rule(target=purchases, earned=earn_keys)
    def remember_purchase(self, earned):
        return earned

    @rule(earned=purchases)
    def void(self, earned):
        if earned is None:
            return
        member, _key, purchase_id = earned
        was = self.store.purchase(purchase_id)
        result = points.void(self.store, purchase_id, "staff", self.tz)
        if was["status"] != "active":
            assert result.refused == "already-voided"
            return
        assert result.refused is None and result.reversed_points == was["points"]
        self.moved(member, -was["points"], may_go_negative=True)

    @rule(member=members, delta=st.integers(-300, 300).filter(bool))
    def adjust(self, member, delta):
        if not self.live(member):
            return
        points.adjust(self.store, member, delta, "correction", "owner", uuid.uuid4().hex, self.tz)
        self.moved(member, delta, may_go_negative=True)

    # -- rewards -----------------------------------------------------------------------

    @rule(target=codes, member=members, reward_id=st.sampled_from(sorted(REWARDS)))
    def redeem(self, member, reward_id):
        if not self.live(member):
            return None
        cost, _stock, limit = REWARDS[reward_id]
        before = self.balance(member)
        stock = self.store.reward(reward_id)["stock"]
        held = self.store.count_member_redemptions(member, reward_id)
        result = rewards.redeem(
            self.store,
            self.store.member_by_id(member),
            reward_id,
            uuid.uuid4().hex,
            utcnow().astimezone(self.tz).date().isoformat(),
        )
        if limit and held >= limit:
            assert result.refused == "limit"
        elif stock == 0:
            assert result.refused == "out-of-stock"
        elif before < cost:
            assert result.refused == "insufficient" and result.missing == cost - before
        else:
            assert result.refused is None and result.redemption["status"] == "issued"
            self.moved(member, -cost, may_go_negative=False)
            assert self.balance(member) >= 0
            return result.redemption["_id"]
        assert self.balance(member) == before
        assert self.store.reward(reward_id)["stock"] == stock
        return None

    @rule(code=consumes(codes))
    def use_at_the_counter(self, code):
        if code is None:
            return
        redemption = self.store.redemption(code)
        result = rewards.use_code(self.store, code, "staff", None, self.tz)
        if redemption["status"] != "issued":
            assert result.refused is not None
        elif redemption["expires_at"] < utcnow():
            assert result.refused == "expired"  # refunded on the spot
            self.moved(redemption["member_id"], redemption["points"], may_go_negative=False)
        else:
            assert result.refused is None and result.doc["status"] == "used"

    # -- time ----------------------------------------------------------------------------

    @rule(pause=PAUSES)
    def time_passes(self, pause):
        """Time passes and the worker's jobs run: codes and points expire."""
        self.clock.shift(pause)
        now = utcnow()
        before = {m: self.balance(m) for m in self.expected}
        for redemption in rewards.expire_redemptions(self.store, self.tz):
            self.moved(redemption["member_id"], redemption["points"], may_go_negative=False)
        refunded = {m: self.expected[m] for m in self.expected}
        points.expire_due(self.store)
        for member_id in self.expected:
            after = self.balance(member_id)
            expired = self.expected[member_id] - after
            assert expired >= 0, "expiry added points"
            assert after >= min(0, before[member_id]), "expiry made a balance negative"
            self.moved(member_id, -expired, may_go_negative=False)
            open_due = [
                lot
                for lot in points.holdings(self.store, member_id).open_lots()
                if lot.expires_at is not None and lot.expires_at <= now
            ]
            assert open_due == [], "points past their date are still spendable"
            assert refunded[member_id] >= after

    # -- what must always hold ------------------------------------------------------------

    @invariant()
    def balances_are_their_ledgers(self):
        for member_id, expected in self.expected.items():
            member = self.store.member_by_id(member_id)
            entries = self.store.ledger_for(member_id)
            ledger_total = sum(e["amount"] for e in entries)
            assert member["points"] == ledger_total == expected, (member_id, expected)
            held = replay(entries)
            assert held.balance == ledger_total
            cached = {e["_id"]: e.get("remaining") for e in entries if e["amount"] > 0}
            assert cached == {lot.id: lot.remaining for lot in held.lots.values()}
            if member_id not in self.may_be_negative:
                assert member["points"] >= 0, f"{member_id} went negative"

    @invariant()
    def check_ledger_is_clean(self):
        assert points.check_ledger(self.store) == []

    @invariant()
    def stats_equal_a_rebuild(self):
        assert segment_jobs.rebuild_stats(self.store, self.tz, fix=False) == []


def test_points_stay_consistent_under_random_operations(services):
    PointsMachine.services = services
    run_state_machine_as_test(
        PointsMachine,
        settings=settings(max_examples=budget(12, 100), stateful_step_count=budget(25, 50)),
    )
