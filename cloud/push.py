"""Signed, versioned config bundles for stores (walkout.v1.SignedBundle), published retained.

The cloud signs with its Ed25519 key; the store verifies with the public key it trusts by id
(`edge/push/bundles.py`). A bundle is published retained on `walkout/v1/<store>/config/<kind>`,
so a store that connects later (or after an outage of any length) gets the newest one at once.
"""

from __future__ import annotations

import time
from decimal import Decimal

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from walkout.v1 import config_pb2

from edge.push.bundles import signing_input

PAYLOAD_TYPES = {
    "price_book": config_pb2.PAYLOAD_TYPE_PRICE_BOOK,
    "planogram": config_pb2.PAYLOAD_TYPE_PLANOGRAM,
}


def config_topic(store: str, kind: str, prefix: str = "walkout/v1") -> str:
    return f"{prefix}/{store}/config/{kind}"


def price_book(
    version: int, prices: dict[str, Decimal], currency: str = "EUR", effective_from_unix_ns: int = 0
) -> config_pb2.PriceBook:
    book = config_pb2.PriceBook(
        version=version, effective_from_unix_ns=effective_from_unix_ns, currency=currency
    )
    for product_id, price in sorted(prices.items()):
        if price < 0:
            raise ValueError(f"price of {product_id} is negative: {price}")
        book.prices.add(product_id=product_id, unit_price_minor_units=int(price * 100))
    return book


def sign(
    key: Ed25519PrivateKey,
    key_id: str,
    store_id: str,
    kind: str,
    payload: config_pb2.PriceBook | config_pb2.Planogram,
    issued_at_unix_ns: int | None = None,
) -> config_pb2.SignedBundle:
    bundle = config_pb2.SignedBundle(
        payload=payload.SerializeToString(),
        payload_type=PAYLOAD_TYPES[kind],
        version=payload.version,
        store_id=store_id,
        key_id=key_id,
        issued_at_unix_ns=issued_at_unix_ns if issued_at_unix_ns is not None else time.time_ns(),
    )
    bundle.signature = key.sign(signing_input(bundle))
    return bundle
