"""Calibration boards: the `--board` spec, the board's object points, and finding it in an image.

Spec strings (COLSxROWS always counts the printed *squares*, for both kinds):

- ``chessboard:COLSxROWS:SQUARE_M``, e.g. ``chessboard:9x6:0.025``: a plain chessboard; OpenCV
  finds its (COLS-1) x (ROWS-1) inner corners.
- ``charuco:COLSxROWS:SQUARE_M:MARKER_M[:DICT]``, e.g. ``charuco:8x6:0.03:0.022:DICT_4X4_50``:
  a ChArUco board (ArUco markers in the white squares); corners are identified by the markers, so
  a partly hidden or cut-off board still counts. DICT defaults to DICT_4X4_50.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import cv2
import numpy as np

from calibration.markers import UnknownDictionaryError, aruco_dictionary

__all__ = [
    "BoardDetection",
    "BoardSpec",
    "BoardSpecError",
    "CharucoSpec",
    "ChessboardSpec",
    "parse_board_spec",
]

# ChArUco corners needed in one image to use it: fewer constrain the pose too weakly.
MIN_CHARUCO_CORNERS = 6

GAP_WINDOW = 1.0

_SIZE = re.compile(r"^(\d+)x(\d+)$")


class BoardSpecError(ValueError):
    """A `--board` value that cannot be used; the message says what is wrong and the form."""


@dataclass(frozen=True)
class BoardDetection:
    """The board found in one image: matching object points (N, 3) and pixels (N, 2)."""

    object_points: np.ndarray
    image_points: np.ndarray


@dataclass(frozen=True)
class ChessboardSpec:
    cols: int
    rows: int
    square_m: float

    kind = "chessboard"

    @property
    def inner(self) -> tuple[int, int]:
        """Inner corners (columns, rows): what OpenCV calls the pattern size."""
        return (self.cols - 1, self.rows - 1)

    def describe(self) -> str:
        ic, ir = self.inner
        return (
            f"chessboard {self.cols}x{self.rows} squares ({ic}x{ir} inner corners), "
            f"{self.square_m * 1000:.1f} mm squares"
        )

    def spec(self) -> str:
        return f"chessboard:{self.cols}x{self.rows}:{self.square_m:g}"

    def object_points(self) -> np.ndarray:
        ic, ir = self.inner
        grid = np.mgrid[0:ic, 0:ir].T.reshape(-1, 2) * self.square_m
        return np.column_stack([grid, np.zeros(len(grid))]).astype(np.float64)

    def detect(self, gray: np.ndarray) -> BoardDetection | None:
        # The classic detector refined by cornerSubPix was the more accurate of OpenCV's two on
        # rendered boards (0.07 against 0.12 px RMS, docs/calibration.md); the sector-based one
        # finds boards the classic misses (blur, uneven light), so it is the fallback.
        flags = cv2.CALIB_CB_ADAPTIVE_THRESH | cv2.CALIB_CB_NORMALIZE_IMAGE
        found, corners = cv2.findChessboardCorners(gray, self.inner, flags=flags)
        if found:
            pts = corners.reshape(-1, 2)
            ic = self.inner[0]
            grid = pts.reshape(-1, ic, 2)
            spacing = min(
                float(np.min(np.linalg.norm(np.diff(grid, axis=1), axis=2))),
                float(np.min(np.linalg.norm(np.diff(grid, axis=0), axis=2))),
            )
            # The search window must stay inside the corner's own squares.
            half = int(np.clip(spacing * 0.4, 2, 10))
            criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_COUNT, 100, 1e-4)
            corners = cv2.cornerSubPix(gray, corners, (half, half), (-1, -1), criteria)
        else:
            flags = cv2.CALIB_CB_NORMALIZE_IMAGE | cv2.CALIB_CB_ACCURACY
            found, corners = cv2.findChessboardCornersSB(gray, self.inner, flags=flags)
            if not found:
                return None
        return BoardDetection(self.object_points(), corners.reshape(-1, 2).astype(np.float64))


@dataclass(frozen=True)
class CharucoSpec:
    cols: int
    rows: int
    square_m: float
    marker_m: float
    dictionary: str

    kind = "charuco"

    def describe(self) -> str:
        return (
            f"ChArUco {self.cols}x{self.rows} squares, {self.square_m * 1000:.1f} mm squares, "
            f"{self.marker_m * 1000:.1f} mm markers, {self.dictionary}"
        )

    def spec(self) -> str:
        return (
            f"charuco:{self.cols}x{self.rows}:{self.square_m:g}:{self.marker_m:g}:{self.dictionary}"
        )

    def cv_board(self) -> cv2.aruco.CharucoBoard:
        return cv2.aruco.CharucoBoard(
            (self.cols, self.rows), self.square_m, self.marker_m, aruco_dictionary(self.dictionary)
        )

    def object_points(self) -> np.ndarray:
        return np.asarray(self.cv_board().getChessboardCorners(), dtype=np.float64).reshape(-1, 3)

    def detect(self, gray: np.ndarray) -> BoardDetection | None:
        board = self.cv_board()
        detector = cv2.aruco.CharucoDetector(board)
        corners, ids, _, _ = detector.detectBoard(gray)
        if ids is None or len(ids) < MIN_CHARUCO_CORNERS:
            return None
        if board.checkCharucoCornersCollinear(ids):
            return None
        # Refine again with a window that fits the white gap between a corner and the nearest
        # marker (a wider one would pull the corner towards the marker's edges).
        gap = (self.square_m - self.marker_m) / 2 * _pixels_per_metre(board, corners, ids)
        half = int(np.clip(gap * GAP_WINDOW, 2, 10))
        criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_COUNT, 100, 1e-4)
        corners = cv2.cornerSubPix(
            gray, corners.astype(np.float32), (half, half), (-1, -1), criteria
        )
        obj, img = board.matchImagePoints(corners, ids)
        return BoardDetection(
            np.asarray(obj, np.float64).reshape(-1, 3), np.asarray(img, np.float64).reshape(-1, 2)
        )


BoardSpec = ChessboardSpec | CharucoSpec


def _pixels_per_metre(board: cv2.aruco.CharucoBoard, corners: np.ndarray, ids: np.ndarray) -> float:
    """Smallest image scale (px per board metre) between detected corners: sizes the window."""
    obj = np.asarray(board.getChessboardCorners(), np.float64)[ids.ravel()][:, :2]
    img = corners.reshape(-1, 2).astype(np.float64)
    d_obj = np.linalg.norm(obj[:, None] - obj[None], axis=2)
    d_img = np.linalg.norm(img[:, None] - img[None], axis=2)
    mask = d_obj > 0
    return float(np.min(d_img[mask] / d_obj[mask]))


_FORMS = (
    "expected chessboard:COLSxROWS:SQUARE_M (e.g. chessboard:9x6:0.025) or "
    "charuco:COLSxROWS:SQUARE_M:MARKER_M[:DICT] (e.g. charuco:8x6:0.03:0.022:DICT_4X4_50); "
    "COLSxROWS counts squares"
)


def _metres(text: str, what: str, spec: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise BoardSpecError(f"board {spec!r}: {what} {text!r} is not a number") from None
    if not 0 < value < 1:
        raise BoardSpecError(
            f"board {spec!r}: {what} must be in metres, between 0 and 1 (got {text})"
        )
    return value


def parse_board_spec(spec: str) -> BoardSpec:
    """Parse a `--board` string; raises BoardSpecError naming the problem."""
    parts = spec.strip().split(":")
    kind = parts[0].lower()
    if kind not in {"chessboard", "charuco"}:
        raise BoardSpecError(f"board {spec!r}: unknown kind {parts[0]!r}; {_FORMS}")
    want = (3, 3) if kind == "chessboard" else (4, 5)
    if not want[0] <= len(parts) <= want[1]:
        raise BoardSpecError(f"board {spec!r}: wrong number of fields; {_FORMS}")
    match = _SIZE.match(parts[1].lower())
    if match is None:
        raise BoardSpecError(f"board {spec!r}: size {parts[1]!r} is not COLSxROWS; {_FORMS}")
    cols, rows = int(match.group(1)), int(match.group(2))
    if cols < 3 or rows < 3:
        raise BoardSpecError(f"board {spec!r}: a board needs at least 3x3 squares")
    square = _metres(parts[2], "square size", spec)
    if kind == "chessboard":
        return ChessboardSpec(cols, rows, square)
    marker = _metres(parts[3], "marker size", spec)
    if marker >= square:
        raise BoardSpecError(
            f"board {spec!r}: the marker ({parts[3]} m) must be smaller than the square "
            f"({parts[2]} m)"
        )
    dictionary = parts[4] if len(parts) == 5 else "DICT_4X4_50"
    try:
        aruco_dictionary(dictionary)  # fail now on a typo, not after reading the images
    except UnknownDictionaryError as exc:
        raise BoardSpecError(f"board {spec!r}: {exc}") from None
    return CharucoSpec(cols, rows, square, marker, dictionary)
