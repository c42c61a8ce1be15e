"""OpenCV's five-coefficient lens model, inverted exactly (numpy; no image I/O)."""

from __future__ import annotations

import cv2
import numpy as np

__all__ = ["distort", "undistort_exact"]


def distort(xy: np.ndarray, dist: np.ndarray) -> np.ndarray:
    """OpenCV's 5-coefficient distortion of normalised points (N, 2)."""
    d = np.zeros(5)
    d[: min(5, dist.size)] = dist.ravel()[:5]
    k1, k2, p1, p2, k3 = d
    x, y = xy[:, 0], xy[:, 1]
    r2 = x * x + y * y
    radial = 1 + r2 * (k1 + r2 * (k2 + r2 * k3))
    xd = x * radial + 2 * p1 * x * y + p2 * (r2 + 2 * x * x)
    yd = y * radial + p1 * (r2 + 2 * y * y) + 2 * p2 * x * y
    return np.column_stack([xd, yd])


def undistort_exact(
    pixels: np.ndarray, camera_matrix: np.ndarray, dist: np.ndarray, iterations: int = 6
) -> np.ndarray:
    """Normalised ray coordinates (N, 2) of distorted pixels (N, 2), refined by Newton steps.

    `cv2.undistortPoints` stops after a few fixed-point iterations, which leaves errors of a
    tenth of a pixel and more in the corners of a strongly distorted lens; the Newton steps
    bring the reprojection error down to numerical precision wherever the model is invertible.
    """
    px = np.asarray(pixels, dtype=np.float64).reshape(-1, 2)
    k = np.asarray(camera_matrix, dtype=np.float64)
    xy = cv2.undistortPoints(px.reshape(-1, 1, 2), k, dist).reshape(-1, 2)
    target = np.column_stack([(px[:, 0] - k[0, 2]) / k[0, 0], (px[:, 1] - k[1, 2]) / k[1, 1]])
    # Skew-free camera matrices only (OpenCV's calibrateCamera never estimates skew).
    ex = np.array([1e-7, 0.0])
    ey = np.array([0.0, 1e-7])
    for _ in range(iterations):
        f = distort(xy, dist) - target
        jx = (distort(xy + ex, dist) - distort(xy - ex, dist)) / (2 * ex[0])
        jy = (distort(xy + ey, dist) - distort(xy - ey, dist)) / (2 * ey[1])
        det = jx[:, 0] * jy[:, 1] - jy[:, 0] * jx[:, 1]
        with np.errstate(divide="ignore", invalid="ignore"):
            dx = (f[:, 0] * jy[:, 1] - jy[:, 0] * f[:, 1]) / det
            dy = (jx[:, 0] * f[:, 1] - f[:, 0] * jx[:, 1]) / det
        xy = xy - np.column_stack([dx, dy])
    return xy
