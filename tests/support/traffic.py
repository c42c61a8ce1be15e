"""Synthetic store traffic for link and cloud tests: receipts settled straight into a journal."""

from __future__ import annotations

import time
from pathlib import Path

from walkout.v1 import SCHEMA_VERSION, events_pb2

from edge.journal.journal import Journal
from edge.settlement import receipt_id_for

LINES_PER_RECEIPT = 4  # a busy store's typical basket; makes the payload a realistic ~1 kB


def receipt_payload(store_id: str, visit_id: str, *, exit_unix: float) -> tuple[str, bytes]:
    """(receipt id, EdgeEvent bytes) of a receipt with a few lines and their evidence."""
    receipt_id = receipt_id_for(store_id, visit_id)
    msg = events_pb2.EdgeEvent()
    h = msg.header
    h.event_id = receipt_id
    h.store_id = store_id
    h.stream = "receipts"
    h.sequence = 1  # the journal stamps the real one
    h.event_time_unix_ns = round(exit_unix * 1e9)
    h.schema_version = SCHEMA_VERSION
    r = msg.receipt
    r.receipt_id = receipt_id
    r.visit_id = visit_id
    total = 0
    for i in range(LINES_PER_RECEIPT):
        line = r.lines.add(product_id=f"sku-{i:03d}", name=f"Product {i}", quantity=1 + i % 2)
        line.unit_price.currency = "EUR"
        line.unit_price.minor_units = 199 + i
        line.line_total.currency = "EUR"
        line.line_total.minor_units = (199 + i) * line.quantity
        total += line.line_total.minor_units
        ev = line.evidence.add(shelf_event_id=f"{visit_id}-shelf-{i}", delta_grams=-350.0)
        ev.confidence = 0.98
        ev.track_id = 7
    r.total.currency = "EUR"
    r.total.minor_units = total
    r.exited_at_unix_ns = round(exit_unix * 1e9)
    return receipt_id, msg.SerializeToString(deterministic=True)


def settle(journal: Journal, store_id: str, visit_id: str, *, exit_unix: float) -> str:
    """Journal one receipt with its outbox row, like the core does at a shopper's exit."""
    receipt_id, payload = receipt_payload(store_id, visit_id, exit_unix=exit_unix)
    journal.settle(
        {
            "receipt_id": receipt_id,
            "visit_id": visit_id,
            "settled_t": 0.0,
            "total": "0.00",
            "needs_review": False,
        },
        stream="receipts",
        event_id=receipt_id,
        payload=payload,
    )
    return receipt_id


def fill_journal(path: Path, store_id: str, count: int, *, first: int = 0) -> list[str]:
    """A journal holding `count` unsent receipts (a backlog); returns their ids in order."""
    journal = Journal(path)
    # Setting up a backlog is not what is under test: skip the per-commit fsync while filling.
    journal.db.execute("PRAGMA synchronous=OFF")
    try:
        now = time.time()
        return [
            settle(journal, store_id, f"visit-{i:07d}", exit_unix=now)
            for i in range(first, first + count)
        ]
    finally:
        journal.close()
