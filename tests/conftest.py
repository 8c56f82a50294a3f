"""Fixtures: one dev database server and one LINE simulator per test session,
a fresh database and a fresh app for every test, and named LINE users.

`MONGODB_URI` in the environment points the suite at a real MongoDB instead of
the dev server (each test still gets its own database). `MONGODB_URI=mongomock://`
runs it on the in-process fallback, which takes MongoDB's lock-free write path;
tests marked `devdb_only` are skipped there, with their reason.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
import uuid
from pathlib import Path

import pymongo
import pytest

from bot import create_app
from bot.loyalty import points
from simulator import Simulator, user_id_for

ROOT = Path(__file__).resolve().parent.parent
# DEVDB_BIN runs the suite on another build of the dev server (e.g. one being patched).
DEVDB_BIN = Path(os.environ.get("DEVDB_BIN") or ROOT / ".bin" / "devdb")
CHANNEL_SECRET = "test-channel-secret"
ACCESS_TOKEN = "test-access-token"
OWNER = "owner"  # a simulator user whose id is in ADMIN_LINE_USER_IDS


def in_process_database() -> bool:
    return os.environ.get("MONGODB_URI", "").startswith("mongomock://")


def pytest_collection_modifyitems(config, items):
    """Every `devdb_only` mark says why; on mongomock:// those tests are skipped."""
    for item in items:
        mark = item.get_closest_marker("devdb_only")
        if mark is None:
            continue
        reason = mark.kwargs.get("reason")
        if not reason:
            raise pytest.UsageError(f"{item.nodeid}: devdb_only needs reason=…")
        if in_process_database():
            item.add_marker(pytest.mark.skip(reason=f"not on mongomock://: {reason}"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_mongo(uri: str, seconds: float = 30.0) -> bool:
    client = pymongo.MongoClient(uri, serverSelectionTimeoutMS=500)
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline:
            try:
                client.admin.command("ping")
                return True
            except pymongo.errors.PyMongoError:
                time.sleep(0.1)  # start-up poll of a child process, not a test wait
        return False
    finally:
        client.close()


@pytest.fixture(scope="session")
def mongo_uri(tmp_path_factory):
    """The dev database server (FerretDB embedded), started once per test process."""
    configured = os.environ.get("MONGODB_URI")
    if configured:
        yield configured
        return
    if not DEVDB_BIN.exists():
        pytest.exit("dev database server is not built: run `make devdb` or `make test`", 3)
    port = free_port()
    data_dir = tmp_path_factory.mktemp("devdb")
    log_path = data_dir / "devdb.log"
    with log_path.open("w") as log_file:
        server = subprocess.Popen(
            [str(DEVDB_BIN), "-listen", f"127.0.0.1:{port}", "-data", str(data_dir)],
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    uri = f"mongodb://127.0.0.1:{port}/"
    if not wait_for_mongo(uri):
        server.kill()
        pytest.exit(f"dev database server did not start:\n{log_path.read_text()[-2000:]}", 3)
    yield uri
    server.terminate()
    server.wait(timeout=15)


@pytest.fixture(scope="session")
def sim():
    simulator = Simulator(CHANNEL_SECRET, ACCESS_TOKEN).start()
    yield simulator
    simulator.stop()


@pytest.fixture
def config(mongo_uri, sim):
    return app_settings(mongo_uri, sim)


def app_settings(mongo_uri: str, sim) -> dict:
    """Settings for an app under test: the dev server, the simulator, a fresh database."""
    return {
        "APP_ENV": "test",
        "MONGODB_URI": mongo_uri,
        "MONGODB_DB": f"t_{uuid.uuid4().hex[:12]}",
        "LINE_CHANNEL_SECRET": CHANNEL_SECRET,
        "LINE_CHANNEL_ACCESS_TOKEN": ACCESS_TOKEN,
        "LINE_API_BASE_URL": sim.base_url,
        "ADMIN_LINE_USER_IDS": user_id_for(OWNER),
        "DEFAULT_LOCALE": "en",
        "LINE_API_BACKOFF_SECONDS": "0",
        # Scenarios type faster than people; tests/test_rate_limits.py sets its own.
        "RATE_LIMIT_PER_MINUTE": "100000",
    }


@pytest.fixture
def app(config, sim):
    application = create_app(config)
    services = application.extensions["samachik"]
    services.store.ensure_indexes()
    sim.reset()
    sim.connect(application)
    yield application
    # Every scenario must leave balances equal to their ledgers (`flask check-ledger`).
    problems = points.check_ledger(services.store)
    services.store.client.drop_database(config["MONGODB_DB"])
    services.store.client.close()
    services.line.close()
    assert problems == [], problems


@pytest.fixture
def services(app):
    return app.extensions["samachik"]


@pytest.fixture
def store(services):
    return services.store


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def alice(sim, app):
    """A customer who reads English."""
    user = sim.user("alice", "Alice", language="en")
    user.state.friend = True
    return user


@pytest.fixture
def owner(sim, app):
    """The merchant: listed in ADMIN_LINE_USER_IDS."""
    user = sim.user(OWNER, "Owner", language="en")
    user.state.friend = True
    return user


def sign_up(
    user,
    first="Alice",
    last="Smith",
    phone="081 234 5678",
    email="alice@example.com",
    marketing=True,
) -> list[dict]:
    """Walk a simulator user through `join` with valid answers; returns the last replies."""
    user.says("join")
    user.says(first)
    user.says(last)
    user.taps("a=signup&step=gender&v=female")
    user.taps("a=signup&step=birthday", params={"date": "1990-05-17"})
    user.says(phone)
    if email:
        user.says(email)
    else:
        user.taps("a=signup&step=email&v=skip")
    user.taps("a=signup&step=privacy&v=yes")
    return user.taps(f"a=signup&step=marketing&v={'yes' if marketing else 'no'}")


@pytest.fixture
def member(alice):
    """Alice, signed up."""
    sign_up(alice)
    return alice


@pytest.fixture
def cashier(sim, app, store):
    """Somchai, staff of the Asoke branch."""
    store.add_branch("asoke", "Asoke")
    store.add_branch("siam", "Siam Square")
    user = sim.user("somchai", "Somchai", language="en")
    user.state.friend = True
    store.add_staff(user.id, "asoke", "Somchai", invited_by="owner")
    return user
