"""Cloud ingest: throughput with 1 and 2 workers, and exit-to-cloud latency of receipts.

Throughput: a fast publisher sends N receipt events (about 1 kB each, several stores) to a
private mosquitto; `walkout cloud serve`-style worker processes store them; the figure is N over
the time from the first publish to the last row committed. Latency: the edge link runs over a
journal while a store settles receipts at a steady rate; for each receipt, the time from the
shopper's exit (the receipt's exit time, wall clock) to its row committed in the cloud database.

Usage: python benchmarks/bench_ingest.py [--events 20000] [--db sqlite|postgres]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from sqlalchemy import select
from walkout.v1 import events_pb2

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from _cloudbench import database_url, start_workers, stop_workers, stored
from support.traffic import receipt_payload, settle

from cloud import db
from cloud.broker import start_mosquitto
from edge.journal.journal import Journal
from edge.link import topics
from edge.link.link import EdgeLink, LinkSettings
from edge.link.mqtt import BrokerAddress

STORES = 8


def build_events(n: int, tag: str) -> list[tuple[str, bytes]]:
    out = []
    now = time.time()
    for i in range(n):
        store = f"bench-{i % STORES}"
        _, payload = receipt_payload(store, f"{tag}-{i:07d}", exit_unix=now)
        msg = events_pb2.EdgeEvent.FromString(payload)
        msg.header.sequence = i // STORES + 1
        out.append((topics.events(store, "receipts"), msg.SerializeToString()))
    return out


def throughput(port: int, url: str, workers: int, n: int) -> float:
    engine = db.make_engine(url)
    procs = start_workers(url, port, workers)
    messages = build_events(n, f"w{workers}")
    client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=MQTTProtocolVersion.MQTTv5)
    client.max_inflight_messages_set(1000)
    client.connect("127.0.0.1", port)
    client.loop_start()
    try:
        started = time.perf_counter()
        for topic, payload in messages:
            client.publish(topic, payload, qos=1)
        while stored(engine) < n:
            if time.perf_counter() - started > 600:
                raise TimeoutError(f"only {stored(engine)} of {n} stored after 600 s")
            time.sleep(0.05)
        elapsed = time.perf_counter() - started
    finally:
        client.loop_stop()
        client.disconnect()
        stop_workers(procs)
        engine.dispose()
    return n / elapsed


def latency(port: int, url: str, folder: Path, rate: float, seconds: float) -> list[float]:
    engine = db.make_engine(url)
    procs = start_workers(url, port, 1)
    journal_path = folder / "journal.sqlite"
    store = "bench-latency"
    link = EdgeLink(
        journal_path, LinkSettings(store_id=store, broker=BrokerAddress(port=port), poll_s=0.05)
    )
    link.start()
    link.wait_ready(10)
    stop = threading.Event()

    def shoppers() -> None:
        journal = Journal(journal_path)
        i = 0
        next_t = time.monotonic()
        while not stop.is_set():
            settle(journal, store, f"lat-{i:06d}", exit_unix=time.time())
            i += 1
            next_t += 1.0 / rate
            time.sleep(max(0.0, next_t - time.monotonic()))
        journal.close()

    thread = threading.Thread(target=shoppers)
    thread.start()
    time.sleep(seconds)
    stop.set()
    thread.join()
    time.sleep(3.0)
    link.stop()
    stop_workers(procs)
    r = db.receipts
    with engine.connect() as conn:
        rows = conn.execute(
            select(r.c.exited_at_unix_ns, r.c.stored_unix_ns).where(r.c.store_id == store)
        ).all()
    engine.dispose()
    return sorted((s - e) / 1e9 for e, s in rows)


def pct(values: list[float], q: float) -> float:
    return values[min(len(values) - 1, int(q * len(values)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=20000)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--rate", type=float, default=20.0, help="receipts/s for latency")
    parser.add_argument("--seconds", type=float, default=20.0, help="latency run length")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        broker = start_mosquitto(folder / "mosquitto")
        servers = []
        try:
            for workers in (1, 2):
                sub = folder / f"t{workers}"
                sub.mkdir()
                url, server = database_url(args.db, sub)
                servers.append(server)
                rate = throughput(broker.port, url, workers, args.events)
                print(
                    f"ingest       {workers} worker(s), {args.db}: {rate:,.0f} events/s "
                    f"({args.events} receipt events of ~1 kB, mosquitto on loopback)"
                )
            sub = folder / "lat"
            sub.mkdir()
            url, server = database_url(args.db, sub)
            servers.append(server)
            lat = latency(broker.port, url, sub, args.rate, args.seconds)
            print(
                f"latency      exit -> stored in cloud ({args.db}), {len(lat)} receipts at "
                f"{args.rate:g}/s: p50 {statistics.median(lat) * 1000:.0f} ms, "
                f"p99 {pct(lat, 0.99) * 1000:.0f} ms, max {lat[-1] * 1000:.0f} ms "
                f"(target p99 < 2000 ms)"
            )
        finally:
            broker.stop()
            for server in servers:
                if server is not None:
                    server.stop()  # type: ignore[attr-defined]


if __name__ == "__main__":
    main()
