"""Cloud ingest without a broker: validation rules (a table), storage, dedup and acknowledgement."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select
from support.traffic import receipt_payload
from walkout.v1 import events_pb2

from cloud import db
from cloud.ingest import IngestSettings, IngestWorker
from cloud.validate import MAX_PAYLOAD_BYTES, Incoming, Rejection, validate
from edge.link import topics
from edge.link.mqtt import Event

STORE = "store-1"
_, GOOD = receipt_payload(STORE, "visit-1", exit_unix=1_700_000_000.0)


def variant(**header) -> bytes:  # type: ignore[no-untyped-def]
    msg = events_pb2.EdgeEvent.FromString(GOOD)
    for key, value in header.items():
        setattr(msg.header, key, value)
    return msg.SerializeToString()


RECEIPTS = topics.events(STORE, "receipts")


@pytest.mark.parametrize(
    ("topic", "payload", "allowed", "reason"),
    [
        (RECEIPTS, GOOD, None, None),
        (RECEIPTS, GOOD, frozenset({STORE}), None),
        ("walkout/v1/store-1/receipts", GOOD, None, "bad_topic"),
        ("walkout/v1/+/events/receipts", GOOD, None, "bad_topic"),
        ("other/v1/store-1/events/receipts", GOOD, None, "bad_topic"),
        (RECEIPTS, GOOD, frozenset({"store-9"}), "unauthorised"),
        (RECEIPTS, variant(store_id="store-2"), None, "unauthorised"),
        (RECEIPTS, b"\xff\xff\xff", None, "malformed"),
        (RECEIPTS, b"", None, "malformed"),
        (RECEIPTS, variant(event_id=""), None, "malformed"),
        (RECEIPTS, variant(event_id="x" * 65), None, "malformed"),
        (RECEIPTS, variant(sequence=0), None, "malformed"),
        (RECEIPTS, variant(stream="shelf"), None, "malformed"),
        (topics.events(STORE, "shelf"), variant(stream="shelf"), None, "malformed"),
        (RECEIPTS, GOOD + b"\x00" * MAX_PAYLOAD_BYTES, None, "oversized"),
    ],
)
def test_validation_rules(topic, payload, allowed, reason):  # type: ignore[no-untyped-def]
    result = validate(topic, payload, allowed_stores=allowed)
    if reason is None:
        assert isinstance(result, Incoming)
        assert (result.store_id, result.stream, result.body) == (STORE, "receipts", "receipt")
    else:
        assert isinstance(result, Rejection)
        assert result.reason == reason, result.detail


def make_worker(tmp_path, **kw) -> IngestWorker:  # type: ignore[no-untyped-def]
    engine = db.make_engine(f"sqlite:///{tmp_path / 'cloud.sqlite'}")
    return IngestWorker(engine, IngestSettings(**kw), wall_clock=lambda: 1_700_000_100.0)


def receipts_events(n: int, store: str = STORE) -> list[Event]:
    out = []
    for i in range(1, n + 1):
        _, payload = receipt_payload(store, f"visit-{i}", exit_unix=1_700_000_000.0)
        msg = events_pb2.EdgeEvent.FromString(payload)
        msg.header.sequence = i
        out.append(
            Event(
                "message",
                1,
                topic=topics.events(store, "receipts"),
                payload=msg.SerializeToString(),
            )
        )
    return out


def test_contiguous_sequence_and_ids_beyond_a_gap(tmp_path):  # type: ignore[no-untyped-def]
    worker = make_worker(tmp_path)
    events = receipts_events(6)
    stored = worker._store(
        [validate(e.topic, e.payload) for e in (events[0], events[1], events[3], events[4])], []
    )
    assert stored.contiguous == {STORE: {"receipts": 2}}
    ids = [events_pb2.EdgeEvent.FromString(e.payload).header.event_id for e in events]
    assert sorted(stored.beyond[STORE]) == sorted([ids[3], ids[4]])
    # The gap closes: the contiguous sequence jumps over everything stored beyond it.
    stored = worker._store([validate(events[2].topic, events[2].payload)], [])
    assert stored.contiguous == {STORE: {"receipts": 5}} and not stored.beyond


def test_redelivered_batch_is_stored_once(tmp_path):  # type: ignore[no-untyped-def]
    worker = make_worker(tmp_path)
    events = receipts_events(5)
    worker.process(events + events[:3])  # duplicates inside a batch
    worker.process(events)  # and a whole batch again
    counts = db.counts(worker.engine)
    assert counts["events"] == counts["receipts"] == 5
    assert worker.stats.inserted == 5 and worker.stats.duplicates == 8
    with worker.engine.connect() as conn:
        state = conn.execute(select(db.stream_state.c.contiguous_sequence)).scalar_one()
        totals = conn.execute(select(db.receipts.c.total_minor_units)).scalars().all()
    assert state == 5
    assert set(totals) == {199 + 2 * 200 + 201 + 2 * 202}


def test_reused_sequence_is_stored_and_counted(tmp_path):  # type: ignore[no-untyped-def]
    """A wiped edge journal starts again at 1: the new receipts are money, keep them."""
    worker = make_worker(tmp_path)
    worker.process(receipts_events(2))
    _, payload = receipt_payload(STORE, "visit-after-wipe", exit_unix=1_700_000_000.0)
    worker.process([Event("message", 1, topic=RECEIPTS, payload=payload)])  # sequence 1 again
    assert worker.stats.sequence_conflicts == 1
    assert db.counts(worker.engine)["receipts"] == 3


def test_garbage_batch_never_raises(tmp_path):  # type: ignore[no-untyped-def]
    worker = make_worker(tmp_path)
    batch = [
        Event("message", 1, topic=RECEIPTS, payload=b"\x08" * 10),
        Event("message", 1, topic="walkout/v1/store-1/availability", payload=b"maybe"),
        Event("message", 1, topic="walkout/v1/store-1/availability", payload=b"online"),
        Event("message", 1, topic="#/bad", payload=GOOD),
        *receipts_events(1),
    ]
    worker.process(batch)
    assert dict(worker.stats.rejected) == {"malformed": 2, "bad_topic": 1}
    with worker.engine.connect() as conn:
        store = conn.execute(select(db.stores)).one()
    assert store.online is True
    assert db.counts(worker.engine)["events"] == 1


def test_database_failure_drops_the_batch_without_ack(tmp_path):  # type: ignore[no-untyped-def]
    worker = make_worker(tmp_path)
    with worker.engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE events")
    worker.process(receipts_events(2))
    assert worker.stats.db_errors == 1 and worker.stats.acks_sent == 0


def test_heartbeat_updates_the_store_row_only_forward(tmp_path):  # type: ignore[no-untyped-def]
    worker = make_worker(tmp_path)

    def beat(sequence: int, backlog: int) -> Event:
        msg = events_pb2.EdgeEvent()
        msg.header.event_id = f"hb-{sequence}"
        msg.header.store_id = STORE
        msg.header.stream = "heartbeats"
        msg.header.sequence = sequence
        msg.header.event_time_unix_ns = time.time_ns()
        msg.heartbeat.outbox_backlog = backlog
        msg.heartbeat.outbox_oldest_age_s = 12.5
        return Event("message", 1, topic=topics.heartbeat(STORE), payload=msg.SerializeToString())

    worker.process([beat(2, 40)])
    worker.process([beat(1, 99)])  # a late, older heartbeat (a retained one) changes nothing
    with worker.engine.connect() as conn:
        store = conn.execute(select(db.stores)).one()
    assert (store.heartbeat_sequence, store.outbox_backlog) == (2, 40)
    assert store.outbox_oldest_age_s == 12.5
    assert db.counts(worker.engine)["events"] == 0  # heartbeats are state, not stored events
