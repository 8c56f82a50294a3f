"""The dev database server: a real MongoDB-wire server that stops cleanly."""

import signal
import subprocess

import pymongo
import pytest

from tests.conftest import DEVDB_BIN, free_port, wait_for_mongo

pytestmark = pytest.mark.devdb_only(reason="tests the dev database server itself")


def start(data_dir, port):
    return subprocess.Popen(
        [str(DEVDB_BIN), "-listen", f"127.0.0.1:{port}", "-data", str(data_dir)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_sigterm_stops_it_cleanly_and_the_data_survives(tmp_path):
    port = free_port()
    uri = f"mongodb://127.0.0.1:{port}/"
    server = start(tmp_path, port)
    assert wait_for_mongo(uri)
    client = pymongo.MongoClient(uri)
    client.shop.members.insert_one({"_id": "U1", "points": 50})
    client.close()

    server.send_signal(signal.SIGTERM)
    output, _ = server.communicate(timeout=15)

    assert server.returncode == 0
    assert "devdb stopped" in output

    again = start(tmp_path, port)
    try:
        assert wait_for_mongo(uri)
        client = pymongo.MongoClient(uri)
        assert client.shop.members.find_one({"_id": "U1"})["points"] == 50
        client.close()
    finally:
        again.terminate()
        again.wait(timeout=15)


def test_two_clients_see_each_others_writes(mongo_uri):
    writer, reader = pymongo.MongoClient(mongo_uri), pymongo.MongoClient(mongo_uri)
    try:
        writer.shared_check.things.insert_one({"_id": 1, "n": 1})
        writer.shared_check.things.update_one({"_id": 1}, {"$inc": {"n": 1}})

        assert reader.shared_check.things.find_one({"_id": 1})["n"] == 2
    finally:
        writer.drop_database("shared_check")
        writer.close()
        reader.close()


def test_filters_on_id_read_only_their_documents(mongo_uri):
    """A conditional update or an `$in` on `_id` uses the `_id` index (patch-ferretdb.sh).

    Stock FerretDB 1.24 decodes the whole collection unless the filter is `_id` alone,
    which made every compare-and-set on a member grow with the member count.
    """
    client = pymongo.MongoClient(mongo_uri)
    try:
        db = client.pushdown_check
        db.things.insert_many([{"_id": f"m{n}", "n": n} for n in range(3)])
        if "ferretdbVersion" not in client.admin.command("buildInfo"):
            return  # MongoDB: its query planner is not ours to check
        for query in (
            {"_id": "m1", "n": {"$gte": 1}},
            {"_id": {"$in": ["m0", "m2"]}, "n": 2},
        ):
            plan = db.command("explain", {"find": "things", "filter": query})
            assert plan["filterPushdown"] is True, query
        assert db.things.find_one({"_id": "m1", "n": 1})["n"] == 1
        assert db.things.find_one({"_id": "m1", "n": 2}) is None
        assert [d["n"] for d in db.things.find({"_id": {"$in": ["m0", "m2"]}, "n": 2})] == [2]
    finally:
        client.drop_database("pushdown_check")
        client.close()
