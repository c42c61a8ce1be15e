"""The multi-camera floor tracker: per-camera person and hand boxes in, `tracks.jsonl` rows out.

Per time step:

1. **People to the floor.** Overhead cameras see a person's head and shoulders; the box centre is
   taken as the point at `head_height_m` (1.45 m: between the shoulders, about 1.40 m, and the top
   of the head, about 1.70 m, for an adult of average height; a box's centre lies closer to the
   shoulders because they are wider than the head). `CameraModel.pixel_to_floor(centre,
   head_height_m)` gives its floor position. A person 20 cm taller or shorter lands
   `0.2 * r / (H - 1.45)` metres off, where r is the horizontal distance from the camera and H the
   camera's height: 8 cm at 1.5 m from a 3.5 m high camera.
2. **Duplicates merged.** A person in the overlap of two cameras is seen twice. Detections from
   different cameras closer than `merge_radius_m` become one (score-weighted mean); one camera
   never sees one person twice, so two detections from the same camera are never merged. This is
   also the hand-over: the floor position is continuous across the cameras' boundary, so the
   tracker keeps one id. A box cut by the image border is used like a whole one: while half of
   the person is still in view its centre is pulled inwards by at most a quarter of their width
   (about 0.1 m), inside the merge radius (a test walks a shopper out of one view and into the
   next with cut boxes).
3. **Tracking** with the tracker core (`edge.tracking`) in floor metres (`PointSpace`).
4. **Hands.** Each hand box centre is a ray from its camera. Rays from different cameras that pass
   within `hand_ray_gap_m` of each other are one hand, triangulated (least squares over the
   rays). A hand seen by one camera only is placed where its ray crosses `hand_height_m` (1.0 m:
   the middle of the reach band between the lowest and the highest shelf); its floor position is
   then off by `dz * r / (H - z)` for a hand `dz` above or below that.
5. **Hands to people.** Each hand goes to the nearest tracked person within `arm_reach_m`
   (0.9 m, horizontal) at most two per person, nearest first; a hand nobody can reach is dropped.

Output: `edge.session.model.TrackFrame`, and `frame_row` turns it into exactly the `tracks.jsonl`
row (`{"t":..,"people":[{"id":..,"x":..,"y":..,"hands":[[x,y,z],...]}]}`, docs/session-format.md),
so the fusion consumes it unchanged. Everything is a pure function of the inputs (the caller
supplies `t`); durations inside the tracker are counted in steps.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from edge.session.model import PersonObs, TrackFrame
from edge.tracking import PointSpace, Tracker, TrackerConfig
from edge.tracking.kalman import point_noise
from edge.vision.camera import CameraModel

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

    head_height_m: float = 1.45
    merge_radius_m: float = 0.4
    hand_height_m: float = 1.0
    hand_ray_gap_m: float = 0.12
    arm_reach_m: float = 0.9
    gate_m: float = 1.0
    tracker: TrackerConfig = field(default_factory=_floor_tracker_default)


class FloorTracker:
    """Tracks people on the store floor from several overhead cameras."""

    def __init__(
        self, cameras: Sequence[CameraModel], config: FloorTrackerConfig | None = None
    ) -> None:
        self.cameras = {c.camera_id: c for c in cameras}
        if len(self.cameras) != len(cameras):
            raise ValueError("camera ids must be unique")
        self.config = config or FloorTrackerConfig()
        space = PointSpace(gate_m=self.config.gate_m, noise=point_noise(0.05, 0.02, 0.1))
        self.tracker = Tracker(self.config.tracker, space)

    def step(self, t: float, detections: Mapping[str, Sequence[CameraDetection]]) -> TrackFrame:
        """One time step: `detections` maps camera id -> that camera's detections at time t."""
        unknown = sorted(set(detections) - set(self.cameras))
        if unknown:
            raise ValueError(f"detections from unknown camera {unknown[0]!r}")
        points, scores = self.people_on_floor(detections)
        tracks = self.tracker.step(points, scores)
        hands = self.hands_in_space(detections)
        people_xy = tracks.positions
        owner = self._attach(hands, people_xy)
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
        cam: list[int] = []
        for ci, cam_id in enumerate(sorted(detections)):
            dets = [d for d in detections[cam_id] if d.cls == "person"]
            if not dets:
                continue
            boxes = np.array([d.box for d in dets], dtype=np.float64)
            centres = np.column_stack(
                [(boxes[:, 0] + boxes[:, 2]) / 2, (boxes[:, 1] + boxes[:, 3]) / 2]
            )
            xy = self.cameras[cam_id].pixel_to_floor(centres, self.config.head_height_m)
            for p, d in zip(xy, dets, strict=True):
                if np.isfinite(p).all():
                    xs.append(p)
                    sc.append(float(d.score))
                    cam.append(ci)
        if not xs:
            return np.zeros((0, 2)), np.zeros(0)
        return _merge(np.array(xs), np.array(sc), np.array(cam), self.config.merge_radius_m)

    # ------------------------------------------------------------------ hands

    def hands_in_space(self, detections: Mapping[str, Sequence[CameraDetection]]) -> np.ndarray:
        """Hand positions (N, 3) in the store frame: triangulated where two or more cameras see
        the hand, else on the plane z = `hand_height_m`."""
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
                s = (self.config.hand_height_m - o[i, 2]) / d[i, 2]
                out.append(o[i] + s * d[i])
        return np.array(out).reshape(-1, 3)

    def _attach(self, hands: np.ndarray, people: np.ndarray) -> list[list[int]]:
        owner: list[list[int]] = [[] for _ in range(people.shape[0])]
        if hands.shape[0] == 0 or people.shape[0] == 0:
            return owner
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


def _merge(
    xy: np.ndarray, scores: np.ndarray, cams: np.ndarray, radius: float
) -> tuple[np.ndarray, np.ndarray]:
    """Greedy, deterministic clustering: best detections first; a detection joins the nearest
    cluster within `radius` that has nothing from its camera yet; score-weighted mean."""
    order = np.lexsort((np.arange(len(scores)), -scores))
    members: list[list[int]] = []
    centres: list[np.ndarray] = []
    for i in order.tolist():
        best, best_d = -1, radius
        for k, ctr in enumerate(centres):
            if any(cams[j] == cams[i] for j in members[k]):
                continue
            dist = float(np.hypot(*(xy[i] - ctr)))
            if dist < best_d:
                best, best_d = k, dist
        if best < 0:
            members.append([i])
            centres.append(xy[i].copy())
        else:
            members[best].append(i)
            w = scores[members[best]]
            centres[best] = (xy[members[best]] * w[:, None]).sum(0) / w.sum()
    merged_scores = np.array([scores[m].max() for m in members])
    return np.array(centres), merged_scores


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
