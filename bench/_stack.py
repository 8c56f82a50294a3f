"""Shared set-up for benchmarks: a dev database server, the simulator and the app."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import pymongo

from bot import create_app
from simulator import Simulator

ROOT = Path(__file__).resolve().parent.parent
SECRET, TOKEN = "bench-secret", "bench-token"
DEVDB_BIN = os.environ.get("DEVDB_BIN") or str(ROOT / ".bin" / "devdb")
SERVER: dict = {}  # the dev server process of the running benchmark, if we started one


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def database():
    """MONGODB_URI if set, else a throw-away dev database server."""
    if os.environ.get("MONGODB_URI"):
        yield os.environ["MONGODB_URI"]
        return
    port = _free_port()
    with tempfile.TemporaryDirectory() as data:
        server = subprocess.Popen(
            [DEVDB_BIN, "-listen", f"127.0.0.1:{port}", "-data", data],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        SERVER["process"] = server
        uri = f"mongodb://127.0.0.1:{port}/"
        client = pymongo.MongoClient(uri, serverSelectionTimeoutMS=500)
        for _ in range(150):
            try:
                client.admin.command("ping")
                break
            except pymongo.errors.PyMongoError:
                time.sleep(0.1)
        try:
            yield uri
        finally:
            server.terminate()
            server.wait(15)


def bench_app(uri: str, line_base_url: str, settings: dict | None = None):
    """The app on a fresh database of the server at `uri`, calling LINE at `line_base_url`."""
    app = create_app(
        {
            **(settings or {}),
            "APP_ENV": "test",
            "MONGODB_URI": uri,
            "MONGODB_DB": f"bench_{uuid.uuid4().hex[:8]}",
            "LINE_CHANNEL_SECRET": SECRET,
            "LINE_CHANNEL_ACCESS_TOKEN": TOKEN,
            "LINE_API_BASE_URL": line_base_url,
            "DEFAULT_LOCALE": "en",
            "LOG_LEVEL": "WARNING",
        }
    )
    app.extensions["samachik"].store.ensure_indexes()
    return app


@contextlib.contextmanager
def stack(settings: dict | None = None):
    """(app, sim) wired together on a fresh database (`settings`: more app settings)."""
    with database() as uri:
        sim = Simulator(SECRET, TOKEN).start()
        app = bench_app(uri, sim.base_url, settings)
        services = app.extensions["samachik"]
        sim.connect(app)
        try:
            yield app, sim
        finally:
            services.store.client.drop_database(services.store.db.name)
            sim.stop()
