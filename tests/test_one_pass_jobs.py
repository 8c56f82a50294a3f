"""Batch jobs read each collection once, whatever the number of members.

On the dev server every read not by `_id` decodes the whole collection, so a job that
asks one member's purchases at a time is quadratic (the stats rebuild took 53 s at
5,000 members and 607 s at 20,000). The command listener of
tests/test_per_event_queries.py counts the reads that are not by `_id`.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, timedelta

import pytest
import time_machine

from bot.demo import demo_history
from bot.loyalty import points
from bot.store import Store, utcnow
from jobs import maintenance, points_jobs, segment_jobs, tasks
from jobs.scheduler import SCHEDULE
from tests import test_per_event_queries
from tests.test_per_event_queries import on_id
from tests.test_segments import NOW, build_merchant

commands = test_per_event_queries.commands  # the fixture: the store on a recording client

pytestmark = pytest.mark.devdb_only(reason="counts what a real server receives (command listener)")


def whole_reads(commands) -> Counter:
    """Reads of whole collections (any filter not on `_id`), by collection."""
    return Counter(
        collection
        for name, collection, query in commands.seen
        if name in ("find", "aggregate", "count", "distinct")
        and query is not None
        and not on_id(query)
    )


def recorded(commands, job, *args):
    commands.seen = []
    commands.recording = True
    try:
        return job(*args)
    finally:
        commands.recording = False


def test_the_stats_rebuild_and_rfm_read_members_and_purchases_once(commands, services):
    store, tz = services.store, services.config.tz
    build_merchant(store, tz)
    store.db.members.update_many({}, {"$unset": {"stats": ""}})  # something to repair

    with time_machine.travel(NOW, tick=False):
        differed = recorded(commands, segment_jobs.rebuild_stats, store, tz)
        rebuilt = whole_reads(commands)
        summary = recorded(commands, segment_jobs.score_rfm, store)
        scored = whole_reads(commands)

    assert len(differed) == 6  # everyone who bought, erased Eve and blocked Fay included
    assert rebuilt == {"members": 1, "purchases": 1}
    assert summary["scored"] == 5  # members who visited (Eve is erased)
    assert scored == {"members": 1}


def test_the_nightly_tier_review_reads_members_and_purchases_once(commands, services):
    store, tz = services.store, services.config.tz
    ids = build_merchant(store, tz)
    assert store.member_by_id(ids["cat"])["tier"] == "gold"  # ฿16,000 in 40 days

    # A year on, Cat's purchases fall out of the window: she goes back to member.
    with time_machine.travel(NOW + points.TIER_WINDOW + timedelta(days=41), tick=False):
        changed = recorded(commands, points_jobs.reevaluate_tiers, store, tz)

    assert changed == 1
    assert store.member_by_id(ids["cat"])["tier"] == "member"
    assert whole_reads(commands) == {"members": 1, "purchases": 1}


def test_after_the_first_review_the_tier_review_reads_nothing_whole(commands, services):
    store, tz = services.store, services.config.tz
    ids = build_merchant(store, tz)
    with time_machine.travel(NOW, tick=False):
        assert points_jobs.reevaluate_tiers(store, tz) == 0

    # The next nights look only at whose purchases left the window (the day rollups).
    with time_machine.travel(NOW + timedelta(days=200), tick=False):
        assert recorded(commands, points_jobs.reevaluate_tiers, store, tz) == 0
    with time_machine.travel(NOW + points.TIER_WINDOW + timedelta(days=41), tick=False):
        changed = recorded(commands, points_jobs.reevaluate_tiers, store, tz)

    assert changed == 1
    assert store.member_by_id(ids["cat"])["tier"] == "member"
    assert whole_reads(commands) == {}


def test_after_the_first_run_points_expire_without_reading_the_ledger(commands, services):
    store, tz = services.store, services.config.tz
    ids = build_merchant(store, tz)
    with time_machine.travel(NOW, tick=False):
        assert recorded(commands, points_jobs.expire_points, store) == 0
        assert whole_reads(commands) == {"ledger": 1}  # the first run lists the open lots
    holding = {name: store.member_by_id(mid)["points"] for name, mid in ids.items()}

    with time_machine.travel(NOW + timedelta(days=400), tick=False):
        expired = recorded(commands, points_jobs.expire_points, store)

    assert whole_reads(commands) == {}
    assert expired > 0
    for name, member_id in ids.items():
        member = store.member_by_id(member_id)
        if member is not None and holding[name] > 0:
            assert member["points"] == 0, name
            assert points.holdings(store, member_id).balance == 0


def schedule_reads(commands, services) -> dict[str, Counter]:
    """Whole-collection reads of each scheduled job, run once as the worker runs it."""
    reads = {}
    for name, _trigger, _options in SCHEDULE:
        job = tasks.JOBS.get(name)
        if job is None:  # prune_rate_limits takes the store alone
            recorded(commands, maintenance.prune_rate_limits, services.store)
        else:
            recorded(commands, job, services, lambda: False)
        reads[name] = whole_reads(commands)
    return reads


def test_no_scheduled_job_reads_more_often_with_more_members(commands, services, mongo_uri):
    """The worker's whole schedule on the demo shop's history at 10 and at 40 members:
    each job reads each collection as often at both sizes (a read per member would not).

    At 03:00 in the shop, inside the quiet hours, so the journeys queue and do not send:
    how many runs have someone to send to differs with the random history, and each
    sends in batches read per run (their cost per recipient: bench/fanout.py)."""
    small, tz = services.store, services.config.tz
    local = utcnow().astimezone(tz)
    now = local.replace(hour=3, minute=0, second=0, microsecond=0)
    now = (now if now <= local else now - timedelta(days=1)).astimezone(UTC)
    large = Store(small.client, f"{small.db.name}_large")
    try:
        demo_history.generate(small, now=now, tz=tz, members=10, months=2)
        demo_history.generate(large, now=now, tz=tz, members=40, months=2)
        with time_machine.travel(now, tick=False):
            at_small = schedule_reads(commands, services)
            services.store = large
            at_large = schedule_reads(commands, services)
    finally:
        services.store = small
        small.client.drop_database(large.db.name)

    assert sum(sum(c.values()) for c in at_small.values()) > 20  # the jobs did read
    grew = {
        name: (dict(at_small[name]), dict(at_large[name]))
        for name in at_small
        if any(count > at_small[name][collection] for collection, count in at_large[name].items())
    }
    assert grew == {}


def _names_id_list(query) -> bool:
    if isinstance(query, list):
        return any(_names_id_list(part) for part in query)
    if not isinstance(query, dict):
        return False
    return any(
        (key == "_id" and isinstance(value, dict) and "$in" in value) or _names_id_list(value)
        for key, value in query.items()
    )


def test_journeys_pick_their_members_without_an_id_list_in_a_scan(commands, services):
    """The tier-change journey names its members; reading the audience with their ids as
    an `$in` inside a whole-collection filter makes the dev server compare every member
    with every id (quadratic: 6.4× the CPU for 4× the members)."""
    store, tz = services.store, services.config.tz
    now = utcnow()
    demo_history.generate(store, now=now, tz=tz, members=20, months=2)
    members = sorted(m["_id"] for m in store.members_in_status("member", {"_id": 1}))
    told = members[::2]
    store.db.members.update_many({}, {"$set": {"tier_unannounced": False}})
    store.db.members.update_many({"_id": {"$in": told}}, {"$set": {"tier_unannounced": True}})

    with time_machine.travel(now, tick=False):
        recorded(commands, tasks.JOBS["run_journeys"], services, lambda: False)

    scans_with_ids = [
        (collection, query)
        for name, collection, query in commands.seen
        if name in ("find", "aggregate", "count", "distinct")
        and query is not None
        and not on_id(query)
        and _names_id_list(query)
    ]
    assert scans_with_ids == []
    run = f"journey:tier_change:{now.astimezone(tz).date().isoformat()}"
    assert sum(store.run_counts(run).values()) == len(told)  # each of them, nobody else
    assert store.members_with_unannounced_tier() == []
