"""Earn throughput against its physical bound, measured in one process.

An earn must at least insert the purchase, insert the ledger entry, update the
member (balance, sequence, stats) and read the member back: four round trips,
plus taking and releasing the member's lock on FerretDB (see bot/store/base.py).
The bound does exactly those; the full path is `bot.points.earn` with rules,
idempotency checks, lots, stats and tiers.

    .venv/bin/python bench/earn_throughput.py [earns]
"""

from __future__ import annotations

import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._stack import stack
from bot import points


def make_member(store) -> dict:
    member, _new = store.record_follow("U" + uuid.uuid4().hex, "en")
    return member


MEMBERS = 25  # earns spread over members, as at a real counter


def bound(store, members: list[dict], count: int) -> float:
    started = time.perf_counter()
    for seq in range(1, count + 1):
        member = members[seq % len(members)]
        store.db.purchases.insert_one({"member_id": member["_id"], "amount": 2500, "seq": seq})
        store.db.ledger.insert_one({"_id": uuid.uuid4().hex, "key": uuid.uuid4().hex, "amount": 1})
        # On FerretDB even the bound must serialise its member update (bot/store/base.py).
        with store.locked(f"member:{member['_id']}"):
            store.db.members.update_one(
                {"_id": member["_id"]}, {"$inc": {"points": 1, "stats.visits": 1}}
            )
        store.db.members.find_one({"_id": member["_id"]})
    return time.perf_counter() - started


def full(store, members: list[dict], count: int, tz) -> float:
    started = time.perf_counter()
    for index in range(count):
        member = members[index % len(members)]
        points.earn(store, member, 2500, "asoke", "bench-staff", None, tz)
    return time.perf_counter() - started


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    with stack() as (app, _sim):
        services = app.extensions["samachik"]
        store, tz = services.store, services.config.tz
        store.add_branch("asoke", "Asoke")
        bound_members = [make_member(store) for _ in range(MEMBERS)]
        full_members = [make_member(store) for _ in range(MEMBERS)]
        bound(store, bound_members, 20)
        full(store, full_members, 20, tz)
        half = count // 2
        t_bound = bound(store, bound_members, half) + bound(store, bound_members, half)
        t_full = full(store, full_members, half, tz) + full(store, full_members, half, tz)
        assert points.check_ledger(store) == []
        locks = "with per-member locks" if store.serialises_writes else "no locks needed"
    print(f"earns: {2 * half} per side over {MEMBERS} members ({locks})")
    print(f"  bound (minimal writes):     {2 * half / t_bound:8.1f} earns/s")
    print(f"  full bot.points.earn:       {2 * half / t_full:8.1f} earns/s")
    print(f"  ratio full/bound time per earn: {t_full / t_bound:.2f}x")


if __name__ == "__main__":
    main()
