"""Growth: what one event and each batch job cost as the members grow, on the dev server.

For each size (1,000, 5,000 and 20,000 members; `--big` adds 100,000) a fresh dev
server gets the demo shop's history (`bot/demo/demo_history.py`: four months, about ten
purchases a member), and this measures:

- per event, one at a time, p50 and p99 over `--events` each: a text command
  (`points`: balance, tier progress, expiring points), a postback (a reward's
  redeem question) and a staff `/earn`, in this process (Flask's test client) and
  through gunicorn (2 workers × 4 threads, as the Procfile runs it);
- batch jobs: a segment count, the stats rebuild, RFM scoring, a campaign snapshot,
  and the other nightly jobs as the worker runs them (`jobs/tasks.py`) on a night
  after the first (the demo's history is written as a worker leaves it), plus the
  first night of the points expiry and the tier review, for reference;
- the dev server's memory (its peak after the load, resident at the end, and its peak).

The quick batch figures (segment count, snapshot) are the best of three runs.

It prints each figure's growth between sizes, and checks the targets: per-event
figures within 1.5× from the smallest size to 20,000 members; batch jobs growing no
faster than the data (each step's growth ≤ 1.3 × the step's size ratio).

    .venv/bin/python bench/growth.py [--sizes 1000,5000,20000] [--big] [--events 200]
"""

from __future__ import annotations

import argparse
import itertools
import os
import socket
import statistics
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._stack import SECRET, SERVER, TOKEN, bench_app, database
from bot.demo import demo_history
from bot.loyalty.points import EXPIRY_SWEEP, TIER_REVIEW
from bot.marketing import audience
from bot.marketing.segments import Clock, compile_filters
from bot.store import utcnow
from jobs import campaign_jobs, segment_jobs, tasks
from simulator import Simulator, user_id_for
from simulator import events as ev

ROOT = Path(__file__).resolve().parent.parent
PER_EVENT_TARGET = 1.5  # smallest size → 20,000 members
BATCH_TARGET = 1.3  # × the size ratio of each step
SAMPLE = 50  # members whose events are sent (round robin)
SEGMENT = "visited:30d tier:silver,gold"
NIGHTLY = (
    "expire_points",
    "reevaluate_tiers",
    "prune_webhook_events",
    "prune_erasures",
    "rebuild_rollups",
    "run_journeys",
    "drop_stale_conversations",
    "refresh_member_rollup",
)


TICK = os.sysconf("SC_CLK_TCK")
PIDS: dict[str, int] = {}  # processes whose CPU counts: this one, the dev server, gunicorn's


def cpu_seconds(pid: int) -> float:
    """User + system CPU a process has used so far (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK


def cpu_now() -> float:
    return sum(cpu_seconds(pid) for pid in PIDS.values())


class Meter:
    """Wall-clock and CPU seconds (ours, the dev server's, gunicorn's) of what runs inside.

    On a shared machine the wall clock also counts the time other programs held the
    cores; the CPU used is the work itself, and it is what grows with the data.
    """

    def __enter__(self):
        self.wall, self.cpu = time.perf_counter(), cpu_now()
        return self

    def __exit__(self, *exc):
        self.wall = time.perf_counter() - self.wall
        self.cpu = cpu_now() - self.cpu


def timed(figures: dict, name: str, function, *args, runs: int = 1, **kwargs):
    """Run `function`, recording its wall-clock and CPU seconds as `name` (best of `runs`)."""
    walls, cpus = [], []
    for _ in range(runs):
        with Meter() as meter:
            result = function(*args, **kwargs)
        walls.append(meter.wall)
        cpus.append(meter.cpu)
    figures[f"{name} s"] = min(walls)
    figures[f"{name} CPU s"] = min(cpus)
    return result


def server_memory_mib() -> tuple[float, float]:
    """(resident now, peak) of the dev server this benchmark started."""
    fields = {}
    for line in Path(f"/proc/{SERVER['process'].pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        fields[name] = value
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def sample_members(store, count: int) -> list[dict]:
    """Some members, given LINE ids LINE would send (the demo's own are not that shape)."""
    chosen = list(
        store.db.members.find({"status": "member"}, {"code": 1, "line_user_id": 1}).limit(count)
    )
    for index, member in enumerate(chosen):
        line_id = user_id_for(f"growth{index}")
        store.db.member_lines.delete_one({"_id": member["line_user_id"]})
        store.db.member_lines.insert_one({"_id": line_id, "member_id": member["_id"]})
        store.db.members.update_one({"_id": member["_id"]}, {"$set": {"line_user_id": line_id}})
        member["line_user_id"] = line_id
    return chosen


def event_latencies(sim, events: list[dict]) -> list[float]:
    """Seconds each event took, sent one at a time (a 200 answer means it was handled)."""
    took = []
    for event in events:
        started = time.perf_counter()
        status = sim.deliver([event])
        took.append(time.perf_counter() - started)
        assert status == 200, status
    return took


def per_event(sim, members: list[dict], cashier: str, count: int, offset: int) -> dict:
    """p50/p99 (ms) and CPU per event of each kind; `offset` keeps amounts apart between runs."""
    kinds = {
        "text `points`": lambda i, m: ev.text_message(m["line_user_id"], "points"),
        "postback redeem": lambda i, m: ev.postback(m["line_user_id"], "a=redeem&r=W2TEA"),
        # Amounts differ, so the counter never asks "the same purchase again?".
        "staff /earn": lambda i, m: ev.text_message(
            cashier, f"/earn {m['code']} {100 + offset + i}"
        ),
    }
    figures = {}
    for kind, make in kinds.items():
        event_latencies(sim, [make(i, members[i % len(members)]) for i in range(10)])  # warm
        events = [make(10 + i, members[i % len(members)]) for i in range(count)]
        with Meter() as meter:
            took = sorted(event_latencies(sim, events))
        figures[f"{kind} p50 ms"] = 1000 * statistics.median(took)
        figures[f"{kind} p99 ms"] = 1000 * took[min(len(took) - 1, int(len(took) * 0.99))]
        figures[f"{kind} CPU ms"] = 1000 * meter.cpu / count
    return figures


class Gunicorn:
    """The web app as the Procfile runs it, on the benchmark's database."""

    def __init__(self, uri: str, db_name: str, line_base_url: str):
        self.port = _free_port()
        env = {
            **os.environ,
            "APP_ENV": "test",
            "MONGODB_URI": uri,
            "MONGODB_DB": db_name,
            "LINE_CHANNEL_SECRET": SECRET,
            "LINE_CHANNEL_ACCESS_TOKEN": TOKEN,
            "LINE_API_BASE_URL": line_base_url,
            "DEFAULT_LOCALE": "en",
            "LOG_LEVEL": "WARNING",
        }
        self.process = subprocess.Popen(
            [
                str(ROOT / ".venv" / "bin" / "gunicorn"),
                "bot:create_app()",
                "--workers=2",
                "--threads=4",
                "--timeout=60",
                f"--bind=127.0.0.1:{self.port}",
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.url = f"http://127.0.0.1:{self.port}"
        for _ in range(600):
            try:
                if requests.get(f"{self.url}/healthz", timeout=2).ok:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.1)  # waiting for a child process to listen
        raise RuntimeError("gunicorn did not come up")

    def pids(self) -> list[int]:
        """The master and its workers."""
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [self.process.pid, *(int(pid) for pid in children.read_text().split())]

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(30)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def new_campaign(store) -> dict:
    campaign = {
        "_id": f"KG{uuid.uuid4().hex[:6].upper()}",
        "name": "growth",
        "audience": SEGMENT,
        "filters": "visited:90d",
        "template": "news",
        "content": {"title": "News", "text": "Hello", "image": None, "button": None, "link": None},
        "coupon": None,
        "holdout": 0.1,
        "schedule": {"type": "once", "at": utcnow()},
        "window_days": 7,
        "status": "scheduled",
        "next_run_at": utcnow(),
    }
    store.insert_campaign(campaign)
    return campaign


def snapshot(store, tz) -> None:
    """A new campaign's audience, written as the worker writes it."""
    campaign = new_campaign(store)
    run_id = campaign_jobs._claim(store, campaign)
    audience.snapshot(store, store.campaign(campaign["_id"]), run_id, utcnow(), tz)


def measure(size: int, events: int, through_gunicorn: bool) -> dict:
    """Every figure for one size, on a dev server of its own."""
    figures: dict[str, float] = {}
    with database() as uri:
        PIDS.clear()
        PIDS.update(bench=os.getpid(), devdb=SERVER["process"].pid)
        sim = Simulator(SECRET, TOKEN).start()
        app = bench_app(uri, sim.base_url)
        services = app.extensions["samachik"]
        store, config = services.store, services.config
        now = datetime.now(UTC)
        demo = demo_history.generate
        timed(figures, "load", demo, store, now=now, tz=config.tz, members=size, months=4)
        figures["dev server peak after load MiB"] = server_memory_mib()[1]
        members = sample_members(store, SAMPLE)
        cashier = user_id_for("growth-cashier")
        store.add_staff(cashier, "asoke", "Cashier", invited_by="growth")

        sim.connect(app)
        for name, value in per_event(sim, members, cashier, events, 0).items():
            figures[name.replace(" ms", " in process ms")] = value
        if through_gunicorn:
            web = Gunicorn(uri, store.db.name, sim.base_url)
            try:
                PIDS.update({f"web{i}": pid for i, pid in enumerate(web.pids())})
                sim.connect(f"{web.url}/callback")
                for name, value in per_event(sim, members, cashier, events, 1000).items():
                    figures[name.replace(" ms", " gunicorn ms")] = value
            finally:
                web.stop()
                for name in [n for n in PIDS if n.startswith("web")]:
                    del PIDS[name]
                sim.connect(app)

        clock = Clock(now=now, today=now.astimezone(config.tz).date())
        query = compile_filters(SEGMENT, clock)
        # The quick ones, best of three: a shared machine's noise is larger than they are.
        timed(figures, "segment count", store.count_members, query, runs=3)
        timed(figures, "stats rebuild", segment_jobs.rebuild_stats, store, config.tz)
        timed(figures, "RFM", segment_jobs.score_rfm, store)
        timed(figures, "campaign snapshot", snapshot, store, config.tz, runs=3)
        tasks.RUNTIME.update(store=store, line=services.line, config=config)
        for job in NIGHTLY:
            timed(figures, job, getattr(tasks, job))
        # The points expiry and the tier review read everything on their first night
        # (and the review after new tier thresholds); the nights after, measured above,
        # look only at whom the day lists and rollups name. Shown, held to no target.
        for job, setting in (("expire_points", EXPIRY_SWEEP), ("reevaluate_tiers", TIER_REVIEW)):
            store.put_setting(setting, None)
            timed(figures, f"first {job}", getattr(tasks, job))
        for unit in ("s", "CPU s"):
            jobs = ("RFM", *NIGHTLY)
            figures[f"nightly jobs, all {unit}"] = sum(figures[f"{job} {unit}"] for job in jobs)
        figures["dev server resident MiB"], figures["dev server peak MiB"] = server_memory_mib()
        store.client.drop_database(store.db.name)
        sim.stop()
    return figures


def kind_of(name: str) -> str:
    """What a figure is held to: per-event or batch work (CPU), or nothing (wall, info)."""
    # "… CPU in process ms", "… CPU gunicorn ms" (per event), "… CPU s" (batch).
    if name.startswith(("load", "first ")) or " CPU" not in name:
        return "info"
    return "event" if name.endswith(" ms") else "batch"


def label(small: int, large: int) -> str:
    return f"×{large / 1000:g}k/{small / 1000:g}k"


def report(sizes: list[int], results: dict[int, dict]) -> bool:
    """Print the table with growth factors; True if every target is met."""
    steps = list(itertools.pairwise(sizes))
    reference = [s for s in sizes if s <= 20_000]
    head = f"{'figure':<40}" + "".join(f"{s:>9,}" for s in sizes)
    head += "".join(f"{label(a, b):>11}" for a, b in steps)
    whole = len(reference) > 2
    if whole:
        head += f"{label(reference[0], reference[-1]):>11}"
    print(head + "  target")
    ok = True
    for name in results[sizes[0]]:
        values = [results[s][name] for s in sizes]
        line = f"{name:<40}" + "".join(f"{v:>9.3g}" for v in values)
        factors = [results[b][name] / results[a][name] if results[a][name] else 0 for a, b in steps]
        line += "".join(f"{f:>11.2f}" for f in factors)
        overall = (
            results[reference[-1]][name] / (results[reference[0]][name] or 1) if reference else 0
        )
        if whole:
            line += f"{overall:>11.2f}"
        kind = kind_of(name)
        if kind == "event" and len(reference) > 1:
            good = overall <= PER_EVENT_TARGET
            line += f"  ≤ {PER_EVENT_TARGET}× {'ok' if good else 'MISSED'}"
            ok &= good
        elif kind == "batch" and steps:
            worst = max(f / (b / a) for f, (a, b) in zip(factors, steps, strict=True))
            good = worst <= BATCH_TARGET
            line += f"  ≤ {BATCH_TARGET}× data ({worst:.2f}) {'ok' if good else 'MISSED'}"
            ok &= good
        print(line)
    return ok


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1000,5000,20000")
    parser.add_argument("--big", action="store_true", help="add 100,000 members")
    parser.add_argument("--events", type=int, default=200, help="of each kind, per mode")
    parser.add_argument("--no-gunicorn", action="store_true")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")] + ([100_000] if args.big else [])
    results = {}
    print(f"load average at the start: {os.getloadavg()[0]:.1f}", flush=True)
    for size in sizes:
        started = time.perf_counter()
        results[size] = measure(size, args.events, not args.no_gunicorn)
        print(f"{size:,} members measured in {time.perf_counter() - started:.0f}s", flush=True)
        for name, value in results[size].items():
            print(f"  {name:<40}{value:>10.3g}", flush=True)
    print()
    met = report(sizes, results)
    print(
        "\nCPU: this process, the dev server and gunicorn's workers; wall-clock figures"
        f" include waiting for the cores (load average now {os.getloadavg()[0]:.1f})."
    )
    print("all targets met" if met else "some targets missed")


if __name__ == "__main__":
    main()
