"""The edge link against a real mosquitto and a real ingest worker (SQLite cloud database)."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from sqlalchemy import select
from support.services import broker, needs_mosquitto  # noqa: F401 (fixture)
from support.traffic import fill_journal, receipt_payload
from walkout.v1 import events_pb2

from cloud import db
from cloud.ingest import IngestSettings, IngestWorker
from edge.journal.journal import Journal
from edge.link import topics
from edge.link.link import EdgeLink, LinkSettings
from edge.link.mqtt import BrokerAddress

pytestmark = needs_mosquitto
STORE = "store-1"


def wait_for(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def stored_ids(engine) -> list[str]:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return list(conn.execute(select(db.events.c.event_id).order_by(db.events.c.id)).scalars())


def backlog(path: Path) -> int:
    con = sqlite3.connect(path)
    try:
        return int(con.execute("SELECT COUNT(*) FROM outbox WHERE sent = 0").fetchone()[0])
    finally:
        con.close()


def link_settings(port: int, **kw) -> LinkSettings:  # type: ignore[no-untyped-def]
    values = dict(
        store_id=STORE,
        broker=BrokerAddress(port=port, keepalive_s=5),
        ack_timeout_s=2.0,
        connect_timeout_s=3.0,
        heartbeat_interval_s=0.5,
        backoff_min_s=0.1,
        backoff_max_s=1.0,
    )
    values.update(kw)
    return LinkSettings(**values)


@pytest.fixture
def cloud(tmp_path, broker):  # type: ignore[no-untyped-def]  # noqa: F811
    engine = db.make_engine(f"sqlite:///{tmp_path / 'cloud.sqlite'}")
    workers: list[IngestWorker] = []

    def start(n: int = 1, **kw) -> list[IngestWorker]:  # type: ignore[no-untyped-def]
        for _ in range(n):
            w = IngestWorker(
                engine,
                IngestSettings(broker=BrokerAddress(port=broker.port), **kw),
                name=f"w{len(workers) + 1}",
            )
            w.start()
            assert w.wait_ready(10)
            workers.append(w)
        return workers

    yield engine, start
    for w in workers:
        w.stop()
    engine.dispose()


def retained(port: int, topic: str, timeout: float = 5.0) -> bytes | None:
    """The retained message on `topic`, read with a fresh subscriber."""
    got: list[bytes] = []
    client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=MQTTProtocolVersion.MQTTv5)
    client.on_message = lambda _c, _u, m: got.append(bytes(m.payload))
    client.on_connect = lambda c, _u, _f, _r, _p: c.subscribe(topic, qos=1)
    client.connect("127.0.0.1", port)
    client.loop_start()
    deadline = time.monotonic() + timeout
    while not got and time.monotonic() < deadline:
        time.sleep(0.05)
    client.loop_stop()
    client.disconnect()
    return got[0] if got else None


def test_backlog_drains_once_in_order_with_availability_and_heartbeats(tmp_path, broker, cloud):  # noqa: F811
    engine, start_workers = cloud
    journal = tmp_path / "journal.sqlite"
    ids = fill_journal(journal, STORE, 300)
    (worker,) = start_workers(1)
    link = EdgeLink(journal, link_settings(broker.port))
    link.start()
    try:
        wait_for(lambda: backlog(journal) == 0, 30, "the outbox to drain")
        assert retained(broker.port, topics.availability(STORE)) == b"online"
        # One worker on one connection: stored in the order the edge published, sequence order.
        assert stored_ids(engine) == ids
        wait_for(lambda: worker.stats.heartbeats > 0, 10, "a heartbeat")
        with engine.connect() as conn:
            store = conn.execute(select(db.stores)).one()
            state = conn.execute(select(db.stream_state)).one()
        assert store.store_id == STORE and store.online is True
        assert store.heartbeat_sequence >= 1
        assert (state.stream, state.contiguous_sequence) == ("receipts", 300)
        assert worker.stats.duplicates == 0 and not worker.stats.rejected
        j = Journal(journal)
        assert j.backlog().count == 0
        j.close()
    finally:
        link.stop()
    assert retained(broker.port, topics.availability(STORE)) == b"offline"


def test_broker_puback_is_not_enough(tmp_path, broker):  # noqa: F811
    """No cloud worker: the broker takes every message, yet nothing is marked sent."""
    journal = tmp_path / "journal.sqlite"
    fill_journal(journal, STORE, 20)
    link = EdgeLink(journal, link_settings(broker.port))
    link.start()
    try:
        assert link.wait_ready(10)
        wait_for(lambda: link.stats.published >= 20, 10, "publishes")
        time.sleep(1.0)
        assert backlog(journal) == 20
        # The heartbeat (retained) tells whoever listens how big and how old the backlog is.
        beat = retained(broker.port, topics.heartbeat(STORE))
        assert beat is not None
        heartbeat = events_pb2.EdgeEvent.FromString(beat)
        assert heartbeat.header.stream == "heartbeats" and heartbeat.header.sequence >= 1
        assert heartbeat.heartbeat.outbox_backlog == 20
        assert heartbeat.heartbeat.outbox_oldest_age_s > 0
    finally:
        link.stop()


def test_two_workers_split_the_load_and_store_each_event_once(tmp_path, broker, cloud):  # noqa: F811
    engine, start_workers = cloud
    journal = tmp_path / "journal.sqlite"
    ids = fill_journal(journal, STORE, 400)
    workers = start_workers(2)
    link = EdgeLink(journal, link_settings(broker.port))
    link.start()
    try:
        wait_for(lambda: backlog(journal) == 0, 30, "the outbox to drain")
    finally:
        link.stop()
    assert sorted(stored_ids(engine)) == sorted(ids)
    assert all(w.stats.inserted > 0 for w in workers), [w.stats for w in workers]
    assert sum(w.stats.inserted for w in workers) == 400


def raw_client(port: int) -> mqtt.Client:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=MQTTProtocolVersion.MQTTv5)
    client.connect("127.0.0.1", port)
    client.loop_start()
    return client


def test_a_message_delivered_twice_is_stored_once_and_acked_both_times(broker, cloud):  # noqa: F811
    engine, start_workers = cloud
    (worker,) = start_workers(1)
    acks: list[bytes] = []
    client = raw_client(broker.port)
    client.on_message = lambda _c, _u, m: acks.append(bytes(m.payload))
    client.subscribe(topics.ack(STORE), qos=1)
    time.sleep(0.3)
    receipt_id, payload = receipt_payload(STORE, "visit-dup", exit_unix=time.time())
    for n in (1, 2):  # one after the other, so they are not in one batch
        client.publish(topics.events(STORE, "receipts"), payload, qos=1).wait_for_publish(5)
        wait_for(lambda n=n: len(acks) == n, 10, f"ack {n}")
    client.loop_stop()
    client.disconnect()
    assert stored_ids(engine) == [receipt_id]
    assert worker.stats.received == 2 and worker.stats.duplicates == 1
    with engine.connect() as conn:
        assert conn.execute(select(db.receipts.c.receipt_id)).scalars().all() == [receipt_id]


def test_garbage_is_rejected_counted_and_the_worker_keeps_going(broker, cloud):  # noqa: F811
    engine, start_workers = cloud
    (worker,) = start_workers(1, allowed_stores=frozenset({STORE}))
    client = raw_client(broker.port)
    good_id, good = receipt_payload(STORE, "visit-good", exit_unix=time.time())
    _, other = receipt_payload("intruder", "visit-x", exit_unix=time.time())
    spoof = events_pb2.EdgeEvent.FromString(good)
    spoof.header.store_id = "store-2"
    spoof.header.event_id = "spoofed"
    sends = [
        (topics.events(STORE, "receipts"), b"\xff\x00 not protobuf"),
        (topics.events(STORE, "receipts"), b"\x00" * (300 * 1024)),
        (topics.events("intruder", "receipts"), other),
        (topics.events(STORE, "receipts"), spoof.SerializeToString()),
        (topics.events(STORE, "shelf"), good),  # a receipt on the wrong stream
        (topics.events(STORE, "receipts"), good),
    ]
    for topic, payload in sends:
        client.publish(topic, payload, qos=1).wait_for_publish(5)
    wait_for(lambda: worker.stats.received == len(sends), 10, "all messages")
    client.loop_stop()
    client.disconnect()
    wait_for(lambda: stored_ids(engine) == [good_id], 5, "the good event")
    assert dict(worker.stats.rejected) == {"malformed": 2, "oversized": 1, "unauthorised": 2}


def test_mqtt_311_when_asked(tmp_path, broker, cloud):  # noqa: F811
    """A broker without v5 gets 3.1.1 (the link falls back by itself when v5 is refused)."""
    engine, start_workers = cloud
    start_workers(1)
    journal = tmp_path / "journal.sqlite"
    ids = fill_journal(journal, STORE, 30)
    address = BrokerAddress(port=broker.port, protocol="3.1.1")
    link = EdgeLink(journal, link_settings(broker.port, broker=address))
    link.start()
    try:
        wait_for(lambda: backlog(journal) == 0, 20, "the drain over MQTT 3.1.1")
    finally:
        link.stop()
    assert stored_ids(engine) == ids
