"""Box and point conversions and the pairwise similarity matrices the tracker associates with.

All functions are vectorised over rows: a frame's N tracks against its M detections is one call.
"""

from __future__ import annotations

import numpy as np


def xyxy_to_cxcywh(boxes: np.ndarray) -> np.ndarray:
    """(N, 4) corner boxes x1 y1 x2 y2 to centre, width, height."""
    out = np.empty_like(boxes, dtype=np.float64)
    out[:, 0] = (boxes[:, 0] + boxes[:, 2]) / 2
    out[:, 1] = (boxes[:, 1] + boxes[:, 3]) / 2
    out[:, 2] = boxes[:, 2] - boxes[:, 0]
    out[:, 3] = boxes[:, 3] - boxes[:, 1]
    return out


def cxcywh_to_xyxy(z: np.ndarray) -> np.ndarray:
    """(N, >=4) centre, width, height (extra columns ignored) to corner boxes."""
    half_w = np.maximum(z[:, 2], 0.0) / 2
    half_h = np.maximum(z[:, 3], 0.0) / 2
    return np.stack([z[:, 0] - half_w, z[:, 1] - half_h, z[:, 0] + half_w, z[:, 1] + half_h], 1)


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of every box in a (N, 4) with every box in b (M, 4), corner format; (N, M)."""
    if a.shape[0] == 0 or b.shape[0] == 0:
        return np.zeros((a.shape[0], b.shape[0]))
    ix1 = np.maximum(a[:, None, 0], b[None, :, 0])
    iy1 = np.maximum(a[:, None, 1], b[None, :, 1])
    ix2 = np.minimum(a[:, None, 2], b[None, :, 2])
    iy2 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(ix2 - ix1, 0, None) * np.clip(iy2 - iy1, 0, None)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)


def distance_similarity(a: np.ndarray, b: np.ndarray, gate: float) -> np.ndarray:
    """1 - distance/gate (clipped at 0) between points a (N, 2) and b (M, 2); (N, M).

    The point analogue of IoU: 1 for the same spot, 0 at or beyond `gate` (metres), so the same
    association thresholds read the same way for boxes and for floor points.
    """
    if a.shape[0] == 0 or b.shape[0] == 0:
        return np.zeros((a.shape[0], b.shape[0]))
    d = np.hypot(a[:, None, 0] - b[None, :, 0], a[:, None, 1] - b[None, :, 1])
    return np.clip(1.0 - d / gate, 0.0, None)
