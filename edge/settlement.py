"""Settlement: a closed visit's cart becomes a receipt priced with the price book in force.

The receipt id is derived from the store and the visit (UUIDv5), so settling the same visit again
yields the same id, which the journal refuses: a visit is never charged twice. The wire form is a
`walkout.v1.EdgeEvent` carrying a `Receipt`; the outbox row holds its bytes.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from walkout.v1 import common_pb2, events_pb2

from edge.carts.cart import Cart
from edge.config.layout import StoreLayout

RECEIPT_NAMESPACE = uuid.UUID("6f1d3c1e-4c1a-5b8e-9a43-2b0d7f4c9e10")
REVIEW_REASONS = {
    "ambiguous shopper": events_pb2.REVIEW_REASON_AMBIGUOUS_SHOPPER,
    "ambiguous product": events_pb2.REVIEW_REASON_LOW_CONFIDENCE,
    "ambiguous put-back": events_pb2.REVIEW_REASON_LOW_CONFIDENCE,
    "weight came back that no nearby shopper was holding": (
        events_pb2.REVIEW_REASON_UNEXPLAINED_WEIGHT
    ),
    "visit lost": events_pb2.REVIEW_REASON_TRACK_LOST,
    "no exit": events_pb2.REVIEW_REASON_NO_EXIT,
}


def receipt_id_for(store_id: str, visit_id: str) -> str:
    return str(uuid.uuid5(RECEIPT_NAMESPACE, f"{store_id}/{visit_id}"))


def minor_units(amount: Decimal) -> int:
    return int((amount * 100).to_integral_value())


def build_receipt(
    layout: StoreLayout,
    cart: Cart,
    *,
    visit: Any,
    settled_t: float,
    review_reasons: list[str],
    price_book_version: int = 0,
    prices: Mapping[str, Decimal] | None = None,
    planogram_version: int = 0,
) -> dict[str, Any]:
    """The receipt of a visit as plain data (JSON-ready, money as decimal strings).

    `prices` (a pushed price book, edge/push/) override the config's prices; a product missing
    from it keeps the config's price and flags the receipt for review."""
    review_reasons = list(review_reasons)
    store = layout.config.store
    lines = []
    total = Decimal("0.00")
    quantities = cart.quantities()
    # Lines in the order products first entered the cart.
    order = []
    for event in cart.events:
        if event.product_id not in order:
            order.append(event.product_id)
    for product_id in order:
        quantity = quantities.get(product_id, 0)
        if quantity <= 0:
            continue
        product = layout.products[product_id]
        unit_price = product.price
        if prices is not None:
            if product_id in prices:
                unit_price = prices[product_id]
            else:
                review_reasons.append(f"no price for {product_id} in price book")
        line_total = unit_price * quantity
        total += line_total
        lines.append(
            {
                "product_id": product_id,
                "name": product.name,
                "quantity": quantity,
                "unit_price": f"{unit_price:.2f}",
                "line_total": f"{line_total:.2f}",
                "confidence": round(cart.min_confidence(product_id), 4),
                "evidence": cart.evidence_for(product_id),
            }
        )
    return {
        "receipt_id": receipt_id_for(store.id, visit.visit_id),
        "visit_id": visit.visit_id,
        "store_id": store.id,
        "card_uid": visit.card_uid,
        "entry_t": round(visit.opened_t, 4),
        "exit_t": round(visit.closed_t, 4) if visit.closed_t is not None else None,
        "settled_t": round(settled_t, 4),
        "lines": lines,
        "total": f"{total:.2f}",
        "currency": store.currency,
        "price_book_version": price_book_version,
        "planogram_version": planogram_version,
        "needs_review": bool(review_reasons),
        "review_reasons": sorted(set(review_reasons)),
    }


def receipt_message(receipt: dict[str, Any], *, sequence: int, start_time_unix: float) -> bytes:
    """The outbox payload: an EdgeEvent with a Receipt body, serialised."""
    currency = receipt["currency"]
    msg = events_pb2.EdgeEvent()
    header = msg.header
    header.event_id = receipt["receipt_id"]
    header.store_id = receipt["store_id"]
    header.stream = "receipts"
    header.sequence = sequence
    header.event_time_unix_ns = round((start_time_unix + receipt["settled_t"]) * 1e9)
    header.monotonic_time_s = receipt["settled_t"]
    header.schema_version = 1
    body = msg.receipt
    body.receipt_id = receipt["receipt_id"]
    body.visit_id = receipt["visit_id"]
    for line in receipt["lines"]:
        out = body.lines.add()
        out.product_id = line["product_id"]
        out.name = line["name"]
        out.quantity = line["quantity"]
        out.unit_price.CopyFrom(
            common_pb2.Money(
                currency=currency, minor_units=minor_units(Decimal(line["unit_price"]))
            )
        )
        out.line_total.CopyFrom(
            common_pb2.Money(
                currency=currency, minor_units=minor_units(Decimal(line["line_total"]))
            )
        )
        for ev in line["evidence"]:
            e = out.evidence.add()
            e.source = (
                events_pb2.EVIDENCE_SOURCE_RFID
                if ev.get("source") == "rfid"
                else events_pb2.EVIDENCE_SOURCE_WEIGHT
            )
            e.shelf_event_id = ev.get("shelf_event_id", "")
            e.delta_grams = float(ev.get("delta_grams", 0.0))
            e.shopper_distance_m = float(ev.get("distance_m") or 0.0)
            e.track_id = int(ev.get("track_id") or 0)
            e.confidence = float(ev.get("confidence", 0.0))
    body.total.CopyFrom(
        common_pb2.Money(currency=currency, minor_units=minor_units(Decimal(receipt["total"])))
    )
    body.price_book_version = receipt["price_book_version"]
    body.planogram_version = receipt.get("planogram_version", 0)
    body.needs_review = receipt["needs_review"]
    for reason in receipt["review_reasons"]:
        body.review_reasons.append(
            REVIEW_REASONS.get(reason, events_pb2.REVIEW_REASON_LOW_CONFIDENCE)
        )
    body.review_note = "; ".join(receipt["review_reasons"])
    body.shopper_ref = receipt["card_uid"] or ""
    body.entered_at_unix_ns = round((start_time_unix + receipt["entry_t"]) * 1e9)
    if receipt["exit_t"] is not None:
        body.exited_at_unix_ns = round((start_time_unix + receipt["exit_t"]) * 1e9)
    return msg.SerializeToString(deterministic=True)
