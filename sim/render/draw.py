"""Draw what one ceiling camera sees: the static store once, people every frame.

The static scene (floor, walls, gondolas, product fronts) is rendered once per camera into a
colour image and an exact per-pixel depth (distance from the camera along each pixel's ray, from
ray-plane intersection of the face that won the z-test). People are drawn every frame in
painter's order (far from the camera first, and within a person legs, trunk, shoulders, arms,
carried product, hand, head) into a layer with a per-primitive depth; a person pixel shows where
its depth is nearer than the static depth, so gondolas hide people behind them. The picture's
gondola is closed at its front plane, but arms, hands and carried products reach into open
shelves: their pixels are tested against a second static depth, of the gondolas as they hide a
reaching hand (`scene.reach_occluders`: open between the shelf boards to SHELF_OPEN_M deep), and
each of these primitives is as near as its surface (its reference point's depth less its
radius). A carried product hangs below the hand, so the hand is drawn over it (the product was
drawn over the hand before, and hid it in 40 % of the instants a pick's hand was in a shelf).

Ground truth comes from the same pixels: every primitive also writes an object code into an id
layer, so an object's visible pixels are the ones that survived both tests. Its full silhouette
(not cut by the image border nor hidden) is drawn alone on a canvas of its own to give the
visible fraction.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from edge.vision.camera import CameraModel
from sim.render.project import NEAR_M, SUBPIXEL_SHIFT, Projector, fixed_point
from sim.render.scene import HAND_RADIUS_M, Colour, Face, PersonPose, StaticScene

ARM_RADIUS_M = 0.05  # the upper arm's ring radius at the shoulder (the forearm is thinner)
ITEM_HALF_M = 0.08  # half the carried product's largest side (_ITEM_CORNERS)
SHADOW_GAIN = 0.8  # floor brightness in a person's shadow
FLOOR_TEXTURE_PX_PER_M = 50
SKY = (40, 40, 44)  # pixels that see nothing (above the walls)

PERSON, HAND = 0, 1
CLASS_NAMES = ("person", "hand")

# Part codes inside a person's 16-value block of the id layer.
P_LEGS, P_TRUNK, P_SHOULDERS, P_HEAD = 0, 1, 2, 3
P_ARM = {"left": 4, "right": 5}
P_HAND = {"left": 6, "right": 7}
P_ITEM = {"left": 8, "right": 9}
BODY_PARTS = (P_LEGS, P_TRUNK, P_SHOULDERS, P_HEAD)
CODES_PER_PERSON = 16


@dataclass(frozen=True)
class ObjectTruth:
    """One labelled object in one frame. `box` is the tight box of its visible pixels
    (x1, y1, x2, y2; pixel edges, so x2 - x1 is the width in pixels)."""

    cls: int  # PERSON or HAND
    person_id: int
    side: str | None  # "left"/"right" for hands
    box: tuple[float, float, float, float]
    visible_fraction: float
    visible_px: int


@dataclass
class Rendered:
    image: np.ndarray  # (H, W, 3) uint8, before camera effects
    objects: list[ObjectTruth]
    blur: list[tuple[tuple[int, int, int, int], tuple[float, float]]]  # (bbox, pixel shift)
    person_mask: np.ndarray  # (H, W) bool: pixels showing a person


@dataclass
class _Prim:
    code: int
    uv: np.ndarray  # (N, 2) pixel polygon
    colour: Colour
    depth: float


class CameraRenderer:
    """Renders one camera. Build once per camera (the static scene costs about a second)."""

    def __init__(self, camera: CameraModel, scene: StaticScene, floor_seed: int = 0):
        self.camera = camera
        self.proj = Projector(camera)
        self.scene = scene
        self.width, self.height = camera.image_size
        w, h = self.width, self.height
        uu, vv = np.meshgrid(np.arange(w, dtype=np.float64), np.arange(h, dtype=np.float64))
        # Every pixel's ray, shared by the picture's and the reaching parts' depth.
        self._rays = camera.rays(np.column_stack([uu.ravel(), vv.ravel()])).reshape(h, w, 3)
        self.background, self.depth, self.floor = self._render_static(floor_seed)
        self.reach_depth = self._zbuffer(scene.reach_faces or scene.faces)[0].astype(np.float32)

    # ----------------------------------------------------------------------------- static

    def _render_static(self, floor_seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        w, h = self.width, self.height
        zbuf, winner = self._zbuffer(self.scene.faces)
        rays = self._rays
        centre = self.proj.centre
        image = np.empty((h, w, 3), np.uint8)
        image[:] = SKY
        floor = winner == 0
        if floor.any():
            with np.errstate(invalid="ignore"):
                pts = centre + np.where(floor, zbuf, 0.0)[..., None] * rays
            image[floor] = self._floor_colours(pts[..., :2], floor_seed)[floor]
        for index, face in enumerate(self.scene.faces):
            if index == 0:
                continue
            sel = winner == index
            if sel.any():
                image[sel] = _shade(face)
        return image, zbuf.astype(np.float32), floor

    def _zbuffer(self, faces: list[Face]) -> tuple[np.ndarray, np.ndarray]:
        """Per pixel: distance to the nearest face along the pixel's ray, and that face's index
        (-1: none)."""
        w, h = self.width, self.height
        rays = self._rays
        zbuf = np.full((h, w), np.inf)
        winner = np.full((h, w), -1, dtype=np.int32)
        centre = self.proj.centre
        for index, face in enumerate(faces):
            uv = self.proj.polygon(face.points, max_edge_m=0.25)
            if uv is None or not self.proj.in_view(uv):
                continue
            x0, y0 = np.floor(uv.min(axis=0)).astype(int)
            x1, y1 = np.ceil(uv.max(axis=0)).astype(int)
            x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w - 1), min(y1, h - 1)
            if x1 < x0 or y1 < y0:
                continue
            mask = np.zeros((y1 - y0 + 1, x1 - x0 + 1), np.uint8)
            cv2.fillPoly(mask, [fixed_point(uv, (x0, y0))], 1, cv2.LINE_8, SUBPIXEL_SHIFT)
            sub_rays = rays[y0 : y1 + 1, x0 : x1 + 1]
            denom = sub_rays @ face.normal
            with np.errstate(divide="ignore", invalid="ignore"):
                s = (face.offset - face.normal @ centre) / denom
            s[~(s > 0)] = np.inf
            sub_z = zbuf[y0 : y1 + 1, x0 : x1 + 1]
            # Product fronts and shelf lips are drawn onto their gondola's front plane: they win
            # ties with it.
            slack = 2e-3 if face.kind in ("product", "lip") else 0.0
            take = (mask > 0) & (s <= sub_z + slack) & np.isfinite(s)
            sub_z[take] = s[take]
            winner[y0 : y1 + 1, x0 : x1 + 1][take] = index
        return zbuf, winner

    def _floor_colours(self, xy: np.ndarray, seed: int) -> np.ndarray:
        tex = floor_texture(self.scene, seed)
        px = xy * FLOOR_TEXTURE_PX_PER_M
        mx = px[..., 0].astype(np.float32)
        my = (tex.shape[0] - 1 - px[..., 1]).astype(np.float32)
        return cv2.remap(tex, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)

    # ----------------------------------------------------------------------------- people

    def render(self, people: list[PersonPose], exposure_s: float = 1 / 30) -> Rendered:
        w, h = self.width, self.height
        visible = [p for p in people if self._maybe_visible(p)]
        if not visible:  # nobody near the view: the empty store, without the layer work
            return Rendered(self.background.copy(), [], [], np.zeros((h, w), bool))
        colour = np.zeros((h, w, 3), np.uint8)
        depth = np.full((h, w), np.inf, np.float32)
        reaching = np.zeros((h, w), np.uint8)  # 1 where an arm, hand or product was drawn last
        ids = np.full((h, w), -1, np.int32)
        shade = np.zeros((h, w), np.uint8)
        centre = self.proj.centre
        order = sorted(
            range(len(people)),
            key=lambda i: (
                -float(np.linalg.norm(np.array([people[i].x, people[i].y, 1.0]) - centre))
            ),
        )
        prims_by_person: dict[int, list[_Prim]] = {}
        for i in order:
            if not self._maybe_visible(people[i]):
                continue
            prims = self._person_prims(people[i], i)
            prims = [p for p in prims if self.proj.in_view(p.uv, margin=2)]
            if not prims:
                continue
            prims_by_person[i] = prims
            shadow = self._shadow(people[i])
            if shadow is not None:
                cv2.fillPoly(shade, [fixed_point(shadow)], 1, cv2.LINE_8, SUBPIXEL_SHIFT)
            for p in prims:
                pts = [fixed_point(p.uv)]
                cv2.fillPoly(colour, pts, p.colour, cv2.LINE_8, SUBPIXEL_SHIFT)
                cv2.fillPoly(depth, pts, float(p.depth), cv2.LINE_8, SUBPIXEL_SHIFT)
                cv2.fillPoly(ids, pts, int(p.code), cv2.LINE_8, SUBPIXEL_SHIFT)
                reach = p.code % CODES_PER_PERSON not in BODY_PARTS  # arm, hand, product
                cv2.fillPoly(reaching, pts, int(reach), cv2.LINE_8, SUBPIXEL_SHIFT)
        shown = depth < np.where(reaching > 0, self.reach_depth, self.depth)
        image = self.background.copy()
        # Soft ceiling light: a faint shadow on the floor around each person's feet.
        dark = (shade > 0) & self.floor & ~shown
        if dark.any():
            image[dark] = (image[dark] * SHADOW_GAIN).astype(np.uint8)
        image[shown] = colour[shown]
        ids[~shown] = -1
        objects: list[ObjectTruth] = []
        blur: list[tuple[tuple[int, int, int, int], tuple[float, float]]] = []
        for i, prims in sorted(prims_by_person.items()):
            person = people[i]
            objects.extend(self._truth(person, i, prims, ids))
            shift = self._blur_shift(person, exposure_s)
            if shift is not None:
                allp = np.concatenate([p.uv for p in prims])
                x0, y0 = np.floor(allp.min(axis=0)).astype(int) - 2
                x1, y1 = np.ceil(allp.max(axis=0)).astype(int) + 2
                box = (max(x0, 0), max(y0, 0), min(x1, w - 1), min(y1, h - 1))
                if box[2] > box[0] and box[3] > box[1]:
                    blur.append((box, shift))
        return Rendered(image, objects, blur, shown)

    def _truth(
        self, person: PersonPose, index: int, prims: list[_Prim], ids: np.ndarray
    ) -> list[ObjectTruth]:
        base = index * CODES_PER_PERSON
        out = []
        groups: list[tuple[int, str | None, tuple[int, ...]]] = [(PERSON, None, BODY_PARTS)]
        groups += [(HAND, side, (P_HAND[side],)) for side in ("left", "right")]
        for cls, side, parts in groups:
            polys = [p.uv for p in prims if p.code - base in parts]
            if not polys:
                continue
            allp = np.concatenate(polys)
            x0, y0 = np.floor(allp.min(axis=0)).astype(int) - 1
            x1, y1 = np.ceil(allp.max(axis=0)).astype(int) + 1
            canvas = np.zeros((y1 - y0 + 1, x1 - x0 + 1), np.uint8)
            for uv in polys:
                cv2.fillPoly(canvas, [fixed_point(uv, (x0, y0))], 1, cv2.LINE_8, SUBPIXEL_SHIFT)
            full = int(canvas.sum())
            if full == 0:
                continue
            cx0, cy0 = max(x0, 0), max(y0, 0)
            cx1, cy1 = min(x1, self.width - 1), min(y1, self.height - 1)
            if cx1 < cx0 or cy1 < cy0:
                continue
            crop = ids[cy0 : cy1 + 1, cx0 : cx1 + 1]
            mask = np.isin(crop, [base + p for p in parts])
            visible = int(mask.sum())
            if visible == 0:
                continue
            rows = np.flatnonzero(mask.any(axis=1))
            cols = np.flatnonzero(mask.any(axis=0))
            box = (
                float(cx0 + cols[0]),
                float(cy0 + rows[0]),
                float(cx0 + cols[-1] + 1),
                float(cy0 + rows[-1] + 1),
            )
            out.append(
                ObjectTruth(cls, person.person_id, side, box, min(1.0, visible / full), visible)
            )
        return out

    def _blur_shift(self, person: PersonPose, exposure_s: float) -> tuple[float, float] | None:
        vx, vy = person.velocity
        if math.hypot(vx, vy) * exposure_s < 1e-3:
            return None
        z = person.look.shoulder_z
        a = self.proj.project(np.array([[person.x, person.y, z]]))[0]
        b = self.proj.project(
            np.array([[person.x + vx * exposure_s, person.y + vy * exposure_s, z]])
        )[0]
        d = b - a
        if not np.isfinite(d).all() or math.hypot(*d) < 1.5:
            return None
        return (float(d[0]), float(d[1]))

    def _shadow(self, p: PersonPose) -> np.ndarray | None:
        """Pixel outline of the person's shadow on the floor (an ellipse around the feet)."""
        c, s = _CIRCLE[16]
        r = p.look.shoulder_half * 1.3
        ring = np.column_stack([p.x + r * c, p.y + 0.8 * r * s, np.full(16, 0.002)])
        uv = self.proj.project(ring)
        return uv if np.isfinite(uv).all() else None

    def _maybe_visible(self, p: PersonPose) -> bool:
        """Cheap cull: False when the person (feet to head, plus 1 m of reach) is certainly
        outside the clip square of the camera."""
        cam = self.proj.to_camera(np.array([[p.x, p.y, 0.0], [p.x, p.y, p.look.height]]))
        z = np.maximum(cam[:, 2], NEAR_M)
        n = cam[:, :2] / z[:, None]
        lim = self.proj.clip + 1.0 / z[:, None]
        return not bool(((n > lim).all(axis=0) | (n < -lim).all(axis=0)).any())

    def _person_prims(self, p: PersonPose, index: int) -> list[_Prim]:
        """The person's primitives in drawing order; all their 3D points go through one
        projection call (the per-call overhead dominated otherwise)."""
        base = index * CODES_PER_PERSON
        look = p.look
        hx, hy = math.cos(p.heading), math.sin(p.heading)
        # (part, 3D points, convex hull?, colour, depth reference point, depth slack)
        pieces: list[tuple[int, np.ndarray, bool, Colour, np.ndarray, float]] = []

        def ellipse(z: float, a: float, b: float, n: int = 16) -> np.ndarray:
            c, s = _CIRCLE[n]
            # a across the body (left-right), b along the heading (front-back)
            ex = p.x + b * c * hx - a * s * hy
            ey = p.y + b * c * hy + a * s * hx
            return np.column_stack([ex, ey, np.full(n, z)])

        hip = look.hip_z
        sz = look.shoulder_z
        sh, ch = look.shoulder_half, look.chest_half
        feet = ellipse(0.03, sh * 0.65, ch * 1.1)
        hips = ellipse(hip, sh * 0.72, ch * 0.95)
        pieces.append((P_LEGS, np.concatenate([feet, hips]), True, look.trousers,
                       np.array([p.x, p.y, hip / 2]), 0.0))  # fmt: skip
        chest = ellipse(sz - 0.04, sh * 0.95, ch)
        pieces.append((P_TRUNK, np.concatenate([hips, chest]), True, _scale(look.shirt, 0.78),
                       np.array([p.x, p.y, (hip + sz) / 2]), 0.0))  # fmt: skip
        pieces.append((P_SHOULDERS, ellipse(sz, sh, ch, n=20), False, look.shirt,
                       np.array([p.x, p.y, sz]), 0.0))  # fmt: skip
        for side in ("left", "right"):
            s = p.shoulder(side)
            hand = np.asarray(p.hand(side), dtype=np.float64)
            elbow = s + 0.5 * (hand - s)
            pieces.append((P_ARM[side], self._limb_ring(s, elbow, 0.05, 0.045), True,
                           _scale(look.shirt, 0.9), (s + elbow) / 2, ARM_RADIUS_M))  # fmt: skip
            pieces.append((P_ARM[side], self._limb_ring(elbow, hand, 0.042, 0.035), True,
                           look.skin, (elbow + hand) / 2, ARM_RADIUS_M))  # fmt: skip
            item = p.carrying.get(side)
            if item is not None:
                centre = hand + np.array([0.0, 0.0, -0.07])
                pieces.append((P_ITEM[side], centre + _ITEM_CORNERS, True, item, centre,
                               ITEM_HALF_M))  # fmt: skip
            pieces.append((P_HAND[side], self._sphere_ring(hand, HAND_RADIUS_M), False,
                           _scale(look.skin, 1.08), hand, HAND_RADIUS_M))  # fmt: skip
        head_c = np.array([p.x + 0.03 * hx, p.y + 0.03 * hy, look.height - look.head_radius])
        pieces.append((P_HEAD, self._sphere_ring(head_c, look.head_radius), False, look.skin,
                       head_c, 0.0))  # fmt: skip
        back = head_c + np.array([-0.018 * hx, -0.018 * hy, 0.012])
        hair = _scale(look.shirt, 0.5) if look.cap else look.hair
        pieces.append((P_HEAD, self._sphere_ring(back, look.head_radius * 0.98), False, hair,
                       head_c, 0.0))  # fmt: skip

        uv_all = self.proj.project(np.concatenate([q[1] for q in pieces]))
        refs = np.array([q[4] for q in pieces])
        depths = np.linalg.norm(refs - self.proj.centre, axis=1)
        prims: list[_Prim] = []
        at = 0
        for (part, pts, convex, colour, _ref, extra), d in zip(pieces, depths, strict=True):
            uv = uv_all[at : at + len(pts)]
            at += len(pts)
            if not np.isfinite(uv).all():
                continue
            if convex:
                uv = cv2.convexHull(uv.astype(np.float32)).reshape(-1, 2).astype(np.float64)
            if len(uv) >= 3:
                prims.append(_Prim(base + part, uv, colour, float(d) - extra))
        return prims

    def _sphere_ring(self, centre: np.ndarray, radius: float, n: int = 16) -> np.ndarray:
        """3D outline of a sphere as seen from the camera: the circle perpendicular to the
        viewing ray. (The exact silhouette circle, of radius r*sqrt(1-(r/d)^2), sits slightly
        towards the camera; at these distances r is right to 1%.)"""
        view = centre - self.proj.centre
        view = view / (np.linalg.norm(view) or 1.0)
        a = _cross(view, _X if abs(view[0]) < 0.9 else _Y)
        a /= np.linalg.norm(a)
        b = _cross(view, a)
        c, s = _CIRCLE[n]
        return centre + radius * (c[:, None] * a + s[:, None] * b)

    def _sphere(self, centre: np.ndarray, radius: float, n: int = 16) -> np.ndarray | None:
        """Pixel outline of a sphere (None if it is not in front of the camera)."""
        if n not in _CIRCLE:
            t = np.linspace(0, 2 * np.pi, n, endpoint=False)
            _CIRCLE[n] = (np.cos(t), np.sin(t))
        uv = self.proj.project(self._sphere_ring(np.asarray(centre, np.float64), radius, n))
        return uv if np.isfinite(uv).all() else None

    def _limb_ring(self, a: np.ndarray, b: np.ndarray, ra: float, rb: float) -> np.ndarray:
        """3D points whose projected convex hull is a tapered segment from a to b with
        rounded ends (radii in metres), facing the camera."""
        view = (a + b) / 2 - self.proj.centre
        axis = b - a
        side = _cross(axis, view)
        norm = np.linalg.norm(side)
        if norm < 1e-9:
            side = _cross(_Z, view)
            norm = np.linalg.norm(side) or 1.0
        side = side / norm
        unit = axis / (np.linalg.norm(axis) or 1.0)
        c, s = _HALF
        ends_a = a + ra * (c[:, None] * side + s[:, None] * -unit)
        ends_b = b + rb * (c[:, None] * -side + s[:, None] * unit)
        return np.concatenate([ends_a, ends_b])


_CIRCLE: dict[int, tuple[np.ndarray, np.ndarray]] = {
    n: (np.cos(np.linspace(0, 2 * np.pi, n, endpoint=False)),
        np.sin(np.linspace(0, 2 * np.pi, n, endpoint=False)))
    for n in (16, 20)
}  # fmt: skip
_HALF = (np.cos(np.linspace(0, np.pi, 6)), np.sin(np.linspace(0, np.pi, 6)))
_X, _Y, _Z = np.eye(3)
_ITEM_CORNERS = np.array(
    [[dx, dy, dz] for dx in (-0.05, 0.05) for dy in (-0.05, 0.05) for dz in (-0.08, 0.08)]
)


def _cross(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    # np.cross on 3-vectors costs ~10 us in argument handling; this is the same product.
    return np.array(
        [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]]
    )


def _scale(colour: Colour, f: float) -> Colour:
    return tuple(int(min(255, max(0, round(c * f)))) for c in colour)  # type: ignore[return-value]


def _shade(face: Face) -> Colour:
    # Light from the ceiling: horizontal faces brightest, vertical ones by their orientation.
    n = face.normal
    f = 1.0 if abs(n[2]) > 0.5 else 0.72 + 0.12 * abs(n[0]) + 0.06 * abs(n[1])
    return _scale(face.colour, f)


_TEXTURES: dict[tuple[object, ...], np.ndarray] = {}


def floor_texture(scene: StaticScene, seed: int) -> np.ndarray:
    """A tiled floor with gate zones marked, FLOOR_TEXTURE_PX_PER_M pixels per metre; row 0 is
    the far (max y) edge so the image reads like the plan."""
    # Keyed by what the texture is made of (not id(scene): ids are reused after collection).
    gates = tuple(tuple(map(tuple, zone)) for zone in scene.gate_zones)
    key = (scene.width, scene.depth, gates, seed)
    if key in _TEXTURES:
        return _TEXTURES[key]
    k = FLOOR_TEXTURE_PX_PER_M
    w, h = math.ceil(scene.width * k) + 1, math.ceil(scene.depth * k) + 1
    rng = np.random.default_rng([seed, 97])
    tile = 0.6
    nx, ny = math.ceil(scene.width / tile) + 1, math.ceil(scene.depth / tile) + 1
    shades = rng.normal(0, 6, size=(ny, nx))
    base = np.array([176, 180, 178], dtype=np.float32)
    yy, xx = np.mgrid[0:h, 0:w]
    fx, fy = xx / k, (h - 1 - yy) / k
    tx, ty = (fx // tile).astype(int), (fy // tile).astype(int)
    img = base + shades[ty, tx][..., None]
    grout = ((fx % tile) < 0.012) | ((fy % tile) < 0.012)
    img[grout] = (120, 124, 124)
    img += rng.normal(0, 3, size=(h, w, 1)).astype(np.float32)
    for zone in scene.gate_zones:
        poly = np.array([[x * k, h - 1 - y * k] for x, y in zone], dtype=np.float32)
        mask = np.zeros((h, w), np.uint8)
        cv2.fillPoly(mask, [np.round(poly).astype(np.int32)], 1)
        stripes = ((fx + fy) % 0.3) < 0.15
        sel = (mask > 0) & stripes
        img[sel] = img[sel] * 0.6 + np.array([40, 160, 200], np.float32) * 0.4
    out = np.clip(img, 0, 255).astype(np.uint8)
    if len(_TEXTURES) >= 8:  # a few megabytes each: keep the most recent only
        del _TEXTURES[next(iter(_TEXTURES))]
    _TEXTURES[key] = out
    return out
