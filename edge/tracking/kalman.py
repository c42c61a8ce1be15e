"""A constant-velocity Kalman filter run on all tracks at once (vectorised over tracks).

The model is the textbook one that filterpy's `KalmanFilter` runs per track: state
`[z_1..z_m, dz_1..dz_m]` (each measured component and its rate per frame), transition
`x' = x + v` per frame, measurement `z = H x` with `H = [I 0]`. Process and measurement noise are
diagonal and may scale with the object's size (boxes: BoT-SORT's choice, a standard deviation of
1/20 of the width or height for positions, 1/160 for rates), so one set of numbers fits a 40 px
pedestrian far away and a 400 px one close by.

Why not one filterpy object per track: at ten tracks a frame the Python overhead of 20 small
`predict`/`update` calls dominates the tracker's time; the batched version does the same arithmetic
in a handful of numpy calls (tests/test_tracker.py checks it against filterpy step by step).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class NoiseModel:
    """Standard deviations (per frame) of the CV model, as `base + scale * size`.

    `size_index[i]` names the measured component whose value is the size that scales component i
    (boxes `[cx, cy, w, h]`: w scales cx and w, h scales cy and h); -1 means no scaling (points in
    metres use fixed noise).
    """

    pos_base: float
    pos_scale: float
    vel_base: float
    vel_scale: float
    meas_base: float
    meas_scale: float
    size_index: tuple[int, ...]

    def sizes(self, z: np.ndarray) -> np.ndarray:
        """Per-component size (N, m) taken from measurements or state positions (N, >=m)."""
        idx = np.asarray(self.size_index)
        out = np.zeros((z.shape[0], idx.size))
        scaled = idx >= 0
        if scaled.any():
            out[:, scaled] = np.abs(z[:, idx[scaled]])
        return out


BOX_NOISE = NoiseModel(
    pos_base=0.0,
    pos_scale=1 / 20,
    vel_base=0.0,
    vel_scale=1 / 160,
    meas_base=0.0,
    meas_scale=1 / 20,
    size_index=(2, 3, 2, 3),
)


def point_noise(pos_std_m: float, vel_std_m: float, meas_std_m: float) -> NoiseModel:
    """Fixed noise for floor points `[x, y]` in metres (a person's size does not change)."""
    return NoiseModel(pos_std_m, 0.0, vel_std_m, 0.0, meas_std_m, 0.0, (-1, -1))


class BatchKalman:
    """States `x` (N, 2m) and covariances `P` (N, 2m, 2m) of N tracks, one row per track."""

    def __init__(self, dim_z: int, noise: NoiseModel) -> None:
        self.m = dim_z
        self.noise = noise
        n = 2 * dim_z
        self.F = np.eye(n)
        self.F[:dim_z, dim_z:] = np.eye(dim_z)
        self.x = np.zeros((0, n))
        self.P = np.zeros((0, n, n))

    def __len__(self) -> int:
        return self.x.shape[0]

    def initial(self, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """State and covariance of new tracks from first measurements z (K, m); rates 0."""
        k, m = z.shape
        x = np.zeros((k, 2 * m))
        x[:, :m] = z
        size = self.noise.sizes(z)
        # Position as uncertain as two measurements, rates very uncertain (ByteTrack's start).
        pos = 2 * (self.noise.pos_base + self.noise.pos_scale * size)
        vel = 10 * (self.noise.vel_base + self.noise.vel_scale * size)
        var = np.concatenate([pos, vel], axis=1) ** 2
        P = np.zeros((k, 2 * m, 2 * m))
        idx = np.arange(2 * m)
        P[:, idx, idx] = var
        return x, P

    def add(self, z: np.ndarray) -> None:
        """Append tracks started from measurements z (K, m)."""
        x, P = self.initial(z)
        self.x = np.concatenate([self.x, x])
        self.P = np.concatenate([self.P, P])

    def keep(self, mask: np.ndarray) -> None:
        """Drop the rows where mask is False (dead tracks)."""
        self.x = self.x[mask]
        self.P = self.P[mask]

    def process_var(self, x: np.ndarray) -> np.ndarray:
        """Diagonal of Q (N, 2m) for states x."""
        size = self.noise.sizes(x)
        pos = self.noise.pos_base + self.noise.pos_scale * size
        vel = self.noise.vel_base + self.noise.vel_scale * size
        return np.concatenate([pos, vel], axis=1) ** 2

    def meas_var(self, x: np.ndarray) -> np.ndarray:
        """Diagonal of R (N, m) for states x."""
        return (self.noise.meas_base + self.noise.meas_scale * self.noise.sizes(x)) ** 2

    def predict(self, rows: np.ndarray | None = None) -> None:
        """One frame ahead for all tracks (or the given rows): x = F x, P = F P F' + Q."""
        sel = slice(None) if rows is None else rows
        x, P = self.x[sel], self.P[sel]
        if x.shape[0] == 0:
            return
        m = self.m
        q = self.process_var(x)
        x = x.copy()
        x[:, :m] += x[:, m:]
        # F P F' with F = [[I, I], [0, I]] written out blockwise: cheaper than two batched matmuls.
        a, b = P[:, :m, :m], P[:, :m, m:]
        c, d = P[:, m:, :m], P[:, m:, m:]
        P = np.concatenate(
            [np.concatenate([a + b + c + d, b + d], axis=2), np.concatenate([c + d, d], axis=2)],
            axis=1,
        )
        idx = np.arange(2 * m)
        P[:, idx, idx] += q
        self.x[sel], self.P[sel] = x, P

    def update(self, rows: np.ndarray, z: np.ndarray) -> None:
        """Measurement update of the given rows with z (K, m)."""
        if len(rows) == 0:
            return
        m = self.m
        x, P = self.x[rows], self.P[rows]
        r = self.meas_var(x)
        S = P[:, :m, :m].copy()
        idx = np.arange(m)
        S[:, idx, idx] += r
        PHt = P[:, :, :m]  # P H' (N, 2m, m)
        # K = P H' S^-1, solved rather than inverted; S is symmetric so K' = S^-1 H P.
        K = np.linalg.solve(S, PHt.transpose(0, 2, 1)).transpose(0, 2, 1)
        y = z - x[:, :m]
        x = x + np.einsum("nij,nj->ni", K, y)
        P = P - K @ P[:, :m, :]
        self.x[rows], self.P[rows] = x, P
