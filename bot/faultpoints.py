"""Named points where a test may kill the process, to prove a crash there loses nothing.

Inert unless the app runs with `APP_ENV=test` and `SAMACHIK_FAULTPOINT` names the point:
then reaching it kills this process with SIGKILL, as a power cut or an OOM kill would —
no `finally`, no cleanup. tests/test_restarts.py uses it to kill a web process in the
middle of an `/earn` and of a redemption, deterministically rather than by timing.
"""

from __future__ import annotations

import os
import signal

ENV = "SAMACHIK_FAULTPOINT"


def reached(name: str) -> None:
    """Die here if a test asked for it (never in production: APP_ENV must be `test`)."""
    if os.environ.get(ENV) == name and os.environ.get("APP_ENV") == "test":
        os.kill(os.getpid(), signal.SIGKILL)
