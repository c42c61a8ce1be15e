"""Recent history of every person track, and the geometric queries fusion asks of it.

Tracks arrive as frames (all people seen at time t). The store keeps a short window per track:
enough to look back over a shelf event's disturbance, bounded so a day of trading stays small.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TypeVar

HISTORY_S = 20.0


@dataclass(frozen=True, slots=True)
class TrackPoint:
    t: float
    x: float
    y: float
    hands: tuple[tuple[float, float, float], ...]


@dataclass
class TrackHistory:
    track_id: int
    first_t: float
    points: deque[TrackPoint] = field(default_factory=deque)
    ended_t: float | None = None

    @property
    def last(self) -> TrackPoint:
        return self.points[-1]

    def window(self, t0: float, t1: float) -> list[TrackPoint]:
        """Points with t0 <= t <= t1, oldest first. Walked from the newest end: windows asked
        for are recent, and a full scan of 20 s of history per call cost 8 % of a replay."""
        out = []
        for point in reversed(self.points):
            if point.t < t0:
                break
            if point.t <= t1:
                out.append(point)
        out.reverse()
        return out


class TrackStore:
    """All tracks seen recently. A track not reported for `end_after_s` is ended."""

    def __init__(self, end_after_s: float = 1.5):
        self.end_after_s = end_after_s
        self.tracks: dict[int, TrackHistory] = {}
        self.ended: deque[TrackHistory] = deque()

    def update(
        self,
        t: float,
        people: list[tuple[int, float, float, tuple[tuple[float, float, float], ...]]],
    ) -> tuple[list[TrackHistory], list[TrackHistory]]:
        """Add one frame. Returns (tracks born in this frame, tracks that ended)."""
        born = []
        seen = set()
        horizon = t - HISTORY_S
        for track_id, x, y, hands in people:
            seen.add(track_id)
            history = self.tracks.get(track_id)
            if history is None:
                history = TrackHistory(track_id, t)
                self.tracks[track_id] = history
                born.append(history)
            points = history.points
            points.append(TrackPoint(t, x, y, hands))
            while points and points[0].t < horizon:
                points.popleft()
        ended = []
        for track_id in sorted(self.tracks):
            history = self.tracks[track_id]
            if track_id not in seen and t - history.last.t > self.end_after_s:
                history.ended_t = history.last.t
                ended.append(history)
        for history in ended:
            del self.tracks[history.track_id]
            self.ended.append(history)
        while (
            self.ended
            and self.ended[0].ended_t is not None
            and self.ended[0].ended_t < t - HISTORY_S
        ):
            self.ended.popleft()
        return born, ended

    def exchange_since(self, a: int, b: int, t: float) -> bool:
        """From time `t` on, tracks `a` and `b` carry each other's points: an identity swap found
        late (edge/tracks/late_swaps.py). Only between two live tracks; returns whether done."""
        ha, hb = self.tracks.get(a), self.tracks.get(b)
        if ha is None or hb is None:
            return False
        ha.points, hb.points = exchange_tails(ha.points, hb.points, t, lambda p: p.t)
        return True

    def recent(self) -> list[TrackHistory]:
        """Live tracks and those ended within the history window, by track id."""
        return sorted([*self.tracks.values(), *self.ended], key=lambda h: h.track_id)


P = TypeVar("P")


def exchange_tails(
    a: Iterable[P], b: Iterable[P], t: float, time_of: Callable[[P], float]
) -> tuple[deque[P], deque[P]]:
    """Two time-ordered point sequences with their parts from `t` on exchanged."""
    a, b = list(a), list(b)
    return (
        deque([p for p in a if time_of(p) < t] + [p for p in b if time_of(p) >= t]),
        deque([p for p in b if time_of(p) < t] + [p for p in a if time_of(p) >= t]),
    )


def segment_distance(
    a: tuple[float, float], b: tuple[float, float]
) -> Callable[[float, float], float]:
    """``distance_to_segment(px, py, a, b)`` as a function of the point, with the segment's own
    terms worked out once: for loops over many points near one shelf front (fusion's scores).
    The same arithmetic in the same order, so the same floats."""
    ax, ay = a
    bx, by = b
    dx, dy = bx - ax, by - ay
    length2 = dx * dx + dy * dy
    hypot = math.hypot
    if length2 == 0:
        return lambda px, py: hypot(px - ax, py - ay)

    def distance(px: float, py: float) -> float:
        # max(0.0, min(1.0, f)) spelled out (the same result, NaN included: both give 1.0).
        f = ((px - ax) * dx + (py - ay) * dy) / length2
        f = f if f < 1.0 else 1.0
        f = f if f > 0.0 else 0.0
        return hypot(px - (ax + f * dx), py - (ay + f * dy))

    return distance


def distance_to_segment(
    px: float, py: float, a: tuple[float, float], b: tuple[float, float]
) -> float:
    """Distance from a point to a floor segment, metres."""
    ax, ay = a
    bx, by = b
    dx, dy = bx - ax, by - ay
    length2 = dx * dx + dy * dy
    if length2 == 0:
        return math.hypot(px - ax, py - ay)
    f = max(0.0, min(1.0, ((px - ax) * dx + (py - ay) * dy) / length2))
    return math.hypot(px - (ax + f * dx), py - (ay + f * dy))
