"""Hand-overs between shoppers: two visits' hands meeting in mid-air, away from the shelves.

Weight sensors cannot see an item change hands; the person tracks can. When hands of two
different visits stay close together at waist-to-chest height, away from every gondola, for a few
frames, the item most recently taken by one of them moves to the other's cart.

Camera-derived tracks report every hand the cameras see, hanging ones too (recorded tracks
report reaching hands only, docs/track-noise.md). Two shoppers standing side by side at a shelf,
0.5 m apart, have their inner hands hanging 0.2-0.3 m apart at the hip, which looked like a
hand-over: on the simulator's true camera boxes (8 bench_vision sessions) 16 of the 22
hand-overs made were wrong, 12 of them between neighbours at a shelf who never passed anything.
Hanging hands sit at about 0.47 of the body height (0.8 m; two cameras put them at 0.75-0.9 m),
a hand-over happens in front of the chest (1.0 m in the simulator, 0.9-1.3 m in its recorded
tracks), hence `min_height_m`. A hand on the other shopper's side of the gap is not held out
to them (`own_side_m`, see `_held_out`).

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
from edge.tracks.store import TrackPoint, TrackStore, distance_to_segment
from edge.visits.manager import VisitManager


@dataclass(frozen=True)
class HandoffParams:
    hands_close_m: float = 0.3
    release_m: float = 0.6
    release_s: float = 2.0
    own_side_m: float = 0.25  # a hand held out is no nearer the other body than its own, +this
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

    def _passing(self, point: TrackPoint) -> list[tuple[float, float, float]]:
        """The hands of a track that could be passing something: in the height band and off the
        shelves (a property of the hand alone, so found once per frame)."""
        p = self.params
        return [
            h
            for h in point.hands
            if p.min_height_m <= h[2] <= p.max_height_m and not self._near_shelf(h[0], h[1])
        ]

    def _held_out(
        self, hands: list[tuple[float, float, float]], own: TrackPoint, other: TrackPoint
    ) -> list[tuple[float, float, float]]:
        """Those of `own`'s passing hands that are not nearer the other's body than their own
        by more than `own_side_m`. A hand well on the other's side is the camera tracker's
        mistake (a neighbour's hand given to the wrong body, or one hand seen twice by two
        cameras and given to both), not an arm held out across the gap. The slack is wide
        because a real hand-over meets in the middle, where the recorded tracks' hand noise puts
        either hand nearer the other body in some frames: at 0.05 m the handoff scenario's
        held-out F1 fell from 1.000 to 0.878 (seeds 3-5, recorded tracks)."""
        return [
            h
            for h in hands
            if math.dist(h[:2], (own.x, own.y))
            <= math.dist(h[:2], (other.x, other.y)) + self.params.own_side_m
        ]

    def update(
        self, t: float, tracks: TrackStore, visits: VisitManager
    ) -> list[tuple[tuple[int, int], float]]:
        """Pairs of tracks (of different visits) whose hands have just met long enough."""
        p = self.params
        live = [h for _, h in sorted(tracks.tracks.items()) if h.last.t == t and h.last.hands]
        passing = {h.track_id: self._passing(h.last) for h in live}
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
                hands_a = self._held_out(passing[a.track_id], a.last, b.last)
                hands_b = self._held_out(passing[b.track_id], b.last, a.last)
                d = min(
                    (math.dist(ha[:2], hb[:2]) for ha in hands_a for hb in hands_b),
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
