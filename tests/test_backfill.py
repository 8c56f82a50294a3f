"""A database from before the `_id` lookups gets them at `flask init-db`, once.

Per-event reads go by `_id` only (tests/test_per_event_queries.py): a member is found
through `member_lines`, a movement key through `ledger_keys`, a member's purchases,
coupons and reward codes through the ids listed on them. Data written before those
existed has none of them until init-db fills them in.
"""

from __future__ import annotations

import re

from simulator import texts

LOOKUPS = ("member_lines", "ledger_keys", "coupon_keys", "redemption_keys")


def as_before_the_lookups(store) -> None:
    """What an older release left: no lookup collections, no id lists on members."""
    for name in LOOKUPS:
        store.db.drop_collection(name)
    store.db.members.update_many(
        {}, {"$unset": {"purchase_ids": "", "coupon_ids": "", "redemption_ids": ""}}
    )
    store.db.settings.delete_one({"_id": "key_backfill"})


def test_init_db_fills_the_lookups_of_an_older_database_once(app, store, owner, cashier, member):
    code = store.member_by_line_id(member.id)["code"]
    earned = texts(cashier.says(f"/earn {code} 2500"))[0]  # 100 points
    purchase = re.match(r"Purchase (\w{8}):", earned).group(1)
    owner.says(f"/coupon give {code} amount 20")
    owner.says("/reward add 10 20 Free tea")
    reward = store.list_rewards()[0]["_id"]
    question = member.taps(f"a=redeem&r={reward}")[0]
    member.taps(question["quickReply"]["items"][0]["action"]["data"])
    as_before_the_lookups(store)

    assert texts(member.says("points"))[0].startswith("You are not a member yet.")

    runner = app.test_cli_runner()
    result = runner.invoke(args=["init-db"])

    assert result.exit_code == 0, result.output
    assert "lookups filled: member_lines 1, owned_ids 3, ledger_keys 3, reward_keys 2" in (
        result.output
    )
    assert texts(member.says("points"))[0].startswith("You have 140 points.")
    listed = texts(member.says("coupons"))[0]
    assert "฿20.00 off" in listed and "Free tea" in listed
    voided = texts(cashier.says(f"/void {purchase}"))[0]
    assert voided.startswith(f"Purchase {purchase} voided")
    assert store.member_by_line_id(member.id)["points"] == 40
    assert store.member_by_line_id(member.id)["stats"]["visits"] == 0  # rebuilt without it
    # Done once: a second run has nothing to do, and a forced one finds nothing missing.
    assert "lookups filled" not in runner.invoke(args=["init-db"]).output
    again = runner.invoke(args=["init-db", "--backfill"]).output
    assert "member_lines 0, owned_ids 0, ledger_keys 0, reward_keys 0" in again


def test_a_member_from_before_the_lookups_who_follows_again_keeps_her_record(store, member):
    before = store.member_by_line_id(member.id)
    as_before_the_lookups(store)

    reply = texts(member.follow())

    assert reply[0].startswith("Welcome back, Alice!")
    assert store.member_by_line_id(member.id)["_id"] == before["_id"]
    assert store.db.members.count_documents({}) == 1
