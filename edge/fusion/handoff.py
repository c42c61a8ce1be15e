"""Hand-overs between shoppers: two visits' hands meeting in mid-air, away from the shelves.

Weight sensors cannot see an item change hands; the person tracks can. When hands of two
different visits stay close together at waist-to-chest height, away from every gondola, for a few
frames, the item most recently taken by one of them moves to the other's cart.

Camera-derived tracks report every hand the cameras see, hanging ones too (recorded tracks
report reaching hands only, docs/track-noise.md). Two shoppers standing side by side at a shelf,
0.5 m apart, have their inner hands hanging 0.2-0.3 m apart at the hip, which looked like a
hand-over: on the simulator's true camera boxes (8 bench_vision sessions) 16 of the 22
hand-overs made were wrong, 12 of them between neighbours at a shelf who never passed anything. Hanging hands sit at about 0.47 of
the body height (0.8 m; two cameras put them at 0.75-0.9 m), a hand-over happens in front of the
chest (1.0 m in the simulator, 0.9-1.3 m in its recorded tracks), hence `min_height_m`.
A pair that fired is armed again only after its hands were seen apart (`release_m`) or not close
for `release_s`. The two meeting hands often become one camera detection that only one of the
two tracks gets, the other keeping just a hand hanging below `min_height_m`: taking that for a
parting fired the same hand-over again when both hands were seen once more, and moved the item
back.
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
    release_s: float = 2.0
    min_height_m: float = 0.9  # above a hanging hand (0.8 m), below a hand held out (1.0 m)
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
        self.fired: dict[tuple[int, int], float] = {}  # pair -> when its hands were last close

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
                    if key in self.fired:
                        self.fired[key] = t
                    elif self.counts[key] >= p.min_frames:
                        self.fired[key] = t
                        met.append((key, d))
                elif math.isfinite(d) and d > p.release_m:
                    self.fired.pop(key, None)
        for key in list(self.counts):
            if key not in seen:
                del self.counts[key]
        for key, last in list(self.fired.items()):
            if t - last > p.release_s:
                del self.fired[key]
        return met
