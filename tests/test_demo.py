"""`make demo` really answers: the whole stack in separate processes over HTTP."""

import os
import subprocess
import sys

import pytest
import requests

from tests.conftest import ROOT, free_port


@pytest.mark.devdb_only(reason="runs the demo's own dev database server and processes")
def test_the_demo_stack_answers_help_typed_in_the_console(tmp_path):
    env = {
        **os.environ,
        "DEMO_DB_PORT": str(free_port()),
        "DEMO_WEB_PORT": str(free_port()),
        "DEMO_SIM_PORT": str(free_port()),
        "DEMO_MEMBERS": "40",  # a small history: this checks the stack, not the seed
    }
    env.pop("MONGODB_URI", None)

    result = subprocess.run(
        [sys.executable, "tools/demo.py", "--check", "--data", str(tmp_path), "--locale", "en"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,  # a busy 2-core CI machine starts four processes
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    # It says what it is doing while it starts, then the customer (who added the
    # account in the console first) is answered in the demo's language.
    assert "demo: starting the dev database" in result.stdout
    assert "demo: starting the web app, the worker and the LINE simulator" in result.stdout
    assert "Here is what you can type:" in result.stdout
    worker_log = (tmp_path / "logs" / "worker.log").read_text()
    assert "started" in worker_log


def test_the_console_starts_customers_in_the_demo_language(app, sim, monkeypatch):
    monkeypatch.setattr(sim, "language", "en")  # what `tools/demo.py --locale en` passes
    console = sim.base_url

    page = requests.get(f"{console}/", timeout=10).text
    requests.get(f"{console}/_sim/users/kim/messages", timeout=10)  # the page polls at once
    requests.post(f"{console}/_sim/users/kim/follow", json={"language": "en"}, timeout=10)
    reply = requests.post(
        f"{console}/_sim/users/kim/say", json={"language": "en", "text": "help"}, timeout=10
    ).json()

    assert '<option value="en" selected>' in page
    assert reply["replies"][0]["altText"].startswith("Here is what you can type:")


def test_the_consoles_language_menu_is_the_phones_language(app, sim):
    console = sim.base_url
    requests.post(
        f"{console}/_sim/users/kim/say", json={"language": "en", "text": "hi"}, timeout=10
    )

    requests.post(f"{console}/_sim/users/kim/follow", json={"language": "zh-TW"}, timeout=10)
    reply = requests.post(
        f"{console}/_sim/users/kim/say", json={"language": "zh-TW", "text": "help"}, timeout=10
    ).json()

    assert reply["replies"][0]["altText"].startswith("你")
