"""Projection of 3D primitives through a `CameraModel`, safe for polygons that leave the view.

`CameraModel.project` maps points; polygons need more: their edges must be subdivided (lens
distortion bends straight lines) and clipped before distortion (the distortion polynomial is only
meaningful near the image; far outside it can fold back in). The point mapping here is the same
formula as `cv2.projectPoints`, vectorised in numpy; tests check it against `CameraModel.project`.
"""

from __future__ import annotations

import numpy as np

from edge.vision.camera import CameraModel

NEAR_M = 0.05  # points closer than this to the camera plane are clipped away
SUBPIXEL_SHIFT = 4  # cv2 drawing with 1/16 pixel precision
CLIP_MARGIN = 1.25  # clip square in normalised coordinates: this much beyond the image corners


class Projector:
    """Store-frame geometry to distorted pixels for one camera."""

    def __init__(self, camera: CameraModel):
        self.camera = camera
        self.rot = camera.rotation
        self.tvec = np.asarray(camera.tvec, dtype=np.float64)
        self.centre = camera.centre
        k = camera.camera_matrix
        self.fx, self.fy, self.cx, self.cy, self.skew = k[0, 0], k[1, 1], k[0, 2], k[1, 2], k[0, 1]
        d = np.zeros(8)
        coeffs = np.asarray(camera.dist_coeffs, dtype=np.float64).ravel()
        d[: len(coeffs)] = coeffs
        self.k1, self.k2, self.p1, self.p2, self.k3, self.k4, self.k5, self.k6 = d
        self.width, self.height = camera.image_size
        # The square (in normalised, undistorted coordinates) that polygons are clipped to: the
        # image corners' rays plus a margin, so clipping never cuts what is visible.
        w, h = camera.image_size
        corners = np.array([[0, 0], [w - 1, 0], [0, h - 1], [w - 1, h - 1]], dtype=np.float64)
        import cv2

        norm = cv2.undistortPoints(corners.reshape(-1, 1, 2), k, camera.dist_coeffs).reshape(-1, 2)
        self.clip = float(np.abs(norm).max()) * CLIP_MARGIN

    # --------------------------------------------------------------------------- points

    def to_camera(self, pts: np.ndarray) -> np.ndarray:
        return np.asarray(pts, dtype=np.float64).reshape(-1, 3) @ self.rot.T + self.tvec

    def distort(self, xy: np.ndarray) -> np.ndarray:
        """Normalised undistorted (N, 2) to pixels (N, 2): OpenCV's model."""
        x, y = xy[:, 0], xy[:, 1]
        r2 = x * x + y * y
        radial = (1 + r2 * (self.k1 + r2 * (self.k2 + r2 * self.k3))) / (
            1 + r2 * (self.k4 + r2 * (self.k5 + r2 * self.k6))
        )
        xd = x * radial + 2 * self.p1 * x * y + self.p2 * (r2 + 2 * x * x)
        yd = y * radial + self.p1 * (r2 + 2 * y * y) + 2 * self.p2 * x * y
        return np.column_stack([self.fx * xd + self.skew * yd + self.cx, self.fy * yd + self.cy])

    def project(self, pts: np.ndarray) -> np.ndarray:
        """Store points (N, 3) to pixels (N, 2); points behind the camera give NaN."""
        cam = self.to_camera(pts)
        z = cam[:, 2]
        with np.errstate(divide="ignore", invalid="ignore"):
            xy = cam[:, :2] / z[:, None]
        uv = self.distort(xy)
        uv[z <= 1e-6] = np.nan
        return uv

    def distance(self, pts: np.ndarray) -> np.ndarray:
        """Euclidean distance (metres) from the camera centre to store points (N, 3)."""
        return np.linalg.norm(
            np.asarray(pts, dtype=np.float64).reshape(-1, 3) - self.centre, axis=1
        )

    def scale_at(self, point: np.ndarray) -> float:
        """Approximate pixels per metre at a store point (for line thickness, blur length)."""
        z = float(self.to_camera(point)[0, 2])
        return self.fx / max(z, NEAR_M)

    # --------------------------------------------------------------------------- polygons

    def polygon(self, poly3d: np.ndarray, max_edge_m: float = 0.2) -> np.ndarray | None:
        """A planar store polygon (N, 3) as pixels (M, 2) float, or None when nothing is in view.

        Edges are subdivided so that distortion bends them; the polygon is clipped against the
        near plane and the clip square before distortion.
        """
        pts = _subdivide(np.asarray(poly3d, dtype=np.float64), max_edge_m)
        cam = self.to_camera(pts)
        if (cam[:, 2] < NEAR_M).any():
            cam = _clip_near(cam)
            if len(cam) < 3:
                return None
        xy = cam[:, :2] / cam[:, 2:3]
        c = self.clip
        if (np.abs(xy) > c).any():
            xy = _clip_square(xy, c)
            if len(xy) < 3:
                return None
        return self.distort(xy)

    def in_view(self, uv: np.ndarray, margin: float = 0.0) -> bool:
        """Whether a pixel polygon's bounding box touches the image."""
        if uv is None or len(uv) == 0:
            return False
        return bool(
            uv[:, 0].max() >= -margin
            and uv[:, 0].min() <= self.width - 1 + margin
            and uv[:, 1].max() >= -margin
            and uv[:, 1].min() <= self.height - 1 + margin
        )


def fixed_point(uv: np.ndarray, offset: tuple[float, float] = (0.0, 0.0)) -> np.ndarray:
    """Pixel coordinates as the int32 array cv2 drawing wants, with SUBPIXEL_SHIFT bits."""
    scale = 1 << SUBPIXEL_SHIFT
    shifted = (uv - np.asarray(offset)) * scale
    return np.round(np.clip(shifted, -(2**26), 2**26)).astype(np.int32).reshape(-1, 1, 2)


def _subdivide(poly: np.ndarray, max_edge: float) -> np.ndarray:
    out = []
    n = len(poly)
    for i in range(n):
        a, b = poly[i], poly[(i + 1) % n]
        steps = max(1, int(np.ceil(np.linalg.norm(b - a) / max_edge)))
        f = np.arange(steps)[:, None] / steps
        out.append(a + f * (b - a))
    return np.concatenate(out)


def _clip_near(cam: np.ndarray) -> np.ndarray:
    """Sutherland-Hodgman against z >= NEAR_M in camera coordinates."""
    out = []
    n = len(cam)
    for i in range(n):
        a, b = cam[i], cam[(i + 1) % n]
        ina, inb = a[2] >= NEAR_M, b[2] >= NEAR_M
        if ina:
            out.append(a)
        if ina != inb:
            f = (NEAR_M - a[2]) / (b[2] - a[2])
            out.append(a + f * (b - a))
    return np.array(out).reshape(-1, 3)


def _clip_square(xy: np.ndarray, c: float) -> np.ndarray:
    """Sutherland-Hodgman against |x| <= c and |y| <= c."""
    poly = xy
    for axis in (0, 1):
        for sign in (1.0, -1.0):
            if len(poly) == 0:
                return poly
            out = []
            n = len(poly)
            for i in range(n):
                a, b = poly[i], poly[(i + 1) % n]
                ina, inb = sign * a[axis] <= c, sign * b[axis] <= c
                if ina:
                    out.append(a)
                if ina != inb:
                    f = (sign * c - a[axis]) / (b[axis] - a[axis])
                    out.append(a + f * (b - a))
            poly = np.array(out).reshape(-1, 2)
    return poly
