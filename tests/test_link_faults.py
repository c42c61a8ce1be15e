"""Faults on the way to the cloud, each with a control that shows the fault really happened.

- the edge link is SIGKILLed mid-drain and restarted;
- the broker is SIGKILLed mid-drain and restarted on the same port;
- the WAN is cut (blackhole, then reset) while the store keeps trading.

Every receipt must end up in the cloud database exactly once. "Minutes" of outage are compressed to
a few seconds here (keepalive 2 s, back-off capped at 1 s): what matters is that the link goes down,
the backlog builds up in the journal, and it drains when the link returns.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import select
from support.proxy import FaultProxy
from support.services import broker, needs_mosquitto  # noqa: F401 (fixture)
from support.traffic import fill_journal, settle
from test_link import (  # noqa: F401 (cloud is a fixture)
    STORE,
    backlog,
    cloud,
    link_settings,
    retained,
    stored_ids,
    wait_for,
)

from cloud import db
from cloud.broker import Mosquitto
from edge.journal.journal import Journal
from edge.link import topics
from edge.link.link import EdgeLink
from edge.link.mqtt import BrokerAddress

pytestmark = [needs_mosquitto, pytest.mark.slow]
REPO = Path(__file__).resolve().parents[1]


def link_process(journal: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "edge.link",
            "--journal",
            str(journal),
            "--store",
            STORE,
            "--port",
            str(port),
            "--keepalive",
            "2",
            "--ack-timeout",
            "2",
            "--backoff-max",
            "1",
            "--window",
            "200",
        ],
        cwd=REPO,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )


def count(engine) -> int:  # type: ignore[no-untyped-def]
    return len(stored_ids(engine))


def assert_exactly_once(engine, ids: list[str]) -> None:  # type: ignore[no-untyped-def]
    got = stored_ids(engine)
    assert len(got) == len(set(got)) == len(ids)
    assert set(got) == set(ids)
    with engine.connect() as conn:
        receipts = conn.execute(select(db.receipts.c.receipt_id)).scalars().all()
    assert sorted(receipts) == sorted(ids)


def test_edge_killed_mid_drain_then_restarted(tmp_path, broker, cloud):  # noqa: F811
    engine, start_workers = cloud
    journal = tmp_path / "journal.sqlite"
    ids = fill_journal(journal, STORE, 3000)
    start_workers(1)
    first = link_process(journal, broker.port, tmp_path / "link.log")
    try:
        wait_for(lambda: count(engine) >= 300, 60, "the drain to start")
        first.send_signal(signal.SIGKILL)
        assert first.wait(10) == -signal.SIGKILL
    finally:
        if first.poll() is None:
            first.kill()
    # Control: the kill landed mid-drain.
    stored_at_kill = count(engine)
    assert 0 < stored_at_kill < len(ids)
    assert backlog(journal) > 0
    # The broker publishes the killed link's last will: the store shows offline.
    assert retained(broker.port, topics.availability(STORE)) == b"offline"
    second = link_process(journal, broker.port, tmp_path / "link.log")
    try:
        wait_for(lambda: backlog(journal) == 0, 90, "the rest of the backlog")
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(10)
    assert_exactly_once(engine, ids)


def test_broker_killed_mid_drain_then_restarted(tmp_path, broker, cloud):  # noqa: F811
    engine, start_workers = cloud
    journal = tmp_path / "journal.sqlite"
    ids = fill_journal(journal, STORE, 3000)
    start_workers(1)
    link = EdgeLink(
        journal,
        link_settings(
            broker.port, broker=BrokerAddress(port=broker.port, keepalive_s=2), window=200
        ),
    )
    link.start()
    try:
        wait_for(lambda: count(engine) >= 300, 60, "the drain to start")
        assert broker.kill() == -signal.SIGKILL
        stored_at_kill = count(engine)
        assert 0 < stored_at_kill < len(ids)  # control: mid-drain
        time.sleep(1.0)
        wait_for(lambda: not link.ready, 10, "the link to notice")  # control: it went down
        restarted = Mosquitto(broker.folder, broker.port).start()
        broker.process = restarted.process  # the fixture stops it
        wait_for(lambda: backlog(journal) == 0, 90, "the rest of the backlog")
    finally:
        link.stop()
    assert link.stats.drops >= 1 and link.stats.connects >= 2
    assert_exactly_once(engine, ids)


def test_link_cut_while_the_store_trades_drains_in_order(tmp_path, broker, cloud):  # noqa: F811
    engine, start_workers = cloud
    journal = tmp_path / "journal.sqlite"
    start_workers(1)
    proxy = FaultProxy(broker.port).start()
    link = EdgeLink(
        journal,
        link_settings(proxy.port, broker=BrokerAddress(port=proxy.port, keepalive_s=2)),
    )
    settled: list[str] = []
    trading = threading.Event()
    trading.set()

    def store_trades() -> None:  # a shopper leaves every 20 ms
        j = Journal(journal)
        n = 0
        while trading.is_set():
            settled.append(settle(j, STORE, f"visit-{n:06d}", exit_unix=time.time()))
            n += 1
            time.sleep(0.02)
        j.close()

    trader = threading.Thread(target=store_trades)
    trader.start()
    link.start()
    try:
        # A liveness wait, generous for a loaded CI machine (fsync per settle).
        wait_for(lambda: count(engine) >= 20, 60, "receipts flowing")
        proxy.set_mode("blackhole")
        wait_for(lambda: not link.ready, 15, "the link to notice the silent WAN")
        stuck = count(engine)
        time.sleep(2.0)
        proxy.set_mode("reset")  # then the WAN comes back only to reset connections
        time.sleep(2.0)
        # Controls: nothing got through while cut, and the backlog grew in the journal.
        assert count(engine) == stuck
        assert backlog(journal) >= 50
        assert proxy.dropped_bytes > 0 or proxy.connections > 1
        proxy.set_mode("pass")
        time.sleep(1.0)
        trading.clear()
        trader.join()
        wait_for(lambda: backlog(journal) == 0, 60, "the backlog to drain")
    finally:
        trading.clear()
        link.stop()
        proxy.stop()
    assert link.stats.drops >= 1
    got = stored_ids(engine)
    # One worker: the cloud stored them in the order the store settled them.
    assert got == settled
    assert_exactly_once(engine, settled)
