"""One-pass reads split into parts give every member all of their documents, once.

Real jobs split into parts of 5,000 members; these small parts make a few members take
the same paths.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.store.passes import grouped, member_groups, sorted_pages, spool, unmatched

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def shop(store) -> dict[str, list[str]]:
    """Eleven members, most with purchases (one purchase belongs to nobody we know)."""
    owned = {f"m{n:02d}": [f"p{n:02d}{k}" for k in range(n % 4)] for n in range(11)}
    store.db.members.insert_many([{"_id": m, "line_user_id": f"U{m}"} for m in owned])
    store.db.purchases.insert_many(
        [
            {"_id": p, "member_id": m, "created_at": T0 + timedelta(hours=n), "n": n}
            for n, (m, p) in enumerate((m, p) for m, ids in owned.items() for p in ids)
        ]
        + [{"_id": "stray", "member_id": "gone", "created_at": T0, "n": -1}]
    )
    return owned


def test_members_come_with_all_their_documents_whatever_the_parts(store):
    owned = shop(store)

    for per_part in (2, 5000):
        seen = {}
        pages = member_groups(
            store.db, {}, None, {"p": ("purchases", {}, {"_id": 1})}, per_part=per_part
        )
        for page in pages:
            ids = [member["_id"] for member, _docs in page]
            assert ids == sorted(ids)
            for member, docs in page:
                seen[member["_id"]] = sorted(d["_id"] for d in docs["p"])
        assert seen == owned, per_part


def test_what_a_backfill_adds_is_exactly_what_is_missing(store):
    owned = shop(store)
    store.db.member_lines.insert_many([{"_id": "m03"}, {"_id": "m07"}, {"_id": "elsewhere"}])

    members = spool(store.db.members, {}, {"_id": 1})
    known = spool(store.db.member_lines, {}, {"_id": 1})
    missing = [doc["_id"] for doc in unmatched(members, "_id", known, per_part=2)]

    assert sorted(missing) == sorted(set(owned) - {"m03", "m07"})


def test_documents_grouped_and_ordered_from_one_read(store):
    owned = shop(store)

    groups = dict(grouped(store.db.purchases, {}, "member_id", "n", per_part=3))

    assert {m: [d["_id"] for d in docs] for m, docs in groups.items()} == {
        **{m: ids for m, ids in owned.items() if ids},
        "gone": ["stray"],
    }
    newest_first = [d["n"] for d in groups["m07"]]
    assert newest_first == sorted(newest_first)
    pages = list(sorted_pages(store.db.purchases, {}, None, 4, key="created_at"))
    times = [doc["created_at"] for page in pages for doc in page]
    assert times == sorted(times) and len(times) == 1 + sum(map(len, owned.values()))
    assert {len(page) for page in pages[:-1]} == {4}
