"""The webhook under the production server, at fixed offered rates, against a bare endpoint.

gunicorn runs the app with the Procfile's settings (workers, threads, timeouts)
on the dev database server, calling the LINE simulator (in a process of its
own, with --line-latency per call, as LINE is far away). A load generator in
another process sends signed webhooks at fixed rates for a bounded time: a
realistic mix of one event per body (member commands, postbacks, follows of new
users and staff `/earn`s, each earn pushing a notice to its member). The
baseline in the same run: a Flask endpoint that only checks the signature
(bench/bare_webhook.py), served by gunicorn with the same settings and driven
by the same generator at the same rates.

Per rate and server it prints the throughput, p50/p95/p99 latency of `/callback`
(from when each request was due, so queueing counts), errors and the server's
CPU per event; then the highest rate with p99 < 500 ms for each and their ratio.
LINE gives a webhook about 2 seconds.

    .venv/bin/python bench/webhook_load.py [--rates 25,50,100,200] [--seconds 8]
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shlex
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._load import drive_elsewhere, summary
from bench._remote_sim import RemoteSimulator
from bench._stack import ROOT, SECRET, SERVER, TOKEN, _free_port, bench_app, database
from bot.loyalty import points
from bot.members import privacy
from simulator import events as ev
from simulator import user_id_for

P99_TARGET_MS = 500
MEMBERS, STAFF = 300, 30  # enough that nobody passes the per-user rate limit
# The mix of events: weight, kind. Members ask for their points, card and help,
# tap buttons; new people follow; staff ring up purchases.
MIX = (
    (20, "points"),
    (10, "card"),
    (10, "help"),
    (10, "history"),
    (15, "tap_card"),
    (10, "tap_rewards"),
    (10, "follow"),
    (15, "earn"),
)


def gunicorn_command(app_spec: str, port: int) -> list[str]:
    """The Procfile's `web:` command, serving `app_spec` on a loopback port."""
    line = next(x for x in (ROOT / "Procfile").read_text().splitlines() if x.startswith("web:"))
    command = line.split(":", 1)[1]
    command = re.sub(
        r"\$\{(\w+):-([^}]*)\}",
        lambda m: str(port) if m[1] == "PORT" else os.environ.get(m[1], m[2]),
        command,
    )
    words = shlex.split(command)
    words[0] = str(Path(sys.executable).with_name(words[0]))
    words[1] = app_spec
    return [w.replace("0.0.0.0:", "127.0.0.1:") for w in words]


class Server:
    """gunicorn serving one app; its CPU is the master's and its workers'."""

    def __init__(self, app_spec: str, env: dict):
        port = _free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.command = gunicorn_command(app_spec, port)
        self.process = subprocess.Popen(
            self.command,
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise SystemExit(f"gunicorn did not start: {' '.join(self.command)}") from None
                time.sleep(0.2)

    def cpu_seconds(self) -> float:
        pids = [self.process.pid, *_children(self.process.pid)]
        return sum(_cpu_seconds(pid) for pid in pids)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(30)


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry.name))
            except (OSError, IndexError, ValueError):
                continue
    return found


def _cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def seed(store, sim, tz) -> tuple[list[dict], list[str]]:
    """A branch, staff at it and members who are LINE friends; returns (members, staff)."""
    store.add_branch("asoke", "Asoke")
    sim.add_friends("member", MEMBERS)
    members = []
    for index in range(MEMBERS):
        member, _new = store.record_follow(user_id_for(f"member{index}"), "en")
        code = f"{index:06d}".translate(str.maketrans("0123456789", "23456789AB"))
        phone = f"+6681{index:07d}"
        store.claim_member_code(code, member["_id"])
        store.claim_phone(phone, member["_id"])
        profile = {
            "first_name": f"M{index}",
            "last_name": "Bench",
            "gender": "female",
            "birthday": "1990-05-17",
            "birth_month": 5,
            "phone": phone,
        }
        consents = [privacy.consent(kind, True, "bench") for kind in ("privacy", "marketing")]
        store.complete_signup(member["_id"], code, profile, consents, True)
        points.award_signup_bonus(store, member["_id"], tz)
        members.append({"line_user_id": member["line_user_id"], "code": code})
    staff = [user_id_for(f"staff{index}") for index in range(STAFF)]
    for index, line_id in enumerate(staff):
        store.record_follow(line_id, "en")
        store.add_staff(line_id, "asoke", f"Staff {index}", "bench")
    return members, staff


class Mix:
    """Signed webhook bodies, one event each, in the benchmark's mix."""

    def __init__(self, members: list[dict], staff: list[str], seed: int = 7):
        self.members, self.staff = members, staff
        self.rng = random.Random(seed)
        self.kinds = [kind for weight, kind in MIX for _ in range(weight)]
        self.turn = 0
        self.new_users = 0

    def event(self) -> dict:
        kind = self.rng.choice(self.kinds)
        # Round robin over members, so each sends a few events a minute at most.
        member = self.members[self.turn % len(self.members)]
        self.turn += 1
        if kind == "follow":
            self.new_users += 1
            return ev.follow(user_id_for(f"newcomer{self.new_users}-{self.rng.random()}"))
        if kind == "earn":
            who = self.staff[self.turn % len(self.staff)]
            amount = self.rng.randint(50, 2000)
            return ev.text_message(who, f"/earn {member['code']} {amount}")
        if kind.startswith("tap_"):
            return ev.postback(member["line_user_id"], f"a={kind[4:]}")
        return ev.text_message(member["line_user_id"], kind)

    def payloads(self, count: int) -> tuple[list[tuple[bytes, dict]], list[tuple[str, str]]]:
        """`count` signed bodies and the reply tokens the simulator must issue for them."""
        payloads, tokens = [], []
        for _ in range(count):
            event = self.event()
            body = ev.body_of([event])
            headers = {
                "Content-Type": "application/json; charset=utf-8",
                "X-Line-Signature": ev.sign(SECRET, body),
            }
            payloads.append((body, headers))
            tokens.append((event["replyToken"], ev.chat_of(event)))
        return payloads, tokens


def measure(server: Server, sim, mix: Mix, rate: int, seconds: float) -> dict:
    payloads, tokens = mix.payloads(int(rate * seconds))
    sim.issue_reply_tokens(tokens)
    others = {"devdb": SERVER["process"].pid, "simulator": sim.pid} if "process" in SERVER else {}
    before = server.cpu_seconds(), {name: _cpu_seconds(pid) for name, pid in others.items()}
    result = summary(drive_elsewhere(f"{server.url}/callback", payloads, rate))
    result["cpu_ms"] = (server.cpu_seconds() - before[0]) * 1000 / len(payloads)
    result["others_ms"] = {
        name: (_cpu_seconds(pid) - before[1][name]) * 1000 / len(payloads)
        for name, pid in others.items()
    }
    return result


def keeps_up(results: dict[int, dict]) -> bool:
    """Whether the last rate tried was answered in time (LINE's budget) at its pace."""
    if not results:
        return True
    last = results[max(results)]
    return last["p99"] < 2000 and last["throughput"] >= 0.8 * max(results)


def highest(results: dict[int, dict]) -> int | None:
    """The highest offered rate answered with p99 under the target and no errors."""
    good = [rate for rate, r in results.items() if r["p99"] < P99_TARGET_MS and not r["errors"]]
    return max(good, default=None)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rates", default="10,25,50,100,200", help="events per second")
    parser.add_argument("--seconds", type=float, default=8.0, help="at each rate")
    parser.add_argument("--line-latency", type=float, default=0.05, help="seconds per LINE call")
    args = parser.parse_args()
    rates = [int(r) for r in args.rates.split(",")]
    # Stopped from outside (a timeout): still stop the gunicorns and servers we started.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    sim = RemoteSimulator(SECRET, TOKEN)
    try:
        with database() as uri:
            services = bench_app(uri, sim.base_url).extensions["samachik"]
            store = services.store
            for endpoint in ("reply", "push"):
                sim.set_latency(endpoint, args.line_latency)
            members, staff = seed(store, sim, services.config.tz)
            env = {
                "APP_ENV": "production",
                "MONGODB_URI": uri,
                "MONGODB_DB": store.db.name,
                "LINE_CHANNEL_SECRET": SECRET,
                "LINE_CHANNEL_ACCESS_TOKEN": TOKEN,
                "LINE_API_BASE_URL": sim.base_url,
                "PUBLIC_BASE_URL": "https://bench.invalid",
                "SECRET_KEY": "bench-secret-key",
                "DEFAULT_LOCALE": "en",
                "LOG_LEVEL": "WARNING",
            }
            servers = {
                "baseline": Server("bench.bare_webhook:create_app()", env),
                "app": Server("bot:create_app()", env),
            }
            print(f"gunicorn: {' '.join(servers['app'].command[1:])}")
            print(
                f"mix: {', '.join(f'{w}% {k}' for w, k in MIX)}; {MEMBERS} members, "
                f"{STAFF} staff; LINE calls take {args.line_latency * 1000:.0f} ms; "
                f"{args.seconds:.0f} s at each rate; {os.cpu_count()} cores"
            )
            mix = Mix(members, staff)
            measure(servers["app"], sim, mix, 20, 2)  # warm-up: imports, connections, caches
            measure(servers["baseline"], sim, mix, 20, 1)
            sim.settle()
            results: dict[str, dict[int, dict]] = {"baseline": {}, "app": {}}
            try:
                for rate in rates:
                    for name, server in servers.items():  # side by side: the same noise
                        if name == "app" and not keeps_up(results["app"]):
                            continue  # queueing only grows from here: keep the run bounded
                        results[name][rate] = measure(server, sim, mix, rate, args.seconds)
                    report_rate(rate, results)
            finally:
                for server in servers.values():
                    server.stop()
            replies = sim.requests("reply")
            print(f"simulator: replies by status {replies}, pushes {sim.requests('push')}")
            report(results)
            store.client.drop_database(store.db.name)
    finally:
        sim.stop()


def report_rate(rate: int, results: dict) -> None:
    if rate not in results["app"]:
        print(f"  {rate:>4}/s app      not tried: it did not keep up at a lower rate")
    for name in ("baseline", "app"):
        if rate not in results[name]:
            continue
        r = results[name][rate]
        print(
            f"  {rate:>4}/s {name:<8} {r['throughput']:6.1f} events/s  p50 {r['p50']:6.1f} ms"
            f"  p95 {r['p95']:6.1f} ms  p99 {r['p99']:7.1f} ms  errors {r['errors']}"
            f"  CPU {r['cpu_ms']:5.1f} ms/event"
            + "".join(f", {k} {v:.1f}" for k, v in r["others_ms"].items())
            + f"  (latest start {r['lag_ms']:.0f} ms late)"
        )
    if rate in results["app"]:
        app, base = results["app"][rate], results["baseline"][rate]
        print(f"         app/baseline p99 {app['p99'] / base['p99']:.1f}x")


def report(results: dict) -> None:
    app, base = highest(results["app"]), highest(results["baseline"])
    worst = max(r["p99"] for r in results["app"].values())
    print(
        f"webhook under gunicorn: highest offered rate with p99 < {P99_TARGET_MS} ms: "
        f"app {app or 'none'}/s, baseline {base or 'none'}/s"
        + (
            f" (ratio {app / base:.2f}; 1.00 = the app keeps up wherever the bare endpoint does)"
            if app and base
            else ""
        )
    )
    print(
        f"  worst app p99 {worst:.0f} ms against LINE's 2,000 ms budget ({worst / 2000:.2f} of it)"
    )


if __name__ == "__main__":
    main()
