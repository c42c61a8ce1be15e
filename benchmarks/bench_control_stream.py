"""Control plane: StreamReceipts throughput (backlog) and store-to-client latency (live).

Backlog: N receipts (about 1 kB, 4 lines with evidence) are ingested into SQLite through the real
ingest worker; a client on loopback streams them all (since_unix_ns before the first exit) and
the figure is N over the time from the call to the last message. Live: while the stream is open,
receipts are ingested one batch of 10 every 50 ms; for each, the time from its batch committed to
the client holding it (the stream polls the database every 0.2 s, so the latency is bounded by
the poll interval plus the decode).

Usage: python benchmarks/bench_control_stream.py [--receipts 5000] [--live 200]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from support.traffic import receipt_payload
from walkout.v1 import control_pb2, events_pb2

from cloud import db
from cloud.control.auth import Caller, TokenTable
from cloud.control.client import open_channel, stub
from cloud.control.server import start_control_server
from cloud.control.service import ServiceSettings
from cloud.ingest import IngestSettings, IngestWorker
from edge.link import topics
from edge.link.mqtt import Event

TOKEN = "bench-token-0123456789abcdef"
EXIT_UNIX = 1_700_000_000.0


def events(store: str, first: int, count: int) -> list[Event]:
    out = []
    for i in range(first, first + count):
        _, payload = receipt_payload(store, f"visit-{i:07d}", exit_unix=EXIT_UNIX + i)
        msg = events_pb2.EdgeEvent.FromString(payload)
        msg.header.sequence = i + 1
        out.append(
            Event(
                "message",
                1,
                topic=topics.events(store, "receipts"),
                payload=msg.SerializeToString(),
            )
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--receipts", type=int, default=5000)
    parser.add_argument("--live", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        engine = db.make_engine(f"sqlite:///{Path(tmp) / 'cloud.sqlite'}")
        worker = IngestWorker(engine, IngestSettings())
        backlog = events("store-1", 0, args.receipts)
        for start in range(0, len(backlog), 500):
            worker.process(backlog[start : start + 500])
        settings = ServiceSettings(tokens=TokenTable([(TOKEN, Caller("bench", None))]))
        server = start_control_server(engine, settings)
        client = stub(open_channel(f"127.0.0.1:{server.port}", TOKEN))
        t0 = time.perf_counter()
        call = client.StreamReceipts(
            control_pb2.StreamReceiptsRequest(since_unix_ns=int(EXIT_UNIX * 1e9) - 1)
        )
        received: list[tuple[str, float]] = []
        done_backlog = threading.Event()

        def read() -> None:
            try:
                for item in call:
                    received.append((item.receipt.visit_id, time.perf_counter()))
                    if len(received) == args.receipts:
                        done_backlog.set()
            except Exception:  # cancelled at the end
                pass

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        if not done_backlog.wait(300):
            raise SystemExit(f"backlog not streamed: {len(received)} of {args.receipts}")
        backlog_s = received[-1][1] - t0
        committed: dict[str, float] = {}
        batch = 10
        for k in range(0, args.live, batch):
            live = events("store-1", args.receipts + k, batch)
            worker.process(live)
            now = time.perf_counter()
            for e in live:
                committed[events_pb2.EdgeEvent.FromString(e.payload).receipt.visit_id] = now
            time.sleep(0.05)
        deadline = time.monotonic() + 30
        while len(received) < args.receipts + args.live and time.monotonic() < deadline:
            time.sleep(0.05)
        call.cancel()
        server.stop()
        engine.dispose()
    latencies = sorted(t - committed[v] for v, t in received[args.receipts :] if v in committed)
    print(
        f"backlog: {args.receipts} receipts in {backlog_s:.2f} s = "
        f"{args.receipts / backlog_s:,.0f} receipts/s"
    )
    print(f"live: {len(latencies)} of {args.live} receipts received")
    if latencies:
        p99 = latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))]
        print(
            f"live latency commit -> client: median {statistics.median(latencies) * 1000:.0f} ms, "
            f"p99 {p99 * 1000:.0f} ms, max {latencies[-1] * 1000:.0f} ms"
        )


if __name__ == "__main__":
    main()
