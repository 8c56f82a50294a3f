"""Operator commands: `flask --app bot init-db` and `seed-demo`."""


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


def test_seed_demo_loads_the_demo_merchant(app, store):
    result = app.test_cli_runner().invoke(args=["seed-demo"])

    assert result.exit_code == 0, result.output
    assert store.get_setting("merchant")["name"]
    assert [b["_id"] for b in store.list_branches()] == ["ari", "asoke", "ratchada", "siam"]
