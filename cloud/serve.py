"""`walkout cloud serve`: run ingest workers until SIGTERM/SIGINT.

One worker runs in this process. More run as separate processes (the GIL would serialise threads:
protobuf parsing and SQLAlchemy are Python), all in the same shared subscription group, so the
broker splits the load between them. Each process builds its own database engine.
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import threading
import time
from dataclasses import asdict
from typing import Any

from cloud import db
from cloud.ingest import IngestSettings, IngestWorker

log = logging.getLogger(__name__)
STATS_EVERY_S = 30.0


def run_worker(url: str, settings: IngestSettings, name: str, stop: threading.Event) -> None:
    """Run one worker until `stop` is set; logs its counters now and then."""
    engine = db.make_engine(url)
    worker = IngestWorker(engine, settings, name=name)
    worker.start()
    last = time.monotonic()
    try:
        while not stop.wait(0.5):
            if time.monotonic() - last > STATS_EVERY_S:
                last = time.monotonic()
                log.info("worker %s: %s", name, _stats_line(worker))
    finally:
        worker.stop()
        log.info("worker %s stopped: %s", name, _stats_line(worker))
        engine.dispose()


def _stats_line(worker: IngestWorker) -> str:
    stats = asdict(worker.stats)
    stats["rejected"] = dict(worker.stats.rejected)
    return " ".join(f"{k}={v}" for k, v in stats.items())


def _child(url: str, settings: IngestSettings, name: str) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(processName)s %(message)s")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    run_worker(url, settings, name, stop)


def serve(
    url: str,
    settings: IngestSettings,
    workers: int = 1,
    dashboard: Any | None = None,
    control: Any | None = None,
) -> None:
    """Run `workers` ingest workers until SIGTERM or SIGINT; with `dashboard`
    (cloud.dashboard.server.DashboardOptions) the operator dashboard too, in this process; with
    `control` (cloud.control.server.ControlOptions) the gRPC control plane too."""
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    db.make_engine(url).dispose()  # create the tables once, before the workers race to
    running = None
    if dashboard is not None:
        from cloud.dashboard.server import start_dashboard

        running = start_dashboard(url, dashboard)
    control_plane = None
    if control is not None:
        from cloud.control.server import start_control

        control_plane = start_control(url, control)
    ctx = multiprocessing.get_context("spawn")
    children = [
        ctx.Process(target=_child, args=(url, settings, f"w{i + 2}"), name=f"ingest-w{i + 2}")
        for i in range(workers - 1)
    ]
    for child in children:
        child.start()
    try:
        run_worker(url, settings, "w1", stop)
    finally:
        if running is not None:
            running.stop()
        if control_plane is not None:
            control_plane.stop()
        for child in children:
            child.terminate()  # SIGTERM: the child stops its worker cleanly
        for child in children:
            child.join(15)
