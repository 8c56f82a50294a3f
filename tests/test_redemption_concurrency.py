"""50 members' redemptions at once, from several processes, for a reward with stock 10."""

import multiprocessing
from concurrent.futures import ProcessPoolExecutor

import pytest

from bot.loyalty import points
from bot.members import privacy
from simulator import texts, user_id_for

PROCESSES = 5
MEMBERS_PER_PROCESS = 2
ATTEMPTS_PER_MEMBER = 5  # 5 × 2 × 5 = 50 redemptions tried

pytestmark = pytest.mark.devdb_only(reason="several bot processes share one database")


def redeem_in_another_process(config: dict, names: list[str], reward_id: str) -> int:
    """A whole bot process: each member taps Redeem and Confirm, again and again."""
    from bot import create_app
    from simulator import Simulator

    sim = Simulator(config["LINE_CHANNEL_SECRET"], config["LINE_CHANNEL_ACCESS_TOKEN"]).start()
    try:
        sim.connect(create_app({**config, "LINE_API_BASE_URL": sim.base_url}))
        issued = 0
        for _round in range(ATTEMPTS_PER_MEMBER):
            for name in names:
                user = sim.user(name, language="en")
                question = user.taps(f"a=redeem&r={reward_id}")[0]
                confirm = question["quickReply"]["items"][0]["action"]["data"]
                if confirm.startswith("a=redeem_ok"):  # else: short of points or out of stock
                    issued += is_code(user.taps(confirm)[0])
        return issued
    finally:
        sim.stop()


def is_code(message: dict) -> bool:
    """The reward code bubble (a refusal is text; "See rewards" shows a carousel)."""
    return message.get("altText", "").startswith("Your reward code")


def make_member(store, name: str, tz) -> str:
    member, _new = store.record_follow(user_id_for(name), "en")
    profile = {"first_name": name, "last_name": "Test", "phone": f"+6681{len(name):07d}"}
    store.complete_signup(
        member["_id"], name.upper()[:6], profile, [privacy.consent("privacy", True, "test")], False
    )
    points.credit(store, member["_id"], 250, "adjust", f"seed:{name}", tz)
    return member["_id"]


def test_fifty_concurrent_redemptions_of_ten_in_stock(config, owner, store, services):
    names = [f"fan{i:02d}" for i in range(PROCESSES * MEMBERS_PER_PROCESS)]
    member_ids = [make_member(store, name, services.config.tz) for name in names]
    reply = texts(owner.says("/reward add 100 10 Festival mug"))[0]
    reward_id = reply.split()[1]
    context = multiprocessing.get_context("spawn")

    with ProcessPoolExecutor(PROCESSES, mp_context=context) as pool:
        futures = [
            pool.submit(
                redeem_in_another_process,
                config,
                names[i * MEMBERS_PER_PROCESS : (i + 1) * MEMBERS_PER_PROCESS],
                reward_id,
            )
            for i in range(PROCESSES)
        ]
        issued = sum(f.result(timeout=300) for f in futures)

    assert issued == 10
    assert store.reward(reward_id)["stock"] == 0
    assert store.db.redemptions.count_documents({"status": "issued"}) == 10
    balances = [store.member_by_id(m)["points"] for m in member_ids]
    assert min(balances) >= 50  # nobody went below zero: 250 buys at most two
    assert sum(250 - b for b in balances) == 10 * 100
    assert points.check_ledger(store) == []


def confirm_at_once(config: dict, name: str, reward_id: str, barrier) -> int:
    """A whole bot process: the member asks, waits for the others, then confirms."""
    from bot import create_app
    from simulator import Simulator

    sim = Simulator(config["LINE_CHANNEL_SECRET"], config["LINE_CHANNEL_ACCESS_TOKEN"]).start()
    try:
        sim.connect(create_app({**config, "LINE_API_BASE_URL": sim.base_url}))
        user = sim.user(name, language="en")
        question = user.taps(f"a=redeem&r={reward_id}")[0]
        confirm = question["quickReply"]["items"][0]["action"]["data"]
        barrier.wait(timeout=120)
        return int(is_code(user.taps(confirm)[0]))
    finally:
        sim.stop()


def test_five_parallel_confirms_issue_one_code_for_a_limit_of_one(config, owner, store, services):
    member_id = make_member(store, "solo", services.config.tz)
    reply = texts(owner.says("/reward add 10 unlimited Welcome drink limit:1"))[0]
    reward_id = reply.split()[1]
    context = multiprocessing.get_context("spawn")

    with context.Manager() as manager, ProcessPoolExecutor(5, mp_context=context) as pool:
        barrier = manager.Barrier(5)
        futures = [
            pool.submit(confirm_at_once, config, "solo", reward_id, barrier) for _ in range(5)
        ]
        issued = sum(f.result(timeout=300) for f in futures)

    assert issued == 1
    assert store.db.redemptions.count_documents({"status": "issued"}) == 1
    assert store.member_by_id(member_id)["points"] == 240
    assert store.db.reward_slots.count_documents({}) == 1
    assert points.check_ledger(store) == []
