"""How well person tracks keep who is who: IDF1 and identity switches against the true positions.

Receipt F1 is the product's figure, but over the few dozen visits of a vision benchmark one
visit's cart moves it by a point or more, too coarse to rank tracker changes. IDF1 (Ristani et al.,
2016) counts every frame: each true person is paired with at most one track id for the whole
session (the pairing that maximises the frames they are within `radius` of each other), and
IDF1 = 2 IDTP / (true positions + track positions). An identity switch (CLEAR MOT) is a true
person whose per-frame matched track id changes. Counts, not ratios, so sessions add up
(`combine_identity`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

# One frame of people: (time, [(id, x, y), ...]).
Frame = tuple[float, Sequence[tuple[int, float, float]]]


@dataclass(frozen=True)
class IdentityCounts:
    """Frames summed over a session (or several)."""

    idtp: int
    """Track positions within the radius of the true person their id is paired with."""
    true_positions: int
    track_positions: int
    id_switches: int

    @property
    def idf1(self) -> float | None:
        n = self.true_positions + self.track_positions
        return 2 * self.idtp / n if n else None


def nearest_frame(times: np.ndarray, t: float, max_dt_s: float) -> int | None:
    """Index of the entry of `times` (sorted, non-empty) nearest to `t`, or None if it is
    further than `max_dt_s` away."""
    k = int(np.clip(np.searchsorted(times, t), 0, times.size - 1))
    if k > 0 and abs(times[k - 1] - t) < abs(times[k] - t):
        k -= 1
    return k if abs(times[k] - t) <= max_dt_s else None


def track_identity(
    truth: Iterable[Frame],
    tracks: Sequence[Frame],
    radius_m: float = 0.5,
    max_dt_s: float = 0.1,
) -> IdentityCounts:
    """IDF1 counts and identity switches of `tracks` against `truth` (both in time order).
    Each true frame is compared with the track frame nearest in time, if within `max_dt_s`."""
    times = np.array([t for t, _ in tracks], dtype=float)
    together: Counter[tuple[int, int]] = Counter()
    n_true = n_track = switches = 0
    last_id: dict[int, int] = {}
    if times.size == 0:  # no track at any time: every true position is missed
        return IdentityCounts(0, sum(len(people) for _, people in truth), 0, 0)
    for t, people in truth:
        k = nearest_frame(times, t, max_dt_s)
        if k is None:
            continue
        seen = tracks[k][1]
        n_true += len(people)
        n_track += len(seen)  # a track where nobody is counts against it too
        if not (people and seen):
            continue
        true_xy = np.array([[x, y] for _, x, y in people], dtype=float)
        track_xy = np.array([[x, y] for _, x, y in seen], dtype=float)
        gap = true_xy[:, None, :] - track_xy[None, :, :]
        d = np.hypot(gap[..., 0], gap[..., 1])
        close = d < radius_m
        for a, b in zip(*np.nonzero(close), strict=True):
            together[(people[a][0], seen[b][0])] += 1
        rows, cols = linear_sum_assignment(np.where(close, d, 1e6))
        for a, b in zip(rows.tolist(), cols.tolist(), strict=True):
            if not close[a, b]:
                continue
            who, tid = people[a][0], seen[b][0]
            if who in last_id and last_id[who] != tid:
                switches += 1
            last_id[who] = tid
    idtp = 0
    if together:
        true_row = {a: i for i, a in enumerate(sorted({a for a, _ in together}))}
        track_col = {b: j for j, b in enumerate(sorted({b for _, b in together}))}
        frames = np.zeros((len(true_row), len(track_col)))
        for (a, b), n in together.items():
            frames[true_row[a], track_col[b]] = n
        r, c = linear_sum_assignment(-frames)
        idtp = int(frames[r, c].sum())
    return IdentityCounts(idtp, n_true, n_track, switches)


def combine_identity(parts: Iterable[IdentityCounts]) -> IdentityCounts:
    """The counts of several sessions added up."""
    parts = list(parts)
    return IdentityCounts(
        sum(p.idtp for p in parts),
        sum(p.true_positions for p in parts),
        sum(p.track_positions for p in parts),
        sum(p.id_switches for p in parts),
    )
