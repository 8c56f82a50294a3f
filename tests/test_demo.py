"""`make demo` really answers: the whole stack in separate processes over HTTP."""

import os
import subprocess
import sys

from tests.conftest import ROOT, free_port


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
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "Here is what you can type:" in result.stdout
    worker_log = (tmp_path / "logs" / "worker.log").read_text()
    assert "started" in worker_log
