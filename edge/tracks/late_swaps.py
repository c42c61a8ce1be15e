"""Late identity-swap check: a second look at every close encounter, a second after it.

`SwapRepair` (edge/tracks/swaps.py) decides on the very frame two tracks jump, from one position
each. When two shoppers pass within a few decimetres the exchange can be smaller than the
position noise on that frame: one track jumps, the other lands near its own prediction, and the
one-frame test cannot tell (busy store, seed 0: two shoppers crossing 0.35 m apart, 13 lines
then went to the wrong receipt). Relaxing that test pairs up noisy neighbours instead (frames on
the wrong person rose from 2.6 % to 6-12 %), so this check waits for more evidence: a second of
motion on each side of the encounter. A line fitted to each track before the encounter and one
fitted after it must join up, in position and in velocity. When the exchanged continuation joins
up much better than the kept one, the ids were swapped at the encounter and are exchanged back
from that moment on; the caller moves what was decided on the wrong track since then.

Pure and deterministic: it only looks at the (already relabelled) frames it is given, in order.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import numpy as np

from edge.tracks.store import exchange_tails

Point = tuple[float, float, float]  # (t, x, y)


@dataclass(frozen=True)
class LateSwapParams:
    # An encounter starts when two tracks come closer than this, having been further apart
    # than `release_m` (the simulator exchanges ids below 0.4 m true distance; noise adds some).
    encounter_m: float = 0.5
    release_m: float = 0.7
    before_s: float = 0.5  # motion fitted over this long before the exchange ...
    after_s: float = 0.5  # ... and this long after it
    # The exchange happens at one frame of the encounter, not always its first (noise brings
    # tracks within `encounter_m` early): every frame this long after its start is tried.
    search_s: float = 0.6
    min_points: int = 5  # per side and track, or no verdict
    # Joining a before-line to an after-line at the encounter: position error (the fitted lines
    # carry about 4 cm of error each) and velocity change (a shopper may stop or turn).
    position_sigma_m: float = 0.08
    velocity_sigma_mps: float = 0.35
    # Exchanged must explain the join this much better than kept (ratio of costs), and kept
    # must be implausible on its own (cost in squared sigmas).
    ratio: float = 0.3
    min_keep_cost: float = 25.0
    # ... and its position part alone (the kept ids jump 2 sigmas, about 0.16 m, in all), which
    # the exchange must explain better (busy store, seed 0, crossing: 10.8 kept, 5.4 exchanged).
    min_keep_position_cost: float = 4.0
    position_ratio: float = 1.0
    history_s: float = 3.0


@dataclass(frozen=True)
class LateSwap:
    """Output ids `a` and `b` were exchanged at `t` (the encounter); found at `found_t`."""

    t: float
    a: int
    b: int
    found_t: float
    keep_cost: float
    swap_cost: float


def fit_line(points: list[Point], t_ref: float) -> tuple[float, float, float, float] | None:
    """Least-squares constant-velocity fit: (x, y) at `t_ref` and (vx, vy)."""
    n = len(points)
    if n < 2:
        return None
    # Sums of lists rather than of generators: the same additions in the same order, faster.
    ts = [p[0] - t_ref for p in points]
    mt = sum(ts) / n
    dts = [t - mt for t in ts]
    var = sum([d**2 for d in dts])
    if var <= 0:
        return None
    mx = sum([p[1] for p in points]) / n
    my = sum([p[2] for p in points]) / n
    vx = sum([d * (p[1] - mx) for d, p in zip(dts, points, strict=True)]) / var
    vy = sum([d * (p[2] - my) for d, p in zip(dts, points, strict=True)]) / var
    return (mx - vx * mt, my - vy * mt, vx, vy)


class LateSwapCheck:
    """Finds identity swaps a second after the encounter where they happened."""

    def __init__(self, params: LateSwapParams = LateSwapParams()):
        self.params = params
        self.points: dict[int, deque[Point]] = {}
        self.close: set[tuple[int, int]] = set()  # pairs inside an encounter now
        self.pending: list[tuple[float, int, int]] = []  # (encounter t, a, b), a < b
        self.found: list[LateSwap] = []

    def observe(self, t: float, people: list[tuple[int, float, float]]) -> list[LateSwap]:
        """Add one frame of (output id, x, y); returns the swaps whose verdict came in now."""
        p = self.params
        for track_id, x, y in people:
            self.points.setdefault(track_id, deque()).append((t, x, y))
        self._encounters(t, people)
        found = []
        while self.pending and self.pending[0][0] <= t - p.after_s - p.search_s:
            t_c, a, b = self.pending.pop(0)
            swap = self._verdict(t, t_c, a, b)
            if swap is not None:
                found.append(swap)
        self._forget(t)
        return found

    def accept(self, swap: LateSwap) -> None:
        """The caller exchanged the two ids (it may decline, e.g. when a visit has settled):
        from the exchange on, each id carries the other's points here too."""
        self._exchange(swap.a, swap.b, swap.t)
        self.found.append(swap)

    def _encounters(self, t: float, people: list[tuple[int, float, float]]) -> None:
        p = self.params
        now_close: set[tuple[int, int]] = set()
        if len(people) >= 2:
            ordered = sorted(people)
            ids = [tid for tid, _, _ in ordered]
            xy = np.array([(x, y) for _, x, y in ordered])
            dist = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))
            # Only pairs within the release distance matter: vectorised, since a busy store has
            # hundreds of pairs per frame (a Python double loop cost a tenth of the replay).
            for i, j in zip(*np.nonzero(np.triu(dist <= p.release_m, k=1)), strict=True):
                pair = (ids[i], ids[j])
                if dist[i, j] < p.encounter_m:
                    now_close.add(pair)
                    if pair not in self.close:
                        self.pending.append((t, *pair))
                elif pair in self.close:
                    now_close.add(pair)  # still inside the same encounter
        self.close = now_close

    def _fit_at(
        self, track_id: int, t_c: float
    ) -> tuple[tuple[float, float, float, float], tuple[float, float, float, float]] | None:
        """Lines fitted to a track's motion before `t_c` and from `t_c` on (None: too few
        points on a side)."""
        p = self.params
        pts = self.points.get(track_id, deque())
        before = [q for q in pts if t_c - p.before_s <= q[0] < t_c]
        after = [q for q in pts if t_c <= q[0] <= t_c + p.after_s]
        if len(before) < p.min_points or len(after) < p.min_points:
            return None
        fb, fa = fit_line(before, t_c), fit_line(after, t_c)
        if fb is None or fa is None:
            return None
        return fb, fa

    def _join_cost(
        self, before: tuple[float, float, float, float], after: tuple[float, float, float, float]
    ) -> tuple[float, float]:
        """(position, velocity) cost of joining a line fitted before the exchange to one
        fitted after it, each in squared sigmas."""
        p = self.params
        dp = math.hypot(before[0] - after[0], before[1] - after[1]) / p.position_sigma_m
        dv = math.hypot(before[2] - after[2], before[3] - after[3]) / p.velocity_sigma_mps
        return dp * dp, dv * dv

    def _verdict(self, t: float, t_enc: float, a: int, b: int) -> LateSwap | None:
        """The most likely moment of exchange within the encounter's first `search_s`, if the
        exchange explains the motion clearly better there."""
        best: LateSwap | None = None
        pts = self.points.get(a, deque())
        for t_c in sorted({q[0] for q in pts if t_enc <= q[0] <= t_enc + self.params.search_s}):
            swap = self._verdict_at(t, t_c, a, b)
            if swap is not None and (best is None or swap.swap_cost < best.swap_cost):
                best = swap
        return best

    def _verdict_at(self, t: float, t_c: float, a: int, b: int) -> LateSwap | None:
        p = self.params
        fits_a, fits_b = self._fit_at(a, t_c), self._fit_at(b, t_c)
        if fits_a is None or fits_b is None:
            return None
        costs = [
            self._join_cost(fits_a[0], fits_a[1]),
            self._join_cost(fits_b[0], fits_b[1]),
            self._join_cost(fits_a[0], fits_b[1]),
            self._join_cost(fits_b[0], fits_a[1]),
        ]
        ka, kb, sa, sb = costs
        keep, swap = sum(ka) + sum(kb), sum(sa) + sum(sb)
        keep_position, swap_position = ka[0] + kb[0], sa[0] + sb[0]
        if keep < p.min_keep_cost or swap >= p.ratio * keep:
            return None
        # A change of direction alone is no swap: a shopper who walks up to another and turns
        # back (fidget, seed 1: to 9 cm, then back) fits "they exchanged ids and the other one
        # walked off" as well. Only a jump in position, which kept ids must explain and
        # exchanged ids explain away, tells an exchange.
        if (
            keep_position < p.min_keep_position_cost
            or swap_position >= p.position_ratio * keep_position
        ):
            return None
        return LateSwap(t_c, a, b, t, round(keep, 3), round(swap, 3))

    def _exchange(self, a: int, b: int, t_c: float) -> None:
        """From `t_c` on, each of the two ids carries the other's points."""
        self.points[a], self.points[b] = exchange_tails(
            self.points.get(a, ()), self.points.get(b, ()), t_c, lambda q: q[0]
        )
        # Encounters still pending between one of these and a third track were seen under the
        # old labels; they stay as they are (their own verdict comes in a moment).

    def _forget(self, t: float) -> None:
        horizon = t - self.params.history_s
        for track_id in list(self.points):
            pts = self.points[track_id]
            while pts and pts[0][0] < horizon:
                pts.popleft()
            if not pts:
                del self.points[track_id]
