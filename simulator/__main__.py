"""Run the simulator as a server: `python -m simulator --port 8091 --webhook-url …`."""

import argparse
import os
import signal
import threading

from simulator.sim import Simulator


def main() -> None:
    parser = argparse.ArgumentParser(description="Local LINE platform simulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8091)
    parser.add_argument("--webhook-url", default=os.environ.get("SIM_WEBHOOK_URL"))
    parser.add_argument(
        "--channel-secret", default=os.environ.get("LINE_CHANNEL_SECRET", "local-channel-secret")
    )
    parser.add_argument(
        "--access-token", default=os.environ.get("LINE_CHANNEL_ACCESS_TOKEN", "local-access-token")
    )
    parser.add_argument(
        "--language", default="th", help="LINE app language of new console users (th, en, zh-TW)"
    )
    args = parser.parse_args()

    sim = Simulator(
        args.channel_secret,
        args.access_token,
        webhook_target=args.webhook_url,
        language=args.language,
    )
    sim.start(args.host, args.port)
    print(f"LINE simulator on {sim.base_url} (webhooks to {args.webhook_url})", flush=True)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    sim.stop()


if __name__ == "__main__":
    main()
