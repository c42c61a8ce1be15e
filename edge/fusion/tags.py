"""Item tags read at the exit: RFID/NFC evidence for high-value products on the receipt.

Products with an ``rfid_tag_prefix`` in the store config carry item tags whose UIDs start with
that prefix. When an exit reader reads such a tag, the tag is given to the visit of the shopper
leaving through that gate: the open visit with a live track inside the gate's zone (nearest the
zone's centre; the lowest visit id on a tie), else one within ``NEAR_GATE_M`` of the centre. At
settlement each distinct tag of the visit either

- **confirms** a unit the shelves already put in the cart (the line gains an evidence entry
  ``{"source": "rfid", "tag", "reader"}``, quantity unchanged), or
- **adds** a unit the shelves missed (a new cart line with that evidence, confidence 1.0):
  a tag that left the store with the shopper is stronger evidence than a missing weight change.

A tagged product taken by weight but not seen at the exit stays on the receipt as it is (a tag
can be shielded or missed; the shelf saw it go). Reads that cannot be used are counted in
``faults`` and logged as ``tag_read`` events with ``visit_id: null``. Pure and deterministic:
inputs are the read, the visits and the tracks at that moment.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from typing import Any

from edge.carts.cart import Cart, CartEvent
from edge.config.layout import StoreLayout, point_in_polygon
from edge.tracks.store import TrackStore
from edge.visits.manager import VisitManager

__all__ = ["NEAR_GATE_M", "ExitTags"]

log = logging.getLogger("walkout.fusion.tags")

NEAR_GATE_M = 1.0  # a shopper just outside the gate polygon (track error) still counts


class ExitTags:
    """Collects item-tag reads at exit readers per visit and applies them at settlement."""

    def __init__(self, layout: StoreLayout) -> None:
        self.layout = layout
        # Longest prefix first: the check in edge/config/checks.py makes prefixes unambiguous,
        # longest-first keeps the look-up right even for a config that skipped the checks.
        self._prefixes = sorted(
            ((p.rfid_tag_prefix, p.id) for p in layout.config.products if p.rfid_tag_prefix),
            key=lambda e: (-len(e[0]), e[0]),
        )
        self._gates = {
            reader: gate
            for gate in layout.config.gates
            if gate.kind in ("exit", "both")
            for reader in gate.readers
        }
        self.seen: dict[str, dict[str, tuple[float, str, str]]] = {}  # visit -> tag -> read
        self.faults: dict[str, int] = {}

    def product_of(self, uid: str) -> str | None:
        uid = uid.upper()
        return next((pid for prefix, pid in self._prefixes if uid.startswith(prefix)), None)

    def on_read(
        self,
        t: float,
        reader: str,
        kind: str,
        uid: str,
        event: str,
        visits: VisitManager,
        tracks: TrackStore,
    ) -> list[dict[str, Any]]:
        """A reader event; returns the ``tag_read`` event to log (none for other reads)."""
        if kind != "tag" or event != "insert" or reader not in self._gates:
            return []
        product = self.product_of(uid)
        visit_id = self._leaving_visit(reader, visits, tracks) if product else None
        if product is None:
            self._fault("item tag of no tagged product", reader, uid)
        elif visit_id is None:
            self._fault("item tag read with no shopper at the exit", reader, uid)
        else:
            self.seen.setdefault(visit_id, {}).setdefault(uid, (t, reader, product))
        return [
            {
                "type": "tag_read",
                "t": t,
                "reader": reader,
                "tag": uid,
                "product_id": product,
                "visit_id": visit_id,
            }
        ]

    def _fault(self, kind: str, reader: str, uid: str) -> None:
        self.faults[kind] = self.faults.get(kind, 0) + 1
        log.warning("%s (reader %r: tag %s)", kind, reader, uid)

    def _leaving_visit(self, reader: str, visits: VisitManager, tracks: TrackStore) -> str | None:
        gate = self._gates[reader]
        zone = [(float(x), float(y)) for x, y in gate.zone]
        cx = sum(x for x, _ in zone) / len(zone)
        cy = sum(y for _, y in zone) / len(zone)
        best: tuple[bool, float, str] | None = None
        for vid, visit in sorted(visits.visits.items()):
            if visit.closed_t is not None:
                continue
            for tid in sorted(visit.live_tracks):
                history = tracks.tracks.get(tid)
                if history is None:
                    continue
                x, y = history.last.x, history.last.y
                inside = point_in_polygon((x, y), zone)
                d = math.hypot(x - cx, y - cy)
                if not inside and d > NEAR_GATE_M:
                    continue
                key = (not inside, d, vid)
                if best is None or key < best:
                    best = key
        return best[2] if best is not None else None

    def settle(
        self, visit_id: str, cart: Cart, t: float, next_line_id: Callable[[], str]
    ) -> list[dict[str, Any]]:
        """Apply the visit's tags to its cart just before its receipt is built; returns the
        events to log (``cart_line_added`` for units added, ``tag_confirmed`` for the rest)."""
        tags = self.seen.pop(visit_id, {})
        by_product: dict[str, list[tuple[str, str]]] = {}
        for uid, (_t, reader, product) in sorted(tags.items(), key=lambda e: (e[1][0], e[0])):
            by_product.setdefault(product, []).append((uid, reader))
        out: list[dict[str, Any]] = []
        held = cart.quantities()
        for product, reads in sorted(by_product.items()):
            confirmed = min(max(held.get(product, 0), 0), len(reads))
            for uid, reader in reads[:confirmed]:
                evidence = {"source": "rfid", "tag": uid, "reader": reader}
                cart.confirm(CartEvent("", t, product, 0, 1.0, evidence))
                out.append(
                    {
                        "type": "tag_confirmed",
                        "t": t,
                        "visit_id": visit_id,
                        "product_id": product,
                        "tag": uid,
                        "reader": reader,
                    }
                )
            for uid, reader in reads[confirmed:]:
                evidence = {"source": "rfid", "tag": uid, "reader": reader}
                line_id = next_line_id()
                cart.add(CartEvent(line_id, t, product, 1, 1.0, evidence))
                out.append(
                    {
                        "type": "cart_line_added",
                        "t": t,
                        "visit_id": visit_id,
                        "line_id": line_id,
                        "product_id": product,
                        "quantity": 1,
                        "shelf_event_id": None,
                        "t_shelf_settled": None,
                        "confidence": 1.0,
                        "evidence": evidence,
                    }
                )
        return out
