"""The pinhole-plus-distortion camera model shared by the renderer, calibration and the tracker.

Conventions (OpenCV's): the store frame is the floor plan in metres, x and y on the floor, z up
from the floor. A camera has intrinsics (3x3 camera matrix, distortion coefficients
k1 k2 p1 p2 k3) and a pose (`rvec`, `tvec`: Rodrigues rotation and translation that take a store
point into the camera frame, as `cv2.solvePnP` returns them). Pixels are (u, v) with the origin at
the top-left corner of the image.

A calibration file (YAML, format version 1) holds one camera: see docs/calibration.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

CALIBRATION_FORMAT_VERSION = 1


class CalibrationFileError(ValueError):
    """A calibration file that cannot be used; the message names the file and the problem."""


@dataclass(frozen=True)
class CameraModel:
    """One calibrated camera: intrinsics, distortion and its pose in the store frame."""

    camera_id: str
    image_size: tuple[int, int]  # (width, height) in pixels
    camera_matrix: np.ndarray  # 3x3 float64
    dist_coeffs: np.ndarray  # (5,) float64: k1 k2 p1 p2 k3
    rvec: np.ndarray  # (3,) float64, store -> camera rotation (Rodrigues)
    tvec: np.ndarray  # (3,) float64, store -> camera translation, metres
    meta: dict[str, Any] = field(default_factory=dict, compare=False)

    # ----------------------------------------------------------------- construction

    @classmethod
    def looking_down(
        cls,
        camera_id: str,
        position: tuple[float, float, float],
        image_size: tuple[int, int] = (640, 480),
        hfov_deg: float = 100.0,
        dist_coeffs: tuple[float, ...] = (-0.28, 0.08, 0.0, 0.0, -0.01),
        yaw_deg: float = 0.0,
    ) -> CameraModel:
        """A ceiling camera at `position` (metres) looking straight down.

        With yaw 0 the image's u axis runs along the store's +x and v along -y, so the image
        looks like the floor plan drawn with y upwards (the camera's z axis is the store's -z).
        """
        w, h = image_size
        f = (w / 2) / np.tan(np.radians(hfov_deg) / 2)
        k = np.array([[f, 0, (w - 1) / 2], [0, f, (h - 1) / 2], [0, 0, 1]], dtype=np.float64)
        yaw = np.radians(yaw_deg)
        c, s = np.cos(yaw), np.sin(yaw)
        # Rows are the camera axes expressed in the store frame: x_cam, y_cam, z_cam.
        rot = np.array([[c, s, 0.0], [-s, c, 0.0], [0.0, 0.0, -1.0]])
        # Keep a right-handed frame: x_cam x y_cam must equal z_cam.
        if np.dot(np.cross(rot[0], rot[1]), rot[2]) < 0:
            rot[1] = -rot[1]
        centre = np.asarray(position, dtype=np.float64)
        tvec = -rot @ centre
        rvec = _rodrigues_from_matrix(rot)
        return cls(
            camera_id=camera_id,
            image_size=(int(w), int(h)),
            camera_matrix=k,
            dist_coeffs=np.asarray(dist_coeffs, dtype=np.float64),
            rvec=rvec,
            tvec=tvec,
        )

    # ----------------------------------------------------------------- geometry

    @property
    def rotation(self) -> np.ndarray:
        """3x3 store -> camera rotation matrix."""
        return _matrix_from_rodrigues(self.rvec)

    @property
    def centre(self) -> np.ndarray:
        """Camera centre in the store frame (metres)."""
        return -self.rotation.T @ self.tvec

    def project(self, points_xyz: np.ndarray) -> np.ndarray:
        """Store points (N, 3) to distorted pixels (N, 2). Points behind the camera give NaN."""
        import cv2

        pts = np.asarray(points_xyz, dtype=np.float64).reshape(-1, 3)
        if len(pts) == 0:
            return np.zeros((0, 2))
        uv, _ = cv2.projectPoints(pts, self.rvec, self.tvec, self.camera_matrix, self.dist_coeffs)
        uv = uv.reshape(-1, 2)
        depth = (pts @ self.rotation.T + self.tvec)[:, 2]
        uv[depth <= 1e-6] = np.nan
        return uv

    def rays(self, pixels_uv: np.ndarray) -> np.ndarray:
        """Unit ray directions (N, 3) in the store frame through distorted pixels (N, 2)."""
        import cv2

        px = np.asarray(pixels_uv, dtype=np.float64).reshape(-1, 1, 2)
        if len(px) == 0:
            return np.zeros((0, 3))
        norm = cv2.undistortPoints(px, self.camera_matrix, self.dist_coeffs).reshape(-1, 2)
        d_cam = np.column_stack([norm, np.ones(len(norm))])
        d_store = d_cam @ self.rotation  # R^T applied to row vectors
        return d_store / np.linalg.norm(d_store, axis=1, keepdims=True)

    def pixel_to_floor(self, pixels_uv: np.ndarray, height: float | np.ndarray = 0.0) -> np.ndarray:
        """Store (x, y) (N, 2) where the rays through `pixels_uv` cross the plane z = `height`.

        `height` may be one number or one per pixel (a head is about 1.6 m above the floor, a
        hand in a shelf at the shelf's height). Rays that never reach the plane give NaN.
        """
        dirs = self.rays(pixels_uv)
        c = self.centre
        z = np.broadcast_to(np.asarray(height, dtype=np.float64), (len(dirs),))
        with np.errstate(divide="ignore", invalid="ignore"):
            s = (z - c[2]) / dirs[:, 2]
        out = c[:2] + s[:, None] * dirs[:, :2]
        out[~(s > 0)] = np.nan
        return out

    def floor_homography(self) -> np.ndarray:
        """3x3 homography from undistorted pixels to floor (x, y) at z = 0."""
        r = self.rotation
        h_floor_to_px = self.camera_matrix @ np.column_stack([r[:, 0], r[:, 1], self.tvec])
        h = np.linalg.inv(h_floor_to_px)
        return h / h[2, 2]

    def sees(self, points_xyz: np.ndarray, margin_px: float = 0.0) -> np.ndarray:
        """Boolean mask of the points that land inside the image."""
        uv = self.project(points_xyz)
        w, h = self.image_size
        with np.errstate(invalid="ignore"):
            return (
                (uv[:, 0] >= -margin_px)
                & (uv[:, 0] <= w - 1 + margin_px)
                & (uv[:, 1] >= -margin_px)
                & (uv[:, 1] <= h - 1 + margin_px)
            )

    # ----------------------------------------------------------------- files

    def to_dict(self) -> dict[str, Any]:
        """The calibration-file form (format version 1)."""
        return {
            "version": CALIBRATION_FORMAT_VERSION,
            "camera_id": self.camera_id,
            "image_size": [int(self.image_size[0]), int(self.image_size[1])],
            "intrinsics": {
                "camera_matrix": [[round(float(v), 6) for v in row] for row in self.camera_matrix],
                "dist_coeffs": [round(float(v), 8) for v in self.dist_coeffs],
            },
            "extrinsics": {
                "rvec": [round(float(v), 8) for v in self.rvec],
                "tvec": [round(float(v), 8) for v in self.tvec],
            },
            **({"meta": self.meta} if self.meta else {}),
        }

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(self.to_dict(), sort_keys=False))

    @classmethod
    def from_dict(cls, data: Any, where: str = "calibration") -> CameraModel:
        intrinsics = CameraIntrinsics.from_dict(data, where)
        extr = data.get("extrinsics")
        if extr is None:
            raise CalibrationFileError(
                f"{where}: extrinsics: missing: run `walkout calibrate floor` for this camera"
            )
        try:
            rvec = np.asarray(extr["rvec"], dtype=np.float64).reshape(3)
            tvec = np.asarray(extr["tvec"], dtype=np.float64).reshape(3)
        except (KeyError, TypeError, ValueError) as exc:
            raise CalibrationFileError(
                f"{where}: extrinsics: rvec and tvec must be 3 numbers each ({exc})"
            ) from None
        return intrinsics.with_pose(rvec, tvec)

    @classmethod
    def load(cls, path: Path) -> CameraModel:
        return cls.from_dict(_read_yaml(path), where=str(path))


@dataclass(frozen=True)
class CameraIntrinsics:
    """A camera's intrinsics without a pose: what `walkout calibrate camera` writes.

    Same file layout as :meth:`CameraModel.to_dict` with ``extrinsics: null``; the loader also
    reads a full calibration file (its pose is ignored), so the floor step can be re-run.
    """

    camera_id: str
    image_size: tuple[int, int]  # (width, height) in pixels
    camera_matrix: np.ndarray  # 3x3 float64
    dist_coeffs: np.ndarray  # (4,), (5,) or (8,) float64
    meta: dict[str, Any] = field(default_factory=dict, compare=False)

    def with_pose(
        self, rvec: np.ndarray, tvec: np.ndarray, meta: dict[str, Any] | None = None
    ) -> CameraModel:
        """The full camera model with a store -> camera pose (metres)."""
        return CameraModel(
            camera_id=self.camera_id,
            image_size=self.image_size,
            camera_matrix=self.camera_matrix,
            dist_coeffs=self.dist_coeffs,
            rvec=np.asarray(rvec, dtype=np.float64).reshape(3),
            tvec=np.asarray(tvec, dtype=np.float64).reshape(3),
            meta=dict(self.meta if meta is None else meta),
        )

    def to_dict(self) -> dict[str, Any]:
        """The calibration-file form (format version 1) with ``extrinsics: null``."""
        zero = np.zeros(3)
        data = self.with_pose(zero, zero).to_dict()
        data["extrinsics"] = None
        return data

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(self.to_dict(), sort_keys=False))

    @classmethod
    def from_dict(cls, data: Any, where: str = "calibration") -> CameraIntrinsics:
        def fail(key: str, problem: str) -> CalibrationFileError:
            return CalibrationFileError(f"{where}: {key}: {problem}")

        if not isinstance(data, dict):
            raise fail("(top level)", "must be a mapping")
        if data.get("version") != CALIBRATION_FORMAT_VERSION:
            got = data.get("version")
            raise fail("version", f"must be {CALIBRATION_FORMAT_VERSION}, got {got!r}")
        try:
            size = data["image_size"]
            intr = data["intrinsics"]
            k = np.asarray(intr["camera_matrix"], dtype=np.float64)
            dist = np.asarray(intr["dist_coeffs"], dtype=np.float64).ravel()
        except KeyError as exc:
            raise fail(str(exc.args[0]), "missing") from None
        except (TypeError, ValueError) as exc:
            raise fail("intrinsics", f"not numeric: {exc}") from None
        if not (isinstance(size, list) and len(size) == 2 and all(type(v) is int for v in size)):
            raise fail("image_size", "must be [width, height] in pixels")
        if k.shape != (3, 3):
            raise fail("intrinsics.camera_matrix", f"must be 3x3, got shape {k.shape}")
        if dist.shape not in {(4,), (5,), (8,)}:
            raise fail("intrinsics.dist_coeffs", f"must have 4, 5 or 8 values, got {dist.size}")
        return cls(
            camera_id=str(data.get("camera_id", "")),
            image_size=(size[0], size[1]),
            camera_matrix=k,
            dist_coeffs=dist,
            meta=dict(data.get("meta") or {}),
        )

    @classmethod
    def load(cls, path: Path) -> CameraIntrinsics:
        return cls.from_dict(_read_yaml(path), where=str(path))


def _read_yaml(path: Path) -> Any:
    try:
        text = path.read_text()
    except OSError as exc:
        raise CalibrationFileError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise CalibrationFileError(f"{path}: not valid YAML: {exc}") from None


def _rodrigues_from_matrix(rot: np.ndarray) -> np.ndarray:
    import cv2

    rvec, _ = cv2.Rodrigues(np.asarray(rot, dtype=np.float64))
    return rvec.reshape(3)


def _matrix_from_rodrigues(rvec: np.ndarray) -> np.ndarray:
    import cv2

    rot, _ = cv2.Rodrigues(np.asarray(rvec, dtype=np.float64).reshape(3, 1))
    return rot
