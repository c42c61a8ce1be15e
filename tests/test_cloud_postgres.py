"""The cloud against a real PostgreSQL (started by the test, by pid) and a real mosquitto.

Skipped only when the PostgreSQL server binaries are absent; CI installs them, so there it runs.
"""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select, text
from support.services import broker, needs_mosquitto, needs_postgres, postgres  # noqa: F401
from support.traffic import fill_journal
from test_cloud import receipts_events
from test_link import STORE, backlog, link_settings, stored_ids, wait_for

from cloud import db
from cloud.ingest import IngestSettings, IngestWorker
from edge.link.link import EdgeLink
from edge.link.mqtt import BrokerAddress

pytestmark = needs_postgres


@pytest.fixture
def pg_engine(postgres):  # type: ignore[no-untyped-def]  # noqa: F811
    """A fresh database per test on the session's server."""
    name = "t_" + uuid.uuid4().hex[:12]
    admin = db.make_engine(postgres.url)
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    admin.dispose()
    engine = db.make_engine(postgres.url.rsplit("/", 1)[0] + "/" + name)
    yield engine
    engine.dispose()


def test_postgres_dedup_and_contiguous_sequence(pg_engine):  # type: ignore[no-untyped-def]
    assert pg_engine.dialect.name == "postgresql"
    worker = IngestWorker(pg_engine, IngestSettings())
    events = receipts_events(6)
    worker.process(events[:2] + events[3:])
    worker.process(events + events)
    counts = db.counts(pg_engine)
    assert counts["events"] == counts["receipts"] == 6
    assert worker.stats.duplicates == 12 - 1
    with pg_engine.connect() as conn:
        assert conn.execute(select(db.stream_state.c.contiguous_sequence)).scalar_one() == 6


@needs_mosquitto
@pytest.mark.slow
def test_two_workers_drain_a_backlog_into_postgres(tmp_path, broker, pg_engine):  # type: ignore[no-untyped-def]  # noqa: F811
    journal = tmp_path / "journal.sqlite"
    ids = fill_journal(journal, STORE, 1000)
    workers = [
        IngestWorker(pg_engine, IngestSettings(broker=BrokerAddress(port=broker.port)), name=n)
        for n in ("a", "b")
    ]
    for w in workers:
        w.start()
        assert w.wait_ready(10)
    link = EdgeLink(journal, link_settings(broker.port))
    link.start()
    try:
        wait_for(lambda: backlog(journal) == 0, 60, "the outbox to drain")
    finally:
        link.stop()
        for w in workers:
            w.stop()
    assert sorted(stored_ids(pg_engine)) == sorted(ids)
    assert all(w.stats.inserted > 0 for w in workers)
    with pg_engine.connect() as conn:
        assert conn.execute(select(db.stream_state.c.contiguous_sequence)).scalar_one() == 1000
