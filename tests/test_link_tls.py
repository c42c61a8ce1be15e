"""TLS with client certificates (docs/mqtt.md, "Production"): a real mosquitto with a TLS
listener that requires a certificate signed by our CA and takes its CN as the user name."""

from __future__ import annotations

import contextlib
import datetime as dt
import ssl
import time
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
import yaml
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from support.services import needs_mosquitto
from support.traffic import fill_journal, receipt_payload
from test_link import STORE, backlog, link_settings, stored_ids, wait_for

from cloud import db
from cloud.broker import Mosquitto, free_port
from cloud.ingest import IngestSettings, IngestWorker
from cloud.pki import Issued, create_ca, issue
from edge.config.errors import ConfigError
from edge.config.loader import load_store_config, load_store_config_text
from edge.config.models import StoreConfig
from edge.link import topics
from edge.link.link import EdgeLink, LinkSettings
from edge.link.mqtt import BrokerAddress

pytestmark = needs_mosquitto
ACL = """pattern readwrite walkout/v1/%u/#
user walkout-cloud
topic readwrite walkout/v1/#
"""


@pytest.fixture
def tls_world(tmp_path: Path):  # type: ignore[no-untyped-def]
    pki = tmp_path / "pki"
    ca = create_ca(pki)
    server = issue(ca, "broker", pki, server=True)
    certs = {cn: issue(ca, cn, pki) for cn in (STORE, "store-2", "walkout-cloud")}
    folder = tmp_path / "mosquitto"
    folder.mkdir()
    (folder / "acl").write_text(ACL)
    broker = Mosquitto(
        folder, free_port(), acl_file=folder / "acl", tls=(ca.cert, server.cert, server.key)
    ).start()
    engine = db.make_engine(f"sqlite:///{tmp_path / 'cloud.sqlite'}")
    cloud = certs["walkout-cloud"]
    worker = IngestWorker(
        engine,
        IngestSettings(broker=address(broker.port, ca, cloud)),
    )
    worker.start()
    assert worker.wait_ready(10)
    yield broker, engine, worker, ca, certs, pki
    worker.stop()
    broker.stop()
    engine.dispose()


def address(port: int, ca: Issued, client: Issued | None) -> BrokerAddress:
    return BrokerAddress(
        port=port,
        tls=True,
        ca_file=str(ca.cert),
        cert_file=str(client.cert) if client else None,
        key_file=str(client.key) if client else None,
    )


def tls_client(port: int, ca: Issued, client: Issued | None) -> mqtt.Client:
    """A raw client that connects (and raises or is refused without a valid certificate)."""
    c = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=MQTTProtocolVersion.MQTTv5)
    c.tls_set(
        ca_certs=str(ca.cert),
        certfile=str(client.cert) if client else None,
        keyfile=str(client.key) if client else None,
    )
    c.connect("127.0.0.1", port)
    c.loop_start()
    return c


def refused(port: int, ca: Issued, client: Issued | None) -> bool:
    """True if the broker will not let this client in (TLS handshake or CONNACK)."""
    try:
        c = tls_client(port, ca, client)
    except (ssl.SSLError, OSError):
        return True
    try:
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline and not c.is_connected():
            time.sleep(0.05)
        return not c.is_connected()
    finally:
        c.loop_stop()
        with contextlib.suppress(Exception):
            c.disconnect()


def test_a_store_with_its_certificate_drains_its_outbox(tmp_path, tls_world):  # type: ignore[no-untyped-def]
    broker, engine, _, ca, certs, _ = tls_world
    journal = tmp_path / "journal.sqlite"
    ids = fill_journal(journal, STORE, 15)
    settings = link_settings(broker.port, broker=address(broker.port, ca, certs[STORE]))
    link = EdgeLink(journal, settings)
    link.start()
    try:
        wait_for(lambda: backlog(journal) == 0, 20, "the backlog over TLS")
    finally:
        link.stop()
    assert sorted(stored_ids(engine)) == sorted(ids)


def test_a_store_certificate_cannot_write_as_another_store(tls_world):  # type: ignore[no-untyped-def]
    broker, engine, worker, ca, certs, _ = tls_world
    own_id, own = receipt_payload("store-2", "visit-own", exit_unix=time.time())
    _, forged = receipt_payload(STORE, "visit-forged", exit_unix=time.time())
    forger = tls_client(broker.port, ca, certs["store-2"])
    wait_for(forger.is_connected, 5, "store-2 connected over TLS")
    info = forger.publish(topics.events(STORE, "receipts"), forged, qos=1)
    with contextlib.suppress(RuntimeError, ValueError):  # mosquitto may drop the forger
        info.wait_for_publish(5)
    forger.loop_stop()
    forger.disconnect()
    # Control: with the same certificate, its own topic works, so the forged one could have.
    client = tls_client(broker.port, ca, certs["store-2"])
    wait_for(client.is_connected, 5, "store-2 connected again")
    client.publish(topics.events("store-2", "receipts"), own, qos=1).wait_for_publish(5)
    wait_for(lambda: own_id in stored_ids(engine), 10, "store-2's own receipt")
    time.sleep(0.5)
    client.loop_stop()
    client.disconnect()
    assert stored_ids(engine) == [own_id]
    assert worker.stats.received == 1


def test_clients_without_a_valid_certificate_are_refused(tls_world):  # type: ignore[no-untyped-def]
    broker, _, _, ca, certs, pki = tls_world
    rogue_ca = create_ca(pki / "rogue", cn="Someone else's CA")
    rogue = issue(rogue_ca, STORE, pki / "rogue")  # right name, wrong issuer
    expired = issue(
        ca,
        "store-3",
        pki / "expired",
        valid_from=dt.datetime.now(dt.UTC) - dt.timedelta(days=30),
        days=10,
    )
    assert not refused(broker.port, ca, certs[STORE])  # control: a valid one gets in
    assert refused(broker.port, ca, None)  # no certificate
    assert refused(broker.port, ca, rogue)  # signed by another CA
    assert refused(broker.port, ca, expired)  # expired


def test_a_store_certificate_cannot_read_another_stores_config(tls_world):  # type: ignore[no-untyped-def]
    broker, _, _, ca, certs, _ = tls_world
    # The cloud leaves a retained bundle on each store's config topic (as cloud/push.py does).
    cloud = tls_client(broker.port, ca, certs["walkout-cloud"])
    wait_for(cloud.is_connected, 5, "the cloud connected over TLS")
    for store in (STORE, "store-2"):
        cloud.publish(
            f"walkout/v1/{store}/config/price_book", f"book of {store}".encode(), 1, retain=True
        ).wait_for_publish(5)
    cloud.loop_stop()
    cloud.disconnect()

    def received(cn: str, pattern: str) -> dict[str, bytes]:
        """What a client with `cn`'s certificate gets when it subscribes to `pattern`."""
        got: dict[str, bytes] = {}
        c = tls_client(broker.port, ca, certs[cn])
        c.on_message = lambda _c, _u, m: got.__setitem__(m.topic, bytes(m.payload))
        wait_for(c.is_connected, 5, f"{cn} connected")
        c.subscribe(pattern, qos=1)
        time.sleep(1.0)  # retained messages arrive right after the SUBACK
        c.loop_stop()
        c.disconnect()
        return got

    # Control: store-2 reads its own bundle, so it was there to be read.
    assert received("store-2", "walkout/v1/store-2/config/#") == {
        "walkout/v1/store-2/config/price_book": b"book of store-2"
    }
    assert received(STORE, "walkout/v1/store-2/config/#") == {}
    # A wildcard over every store yields only the store's own topic.
    assert received(STORE, "walkout/v1/+/config/#") == {
        f"walkout/v1/{STORE}/config/price_book": f"book of {STORE}".encode()
    }


def test_an_unloadable_certificate_is_a_counted_drop(tmp_path, tls_world):  # type: ignore[no-untyped-def]
    broker, _, _, ca, certs, _ = tls_world
    journal = tmp_path / "journal.sqlite"
    fill_journal(journal, STORE, 1)
    garbage = tmp_path / "garbage.crt"
    garbage.write_text("not a certificate\n")
    bad = Issued(garbage, certs[STORE].key)
    link = EdgeLink(journal, link_settings(broker.port, broker=address(broker.port, ca, bad)))
    link.start()
    try:
        wait_for(lambda: link.stats.drops >= 2, 10, "retried drops")
        assert link._thread is not None and link._thread.is_alive()
        assert not link.ready and link.stats.published == 0
    finally:
        link.stop()
    assert "TLS setup failed" in link.stats.last_drop_reason
    assert str(garbage) in link.stats.last_drop_reason
    assert backlog(journal) == 1


def _config_with_mqtt(**mqtt_fields: object) -> dict:  # type: ignore[type-arg]
    data = load_store_config("small").model_dump(mode="json")
    data["cloud"]["enabled"] = True
    data["cloud"]["mqtt"].update(mqtt_fields)
    return data


def test_config_tls_paths_resolve_from_the_config_folder(tmp_path):  # type: ignore[no-untyped-def]
    pki = tmp_path / "pki"
    ca = create_ca(pki)
    store = issue(ca, "store-x", pki)
    data = _config_with_mqtt(
        tls=True, ca_file="pki/ca.crt", cert_file="pki/store-x.crt", key_file="pki/store-x.key"
    )
    settings = LinkSettings.from_config(StoreConfig.model_validate(data), tmp_path)
    assert settings.broker.tls
    assert settings.broker.ca_file == str(ca.cert)
    assert settings.broker.cert_file == str(store.cert)
    assert settings.broker.key_file == str(store.key)
    # From another folder the same relative paths do not exist: a clear start-up error.
    with pytest.raises(ValueError, match=r"cloud\.mqtt\.ca_file: .*pki/ca\.crt: no such file"):
        LinkSettings.from_config(StoreConfig.model_validate(data), tmp_path / "elsewhere")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"tls": True, "cert_file": "a.crt"}, "cert_file and key_file go together"),
        ({"tls": False, "ca_file": "ca.crt"}, "ca_file set but tls is false"),
    ],
)
def test_config_rejects_inconsistent_tls_settings(fields, message):  # type: ignore[no-untyped-def]
    text = yaml.safe_dump(_config_with_mqtt(**fields), sort_keys=False)
    with pytest.raises(ConfigError) as err:
        load_store_config_text(text, source="store.yaml")
    assert message in str(err.value)
    assert "cloud.mqtt" in str(err.value)
