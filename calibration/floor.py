"""Camera pose from ArUco markers on the floor (`walkout calibrate floor`).

The markers' corners are found in one image (sub-pixel refined), matched by id to their known
store positions (the markers file), and `cv2.solvePnP` gives the store -> camera pose: IPPE for
markers all on the floor (it is made for planar targets and returns the better of the two
mirror solutions), SQPnP when some stand at another height, then Levenberg-Marquardt refinement.

Two figures judge the result: the reprojection error (pixels: how well the pose explains the
corners it was fitted to) and the floor error (centimetres: every detected corner is cast back
through the new pose onto its plane and compared with where the markers file says it is, which
is the error a tracked person's floor position inherits).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from calibration.markers import MarkersFile, aruco_dictionary
from edge.vision.camera import CameraIntrinsics, CameraModel

__all__ = ["MIN_MARKERS", "FloorCalibrationError", "FloorResult", "calibrate_floor"]

MIN_MARKERS = 2
"""Markers needed (8 corners): one marker's four corners fit a pose, but a tiny one."""


class FloorCalibrationError(ValueError):
    """The image cannot give a pose (too few known markers seen, a degenerate solution)."""


@dataclass(frozen=True)
class FloorResult:
    camera: CameraModel
    used_ids: list[int]
    unknown_ids: list[int]  # detected, but not in the markers file
    missing_ids: list[int]  # in the markers file, not detected
    reprojection_rms_px: float
    reprojection_max_px: float
    floor_rms_cm: float
    floor_max_cm: float
    per_marker_cm: dict[int, float]  # mean floor error of each marker's corners


def detect_markers(gray: np.ndarray, dictionary: str) -> dict[int, np.ndarray]:
    """Marker id -> its four corners (4, 2) in pixels, ArUco order, sub-pixel refined."""
    params = cv2.aruco.DetectorParameters()
    params.cornerRefinementMethod = cv2.aruco.CORNER_REFINE_SUBPIX
    detector = cv2.aruco.ArucoDetector(aruco_dictionary(dictionary), params)
    corners, ids, _ = detector.detectMarkers(gray)
    found: dict[int, np.ndarray] = {}
    if ids is None:
        return found
    for c, i in zip(corners, ids.ravel(), strict=True):
        if int(i) in found:  # the same id twice: ambiguous, use neither
            found[int(i)] = np.full((4, 2), np.nan)
            continue
        found[int(i)] = c.reshape(4, 2).astype(np.float64)
    return {i: c for i, c in found.items() if np.isfinite(c).all()}


def calibrate_floor(
    gray: np.ndarray, intrinsics: CameraIntrinsics, markers: MarkersFile
) -> FloorResult:
    """The camera's store pose from one image of floor markers."""
    h, w = gray.shape[:2]
    if (w, h) != tuple(intrinsics.image_size):
        raise FloorCalibrationError(
            f"the image is {w}x{h} but the camera was calibrated at "
            f"{intrinsics.image_size[0]}x{intrinsics.image_size[1]}: use a frame from the same "
            "camera at the same resolution"
        )
    seen = detect_markers(gray, markers.dictionary)
    known = markers.by_id()
    used = sorted(i for i in seen if i in known)
    unknown = sorted(i for i in seen if i not in known)
    missing = sorted(i for i in known if i not in seen)
    if len(used) < MIN_MARKERS:
        raise FloorCalibrationError(
            f"found {len(used)} of the {len(known)} markers in the markers file "
            f"(need at least {MIN_MARKERS})"
            + (f"; also saw ids {unknown} that the file does not list" if unknown else "")
            + f"; check the dictionary ({markers.dictionary}), that the markers are in view, "
            "lit and flat, and that they are big enough (40 px or more across in the image)"
        )
    obj = np.vstack([markers.corners(i) for i in used])
    img = np.vstack([seen[i] for i in used])
    k, dist = intrinsics.camera_matrix, intrinsics.dist_coeffs
    planar = bool(np.allclose(obj[:, 2], obj[0, 2]))
    method = cv2.SOLVEPNP_IPPE if planar else cv2.SOLVEPNP_SQPNP
    ok, rvec, tvec = cv2.solvePnP(obj, img, k, dist, flags=method)
    if not ok:
        raise FloorCalibrationError("solvePnP found no pose for these markers")
    rvec, tvec = cv2.solvePnPRefineLM(obj, img, k, dist, rvec, tvec)
    camera = intrinsics.with_pose(rvec.ravel(), tvec.ravel())
    if camera.centre[2] <= obj[:, 2].max():
        raise FloorCalibrationError(
            f"the solved camera is below the markers (z = {camera.centre[2]:.2f} m): check the "
            "markers file's corner order and the marker positions"
        )
    proj, _ = cv2.projectPoints(obj, rvec, tvec, k, dist)
    reproj = np.linalg.norm(proj.reshape(-1, 2) - img, axis=1)
    back = camera.pixel_to_floor(img, height=obj[:, 2])
    floor_err_cm = np.linalg.norm(back - obj[:, :2], axis=1) * 100.0
    per_marker = {
        mid: float(np.mean(floor_err_cm[4 * j : 4 * j + 4])) for j, mid in enumerate(used)
    }
    return FloorResult(
        camera=camera,
        used_ids=used,
        unknown_ids=unknown,
        missing_ids=missing,
        reprojection_rms_px=float(np.sqrt(np.mean(reproj**2))),
        reprojection_max_px=float(np.max(reproj)),
        floor_rms_cm=float(np.sqrt(np.mean(floor_err_cm**2))),
        floor_max_cm=float(np.max(floor_err_cm)),
        per_marker_cm=per_marker,
    )
