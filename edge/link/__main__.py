"""`python -m edge.link`: run the edge link over a journal until SIGTERM/SIGINT.

The store runtime starts the link in-process (`EdgeLink.start()`); this entry point runs it on its
own, for a journal written by another process (tests kill it with SIGKILL mid-drain).
"""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from pathlib import Path

from edge.link.link import EdgeLink, LinkSettings
from edge.link.mqtt import BrokerAddress


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m edge.link", description=__doc__)
    parser.add_argument("--journal", type=Path, required=True, help="journal.sqlite to drain")
    parser.add_argument("--store", required=True, help="store id (the topic level)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=1883)
    parser.add_argument("--keepalive", type=int, default=30, help="MQTT keepalive, seconds")
    parser.add_argument("--ack-timeout", type=float, default=10.0, help="seconds")
    parser.add_argument("--heartbeat", type=float, default=30.0, help="interval, seconds")
    parser.add_argument("--window", type=int, default=1000, help="events in flight")
    parser.add_argument("--backoff-max", type=float, default=30.0, help="seconds")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    settings = LinkSettings(
        store_id=args.store,
        broker=BrokerAddress(host=args.host, port=args.port, keepalive_s=args.keepalive),
        ack_timeout_s=args.ack_timeout,
        heartbeat_interval_s=args.heartbeat,
        window=args.window,
        backoff_min_s=min(0.5, args.backoff_max),
        backoff_max_s=args.backoff_max,
    )
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    EdgeLink(args.journal, settings).run(stop)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
