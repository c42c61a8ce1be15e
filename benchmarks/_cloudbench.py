"""Shared set-up of the cloud benchmarks: a private mosquitto, a database, worker processes."""

from __future__ import annotations

import multiprocessing
import sys
import time
from pathlib import Path

from sqlalchemy import func, select

from cloud import db
from cloud.ingest import IngestSettings
from cloud.serve import _child
from edge.link.mqtt import BrokerAddress

REPO = Path(__file__).resolve().parents[1]


def database_url(kind: str, folder: Path) -> tuple[str, object | None]:
    """(url, server to stop) for "sqlite" or "postgres" (a throwaway server, as in the tests)."""
    if kind == "sqlite":
        return f"sqlite:///{folder / 'cloud.sqlite'}", None
    sys.path.insert(0, str(REPO / "tests"))
    from support.postgres import start_postgres

    server = start_postgres()
    return server.url, server


def start_workers(url: str, port: int, n: int) -> list[multiprocessing.Process]:
    db.make_engine(url).dispose()
    ctx = multiprocessing.get_context("spawn")
    settings = IngestSettings(broker=BrokerAddress(port=port))
    procs = [
        ctx.Process(target=_child, args=(url, settings, f"w{i + 1}"), daemon=True) for i in range(n)
    ]
    for p in procs:
        p.start()
    time.sleep(1.5 + 0.5 * n)  # spawn, import and subscribe
    return procs


def stop_workers(procs: list[multiprocessing.Process]) -> None:
    for p in procs:
        p.terminate()
    for p in procs:
        p.join(15)


def stored(engine, table=db.events) -> int:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())
