"""The deterministic core of the edge: timestamped inputs in, events and receipts out.

A composition root in the Frigate sense: it builds the shelf decoders and event detectors, the
track store, visits, fusion, carts and settlement, and routes each input through them. It never
reads a clock: time is the timestamp of the input being handled. Live mode and replay feed the
same object; replay feeds it as fast as the CPU allows.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import partial
from typing import TYPE_CHECKING, Any

from edge.carts.cart import Cart, CartEvent
from edge.config.layout import StoreLayout
from edge.fusion.attribution import Decision, Fusion, FusionParams
from edge.fusion.handoff import HandoffDetector
from edge.fusion.tags import ExitTags
from edge.journal.journal import AlreadySettled, Journal
from edge.push.planogram import PlanogramInForce, PlanogramRejected, planogram_layout
from edge.push.prices import PriceBookRejected, PriceBooks
from edge.review.clip import STREAM as CLIP_STREAM
from edge.review.clip import ClipRecorder, clip_event_id, clip_message
from edge.settlement import build_receipt, receipt_message
from edge.shelf.decode import PlateBlock, ShelfDecoder
from edge.shelf.events import PlateFault, ShelfEvent, ShelfEventDetector, to_json
from edge.tracks.late_swaps import LateSwap, LateSwapCheck
from edge.tracks.store import TrackStore, distance_to_segment
from edge.tracks.swaps import SwapRepair
from edge.visits.manager import VisitManager, VisitParams

if TYPE_CHECKING:
    from walkout.v1 import config_pb2

log = logging.getLogger("walkout.core")

CARRIED_HAND_M = 0.15  # a hand this close to the plates' front edge is reaching into them
CARRIED_WINDOW_S = 3.0  # ... within this long before the shelf's weight came to rest

Emit = Callable[[dict[str, Any]], None]


@dataclass
class CoreStats:
    shelf_events: int = 0
    cart_lines: int = 0
    unattributed_events: int = 0
    receipts: int = 0
    reviews: int = 0
    faults: int = 0
    track_swaps_repaired: int = 0
    late_swaps_repaired: int = 0
    lines_moved_by_late_swaps: int = 0
    planograms_applied: int = 0
    planograms_rejected: int = 0
    price_books_received: int = 0
    price_books_rejected: int = 0
    decode_errors: dict[str, int] = field(default_factory=dict)


class EdgeCore:
    """Routes inputs through the pipeline; outputs go to `emit`, receipts to the journal."""

    def __init__(
        self,
        layout: StoreLayout,
        *,
        emit: Emit,
        journal: Journal,
        start_time_unix: float,
        review_policy: str = "settle_and_flag",  # or "hold": a flagged receipt waits for review
        fusion_params: FusionParams = FusionParams(),
        visit_params: VisitParams = VisitParams(),
    ):
        self.layout = layout
        self.emit_raw = emit
        self.journal = journal
        self.start_time_unix = start_time_unix
        self.review_policy = review_policy
        self.decoders: dict[str, ShelfDecoder] = {}
        for shelf in layout.shelves.values():
            port = shelf.controller.port
            if port not in self.decoders:
                self.decoders[port] = ShelfDecoder(layout, port)
        self.detectors = {key: ShelfEventDetector(layout, key[0], key[1]) for key in layout.shelves}
        self.tracks = TrackStore()
        self.swaps = SwapRepair()  # undoes the person tracker's identity swaps first
        self.late_swaps = LateSwapCheck()  # ... and those only a second of motion reveals
        self.visits = VisitManager(layout, visit_params)
        self.fusion = Fusion(layout, fusion_params)
        for key, detector in self.detectors.items():
            detector.carried_weights = partial(self._carried_weights, key)
        self.handoffs = HandoffDetector(layout)
        self.exit_tags = ExitTags(layout)  # item tags read at the exit (edge/fusion/tags.py)
        self.carts: dict[str, Cart] = {}
        self.review: dict[str, list[str]] = {}
        # Weight and track history around flagged events, for the review queue's clips.
        self.clips = ClipRecorder(
            layout,
            self.tracks,
            segment_of=self.fusion.front_segment,
            visit_of=self._open_visit_of_track,
            visit_open=lambda v: v in self.visits.visits and self.visits.visits[v].closed_t is None,
        )
        # Pushed price books, fed as timestamped inputs (on_price_book); none: the config's prices.
        self.price_books = PriceBooks(layout.config.store.currency)
        # Pushed planograms, fed as timestamped inputs (on_planogram): pending ones by version,
        # the one in force (0: the config's), products no price covers yet.
        self.planogram_version = 0
        self.planogram_unpriced: frozenset[str] = frozenset()
        self.planograms_pending: list[PlanogramInForce] = []
        self.planogram_rejections: list[str] = []
        self._planogram_due = math.inf  # session time the next pending planogram takes effect
        # Plates with a fault now ("g.s.p" -> kind), for health and metrics (edge/health/).
        self.active_plate_faults: dict[str, str] = {}
        self.stats = CoreStats()
        self._seq = 0
        self._receipt_seq = 0
        self._line = 0
        self._line_settled: dict[str, float] = {}  # line id -> when its shelf event settled
        self.now = 0.0

    def _emit(self, event: dict[str, Any]) -> None:
        self._seq += 1
        event["seq"] = self._seq
        self.emit_raw(event)

    # --- inputs -----------------------------------------------------------------------------

    def on_planogram(self, t: float, planogram: config_pb2.Planogram) -> None:
        """A verified planogram push arrived at session time `t` (live: when the link applied
        it; replay: its record in the session's pushes stream). It takes effect at its
        `effective_from` (at once if that has passed): the first input at or after that time
        is handled with it. Checked again here, so a bad one never takes effect."""
        self.now = t
        self._advance_planogram(t)
        newest = max([self.planogram_version, *(p.version for p in self.planograms_pending)])
        try:
            if planogram.version <= newest:
                raise PlanogramRejected(
                    f"planogram v{planogram.version}: not newer than v{newest} already held"
                )
            base = self.planograms_pending[-1].layout if self.planograms_pending else self.layout
            unpriced = (
                self.planograms_pending[-1].unpriced
                if self.planograms_pending
                else self.planogram_unpriced
            )
            held = planogram_layout(base, planogram, unpriced=unpriced)
        except PlanogramRejected as exc:
            self.stats.planograms_rejected += 1
            self.planogram_rejections.append(str(exc))
            log.warning("planogram not applied: %s", exc)
            self._emit({"type": "planogram_rejected", "t": t, "reason": str(exc)})
            return
        self.planograms_pending.append(held)
        self._planogram_due = min(self._planogram_due, self._session_t(held))
        self._advance_planogram(t)

    def on_price_book(self, t: float, book: config_pb2.PriceBook) -> None:
        """A verified price book push arrived at session time `t` (live: when the link applied
        it; replay: its record in the pushes stream). Kept with its effective-from time: a visit
        is charged with the newest book effective at its entry (edge/push/prices.py). Checked
        again here, so a bad or stale one never prices a receipt."""
        self._advance_planogram(t)
        self.now = t
        try:
            held = self.price_books.receive(book)
        except PriceBookRejected as exc:
            self.stats.price_books_rejected += 1
            log.warning("price book not applied: %s", exc)
            self._emit({"type": "price_book_rejected", "t": t, "reason": str(exc)})
            return
        self.stats.price_books_received += 1
        self._emit(
            {
                "type": "price_book_received",
                "t": t,
                "version": held.version,
                "effective_from_unix_ns": held.effective_from_unix_ns,
            }
        )

    def _session_t(self, held: PlanogramInForce) -> float:
        return held.effective_from_unix_ns / 1e9 - self.start_time_unix

    def _advance_planogram(self, t: float) -> None:
        """Put in force every pending planogram due by `t` (the newest wins)."""
        if t < self._planogram_due:
            return
        due = [p for p in self.planograms_pending if self._session_t(p) <= t]
        self.planograms_pending = [p for p in self.planograms_pending if p not in due]
        self._planogram_due = min(
            (self._session_t(p) for p in self.planograms_pending), default=math.inf
        )
        held = due[-1]
        self.layout = held.layout
        self.fusion.layout = held.layout
        for key in sorted(self.detectors):
            self.detectors[key].set_planogram(held.layout)
        self.planogram_version = held.version
        self.planogram_unpriced = held.unpriced
        self.stats.planograms_applied += 1
        self._emit(
            {
                "type": "planogram_in_force",
                "t": t,
                "version": held.version,
                "effective_from_unix_ns": held.effective_from_unix_ns,
            }
        )

    def on_shelf_bytes(self, t: float, port: str, data: bytes) -> None:
        # The busiest input (every frame of every shelf board): the planogram check is inline.
        if t >= self._planogram_due:
            self._advance_planogram(t)
        self.now = t
        decoder = self.decoders.get(port)
        if decoder is None:
            self.stats.decode_errors["unknown port"] = (
                self.stats.decode_errors.get("unknown port", 0) + 1
            )
            return
        for item in decoder.feed(t, data):
            if isinstance(item, PlateBlock):
                self._on_block(item)
            # A StatusReport: board status reaches health later; plate faults come from the
            # detector.

    def _on_block(self, item: PlateBlock) -> None:
        detector = self.detectors[(item.gondola, item.shelf)]
        self.clips.on_block(item)
        outs = detector.feed(item)
        if outs:
            for out in outs:
                self._on_shelf_output(out)

    def _on_shelf_output(self, out: ShelfEvent | PlateFault) -> None:
        if isinstance(out, PlateFault):
            self.stats.faults += 1
            ref = f"{out.gondola}.{out.shelf}.{out.plate}"
            if out.active:
                self.active_plate_faults[ref] = out.kind
            else:
                self.active_plate_faults.pop(ref, None)
            self._emit(
                {
                    "type": "sensor_fault",
                    "t": self.now,
                    "sensor": f"plate {out.gondola}.{out.shelf}.{out.plate}",
                    "kind": out.kind,
                    "active": out.active,
                    "message": out.message,
                }
            )
            return
        self.stats.shelf_events += 1
        self._emit({"type": "shelf_event", "t": self.now, **to_json(out)})
        self._attribute(out)

    def on_read(self, t: float, reader: str, kind: str, uid: str, event: str) -> None:
        self._advance_planogram(t)
        self.now = t
        for out in self.visits.on_read(t, reader, kind, uid, event, self.tracks):
            self._on_visit_event(out)
        for out in self.exit_tags.on_read(t, reader, kind, uid, event, self.visits, self.tracks):
            self._emit(out)

    def on_tracks(
        self,
        t: float,
        people: list[tuple[int, float, float, tuple[tuple[float, float, float], ...]]],
    ) -> None:
        self._advance_planogram(t)
        self.now = t
        people = self.swaps.relabel(t, people)
        self.stats.track_swaps_repaired = self.swaps.repaired
        born, ended = self.tracks.update(t, people)
        for out in self.visits.on_tracks(t, born, ended, self.tracks):
            self._on_visit_event(out)
        for swap in self.late_swaps.observe(t, [(tid, x, y) for tid, x, y, _ in people]):
            self._late_swap(swap)
        for (track_a, track_b), distance in self.handoffs.update(t, self.tracks, self.visits):
            self._hand_over(track_a, track_b, distance)

    def _late_swap(self, swap: LateSwap) -> None:
        """Two tracks' ids were exchanged `swap.t` ago: give each its own person back from then
        on, and move what fusion decided on the wrong person since then to the other visit."""
        va = self.visits.visit_of_track(swap.a)
        vb = self.visits.visit_of_track(swap.b)
        if any(v is not None and v.closed_t is not None for v in (va, vb)):
            return  # already settled: too late to move anything
        if not self.tracks.exchange_since(swap.a, swap.b, swap.t):
            return
        self.swaps.exchange_outputs(self.now, swap.a, swap.b)
        self.late_swaps.accept(swap)
        self.stats.late_swaps_repaired += 1
        self.stats.track_swaps_repaired = self.swaps.repaired
        self._emit(
            {
                "type": "track_swap_repaired",
                "t": self.now,
                "tracks": [swap.a, swap.b],
                "since": round(swap.t, 4),
                "visits": [v.visit_id if v is not None else None for v in (va, vb)],
            }
        )
        if va is None or vb is None or va is vb:
            return
        other = {va.visit_id: vb.visit_id, vb.visit_id: va.visit_id}
        moves = []
        for visit_id in sorted(other):
            for change in self.carts[visit_id].events:
                track = change.evidence.get("track_id")
                # When the shelf settled, not when the line was written: a pick that settled
                # before the exchange was seen on the right person.
                settled = self._line_settled.get(change.line_id, change.t)
                if settled >= swap.t and track in (swap.a, swap.b) and change.quantity != 0:
                    moves.append((change.line_id, visit_id, change))
        evidence_note = {"late_swap_t": round(swap.t, 3), "tracks": [swap.a, swap.b]}
        for _, visit_id, change in sorted(moves, key=lambda m: m[0]):
            undo = CartEvent(
                self._line_id(),
                self.now,
                change.product_id,
                -change.quantity,
                change.confidence,
                change.evidence | {"late_swap": evidence_note},
            )
            redo = replace(undo, line_id=self._line_id(), quantity=change.quantity)
            # Undo on the visit that got it, then apply to the other; a put-back the other
            # visit cannot explain (it holds no such unit) is left where it was.
            steps = [(visit_id, undo), (other[visit_id], redo)]
            if change.quantity < 0:
                steps = [(other[visit_id], redo), (visit_id, undo)]
                if self.carts[other[visit_id]].quantities().get(change.product_id, 0) <= 0:
                    continue
            for target, step in steps:
                if self._apply_line(target, step, step.evidence.get("shelf_event_id")) is None:
                    break
            self.stats.lines_moved_by_late_swaps += 1

    def _hand_over(self, track_a: int, track_b: int, distance: float) -> None:
        """Move the item most recently taken by one of the two visits to the other's cart."""
        va = self.visits.visit_of_track(track_a)
        vb = self.visits.visit_of_track(track_b)
        if va is None or vb is None:
            return
        recent = []
        for giver, taker, track_from, track_to in (
            (va, vb, track_a, track_b),
            (vb, va, track_b, track_a),
        ):
            cart = self.carts.get(giver.visit_id)
            held = cart.quantities() if cart else {}
            for event in reversed(cart.events if cart else []):
                if event.quantity > 0 and held.get(event.product_id, 0) > 0:
                    if self.now - event.t <= self.handoffs.params.recent_pick_s:
                        recent.append(
                            (event.t, giver, taker, track_from, track_to, event.product_id)
                        )
                    break
        if not recent:
            return
        _, giver, taker, track_from, track_to, product_id = max(recent, key=lambda r: r[0])
        evidence = {
            "handoff_from_visit": giver.visit_id,
            "handoff_to_visit": taker.visit_id,
            "track_from": track_from,
            "track_to": track_to,
            "hands_distance_m": round(distance, 3),
        }
        for visit, quantity in ((giver, -1), (taker, 1)):
            change = CartEvent(self._line_id(), self.now, product_id, quantity, 0.8, evidence)
            if self._apply_line(visit.visit_id, change) is None:
                return

    def finish(self, t: float) -> None:
        """End of a replay: flush the parsers and detectors, close and settle open visits."""
        self._advance_planogram(t)
        self.now = t
        for port in sorted(self.decoders):
            for item in self.decoders[port].flush():
                if isinstance(item, PlateBlock):
                    self._on_block(item)
        for key in sorted(self.detectors):
            for out in self.detectors[key].flush():
                self._on_shelf_output(out)
        for out in self.visits.close_all(t):
            self._on_visit_event(out)

    # --- visits, fusion, settlement ---------------------------------------------------------

    def _on_visit_event(self, event: dict[str, Any]) -> None:
        if event["type"] == "visit_track":
            return  # binding detail; kept out of the event log to keep it readable
        self._emit(event)
        if event["type"] == "visit_started":
            self.carts[event["visit_id"]] = Cart(event["visit_id"])
        elif event["type"] == "visit_ended":
            reason = event["reason"]
            if reason == "lost":
                self.review.setdefault(event["visit_id"], []).append("visit lost")
            elif reason == "end_of_session":
                self.review.setdefault(event["visit_id"], []).append("no exit")
            self._settle(event["visit_id"])

    def _carried_weights(
        self, shelf: tuple[int, int], t: float, plate_ids: list[int]
    ) -> list[float]:
        """Unit weights of what shoppers with a hand at these plates just now are carrying.

        Lets the shelf detector report an item left on a plate it was not taken from as soon as
        it is stable, instead of holding it as a possible resting hand (docs/shelf-events.md).
        """
        gondola, shelf_id = shelf
        a, b = self.fusion.front_segment(gondola, shelf_id, plate_ids)
        height = self.layout.shelves[shelf].height_m
        p = self.fusion.params
        weights: list[float] = []
        for history in self.tracks.recent():
            near = any(
                abs(hz - height) <= p.height_tolerance_m
                and distance_to_segment(hx, hy, a, b) <= CARRIED_HAND_M
                for point in history.window(t - CARRIED_WINDOW_S, t)
                for hx, hy, hz in point.hands
            )
            visit = self.visits.visit_of_track(history.track_id) if near else None
            cart = self.carts.get(visit.visit_id) if visit is not None else None
            if cart is None:
                continue
            for product_id, quantity in sorted(cart.quantities().items()):
                if quantity > 0:
                    weights.append(self.fusion._held_unit_weight(cart, product_id)[0])
        return weights

    def _attribute(self, event: ShelfEvent) -> None:
        for decision in self.fusion.decide_all(event, self.tracks, self.visits, self.carts):
            self._apply(event, decision)

    def _apply(self, event: ShelfEvent, decision: Decision) -> None:
        if decision.review_reason:
            self.clips.flag(event, decision)
        if decision.visit_id is None:
            self.stats.unattributed_events += 1
            self._emit(
                {
                    "type": "review_flag",
                    "t": self.now,
                    "visit_id": None,
                    "reason": decision.review_reason,
                    "shelf_event_id": event.event_id,
                    "hypotheses": decision.hypotheses,
                }
            )
            return
        change = CartEvent(
            self._line_id(),
            self.now,
            decision.product_id or "",
            decision.quantity,
            decision.confidence,
            decision.evidence,
        )
        settled = round(event.t_end, 4)
        if self._apply_line(decision.visit_id, change, event.event_id, settled) is not None:
            self._line_settled[change.line_id] = event.t_end
        if decision.review_reason:
            self.review.setdefault(decision.visit_id, []).append(decision.review_reason)
            self._emit(
                {
                    "type": "review_flag",
                    "t": self.now,
                    "visit_id": decision.visit_id,
                    "reason": decision.review_reason,
                    "shelf_event_id": event.event_id,
                    "hypotheses": decision.hypotheses,
                }
            )

    def _settle(self, visit_id: str) -> None:
        visit = self.visits.visits[visit_id]
        for change in self.carts[visit_id].events:  # a settled cart's lines never move again
            self._line_settled.pop(change.line_id, None)
        for out in self.exit_tags.settle(visit_id, self.carts[visit_id], self.now, self._line_id):
            self.stats.cart_lines += out["type"] == "cart_line_added"
            self._emit(out)
        reasons = self.review.get(visit_id, [])
        # The price book in force when the shopper entered (edge/push/bundles.py explains why).
        entered_ns = round((self.start_time_unix + visit.opened_t) * 1e9)
        book = self.price_books.at(entered_ns)
        if book is None:
            # A product a planogram brought without a config price: only a price book prices it.
            held = self.carts[visit_id].quantities()
            reasons = reasons + [
                f"no price for {pid}: not in the store config and no price book pushed"
                for pid in sorted(self.planogram_unpriced)
                if held.get(pid, 0) > 0
            ]
        receipt = build_receipt(
            self.layout,
            self.carts[visit_id],
            visit=visit,
            settled_t=self.now,
            review_reasons=reasons,
            price_book_version=book.version if book else 0,
            prices=book.prices if book else None,
            planogram_version=self.planogram_version,
        )
        hold = self.review_policy == "hold" and receipt["needs_review"]
        receipt["status"] = "held" if hold else "settled"
        self._receipt_seq += 1
        payload = receipt_message(
            receipt, sequence=self._receipt_seq, start_time_unix=self.start_time_unix
        )
        try:
            self.journal.settle(
                receipt,
                stream="receipts",
                event_id=receipt["receipt_id"],
                payload=payload,
                publish=not hold,
            )
        except AlreadySettled:
            self._receipt_seq -= 1
            return
        self.stats.receipts += 1
        self.stats.reviews += int(receipt["needs_review"])
        clip = self.clips.take(visit_id, self.now)
        if clip and receipt["needs_review"] and not hold:  # right after its receipt
            self.journal.append(
                stream=CLIP_STREAM,
                event_id=clip_event_id(receipt["receipt_id"]),
                created_t=self.now,
                payload=clip_message(receipt, clip, start_time_unix=self.start_time_unix),
            )
        self._emit(
            {
                "type": "receipt",
                "t": self.now,
                "receipt_id": receipt["receipt_id"],
                "visit_id": visit_id,
            }
        )
        self.on_receipt(receipt)

    def _open_visit_of_track(self, track_id: int) -> str | None:
        visit = self.visits.visit_of_track(track_id)
        return visit.visit_id if visit is not None and visit.closed_t is None else None

    def _line_id(self) -> str:
        self._line += 1
        return f"l{self._line:05d}"

    def _apply_line(
        self,
        visit_id: str,
        change: CartEvent,
        shelf_event_id: str | None = None,
        t_shelf_settled: float | None = None,
    ) -> CartEvent | None:
        """Add (positive quantity) or remove `change` on a visit's cart and emit the line as
        applied; None when there was nothing of that product to remove."""
        cart = self.carts[visit_id]
        applied = cart.add(change) if change.quantity > 0 else cart.remove(change)
        if applied is None:
            return None
        self.stats.cart_lines += 1
        self._emit(
            {
                "type": "cart_line_added" if applied.quantity > 0 else "cart_line_removed",
                "t": self.now,
                "visit_id": visit_id,
                "line_id": change.line_id,
                "product_id": applied.product_id,
                "quantity": abs(applied.quantity),
                "shelf_event_id": shelf_event_id,
                "t_shelf_settled": t_shelf_settled,
                "confidence": round(change.confidence, 4),
                "evidence": change.evidence,
            }
        )
        return applied

    def on_receipt(self, receipt: dict[str, Any]) -> None:
        """Hook for the runner (replay writes receipts.jsonl; live publishes)."""
