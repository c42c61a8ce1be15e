"""The multi-object tracker: Kalman prediction, staged Hungarian association, track life cycle.

One call of `Tracker.step(detections, scores)` is one frame. It is a pure function of the
sequence of calls (no clocks, no randomness): the same detections give the same ids. Every
duration is counted in frames. Design and parameter choices: docs/tracker.md.

Per frame:

1. Predict every track one frame ahead (constant velocity; size rates held while unseen).
2. Stage 1: confirmed tracks against high-score detections, similarity (IoU or distance) plus
   OC-SORT's velocity-direction consistency term; Hungarian assignment with a similarity gate.
3. Stage 2 (ByteTrack): confirmed tracks seen in the previous frame and still unmatched against
   the low-score detections, with a stricter gate (a low score is only trusted where the track
   already is).
4. Stage 3 (OC-SORT's observation-centric recovery): still-unmatched confirmed tracks, compared
   by their last observed position instead of the drifting prediction, against what is left of
   the high-score detections.
5. Stage 4: tentative tracks against what is left of the high-score detections.
6. Matched tracks are updated. A track that comes back after a gap is re-updated along a virtual
   straight path from its last observation (OC-SORT's observation-centric re-update), so the
   velocity the filter invented during the gap does not carry on.
7. Leftover detections scoring at least `birth_score` start tentative tracks; a tentative track
   is confirmed (and gets its id) after `min_hits` consecutive hits; a confirmed track dies after
   `max_age` frames unseen.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment

from edge.tracking.kalman import BatchKalman
from edge.tracking.spaces import BoxSpace, Space


@dataclass(frozen=True)
class TrackerConfig:
    """Association thresholds (similarity in [0, 1]) and life-cycle lengths (frames)."""

    high_score: float = 0.6
    """Detections at or above this score take part in stage 1 and may start tracks."""
    low_score: float = 0.1
    """Detections below this score are ignored; between low and high they only feed stage 2."""
    birth_score: float = 0.6
    """A leftover detection starts a tentative track only at or above this score."""
    match_sim: float = 0.3
    """Stage 1, 3 and 4 gate: the smallest similarity (IoU) that may be a match."""
    lost_match_sim: float = 0.6
    """Stage 1 gate for tracks unseen in the previous frame (their prediction is less sure)."""
    low_match_sim: float = 0.5
    """Stage 2 gate for low-score detections."""
    min_hits: int = 3
    """Consecutive matched frames before a tentative track is confirmed and reported."""
    max_age: int = 15
    """Frames a confirmed track survives unseen before it is deleted."""
    tentative_max_age: int = 0
    """Frames a tentative track survives unseen (0: deleted on its first miss)."""
    direction_weight: float = 0.2
    """Weight of the velocity-direction consistency term (OC-SORT; 0 turns it off)."""
    delta_t: int = 3
    """Frames between the two observations that define a track's direction of motion."""
    recovery: bool = False
    """Stage 3: match unmatched tracks by their last observation."""
    re_update: bool = True
    """Re-update the filter along a virtual path after a gap."""
    report_filtered: bool = True
    """Report the filter's posterior instead of the matched detection itself."""
    report_unseen: int = 0
    """Also report confirmed tracks unseen for up to this many frames, at their prediction."""


@dataclass(frozen=True)
class FrameTracks:
    """The confirmed tracks seen in one frame."""

    ids: np.ndarray
    """(K,) int track ids, >= 1."""
    positions: np.ndarray
    """(K, 4) corner boxes (BoxSpace) or (K, 2) floor points (PointSpace)."""
    detection_index: np.ndarray
    """(K,) index of the detection each track was matched to in this frame's input."""


def _assign(sim: np.ndarray, gate: np.ndarray) -> list[tuple[int, int]]:
    """Maximum-similarity assignment among the pairs allowed by `gate` (Hungarian)."""
    if sim.size == 0 or not gate.any():
        return []
    rows_ok = gate.sum(1)
    cols_ok = gate.sum(0)
    if rows_ok.max() == 1 and cols_ok.max() == 1:  # no conflicts: the gate already decides
        r, c = np.nonzero(gate)
        return list(zip(r.tolist(), c.tolist(), strict=True))
    cost = np.where(gate, -sim, 0.0)
    r, c = linear_sum_assignment(cost)
    ok = gate[r, c]
    return list(zip(r[ok].tolist(), c[ok].tolist(), strict=True))


@dataclass
class _History:
    """Recent observations of one track (frame -> measurement), for direction and re-update."""

    obs: dict[int, np.ndarray] = field(default_factory=dict)


class Tracker:
    """Online multi-object tracker in one coordinate space (image boxes or floor points)."""

    def __init__(self, config: TrackerConfig | None = None, space: Space | None = None) -> None:
        self.config = config or TrackerConfig()
        self.space: Space = space or BoxSpace()
        m = self.space.dim
        self.kf = BatchKalman(m, self.space.noise)
        self.frame = 0
        self._next_id = 1
        self.ids = np.zeros(0, dtype=np.int64)  # 0 while tentative
        self.streak = np.zeros(0, dtype=np.int64)
        self.miss = np.zeros(0, dtype=np.int64)
        self.last_z = np.zeros((0, m))
        self.last_frame = np.zeros(0, dtype=np.int64)
        self.direction = np.zeros((0, 2))  # unit direction of motion, 0 when unknown
        self.x_obs = np.zeros((0, 2 * m))  # filter state right after the last update
        self.P_obs = np.zeros((0, 2 * m, 2 * m))
        self.hist: list[_History] = []

    def __len__(self) -> int:
        return self.ids.shape[0]

    # ------------------------------------------------------------------ per frame

    def step(self, detections: np.ndarray, scores: Sequence[float] | np.ndarray) -> FrameTracks:
        """Advance one frame with this frame's detections and return the confirmed tracks seen.

        `detections` is (N, 4) corner boxes for BoxSpace or (N, 2) points for PointSpace;
        `scores` (N,) detection confidences.
        """
        cfg = self.config
        self.frame += 1
        z = self.space.measure(detections)
        scores = np.asarray(scores, dtype=np.float64).reshape(-1)
        if scores.shape[0] != z.shape[0]:
            raise ValueError(f"{z.shape[0]} detections but {scores.shape[0]} scores")
        self._predict()

        n_tracks = len(self)
        confirmed = self.ids > 0
        high = np.nonzero(scores >= cfg.high_score)[0]
        low = np.nonzero((scores >= cfg.low_score) & (scores < cfg.high_score))[0]
        det_free = np.ones(z.shape[0], dtype=bool)
        track_of_det = np.full(z.shape[0], -1, dtype=np.int64)
        matched = np.zeros(n_tracks, dtype=bool)
        pred = self.kf.x[:, : self.space.dim]

        def commit(pairs: list[tuple[int, int]], t_idx: np.ndarray, d_idx: np.ndarray) -> None:
            for r, c in pairs:
                t, d = int(t_idx[r]), int(d_idx[c])
                matched[t] = True
                det_free[d] = False
                track_of_det[d] = t

        # Stage 1: confirmed tracks x high detections, similarity + direction consistency.
        t1 = np.nonzero(confirmed)[0]
        if t1.size and high.size:
            sim = self.space.similarity(pred[t1], z[high])
            score = sim + self._direction_term(t1, z[high], scores[high])
            gate = sim >= np.where(self.miss[t1] > 1, cfg.lost_match_sim, cfg.match_sim)[:, None]
            commit(_assign(score, gate), t1, high)

        # Stage 2: tracks seen last frame x low detections.
        t2 = np.nonzero(confirmed & ~matched & (self.miss == 1))[0]
        if t2.size and low.size:
            sim = self.space.similarity(pred[t2], z[low])
            commit(_assign(sim, sim >= cfg.low_match_sim), t2, low)

        # Stage 3: recovery by last observation.
        if cfg.recovery:
            t3 = np.nonzero(confirmed & ~matched)[0]
            d3 = high[det_free[high]]
            if t3.size and d3.size:
                sim = self.space.similarity(self.last_z[t3], z[d3])
                commit(_assign(sim, sim >= cfg.match_sim), t3, d3)

        # Stage 4: tentative tracks x remaining high detections.
        t4 = np.nonzero(~confirmed & ~matched)[0]
        d4 = high[det_free[high]]
        if t4.size and d4.size:
            sim = self.space.similarity(pred[t4], z[d4])
            commit(_assign(sim, sim >= cfg.match_sim), t4, d4)

        self._update(track_of_det, z)

        # Births.
        born = np.nonzero(det_free & (scores >= cfg.birth_score) & (scores >= cfg.high_score))[0]
        if born.size:
            self._birth(z[born])
            track_of_det[born] = np.arange(n_tracks, n_tracks + born.size)

        self._confirm()
        out = self._report(track_of_det, z)
        self._prune()
        return out

    # ------------------------------------------------------------------ pieces

    def _predict(self) -> None:
        if not len(self):
            return
        held = self.space.held_rates
        if held:
            lost = np.nonzero(self.miss > 0)[0]
            if lost.size:
                m = self.space.dim
                cols = m + np.asarray(held, dtype=np.int64)
                self.kf.x[np.ix_(lost, cols)] = 0.0
        self.kf.predict()
        self.miss += 1

    def _direction_term(self, tracks: np.ndarray, zd: np.ndarray, sd: np.ndarray) -> np.ndarray:
        """OC-SORT's velocity-direction consistency: + when a detection lies along the track's
        direction of motion, - when against it; (T, D), scaled by the detection score."""
        w = self.config.direction_weight
        if w == 0.0:
            return np.zeros((tracks.size, zd.shape[0]))
        dirs = self.direction[tracks]
        valid = np.any(dirs != 0.0, axis=1)
        if not valid.any():
            return np.zeros((tracks.size, zd.shape[0]))
        prev = np.stack([self._previous_obs(int(t)) for t in tracks])[:, :2]
        dx = zd[None, :, 0] - prev[:, None, 0]
        dy = zd[None, :, 1] - prev[:, None, 1]
        norm = np.hypot(dx, dy) + 1e-6
        cos = (dirs[:, None, 0] * dx + dirs[:, None, 1] * dy) / norm
        angle = np.arccos(np.clip(cos, -1.0, 1.0))
        term = (np.pi / 2 - np.abs(angle)) / np.pi
        return w * term * valid[:, None] * sd[None, :]

    def _previous_obs(self, t: int) -> np.ndarray:
        """The observation about `delta_t` frames back (else the latest one)."""
        obs = self.hist[t].obs
        for dt in range(self.config.delta_t, 0, -1):
            got = obs.get(self.frame - dt)
            if got is not None:
                return got
        return self.last_z[t]

    def _update(self, track_of_det: np.ndarray, z: np.ndarray) -> None:
        dets = np.nonzero(track_of_det >= 0)[0]
        if not dets.size:
            self.streak[self.miss > 0] = 0
            return
        tracks = track_of_det[dets]
        gap = self.frame - self.last_frame[tracks]
        normal = gap <= 1
        if not self.config.re_update:
            normal[:] = True
        self.kf.update(tracks[normal], z[dets[normal]])
        for t, d in zip(tracks[~normal].tolist(), dets[~normal].tolist(), strict=True):
            self._re_update(t, z[d], self.frame - int(self.last_frame[t]))
        for t, d in zip(tracks.tolist(), dets.tolist(), strict=True):
            self._observe(t, z[d])
        self.miss[tracks] = 0
        self.streak[tracks] += 1
        self.streak[self.miss > 0] = 0
        self.x_obs[tracks] = self.kf.x[tracks]
        self.P_obs[tracks] = self.kf.P[tracks]

    def _re_update(self, t: int, z: np.ndarray, gap: int) -> None:
        """Replay the gap from the last observation along a straight virtual path to z."""
        one = BatchKalman(self.space.dim, self.space.noise)
        one.x, one.P = self.x_obs[t : t + 1].copy(), self.P_obs[t : t + 1].copy()
        start = self.last_z[t]
        rows = np.zeros(1, dtype=np.int64)
        for k in range(1, gap + 1):
            one.predict()
            virtual = start + (z - start) * (k / gap)
            one.update(rows, virtual[None, :])
        self.kf.x[t], self.kf.P[t] = one.x[0], one.P[0]

    def _observe(self, t: int, z: np.ndarray) -> None:
        """Record an observation and refresh the track's direction of motion."""
        prev = self._previous_obs(t)
        d = z[:2] - prev[:2]
        n = float(np.hypot(d[0], d[1]))
        if n > 1e-6:
            self.direction[t] = d / n
        h = self.hist[t].obs
        h[self.frame] = z
        oldest = self.frame - self.config.delta_t
        for f in [f for f in h if f < oldest]:
            del h[f]
        self.last_z[t] = z
        self.last_frame[t] = self.frame

    def _birth(self, z: np.ndarray) -> None:
        k = z.shape[0]
        self.kf.add(z)
        self.ids = np.concatenate([self.ids, np.zeros(k, dtype=np.int64)])
        self.streak = np.concatenate([self.streak, np.ones(k, dtype=np.int64)])
        self.miss = np.concatenate([self.miss, np.zeros(k, dtype=np.int64)])
        self.last_z = np.concatenate([self.last_z, z])
        self.last_frame = np.concatenate([self.last_frame, np.full(k, self.frame)])
        self.direction = np.concatenate([self.direction, np.zeros((k, 2))])
        self.x_obs = np.concatenate([self.x_obs, self.kf.x[-k:]])
        self.P_obs = np.concatenate([self.P_obs, self.kf.P[-k:]])
        self.hist.extend(_History({self.frame: row}) for row in z)

    def _confirm(self) -> None:
        new = np.nonzero((self.ids == 0) & (self.streak >= self.config.min_hits))[0]
        for t in new.tolist():
            self.ids[t] = self._next_id
            self._next_id += 1

    def _report(self, track_of_det: np.ndarray, z: np.ndarray) -> FrameTracks:
        dets = np.nonzero(track_of_det >= 0)[0]
        tracks = track_of_det[dets]
        ok = self.ids[tracks] > 0
        dets, tracks = dets[ok], tracks[ok]
        order = np.argsort(self.ids[tracks], kind="stable")
        dets, tracks = dets[order], tracks[order]
        src = self.kf.x[tracks, : self.space.dim] if self.config.report_filtered else z[dets]
        if self.config.report_unseen > 0:
            unseen = np.nonzero(
                (self.ids > 0) & (self.miss >= 1) & (self.miss <= self.config.report_unseen)
            )[0]
            tracks = np.concatenate([tracks, unseen])
            dets = np.concatenate([dets, np.full(unseen.size, -1, dtype=np.int64)])
            src = np.concatenate([src, self.kf.x[unseen, : self.space.dim]])
            order = np.argsort(self.ids[tracks], kind="stable")
            tracks, dets, src = tracks[order], dets[order], src[order]
        return FrameTracks(self.ids[tracks].copy(), self.space.to_output(src), dets)

    def _prune(self) -> None:
        cfg = self.config
        alive = np.where(self.ids > 0, self.miss <= cfg.max_age, self.miss <= cfg.tentative_max_age)
        if alive.all():
            return
        self.kf.keep(alive)
        for name in (
            "ids",
            "streak",
            "miss",
            "last_z",
            "last_frame",
            "direction",
            "x_obs",
            "P_obs",
        ):
            setattr(self, name, getattr(self, name)[alive])
        self.hist = [h for h, a in zip(self.hist, alive.tolist(), strict=True) if a]
