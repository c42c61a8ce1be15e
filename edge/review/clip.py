"""Evidence clips for flagged receipts: the weight trace and the tracks around an uncertain event.

A reviewer deciding who took an item wants to see what the edge saw: the shelf's weight a few
seconds either side of the event and where the candidate shoppers' bodies and hands were. The
edge keeps no long history (a day of trading must stay small), so the clip is cut while the
history still holds it: a flagged event is registered when fusion decides it (`flag`), and cut
as soon as the shelf's readings pass the end of its window (`on_block`), a few seconds later.
Cut items wait with their visit until it settles (`take`); only a receipt that needs review gets
its clip sent (`clip_message`, stream "evidence", right after the receipt in the outbox).

Pure and deterministic: time is the sample time of the readings, never a clock read. Memory is
bounded: per shelf the last `RING_S` seconds of readings (references to the decoder's blocks,
no copies), per open visit at most `MAX_ITEMS` cut items. Positions only: no images, faces or
body embeddings (docs/dashboard.md).
"""

from __future__ import annotations

import logging
import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from walkout.v1 import events_pb2

from edge.config.layout import StoreLayout
from edge.shelf.decode import PlateBlock
from edge.tracks.store import TrackStore, distance_to_segment

log = logging.getLogger(__name__)

BEFORE_S = 3.0  # the window starts this long before the weight began to change
AFTER_S = 3.0  # ... and ends this long after it settled
BIN_S = 0.1  # decimation: one value per 0.1 s (about 10 Hz), the mean of the samples in it
RING_S = 30.0  # readings kept per shelf; more than any event's window plus detection delay
NEAR_M = 1.5  # a track whose body or hand came this close to the shelf front is drawn
MAX_ITEMS = 16  # items kept per visit: bounds memory and the clip's size (256 kB limit)
STREAM = "evidence"

Segment = tuple[tuple[float, float], tuple[float, float]]


@dataclass(frozen=True)
class Trace:
    """A decimated weight series: each 0.1 s bin's mean sample time (session s) and grams."""

    t: tuple[float, ...]
    grams: tuple[float, ...]


@dataclass(frozen=True)
class TrackTrace:
    track_id: int
    visit_id: str | None
    chosen: bool
    # (t, x, y, hands) per 0.1 s bin, the first point of each bin.
    points: tuple[tuple[float, float, float, tuple[tuple[float, float, float], ...]], ...]


@dataclass
class ClipItem:
    """One flagged (or unexplained) shelf event; `total`/`plates`/`tracks` are filled when cut."""

    shelf_event_id: str
    gondola: int
    shelf: int
    plates: tuple[int, ...]
    t_start: float
    t_end: float
    window_start: float
    window_end: float
    reason: str
    product_id: str
    quantity: int
    chosen_visit: str | None
    chosen_track: int
    candidate_visits: tuple[str, ...]
    segment: Segment
    total: Trace = Trace((), ())
    plate_traces: dict[int, Trace] = field(default_factory=dict)
    tracks: tuple[TrackTrace, ...] = ()


class ClipRecorder:
    """Bounded weight history per shelf, pending cuts, and cut items per open visit."""

    def __init__(
        self,
        layout: StoreLayout,
        tracks: TrackStore,
        *,
        segment_of: Callable[[int, int, list[int]], Segment],
        visit_of: Callable[[int], str | None],
        visit_open: Callable[[str], bool],
    ) -> None:
        # Plate ids of each shelf in the board's column order (PlateBlock.grams columns).
        self._columns = {
            key: [ref.plate for ref in layout.shelf_plate_refs(*key)] for key in layout.shelves
        }
        self._tracks = tracks
        self._segment_of = segment_of
        self._visit_of = visit_of  # track id -> the open visit it is bound to
        self._visit_open = visit_open
        self._rings: dict[
            tuple[int, int],
            deque[tuple[float, npt.NDArray[np.float64], npt.NDArray[np.float64]]],
        ] = {}
        self._pending: list[ClipItem] = []
        self._by_visit: dict[str, list[ClipItem]] = {}
        self.items_cut = 0
        self.items_dropped = 0  # over MAX_ITEMS for one visit (counted, logged)

    # --- inputs -------------------------------------------------------------------------

    def on_block(self, block: PlateBlock) -> None:
        """Keep the block (a reference: the decoder never reuses its arrays); cut due items."""
        grams = block.grams
        if grams.shape[0] == 0:
            return
        key = (block.gondola, block.shelf)
        ring = self._rings.get(key)
        if ring is None:
            ring = self._rings[key] = deque()
        times = block.times
        t_last = times.item(-1)
        ring.append((t_last, times, grams))
        horizon = t_last - RING_S  # (this runs for every block of every shelf)
        while ring[0][0] < horizon:
            ring.popleft()
        if self._pending:
            due = [
                p for p in self._pending if (p.gondola, p.shelf) == key and p.window_end <= t_last
            ]
            for item in due:
                self._pending.remove(item)
                self._cut(item, item.window_end)

    def flag(self, event: Any, decision: Any) -> None:
        """Fusion flagged `decision` on shelf event `event`: cut its clip once the window ends."""
        chosen = decision.visit_id
        if any(
            p.shelf_event_id == event.event_id and p.chosen_visit == chosen for p in self._pending
        ):
            return  # a shared grab flags one event once per visit
        plates = list(event.plates) or list(self._columns[(event.gondola, event.shelf)])
        self._pending.append(
            ClipItem(
                shelf_event_id=event.event_id,
                gondola=event.gondola,
                shelf=event.shelf,
                plates=tuple(plates),
                t_start=float(event.t_start),
                t_end=float(event.t_end),
                window_start=float(event.t_start) - BEFORE_S,
                window_end=float(event.t_end) + AFTER_S,
                reason=decision.review_reason or "",
                product_id=decision.product_id or "",
                quantity=int(decision.quantity),
                chosen_visit=chosen,
                chosen_track=int(decision.evidence.get("track_id") or 0),
                candidate_visits=tuple(
                    sorted({h["visit_id"] for h in decision.hypotheses if h.get("visit_id")})
                ),
                segment=self._segment_of(event.gondola, event.shelf, plates),
            )
        )

    def take(self, visit_id: str, now: float) -> list[ClipItem]:
        """The visit settles: cut its pending items with what is there, return all its items
        in shelf-event order and forget them."""
        for item in [p for p in self._pending if p.chosen_visit == visit_id]:
            self._pending.remove(item)
            self._cut(item, min(item.window_end, now))
        items = self._by_visit.pop(visit_id, [])
        return sorted(items, key=lambda i: (i.t_start, i.shelf_event_id))

    # --- cutting ------------------------------------------------------------------------

    def _cut(self, item: ClipItem, end: float) -> None:
        item.window_end = round(end, 4)
        item.window_start = round(item.window_start, 4)
        item.total, item.plate_traces = self._weights(item)
        item.tracks = self._track_traces(item)
        self.items_cut += 1
        if item.chosen_visit is not None:
            owners = [item.chosen_visit]
        else:  # nobody was given it: it belongs to the clip of every open visit near the shelf
            owners = sorted(
                {t.visit_id for t in item.tracks if t.visit_id}
                | {v for v in item.candidate_visits if self._visit_open(v)}
            )
        for visit_id in owners:
            held = self._by_visit.setdefault(visit_id, [])
            if len(held) >= MAX_ITEMS:
                self.items_dropped += 1
                log.warning(
                    "evidence clip of visit %s: more than %d items, %s left out",
                    visit_id,
                    MAX_ITEMS,
                    item.shelf_event_id,
                )
                continue
            held.append(item)

    def _weights(self, item: ClipItem) -> tuple[Trace, dict[int, Trace]]:
        ring = self._rings.get((item.gondola, item.shelf), deque())
        t0, t1 = item.window_start, item.window_end
        blocks = [(ts, g) for last, ts, g in ring if last >= t0 and ts[0] <= t1]
        if not blocks:
            return Trace((), ()), {}
        times = np.concatenate([ts for ts, _ in blocks])
        grams = np.concatenate([g for _, g in blocks])
        keep = (times >= t0) & (times <= t1)
        times, grams = times[keep], grams[keep]
        if times.size == 0:
            return Trace((), ()), {}
        bins = np.floor((times - t0) / BIN_S).astype(np.int64)
        used, inverse, counts = np.unique(bins, return_inverse=True, return_counts=True)

        def mean(values: npt.NDArray[np.float64], digits: int = 2) -> tuple[float, ...]:
            sums = np.bincount(inverse, weights=values, minlength=used.size)
            return tuple(round(float(v), digits) for v in sums / counts)

        centres = mean(times, 4)  # the bin's mean sample time: inside the window, honest at gaps

        columns = self._columns[(item.gondola, item.shelf)]
        plates = {
            plate: Trace(centres, mean(grams[:, columns.index(plate)]))
            for plate in item.plates
            if plate in columns
        }
        return Trace(centres, mean(grams.sum(axis=1))), plates

    def _track_traces(self, item: ClipItem) -> tuple[TrackTrace, ...]:
        a, b = item.segment
        wanted = set(item.candidate_visits) | ({item.chosen_visit} if item.chosen_visit else set())
        out = []
        for history in self._tracks.recent():
            points = history.window(item.window_start, item.window_end)
            if not points:
                continue
            visit_id = self._visit_of(history.track_id)
            near = any(
                distance_to_segment(p.x, p.y, a, b) <= NEAR_M
                or any(distance_to_segment(hx, hy, a, b) <= NEAR_M for hx, hy, _ in p.hands)
                for p in points
            )
            chosen = history.track_id == item.chosen_track and item.chosen_track != 0
            if not (near or chosen or (visit_id is not None and visit_id in wanted)):
                continue
            decimated = []
            last_bin = -math.inf
            for p in points:
                slot = math.floor((p.t - item.window_start) / BIN_S)
                if slot == last_bin:
                    continue
                last_bin = slot
                hands = tuple((round(x, 3), round(y, 3), round(z, 3)) for x, y, z in p.hands)
                decimated.append((round(p.t, 4), round(p.x, 3), round(p.y, 3), hands))
            out.append(TrackTrace(history.track_id, visit_id, chosen, tuple(decimated)))
        return tuple(out)


# --- the wire message -------------------------------------------------------------------


def clip_event_id(receipt_id: str) -> str:
    """Stable id of a receipt's clip: one clip per receipt, a replay gives the same id."""
    return f"clip-{receipt_id}"


def _trace(out: events_pb2.WeightTrace, trace: Trace) -> None:
    out.t_s.extend(trace.t)
    out.grams.extend(trace.grams)


def clip_message(
    receipt: dict[str, Any], items: list[ClipItem], *, start_time_unix: float
) -> bytes:
    """The outbox payload: an EdgeEvent with an EvidenceClip body (sequence set by the journal)."""
    msg = events_pb2.EdgeEvent()
    header = msg.header
    header.event_id = clip_event_id(receipt["receipt_id"])
    header.store_id = receipt["store_id"]
    header.stream = STREAM
    header.sequence = 1  # replaced by the journal under its write lock
    header.event_time_unix_ns = round((start_time_unix + receipt["settled_t"]) * 1e9)
    header.monotonic_time_s = receipt["settled_t"]
    header.schema_version = 1
    body = msg.evidence_clip
    body.receipt_id = receipt["receipt_id"]
    body.visit_id = receipt["visit_id"]
    for item in items:
        out = body.items.add()
        out.shelf_event_id = item.shelf_event_id
        out.gondola, out.shelf = item.gondola, item.shelf
        out.reason = item.reason
        out.product_id = item.product_id
        out.quantity = item.quantity
        out.chosen_visit_id = item.chosen_visit or ""
        out.chosen_track_id = item.chosen_track
        out.t_start_s, out.t_end_s = round(item.t_start, 4), round(item.t_end, 4)
        out.window_start_s, out.window_end_s = item.window_start, item.window_end
        _trace(out.total, item.total)
        for plate in sorted(item.plate_traces):
            p = out.plates.add(plate=plate)
            _trace(p.trace, item.plate_traces[plate])
        for track in item.tracks:
            t = out.tracks.add(track_id=track.track_id, visit_id=track.visit_id or "")
            t.chosen = track.chosen
            for ts, x, y, hands in track.points:
                point = t.points.add(t_s=ts, x_m=x, y_m=y)
                for hx, hy, hz in hands:
                    point.hands.add(x_m=hx, y_m=hy, z_m=hz)
        (a_x, a_y), (b_x, b_y) = item.segment
        out.shelf_front_a.x_m, out.shelf_front_a.y_m = round(a_x, 3), round(a_y, 3)
        out.shelf_front_b.x_m, out.shelf_front_b.y_m = round(b_x, 3), round(b_y, 3)
    return msg.SerializeToString(deterministic=True)
