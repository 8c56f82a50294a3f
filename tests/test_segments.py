"""Segments over a small merchant with known histories: every filter key, RFM, stats."""

import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from bot import create_app
from bot.loyalty import points
from bot.marketing.segments import Clock, SegmentError, compile_filters
from bot.members import behaviour, privacy
from jobs import segment_jobs
from simulator import texts, user_id_for
from tests.conftest import app_settings

BANGKOK = ZoneInfo("Asia/Bangkok")
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)  # Wednesday, 19:00 in Bangkok


def local(days_ago: int, hour: int, minute: int = 0) -> datetime:
    """A moment `days_ago` days before NOW at a Bangkok wall-clock hour."""
    day = (NOW.astimezone(BANGKOK) - timedelta(days=days_ago)).date()
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=BANGKOK).astimezone(UTC)


PEOPLE = {
    # name: (gender, birthday, locale, opt-in, joined days ago, [(days ago, hour, baht, branch)])
    "ann": ("female", "1996-05-10", "th", True, 200, [(19, 14), (12, 14), (5, 15)], 100, "asoke"),
    "ben": ("male", "1980-01-02", "en", False, 150, [(100, 10)], 500, "siam"),
    "cat": (
        "female",
        "2001-11-30",
        "zh_Hant",
        True,
        90,
        [(40, 18), (20, 18), (9, 12), (2, 18)],
        4000,
        "siam",
    ),
    "dan": (
        "other",
        "1990-05-20",
        "th",
        True,
        120,
        [(51, 9), (44, 9), (37, 9), (30, 9)],
        200,
        "asoke",
    ),
    "gus": ("male", "2000-11-02", "en", True, 10, [], 0, None),
    "eve": ("female", "1995-05-05", "th", True, 300, [(3, 14)], 100, "asoke"),  # erased below
    "fay": ("female", "1995-06-06", "th", True, 300, [(3, 14)], 100, "asoke"),  # blocked below
}


@pytest.fixture
def merchant(store, services):
    """Seven members with hand-written histories, as of NOW."""
    return build_merchant(store, services.config.tz)


@pytest.fixture(scope="module")
def shared(mongo_uri, sim):
    """A read-only copy of the merchant for the many filter cases (built once)."""
    app = create_app({**app_settings(mongo_uri, sim), "MONGODB_DB": f"seg_{uuid.uuid4().hex[:8]}"})
    services = app.extensions["samachik"]
    services.store.ensure_indexes()
    ids = build_merchant(services.store, services.config.tz)
    yield services.store, ids
    services.store.client.drop_database(services.store.db.name)


def build_merchant(store, tz) -> dict:
    store.add_branch("asoke", "Asoke")
    store.add_branch("siam", "Siam")
    ids = {}
    for name, (gender, born, locale, optin, joined, visits, baht, branch) in PEOPLE.items():
        with time_machine.travel(NOW - timedelta(days=joined), tick=False):
            member, _new = store.record_follow(user_id_for(name), locale)
            profile = {
                "first_name": name.title(),
                "last_name": "X",
                "gender": gender,
                "birthday": born,
                "birth_month": int(born[5:7]),
                "phone": f"+6680000{len(ids):04d}",
            }
            consents = [
                privacy.consent("privacy", True, "test"),
                privacy.consent("marketing", optin, "test"),
            ]
            code = name.upper().ljust(6, "Z")[:6]
            store.claim_member_code(code, member["_id"])
            store.complete_signup(member["_id"], code, profile, consents, optin)
        for days_ago, hour in visits:
            with time_machine.travel(local(days_ago, hour), tick=False):
                fresh = store.member_by_id(member["_id"])
                points.earn(store, fresh, baht * 100, branch, "staff", None, tz)
        ids[name] = member["_id"]
    store.add_tag(ids["cat"], "vip")
    store.erase_member(ids["eve"])
    store.record_unfollow(user_id_for("fay"))
    return ids


def matching(store, merchant, filters: str) -> set[str]:
    query = compile_filters(filters, Clock(now=NOW, today=NOW.astimezone(BANGKOK).date()))
    names = {member_id: name for name, member_id in merchant.items()}
    return {names[m] for m in store.member_ids(query)}


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ("", {"ann", "ben", "cat", "dan", "gus"}),
        ("branch:asoke", {"ann", "dan"}),
        ("branch:asoke,siam", {"ann", "ben", "cat", "dan"}),
        ("-branch:asoke", {"ben", "cat", "gus"}),
        ("visited:31d", {"ann", "cat", "dan"}),
        ("visited:30d", {"ann", "cat"}),  # Dan came 30 days and 10 hours ago
        ("lapsed:60d", {"ben"}),
        ("hour:14-16", {"ann"}),
        ("hour:18-19", {"cat"}),
        ("dow:mon", {"ben", "cat", "dan"}),
        ("dow:fri", {"ann"}),
        ("avg:<150", {"ann"}),
        ("avg:>=500", {"ben", "cat"}),
        ("avg:150-600", {"ben", "dan"}),
        ("spend:>10000", {"cat"}),
        ("visits:>=4", {"cat", "dan"}),
        ("once", {"ben"}),
        ("overdue", {"dan"}),  # weekly, but not seen for 30 days
        ("birth_month:5", {"ann", "dan"}),
        ("birthday:this_month", {"cat", "gus"}),
        ("new:30d", {"gus"}),
        ("tier:gold", {"cat"}),
        ("tier:member", {"ann", "ben", "dan", "gus"}),
        ("gender:f", {"ann", "cat"}),
        ("gender:m,o", {"ben", "dan", "gus"}),
        ("age:20-35", {"ann", "cat", "gus"}),
        ("age:46", {"ben"}),
        ("lang:th", {"ann", "dan"}),
        ("lang:zh", {"cat"}),
        ("tag:vip", {"cat"}),
        ("optin", {"ann", "cat", "dan", "gus"}),
        ("branch:asoke visited:90d optin -overdue", {"ann"}),
    ],
)
def test_every_filter_key_selects_exactly_the_right_members(shared, filters, expected):
    store, merchant = shared
    assert matching(store, merchant, filters) == expected


def test_erased_blocked_and_unreachable_members_never_appear(shared):
    store, merchant = shared
    everyone = matching(store, merchant, "visits:>=0")

    assert "eve" not in everyone and "fay" not in everyone


def test_rfm_groups_of_hand_checked_members(store, merchant):
    with time_machine.travel(NOW, tick=False):
        summary = segment_jobs.score_rfm(store)

    assert summary["scored"] == 5  # Fay blocked us but is still a customer; Gus never bought
    scores = {
        name: store.member_by_id(merchant[name]).get("rfm") for name in ("ann", "ben", "cat", "dan")
    }
    assert {n: (s["r"], s["f"], s["m"], s["group"]) for n, s in scores.items()} == {
        "ann": (4, 3, 2, "loyal"),
        "ben": (2, 2, 3, "at_risk"),
        "cat": (5, 5, 5, "champions"),
        "dan": (3, 5, 4, "loyal"),
    }
    assert matching(store, merchant, "rfm:champions") == {"cat"}
    assert matching(store, merchant, "rfm:loyal,at_risk") == {"ann", "ben", "dan"}


def test_rescoring_writes_only_what_changed(store, merchant):
    with time_machine.travel(NOW, tick=False):
        segment_jobs.score_rfm(store)
        again = segment_jobs.score_rfm(store)

    assert again["changed"] == 0


def test_incremental_stats_equal_stats_rebuilt_from_purchases(store, merchant, services):
    assert segment_jobs.rebuild_stats(store, services.config.tz, fix=False) == []

    cat = store.member_by_id(merchant["cat"])
    assert cat["stats"]["visits"] == 4 and cat["stats"]["spend"] == 1_600_000
    assert cat["stats"]["branch_list"] == ["siam"] and cat["stats"]["top_hour"] == 18
    dan = store.member_by_id(merchant["dan"])
    assert dan["stats"]["median_gap_days"] == 7
    assert dan["stats"]["overdue_at"] == local(30, 9) + timedelta(days=14)


def test_a_void_keeps_stats_equal_to_the_purchases(store, merchant, services):
    purchase = store.active_purchases(merchant["ann"])[-1]

    points.void(store, purchase["_id"], "owner", services.config.tz)

    ann = store.member_by_id(merchant["ann"])
    assert ann["stats"]["visits"] == 2
    assert ann["stats"]["last_visit"] == local(12, 14)
    assert segment_jobs.rebuild_stats(store, services.config.tz, fix=False) == []


def test_rebuild_repairs_stats_that_drifted(store, merchant, services):
    store.db.members.update_one({"_id": merchant["ben"]}, {"$inc": {"stats.visits": 3}})

    assert segment_jobs.rebuild_stats(store, services.config.tz) == [merchant["ben"]]
    assert store.member_by_id(merchant["ben"])["stats"]["visits"] == 1
    assert segment_jobs.rebuild_stats(store, services.config.tz, fix=False) == []


@pytest.mark.parametrize(
    "bad",
    ["colour:red", "visited:soon", "hour:16-14", "rfm:sleepy", "gender:x", "age:50-20", "branch"],
)
def test_unknown_keys_and_bad_values_name_the_word(bad):
    with pytest.raises(SegmentError) as error:
        compile_filters(f"optin {bad}", Clock(now=NOW, today=NOW.date()))

    assert error.value.word == bad


def test_campaign_segments_add_optin():
    query = compile_filters("branch:asoke", Clock(now=NOW, today=NOW.date()), campaign=True)

    assert {"marketing_opt_in": True} in query["$and"]


def test_owner_counts_saves_and_lists_segments_in_chat(owner, store, merchant):
    with time_machine.travel(NOW, tick=False):
        reply = texts(owner.says("/segment branch:asoke optin"))[0].splitlines()
        saved = texts(owner.says("/segment save afternoon hour:14-16"))
        shown = texts(owner.says("/segment show afternoon"))[0]
        bad = texts(owner.says("/segment colour:red"))[0]

    assert reply[0] == "2 members (40% of 5) match branch:asoke optin."
    assert reply[1] == "For example: " + ", ".join(
        f"{n.title()} ({n.upper().ljust(6, 'Z')[:6]})"
        for n in sorted(["ann", "dan"], key=merchant.get)
    )
    assert saved[0] == "Segment afternoon saved."
    assert shown.startswith("afternoon: 1 member (20% of 5) matches hour:14-16.")
    assert texts(owner.says("/segment list")) == ["Saved segments:\n• afternoon: hour:14-16"]
    assert bad.startswith("I don't understand “colour:red”.\nFilters: branch: visited:")


def test_tags_from_chat(owner, store, merchant):
    assert texts(owner.says("/tag DANZZZ regular")) == ["Tagged Dan with regular."]
    assert matching(store, merchant, "tag:regular") == {"dan"}
    owner.says("/untag DANZZZ regular")
    assert matching(store, merchant, "tag:regular") == set()


def test_the_derived_fields_are_documented_rules():
    stats = {
        "visits": 2,
        "spend": 500,
        "hours": {"9": 1, "18": 1},
        "weekdays": {"6": 2},
        "branches": {"asoke": 1, "siam": 1, "_": 0},
        "visit_dates": ["2026-01-01", "2026-01-08"],
        "last_visit": NOW,
    }

    derived = behaviour.derive(stats)

    assert derived["avg"] == 250 and derived["top_hour"] == 9 and derived["top_weekday"] == 6
    assert derived["branch_list"] == ["asoke", "siam"]
    assert derived["overdue_at"] is None  # two visits are not a habit yet
