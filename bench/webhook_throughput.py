"""Webhook throughput against its physical bound, measured in one process.

The bound: every text event must at least claim its webhookEventId, read the
sender's language, send one reply over HTTP and mark the event done — the
same database round trips and the same HTTP call, made directly with no Flask,
no signature check, no SDK parsing and no registry. The ratio says how much
our webhook path costs on top of the work it cannot avoid (1.0 = nothing).

    make bench      # or: .venv/bin/python bench/webhook_throughput.py [events]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._stack import stack
from simulator import events as ev

# The routing, handler and reply building on top of the writes no event avoids.
TARGET = 2.0
HELP_REPLY = [{"type": "text", "text": "Here is what you can type:"}]


def bound(app, sim, users, count: int) -> float:
    """Seconds for `count` events of unavoidable work, done by hand."""
    services = app.extensions["samachik"]
    store, line = services.store, services.line
    started = time.perf_counter()
    for index in range(count):
        user = users[index % len(users)]
        event = ev.text_message(user.id, "help")
        sim.platform.issue_reply_token(event["replyToken"], user.id)
        store.claim_event(event["webhookEventId"], "message", "active")
        store.member_locale(user.id)
        line.reply(event["replyToken"], HELP_REPLY)
        store.finish_event(event["webhookEventId"])
    return time.perf_counter() - started


def full_path(sim, users, count: int) -> float:
    """Seconds for `count` signed webhooks through /callback, one event each."""
    started = time.perf_counter()
    for index in range(count):
        user = users[index % len(users)]
        status = sim.deliver([ev.text_message(user.id, "help")])
        assert status == 200
    return time.perf_counter() - started


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 400
    with stack() as (app, sim):
        users = [sim.user(f"bench{i}", language="en") for i in range(50)]
        full_path(sim, users, 30)  # warm-up: connections, caches, SQLite pages
        bound(app, sim, users, 30)
        # Interleave halves so machine noise hits both sides alike.
        half = count // 2
        t_bound = bound(app, sim, users, half) + bound(app, sim, users, half)
        t_full = full_path(sim, users, half) + full_path(sim, users, half)
        replies = len(sim.requests("reply"))

    print(f"webhook events: {2 * half} per side ({replies} replies recorded by the simulator)")
    print(f"  bound (DB claim+locale+finish, HTTP reply): {2 * half / t_bound:8.1f} events/s")
    print(f"  full /callback path:                        {2 * half / t_full:8.1f} events/s")
    ratio = t_full / t_bound
    verdict = "met" if ratio <= TARGET else "MISSED"
    print(
        f"  ratio full/bound time per event: {ratio:.2f}x  (1.00 = no overhead;"
        f" target <= {TARGET:g}x): {verdict}"
    )


if __name__ == "__main__":
    main()
