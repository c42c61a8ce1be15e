"""Calibration targets for the simulator: board and floor-marker images, and a shelf board on a pty.

Three things, so that every `walkout calibrate` command runs end to end without hardware:

- :func:`render_board_views`: a chessboard or ChArUco board photographed by a known camera from
  varied poses, with the camera's lens distortion.
- :func:`render_floor_markers`: ArUco markers lying on the floor, seen by a ceiling camera.
- :class:`SimulatedShelfBoard`: a walkout-lc1 board writing frames into a pty, whose plate loads
  go from empty to loaded (a hand placing a mass, then a settling wobble) with the realistic
  load-cell noise of `sim.loadcell`.

Rendering method (ray casting, exact up to sampling): for every sample position in the image the
distorted pixel is undistorted to a ray (OpenCV's `undistortPoints`, then Newton steps on the
five-coefficient model until the ray reprojects onto the pixel to 1e-6 px), the ray is
intersected with the target's plane, and the plane point is looked up in a high-resolution
texture of the target (`cv2.remap`, bilinear). Rays are computed on a coarse grid (every
`RAY_GRID_PX` pixels) and interpolated to the sample positions by a float64 bicubic spline: the
mapping is smooth, and :func:`ray_grid_error_px` measures the interpolation error (about 1e-6 px
for the cameras used in the tests). Each output pixel averages `supersample`² samples (area
anti-aliasing), then lens blur, gain and offset, and sensor noise are applied. Because the
geometry is exact, the true position of every corner is `cv2.projectPoints` of its board point:
tests compare calibration results with the camera that rendered the images.
"""

from __future__ import annotations

import contextlib
import errno
import math
import os
import threading
import time
import tty
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
from scipy.interpolate import RectBivariateSpline

from calibration.lens import undistort_exact
from calibration.printing import PAPER_MARGIN
from edge.shelf.protocol import BoardEncoder
from edge.vision.camera import CameraModel
from sim.loadcell import ShelfSensorModel, grams_to_counts, sample_plate_params

__all__ = [
    "RAY_GRID_PX",
    "BoardTarget",
    "BoardView",
    "FloorMarker",
    "PtyPair",
    "SimulatedShelfBoard",
    "board_target",
    "ray_grid_error_px",
    "render_board_views",
    "render_floor_markers",
]

RAY_GRID_PX = 4
"""Spacing of the grid on which rays are computed exactly; samples in between are interpolated."""

TEXTURE_PX_PER_M = 4000.0
"""Texture resolution of boards: 4 px per mm, finer than any rendered sample."""


# --------------------------------------------------------------------------------------------
# Geometry helpers
# --------------------------------------------------------------------------------------------


def _sample_positions(size: tuple[int, int], ss: int) -> tuple[np.ndarray, np.ndarray]:
    """Sub-pixel sample coordinates (h*ss, w*ss) in image pixels (pixel centres are integers)."""
    w, h = size
    u = (np.arange(w * ss) + 0.5) / ss - 0.5
    v = (np.arange(h * ss) + 0.5) / ss - 0.5
    return np.meshgrid(u, v)


def _ray_grid(
    size: tuple[int, int], camera_matrix: np.ndarray, dist: np.ndarray
) -> tuple[np.ndarray, np.ndarray, float]:
    """Normalised ray coordinates on a coarse grid covering the image (plus a border)."""
    w, h = size
    g = RAY_GRID_PX
    start = -2.0 * g
    us = start + g * np.arange(math.ceil((w + 4 * g) / g) + 1)
    vs = start + g * np.arange(math.ceil((h + 4 * g) / g) + 1)
    uu, vv = np.meshgrid(us, vs)
    xy = undistort_exact(np.column_stack([uu.ravel(), vv.ravel()]), camera_matrix, dist)
    return xy[:, 0].reshape(uu.shape), xy[:, 1].reshape(uu.shape), start


def _rays_at(
    size: tuple[int, int], camera_matrix: np.ndarray, dist: np.ndarray, ss: int
) -> tuple[np.ndarray, np.ndarray]:
    """Normalised ray coordinates (x, y) at every sample position, float64 (h*ss, w*ss)."""
    gx, gy, start = _ray_grid(size, camera_matrix, dist)
    su, sv = _sample_positions(size, ss)
    sx = _spline(gx, start)(sv[:, 0], su[0, :])
    sy = _spline(gy, start)(sv[:, 0], su[0, :])
    return sx, sy


def _spline(values: np.ndarray, start: float) -> RectBivariateSpline:
    """Bicubic spline through grid values (rows: v, columns: u) in float64.

    (`cv2.remap` would quantise the positions to 1/32 of a grid cell: a tenth of a pixel.)
    """
    vs = start + RAY_GRID_PX * np.arange(values.shape[0])
    us = start + RAY_GRID_PX * np.arange(values.shape[1])
    return RectBivariateSpline(vs, us, values, kx=3, ky=3, s=0)


def ray_grid_error_px(
    size: tuple[int, int], camera_matrix: np.ndarray, dist: np.ndarray, n: int = 2000
) -> float:
    """Largest reprojection error (pixels) of interpolated rays at random sample positions.

    The accuracy of the renderer's geometry: rays at `n` random positions are interpolated from
    the coarse grid exactly as the renderer does, projected back through the lens model and
    compared with where they should land.
    """
    rng = np.random.default_rng(0)
    w, h = size
    pts = rng.uniform([0, 0], [w - 1, h - 1], size=(n, 2))
    gx, gy, start = _ray_grid(size, camera_matrix, dist)
    x = _spline(gx, start).ev(pts[:, 1], pts[:, 0])
    y = _spline(gy, start).ev(pts[:, 1], pts[:, 0])
    obj = np.column_stack([x, y, np.ones_like(x)])
    uv, _ = cv2.projectPoints(obj, np.zeros(3), np.zeros(3), camera_matrix, dist)
    return float(np.max(np.linalg.norm(uv.reshape(-1, 2) - pts, axis=1)))


def _finish(
    samples: np.ndarray, ss: int, rng: np.random.Generator, noise: float, blur_px: float
) -> np.ndarray:
    """Samples (h*ss, w*ss) float in 0..255 to a uint8 image: area average, blur, gain, noise."""
    h, w = samples.shape[0] // ss, samples.shape[1] // ss
    img = cv2.resize(samples.astype(np.float32), (w, h), interpolation=cv2.INTER_AREA)
    if blur_px > 0:
        img = cv2.GaussianBlur(img, (0, 0), blur_px)
    gain = rng.uniform(0.75, 1.0)
    offset = rng.uniform(0.0, 25.0)
    img = img * gain + offset + rng.normal(0.0, noise, size=img.shape)
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def _background(shape: tuple[int, int], rng: np.random.Generator, level: float) -> np.ndarray:
    """A smooth, uneven background (a wall or a floor): low-frequency noise around `level`."""
    h, w = shape
    coarse = rng.normal(0.0, 18.0, size=(max(2, h // 64), max(2, w // 64)))
    bg = cv2.resize(coarse.astype(np.float32), (w, h), interpolation=cv2.INTER_CUBIC)
    return bg + np.float32(level)


# --------------------------------------------------------------------------------------------
# Boards
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BoardTarget:
    """A printed calibration board: its texture and where the texture lies on the board plane.

    Board coordinates (metres) are the object points' frame: x along columns, y along rows,
    z = 0 on the board. `texture` covers the rectangle starting at `origin_m` (the sheet's
    top-left corner in board coordinates) at `px_per_m`.
    """

    texture: np.ndarray  # uint8 (H, W)
    origin_m: tuple[float, float]
    px_per_m: float
    corners_m: np.ndarray  # (N, 3) the board's corner points (for poses and checks)

    @property
    def sheet_m(self) -> tuple[float, float]:
        h, w = self.texture.shape
        return (w / self.px_per_m, h / self.px_per_m)

    def outline(self, n: int = 12) -> np.ndarray:
        """Points along the sheet's border (N, 3), to check that a pose shows it all."""
        w, h = self.sheet_m
        x0, y0 = self.origin_m
        t = np.linspace(0.0, 1.0, n)
        top = np.column_stack([x0 + w * t, np.full(n, y0)])
        bottom = np.column_stack([x0 + w * t, np.full(n, y0 + h)])
        left = np.column_stack([np.full(n, x0), y0 + h * t])
        right = np.column_stack([np.full(n, x0 + w), y0 + h * t])
        pts = np.vstack([top, bottom, left, right])
        return np.column_stack([pts, np.zeros(len(pts))])


def board_target(spec: str) -> BoardTarget:
    """The printed board for a board spec (the same strings as `walkout calibrate camera`)."""
    from calibration.boards import parse_board_spec
    from calibration.printing import board_image

    board = parse_board_spec(spec)
    tex, origin, ppm = board_image(board, TEXTURE_PX_PER_M)
    return BoardTarget(texture=tex, origin_m=origin, px_per_m=ppm, corners_m=board.object_points())


@dataclass(frozen=True)
class BoardView:
    """One rendered view: the image and the true board -> camera pose (OpenCV rvec, tvec)."""

    image: np.ndarray
    rvec: np.ndarray
    tvec: np.ndarray


def _render_plane(
    size: tuple[int, int],
    rays: tuple[np.ndarray, np.ndarray],
    rot: np.ndarray,
    t: np.ndarray,
    target: BoardTarget,
    background: np.ndarray,
) -> np.ndarray:
    """Samples of a board at pose (rot, t) (board -> camera) over the background."""
    x, y = rays
    r1, r2, n = rot[:, 0], rot[:, 1], rot[:, 2]
    nt = float(n @ t)
    denom = n[0] * x + n[1] * y + n[2]
    with np.errstate(divide="ignore", invalid="ignore"):
        s = nt / denom
    px = s * x - t[0]
    py = s * y - t[1]
    pz = s - t[2]
    bx = r1[0] * px + r1[1] * py + r1[2] * pz
    by = r2[0] * px + r2[1] * py + r2[2] * pz
    ppm = target.px_per_m
    mx = ((bx - target.origin_m[0]) * ppm - 0.5).astype(np.float32)
    my = ((by - target.origin_m[1]) * ppm - 0.5).astype(np.float32)
    valid = s > 0
    mx[~valid] = -1e6
    tex = target.texture.astype(np.float32)
    sampled = cv2.remap(
        tex, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=-1
    )
    inside = sampled >= 0
    return np.where(inside, sampled, background)


def _look_at_rotation(rng: np.random.Generator, max_tilt_deg: float) -> np.ndarray:
    """Board -> camera rotation: the board faces the camera, tilted and rolled at random."""
    tilt_x = np.radians(rng.uniform(-max_tilt_deg, max_tilt_deg))
    tilt_y = np.radians(rng.uniform(-max_tilt_deg, max_tilt_deg))
    roll = np.radians(rng.uniform(-25.0, 25.0))
    rx, _ = cv2.Rodrigues(np.array([tilt_x, 0.0, 0.0]))
    ry, _ = cv2.Rodrigues(np.array([0.0, tilt_y, 0.0]))
    rz, _ = cv2.Rodrigues(np.array([0.0, 0.0, roll]))
    return rx @ ry @ rz


def render_board_views(
    camera: CameraModel,
    board_spec: str,
    n_views: int,
    *,
    seed: int = 0,
    supersample: int = 3,
    noise: float = 2.0,
    blur_px: float = 0.6,
    max_tilt_deg: float = 40.0,
    fill: tuple[float, float] = (0.35, 0.65),
) -> list[BoardView]:
    """`n_views` images of a board seen by `camera` (its intrinsics and distortion; its pose is
    not used), from varied poses that keep the whole sheet in view.

    The board's centre is aimed at a 3 x 3 grid of image regions in turn (so the corners of the
    image, where distortion is strongest, are covered), tilted up to `max_tilt_deg` about both
    axes and rolled up to 25 degrees; its distance makes the sheet span `fill` of the image width.
    """
    target = board_target(board_spec)
    k, dist = camera.camera_matrix, camera.dist_coeffs
    size = camera.image_size
    w, h = size
    rng = np.random.default_rng(seed)
    rays = _rays_at(size, k, dist, supersample)
    outline = target.outline()
    sheet_w, sheet_h = target.sheet_m
    centre_board = np.array(
        [target.origin_m[0] + sheet_w / 2, target.origin_m[1] + sheet_h / 2, 0.0]
    )
    views: list[BoardView] = []
    fails = 0  # failed poses for the current view: each 10 shrink the board by 3 %
    while len(views) < n_views:
        if fails > 400:
            raise RuntimeError("could not find board poses inside the image; use a smaller board")
        cell = len(views) % 9
        cu = (cell % 3 + rng.uniform(0.15, 0.85)) / 3 * w
        cv = (cell // 3 + rng.uniform(0.15, 0.85)) / 3 * h
        rot = _look_at_rotation(rng, max_tilt_deg)
        frac = rng.uniform(*fill) * 0.97 ** (fails // 10)
        depth = k[0, 0] * max(sheet_w, sheet_h) / (frac * w)
        ray = undistort_exact(np.array([[cu, cv]]), k, dist)[0]
        centre_cam = np.array([ray[0], ray[1], 1.0]) * depth
        t = centre_cam - rot @ centre_board
        rvec, _ = cv2.Rodrigues(rot)
        pts_cam = outline @ rot.T + t
        fails += 1
        if np.any(pts_cam[:, 2] <= 0.05):
            continue
        uv, _ = cv2.projectPoints(outline, rvec, t, k, dist)
        uv = uv.reshape(-1, 2)
        # Keep the sheet inside, and inside the part of the image where the lens model is
        # well behaved (projections of far-out points can fold back into the image).
        if not (np.all(uv >= 4) and np.all(uv[:, 0] <= w - 5) and np.all(uv[:, 1] <= h - 5)):
            continue
        norm = pts_cam[:, :2] / pts_cam[:, 2:3]
        if np.max(np.linalg.norm(norm, axis=1)) > _max_valid_radius(dist):
            continue
        fails = 0
        bg = _background((h * supersample, w * supersample), rng, rng.uniform(90, 170))
        samples = _render_plane(size, rays, rot, t, target, bg)
        image = _finish(samples, supersample, rng, noise, blur_px)
        views.append(BoardView(image=image, rvec=rvec.reshape(3), tvec=t.copy()))
    return views


def _max_valid_radius(dist: np.ndarray) -> float:
    """Radius (normalised) up to which the radial distortion is monotonic (invertible)."""
    d = np.zeros(5)
    d[: min(5, dist.size)] = dist.ravel()[:5]
    r = np.linspace(0.0, 4.0, 4001)
    r2 = r * r
    rd = r * (1 + r2 * (d[0] + r2 * (d[1] + r2 * d[4])))
    bad = np.nonzero(np.diff(rd) <= 0)[0]
    return float(r[bad[0]]) * 0.95 if len(bad) else 4.0


# --------------------------------------------------------------------------------------------
# Floor markers
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FloorMarker:
    """A printed ArUco marker on the floor: its id and its black square's corners (store x, y in
    metres; ArUco order: top-left, top-right, bottom-right, bottom-left of the printed marker)."""

    marker_id: int
    corners_xy: np.ndarray  # (4, 2)
    z_m: float = 0.0


def render_floor_markers(
    camera: CameraModel,
    markers: Sequence[FloorMarker],
    dictionary: str,
    *,
    seed: int = 0,
    supersample: int = 2,
    noise: float = 2.0,
    blur_px: float = 0.6,
    paper_margin: float = PAPER_MARGIN,
) -> np.ndarray:
    """What a ceiling `camera` (full pose) sees of ArUco markers lying on the floor.

    Each marker is printed on white paper extending `paper_margin` of the marker's size beyond
    its black square on every side. The floor is a mottled grey.
    """
    from calibration.markers import aruco_dictionary

    aruco = aruco_dictionary(dictionary)
    rng = np.random.default_rng(seed)
    w, h = camera.image_size
    ss = supersample
    x, y = _rays_at(camera.image_size, camera.camera_matrix, camera.dist_coeffs, ss)
    rot = camera.rotation
    centre = camera.centre
    # Ray directions in the store frame: R^T (x, y, 1).
    dx = rot[0, 0] * x + rot[1, 0] * y + rot[2, 0]
    dy = rot[0, 1] * x + rot[1, 1] * y + rot[2, 1]
    dz = rot[0, 2] * x + rot[1, 2] * y + rot[2, 2]
    samples = _background((h * ss, w * ss), rng, rng.uniform(95, 140))
    bits = aruco.markerSize + 2
    cell_px = 24
    for marker in markers:
        img = cv2.aruco.generateImageMarker(aruco, marker.marker_id, bits * cell_px, borderBits=1)
        pad = round(paper_margin * bits * cell_px)
        # The same sheet `walkout calibrate print-markers` writes (calibration.printing).
        sheet = cv2.copyMakeBorder(img, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=255)
        with np.errstate(divide="ignore", invalid="ignore"):
            s = (marker.z_m - centre[2]) / dz
        fx = centre[0] + s * dx
        fy = centre[1] + s * dy
        # Homography from floor (x, y) to texture pixel centres of the marker's black square.
        side = bits * cell_px
        tex_corners = np.array([[0, 0], [side, 0], [side, side], [0, side]], np.float64) + pad
        hom = cv2.getPerspectiveTransform(
            marker.corners_xy.astype(np.float32), (tex_corners - 0.5).astype(np.float32)
        )
        den = hom[2, 0] * fx + hom[2, 1] * fy + hom[2, 2]
        mx = ((hom[0, 0] * fx + hom[0, 1] * fy + hom[0, 2]) / den).astype(np.float32)
        my = ((hom[1, 0] * fx + hom[1, 1] * fy + hom[1, 2]) / den).astype(np.float32)
        mx[~(s > 0)] = -1e6
        sampled = cv2.remap(
            sheet.astype(np.float32),
            mx,
            my,
            cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_CONSTANT,
            borderValue=-1,
        )
        samples = np.where(sampled >= 0, sampled * 0.9 + 10, samples)
    return _finish(samples, ss, rng, noise, blur_px)


# --------------------------------------------------------------------------------------------
# A shelf board on a pty
# --------------------------------------------------------------------------------------------


class PtyPair:
    """A pseudo-terminal pair: the simulated board writes into `master_fd`, the command under
    test opens `port` (the slave's path) like a USB-serial adapter.

    The slave is put in raw mode at once (no echo, no CR/LF translation) and kept open for the
    pair's lifetime, so a reader can open and close it freely. The master is non-blocking: bytes
    written while nobody reads are dropped when the buffer is full, as on a real serial line.
    """

    def __init__(self) -> None:
        self.master_fd, self._slave_fd = os.openpty()
        tty.setraw(self._slave_fd)
        os.set_blocking(self.master_fd, False)
        self.port = os.ttyname(self._slave_fd)

    def close(self) -> None:
        for fd in (self.master_fd, self._slave_fd):
            with contextlib.suppress(OSError):
                os.close(fd)

    def __enter__(self) -> PtyPair:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass
class _LoadEvent:
    t0: float  # board seconds
    plate: int
    grams: float
    ramp_s: float


@dataclass
class BoardStats:
    frames: int = 0
    bytes_written: int = 0
    bytes_dropped: int = 0


class SimulatedShelfBoard:
    """A walkout-lc1 shelf board streaming into a pty master (a thread), at `speed` x real time.

    Plate `i` reads ``offsets[i] + load_g / grams_per_count[i]`` counts through the load-cell
    noise model of `sim.loadcell` (white noise, shelf vibration, wander, sample-and-hold,
    quantisation; parameters drawn with `seed`). :meth:`place` puts a mass on a plate: a hand
    presses for `ramp_s` (the reading overshoots and wobbles, the shelf vibrates) and the load
    settles at the mass. `creep_g_per_s` makes a plate's load drift for ever (a plate that never
    settles). Board time advances by whole frames; frames carry ticks, so a reader counts
    samples exactly however fast the board runs.
    """

    def __init__(
        self,
        fd: int,
        *,
        board_id: int,
        offsets: Sequence[int],
        grams_per_count: Sequence[float],
        rate_hz: float = 60.0,
        samples_per_frame: int = 6,
        speed: float = 1.0,
        seed: int = 0,
        noise: bool = True,
        creep_g_per_s: dict[int, float] | None = None,
    ) -> None:
        self.fd = fd
        self.n_plates = len(offsets)
        if len(grams_per_count) != self.n_plates:
            raise ValueError("offsets and grams_per_count must have one value per plate")
        self.offsets = np.asarray(offsets, dtype=np.float64)
        self.gpc = np.asarray(grams_per_count, dtype=np.float64)
        self.rate_hz = float(rate_hz)
        self.samples_per_frame = samples_per_frame
        self.speed = float(speed)
        self.encoder = BoardEncoder(board_id, self.n_plates)
        rng = np.random.default_rng(seed)
        self._noise = (
            ShelfSensorModel(sample_plate_params(rng, self.n_plates), self.rate_hz, rng)
            if noise
            else None
        )
        self.creep = dict(creep_g_per_s or {})
        self.stats = BoardStats()
        self._events: list[_LoadEvent] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._n = 0  # samples produced
        self.error: BaseException | None = None

    @property
    def board_time_s(self) -> float:
        return self._n / self.rate_hz

    def place(self, plate: int, grams: float, ramp_s: float = 0.6) -> None:
        """Put `grams` on plate index `plate` (0-based) now, pressed in by hand over `ramp_s`."""
        with self._lock:
            self._events.append(_LoadEvent(self.board_time_s, plate, float(grams), ramp_s))

    def true_load(self, times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """True grams (n, plates) and the shelf's disturbance (n,) at board times `times`."""
        load = np.zeros((len(times), self.n_plates))
        disturbance = np.zeros(len(times))
        with self._lock:
            events = list(self._events)
        for ev in events:
            dt = times - ev.t0
            on = dt >= 0
            ramp = np.clip(dt / ev.ramp_s, 0.0, 1.0)
            # A hand press: overshoot while pushing, then a damped wobble after release.
            press = 0.15 * np.sin(np.pi * ramp) * (dt < ev.ramp_s)
            after = np.maximum(dt - ev.ramp_s, 0.0)
            wobble = 0.02 * np.exp(-after / 0.25) * np.sin(2 * np.pi * 6.0 * after)
            wobble = np.where(dt > ev.ramp_s, wobble, 0.0)
            load[:, ev.plate] += np.where(on, ev.grams * (ramp + press + wobble), 0.0)
            disturbance += np.where(on & (dt < ev.ramp_s + 1.0), 1.0, 0.0)
        for plate, rate in self.creep.items():
            load[:, plate] += rate * times
        return load, disturbance

    def next_frame(self) -> bytes:
        """The next samples frame (advances board time by one frame)."""
        n = self.samples_per_frame
        times = (self._n + np.arange(n)) / self.rate_hz
        load, disturbance = self.true_load(times)
        observed = self._noise.observe(load, disturbance) if self._noise is not None else load
        counts = grams_to_counts(observed, self.offsets, self.gpc)
        self._n += n
        return self.encoder.samples(counts)

    def start(self) -> SimulatedShelfBoard:
        self._thread = threading.Thread(target=self._run, name="sim-shelf-board", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5.0)
            self._thread = None

    def __enter__(self) -> SimulatedShelfBoard:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _write(self, data: bytes) -> None:
        try:
            sent = os.write(self.fd, data)
        except BlockingIOError:
            sent = 0
        except OSError as exc:
            if exc.errno in (errno.EIO, errno.EBADF):  # the pty went away: stop quietly
                self._stop.set()
                return
            raise
        self.stats.bytes_written += sent
        self.stats.bytes_dropped += len(data) - sent

    def _run(self) -> None:
        try:
            started = time.monotonic()
            next_status = 0.0
            while not self._stop.is_set():
                if self.board_time_s >= next_status:
                    self._write(self.encoder.status(uptime_ms=int(self.board_time_s * 1000)))
                    next_status += 1.0
                self._write(self.next_frame())
                self.stats.frames += 1
                ahead = started + self.board_time_s / self.speed - time.monotonic()
                if ahead > 0:
                    self._stop.wait(ahead)
        except BaseException as exc:  # surfaced by tests through `error`
            self.error = exc
