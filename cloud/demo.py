"""The cloud half of `walkout demo`: a private mosquitto, one ingest worker on SQLite, and the edge
link over the run's journal; returns what arrived in the cloud.

Broker choice: the mosquitto binary when installed (Debian package), started on a free loopback
port in the run folder and stopped afterwards. There is no in-process fallback: the pure-Python
brokers (amqtt) speak only MQTT 3.1.1 and are not a dependency; without mosquitto the cloud step is
skipped with a message saying so.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select

from cloud import db
from cloud.broker import find_mosquitto, start_mosquitto
from cloud.ingest import IngestSettings, IngestWorker
from edge.journal.journal import Journal
from edge.link.link import EdgeLink, LinkSettings
from edge.link.mqtt import BrokerAddress


@dataclass
class CloudDemoResult:
    skipped: str = ""  # why the cloud step did not run; empty when it ran
    broker: str = ""
    database: Path | None = None
    outbox_events: int = 0
    stored_events: int = 0
    stored_receipts: int = 0
    backlog_left: int = 0
    elapsed_s: float = 0.0
    # (visit id, total in minor units, currency, lines, needs review) in stored order
    receipts: list[tuple[str, int, str, int, bool]] = field(default_factory=list)


def run_with_cloud(run_dir: Path, *, timeout_s: float = 60.0) -> CloudDemoResult:
    """Send the run's journal through MQTT into a cloud database in `run_dir/cloud/`."""
    if find_mosquitto() is None:
        return CloudDemoResult(skipped="mosquitto is not installed (apt-get install mosquitto)")
    store_id = json.loads((run_dir / "run.json").read_text())["store_id"]
    journal_path = run_dir / "journal.sqlite"
    journal = Journal(journal_path)
    outbox = journal.backlog().count
    journal.close()
    folder = run_dir / "cloud"
    folder.mkdir(parents=True, exist_ok=True)
    database = folder / "cloud.sqlite"
    broker = start_mosquitto(folder / "mosquitto")
    engine = db.make_engine(f"sqlite:///{database}")
    address = BrokerAddress(port=broker.port, keepalive_s=10)
    worker = IngestWorker(engine, IngestSettings(broker=address))
    link = EdgeLink(journal_path, LinkSettings(store_id=store_id, broker=address))
    result = CloudDemoResult(broker=f"mosquitto on 127.0.0.1:{broker.port}", database=database)
    started = time.perf_counter()
    try:
        worker.start()
        worker.wait_ready(10)
        link.start()
        deadline = time.monotonic() + timeout_s
        journal = Journal(journal_path)
        try:
            while journal.backlog().count and time.monotonic() < deadline:
                time.sleep(0.05)
            result.backlog_left = journal.backlog().count
        finally:
            journal.close()
        result.elapsed_s = time.perf_counter() - started
    finally:
        link.stop()
        worker.stop()
        broker.stop()
    counts = db.counts(engine)
    result.outbox_events = outbox
    result.stored_events = counts["events"]
    result.stored_receipts = counts["receipts"]
    r = db.receipts
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                r.c.visit_id, r.c.total_minor_units, r.c.currency, r.c.line_count, r.c.needs_review
            ).order_by(r.c.exited_at_unix_ns, r.c.visit_id)
        ).all()
    result.receipts = [tuple(row) for row in rows]  # type: ignore[misc]
    engine.dispose()
    return result
