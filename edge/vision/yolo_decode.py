"""Decoding the raw output of a YOLOv8 / YOLO11 detection model exported to ONNX.

The head's output for one image is (4 + nc, A): for each of A anchor points, the box centre x,
centre y, width and height in input pixels, then one sigmoid score per class (no objectness
column since YOLOv8). Decoding mirrors ultralytics' `non_max_suppression` defaults: a box's class
is its best-scoring class, candidates need a score strictly above `conf_threshold`, at most
`max_candidates` go into per-class NMS, and at most `max_det` come out.
"""

from __future__ import annotations

import numpy as np

from edge.vision.nms import batched_nms

# Columns of a detection row, everywhere in the vision package.
CLS, CONF, X1, Y1, X2, Y2 = range(6)
DETECTION_COLUMNS = ("cls", "conf", "x1", "y1", "x2", "y2")


def empty_detections() -> np.ndarray:
    """A (0, 6) float32 array: no detections."""
    return np.zeros((0, 6), dtype=np.float32)


def decode_yolo(
    output: np.ndarray,
    num_classes: int,
    conf_threshold: float = 0.25,
    iou_threshold: float = 0.7,
    max_det: int = 300,
    max_candidates: int = 30000,
) -> np.ndarray:
    """Detections (K, 6) float32: cls, conf, x1, y1, x2, y2 in input pixels, best first.

    `output` is one image's head output, (4 + num_classes, A).
    """
    out = np.asarray(output)
    if out.ndim != 2 or out.shape[0] != 4 + num_classes:
        raise ValueError(
            f"decode_yolo: expected an output of shape (4 + {num_classes}, anchors), "
            f"got {out.shape}"
        )
    scores_all = out[4:]
    cls = scores_all.argmax(axis=0)
    conf = scores_all[cls, np.arange(out.shape[1])]
    cand = np.flatnonzero(conf > conf_threshold)
    if cand.size == 0:
        return empty_detections()
    if cand.size > max_candidates:
        cand = cand[np.argsort(-conf[cand], kind="stable")[:max_candidates]]
    xywh = out[:4, cand].T.astype(np.float64)
    boxes = np.empty_like(xywh)
    half_w, half_h = xywh[:, 2] / 2, xywh[:, 3] / 2
    boxes[:, 0] = xywh[:, 0] - half_w
    boxes[:, 1] = xywh[:, 1] - half_h
    boxes[:, 2] = xywh[:, 0] + half_w
    boxes[:, 3] = xywh[:, 1] + half_h
    keep = batched_nms(boxes, conf[cand], cls[cand], iou_threshold)[:max_det]
    det = np.empty((len(keep), 6), dtype=np.float32)
    det[:, CLS] = cls[cand][keep]
    det[:, CONF] = conf[cand][keep]
    det[:, X1:] = boxes[keep]
    return det
