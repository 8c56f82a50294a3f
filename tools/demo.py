"""`make demo`: dev database, web app, worker and LINE simulator, wired together.

Prints the chat console URL and runs until Ctrl-C. `--check` starts
everything, adds the bot as a friend and types `help` as a customer would in
the console, prints the reply and exits (used by the test suite to prove the
demo works).
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pymongo
import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.store import Store, connect  # noqa: E402 - needs the repo on sys.path first
from jobs.scheduler import LEASE_NAME  # noqa: E402
from simulator import user_id_for  # noqa: E402

PYTHON = sys.executable
BIN = Path(PYTHON).parent
# The console's users have a LINE app in the demo's language, so replies are in it.
LINE_LANGUAGE = {"th": "th", "en": "en", "zh_Hant": "zh-TW"}


def say(message: str) -> None:
    print(f"demo: {message}", flush=True)


def port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def pick_port(preferred: int) -> int:
    if port_is_free(preferred):
        return preferred
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(check, what: str, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except (requests.RequestException, pymongo.errors.PyMongoError):
            pass
        time.sleep(0.2)
    raise SystemExit(f"demo: {what} did not come up within {seconds:.0f}s")


class Demo:
    def __init__(self, data_dir: Path, ports: dict[str, int], locale: str):
        self.locale = locale
        self.data_dir = data_dir
        self.ports = ports
        self.processes: list[tuple[str, subprocess.Popen]] = []
        self.members = os.environ.get("DEMO_MEMBERS", "2000")  # the seeded history's size
        self.log_dir = data_dir / "logs"
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "APP_ENV": "demo",
            "MONGODB_URI": f"mongodb://127.0.0.1:{ports['db']}/",
            "MONGODB_DB": "samachik_demo",
            "LINE_API_BASE_URL": f"http://127.0.0.1:{ports['sim']}",
            "LINE_CHANNEL_SECRET": "demo-channel-secret",
            "LINE_CHANNEL_ACCESS_TOKEN": "demo-access-token",
            "PUBLIC_BASE_URL": f"http://127.0.0.1:{ports['web']}",
            "SECRET_KEY": "demo-secret-key",
            "ADMIN_LINE_USER_IDS": user_id_for("demo-owner"),
            "DEFAULT_LOCALE": locale,
        }

    def start(self, name: str, args: list[str]) -> None:
        log = (self.log_dir / f"{name}.log").open("w")
        process = subprocess.Popen(args, cwd=ROOT, env=self.env, stdout=log, stderr=log)
        self.processes.append((name, process))

    def up(self) -> None:
        db_uri = self.env["MONGODB_URI"]
        say(f"starting the dev database (data in {self.data_dir / 'db'})…")
        self.start(
            "devdb",
            [
                str(ROOT / ".bin" / "devdb"),
                "-listen",
                f"127.0.0.1:{self.ports['db']}",
                "-data",
                str(self.data_dir / "db"),
            ],
        )
        client = connect(db_uri, timeout_ms=500)
        wait_until(lambda: client.admin.command("ping"), "the dev database")
        say("loading the demo merchant (a four-branch tea shop)…")
        subprocess.run(
            [str(BIN / "flask"), "--app", "bot", "seed-demo", "--members", self.members],
            cwd=ROOT,
            env=self.env,
            check=True,
        )
        say("starting the web app, the worker and the LINE simulator…")
        self.start(
            "web",
            [
                str(BIN / "gunicorn"),
                "bot:create_app()",
                "--workers=2",
                "--threads=4",
                "--timeout=30",
                "--no-control-socket",
                f"--bind=127.0.0.1:{self.ports['web']}",
            ],
        )
        self.start("worker", [PYTHON, "-m", "jobs.scheduler"])
        self.start(
            "simulator",
            [
                PYTHON,
                "-m",
                "simulator",
                f"--port={self.ports['sim']}",
                f"--webhook-url=http://127.0.0.1:{self.ports['web']}/callback",
                "--channel-secret=demo-channel-secret",
                "--access-token=demo-access-token",
                f"--language={LINE_LANGUAGE[self.locale]}",
            ],
        )
        web, sim = self.url("web"), self.url("sim")
        wait_until(lambda: requests.get(f"{web}/healthz", timeout=2).ok, "the web app")
        wait_until(lambda: requests.get(f"{sim}/_sim/users", timeout=2).ok, "the simulator")
        store = Store(client, self.env["MONGODB_DB"])
        wait_until(lambda: store.lease_holder(LEASE_NAME), "the worker")

    def deploy_rich_menus(self) -> None:
        """The simulator starts empty every time: put the rich menus live in it."""
        with (self.log_dir / "richmenu.log").open("w") as log:
            subprocess.run(
                [str(BIN / "flask"), "--app", "bot", "richmenu", "deploy"],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=log,
                check=True,
            )

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    def check_any_died(self) -> str | None:
        for name, process in self.processes:
            if process.poll() is not None:
                return name
        return None

    def down(self) -> None:
        for _name, process in reversed(self.processes):
            if process.poll() is None:
                process.terminate()
        for _name, process in reversed(self.processes):
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="type `help` once, print, exit")
    parser.add_argument("--data", default=str(ROOT / ".demo"), help="demo data directory")
    parser.add_argument(
        "--locale", default=os.environ.get("DEFAULT_LOCALE", "en"), choices=sorted(LINE_LANGUAGE)
    )
    args = parser.parse_args()

    ports = {
        "db": pick_port(int(os.environ.get("DEMO_DB_PORT", "27018"))),
        "web": pick_port(int(os.environ.get("DEMO_WEB_PORT", "8090"))),
        "sim": pick_port(int(os.environ.get("DEMO_SIM_PORT", "8091"))),
    }
    demo = Demo(Path(args.data), ports, args.locale)
    stop = {"now": False}
    signal.signal(signal.SIGTERM, lambda *_: stop.update(now=True))
    try:
        demo.up()
        if not args.check:  # (drawing twelve menus takes a while; the suite tests deploys)
            demo.deploy_rich_menus()
        if args.check:
            customer = f"{demo.url('sim')}/_sim/users/demo-customer"
            requests.post(f"{customer}/follow", json={}, timeout=30).raise_for_status()
            reply = requests.post(f"{customer}/say", json={"text": "help"}, timeout=30).json()
            first = reply["replies"][0] if reply["replies"] else {}
            # `help` answers with a Flex menu: its altText reads as the choices in words.
            print(first.get("text") or first.get("altText") or "NO REPLY")
            return
        print(
            f"\n  Samachik demo is running.\n"
            f"  Chat console (type as a LINE customer): {demo.url('sim')}/\n"
            f"  To act as the shop owner, set the console's user to: demo-owner\n"
            f"  Web app: {demo.url('web')}/healthz   Logs: {demo.log_dir}\n"
            f"  Ctrl-C stops everything.\n",
            flush=True,
        )
        while not stop["now"]:
            died = demo.check_any_died()
            if died:
                raise SystemExit(f"demo: {died} stopped; see {demo.log_dir / (died + '.log')}")
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        demo.down()


if __name__ == "__main__":
    main()
