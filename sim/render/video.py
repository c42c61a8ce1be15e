"""The camera streams of a simulated session: render every camera at its frame rate, through the
camera effects, into the session's `cameras/` (MJPG video + frame times) and the true boxes into
`truth/cameras/`.

Cameras are not synchronised: each has its own phase (first frame within one frame period of
t = 0), drops a seeded fraction of its frames (the gaps show in frames.csv), and has its own
light drift and steps. Same seed, same frames.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import yaml

from edge.config.layout import StoreLayout
from edge.session.model import CameraBox, CameraTruthFrame
from edge.session.writer import SessionWriter
from edge.vision.camera import CameraModel
from edge.vision.rig import resized
from sim.render.draw import CLASS_NAMES, CameraRenderer
from sim.render.effects import Lighting, LightingSpec, NoiseBank, apply_gain, motion_blur
from sim.render.poses import PoseSampler
from sim.render.scene import StaticScene
from sim.world import WorldResult

TRUTH_MIN_VISIBLE = 0.05  # objects less visible than this are left out of the truth files

Progress = Callable[[str, float], None]


@dataclass(frozen=True)
class CameraOptions:
    """How the simulated cameras record. None means: as the store config / calibration says."""

    fps: float | None = None  # default: each camera's `fps` in the store config
    image_size: tuple[int, int] | None = None  # (width, height); default: the calibration's
    drop_rate: float = 0.01  # fraction of frames the camera drops
    noise_sigma: float = 2.5  # sensor noise, grey levels (1 sigma)
    exposure_s: float = 1 / 30  # motion blur: how far a walker moves while the shutter is open
    lighting: LightingSpec = field(default_factory=LightingSpec)
    only: tuple[str, ...] | None = None  # record only these camera ids

    def describe(self) -> dict[str, object]:
        """For the session manifest's `extra`."""
        return {
            "fps": self.fps,
            "image_size": list(self.image_size) if self.image_size else None,
            "drop_rate": self.drop_rate,
            "noise_sigma": self.noise_sigma,
            "exposure_s": round(self.exposure_s, 6),
            "only": list(self.only) if self.only else None,
        }


def write_cameras(
    writer: SessionWriter,
    layout: StoreLayout,
    rig: dict[str, CameraModel],
    result: WorldResult,
    seed: int,
    options: CameraOptions,
    progress: Progress | None = None,
) -> int:
    """Render and write every camera of `rig` (config order); return the frames written."""
    report = progress or (lambda stage, fraction: None)
    scene = StaticScene.from_layout(layout)
    sampler = PoseSampler(result, seed)
    fps_of = {c.id: c.fps for c in layout.config.cameras}
    ids = [cid for cid in rig if options.only is None or cid in options.only]
    written = 0
    for ci, cid in enumerate(ids):
        model = rig[cid]
        if options.image_size is not None:
            model = resized(model, options.image_size)
        fps = float(options.fps or fps_of.get(cid, 15.0))
        w, h = model.image_size
        renderer = CameraRenderer(model, scene, floor_seed=seed)
        lighting = Lighting(options.lighting, seed, ci, result.end_t)
        noise = NoiseBank((h, w), options.noise_sigma, (seed, ci))
        rng = np.random.default_rng([seed, 83, ci])
        phase = float(rng.uniform(0.0, 1.0 / fps))
        stream = writer.camera_stream(
            cid,
            fps=fps,
            image_size=(w, h),
            calibration_text=yaml.safe_dump(model.to_dict(), sort_keys=False),
        )
        n = int((result.end_t - phase) * fps) + 1
        for i in range(n):
            t = phase + i / fps
            if rng.random() < options.drop_rate:
                continue
            out = renderer.render(sampler.poses(t), exposure_s=options.exposure_s)
            image = apply_gain(out.image, lighting.gain(t))
            image = motion_blur(image, out.blur, out.person_mask)
            image = noise.apply(image, rng)
            stream.write(i, t, image)
            boxes = tuple(
                CameraBox(CLASS_NAMES[o.cls], o.person_id, o.box, o.visible_fraction, o.side)
                for o in out.objects
                if o.visible_fraction >= TRUTH_MIN_VISIBLE
            )
            stream.write_truth(CameraTruthFrame(i, t, boxes))
            written += 1
            if i % 200 == 0:
                report("cameras", (ci + i / n) / len(ids))
    report("cameras", 1.0)
    return written
