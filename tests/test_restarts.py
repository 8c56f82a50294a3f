"""Crashes and outages: a web process killed mid-way, the database gone and back.

A web process is killed with SIGKILL at a named point (bot/faultpoints.py) in the
middle of an `/earn` and of a redemption; LINE redelivers the event and it is applied
exactly once. The dev database is killed and restarted on the same port and data
while webhooks arrive and while a campaign is sending: `/healthz` says 503 and
webhooks get 500 meanwhile (so LINE redelivers), and afterwards nothing is lost or
doubled.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta

import pymongo
import pytest
import requests
import time_machine

from bot import create_app
from bot.faultpoints import ENV as FAULTPOINT
from bot.loyalty import points, rewards
from bot.marketing.sending import Sender
from bot.members import privacy
from bot.store import utcnow
from jobs import campaign_jobs, segment_jobs
from simulator import events as ev
from simulator import texts
from tests.conftest import DEVDB_BIN, ROOT, free_port, wait_for_mongo

LATER = timedelta(minutes=6)  # past a dead process's claim on its event (STALE_CLAIM)


class WebProcess:
    """The bot's web app in a process of its own, which a faultpoint may kill."""

    def __init__(self, config: dict, log_path, faultpoint: str | None = None):
        self.port = free_port()
        env = {**os.environ, **config, "PYTHONPATH": str(ROOT)}
        if faultpoint:
            env[FAULTPOINT] = faultpoint
        run = (
            "from bot import create_app; "
            f"create_app().run(host='127.0.0.1', port={self.port}, threaded=True)"
        )
        with open(log_path, "w") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-c", run], cwd=ROOT, env=env, stdout=log, stderr=log
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                requests.get(f"{self.url_root}/healthz", timeout=2)
                return
            except requests.ConnectionError:
                time.sleep(0.05)  # start-up poll of a child process, not a test wait
        self.stop()
        raise RuntimeError(f"web process did not start:\n{log_path.read_text()[-2000:]}")

    @property
    def url_root(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.kill()
        return self.process.wait(timeout=30)


def redelivered(event: dict) -> dict:
    return {**event, "deliveryContext": {"isRedelivery": True}}


def killed_while_handling(sim, config, tmp_path, faultpoint: str, event: dict) -> None:
    """Deliver `event` to a web process that dies at `faultpoint` while handling it."""
    web = WebProcess(config, tmp_path / "web.log", faultpoint)
    sim.connect(f"{web.url_root}/callback")
    try:
        with pytest.raises(requests.ConnectionError):
            sim.deliver([event])  # LINE sees the connection drop: it will redeliver
    finally:
        status = web.stop()
    assert status == -signal.SIGKILL, "the process did not reach its faultpoint"


# -- a web process killed mid-way -------------------------------------------------------


@pytest.mark.devdb_only(
    reason="a web process in another process, killed mid-event: shares a database server"
)
def test_a_web_process_killed_mid_earn_records_it_once_on_redelivery(
    config, sim, app, cashier, member, store, services, tmp_path
):
    code = store.member_by_line_id(member.id)["code"]
    event = ev.text_message(cashier.id, f"/earn {code} 150 asoke")

    killed_while_handling(sim, config, tmp_path, "earn.after_purchase", event)
    assert store.db.purchases.count_documents({}) == 1  # recorded, its points not yet
    assert store.member_by_line_id(member.id)["points"] == 50

    sim.connect(app)  # the web process that takes over
    assert sim.deliver([redelivered(event)]) == 500  # claimed by the dead one: later, LINE
    with time_machine.travel(utcnow() + LATER, tick=False):
        assert sim.deliver([redelivered(event)]) == 200
        assert sim.deliver([redelivered(event)]) == 200  # once more: already done

    doc = store.member_by_line_id(member.id)
    assert doc["points"] == 50 + 6 and doc["stats"]["visits"] == 1
    assert store.db.purchases.count_documents({}) == 1
    assert len([t for t in texts(cashier.inbox) if t.startswith("Purchase ")]) == 1
    assert len([t for t in texts(member.inbox) if "6 points" in t]) == 1
    assert points.check_ledger(store) == []
    assert segment_jobs.rebuild_stats(store, services.config.tz, fix=False) == []


def confirmation(owner, member, stock: int = 5) -> tuple[str, str]:
    """A reward for 30 points and the member's Confirm button for it."""
    reward_id = texts(owner.says(f"/reward add 30 {stock} Cookie"))[0].split()[1]
    question = member.taps(f"a=redeem&r={reward_id}")[0]
    return reward_id, question["quickReply"]["items"][0]["action"]["data"]


@pytest.mark.devdb_only(
    reason="a web process in another process, killed mid-event: shares a database server"
)
@pytest.mark.parametrize("faultpoint", ["redeem.after_stock", "redeem.after_debit"])
def test_a_web_process_killed_mid_redemption_finishes_it_once_on_redelivery(
    faultpoint, config, sim, app, owner, member, store, services, tmp_path
):
    reward_id, confirm = confirmation(owner, member)
    event = ev.postback(member.id, confirm)

    killed_while_handling(sim, config, tmp_path, faultpoint, event)
    sim.connect(app)
    assert sim.deliver([redelivered(event)]) == 500
    with time_machine.travel(utcnow() + LATER, tick=False):
        rewards.expire_redemptions(store, services.config.tz)  # the cleanup job waits longer
        assert sim.deliver([redelivered(event)]) == 200

    codes = [m for m in member.inbox if m.get("altText", "").startswith("Your reward code")]
    assert len(codes) == 1
    assert store.db.redemptions.count_documents({"status": "issued"}) == 1
    assert store.member_by_line_id(member.id)["points"] == 20
    assert store.reward(reward_id)["stock"] == 4 and not store.reward(reward_id).get("taking")
    assert points.check_ledger(store) == []


@pytest.mark.devdb_only(
    reason="a web process in another process, killed mid-event: shares a database server"
)
def test_an_interrupted_redemption_nobody_redelivers_is_undone_once(
    config, sim, app, owner, member, store, services, tmp_path
):
    reward_id, confirm = confirmation(owner, member)
    event = ev.postback(member.id, confirm)

    killed_while_handling(sim, config, tmp_path, "redeem.after_stock", event)
    sim.connect(app)
    with time_machine.travel(utcnow() + timedelta(minutes=11), tick=False):
        rewards.expire_redemptions(store, services.config.tz)  # points and stock back
        rewards.expire_redemptions(store, services.config.tz)
        late = texts(member.send(redelivered(event)))

    assert late == [
        "This redemption was interrupted, so nothing was used. Please tap Redeem again."
    ]
    assert store.member_by_line_id(member.id)["points"] == 50
    assert store.reward(reward_id)["stock"] == 5 and not store.reward(reward_id).get("taking")
    assert points.check_ledger(store) == []


# -- the database stopped and restarted ----------------------------------------------------


class DevDatabase:
    """A dev database server of its own, to kill and restart on the same port and data."""

    def __init__(self, data_dir):
        self.data_dir = data_dir
        self.port = free_port()
        self.uri = f"mongodb://127.0.0.1:{self.port}/"
        self.process = None

    def start(self) -> DevDatabase:
        log = open(self.data_dir / "devdb.log", "a")  # noqa: SIM115 - the server keeps it
        self.process = subprocess.Popen(
            [str(DEVDB_BIN), "-listen", f"127.0.0.1:{self.port}", "-data", str(self.data_dir)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        assert wait_for_mongo(self.uri), "dev database did not start"
        return self

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(timeout=30)


@pytest.fixture
def own_database(tmp_path, config, sim):
    """An app on a dev database of its own (short timeouts, so an outage shows at once)."""
    if os.environ.get("MONGODB_URI"):
        pytest.skip("needs the dev database server, to stop and restart it")
    database = DevDatabase(tmp_path).start()
    application = create_app({**config, "MONGODB_URI": database.uri, "MONGODB_TIMEOUT_MS": "500"})
    services = application.extensions["samachik"]
    services.store.ensure_indexes()
    sim.connect(application)
    yield database, application
    try:
        assert points.check_ledger(services.store) == []
    finally:
        services.store.client.close()
        services.line.close()
        database.kill()


def join(sim, name: str, store) -> object:
    """A member who opted in; their code is their name in capitals (six letters)."""
    user = sim.user(name, name.title(), language="en")
    user.state.friend = True
    member, _new = store.record_follow(user.id, "en")
    store.claim_member_code(name.upper(), member["_id"])
    store.complete_signup(
        member["_id"],
        name.upper(),
        {"first_name": name.title(), "last_name": "X"},
        [privacy.consent("marketing", True, "test")],
        True,
    )
    return user


def test_webhooks_during_a_database_outage_get_500_and_count_once_after(own_database, sim):
    database, application = own_database
    store = application.extensions["samachik"].store
    client = application.test_client()
    store.add_branch("asoke", "Asoke")
    cashier = sim.user("somchai", "Somchai", language="en")
    store.add_staff(cashier.id, "asoke", "Somchai", invited_by="owner")
    join(sim, "dewana", store)
    earns = [ev.text_message(cashier.id, f"/earn DEWANA 150 R-{n}") for n in range(3)]
    assert sim.deliver([earns[0]]) == 200

    database.kill()
    assert client.get("/healthz").status_code == 503
    assert sim.deliver([earns[1]]) == 500  # LINE redelivers it
    assert sim.deliver([earns[2]]) == 500
    database.start()
    assert client.get("/healthz").status_code == 200
    for event in earns:  # the redeliveries, the first one included
        assert sim.deliver([redelivered(event)]) == 200

    assert store.db.purchases.count_documents({}) == 3, texts(cashier.inbox)
    assert store.member_by_code("DEWANA")["points"] == 3 * 6
    assert len([t for t in texts(cashier.inbox) if t.startswith("Purchase ")]) == 3


def test_a_campaign_run_through_a_database_outage_sends_once_to_everyone(own_database, sim):
    database, application = own_database
    services = application.extensions["samachik"]
    store = services.store
    owner = sim.user("owner", "Owner", language="en")
    owner.state.friend = True
    crowd = [join(sim, f"fanclb{c}", store) for c in "ABCDEF"]
    store.put_setting("quiet_hours", ["00:00", "00:00"])
    store.put_setting("campaign_batch_size", 2)
    reply = owner.says("/campaign new Outage | audience: optin | text: Same for all | holdout: 0")
    owner.taps(reply[-1]["quickReply"]["items"][0]["action"]["data"])
    sender = Sender(store, services.line, services.config, threads=1)
    # The database goes while LINE takes the first batch: LINE has it, we have not
    # recorded it, and the next run must not send it again.
    sim.interrupt("multicast", database.kill)
    with contextlib.suppress(pymongo.errors.PyMongoError):
        campaign_jobs.run_due(sender)  # fails this minute; the scheduler runs it again
    database.start()
    campaign = store.list_campaigns()[0]
    assert store.campaign_counts(campaign["_id"]).get("pending", 0) > 0  # cut off mid-run
    campaign_jobs.run_due(sender)
    campaign_jobs.run_due(sender)

    assert all(len([m for m in user.inbox if m.get("type") == "flex"]) == 1 for user in crowd), [
        len(u.inbox) for u in crowd
    ]
    assert store.campaign_counts(campaign["_id"]) == {"sent": 6}
    assert store.campaign(campaign["_id"])["status"] == "done"
    assert len(sim.requests("multicast")) >= 3


def test_the_database_lost_mid_event_answers_500_and_the_event_counts_once_after(own_database, sim):
    database, application = own_database
    store = application.extensions["samachik"].store
    newcomer = sim.user("newcomer", "Newcomer", language="en")
    newcomer.state.friend = True
    event = ev.follow(newcomer.id)
    sim.interrupt("profile", database.kill)  # while the handler asks LINE for their language
    status = sim.deliver([event])
    database.start()

    assert status == 500  # the handler's write failed: LINE redelivers
    assert sim.deliver([redelivered(event)]) == 500  # its claim is fresh: maybe still working
    with time_machine.travel(utcnow() + LATER, tick=False):
        assert sim.deliver([redelivered(event)]) == 200
        assert sim.deliver([redelivered(event)]) == 200

    assert len(newcomer.inbox) == 1  # welcomed once
    assert store.member_by_line_id(newcomer.id)["status"] == "follower"
