"""Operator commands: `flask --app bot init-db` and `seed-demo`."""

from bot.analytics import rollups


def test_init_db_creates_the_indexes(app, store):
    store.client.drop_database(store.db.name)

    result = app.test_cli_runner().invoke(args=["init-db"])

    assert result.exit_code == 0, result.output
    assert "indexes ready" in result.output
    ledger_indexes = store.db.ledger.index_information()
    assert any(info.get("unique") for info in ledger_indexes.values())
    assert "webhook_events" in store.db.list_collection_names()


def test_init_db_is_safe_to_run_twice(app):
    runner = app.test_cli_runner()

    assert runner.invoke(args=["init-db"]).exit_code == 0
    assert runner.invoke(args=["init-db"]).exit_code == 0


def test_init_db_rebuilds_rollups_an_older_version_wrote_once(app, store, owner, member, services):
    """Rollups from before the monthly points ones: /stats would show no points until rebuilt."""
    code = store.member_by_line_id(member.id)["code"]
    owner.says(f"/earn {code} 250")
    months = store.points_months()
    assert months  # kept at write time
    store.db.rollup_points_months.delete_many({})
    store.db.settings.delete_one({"_id": "rollups_format"})
    runner = app.test_cli_runner()

    upgraded = runner.invoke(args=["init-db"]).output
    again = runner.invoke(args=["init-db"]).output

    assert "report rollups rebuilt" in upgraded
    assert "report rollups rebuilt" not in again
    assert store.points_months() == months
    assert rollups.rebuild(store, services.config.tz, fix=False) == []


def test_seed_demo_loads_the_demo_merchant_once(app, store):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["seed-demo", "--members", "30"])

    assert result.exit_code == 0, result.output
    assert "30 members" in result.output
    assert store.get_setting("merchant")["name"]
    assert [b["_id"] for b in store.list_branches()] == ["ari", "asoke", "ratchada", "siam"]
    purchases = store.db.purchases.count_documents({})
    again = runner.invoke(args=["seed-demo", "--members", "30"])
    assert "kept from an earlier run" in again.output
    assert store.db.purchases.count_documents({}) == purchases


def test_check_ledger_reports_a_balance_that_drifted(app, store, member):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["check-ledger"]).exit_code == 0

    doc = store.member_by_line_id(member.id)
    store.db.members.update_one({"_id": doc["_id"]}, {"$inc": {"points": 7}})  # simulated bug
    result = runner.invoke(args=["check-ledger"])

    assert result.exit_code == 1
    assert f"{doc['_id']}: balance 57 != ledger sum 50" in result.output
    store.db.members.update_one({"_id": doc["_id"]}, {"$inc": {"points": -7}})
