"""Letterbox pre-processing: fit a frame into the detector's input without distorting it.

The frame is scaled by one factor so that it fits the input, centred, and the borders are padded
with grey (114), exactly as ultralytics does when it trains and validates. Using the same rounding
as ultralytics matters: a model trained on one letterbox and fed another sees shifted objects, and
our boxes must agree with ultralytics' own predictions to within a pixel
(tests/test_training.py checks it).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

PAD_VALUE = 114


@dataclass(frozen=True)
class Letterbox:
    """How one frame was placed into the model input; maps boxes back and forth.

    Sizes are (width, height) in pixels. `scale_x`/`scale_y` are resized/original (they differ by
    at most a rounding pixel); `pad_x`/`pad_y` are the left and top borders in input pixels.
    """

    orig_size: tuple[int, int]
    input_size: tuple[int, int]
    scale_x: float
    scale_y: float
    pad_x: int
    pad_y: int

    @classmethod
    def fit(cls, orig_size: tuple[int, int], input_size: tuple[int, int]) -> Letterbox:
        """The placement of a frame of `orig_size` into `input_size` (both (width, height))."""
        w0, h0 = orig_size
        w1, h1 = input_size
        if min(w0, h0, w1, h1) <= 0:
            raise ValueError(f"letterbox: sizes must be positive, got {orig_size} -> {input_size}")
        r = min(w1 / w0, h1 / h0)
        new_w, new_h = max(round(w0 * r), 1), max(round(h0 * r), 1)
        # ultralytics puts an odd padding pixel at the bottom/right: round(d - 0.1) on top/left.
        pad_x = round((w1 - new_w) / 2 - 0.1)
        pad_y = round((h1 - new_h) / 2 - 0.1)
        return cls(
            orig_size=(int(w0), int(h0)),
            input_size=(int(w1), int(h1)),
            scale_x=new_w / w0,
            scale_y=new_h / h0,
            pad_x=int(pad_x),
            pad_y=int(pad_y),
        )

    @property
    def resized_size(self) -> tuple[int, int]:
        """(width, height) of the frame's image inside the input, without the borders."""
        return (
            max(round(self.orig_size[0] * self.scale_x), 1),
            max(round(self.orig_size[1] * self.scale_y), 1),
        )

    def apply(self, image: np.ndarray) -> np.ndarray:
        """The letterboxed image (input height, input width, channels), same dtype as `image`."""
        h0, w0 = image.shape[:2]
        if (w0, h0) != self.orig_size:
            raise ValueError(f"letterbox: image is {w0}x{h0}, expected {self.orig_size}")
        new_w, new_h = self.resized_size
        if (new_w, new_h) != (w0, h0):
            image = cv2.resize(image, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
        w1, h1 = self.input_size
        top, left = self.pad_y, self.pad_x
        bottom, right = h1 - new_h - top, w1 - new_w - left
        return cv2.copyMakeBorder(
            image, top, bottom, left, right, cv2.BORDER_CONSTANT, value=(PAD_VALUE,) * 3
        )

    def to_input(self, boxes_xyxy: np.ndarray) -> np.ndarray:
        """Boxes (N, 4) x1 y1 x2 y2 from original pixels to input pixels (a new array)."""
        b = np.asarray(boxes_xyxy, dtype=np.float64).reshape(-1, 4).copy()
        b[:, [0, 2]] = b[:, [0, 2]] * self.scale_x + self.pad_x
        b[:, [1, 3]] = b[:, [1, 3]] * self.scale_y + self.pad_y
        return b

    def to_original(self, boxes_xyxy: np.ndarray, clip: bool = True) -> np.ndarray:
        """Boxes (N, 4) x1 y1 x2 y2 from input pixels to original pixels (a new array).

        With `clip`, boxes are clipped to the frame (a box reaching into the grey border ends at
        the frame's edge), as ultralytics does.
        """
        b = np.asarray(boxes_xyxy, dtype=np.float64).reshape(-1, 4).copy()
        b[:, [0, 2]] = (b[:, [0, 2]] - self.pad_x) / self.scale_x
        b[:, [1, 3]] = (b[:, [1, 3]] - self.pad_y) / self.scale_y
        if clip:
            w0, h0 = self.orig_size
            b[:, [0, 2]] = b[:, [0, 2]].clip(0, w0)
            b[:, [1, 3]] = b[:, [1, 3]].clip(0, h0)
        return b


def letterbox(image: np.ndarray, input_size: tuple[int, int]) -> tuple[np.ndarray, Letterbox]:
    """Letterbox `image` (H, W, C) into `input_size` (width, height): image and placement."""
    h0, w0 = image.shape[:2]
    lb = Letterbox.fit((w0, h0), input_size)
    return lb.apply(image), lb
