"""An open-loop load generator: requests at a fixed rate, each timed from when it was due.

Open loop: request i is due at start + i / rate whether or not earlier ones have
been answered, so a slow server shows as latency (nothing waits politely for
it). It runs in a process of its own, so its work does not share the GIL of
anything it measures; each of its threads keeps one HTTP/1.1 connection alive.
"""

from __future__ import annotations

import http.client
import itertools
import multiprocessing
import threading
import time
from urllib.parse import urlsplit

CONNECTIONS = 64  # requests in flight at most; more are late, and count as latency
TIMEOUT = 10.0  # seconds; LINE itself gives up on a webhook after a few
_CLOSED_WHILE_IDLE = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)


def drive(url: str, payloads: list[tuple[bytes, dict]], rate: float) -> list[tuple]:
    """POST each (body, headers) at `rate` per second; per request: (due, sent, done, status)."""
    target = urlsplit(url)
    indexes = itertools.count()  # next() on a count is atomic under the GIL
    results: list = [None] * len(payloads)
    start = time.perf_counter() + 0.2

    def worker() -> None:
        connection = None
        while (index := next(indexes)) < len(payloads):
            due = start + index / rate
            if (wait := due - time.perf_counter()) > 0:
                time.sleep(wait)
            sent = time.perf_counter()
            status = 0  # refused, reset or timed out: an error
            for _attempt in range(2):
                reused = connection is not None
                try:
                    if connection is None:
                        connection = http.client.HTTPConnection(
                            target.hostname, target.port, timeout=TIMEOUT
                        )
                    body, headers = payloads[index]
                    connection.request("POST", target.path, body=body, headers=headers)
                    response = connection.getresponse()
                    response.read()
                    status = response.status
                    break
                except (OSError, http.client.HTTPException) as error:
                    if connection is not None:
                        connection.close()
                    connection = None
                    # The server closed a kept-alive connection while it was idle (it never
                    # saw the request): once more on a new one, as browsers do.
                    if not (reused and isinstance(error, _CLOSED_WHILE_IDLE)):
                        break
            results[index] = (due, sent, time.perf_counter(), status)
        if connection is not None:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(min(CONNECTIONS, len(payloads)))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def drive_elsewhere(url: str, payloads: list[tuple[bytes, dict]], rate: float) -> list[tuple]:
    """`drive` in a fresh process (the caller's module must guard `__main__`)."""
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(drive, (url, payloads, rate))


def summary(results: list[tuple]) -> dict:
    """Throughput of answered requests, latency percentiles (ms, from due) and errors."""
    ok = [r for r in results if r[3] == 200]
    latencies = sorted((done - due) * 1000 for due, _sent, done, _status in ok)
    first_due = min(r[0] for r in results)
    last_done = max(r[2] for r in results)

    def percentile(share: float) -> float:
        if not latencies:
            return float("nan")
        return latencies[min(len(latencies) - 1, int(share * len(latencies)))]

    return {
        "sent": len(results),
        "throughput": len(ok) / (last_done - first_due),
        "p50": percentile(0.50),
        "p95": percentile(0.95),
        "p99": percentile(0.99),
        "errors": len(results) - len(ok),
        # How late the generator itself started requests: if large, it was the bottleneck.
        "lag_ms": max((sent - due) for due, sent, _done, _status in results) * 1000,
    }
