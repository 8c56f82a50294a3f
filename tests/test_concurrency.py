"""Several processes earning for one member at once never lose or duplicate points."""

import multiprocessing
from concurrent.futures import ProcessPoolExecutor

import pytest

from bot.loyalty import points
from simulator import texts

pytestmark = pytest.mark.devdb_only(reason="several bot processes share one database")

PROCESSES = 3
EARNS_PER_PROCESS = 12


def counter_in_another_process(config: dict, member_code: str, count: int, till: int) -> int:
    """A whole bot process with its own simulator: the cashier earns `count` times.

    Each purchase has its own receipt number, as different purchases do (the same
    purchase again within 2 minutes would be asked about first).
    """
    from bot import create_app
    from simulator import Simulator

    sim = Simulator(config["LINE_CHANNEL_SECRET"], config["LINE_CHANNEL_ACCESS_TOKEN"]).start()
    try:
        app = create_app({**config, "LINE_API_BASE_URL": sim.base_url})
        sim.connect(app)
        cashier = sim.user("somchai", language="en")
        replies = [
            texts(cashier.says(f"/earn {member_code} 25 T{till}-{n}"))[0] for n in range(count)
        ]
        return sum(reply.startswith("Purchase ") for reply in replies)
    finally:
        sim.stop()


def test_concurrent_earns_from_several_processes_add_up(config, cashier, member, store):
    code = store.member_by_line_id(member.id)["code"]
    context = multiprocessing.get_context("spawn")

    with ProcessPoolExecutor(PROCESSES, mp_context=context) as pool:
        futures = [
            pool.submit(counter_in_another_process, config, code, EARNS_PER_PROCESS, till)
            for till in range(PROCESSES)
        ]
        credited = sum(f.result(timeout=180) for f in futures)

    assert credited == PROCESSES * EARNS_PER_PROCESS
    doc = store.member_by_line_id(member.id)
    assert doc["points"] == 50 + credited
    assert store.ledger_sum(doc["_id"]) == doc["points"]
    assert store.db.purchases.count_documents({"member_id": doc["_id"]}) == credited
    assert points.check_ledger(store) == []
    assert doc["stats"]["visits"] == credited
