"""Broker users and ACLs (docs/mqtt.md): each store may only write its own topics."""

from __future__ import annotations

import contextlib
import subprocess
import time

import pytest
from support.services import needs_mosquitto
from support.traffic import fill_journal, receipt_payload
from test_link import STORE, backlog, link_settings, stored_ids, wait_for

from cloud import db
from cloud.broker import Mosquitto, free_port
from cloud.ingest import IngestSettings, IngestWorker
from edge.link import topics
from edge.link.link import EdgeLink
from edge.link.mqtt import BrokerAddress

pytestmark = needs_mosquitto
USERS = {STORE: "pw-1", "store-2": "pw-2", "walkout-cloud": "pw-cloud"}
ACL = """pattern readwrite walkout/v1/%u/#
user walkout-cloud
topic readwrite walkout/v1/#
"""


@pytest.fixture
def secured(tmp_path):  # type: ignore[no-untyped-def]
    folder = tmp_path / "mosquitto"
    folder.mkdir()
    passwords = folder / "passwords"
    for i, (user, password) in enumerate(USERS.items()):
        create = ["-c"] if i == 0 else []
        subprocess.run(
            ["mosquitto_passwd", "-b", *create, str(passwords), user, password], check=True
        )
    acl = folder / "acl"
    acl.write_text(ACL)
    broker = Mosquitto(folder, free_port(), password_file=passwords, acl_file=acl).start()
    engine = db.make_engine(f"sqlite:///{tmp_path / 'cloud.sqlite'}")
    worker = IngestWorker(
        engine,
        IngestSettings(
            broker=BrokerAddress(port=broker.port, username="walkout-cloud", password="pw-cloud")
        ),
    )
    worker.start()
    assert worker.wait_ready(10)
    yield broker, engine, worker
    worker.stop()
    broker.stop()
    engine.dispose()


def test_store_with_its_credentials_drains(tmp_path, secured):  # type: ignore[no-untyped-def]
    broker, engine, _ = secured
    journal = tmp_path / "journal.sqlite"
    ids = fill_journal(journal, STORE, 20)
    address = BrokerAddress(port=broker.port, username=STORE, password="pw-1")
    link = EdgeLink(journal, link_settings(broker.port, broker=address))
    link.start()
    try:
        wait_for(lambda: backlog(journal) == 0, 20, "the drain")
    finally:
        link.stop()
    assert stored_ids(engine) == ids


def test_wrong_password_never_connects(tmp_path, secured):  # type: ignore[no-untyped-def]
    broker, _, _ = secured
    journal = tmp_path / "journal.sqlite"
    fill_journal(journal, STORE, 1)
    address = BrokerAddress(port=broker.port, username=STORE, password="wrong")
    link = EdgeLink(journal, link_settings(broker.port, broker=address))
    link.start()
    try:
        wait_for(lambda: link.stats.drops >= 2, 10, "refused connects")
        assert not link.ready and link.stats.published == 0
    finally:
        link.stop()
    assert "authori" in link.stats.last_drop_reason.lower() or "password" in (
        link.stats.last_drop_reason.lower()
    )
    assert backlog(journal) == 1


def test_a_store_cannot_write_another_stores_topics(secured):  # type: ignore[no-untyped-def]
    broker, engine, worker = secured
    own_id, own = receipt_payload("store-2", "visit-own", exit_unix=time.time())
    _, forged = receipt_payload(STORE, "visit-forged", exit_unix=time.time())
    forger = raw_client_as(broker.port, "store-2", "pw-2")
    info = forger.publish(topics.events(STORE, "receipts"), forged, qos=1)
    # The broker refuses it; mosquitto may also drop the connection of a client that publishes
    # outside its ACL, so the publish may never complete: either way nothing may be stored.
    with contextlib.suppress(RuntimeError, ValueError):
        info.wait_for_publish(5)
    forger.loop_stop()
    forger.disconnect()
    # Control: store-2's own event, on a fresh connection with the same credentials, arrives, so
    # the forged one had every chance to.
    client = raw_client_as(broker.port, "store-2", "pw-2")
    client.publish(topics.events("store-2", "receipts"), own, qos=1).wait_for_publish(5)
    wait_for(lambda: own_id in stored_ids(engine), 10, "store-2's own receipt")
    time.sleep(0.5)
    client.loop_stop()
    client.disconnect()
    assert stored_ids(engine) == [own_id]
    assert worker.stats.received == 1


def raw_client_as(port: int, user: str, password: str):  # type: ignore[no-untyped-def]
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

    client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=MQTTProtocolVersion.MQTTv5)
    client.username_pw_set(user, password)
    client.connect("127.0.0.1", port)
    client.loop_start()
    # Publishing before the CONNACK has been handled fails with "not currently connected".
    wait_for(client.is_connected, 5, f"{user} connected")
    return client
