"""What the renderer draws: the store's fixed geometry and people in a pose at one instant.

The static part (floor, walls, gondolas with their shelves and product fronts) comes from the
store config; people are `PersonPose`s (body position, heading, height, hands in 3D, what they
carry) with a `Look` (hair, skin, clothing colours, body size) drawn from a seed per person.
Colours are BGR tuples of ints.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field

import numpy as np

from edge.config.layout import PlateRef, StoreLayout, gondola_to_floor
from edge.config.models import Gondola

Colour = tuple[int, int, int]

WALL_HEIGHT_M = 3.0
GONDOLA_TOP_EXTRA_M = 0.35  # gondola panel above its top shelf
SHELF_LIP_M = 0.035
# How far into a shelf a reaching hand finds free space: the simulator puts the hand's centre
# 0.06 m inside the front (sim/world.py `_hand_target`), plus the hand's radius.
SHELF_OPEN_M = 0.12
HAND_RADIUS_M = 0.05
HEAD_RADIUS_RANGE_M = (0.085, 0.105)

HAIR = ((20, 20, 25), (30, 40, 60), (40, 70, 110), (60, 110, 170), (130, 130, 135), (165, 165, 170))
SKIN = ((120, 150, 200), (100, 135, 185), (80, 110, 160), (60, 85, 130), (45, 60, 95))
CLOTHES = (
    (40, 40, 180), (180, 60, 40), (40, 140, 40), (30, 30, 30), (220, 220, 220), (40, 180, 220),
    (140, 60, 140), (90, 90, 90), (20, 90, 160), (160, 160, 60), (60, 40, 120), (200, 140, 90),
)  # fmt: skip
TROUSERS = ((50, 40, 30), (90, 60, 30), (40, 40, 40), (110, 110, 110), (60, 80, 120))


def product_colour(product_id: str) -> Colour:
    """A stable, saturated package colour per product id."""
    h = hashlib.sha256(product_id.encode()).digest()
    hsv = np.array([[[h[0] % 180, 140 + h[1] % 110, 110 + h[2] % 140]]], dtype=np.uint8)
    import cv2

    b, g, r = cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)[0, 0]
    return (int(b), int(g), int(r))


@dataclass(frozen=True)
class Face:
    """A planar polygon of the static scene: vertices (N, 3), colour, and its plane."""

    points: np.ndarray
    colour: Colour
    normal: np.ndarray
    offset: float  # plane: normal . p = offset
    kind: str  # "floor" | "wall" | "gondola" | "product" | "lip"


def _face(points: list[tuple[float, float, float]], colour: Colour, kind: str) -> Face:
    p = np.asarray(points, dtype=np.float64)
    n = np.cross(p[1] - p[0], p[2] - p[0])
    n = n / np.linalg.norm(n)
    return Face(p, colour, n, float(n @ p[0]), kind)


@dataclass
class StaticScene:
    """Fixed geometry of a store: floor extent, gates, and planar faces in the store frame."""

    width: float
    depth: float
    faces: list[Face]
    gate_zones: list[list[tuple[float, float]]]
    obstacles: list[np.ndarray]  # gondola footprints (4, 2), to keep people out
    # What hides an arm, hand or carried product reaching into a shelf (`reach_occluders`).
    reach_faces: list[Face] = field(default_factory=list)

    @classmethod
    def from_layout(cls, layout: StoreLayout) -> StaticScene:
        cfg = layout.config
        w, d = cfg.floor.width_m, cfg.floor.depth_m
        faces: list[Face] = [
            _face([(0, 0, 0), (w, 0, 0), (w, d, 0), (0, d, 0)], (0, 0, 0), "floor")
        ]
        wall = (175, 185, 190)
        h = WALL_HEIGHT_M
        corners = [(0, 0), (w, 0), (w, d), (0, d)]
        for i in range(4):
            (x0, y0), (x1, y1) = corners[i], corners[(i + 1) % 4]
            faces.append(_face([(x0, y0, 0), (x1, y1, 0), (x1, y1, h), (x0, y0, h)], wall, "wall"))
        obstacles = []
        reach_faces = list(faces)  # floor and walls
        for g in cfg.gondolas:
            top = max(s.height_m for s in g.shelves) + GONDOLA_TOP_EXTRA_M
            length, depth = g.length_m, g.depth_m

            def at(u: float, v: float, z: float, g=g) -> tuple[float, float, float]:
                x, y = gondola_to_floor(g, u, v)
                return (x, y, z)

            obstacles.append(
                np.array([at(0, 0, 0)[:2], at(length, 0, 0)[:2], at(length, depth, 0)[:2],
                          at(0, depth, 0)[:2]])
            )  # fmt: skip
            body = (70, 72, 78)
            first = len(faces)
            faces.append(
                _face([at(0, 0, top), at(length, 0, top), at(length, depth, top),
                       at(0, depth, top)], (200, 200, 196), "gondola")
            )  # fmt: skip
            # Front (v = 0), back (v = depth) and the two ends; vertices counter-clockwise seen
            # from outside so the normal points out.
            faces.append(_face([at(0, 0, 0), at(length, 0, 0), at(length, 0, top), at(0, 0, top)],
                               body, "gondola"))  # fmt: skip
            faces.append(
                _face([at(length, depth, 0), at(0, depth, 0), at(0, depth, top),
                       at(length, depth, top)], body, "gondola")
            )  # fmt: skip
            faces.append(_face([at(0, depth, 0), at(0, 0, 0), at(0, 0, top), at(0, depth, top)],
                               (90, 92, 98), "gondola"))  # fmt: skip
            faces.append(
                _face([at(length, 0, 0), at(length, depth, 0), at(length, depth, top),
                       at(length, 0, top)], (90, 92, 98), "gondola")
            )  # fmt: skip
            # Product fronts and shelf lips on the front face (coplanar, drawn after it).
            shelves = sorted(g.shelves, key=lambda s: s.height_m)
            for si, shelf in enumerate(shelves):
                gap = (shelves[si + 1].height_m if si + 1 < len(shelves) else top) - shelf.height_m
                for plate in shelf.plates:
                    ref = PlateRef(g.id, shelf.id, plate.id)
                    geo = layout.plate_geometry[ref]
                    pid = layout.plate_product.get(ref)
                    if pid is not None:
                        weight = layout.products[pid].weight_g
                        ph = min(0.9 * gap, 0.08 + 0.00018 * weight)
                        colour = product_colour(pid)
                    else:
                        ph, colour = 0.05, (60, 60, 60)
                    z0 = shelf.height_m + SHELF_LIP_M
                    u0, u1 = geo.u_start_m + 0.01, geo.u_end_m - 0.01
                    faces.append(
                        _face([at(u0, 0, z0), at(u1, 0, z0), at(u1, 0, z0 + ph),
                               at(u0, 0, z0 + ph)], colour, "product")
                    )  # fmt: skip
                faces.append(
                    _face([at(0, 0, shelf.height_m), at(length, 0, shelf.height_m),
                           at(length, 0, shelf.height_m + SHELF_LIP_M),
                           at(0, 0, shelf.height_m + SHELF_LIP_M)], (215, 215, 210), "lip")
                )  # fmt: skip
            # The back and the two end panels hide a reaching hand as they hide anything else.
            back_and_ends = faces[first + 2 : first + 5]
            reach_faces += back_and_ends + reach_occluders(g, top)
        gates = [list(gate.zone) for gate in cfg.gates]
        return cls(w, d, faces, gates, obstacles, reach_faces)

    def free(self, xy: tuple[float, float], clearance: float = 0.25) -> bool:
        """Whether a person of radius `clearance` can stand at xy (on the floor, off gondolas)."""
        x, y = xy
        if not (
            clearance <= x <= self.width - clearance and clearance <= y <= self.depth - clearance
        ):
            return False
        for box in self.obstacles:
            lo, hi = box.min(axis=0) - clearance, box.max(axis=0) + clearance
            if lo[0] <= x <= hi[0] and lo[1] <= y <= hi[1]:
                return False
        return True


def reach_occluders(gondola: Gondola, top: float) -> list[Face]:
    """The gondola as it hides a hand reaching into it: open at the front between the shelf
    boards to SHELF_OPEN_M deep, closed behind that.

    The faces drawn for the picture close the gondola at its front plane (product fronts and
    lips painted on it), which hid a hand 6 cm inside a shelf from every camera whose ray
    crossed the front more than about 0.2 m before reaching the hand: 47 of 55 contact instants
    (two-at-shelf seed 1, both cameras) had no hand box 30 % visible. A real shelf is open:
    a hand in it is seen between the boards, and hidden by the board above it only when the
    camera looks down steeply enough. So reaching parts are tested against these faces instead
    of the picture's top and front (its back and end panels serve both): the board of every
    shelf (horizontal, from the front to SHELF_OPEN_M in), the kick plate below the lowest
    shelf, and the gondola's closed part, its front plane SHELF_OPEN_M in and its top behind
    that."""
    length, depth, o = gondola.length_m, gondola.depth_m, SHELF_OPEN_M

    def at(u: float, v: float, z: float) -> tuple[float, float, float]:
        x, y = gondola_to_floor(gondola, u, v)
        return (x, y, z)

    grey = (70, 72, 78)  # not shown: these faces only give depth
    shelves = sorted(s.height_m for s in gondola.shelves)
    out = [
        _face([at(0, o, top), at(length, o, top), at(length, depth, top), at(0, depth, top)],
              grey, "gondola"),
        _face([at(0, o, 0), at(length, o, 0), at(length, o, top), at(0, o, top)], grey, "gondola"),
    ]  # fmt: skip
    if shelves[0] > 0.0:
        out.append(_face([at(0, 0, 0), at(length, 0, 0), at(length, 0, shelves[0]),
                          at(0, 0, shelves[0])], grey, "gondola"))  # fmt: skip
    for z in shelves:
        out.append(_face([at(0, 0, z), at(0, o, z), at(length, o, z), at(length, 0, z)], grey,
                         "gondola"))  # fmt: skip
    return out


@dataclass(frozen=True)
class Look:
    """How one person looks from above; body sizes in metres."""

    height: float  # top of the head above the floor
    head_radius: float
    shoulder_half: float  # half the shoulder width
    chest_half: float  # half the body's front-to-back depth at the shoulders
    hair: Colour
    skin: Colour
    shirt: Colour
    trousers: Colour
    cap: bool  # a cap or hat in the shirt's complementary colour

    @classmethod
    def sample(cls, rng: np.random.Generator) -> Look:
        height = float(np.clip(rng.normal(1.72, 0.09), 1.5, 1.98))
        build = float(rng.uniform(0.85, 1.2))
        shirt = CLOTHES[int(rng.integers(len(CLOTHES)))]
        jitter = rng.integers(-18, 19, size=3)
        shirt = tuple(int(np.clip(c + j, 0, 255)) for c, j in zip(shirt, jitter, strict=True))
        return cls(
            height=height,
            head_radius=float(rng.uniform(*HEAD_RADIUS_RANGE_M)),
            shoulder_half=0.2 * build * height / 1.72,
            chest_half=0.12 * build,
            hair=HAIR[int(rng.integers(len(HAIR)))],
            skin=SKIN[int(rng.integers(len(SKIN)))],
            shirt=shirt,  # type: ignore[arg-type]
            trousers=TROUSERS[int(rng.integers(len(TROUSERS)))],
            cap=bool(rng.random() < 0.12),
        )

    @property
    def shoulder_z(self) -> float:
        return 0.82 * self.height

    @property
    def hip_z(self) -> float:
        return 0.52 * self.height


@dataclass
class PersonPose:
    """One person at one instant. Hands are store points (x, y, z); `carrying` maps a hand
    ("left"/"right") to the colour of the product held in it."""

    person_id: int
    x: float
    y: float
    heading: float  # radians, direction the person faces (0 = +x)
    look: Look
    left_hand: tuple[float, float, float]
    right_hand: tuple[float, float, float]
    velocity: tuple[float, float] = (0.0, 0.0)  # m/s on the floor, for motion blur
    carrying: dict[str, Colour] = field(default_factory=dict)

    def shoulder(self, side: str) -> np.ndarray:
        s = 1.0 if side == "left" else -1.0
        lx, ly = -math.sin(self.heading), math.cos(self.heading)  # left of the heading
        return np.array(
            [self.x + s * lx * self.look.shoulder_half * 0.9,
             self.y + s * ly * self.look.shoulder_half * 0.9, self.look.shoulder_z - 0.03]
        )  # fmt: skip

    def hand(self, side: str) -> tuple[float, float, float]:
        return self.left_hand if side == "left" else self.right_hand


def resting_hand(
    x: float, y: float, heading: float, look: Look, side: str
) -> tuple[float, float, float]:
    """Where a hand hangs when it is not reaching: beside the hip, slightly forward."""
    s = 1.0 if side == "left" else -1.0
    lx, ly = -math.sin(heading), math.cos(heading)
    fx, fy = math.cos(heading), math.sin(heading)
    side_m = look.shoulder_half + 0.06
    return (
        x + s * lx * side_m + 0.05 * fx,
        y + s * ly * side_m + 0.05 * fy,
        0.47 * look.height,
    )
