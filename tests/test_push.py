"""Signed price and planogram pushes: verify, apply atomically, persist, never go back."""

from __future__ import annotations

import time
from decimal import Decimal
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from support.services import broker, needs_mosquitto  # noqa: F401 (fixture)
from test_link import STORE, link_settings, wait_for
from walkout.v1 import config_pb2

from cloud.push import config_topic, price_book, sign
from edge.carts.cart import Cart, CartEvent
from edge.config import load_store_config
from edge.config.layout import StoreLayout
from edge.link.link import EdgeLink
from edge.push.bundles import BundleRejected, BundleVerifier, ConfigStore, PushApplier
from edge.settlement import build_receipt

KEY = Ed25519PrivateKey.generate()
OTHER = Ed25519PrivateKey.generate()


def verifier() -> BundleVerifier:
    return BundleVerifier(STORE, {"cloud-1": KEY.public_key()})


def bundle(version: int, *, store: str = STORE, key=KEY, key_id: str = "cloud-1", **prices):  # type: ignore[no-untyped-def]
    book = price_book(version, {p: Decimal(v) for p, v in (prices or {"P1": "1.99"}).items()})
    return sign(key, key_id, store, "price_book", book, issued_at_unix_ns=1_000)


def test_valid_bundle_verifies() -> None:
    kind, b, payload = verifier().verify(bundle(3).SerializeToString())
    assert kind == "price_book" and b.version == 3 and payload.prices[0].product_id == "P1"


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda: bundle(3, store="store-9"), "for store 'store-9'"),
        (lambda: bundle(3, key=OTHER), "bad signature"),
        (lambda: bundle(3, key_id="cloud-2"), "unknown key 'cloud-2'"),
    ],
)
def test_bad_bundles_are_rejected_with_a_reason(make, reason) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(BundleRejected, match=reason):
        verifier().verify(make().SerializeToString())


def test_tampered_payload_or_version_is_rejected() -> None:
    b = bundle(3)
    forged = config_pb2.PriceBook.FromString(b.payload)
    forged.prices[0].unit_price_minor_units = 1  # a cheaper price, same signature
    b.payload = forged.SerializeToString()
    with pytest.raises(BundleRejected, match="bad signature"):
        verifier().verify(b.SerializeToString())
    b = bundle(3)
    b.version = 4  # a replay dressed up as newer
    with pytest.raises(BundleRejected, match="bad signature"):
        verifier().verify(b.SerializeToString())
    with pytest.raises(BundleRejected, match="not a SignedBundle"):
        verifier().verify(b"\xff\xff garbage")


def test_apply_persists_and_never_goes_back(tmp_path: Path) -> None:
    store = ConfigStore(tmp_path / "pushed")
    applier = PushApplier(verifier(), store)
    applier("t", bundle(2, P1="2.50").SerializeToString())
    applier("t", bundle(2, P1="2.50").SerializeToString())  # the retained copy again: no-op
    applier("t", bundle(1, P1="0.10").SerializeToString())  # stale
    assert applier.applied == [("price_book", 2)]
    assert len(applier.rejected) == 1 and "stale price_book" in applier.rejected[0]
    # A restart reads the persisted bundle back: version 2 in force, 1 still refused.
    again = ConfigStore(tmp_path / "pushed")
    assert again.versions == {"price_book": 2}
    assert again.price_book_at(10**19).prices == {"P1": Decimal("2.50")}
    with pytest.raises(BundleRejected, match="stale"):
        kind, b, payload = verifier().verify(bundle(1).SerializeToString())
        again.apply(kind, b, payload)
    assert not list((tmp_path / "pushed").glob("*.tmp"))


def test_receipt_uses_the_book_in_force_at_entry_and_names_it() -> None:
    layout = StoreLayout(load_store_config("small"))
    product = sorted(layout.products)[0]
    cart = Cart("v1")
    cart.add(CartEvent("l1", 5.0, product, 2, 0.99, {"delta_grams": -100.0}))
    visit = type("V", (), {"visit_id": "v1", "card_uid": "AA", "opened_t": 1.0, "closed_t": 9.0})
    pushed = {product: Decimal("0.75")}
    receipt = build_receipt(
        layout,
        cart,
        visit=visit,
        settled_t=9.5,
        review_reasons=[],
        price_book_version=7,
        prices=pushed,
    )
    assert receipt["price_book_version"] == 7
    assert receipt["lines"][0]["unit_price"] == "0.75" and receipt["total"] == "1.50"
    missing = build_receipt(
        layout,
        cart,
        visit=visit,
        settled_t=9.5,
        review_reasons=[],
        price_book_version=7,
        prices={},
    )
    assert missing["needs_review"] and "no price for" in missing["review_reasons"][0]


@needs_mosquitto
def test_retained_push_reaches_the_edge_link_and_is_applied(tmp_path: Path, broker) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    store = ConfigStore(tmp_path / "pushed")
    applier = PushApplier(verifier(), store)
    cloud = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=MQTTProtocolVersion.MQTTv5)
    cloud.connect("127.0.0.1", broker.port)
    cloud.loop_start()
    wait_for(cloud.is_connected, 5, "the cloud publisher")
    topic = config_topic(STORE, "price_book")
    # Published before the store connects: retained, so the store gets it when it comes up.
    cloud.publish(
        topic, bundle(5, P1="3.10").SerializeToString(), qos=1, retain=True
    ).wait_for_publish(5)
    link = EdgeLink(tmp_path / "journal.sqlite", link_settings(broker.port))
    link.on_config = applier
    link.start()
    try:
        wait_for(lambda: applier.applied == [("price_book", 5)], 10, "the retained price book")
        # A tampered bundle on the same topic is rejected with its reason; 5 stays in force.
        bad = bundle(6, P1="0.01")
        bad.signature = bytes(64)
        cloud.publish(topic, bad.SerializeToString(), qos=1, retain=True).wait_for_publish(5)
        wait_for(lambda: applier.rejected, 10, "the tampered bundle")
        assert "bad signature" in applier.rejected[0]
        assert store.versions["price_book"] == 5
    finally:
        link.stop()
        cloud.loop_stop()
        cloud.disconnect()
    time.sleep(0.1)
