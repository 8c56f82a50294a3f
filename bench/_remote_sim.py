"""The simulator in a process of its own, as LINE is: its work does not share our GIL.

The benchmark drives it through a pipe: add friends, set limits and latency, and
count what each user received.
"""

from __future__ import annotations

import gc
import multiprocessing
import resource
from collections import Counter

from simulator import Simulator, user_id_for


def _serve(conn, secret: str, token: str) -> None:
    # With 100,000 users and their inboxes, each automatic full collection in this
    # process is a pause of ~0.2 s that LINE would not have; collect between phases.
    gc.disable()
    sim = Simulator(secret, token).start()
    conn.send(sim.base_url)
    while True:
        command, args = conn.recv()
        if command == "stop":
            sim.stop()
            conn.send(None)
            return
        conn.send(COMMANDS[command](sim, *args))


def _add_friends(sim, prefix: str, count: int) -> int:
    for index in range(count):
        state = sim.platform.add_user(user_id_for(f"{prefix}{index}"), f"{prefix}{index}", "en")
        state.friend = True
    return count


def _settle(sim) -> None:
    """Between measured phases: forget logged requests and collect garbage now."""
    sim.platform.requests.clear()
    gc.collect()


def _received(sim, prefix: str, count: int) -> dict:
    """How many users got 0, 1, 2… messages."""
    return dict(Counter(len(sim.platform.inbox(user_id_for(f"{prefix}{i}"))) for i in range(count)))


def _issue_reply_tokens(sim, tokens: list[tuple[str, str]]) -> int:
    """Reply tokens for events the benchmark will send itself (token, chat id)."""
    for token, chat_id in tokens:
        sim.platform.issue_reply_token(token, chat_id)
    return len(tokens)


def _requests(sim, endpoint: str) -> dict:
    return dict(Counter(r["status"] for r in sim.requests(endpoint)))


COMMANDS = {
    "add_friends": _add_friends,
    "issue_reply_tokens": _issue_reply_tokens,
    "received": _received,
    "requests": _requests,
    "set_rate_limit": lambda sim, endpoint, rate: sim.set_rate_limit(endpoint, rate),
    "set_latency": lambda sim, endpoint, seconds: sim.set_latency(endpoint, seconds),
    "settle": _settle,
    "request_times": lambda sim, endpoint: [r["at"] for r in sim.requests(endpoint)],
    "peak_mib": lambda sim: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
}


class RemoteSimulator:
    def __init__(self, secret: str, token: str):
        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        self._process = context.Process(target=_serve, args=(child, secret, token), daemon=True)
        self._process.start()
        self.base_url = self._conn.recv()

    def __getattr__(self, command: str):
        if command not in COMMANDS:
            raise AttributeError(command)

        def call(*args):
            self._conn.send((command, args))
            return self._conn.recv()

        return call

    @property
    def pid(self) -> int:
        return self._process.pid

    def stop(self) -> None:
        self._conn.send(("stop", ()))
        self._conn.recv()
        self._process.join(10)
