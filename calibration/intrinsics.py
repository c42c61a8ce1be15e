"""Camera intrinsics from images of a calibration board (`walkout calibrate camera`).

Every image is searched for the board; images without it are rejected by name, never silently
dropped. The usable ones go to `cv2.calibrateCamera` (OpenCV's five-coefficient model: k1 k2 p1
p2 k3). The result carries the RMS reprojection error over all corners and per image, and how
much of the image the corners covered (distortion is only known where corners were seen).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from calibration.boards import BoardSpec
from calibration.lens import undistort_exact
from edge.vision.camera import CameraIntrinsics

__all__ = [
    "COVERAGE_GRID",
    "DEFAULT_MIN_IMAGES",
    "CalibrationInputError",
    "IntrinsicsResult",
    "RejectedImage",
    "calibrate_intrinsics",
    "load_gray",
    "model_difference_px",
]

DEFAULT_MIN_IMAGES = 8
COVERAGE_GRID = (8, 6)
# Corners farther than max(OUTLIER_MIN_PX, OUTLIER_FACTOR x RMS) from the first fit are dropped.
OUTLIER_MIN_PX = 0.5
OUTLIER_FACTOR = 4.0  # cells across and down the image for the coverage figure


class CalibrationInputError(ValueError):
    """Input the calibration cannot use (too few usable images, mixed sizes...)."""


@dataclass(frozen=True)
class RejectedImage:
    name: str
    reason: str


@dataclass(frozen=True)
class IntrinsicsResult:
    intrinsics: CameraIntrinsics
    rms_px: float
    per_image_px: dict[str, float]  # image name -> RMS reprojection error of its corners
    used: list[str]
    rejected: list[RejectedImage]
    corners: int
    outliers: int  # corners dropped as outliers before the final fit
    coverage: float  # fraction of COVERAGE_GRID cells holding at least one corner
    views: dict[str, tuple[np.ndarray, np.ndarray]] = field(repr=False, default_factory=dict)
    """Board pose (rvec, tvec) per used image, board -> camera."""


def load_gray(path: Path) -> np.ndarray | None:
    """An image file as 8-bit grey, or None when it cannot be read."""
    return cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)


def calibrate_intrinsics(
    images: Sequence[tuple[str, np.ndarray | None]],
    board: BoardSpec,
    camera_id: str,
    *,
    min_images: int = DEFAULT_MIN_IMAGES,
) -> IntrinsicsResult:
    """Calibrate from named grey images (None: an image that could not be read).

    Raises CalibrationInputError when fewer than `min_images` show the board.
    """
    rejected: list[RejectedImage] = []
    obj_pts: list[np.ndarray] = []
    img_pts: list[np.ndarray] = []
    used: list[str] = []
    size: tuple[int, int] | None = None
    for name, gray in images:
        if gray is None:
            rejected.append(RejectedImage(name, "cannot read the image file"))
            continue
        h, w = gray.shape[:2]
        if size is None:
            size = (w, h)
        elif (w, h) != size:
            rejected.append(
                RejectedImage(
                    name, f"size {w}x{h} differs from the first image's {size[0]}x{size[1]}"
                )
            )
            continue
        found = board.detect(gray)
        if found is None:
            rejected.append(RejectedImage(name, "board not found"))
            continue
        obj_pts.append(found.object_points.astype(np.float32))
        img_pts.append(found.image_points.astype(np.float32))
        used.append(name)
    if len(used) < min_images:
        raise CalibrationInputError(_too_few(len(used), min_images, rejected, board))
    assert size is not None
    rms, k, dist, rvecs, tvecs = cv2.calibrateCamera(obj_pts, img_pts, size, None, None)
    # One pass of outlier removal: a corner the detector placed on the wrong edge (ChArUco
    # corners next to a marker, a reflection) pulls the whole model; drop corners far off the
    # first fit and solve again.
    dropped = 0
    limit = max(OUTLIER_MIN_PX, OUTLIER_FACTOR * rms)
    for i, (obj, img, rv, tv) in enumerate(zip(obj_pts, img_pts, rvecs, tvecs, strict=True)):
        proj, _ = cv2.projectPoints(obj, rv, tv, k, dist)
        keep = np.linalg.norm(proj.reshape(-1, 2) - img.reshape(-1, 2), axis=1) <= limit
        if not keep.all() and keep.sum() >= 6:
            dropped += int((~keep).sum())
            obj_pts[i], img_pts[i] = obj[keep], img[keep]
    if dropped:
        rms, k, dist, rvecs, tvecs = cv2.calibrateCamera(obj_pts, img_pts, size, None, None)
    per_image: dict[str, float] = {}
    views: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for name, obj, img, rv, tv in zip(used, obj_pts, img_pts, rvecs, tvecs, strict=True):
        proj, _ = cv2.projectPoints(obj, rv, tv, k, dist)
        err = np.linalg.norm(proj.reshape(-1, 2) - img.reshape(-1, 2), axis=1)
        per_image[name] = float(np.sqrt(np.mean(err**2)))
        views[name] = (rv.reshape(3), tv.reshape(3))
    all_pts = np.vstack(img_pts)
    gx, gy = COVERAGE_GRID
    cells = {
        (int(u * gx / size[0]), int(v * gy / size[1]))
        for u, v in all_pts
        if 0 <= u < size[0] and 0 <= v < size[1]
    }
    intr = CameraIntrinsics(
        camera_id=camera_id,
        image_size=size,
        camera_matrix=np.asarray(k, np.float64),
        dist_coeffs=np.asarray(dist, np.float64).ravel(),
    )
    return IntrinsicsResult(
        intrinsics=intr,
        rms_px=float(rms),
        per_image_px=per_image,
        used=used,
        rejected=rejected,
        corners=len(all_pts),
        outliers=dropped,
        coverage=len(cells) / (gx * gy),
        views=views,
    )


def _too_few(n: int, need: int, rejected: list[RejectedImage], board: BoardSpec) -> str:
    text = f"only {n} usable image{'s' if n != 1 else ''}, need at least {need}"
    if rejected:
        names = ", ".join(f"{r.name} ({r.reason})" for r in rejected[:10])
        more = f" and {len(rejected) - 10} more" if len(rejected) > 10 else ""
        text += f"; {len(rejected)} rejected: {names}{more}"
    if any(r.reason == "board not found" for r in rejected):
        text += (
            f". The board was given as {board.describe()}: COLSxROWS counts the printed "
            "squares (not inner corners); check it, the lighting and the focus, and keep the "
            "whole board in view"
        )
    return text


def model_difference_px(
    a: CameraIntrinsics, b: CameraIntrinsics, step_px: int = 16
) -> tuple[float, float]:
    """(RMS, max) pixel distance between where two lens models put the same rays, over the
    whole image, after the best small rotation between them.

    Distortion coefficients trade off against each other, so they are compared through what
    they do to pixels; and a shift of the principal point is nearly the same picture as a
    slightly turned camera (the floor step solves that rotation), so the rotation is factored
    out: rays through a's pixels are placed far away and b's pose is fitted to them.
    """
    w, h = a.image_size
    uu, vv = np.meshgrid(np.arange(0, w, step_px), np.arange(0, h, step_px))
    px = np.column_stack([uu.ravel(), vv.ravel()]).astype(np.float64)
    norm = undistort_exact(px, a.camera_matrix, a.dist_coeffs)
    far = np.column_stack([norm, np.ones(len(px))]) * 1e4
    _ok, rvec, tvec = cv2.solvePnP(
        far, px, b.camera_matrix, b.dist_coeffs, flags=cv2.SOLVEPNP_SQPNP
    )
    rvec, tvec = cv2.solvePnPRefineLM(far, px, b.camera_matrix, b.dist_coeffs, rvec, tvec)
    back, _ = cv2.projectPoints(far, rvec, tvec, b.camera_matrix, b.dist_coeffs)
    d = np.linalg.norm(back.reshape(-1, 2) - px, axis=1)
    return float(np.sqrt(np.mean(d**2))), float(np.max(d))
