"""The cameras of a store: every `cameras[]` entry of a StoreConfig loaded as a CameraModel.

A camera's `calibration:` path is relative to the folder of the config file that names it (for
the shipped presets: edge/config/stores/). Errors name the config key and the calibration file.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import numpy as np

from edge.config.loader import PRESETS_PACKAGE, preset_names
from edge.config.models import StoreConfig
from edge.vision.camera import CalibrationFileError, CameraModel


class RigError(ValueError):
    """A store's camera rig that cannot be loaded; the message names the camera and the file."""


def config_dir(store: str | Path) -> Path:
    """The folder calibration paths are relative to, for a preset name or a config file path."""
    if str(store) in preset_names():
        return Path(str(resources.files(PRESETS_PACKAGE)))
    return Path(store).resolve().parent


def load_rig(
    config: StoreConfig, base_dir: Path, *, require_all: bool = True
) -> dict[str, CameraModel]:
    """Camera id -> CameraModel for the config's cameras, in config order.

    A camera without a `calibration:` entry is an error unless `require_all` is False (then it
    is left out). The model's camera_id is the config's id, whatever the file says.
    """
    rig: dict[str, CameraModel] = {}
    for index, cam in enumerate(config.cameras):
        where = f"cameras[{index}] ({cam.id})"
        if not cam.calibration:
            if require_all:
                raise RigError(f"{where}: no calibration file: run `walkout calibrate` for it")
            continue
        path = base_dir / cam.calibration
        try:
            model = CameraModel.load(path)
        except CalibrationFileError as exc:
            raise RigError(f"{where}: calibration {cam.calibration}: {exc}") from None
        if model.camera_id and model.camera_id != cam.id:
            raise RigError(
                f"{where}: calibration {path}: camera_id is {model.camera_id!r}, "
                f"the config's camera is {cam.id!r}"
            )
        rig[cam.id] = model
    return rig


def resized(camera: CameraModel, image_size: tuple[int, int]) -> CameraModel:
    """The same camera delivering `image_size` frames.

    Same aspect ratio: the sensor scaled, same field of view. Another aspect ratio: scaled by the
    width, the height cropped or extended about the principal point (pixels stay square, the
    vertical field of view changes), so a 640x640 frame of a 640x480 camera is not stretched.
    """
    if tuple(camera.image_size) == tuple(image_size):
        return camera
    w0, h0 = camera.image_size
    w, h = int(image_size[0]), int(image_size[1])
    sx = w / w0
    sy = h / h0 if w * h0 == h * w0 else sx
    k = camera.camera_matrix.copy()
    # Pixel centres: u' + 0.5 = (u + 0.5) * s.
    k[0, 0] *= sx
    k[0, 1] *= sx
    k[0, 2] = (k[0, 2] + 0.5) * sx - 0.5
    k[1, 1] *= sy
    k[1, 2] = (k[1, 2] + 0.5) * sy - 0.5 + (h - h0 * sy) / 2
    return CameraModel(
        camera_id=camera.camera_id,
        image_size=(w, h),
        camera_matrix=k,
        dist_coeffs=np.array(camera.dist_coeffs, dtype=np.float64),
        rvec=camera.rvec,
        tvec=camera.tvec,
        meta=dict(camera.meta),
    )
