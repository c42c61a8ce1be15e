"""Writing labelled frames as an ultralytics (YOLO) detection dataset.

Layout: `images/<split>/<name>.jpg` and `labels/<split>/<name>.txt`, one line per box
`cls cx cy w h` normalised to the image size, and a `data.yaml` naming the splits and classes.
Boxes are clipped to the image; boxes thinner than `min_box_px` after clipping are dropped (a
sliver at the image edge teaches nothing and ultralytics would discard it anyway).

Hands can be labelled as a *hand region* (`hand_box_px`): the true hand box grown to a square of
at least that many pixels about the same centre. A hand is 9 to 14 px in a 640x480 frame, 6 to 9
px at the 416 px model input; YOLOv8's assigner gives such a box zero or one anchor point on its
stride-8 grid, so the head gets almost no training signal for it (docs/detector.md). The grown box
keeps the hand's centre (all the floor tracker uses) and takes in the wrist and forearm around it,
which is also what tells a hand from a product or a shoe when seen from the ceiling.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import cv2
import numpy as np
import yaml


class LabelledFrameLike(Protocol):
    """The fields of `sim.render.dataset.LabelledFrame` used here."""

    image: np.ndarray  # (H, W, 3) uint8 BGR
    boxes: np.ndarray  # (N, 5) float32: cls, x1, y1, x2, y2 in pixels


@dataclass(frozen=True)
class SplitStats:
    """What went into one split."""

    frames: int
    boxes_per_class: dict[int, int]
    dropped_boxes: int


HAND_CLASS = 1


def grow_hand_boxes(boxes: np.ndarray, hand_box_px: float) -> np.ndarray:
    """Boxes (N, 5) cls x1 y1 x2 y2 with every hand box grown to at least `hand_box_px` on each
    side, about its own centre; other classes and larger hands unchanged. 0 disables it."""
    b = np.array(boxes, dtype=np.float64).reshape(-1, 5)
    if hand_box_px <= 0:
        return b
    for row in b:
        if int(row[0]) != HAND_CLASS:
            continue
        for lo, hi in ((1, 3), (2, 4)):
            size = row[hi] - row[lo]
            if size < hand_box_px:
                centre = (row[lo] + row[hi]) / 2
                row[lo], row[hi] = centre - hand_box_px / 2, centre + hand_box_px / 2
    return b


def yolo_label_lines(
    boxes: np.ndarray,
    image_size: tuple[int, int],
    min_box_px: float = 2.0,
    hand_box_px: float = 0.0,
) -> tuple[list[str], int]:
    """YOLO label lines for boxes (N, 5) cls x1 y1 x2 y2 (pixels) in an image (width, height).

    Hand boxes are first grown to `hand_box_px` (see the module docstring; 0 keeps them).
    Returns the lines and the number of boxes dropped as too small after clipping.
    """
    w, h = image_size
    b = grow_hand_boxes(boxes, hand_box_px)
    lines = []
    dropped = 0
    for cls, x1, y1, x2, y2 in b:
        x1, x2 = np.clip([x1, x2], 0, w)
        y1, y2 = np.clip([y1, y2], 0, h)
        if x2 - x1 < min_box_px or y2 - y1 < min_box_px:
            dropped += 1
            continue
        cx, cy = (x1 + x2) / 2 / w, (y1 + y2) / 2 / h
        bw, bh = (x2 - x1) / w, (y2 - y1) / h
        lines.append(f"{int(cls)} {cx:.6f} {cy:.6f} {bw:.6f} {bh:.6f}")
    return lines, dropped


def write_split(
    frames: Iterable[LabelledFrameLike],
    root: Path,
    split: str,
    *,
    jpeg_quality: int = 95,
    hand_box_px: float = 0.0,
    on_frame: Callable[[int], None] | None = None,
) -> SplitStats:
    """Write every frame of one split under `root`; `on_frame(count)` after each frame.
    `hand_box_px` grows hand boxes to hand regions (module docstring)."""
    img_dir = root / "images" / split
    lbl_dir = root / "labels" / split
    img_dir.mkdir(parents=True, exist_ok=True)
    lbl_dir.mkdir(parents=True, exist_ok=True)
    counts: dict[int, int] = {}
    dropped = 0
    n = 0
    for n, frame in enumerate(frames, start=1):
        image = frame.image
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ValueError(
                f"{split} frame {n}: expected an (H, W, 3) uint8 image, got "
                f"{image.shape} {image.dtype}"
            )
        name = f"{split}_{n:06d}"
        ok = cv2.imwrite(
            str(img_dir / f"{name}.jpg"), image, [cv2.IMWRITE_JPEG_QUALITY, jpeg_quality]
        )
        if not ok:
            raise OSError(f"{img_dir / name}.jpg: OpenCV could not write the image")
        lines, d = yolo_label_lines(
            frame.boxes, (image.shape[1], image.shape[0]), hand_box_px=hand_box_px
        )
        dropped += d
        for line in lines:
            c = int(line.split(" ", 1)[0])
            counts[c] = counts.get(c, 0) + 1
        (lbl_dir / f"{name}.txt").write_text("".join(f"{x}\n" for x in lines), encoding="utf-8")
        if on_frame is not None:
            on_frame(n)
    return SplitStats(frames=n, boxes_per_class=dict(sorted(counts.items())), dropped_boxes=dropped)


def write_data_yaml(root: Path, classes: tuple[str, ...]) -> Path:
    """The dataset description ultralytics reads; returns its path."""
    doc: dict[str, Any] = {
        "path": str(root.resolve()),
        "train": "images/train",
        "val": "images/val",
        "names": dict(enumerate(classes)),
    }
    path = root / "data.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path
