"""Hand-overs between shoppers: two visits' hands meeting in mid-air, away from the shelves.

Weight sensors cannot see an item change hands; the person tracks can. When hands of two
different visits stay close together at waist-to-chest height, away from every gondola, for a few
frames, the item most recently taken by one of them moves to the other's cart.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from edge.config.layout import StoreLayout, gondola_to_floor
from edge.tracks.store import TrackStore, distance_to_segment
from edge.visits.manager import VisitManager


@dataclass(frozen=True)
class HandoffParams:
    hands_close_m: float = 0.3
    release_m: float = 0.6
    min_height_m: float = 0.7
    max_height_m: float = 1.5
    shelf_clearance_m: float = 0.3  # hands this close to a gondola front are shopping, not passing
    min_frames: int = 3
    recent_pick_s: float = 60.0  # the item handed over was taken this recently


class HandoffDetector:
    def __init__(self, layout: StoreLayout, params: HandoffParams = HandoffParams()):
        self.params = params
        self.fronts = [
            (gondola_to_floor(g, 0.0, 0.0), gondola_to_floor(g, g.length_m, 0.0))
            for g in layout.config.gondolas
        ]
        self.counts: dict[tuple[int, int], int] = {}
        self.fired: set[tuple[int, int]] = set()

    def _near_shelf(self, x: float, y: float) -> bool:
        return any(
            distance_to_segment(x, y, a, b) < self.params.shelf_clearance_m for a, b in self.fronts
        )

    def update(
        self, t: float, tracks: TrackStore, visits: VisitManager
    ) -> list[tuple[tuple[int, int], float]]:
        """Pairs of tracks (of different visits) whose hands have just met long enough."""
        p = self.params
        live = [h for _, h in sorted(tracks.tracks.items()) if h.last.t == t and h.last.hands]
        met: list[tuple[tuple[int, int], float]] = []
        seen = set()
        for i, a in enumerate(live):
            va = visits.visit_of_track(a.track_id)
            if va is None:
                continue
            for b in live[i + 1 :]:
                vb = visits.visit_of_track(b.track_id)
                if vb is None or vb.visit_id == va.visit_id:
                    continue
                d = min(
                    (
                        math.dist(ha[:2], hb[:2])
                        for ha in a.last.hands
                        for hb in b.last.hands
                        if p.min_height_m <= ha[2] <= p.max_height_m
                        and p.min_height_m <= hb[2] <= p.max_height_m
                        and not self._near_shelf(ha[0], ha[1])
                        and not self._near_shelf(hb[0], hb[1])
                    ),
                    default=math.inf,
                )
                key = (a.track_id, b.track_id)
                if d <= p.hands_close_m:
                    seen.add(key)
                    self.counts[key] = self.counts.get(key, 0) + 1
                    if self.counts[key] >= p.min_frames and key not in self.fired:
                        self.fired.add(key)
                        met.append((key, d))
                elif d > p.release_m:
                    self.fired.discard(key)
        for key in list(self.counts):
            if key not in seen:
                del self.counts[key]
        return met
