"""Non-maximum suppression in numpy (no torch on the edge).

Greedy NMS like torchvision's `nms`: take the most confident box, drop every remaining box whose
IoU with it is strictly greater than the threshold, repeat. `batched_nms` runs it per class, so a
hand inside a person's box never suppresses that person.
"""

from __future__ import annotations

import numpy as np


def box_overlap(box: np.ndarray, boxes: np.ndarray) -> tuple[np.ndarray, float, np.ndarray]:
    """Intersection areas of one box (4,) x1 y1 x2 y2 with each of `boxes` (N, 4), the box's own
    area and the areas of `boxes` (empty boxes count 0)."""
    x1 = np.maximum(box[0], boxes[:, 0])
    y1 = np.maximum(box[1], boxes[:, 1])
    x2 = np.minimum(box[2], boxes[:, 2])
    y2 = np.minimum(box[3], boxes[:, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area = max(box[2] - box[0], 0) * max(box[3] - box[1], 0)
    widths = np.clip(boxes[:, 2] - boxes[:, 0], 0, None)
    areas = widths * np.clip(boxes[:, 3] - boxes[:, 1], 0, None)
    return inter, area, areas


def box_iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """IoU of one box (4,) x1 y1 x2 y2 with each of `boxes` (N, 4); 0 where a union is empty."""
    inter, area, areas = box_overlap(box, boxes)
    union = area + areas - inter
    with np.errstate(divide="ignore", invalid="ignore"):
        iou = np.where(union > 0, inter / union, 0.0)
    return iou


def nms(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float) -> np.ndarray:
    """Indices of the kept boxes, most confident first.

    boxes (N, 4) x1 y1 x2 y2, scores (N,). Ties in score keep the lower index first (stable sort),
    so the result does not depend on platform sort details.
    """
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    if len(boxes) != len(scores):
        raise ValueError(f"nms: {len(boxes)} boxes but {len(scores)} scores")
    order = np.argsort(-scores, kind="stable")
    keep: list[int] = []
    while order.size:
        i = int(order[0])
        keep.append(i)
        if order.size == 1:
            break
        rest = order[1:]
        order = rest[box_iou(boxes[i], boxes[rest]) <= iou_threshold]
    return np.asarray(keep, dtype=np.int64)


def batched_nms(
    boxes: np.ndarray, scores: np.ndarray, classes: np.ndarray, iou_threshold: float
) -> np.ndarray:
    """NMS per class; kept indices over all classes, most confident first."""
    classes = np.asarray(classes).reshape(-1)
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    if len(classes) != len(scores):
        raise ValueError(f"batched_nms: {len(classes)} classes but {len(scores)} scores")
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    kept = [
        np.flatnonzero(classes == c)[nms(boxes[classes == c], scores[classes == c], iou_threshold)]
        for c in np.unique(classes)
    ]
    if not kept:
        return np.zeros(0, dtype=np.int64)
    idx = np.concatenate(kept)
    return idx[np.argsort(-scores[idx], kind="stable")]
