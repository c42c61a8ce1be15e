"""Labelled frames of random store scenes, for training and evaluating a person/hand detector.

Each frame: one of the store's ceiling cameras (as calibrated in the store config's calibration
files, or the simulated rig of sim/render/rig.py when a camera has none or a StoreConfig object is
given; or a jittered variant of it: other position, height, yaw, field of view and distortion),
one to seven people placed on free floor, most of them at a gondola front reaching into a shelf,
some walking (motion blur), some carrying products, under random light, noise and JPEG quality.
People keep 0.55 m apart, centre to centre. With `crowd` above 0, each person after the first is,
with that probability, placed *beside* one already there instead: a second shopper 0.5 to 0.75 m
along the same shelf (as the session simulator lines shoppers up, sim/world.py SIDE_BY_SIDE_M), or
a walker passing 0.3 to 0.55 m from someone; these are the scenes where a detector trained on
spread-out people boxes two shoppers as one. Frame k depends only on (seed, crowd, k), so a
dataset can be cut into train and validation sets by frame index and regenerated exactly.

Boxes are the tight boxes of the visible pixels of each object (class 0 person: head, shoulders,
torso and legs seen from above, without the arms; class 1 hand). An object is labelled only when
at least MIN_VISIBLE_FRACTION of its silhouette is visible (not hidden by a gondola or another
person, not cut off by the image border) and its box is at least MIN_BOX_PX on both sides.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edge.config import load_store_config
from edge.config.layout import PlateRef, StoreLayout, gondola_to_floor
from edge.config.models import StoreConfig
from edge.vision.camera import CameraModel
from edge.vision.rig import config_dir, load_rig, resized
from sim.render.draw import CameraRenderer
from sim.render.effects import NoiseBank, apply_gain, jpeg, motion_blur
from sim.render.rig import RIG_DIST_COEFFS, RIG_HFOV_DEG, rig_camera, store_rig
from sim.render.scene import Look, PersonPose, StaticScene, product_colour, resting_hand

MIN_VISIBLE_FRACTION = 0.3
MIN_BOX_PX = 3.0
APART_M = 0.55  # centre to centre, people placed independently
BESIDE_ALONG_SHELF_M = (0.5, 0.75)  # a shopper placed beside another at the same shelf
PASSING_M = (0.3, 0.55)  # a walker placed beside someone
CLOSE_MIN_M = 0.3  # nobody closer than this, even when placed beside someone
VARIANTS_PER_CAMERA = 4  # variant 0 is the rig camera itself, the others are jittered copies
FRAME_DT_S = 1 / 15


@dataclass(frozen=True)
class _ShelfSpot:
    gondola: int
    stand_u: float  # metres along the gondola


@dataclass
class LabelledFrame:
    image: np.ndarray  # (H, W, 3) uint8 BGR
    boxes: np.ndarray  # (N, 5) float32: cls, x1, y1, x2, y2 in pixels; cls 0=person, 1=hand
    camera_id: str
    t: float


def render_labelled_frames(
    store: str | Path | StoreConfig,
    n_frames: int,
    seed: int,
    image_size: tuple[int, int] = (640, 480),
    crowd: float = 0.0,
) -> Iterator[LabelledFrame]:
    """Yield `n_frames` labelled frames of random scenes in `store` (preset name, config path or
    StoreConfig); deterministic per `seed` and `crowd` (the share of people placed beside another,
    module docstring; 0 gives the frames of earlier versions exactly). `image_size` is (width,
    height); another aspect ratio than the cameras' 4:3 crops or extends the view
    (edge.vision.rig.resized). Frames cost about 15-60 ms each at 640x480 once each camera
    variant's static scene (0.1-0.7 s) is built."""
    if isinstance(store, StoreConfig):
        config, rig = store, {}
    else:
        config = load_store_config(store)
        rig = load_rig(config, config_dir(store), require_all=False)
    if not 0.0 <= crowd <= 1.0:
        raise ValueError(f"crowd must be in [0, 1], got {crowd}")
    gen = _SceneGenerator(config, seed, image_size, rig, crowd)
    for k in range(n_frames):
        yield gen.frame(k)


class _SceneGenerator:
    def __init__(
        self,
        config: StoreConfig,
        seed: int,
        image_size: tuple[int, int],
        rig: dict[str, CameraModel],
        crowd: float = 0.0,
    ):
        self.config = config
        self.crowd = crowd
        self.layout = StoreLayout(config)
        self.scene = StaticScene.from_layout(self.layout)
        self.seed = seed
        self.image_size = (int(image_size[0]), int(image_size[1]))
        # The store's calibrated cameras where it has them, the simulated rig elsewhere.
        generated = {c.camera_id: c for c in store_rig(config, self.image_size)}
        self.cameras = [
            resized(rig.get(cid) or generated[cid], self.image_size) for cid in generated
        ]
        self.renderers: dict[tuple[int, int], CameraRenderer] = {}
        self.noise: dict[float, NoiseBank] = {}
        self.plates = sorted(self.layout.plate_geometry)
        self.products = [p.id for p in config.products]
        self.near_plates: dict[tuple[float, float], list[PlateRef]] = {}

    def _camera(self, index: int, variant: int) -> CameraModel:
        base = self.cameras[index]
        if variant == 0:
            return base
        rng = np.random.default_rng([self.seed, 13, index, variant])
        x, y, _z = base.centre
        w, d = self.config.floor.width_m, self.config.floor.depth_m
        jittered = (
            float(np.clip(x + rng.uniform(-1.0, 1.0), 0.3, w - 0.3)),
            float(np.clip(y + rng.uniform(-1.0, 1.0), 0.3, d - 0.3)),
            float(rng.uniform(2.9, 3.9)),
            float(rng.uniform(0, 360)),
        )
        k1 = float(rng.uniform(-0.16, -0.04))
        return rig_camera(
            base.camera_id,
            jittered,
            self.image_size,
            hfov_deg=float(rng.uniform(RIG_HFOV_DEG - 25, RIG_HFOV_DEG + 5)),
            dist_coeffs=(k1, RIG_DIST_COEFFS[1] * k1 / RIG_DIST_COEFFS[0], 0.0, 0.0, 0.0),
        )

    def _renderer(self, index: int, variant: int) -> CameraRenderer:
        key = (index, variant)
        if key not in self.renderers:
            self.renderers[key] = CameraRenderer(
                self._camera(index, variant), self.scene, floor_seed=self.seed + variant
            )
        return self.renderers[key]

    def _noise(self, sigma: float) -> NoiseBank:
        key = round(sigma, 0)
        if key not in self.noise:
            w, h = self.image_size
            self.noise[key] = NoiseBank((h, w), key, self.seed)
        return self.noise[key]

    def frame(self, k: int) -> LabelledFrame:
        rng = np.random.default_rng([self.seed, 12, k])
        index = int(rng.integers(len(self.cameras)))
        variant = int(rng.integers(VARIANTS_PER_CAMERA))
        renderer = self._renderer(index, variant)
        people = self._people(rng, renderer.camera)
        exposure = float(rng.uniform(1 / 120, 1 / 20))
        out = renderer.render(people, exposure_s=exposure)
        gain = float(rng.uniform(0.55, 1.35)) * (1.0 + rng.uniform(-0.08, 0.08, size=3))
        image = apply_gain(out.image, gain)
        image = motion_blur(image, out.blur, out.person_mask)
        image = self._noise(float(rng.uniform(0.0, 6.0))).apply(image, rng)
        image = jpeg(image, int(rng.integers(55, 96)))
        rows = [
            (o.cls, *o.box)
            for o in out.objects
            if o.visible_fraction >= MIN_VISIBLE_FRACTION
            and o.box[2] - o.box[0] >= MIN_BOX_PX
            and o.box[3] - o.box[1] >= MIN_BOX_PX
        ]
        boxes = np.array(rows, dtype=np.float32).reshape(-1, 5)
        return LabelledFrame(image, boxes, self.cameras[index].camera_id, round(k * FRAME_DT_S, 4))

    # ------------------------------------------------------------------------- people

    def _people(self, rng: np.random.Generator, camera: CameraModel) -> list[PersonPose]:
        n = int(rng.choice([1, 2, 2, 3, 3, 3, 4, 4, 5, 6, 7]))
        centre = camera.centre
        placed: list[PersonPose] = []
        spots: list[_ShelfSpot | None] = []  # where each placed shopper stands at a shelf
        attempts = 0
        while len(placed) < n and attempts < 60:
            attempts += 1
            person_id = len(placed) + 1
            look = Look.sample(rng)
            # No draw when crowd is 0, so such frames stay those of earlier versions.
            beside = self.crowd > 0 and bool(placed) and rng.random() < self.crowd
            if beside:
                anchor = int(rng.integers(len(placed)))
                pose, spot = self._beside(rng, person_id, look, placed[anchor], spots[anchor])
                min_gap = CLOSE_MIN_M
            elif rng.random() < 0.6:
                pose, spot = self._shopper_at_shelf(rng, person_id, look, centre)
                min_gap = APART_M
            else:
                pose, spot = self._walker(rng, person_id, look, centre), None
                min_gap = APART_M
            if pose is None:
                continue
            if any(math.hypot(pose.x - q.x, pose.y - q.y) < min_gap for q in placed):
                continue
            placed.append(pose)
            spots.append(spot)
        return placed

    def _beside(
        self,
        rng: np.random.Generator,
        person_id: int,
        look: Look,
        anchor: PersonPose,
        spot: _ShelfSpot | None,
    ) -> tuple[PersonPose | None, _ShelfSpot | None]:
        """A shopper at the anchor's shelf a step along it, or a walker passing the anchor."""
        if spot is not None:
            side = 1.0 if rng.random() < 0.5 else -1.0
            stand_u = spot.stand_u + side * float(rng.uniform(*BESIDE_ALONG_SHELF_M))
            refs = [r for r in self.plates if r.gondola == spot.gondola]
            # A plate in front of where they stand (the nearest span), on any shelf.
            gap = np.array(
                [
                    max(
                        self.layout.plate_geometry[r].u_start_m - stand_u,
                        stand_u - self.layout.plate_geometry[r].u_end_m,
                        0.0,
                    )
                    for r in refs
                ]
            )
            nearest = np.flatnonzero(gap <= gap.min() + 1e-9)
            ref = refs[int(nearest[int(rng.integers(len(nearest)))])]
            return self._shopper_at_shelf(rng, person_id, look, None, ref=ref, stand_u=stand_u)
        r = float(rng.uniform(*PASSING_M))
        a = float(rng.uniform(-math.pi, math.pi))
        at = (anchor.x + r * math.cos(a), anchor.y + r * math.sin(a))
        return self._walker(rng, person_id, look, None, at=at), None

    def _shopper_at_shelf(
        self,
        rng: np.random.Generator,
        person_id: int,
        look: Look,
        centre: np.ndarray | None,
        ref: PlateRef | None = None,
        stand_u: float | None = None,
    ) -> tuple[PersonPose | None, _ShelfSpot | None]:
        """A shopper at a plate near the camera at `centre`, or at plate `ref` standing at
        `stand_u` along its gondola, and where they stand; (None, None) where nobody fits."""
        if ref is None:
            assert centre is not None
            # A plate near this camera: the candidates whose front is within 3.5 m on the floor.
            key = (round(float(centre[0]), 3), round(float(centre[1]), 3))
            if key not in self.near_plates:
                self.near_plates[key] = [
                    r
                    for r in self.plates
                    if math.dist(self.layout.plate_geometry[r].front_xy, centre[:2]) < 3.5
                ]
            near = self.near_plates[key]
            if not near:
                return None, None
            ref = near[int(rng.integers(len(near)))]
        geo = self.layout.plate_geometry[ref]
        gondola = self.layout.gondolas[ref.gondola]
        if stand_u is None:
            u = float(rng.uniform(geo.u_start_m, geo.u_end_m))
            stand_u = u + float(rng.normal(0, 0.15))
        else:
            u = float(np.clip(stand_u + rng.normal(0, 0.15), geo.u_start_m, geo.u_end_m))
        x, y = gondola_to_floor(gondola, stand_u, -float(rng.uniform(0.3, 0.55)))
        if not self.scene.free((x, y), 0.22):
            return None, None
        fx, fy = gondola_to_floor(gondola, u, 0.0)
        heading = math.atan2(fy - y, fx - x) + float(rng.normal(0, 0.25))
        target = (*gondola_to_floor(gondola, u, 0.06), geo.height_m + 0.06)
        hands = {side: resting_hand(x, y, heading, look, side) for side in ("left", "right")}
        carrying: dict[str, tuple[int, int, int]] = {}
        reach_side = "left" if rng.random() < 0.5 else "right"
        if rng.random() < 0.8:
            pose = PersonPose(person_id, x, y, heading, look, hands["left"], hands["right"])
            s = pose.shoulder(reach_side)
            f = float(rng.uniform(0.3, 1.0))
            hands[reach_side] = tuple(s + f * (np.asarray(target) - s))  # type: ignore[assignment]
            if rng.random() < 0.4:
                carrying[reach_side] = product_colour(self._product(rng))
        other = "right" if reach_side == "left" else "left"
        if rng.random() < 0.3:
            # Holding something up to look at it: in front of the chest.
            hands[other] = self._in_front(x, y, heading, look, other, rng)
            carrying[other] = product_colour(self._product(rng))
        elif rng.random() < 0.25:
            carrying[other] = product_colour(self._product(rng))
        pose = PersonPose(
            person_id, x, y, heading, look, hands["left"], hands["right"], carrying=carrying
        )
        return pose, _ShelfSpot(ref.gondola, stand_u)

    def _walker(
        self,
        rng: np.random.Generator,
        person_id: int,
        look: Look,
        centre: np.ndarray | None,
        at: tuple[float, float] | None = None,
    ) -> PersonPose | None:
        """A walker somewhere near the camera at `centre`, or standing at `at`."""
        if at is None:
            assert centre is not None
            x = float(centre[0] + rng.uniform(-3.0, 3.0))
            y = float(centre[1] + rng.uniform(-2.5, 2.5))
        else:
            x, y = at
        if not self.scene.free((x, y), 0.25):
            return None
        heading = float(rng.uniform(-math.pi, math.pi))
        speed = float(rng.uniform(0.0, 1.8)) if rng.random() < 0.8 else 0.0
        swing = float(rng.uniform(-1, 1))
        hands = {}
        for side, sgn in (("left", 1.0), ("right", -1.0)):
            hx, hy, hz = resting_hand(x, y, heading, look, side)
            d = 0.18 * sgn * swing * min(speed, 1.0)
            hands[side] = (hx + d * math.cos(heading), hy + d * math.sin(heading), hz)
        carrying = {}
        for side in ("left", "right"):
            if rng.random() < 0.25:
                carrying[side] = product_colour(self._product(rng))
        if rng.random() < 0.2:
            side = "left" if rng.random() < 0.5 else "right"
            hands[side] = self._in_front(x, y, heading, look, side, rng)
        velocity = (speed * math.cos(heading), speed * math.sin(heading))
        return PersonPose(
            person_id, x, y, heading, look, hands["left"], hands["right"], velocity, carrying
        )

    def _in_front(
        self, x: float, y: float, heading: float, look: Look, side: str, rng: np.random.Generator
    ) -> tuple[float, float, float]:
        s = 1.0 if side == "left" else -1.0
        fwd = float(rng.uniform(0.25, 0.4))
        lat = s * float(rng.uniform(0.0, 0.15))
        return (
            x + fwd * math.cos(heading) - lat * math.sin(heading),
            y + fwd * math.sin(heading) + lat * math.cos(heading),
            look.shoulder_z - float(rng.uniform(0.1, 0.35)),
        )

    def _product(self, rng: np.random.Generator) -> str:
        return self.products[int(rng.integers(len(self.products)))]
