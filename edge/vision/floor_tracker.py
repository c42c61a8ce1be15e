"""The multi-camera floor tracker: per-camera person and hand boxes in, `tracks.jsonl` rows out.

Per time step:

1. **People to the floor.** A person box is the whole body seen from above (head, shoulders,
   torso, legs: the labels of `sim/render/dataset.py`), so seen obliquely it stretches from the
   feet to the top of the head. Its centre is taken as the midpoint of the images of the feet
   (z = 0) and the head top (z = `person_height_m`, 1.72 m) of a person standing upright at
   (x, y); `standing_floor_points` solves that for (x, y) by Gauss-Newton through the camera's
   own projection, lens distortion included. (Taking the centre as one point at a fixed height
   does not work: it lies at the feet straight below the camera and near mid-body far from it,
   so two cameras placed one person up to 0.5 m apart, and the tracker made a second person of
   the duplicate: measured on rendered sessions with true boxes, median error 0.27 m with a
   fixed 1.45 m against 0.04 m with the midpoint.) A person 20 cm taller or shorter moves the
   midpoint by half of that height's parallax, `0.1 * r / (H - 1.72)`: 8 cm at 1.5 m from a
   3.5 m high camera.
   A box cut by the image border lost part of the body, so its centre is not the midpoint:
   for such a box (a side within `cut_margin_px`, 8 px, of the border: the detector's box of a
   body leaving the image stops a few pixels short of it) the person is fitted instead to the
   sides that are not cut (`cut_box_floor_point`: the box of a standing body, feet, shoulders and
   head rings, through the camera; least squares over the uncut sides). Still rougher (median
   0.2-0.3 m against 0.04 m for whole boxes, on the same rendered sessions).
   A box with whole sides but under half the body box expected at its floor point (a body partly
   hidden by a gondola or a neighbour) is dropped when most of it lies inside the image, in its
   camera, of a body another camera places from a full box (`_not_seen_elsewhere`): its centre
   is not the body's midpoint, and on two-at-shelf seed 2 (true boxes) one a third visible put a
   shopper 1.7 m from the other camera's view, a ghost that took the shopper over.
   Before any of that, one camera's extra boxes on one body are dropped (`_one_box_per_body`): the
   shipped detector often boxes a body two to four times (with and without the reaching arm,
   half of it) with IoU under its NMS threshold; a box sharing more than `same_camera_overlap`
   (0.7) of the smaller box with a better one goes. Without it a lone shopper at a shelf
   became two or three tracks, and the visit followed one that wandered into the shelf.
2. **Duplicates merged.** A person in the overlap of two cameras is seen twice. Detections from
   different cameras closer than `merge_radius_m` become one; one camera never sees one person
   twice, so two detections from the same camera are never merged. Whole boxes go first
   (score-weighted mean); a cut box joins a cluster of whole ones within `cut_merge_radius_m`
   and leaves its position to them (it made a second, ghost person at every view's border
   before), and a person seen only cut keeps the cut box's fit. This is also the hand-over: the
   floor position is continuous across the cameras' boundary, so the tracker keeps one id (a
   test walks a shopper out of one view and into the next with cut boxes).
3. **Tracking** with the tracker core (`edge.tracking`) in floor metres (`PointSpace`).
4. **Hands.** Each hand box centre is a ray from its camera. Rays from different cameras that pass
   within `hand_ray_gap_m` of each other are one hand, triangulated (least squares over the
   rays). A hand seen by one camera only is placed at the shelf it reaches into when the tracker
   has the store's shelf fronts (`shelf_fronts`, built by `store_shelf_fronts` from the config's
   gondolas): where its ray first enters a gondola's front face from the aisle side, within the
   gondola's length and its reach band (the lowest shelf's board to 0.25 m above the highest),
   `hand_in_shelf_m` (3 cm) behind the front. A reaching hand ends in the shelf (the simulator
   puts it 6 cm in); the box covers what the camera sees of it, the front hiding the rest, so
   its centre is nearer the front (median floor error 3-4 cm at 3 cm against 8-9 cm at 0 or
   6 cm, on the true boxes of three-at-shelf seeds 2 and 3). That point is used only if a
   tracked person is within `arm_reach_m` of it and, for a point below `hip_height_m` (0.8 m),
   the ray did not pass within `hand_at_hip_m` (0.35 m) of a tracked body at hip height on its
   way: seen from across an aisle, a hand hanging at the hip of a shopper standing at a shelf is
   on a ray that goes on into a low front within arm's reach, and hanging hands are far more
   common than reaching ones (`_at_shelf`). Otherwise, and without shelf fronts, it is placed
   where its ray crosses `hand_height_m` (1.0 m), off by `dz * r / (H - z)` on the floor for a
   hand `dz` above or below that: 0.3-0.6 m for a hand in a 1.35 m shelf. On the simulator's
   true boxes (one-camera boxes of hands reaching into a shelf, three-at-shelf seed 2, small
   store) the median floor error went from 0.28 m to 0.03 m, hanging hands unchanged; no receipt
   changed on the 8 bench_vision sessions. In the medium store, whose cameras see the middle
   aisle's shelves from 3-4 m away, 2-5 % of the hanging hands still go onto a low front
   (docs/tracker.md has the figures).
5. **Hands to people.** A hand within `hand_follow_m` (0.15 m, 3-D) of a hand of the last
   `hand_memory_steps` (3) steps stays with that hand's owner while the owner is tracked and
   within `arm_reach_m` (a reaching hand ends at the shelf front, often nearer to a neighbour
   standing closer to the shelf than to its owner). The other hands go to the nearest tracked
   person within `arm_reach_m` (0.9 m, horizontal), nearest pairs first; at most two per person;
   a hand nobody can reach is dropped.

Output: `edge.session.model.TrackFrame`, and `frame_row` turns it into exactly the `tracks.jsonl`
row (`{"t":..,"people":[{"id":..,"x":..,"y":..,"hands":[[x,y,z],...]}]}`, docs/session-format.md),
so the fusion consumes it unchanged. Everything is a pure function of the inputs (the caller
supplies `t`); durations inside the tracker are counted in steps.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from edge.config.layout import gondola_to_floor
from edge.config.models import Gondola
from edge.session.model import PersonObs, TrackFrame
from edge.tracking import PointSpace, Tracker, TrackerConfig
from edge.tracking.kalman import point_noise
from edge.vision.camera import CameraModel
from edge.vision.nms import box_overlap

DetectionClass = Literal["person", "hand"]


@dataclass(frozen=True)
class CameraDetection:
    """One detector output in one camera image: class, box x1 y1 x2 y2 (pixels), confidence."""

    cls: DetectionClass
    box: tuple[float, float, float, float]
    score: float


def _floor_tracker_default() -> TrackerConfig:
    # Steps of a 10 Hz vision loop: confirmed after 2 sightings (0.2 s), kept 3 s unseen (a
    # shopper bends behind a gondola end), reported at the prediction for 2 missed steps so one
    # dropped detection does not make a person vanish from the row.
    return TrackerConfig(
        high_score=0.5,
        low_score=0.2,
        birth_score=0.5,
        match_sim=0.3,
        lost_match_sim=0.3,
        low_match_sim=0.5,
        min_hits=2,
        max_age=30,
        direction_weight=0.0,
        report_unseen=2,
    )


@dataclass(frozen=True)
class FloorTrackerConfig:
    """Geometry assumptions (metres) and the tracker settings (steps) of the floor tracker."""

    person_height_m: float = 1.72
    merge_radius_m: float = 0.4
    cut_merge_radius_m: float = 1.0
    # The detector's box of a body leaving the image stops a few pixels short of the border
    # (2-14 px on the 8 bench_vision sessions' gate): at 2 px such a box counted as whole, its
    # centre put the shopper 0.4 m off and the tracker made a second person of them.
    cut_margin_px: float = 8.0
    same_camera_overlap: float = 0.7
    partial_box_share: float = 0.5  # a whole-sided box this much smaller than a body is partial
    partial_inside: float = 0.6  # ... and is that body if this share of it lies in its image
    hand_height_m: float = 1.0
    hand_in_shelf_m: float = 0.03  # one-camera hand at a shelf: this far behind its front
    hip_height_m: float = 0.8  # where a hand that is not reaching hangs ...
    hand_at_hip_m: float = 0.35  # ... this far (horizontal) from its body's centre, at most
    hand_ray_gap_m: float = 0.12
    arm_reach_m: float = 0.9
    hand_follow_m: float = 0.15
    hand_memory_steps: int = 3
    gate_m: float = 1.0
    tracker: TrackerConfig = field(default_factory=_floor_tracker_default)


@dataclass(frozen=True)
class ShelfFront:
    """The front face of one gondola, where a reaching hand ends: the vertical rectangle over
    the floor segment `a`-`b` (metres) from `z_low` to `z_high` (the reach band); `normal` is
    the unit floor vector out of the front, towards the aisle where the shopper stands."""

    a: tuple[float, float]
    b: tuple[float, float]
    normal: tuple[float, float]
    z_low: float
    z_high: float


# A hand on the top shelf holds a product standing on it: the band reaches this far above the
# top shelf's board.
SHELF_FRONT_ABOVE_TOP_M = 0.25


def store_shelf_fronts(
    gondolas: Iterable[Gondola], above_top_m: float = SHELF_FRONT_ABOVE_TOP_M
) -> tuple[ShelfFront, ...]:
    """The front face of every gondola (a store config's `gondolas`), its reach band from the
    lowest shelf's board to `above_top_m` above the highest."""
    fronts = []
    for g in gondolas:
        a = gondola_to_floor(g, 0.0, 0.0)
        b = gondola_to_floor(g, g.length_m, 0.0)
        out = gondola_to_floor(g, 0.0, -1.0)  # v < 0 is the shopper's side
        heights = [s.height_m for s in g.shelves]
        fronts.append(
            ShelfFront(
                a=a,
                b=b,
                normal=(out[0] - a[0], out[1] - a[1]),
                z_low=min(heights),
                z_high=max(heights) + above_top_m,
            )
        )
    return tuple(fronts)


class FloorTracker:
    """Tracks people on the store floor from several overhead cameras; `shelf_fronts` (the
    store's gondola fronts, `store_shelf_fronts(config.gondolas)`) lets it place a hand seen by one
    camera at the shelf it reaches into (`hands_in_space`); without them every such hand is on
    the plane z = `hand_height_m`."""

    def __init__(
        self,
        cameras: Sequence[CameraModel],
        config: FloorTrackerConfig | None = None,
        shelf_fronts: Sequence[ShelfFront] = (),
    ) -> None:
        self.cameras = {c.camera_id: c for c in cameras}
        if len(self.cameras) != len(cameras):
            raise ValueError("camera ids must be unique")
        self.config = config or FloorTrackerConfig()
        self.shelf_fronts = tuple(shelf_fronts)
        space = PointSpace(gate_m=self.config.gate_m, noise=point_noise(0.05, 0.02, 0.1))
        self.tracker = Tracker(self.config.tracker, space)
        # Hands of the last steps with their owner's track id and the steps since seen
        # (`_follow_hands`).
        self._hand_memory: list[tuple[np.ndarray, int, int]] = []

    def step(self, t: float, detections: Mapping[str, Sequence[CameraDetection]]) -> TrackFrame:
        """One time step: `detections` maps camera id -> that camera's detections at time t."""
        unknown = sorted(set(detections) - set(self.cameras))
        if unknown:
            raise ValueError(f"detections from unknown camera {unknown[0]!r}")
        points, scores = self.people_on_floor(detections)
        tracks = self.tracker.step(points, scores)
        people_xy = tracks.positions
        hands = self.hands_in_space(detections, people_xy)
        ids = [int(i) for i in tracks.ids.tolist()]
        owner = self._attach(hands, people_xy, self._follow_hands(hands, people_xy, ids))
        self._remember_hands(hands, owner, ids)
        people = []
        for k, pid in enumerate(tracks.ids.tolist()):
            mine = [tuple(float(v) for v in hands[h]) for h in owner[k]]
            x, y = people_xy[k]
            people.append(PersonObs(int(pid), float(x), float(y), tuple(mine)))  # type: ignore[arg-type]
        return TrackFrame(float(t), tuple(people))

    # ------------------------------------------------------------------ people

    def people_on_floor(
        self, detections: Mapping[str, Sequence[CameraDetection]]
    ) -> tuple[np.ndarray, np.ndarray]:
        """Merged floor points (N, 2) and scores (N,) of this step's person detections."""
        xs: list[np.ndarray] = []
        sc: list[float] = []
        cam: list[str] = []
        cut: list[bool] = []
        box_rows: list[np.ndarray] = []
        for cam_id in sorted(detections):
            dets = _one_box_per_body(
                [d for d in detections[cam_id] if d.cls == "person"],
                self.config.same_camera_overlap,
            )
            if not dets:
                continue
            camera = self.cameras[cam_id]
            boxes = np.array([d.box for d in dets], dtype=np.float64)
            centres = np.column_stack(
                [(boxes[:, 0] + boxes[:, 2]) / 2, (boxes[:, 1] + boxes[:, 3]) / 2]
            )
            xy = standing_floor_points(camera, centres, self.config.person_height_m)
            uncut = _uncut_sides(boxes, camera.image_size, self.config.cut_margin_px)
            for k in np.flatnonzero(~uncut.all(axis=1)).tolist():
                xy[k] = cut_box_floor_point(
                    camera, boxes[k], uncut[k], xy[k], self.config.person_height_m
                )
            for k, (p, d) in enumerate(zip(xy, dets, strict=True)):
                if np.isfinite(p).all():
                    xs.append(p)
                    sc.append(float(d.score))
                    cam.append(cam_id)
                    cut.append(not bool(uncut[k].all()))
                    box_rows.append(boxes[k])
        if not xs:
            return np.zeros((0, 2)), np.zeros(0)
        xy_all, cams, cuts = np.array(xs), np.array(cam), np.array(cut)
        keep = self._not_seen_elsewhere(xy_all, np.array(box_rows), cams, cuts)
        return _merge(
            xy_all[keep],
            np.array(sc)[keep],
            cams[keep],
            cuts[keep],
            self.config.merge_radius_m,
            self.config.cut_merge_radius_m,
        )

    def _not_seen_elsewhere(
        self, xy: np.ndarray, boxes: np.ndarray, cams: np.ndarray, cut: np.ndarray
    ) -> np.ndarray:
        """Which detections to keep: a partial box (whole sides, but less than
        `partial_box_share` of the body box expected at its own floor point: a body partly
        hidden by a gondola or another body) is dropped when it lies mostly (`partial_inside`)
        inside the image, in its camera, of a body another camera places from a full box. Its
        own floor point is unreliable (the box centre is not the body's midpoint): on two-at-shelf
        seed 2 a shopper a third visible in one camera was placed 1.7 m from where the other
        camera put them, and the ghost track born there took the shopper over."""
        h = self.config.person_height_m
        area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
        own = [_body_box(self.cameras[c], p, h) for c, p in zip(cams, xy, strict=True)]
        expected = np.array([(e[2] - e[0]) * (e[3] - e[1]) for e in own])
        partial = ~cut & (area > 0) & (area < self.config.partial_box_share * expected)
        full = ~cut & (area >= self.config.partial_box_share * expected)
        keep = np.ones(len(xy), dtype=bool)
        for i in np.flatnonzero(partial).tolist():
            camera = self.cameras[cams[i]]
            for j in np.flatnonzero(full & (cams != cams[i])).tolist():
                inter, _, _ = box_overlap(boxes[i], _body_box(camera, xy[j], h)[None, :])
                if inter[0] >= self.config.partial_inside * area[i]:
                    keep[i] = False
                    break
        return keep

    # ------------------------------------------------------------------ hands

    def hands_in_space(
        self,
        detections: Mapping[str, Sequence[CameraDetection]],
        people_xy: np.ndarray | None = None,
    ) -> np.ndarray:
        """Hand positions (N, 3) in the store frame: triangulated where two or more cameras see
        the hand. A hand seen by one camera goes where its ray first enters a shelf front
        (`shelf_front_point`, `hand_in_shelf_m` behind the front) when that is plausible
        (`_at_shelf`: a tracked person in reach, no hip on the way); else on the plane
        z = `hand_height_m`, as without shelf fronts. `people_xy`: the tracked people's floor
        positions (M, 2) of this step; without them no hand goes on a shelf front.

        One ray cannot tell where along it the hand is. The rule bets on a shelf front only
        where the ray enters one inside its reach band and someone could be reaching into it,
        so a hand in the middle of an aisle stays on the plane, as does one whose ray passes
        a body at hip height before it meets a low front: a hand hanging there is likelier
        than one reaching low past it."""
        origins: list[np.ndarray] = []
        dirs: list[np.ndarray] = []
        cam: list[int] = []
        for ci, cam_id in enumerate(sorted(detections)):
            dets = [d for d in detections[cam_id] if d.cls == "hand"]
            if not dets:
                continue
            camera = self.cameras[cam_id]
            boxes = np.array([d.box for d in dets], dtype=np.float64)
            centres = np.column_stack(
                [(boxes[:, 0] + boxes[:, 2]) / 2, (boxes[:, 1] + boxes[:, 3]) / 2]
            )
            for ray in camera.rays(centres):
                origins.append(camera.centre)
                dirs.append(ray)
                cam.append(ci)
        if not origins:
            return np.zeros((0, 3))
        o, d, c = np.array(origins), np.array(dirs), np.array(cam)
        groups = _group_rays(o, d, c, self.config.hand_ray_gap_m)
        out = []
        for g in groups:
            if len(g) >= 2:
                out.append(_triangulate(o[g], d[g]))
            else:
                i = g[0]
                if d[i, 2] >= -1e-9:  # a ray that never comes down
                    continue
                at_shelf = self._at_shelf(o[i], d[i], people_xy)
                if at_shelf is not None:
                    out.append(at_shelf)
                    continue
                s = (self.config.hand_height_m - o[i, 2]) / d[i, 2]
                out.append(o[i] + s * d[i])
        return np.array(out).reshape(-1, 3)

    def _at_shelf(
        self, origin: np.ndarray, ray: np.ndarray, people_xy: np.ndarray | None
    ) -> np.ndarray | None:
        """The point where a one-camera hand ray first enters a shelf front (the smallest ray
        parameter: coming down from the ceiling, a later crossing is behind a gondola), or None
        when it enters none, when nobody tracked is within `arm_reach_m` (horizontal) of that
        point, or when the point is below `hip_height_m` and the ray passed within
        `hand_at_hip_m` of a tracked body at that height.

        The hip test is for a camera far from the hand (across an aisle): its ray falls slowly,
        so one hanging at the hip of a shopper standing at a shelf goes on into a low shelf's
        front within arm's reach, up to about 0.8 m further on (the medium store's middle
        aisle, docs/tracker.md). The simulator's hanging hands sit
        0.27 m from the body centre at 0.47 of the body height (0.8 m for 1.72 m); a hand
        reaching into a low shelf from afar on nearly the same line of sight is given up with
        them (it stays on the plane, as before)."""
        if not self.shelf_fronts or people_xy is None or len(people_xy) == 0:
            return None
        hits = [
            hit
            for front in self.shelf_fronts
            if (hit := shelf_front_point(origin, ray, front, self.config.hand_in_shelf_m))
            is not None
        ]
        if not hits:
            return None
        _, point = min(hits, key=lambda h: h[0])
        if _nearest(people_xy, point) > self.config.arm_reach_m:
            return None
        hip_z = self.config.hip_height_m
        if point[2] < hip_z:
            # The ray passed hip height before the front, in the aisle: a hand hanging there
            # beside a body is far likelier than one reaching low past it (most hands are not
            # reaching), and from a distant camera the two are up to a metre apart.
            hip = origin + (hip_z - origin[2]) / ray[2] * ray
            if _nearest(people_xy, hip) <= self.config.hand_at_hip_m:
                return None
        return point

    def _follow_hands(self, hands: np.ndarray, people: np.ndarray, ids: list[int]) -> list[int]:
        """Per hand, the index of the person it stays with, or -1: a hand within
        `hand_follow_m` (3-D) of a hand of the last `hand_memory_steps` steps (closest pairs
        first, one to one) keeps that hand's owner while the owner is tracked and in reach.

        A reaching hand leaves its owner's shoulder and ends at the shelf front, where a
        neighbour standing closer to the shelf is often nearer to it than its owner: on the
        simulator's true boxes (three-at-shelf seed 1) 7 of 42 well placed reaching hands went
        to the nearest other person, and giving those hands to their true owner alone took
        that session's receipt F1 from 0.681 to 0.894 (6 wrong-person lines to 1)."""
        follow = [-1] * hands.shape[0]
        if not self._hand_memory or hands.shape[0] == 0:
            return follow
        index = {pid: k for k, pid in enumerate(ids)}
        old = np.array([h for h, _, _ in self._hand_memory])
        dist = np.linalg.norm(hands[:, None, :] - old[None, :, :], axis=2)
        taken_old: set[int] = set()
        for flat in np.argsort(dist, axis=None, kind="stable").tolist():
            h, m = divmod(flat, old.shape[0])
            if dist[h, m] > self.config.hand_follow_m:
                break
            if follow[h] >= 0 or m in taken_old:
                continue
            k = index.get(self._hand_memory[m][1])
            if k is None:
                continue
            reach = float(np.hypot(*(hands[h, :2] - people[k])))
            if reach <= self.config.arm_reach_m:
                follow[h] = k
                taken_old.add(m)
        return follow

    def _remember_hands(self, hands: np.ndarray, owner: list[list[int]], ids: list[int]) -> None:
        """Keep this step's attached hands, and for a few steps the unseen ones (a hand missed
        in one view for a step keeps its owner when it comes back)."""
        kept = [(hands[h].copy(), ids[k], 0) for k, hs in enumerate(owner) for h in hs]
        near = [h for h, _, _ in kept]
        for h, pid, age in self._hand_memory:
            if age + 1 >= self.config.hand_memory_steps:
                continue
            if any(np.linalg.norm(h - n) <= self.config.hand_follow_m for n in near):
                continue
            kept.append((h, pid, age + 1))
        self._hand_memory = kept

    def _attach(
        self, hands: np.ndarray, people: np.ndarray, follow: Sequence[int] | None = None
    ) -> list[list[int]]:
        """Hand indices per person: hands that follow a hand of the last steps (`follow`, the
        person index or -1) stay with its owner; the rest go nearest pairs first."""
        owner: list[list[int]] = [[] for _ in range(people.shape[0])]
        if hands.shape[0] == 0 or people.shape[0] == 0:
            return owner
        follow = follow if follow is not None else [-1] * hands.shape[0]
        for h, k in enumerate(follow):
            if k >= 0 and len(owner[k]) < 2:
                owner[k].append(h)
        dist = np.hypot(
            hands[:, None, 0] - people[None, :, 0], hands[:, None, 1] - people[None, :, 1]
        )
        # Nearest pairs first, so a person's two hands are the two closest ones in reach.
        for flat in np.argsort(dist, axis=None, kind="stable").tolist():
            h, p = divmod(flat, people.shape[0])
            if dist[h, p] > self.config.arm_reach_m:
                break
            if any(h in hs for hs in owner) or len(owner[p]) >= 2:
                continue
            owner[p].append(h)
        return owner


def standing_floor_points(
    camera: CameraModel, centres: np.ndarray, height_m: float, iterations: int = 4
) -> np.ndarray:
    """Floor (x, y) (N, 2) of upright people of height `height_m` whose boxes have these centres
    (N, 2): where the midpoint of the images of their feet and head top falls on the centre.

    Gauss-Newton from the point where the centre's ray crosses half the height (already within
    a few centimetres), with a numerical Jacobian (1 cm steps) of the camera's projection, so the
    lens distortion is honoured. A centre that cannot be solved (a ray that never comes down, a
    point that leaves the front of the lens) gives NaN.
    """
    uv = np.asarray(centres, dtype=np.float64).reshape(-1, 2)
    n = len(uv)
    xy = camera.pixel_to_floor(uv, height_m / 2)
    if n == 0:
        return xy
    step = 0.01
    offsets = np.array([[0.0, 0.0], [step, 0.0], [0.0, step]])
    for _ in range(iterations):
        probe = xy[:, None, :] + offsets[None, :, :]  # (N, 3, 2): the point and its two steps
        feet = np.concatenate([probe, np.zeros((n, 3, 1))], axis=2)
        head = np.concatenate([probe, np.full((n, 3, 1), height_m)], axis=2)
        img = camera.project(np.concatenate([feet, head], axis=1).reshape(-1, 3))
        img = img.reshape(n, 6, 2)
        mid = (img[:, :3] + img[:, 3:]) / 2  # (N, 3, 2)
        jac = np.stack([mid[:, 1] - mid[:, 0], mid[:, 2] - mid[:, 0]], axis=2) / step
        residual = mid[:, 0] - uv
        ok = np.isfinite(jac).all(axis=(1, 2)) & np.isfinite(residual).all(axis=1)
        ok &= np.abs(np.linalg.det(np.where(ok[:, None, None], jac, np.eye(2)))) > 1e-9
        delta = np.zeros_like(xy)
        if ok.any():
            delta[ok] = np.linalg.solve(jac[ok], residual[ok][:, :, None])[:, :, 0]
        xy = xy - delta
        xy[~ok] = np.nan
    return xy


def _one_box_per_body(dets: Sequence[CameraDetection], overlap: float) -> list[CameraDetection]:
    """One camera's person boxes without the extra boxes a weak detector puts on one body (the
    body alone, the body with the reaching arm, half of it: their IoU is below the NMS
    threshold, but the smaller box lies mostly inside the larger). Best score first; a box is
    dropped when more than `overlap` of the smaller of it and a kept box is shared. Bodies
    do not overlap that much in an overhead view."""
    kept: list[CameraDetection] = []
    for d in sorted(dets, key=lambda d: -d.score):
        if kept:
            inter, area, areas = box_overlap(np.array(d.box), np.array([k.box for k in kept]))
            smaller = np.minimum(area, areas)
            if ((smaller > 0) & (inter > overlap * smaller)).any():
                continue
        kept.append(d)
    return kept


def _uncut_sides(boxes: np.ndarray, image_size: tuple[int, int], margin: float) -> np.ndarray:
    """(N, 4) bool: which sides (x1, y1, x2, y2) of each box are clear of the image border."""
    w, h = image_size
    return np.column_stack(
        [
            boxes[:, 0] > margin,
            boxes[:, 1] > margin,
            boxes[:, 2] < w - 1 - margin,
            boxes[:, 3] < h - 1 - margin,
        ]
    )


_RING = np.linspace(0.0, 2.0 * np.pi, 12, endpoint=False)


def _body_box(camera: CameraModel, xy: np.ndarray, height_m: float) -> np.ndarray:
    """The image box (x1, y1, x2, y2) of a standing body at `xy`: feet, shoulder and head rings
    and the head top, as the renderer's labels box the person (unclipped)."""
    rings = [(0.03, 0.15), (height_m - 0.28, 0.22), (height_m - 0.1, 0.1)]
    pts = [
        np.column_stack(
            [xy[0] + r * np.cos(_RING), xy[1] + r * np.sin(_RING), np.full(len(_RING), z)]
        )
        for z, r in rings
    ]
    uv = camera.project(np.vstack([*pts, [[xy[0], xy[1], height_m]]]))
    return np.concatenate([uv.min(axis=0), uv.max(axis=0)])


def cut_box_floor_point(
    camera: CameraModel,
    box: np.ndarray,
    uncut: np.ndarray,
    start: np.ndarray,
    height_m: float,
    iterations: int = 6,
) -> np.ndarray:
    """Floor (x, y) of a standing person whose box is cut by the image border: the body box
    (`_body_box`) fitted by Gauss-Newton to the `uncut` sides only, from `start`. NaN when the
    fit leaves the camera's front or no side is left."""
    if not np.isfinite(start).all() or not uncut.any():
        return np.full(2, np.nan)
    xy = np.asarray(start, dtype=np.float64).copy()
    step = 0.01
    for _ in range(iterations):
        r = (_body_box(camera, xy, height_m) - box)[uncut]
        jac = np.column_stack(
            [
                ((_body_box(camera, xy + d, height_m) - box)[uncut] - r) / step
                for d in (np.array([step, 0.0]), np.array([0.0, step]))
            ]
        )
        if not (np.isfinite(jac).all() and np.isfinite(r).all()):
            return np.full(2, np.nan)
        xy = xy - np.linalg.lstsq(jac, r, rcond=None)[0]
    return xy


def _merge(
    xy: np.ndarray,
    scores: np.ndarray,
    cams: np.ndarray,
    cut: np.ndarray,
    radius: float,
    cut_radius: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Greedy, deterministic clustering: whole boxes first, best detections first; a detection
    joins the nearest cluster that has nothing from its camera yet, within `radius` (a cut box:
    within `cut_radius` of a cluster with a whole box); the centre is the score-weighted mean of
    the cluster's whole boxes, or of its cut ones when it has no whole one."""
    order = np.lexsort((np.arange(len(scores)), -scores, cut))
    members: list[list[int]] = []
    centres: list[np.ndarray] = []
    for i in order.tolist():
        best, best_d = -1, np.inf
        for k, ctr in enumerate(centres):
            if any(cams[j] == cams[i] for j in members[k]):
                continue
            whole = any(not cut[j] for j in members[k])
            reach = cut_radius if cut[i] and whole else radius
            dist = float(np.hypot(*(xy[i] - ctr)))
            if dist < reach and dist < best_d:
                best, best_d = k, dist
        if best < 0:
            members.append([i])
            centres.append(xy[i].copy())
        else:
            members[best].append(i)
            used = [j for j in members[best] if not cut[j]] or members[best]
            w = scores[used]
            centres[best] = (xy[used] * w[:, None]).sum(0) / w.sum()
    merged_scores = np.array([scores[m].max() for m in members])
    return np.array(centres), merged_scores


def _nearest(people_xy: np.ndarray, point: np.ndarray) -> float:
    """Horizontal distance from `point` to the nearest of the people (M, 2), M >= 1."""
    return float(np.hypot(people_xy[:, 0] - point[0], people_xy[:, 1] - point[1]).min())


def shelf_front_point(
    origin: np.ndarray, ray: np.ndarray, front: ShelfFront, inset_m: float
) -> tuple[float, np.ndarray] | None:
    """(s, point) for a ray o + s d that enters the gondola through `front`: from the aisle
    side, within the front's length and reach band; s where it passes the front face, and the
    point where it reaches the plane `inset_m` further in (a hand in a shelf is a few
    centimetres in). None when it does not (heading away from the front or along it, the front
    behind the camera, beside the gondola, above or below the band). The band and the length
    are checked on the face itself: a steep ray can fall several centimetres in those last
    centimetres, below the lowest board, with a hand on it."""
    n = np.asarray(front.normal, dtype=np.float64)
    a = np.asarray(front.a, dtype=np.float64)
    into = float(ray[:2] @ n)
    if into > -1e-9:  # only a ray moving from the aisle into the front
        return None
    out_of_face = float((origin[:2] - a) @ n)  # the camera's distance out of the face plane
    s = -out_of_face / into
    if s <= 0:
        return None
    face = origin + s * ray
    if not front.z_low <= face[2] <= front.z_high:
        return None
    along = np.asarray(front.b, dtype=np.float64) - a
    u = float((face[:2] - a) @ along) / float(along @ along)
    if not 0.0 <= u <= 1.0:
        return None
    return s, origin + (-inset_m - out_of_face) / into * ray


def _closest_gap(o1: np.ndarray, d1: np.ndarray, o2: np.ndarray, d2: np.ndarray) -> float:
    """Shortest distance between two rays (lines) o + s d."""
    n = np.cross(d1, d2)
    nn = float(np.linalg.norm(n))
    if nn < 1e-9:  # parallel
        return float(np.linalg.norm(np.cross(o2 - o1, d1)))
    return abs(float(np.dot(o2 - o1, n))) / nn


def _group_rays(o: np.ndarray, d: np.ndarray, cams: np.ndarray, gap: float) -> list[list[int]]:
    """Group rays of one hand: closest pairs first, one ray per camera in a group."""
    n = len(o)
    pairs = []
    for i in range(n):
        for j in range(i + 1, n):
            if cams[i] != cams[j]:
                g = _closest_gap(o[i], d[i], o[j], d[j])
                if g <= gap:
                    pairs.append((g, i, j))
    pairs.sort()
    group_of = list(range(n))
    groups: dict[int, list[int]] = {i: [i] for i in range(n)}
    for _, i, j in pairs:
        gi, gj = group_of[i], group_of[j]
        if gi == gj:
            continue
        if {int(cams[k]) for k in groups[gi]} & {int(cams[k]) for k in groups[gj]}:
            continue
        groups[gi].extend(groups.pop(gj))
        for k in groups[gi]:
            group_of[k] = gi
    return [sorted(g) for _, g in sorted(groups.items())]


def _triangulate(o: np.ndarray, d: np.ndarray) -> np.ndarray:
    """The point nearest (least squares) to all rays o + s d (unit d)."""
    a = np.zeros((3, 3))
    b = np.zeros(3)
    for oi, di in zip(o, d, strict=True):
        m = np.eye(3) - np.outer(di, di)
        a += m
        b += m @ oi
    return np.linalg.solve(a, b)


def frame_row(frame: TrackFrame) -> dict[str, Any]:
    """The `tracks.jsonl` row of a frame, rounded like the session writer (t to 0.1 ms,
    positions to 1 mm)."""

    def m3(v: float) -> float:
        r = round(float(v), 3)
        return 0.0 if r == 0 else r

    return {
        "t": round(float(frame.t), 4),
        "people": [
            {
                "id": int(p.id),
                "x": m3(p.x),
                "y": m3(p.y),
                "hands": [[m3(c) for c in h] for h in p.hands],
            }
            for p in frame.people
        ],
    }
