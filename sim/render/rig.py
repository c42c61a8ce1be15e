"""Where the simulated stores' ceiling cameras hang: a grid over the floor, looking down.

The preset store configs name `calibration/cam-N.yaml` for each camera; `sim.stores --write`
writes those files from `preset_rig`. The grid has one camera per cell, cells as square as the
floor allows, heights 3.2 to 3.6 m (seeded), small yaw offsets, so neighbouring views overlap
at head height and together cover the floor and the gondola fronts.

The lens: a 120 degree (horizontal) wide-angle with barrel distortion (-0.12, 0.02, 0, 0, 0). At
100 degrees the presets' few cameras see only 55-73% of the free floor at head height (1.7 m);
at 120 degrees 99-100% (docs/cameras.md has the table). `CameraModel.looking_down`'s default
coefficients (-0.28, 0.08, 0, 0, -0.01) are not usable here: that polynomial folds over at a
normalised radius of about 1.78, whose image is at about 1.07 f, so the outer part of a wide
image would see no point of the store; the rig's polynomial is monotonic at every radius.
"""

from __future__ import annotations

import math

import numpy as np

from edge.config.models import StoreConfig
from edge.vision.camera import CameraModel

RIG_DIST_COEFFS = (-0.12, 0.02, 0.0, 0.0, 0.0)
RIG_HFOV_DEG = 120.0
RIG_IMAGE_SIZE = (640, 480)
HEIGHT_RANGE_M = (3.2, 3.6)


def grid_shape(n: int, width: float, depth: float) -> tuple[int, int]:
    """Columns and rows of an n-camera grid whose cells are as square as possible."""
    best: tuple[float, tuple[int, int]] | None = None
    for cols in range(1, n + 1):
        if n % cols:
            continue
        rows = n // cols
        # Cells close to the 4:3 aspect of the image fill it best.
        score = abs(math.log((width / cols) / (depth / rows) / (4 / 3)))
        if best is None or score < best[0]:
            best = (score, (cols, rows))
    assert best is not None
    return best[1]


def rig_positions(
    n: int, width: float, depth: float, seed: int
) -> list[tuple[float, float, float, float]]:
    """(x, y, z, yaw_deg) of n ceiling cameras over a width x depth floor, row by row."""
    cols, rows = grid_shape(n, width, depth)
    rng = np.random.default_rng([seed, 41])
    out = []
    for r in range(rows):
        for c in range(cols):
            x = (c + 0.5) * width / cols + float(rng.uniform(-0.15, 0.15))
            y = (r + 0.5) * depth / rows + float(rng.uniform(-0.15, 0.15))
            z = float(rng.uniform(*HEIGHT_RANGE_M))
            yaw = float(rng.uniform(-4.0, 4.0))
            out.append((round(x, 3), round(y, 3), round(z, 3), round(yaw, 2)))
    return out


def store_rig(
    config: StoreConfig,
    image_size: tuple[int, int] = RIG_IMAGE_SIZE,
    seed: int = 0,
) -> list[CameraModel]:
    """Camera models for every camera of a store config, laid out by `rig_positions`."""
    ids = [c.id for c in config.cameras] or ["cam-1"]
    positions = rig_positions(len(ids), config.floor.width_m, config.floor.depth_m, seed)
    return [rig_camera(cam_id, pos, image_size) for cam_id, pos in zip(ids, positions, strict=True)]


def rig_camera(
    camera_id: str,
    pose: tuple[float, float, float, float],
    image_size: tuple[int, int] = RIG_IMAGE_SIZE,
    hfov_deg: float = RIG_HFOV_DEG,
    dist_coeffs: tuple[float, ...] = RIG_DIST_COEFFS,
) -> CameraModel:
    x, y, z, yaw = pose
    cam = CameraModel.looking_down(
        camera_id,
        (x, y, z),
        image_size=image_size,
        hfov_deg=hfov_deg,
        dist_coeffs=dist_coeffs,
        yaw_deg=yaw,
    )
    meta = {
        "source": "simulated rig (sim/render/rig.py)",
        "position_m": [x, y, z],
        "yaw_deg": yaw,
        "hfov_deg": hfov_deg,
    }
    return CameraModel(
        camera_id=cam.camera_id,
        image_size=cam.image_size,
        camera_matrix=cam.camera_matrix,
        dist_coeffs=cam.dist_coeffs,
        rvec=cam.rvec,
        tvec=cam.tvec,
        meta=meta,
    )
