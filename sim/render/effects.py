"""What a real camera does to the clean render: lighting, motion blur, sensor noise, JPEG.

Every effect is a pure function of its inputs and a seeded generator, so the same seed gives the
same pixels. Order, as in a camera: scene light (gain per channel) -> motion blur during the
exposure -> sensor noise -> compression (the MJPG writer, or `jpeg` for single frames).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

NOISE_BANK = 8  # noise frames precomputed per camera; one is picked at random per frame


@dataclass(frozen=True)
class LightingSpec:
    """How the light changes over a session (per camera: its own phase and steps)."""

    drift: float = 0.08  # amplitude of the slow gain drift (fraction)
    drift_period_s: float = 90.0
    steps_per_min: float = 0.4  # occasional steps (a light switched, a door opened)
    step_size: float = 0.18  # a step multiplies the gain by 1 +- up to this
    step_hold_s: tuple[float, float] = (5.0, 40.0)  # how long a step lasts


class Lighting:
    """Gain per BGR channel at time t for one camera; deterministic from (seed, camera index)."""

    def __init__(self, spec: LightingSpec, seed: int, camera_index: int, duration_s: float):
        rng = np.random.default_rng([seed, 61, camera_index])
        self.spec = spec
        self.phase = float(rng.uniform(0, 2 * math.pi))
        self.tint = 1.0 + rng.uniform(-0.04, 0.04, size=3)
        self.steps: list[tuple[float, float, float]] = []  # (start, end, factor)
        rate = spec.steps_per_min / 60.0
        t = float(rng.exponential(1 / rate)) if rate > 0 else math.inf
        while t < duration_s:
            hold = float(rng.uniform(*spec.step_hold_s))
            factor = 1.0 + float(rng.uniform(-spec.step_size, spec.step_size))
            self.steps.append((t, t + hold, factor))
            t += hold + float(rng.exponential(1 / rate))

    def gain(self, t: float) -> np.ndarray:
        s = self.spec
        g = 1.0 + s.drift * math.sin(2 * math.pi * t / s.drift_period_s + self.phase)
        for start, end, factor in self.steps:
            if start <= t < end:
                g *= factor
        return g * self.tint


def apply_gain(image: np.ndarray, gain: np.ndarray) -> np.ndarray:
    """Multiply each channel by its gain, saturating at 255."""
    if np.allclose(gain, 1.0):
        return image
    lut = np.clip(np.arange(256)[:, None] * np.asarray(gain)[None, :], 0, 255).astype(np.uint8)
    out = np.empty_like(image)
    for c in range(3):
        out[..., c] = cv2.LUT(image[..., c], lut[:, c])
    return out


def motion_blur(
    image: np.ndarray,
    regions: list[tuple[tuple[int, int, int, int], tuple[float, float]]],
    mask: np.ndarray,
) -> np.ndarray:
    """Smear each region along its pixel shift (the motion during the exposure), in place on a
    copy; only pixels near the moving person (mask, dilated by the shift) change."""
    if not regions:
        return image
    out = image.copy()
    for (x0, y0, x1, y1), (dx, dy) in regions:
        length = math.hypot(dx, dy)
        n = math.ceil(length) | 1
        kernel = np.zeros((n, n), np.float32)
        c = n // 2
        ux, uy = dx / length, dy / length
        for i in range(n):
            f = i - c
            kernel[round(c + f * uy), round(c + f * ux)] += 1.0
        kernel /= kernel.sum()
        pad = c + 1
        X0, Y0 = max(x0 - pad, 0), max(y0 - pad, 0)
        X1, Y1 = min(x1 + pad, image.shape[1] - 1), min(y1 + pad, image.shape[0] - 1)
        crop = image[Y0 : Y1 + 1, X0 : X1 + 1]
        blurred = cv2.filter2D(crop, -1, kernel, borderType=cv2.BORDER_REPLICATE)
        near = cv2.dilate(
            mask[Y0 : Y1 + 1, X0 : X1 + 1].astype(np.uint8), np.ones((n, n), np.uint8)
        )
        sel = near > 0
        out[Y0 : Y1 + 1, X0 : X1 + 1][sel] = blurred[sel]
    return out


class NoiseBank:
    """Precomputed Gaussian sensor noise (as +/- uint8 parts, for saturating adds)."""

    def __init__(self, shape: tuple[int, int], sigma: float, seed: int | tuple[int, ...]):
        key = list(seed) if isinstance(seed, tuple) else [seed]
        rng = np.random.default_rng([*key, 71])
        self.sigma = sigma
        self.pos: list[np.ndarray] = []
        self.neg: list[np.ndarray] = []
        for _ in range(NOISE_BANK):
            n = np.round(rng.normal(0.0, sigma, size=(*shape, 3))).astype(np.int16)
            self.pos.append(np.clip(n, 0, 255).astype(np.uint8))
            self.neg.append(np.clip(-n, 0, 255).astype(np.uint8))

    def apply(self, image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        if self.sigma <= 0:
            return image
        k = int(rng.integers(NOISE_BANK))
        return cv2.subtract(cv2.add(image, self.pos[k]), self.neg[k])


def jpeg(image: np.ndarray, quality: int) -> np.ndarray:
    """Round-trip through JPEG at `quality` (1-100): the blocking and ringing of MJPG cameras."""
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    return cv2.imdecode(buf, cv2.IMREAD_COLOR)
