"""Printable targets: the calibration board and the floor markers as images at a known scale.

The same images are the simulator's textures (`sim.calib_targets`), so what the tests render is
exactly what a technician prints.
"""

from __future__ import annotations

import cv2
import numpy as np

from calibration.boards import BoardSpec, ChessboardSpec
from calibration.markers import MarkersFile, aruco_dictionary

__all__ = ["PAPER_MARGIN", "board_image", "marker_image"]

PAPER_MARGIN = 0.25
"""White paper around a floor marker's black square, as a fraction of its size per side."""


def board_image(board: BoardSpec, px_per_m: float) -> tuple[np.ndarray, tuple[float, float], float]:
    """The board with one square of white margin: (image, origin, px_per_m).

    `origin` is the image's top-left corner in board coordinates (metres; the frame of the
    board's object points); `px_per_m` is rounded so that a square is a whole number of pixels.
    """
    sq_px = max(1, round(board.square_m * px_per_m))
    ppm = sq_px / board.square_m
    margin = sq_px
    cols, rows = board.cols, board.rows
    if isinstance(board, ChessboardSpec):
        img = np.full((rows * sq_px + 2 * margin, cols * sq_px + 2 * margin), 255, np.uint8)
        for r in range(rows):
            for c in range(cols):
                if (r + c) % 2 == 0:
                    y0, x0 = margin + r * sq_px, margin + c * sq_px
                    img[y0 : y0 + sq_px, x0 : x0 + sq_px] = 0
        # Object points start at the first inner corner, one square in from the pattern's edge.
        origin = (-(margin + sq_px) / ppm, -(margin + sq_px) / ppm)
    else:
        size = (cols * sq_px + 2 * margin, rows * sq_px + 2 * margin)
        img = board.cv_board().generateImage(size, marginSize=margin, borderBits=1)
        # ChArUco object points are measured from the pattern's top-left outer corner.
        origin = (-margin / ppm, -margin / ppm)
    return img, origin, ppm


def marker_image(markers: MarkersFile, marker_id: int, px_per_m: float) -> np.ndarray:
    """One floor marker on its white sheet, the black square `marker_size_m` wide."""
    aruco = aruco_dictionary(markers.dictionary)
    bits = aruco.markerSize + 2
    side = max(bits, round(markers.marker_size_m * px_per_m / bits) * bits)
    img = cv2.aruco.generateImageMarker(aruco, marker_id, side, borderBits=1)
    pad = round(PAPER_MARGIN * side)
    return cv2.copyMakeBorder(img, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=255)
