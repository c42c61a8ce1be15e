"""Drain time of a store's backlog after a one-hour WAN outage.

A busy medium store (scenario busy-store, seed 1) settles about 660 receipts an hour; counting
every event the edge could send (visits, shelf events, cart lines, receipts) it is about 8,100 an
hour. The journal is filled with one hour of that (not timed), then the edge link and one ingest
worker start, and the figure is the time until the cloud has acknowledged the whole backlog.

Usage: python benchmarks/bench_drain.py [--per-hour 660 8100] [--hours 1] [--db sqlite|postgres]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from _cloudbench import database_url, start_workers, stop_workers, stored
from support.traffic import fill_journal

from cloud import db
from cloud.broker import start_mosquitto
from edge.journal.journal import Journal
from edge.link.link import EdgeLink, LinkSettings
from edge.link.mqtt import BrokerAddress


def drain(folder: Path, port: int, url: str, events: int) -> tuple[float, int]:
    journal_path = folder / "journal.sqlite"
    fill_journal(journal_path, "busy-store", events)
    engine = db.make_engine(url)
    procs = start_workers(url, port, 1)
    link = EdgeLink(
        journal_path, LinkSettings(store_id="busy-store", broker=BrokerAddress(port=port))
    )
    journal = Journal(journal_path)
    try:
        started = time.perf_counter()
        link.start()
        while journal.backlog().count:
            if time.perf_counter() - started > 600:
                raise TimeoutError(f"{journal.backlog().count} events left after 600 s")
            time.sleep(0.02)
        elapsed = time.perf_counter() - started
    finally:
        journal.close()
        link.stop()
        stop_workers(procs)
    count = stored(engine)
    engine.dispose()
    return elapsed, count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--per-hour", type=int, nargs="+", default=[660, 8100])
    parser.add_argument("--hours", type=float, default=1.0)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        broker = start_mosquitto(Path(tmp) / "mosquitto")
        try:
            for per_hour in args.per_hour:
                folder = Path(tmp) / f"d{per_hour}"
                folder.mkdir()
                url, server = database_url(args.db, folder)
                events = round(per_hour * args.hours)
                try:
                    elapsed, count = drain(folder, broker.port, url, events)
                finally:
                    if server is not None:
                        server.stop()  # type: ignore[attr-defined]
                assert count == events, (count, events)
                print(
                    f"drain        {args.hours:g} h outage at {per_hour}/h = {events} events: "
                    f"{elapsed:.2f} s ({events / elapsed:,.0f} events/s, 1 worker, {args.db}; "
                    f"{elapsed / (args.hours * 3600) * 100:.3f} % of the outage)"
                )
        finally:
            broker.stop()


if __name__ == "__main__":
    main()
