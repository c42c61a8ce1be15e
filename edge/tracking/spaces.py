"""What the tracker tracks: boxes in image pixels or points on the floor in metres.

A space turns raw detections into the Kalman measurement vector, scores how well predicted
tracks and detections overlap (a similarity in [0, 1], 1 = identical), and says which state rates
to hold still while a track is unseen. The tracker itself never looks inside a measurement.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from edge.tracking.geometry import (
    cxcywh_to_xyxy,
    distance_similarity,
    iou_matrix,
    xyxy_to_cxcywh,
)
from edge.tracking.kalman import BOX_NOISE, NoiseModel, point_noise


@dataclass(frozen=True)
class BoxSpace:
    """Axis-aligned boxes in pixels. Detections are x1 y1 x2 y2; measurements cx cy w h.

    Similarity is IoU. While a track is unseen its width and height rates are held at zero:
    a box that kept shrinking or growing through an occlusion would no longer overlap anything.
    """

    noise: NoiseModel = BOX_NOISE
    dim: int = 4
    held_rates: tuple[int, ...] = (2, 3)

    def measure(self, detections: np.ndarray) -> np.ndarray:
        """(N, 4) corner boxes to (N, 4) measurements."""
        return xyxy_to_cxcywh(np.asarray(detections, dtype=np.float64).reshape(-1, 4))

    def similarity(self, tracks: np.ndarray, detections: np.ndarray) -> np.ndarray:
        """IoU (N, M) of track boxes and detection boxes, both as measurements."""
        return iou_matrix(cxcywh_to_xyxy(tracks), cxcywh_to_xyxy(detections))

    def to_output(self, z: np.ndarray) -> np.ndarray:
        """Measurements back to corner boxes."""
        return cxcywh_to_xyxy(z)


@dataclass(frozen=True)
class PointSpace:
    """Points on the floor, x y in metres; similarity is 1 - distance / gate.

    `gate_m` is the largest distance between a prediction and a detection that may still be the
    same person within one step (walking pace is about 1.4 m/s).
    """

    gate_m: float = 1.0
    noise: NoiseModel = field(default_factory=lambda: point_noise(0.05, 0.02, 0.1))
    dim: int = 2
    held_rates: tuple[int, ...] = ()

    def measure(self, detections: np.ndarray) -> np.ndarray:
        """(N, 2) points, unchanged."""
        return np.asarray(detections, dtype=np.float64).reshape(-1, 2)

    def similarity(self, tracks: np.ndarray, detections: np.ndarray) -> np.ndarray:
        """Distance similarity (N, M)."""
        return distance_similarity(tracks[:, :2], detections[:, :2], self.gate_m)

    def to_output(self, z: np.ndarray) -> np.ndarray:
        """Measurements are already points."""
        return z[:, :2].copy()


Space = BoxSpace | PointSpace
