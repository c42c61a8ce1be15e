"""Writing labelled frames as an ultralytics (YOLO) detection dataset.

Layout: `images/<split>/<name>.jpg` and `labels/<split>/<name>.txt`, one line per box
`cls cx cy w h` normalised to the image size, and a `data.yaml` naming the splits and classes.
Boxes are clipped to the image; boxes thinner than `min_box_px` after clipping are dropped (a
sliver at the image edge teaches nothing and ultralytics would discard it anyway).
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


def yolo_label_lines(
    boxes: np.ndarray, image_size: tuple[int, int], min_box_px: float = 2.0
) -> tuple[list[str], int]:
    """YOLO label lines for boxes (N, 5) cls x1 y1 x2 y2 (pixels) in an image (width, height).

    Returns the lines and the number of boxes dropped as too small after clipping.
    """
    w, h = image_size
    b = np.asarray(boxes, dtype=np.float64).reshape(-1, 5)
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
    on_frame: Callable[[int], None] | None = None,
) -> SplitStats:
    """Write every frame of one split under `root`; `on_frame(count)` after each frame."""
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
        lines, d = yolo_label_lines(frame.boxes, (image.shape[1], image.shape[0]))
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
