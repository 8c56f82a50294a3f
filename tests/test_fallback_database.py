"""The documented last resort where Go is missing: `MONGODB_URI=mongomock://`.

It runs in-process and takes the write path production takes on MongoDB (no
lock documents), so the suite also runs on it (`make test`, second run).
"""

import pytest

from bot import create_app
from bot.loyalty import points
from simulator import texts
from tests.conftest import OWNER, app_settings, sign_up


@pytest.fixture
def fallback(mongo_uri, sim):
    """The bot on `mongomock://`, whatever the rest of this run uses."""
    config = {**app_settings(mongo_uri, sim), "MONGODB_URI": "mongomock://"}
    application = create_app(config)
    store = application.extensions["samachik"].store
    store.ensure_indexes()
    sim.reset()
    sim.connect(application)
    yield config, store
    problems = points.check_ledger(store)
    store.client.drop_database(config["MONGODB_DB"])
    assert problems == [], problems


def test_members_join_and_earn_on_the_fallback(fallback, sim):
    _config, store = fallback
    alice = sim.user("alice", "Alice", language="en")
    somchai = sim.user("somchai", "Somchai", language="en")
    alice.state.friend = somchai.state.friend = True
    store.add_branch("asoke", "Asoke")
    store.add_staff(somchai.id, "asoke", "Somchai", invited_by=OWNER)

    sign_up(alice)
    code = store.member_by_line_id(alice.id)["code"]
    reply = texts(somchai.says(f"/earn {code} 150"))[0]

    assert reply.endswith("Alice now has 56 points.")
    assert texts(alice.says("points"))[0].startswith("You have 56 points.")
    assert store.serialises_writes is False  # MongoDB's path: updates are atomic, no locks


def test_a_restarted_app_finds_what_the_first_one_wrote(fallback, sim):
    config, _store = fallback
    alice = sim.user("alice", "Alice", language="en")
    alice.state.friend = True
    sign_up(alice)

    sim.connect(create_app(config))  # like a restart: a new client, the same in-process data

    assert texts(alice.says("points"))[0].startswith("You have 50 points.")
