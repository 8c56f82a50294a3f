"""Earn throughput against its bound, measured in one process, with round trips counted.

An earn must at least insert the purchase, insert the ledger entry and update
the member (balance, sequence, stats), and the member is read first (the counter
looks them up): four round trips, plus taking and releasing the member's lock on
FerretDB (see bot/store/base.py). That is the bound. The reports (bot/analytics)
add two rollups each earn must also update (the day's purchases, the day's
points), each under its lock on FerretDB: the bound with reports does those too.
The full path is a read of the member and `bot.loyalty.points.earn` with rules,
idempotency, lots, stats, tiers and rollups. Round trips are counted by a
pymongo command listener; target: full ≤ 2× the bound.

    .venv/bin/python bench/earn_throughput.py [--earns 200]
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pymongo import monitoring

from bench._stack import stack
from bot.loyalty import points
from bot.store.ledger import LedgerStore

MEMBERS = 25  # earns spread over members, as at a real counter
TARGET = 2.0


class RoundTrips(monitoring.CommandListener):
    """Counts the commands sent to the database server while `counting`."""

    def __init__(self):
        self.counting = False
        self.commands: Counter = Counter()

    def started(self, event) -> None:
        if self.counting:
            target = event.command.get(event.command_name)
            self.commands[(event.command_name, target if isinstance(target, str) else "")] += 1

    def succeeded(self, event) -> None:
        pass

    def failed(self, event) -> None:
        pass

    def per_call(self, function, *args) -> tuple[float, list]:
        """Round trips of one call of `function`, and which."""
        self.commands.clear()
        self.counting = True
        try:
            function(*args)
        finally:
            self.counting = False
        return sum(self.commands.values()), sorted(self.commands.items())


LISTENER = RoundTrips()
monitoring.register(LISTENER)  # before any client is made


def make_member(store) -> dict:
    member, _new = store.record_follow("U" + uuid.uuid4().hex, "en")
    return member


def bound_once(store, member_id: str, seq: int, reports: bool) -> None:
    store.db.members.find_one({"_id": member_id})
    store.db.purchases.insert_one({"member_id": member_id, "amount": 2500, "seq": seq})
    # (A copy of the ledger with its indexes: the real one must add up for check_ledger.)
    store.db.bench_ledger.insert_one(
        {"_id": uuid.uuid4().hex, "key": uuid.uuid4().hex, "amount": 1}
    )
    # On FerretDB even the bound must serialise its member update (bot/store/base.py).
    with store.locked(f"member:{member_id}"):
        store.db.members.update_one(
            {"_id": member_id}, {"$inc": {"points": 1, "ledger_seq": 1, "stats.visits": 1}}
        )
    if reports:
        for collection in ("bench_rollup_days", "bench_rollup_points"):
            with store.locked(f"{collection}:today"):
                store.db[collection].update_one(
                    {"_id": "today"}, {"$inc": {"n": 1, "amount": 2500}}, upsert=True
                )


def bound(store, members: list[dict], count: int, reports: bool) -> float:
    started = time.perf_counter()
    for seq in range(1, count + 1):
        bound_once(store, members[seq % len(members)]["_id"], seq, reports)
    return time.perf_counter() - started


def full_once(store, member_id: str, tz) -> None:
    member = store.member_by_id(member_id)  # the counter looks the member up
    points.earn(store, member, 2500, "asoke", "bench-staff", None, tz)


def full(store, members: list[dict], count: int, tz) -> float:
    started = time.perf_counter()
    for index in range(count):
        full_once(store, members[index % len(members)]["_id"], tz)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--earns", type=int, default=200)
    count = parser.parse_args().earns
    with stack() as (app, _sim):
        services = app.extensions["samachik"]
        store, tz = services.store, services.config.tz
        store.add_branch("asoke", "Asoke")
        store.db.bench_ledger.create_indexes(LedgerStore.INDEXES["ledger"])
        bound_members = [make_member(store) for _ in range(MEMBERS)]
        full_members = [make_member(store) for _ in range(MEMBERS)]
        bound(store, bound_members, 20, True)
        full(store, full_members, 20, tz)
        trips = {
            "bound": LISTENER.per_call(bound_once, store, bound_members[0]["_id"], 0, False),
            "reports": LISTENER.per_call(bound_once, store, bound_members[0]["_id"], 0, True),
            "full": LISTENER.per_call(full_once, store, full_members[0]["_id"], tz),
        }
        # Interleave quarters so machine noise hits every side alike.
        times = {"bound": 0.0, "reports": 0.0, "full": 0.0}
        quarter = max(count // 4, 1)
        for _ in range(4):
            times["bound"] += bound(store, bound_members, quarter, False)
            times["reports"] += bound(store, bound_members, quarter, True)
            times["full"] += full(store, full_members, quarter, tz)
        assert points.check_ledger(store) == []
        locks = "with per-member locks" if store.serialises_writes else "no locks needed"
    n = 4 * quarter
    print(f"earns: {n} per side over {MEMBERS} members ({locks})")
    for name, label in (
        ("bound", "bound (member read, purchase, entry, member)"),
        ("reports", "bound with the two report rollups"),
        ("full", "full: member read + bot.loyalty.points.earn"),
    ):
        print(
            f"  {label:<46} {n / times[name]:7.1f} earns/s, "
            f"{trips[name][0]:2d} round trips per earn"
        )

    def ratio(a: int, b: int) -> str:  # mongomock:// sends no commands to count
        return f"{a / b:.2f}x" if b else "n/a"

    print(
        f"  earn full/bound time per earn: {times['full'] / times['bound']:.2f}x "
        f"(round trips {ratio(trips['full'][0], trips['bound'][0])}); "
        f"against the bound with reports: {times['full'] / times['reports']:.2f}x "
        f"(round trips {ratio(trips['full'][0], trips['reports'][0])}); target <= {TARGET:.0f}x"
    )
    print(
        "  full earn's round trips: " + ", ".join(f"{c} {t} {k}" for (c, t), k in trips["full"][1])
    )


if __name__ == "__main__":
    main()
