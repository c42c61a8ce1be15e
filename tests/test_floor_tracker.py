"""The multi-camera floor tracker on synthetic detections: known 3D people and hands projected
through `CameraModel.looking_down` ceiling cameras, boxes taken from the projections."""

from __future__ import annotations

import json

import numpy as np
import pytest

from edge.session.model import PersonObs, TrackFrame
from edge.session.writer import _frame_row
from edge.vision.camera import CameraModel
from edge.vision.floor_tracker import (
    CameraDetection,
    FloorTracker,
    FloorTrackerConfig,
    cut_box_floor_point,
    frame_row,
    standing_floor_points,
)

CAM_HEIGHT = 3.5
RATE = 10.0  # steps per second


def cameras(*xs: float, distorted: bool = True) -> list[CameraModel]:
    extra = {} if distorted else {"dist_coeffs": (0.0, 0.0, 0.0, 0.0, 0.0)}
    return [
        CameraModel.looking_down(f"cam{i}", (x, 2.0, CAM_HEIGHT), **extra)  # type: ignore[arg-type]
        for i, x in enumerate(xs)
    ]


def in_view(cam: CameraModel, pts: np.ndarray) -> bool:
    """All points inside the image, and really in front of the lens: a strong distortion
    polynomial folds points far outside the field of view back into the image, so the pixel
    must lead back to the point."""
    if not cam.sees(pts).all():
        return False
    back = cam.pixel_to_floor(cam.project(pts), pts[:, 2])
    # 5 cm: the iterative undistortion is a few mm off near the border; a folded point is
    # metres off.
    return bool(np.allclose(back, pts[:, :2], atol=0.05))


def _box(
    cam: CameraModel, pts: np.ndarray, cut: bool = False
) -> tuple[float, float, float, float] | None:
    """Bounding box of the projected points. Whole people only by default; with `cut`, also
    people partly out of view, boxed like a detector does: the visible part, clipped to the
    image, as long as at least half of the points are visible."""
    if in_view(cam, pts):
        uv = cam.project(pts)
    elif cut:
        seen = np.array([in_view(cam, p[None, :]) for p in pts])
        if seen.sum() < len(pts) / 2:
            return None
        w, h = cam.image_size
        # Only meaningful without distortion (see the hand-over test): no point folds back.
        uv = np.clip(cam.project(pts), 0, [w - 1, h - 1])
    else:
        return None
    x1, y1 = uv.min(0)
    x2, y2 = uv.max(0)
    return (float(x1), float(y1), float(x2), float(y2))


def standing_body(x: float, y: float, height: float) -> np.ndarray:
    """Points on an adult standing at (x, y), head top at `height`: feet, hips, shoulders
    (0.28 m below the top) and head. Seen from above and obliquely, the detector's person box
    spans all of them (the labels of sim/render/dataset.py: the body without the arms)."""
    a = np.linspace(0, 2 * np.pi, 16, endpoint=False)

    def ring(z: float, rx: float, ry: float) -> np.ndarray:
        return np.column_stack([x + rx * np.cos(a), y + ry * np.sin(a), np.full(16, z)])

    return np.vstack(
        [
            ring(0.03, 0.14, 0.12),
            ring(0.9, 0.17, 0.11),
            ring(height - 0.28, 0.23, 0.12),
            ring(height - 0.1, 0.09, 0.1),
            [[x, y, height]],
        ]
    )


def detections(
    cams: list[CameraModel],
    people: list[tuple[float, float, float]],
    hands: list[tuple[float, float, float]] = (),  # type: ignore[assignment]
    cut: bool = False,
) -> dict[str, list[CameraDetection]]:
    out: dict[str, list[CameraDetection]] = {}
    for cam in cams:
        dets = []
        for x, y, height in people:
            b = _box(cam, standing_body(x, y, height), cut)
            if b is not None:
                dets.append(CameraDetection("person", b, 0.9))
        for hx, hy, hz in hands:
            if in_view(cam, np.array([[hx, hy, hz]])):
                u, v = cam.project(np.array([[hx, hy, hz]]))[0]
                dets.append(CameraDetection("hand", (u - 6, v - 6, u + 6, v + 6), 0.8))
        out[cam.camera_id] = dets
    return out


def by_id(frame: TrackFrame) -> dict[int, PersonObs]:
    return {p.id: p for p in frame.people}


def test_crossing_paths_keep_ids() -> None:
    """Two shoppers of different heights walk past each other 0.6 m apart, in the overlap of
    two cameras; each keeps one id and the positions stay within 15 cm of the truth."""
    cams = cameras(2.0, 4.5)
    ft = FloorTracker(cams)
    ids_a, ids_b = set(), set()
    for k in range(45):
        t = k / RATE
        a = (1.0 + 1.0 * t, 1.7, 1.80)
        b = (5.4 - 1.0 * t, 2.3, 1.60)
        frame = ft.step(t, detections(cams, [a, b]))
        for p in frame.people:
            da = np.hypot(p.x - a[0], p.y - a[1])
            db = np.hypot(p.x - b[0], p.y - b[1])
            assert min(da, db) < 0.15
            (ids_a if da < db else ids_b).add(p.id)
        if k >= 2:
            assert len(frame.people) == 2
    assert len(ids_a) == 1 and len(ids_b) == 1 and ids_a != ids_b


@pytest.mark.parametrize("cut", [False, True], ids=["whole-boxes", "boxes-cut-by-border"])
def test_hand_over_between_two_cameras_keeps_one_id(cut: bool) -> None:
    """A shopper walks from one camera's view into the next. With `cut`, the detector also boxes
    the visible part of a person leaving a view: those boxes must not become a second person."""
    # Default lenses see whole heads 1.5 m either side (overlap 3.0 to 3.5 m). Their distortion
    # polynomial folds over before the left and right image borders (at u = 605 of 640 on the
    # middle row), so nothing is ever cut there: the cut case uses distortion-free lenses, which
    # see 2.4 m either side at head height.
    cams = cameras(2.0, 6.0, distorted=False) if cut else cameras(2.0, 4.5)
    ft = FloorTracker(cams)
    ids = set()
    seen_by = set()
    n_cut = 0
    for k in range(90 if cut else 50):
        t = k / RATE
        x = 0.5 + 0.7 * t if cut else 0.7 + 1.0 * t
        person = (x, 2.2, 1.75)
        dets = detections(cams, [person], cut=cut)
        n_cut += sum(1 for d in dets.values() for det in d if det.box[0] <= 0 or det.box[2] >= 639)
        seen_by |= {c for c, d in dets.items() if d}
        frame = ft.step(t, dets)
        if k >= 2:
            assert len(frame.people) == 1, f"step {k}: {frame.people}"
            p = frame.people[0]
            assert np.hypot(p.x - x, p.y - 2.2) < 0.15
            ids.add(p.id)
    assert seen_by == {"cam0", "cam1"}
    assert ids == {1}
    assert (n_cut >= 3) == cut


def test_box_centres_of_standing_people_land_at_their_feet() -> None:
    """Across a distorted view, the midpoint model puts people of the assumed height within
    5 cm (the body is wider at the shoulders than at the feet, so the box is not quite
    symmetric about the body's axis) and people 15 cm taller or shorter within 11 cm; the box
    centre taken at one fixed height (the old model) is off by 0.18-0.30 m away from the
    camera's nadir."""
    (cam,) = cameras(3.0)
    spots = [(3.0, 2.0), (4.2, 2.0), (1.6, 1.1), (3.5, 3.2), (2.2, 2.9)]
    for height, tol in ((1.72, 0.05), (1.87, 0.09), (1.57, 0.11)):
        boxes = np.array([_box(cam, standing_body(x, y, height)) for x, y in spots])
        centres = (boxes[:, :2] + boxes[:, 2:]) / 2
        got = standing_floor_points(cam, centres, 1.72)
        err = np.hypot(*(got - np.array(spots)).T)
        assert (err < tol).all(), (height, err)
    fixed = cam.pixel_to_floor(centres, 1.45)
    assert np.hypot(*(fixed - np.array(spots)).T).max() > 0.15


def test_a_box_cut_by_the_border_is_fitted_on_its_uncut_sides() -> None:
    """A person half out of a distortion-free view: the visible part's centre taken as the
    midpoint is 0.3 m off; the fit to the three uncut sides is within 5 cm."""
    (cam,) = cameras(3.0, distorted=False)
    w, _h = cam.image_size
    x, y = 0.5, 2.0  # feet inside the left border, head beyond it
    uv = cam.project(standing_body(x, y, 1.72))
    assert uv[:, 0].min() < 0 < uv[:, 0].max()
    box = np.array([0.0, uv[:, 1].min(), min(uv[:, 0].max(), w - 1), uv[:, 1].max()])
    start = standing_floor_points(cam, ((box[:2] + box[2:]) / 2)[None], 1.72)[0]
    assert np.hypot(start[0] - x, start[1] - y) > 0.25
    fit = cut_box_floor_point(cam, box, np.array([False, True, True, True]), start, 1.72)
    assert np.hypot(fit[0] - x, fit[1] - y) < 0.05


def test_hands_attach_to_the_right_person_and_heights_are_triangulated() -> None:
    """Two shoppers 1.1 m apart in the overlap of two cameras reach forward; each hand goes to
    its own person and its triangulated height is within 5 cm."""
    cams = cameras(2.0, 4.5)
    ft = FloorTracker(cams)
    people = [(3.0, 2.0, 1.75), (4.1, 2.0, 1.65)]
    hands = [(3.15, 2.55, 1.25), (4.0, 2.6, 0.85), (3.7, 2.4, 1.45)]  # all in both views
    owner = [0, 1, 1]
    for k in range(4):
        frame = ft.step(k / RATE, detections(cams, people, hands))
    got = by_id(frame)
    assert len(got) == 2
    # Map each track to the true person nearest to it.
    who = {
        pid: int(np.argmin([np.hypot(p.x - q[0], p.y - q[1]) for q in people]))
        for pid, p in got.items()
    }
    assert sorted(who.values()) == [0, 1]
    for pid, p in got.items():
        mine = [h for h, o in zip(hands, owner, strict=True) if o == who[pid]]
        assert len(p.hands) == len(mine)
        for true in mine:
            err = min(np.linalg.norm(np.subtract(h, true)) for h in p.hands)
            assert err < 0.05, (pid, true, p.hands)


@pytest.mark.parametrize("follow_m", [0.15, 0.0], ids=["followed", "nearest-body-only"])
def test_a_reaching_hand_stays_with_its_owner_past_a_nearer_neighbour(follow_m: float) -> None:
    """Shopper A reaches diagonally past neighbour B, who stands closer to the shelf: at the
    shelf front the hand is 0.45 m from B's body and 0.71 m from A's. Followed from A's
    shoulder step by step (12 cm a step), it stays A's; by nearest body alone it ends on B."""
    cams = cameras(2.0, 4.5)
    ft = FloorTracker(cams, FloorTrackerConfig(hand_follow_m=follow_m))
    a, b = (3.0, 2.0, 1.75), (3.6, 2.25, 1.7)
    start, end = np.array([3.0, 2.15, 1.4]), np.array([3.35, 2.62, 1.0])
    owners = []
    for k in range(10):
        hand = start + min(k, 6) / 6 * (end - start)
        frame = ft.step(k / RATE, detections(cams, [a, b], [tuple(hand)]))
        for p in frame.people:
            if p.hands:
                assert np.linalg.norm(np.subtract(p.hands[0], hand)) < 0.05
                owners.append("a" if np.hypot(p.x - a[0], p.y - a[1]) < 0.2 else "b")
    assert len(owners) >= 8
    if follow_m > 0:
        assert set(owners) == {"a"}
    else:
        assert owners[-1] == "b"


def test_a_hand_seen_by_one_camera_sits_at_the_assumed_height() -> None:
    cams = cameras(2.0, 8.0)  # no overlap at hand height around x = 2.5
    ft = FloorTracker(cams)
    person = (2.5, 2.0, 1.7)
    hand_at_assumed = (2.6, 2.55, 1.0)
    hand_higher = (2.3, 2.5, 1.3)
    for k in range(3):
        dets = detections(cams, [person], [hand_at_assumed, hand_higher])
        frame = ft.step(k / RATE, dets)
    assert not dets["cam1"]
    (p,) = frame.people
    hands = sorted(p.hands, key=lambda h: h[0])
    assert len(hands) == 2
    # At the assumed height the floor position is exact ...
    assert np.allclose(hands[1], hand_at_assumed, atol=0.01)
    # ... 30 cm higher it is off by dz * r / (H - z) along the ray and z reads 1.0.
    assert hands[0][2] == pytest.approx(1.0)
    r = np.hypot(hand_higher[0] - 2.0, hand_higher[1] - 2.0)
    expected_off = 0.3 * r / (CAM_HEIGHT - 1.3)
    off = np.hypot(hands[0][0] - hand_higher[0], hands[0][1] - hand_higher[1])
    assert off == pytest.approx(expected_off, abs=0.01)


def test_hand_out_of_reach_is_dropped_and_at_most_two_hands_per_person() -> None:
    cams = cameras(3.0)
    ft = FloorTracker(cams)
    person = (3.0, 2.0, 1.7)
    hands = [(3.3, 2.0, 1.0), (2.7, 2.0, 1.0), (3.0, 2.4, 1.0), (4.2, 2.0, 1.0)]
    for k in range(3):
        frame = ft.step(k / RATE, detections(cams, [person], hands))
    (p,) = frame.people
    assert len(p.hands) == 2
    # The two nearest (0.3 m each) win over the third (0.4 m); 1.2 m away is out of reach.
    assert sorted(round(h[0], 1) for h in p.hands) == [2.7, 3.3]


def test_rows_are_exactly_the_session_format_and_deterministic() -> None:
    cams = cameras(2.0, 4.5)

    def run() -> list[str]:
        ft = FloorTracker(cams)
        rows = []
        for k in range(20):
            t = k / RATE
            dets = detections(cams, [(1.0 + t, 1.7, 1.8)], [(1.2 + t, 2.2, 1.1)])
            frame = ft.step(t, dets)
            row = frame_row(frame)
            assert row == _frame_row(frame, "tracks")  # the session writer's own row
            rows.append(json.dumps(row, separators=(",", ":")))
        return rows

    rows = run()
    assert rows == run()
    last = json.loads(rows[-1])
    assert list(last) == ["t", "people"]
    assert list(last["people"][0]) == ["id", "x", "y", "hands"]
    assert len(last["people"][0]["hands"][0]) == 3


def test_unknown_camera_is_an_error() -> None:
    ft = FloorTracker(cameras(2.0))
    with pytest.raises(ValueError, match="unknown camera 'nope'"):
        ft.step(0.0, {"nope": []})


def test_extra_boxes_on_one_body_become_one_person() -> None:
    """A weak detector boxes one body several times (the body, the body with the reaching arm,
    half of it) with IoU under its NMS threshold: one person, one track. Two neighbours whose
    boxes touch stay two."""
    (cam,) = cameras(3.0)
    body = _box(cam, standing_body(3.6, 2.6, 1.72))
    assert body is not None
    x1, y1, x2, y2 = body
    w = x2 - x1
    extra = [
        CameraDetection("person", body, 0.8),
        CameraDetection("person", (x1, y1, x2 + 0.6 * w, y2), 0.7),  # with the arm
        CameraDetection("person", (x1, y1 + 4, x1 + 0.7 * w, y2), 0.6),  # a part of it
    ]
    ft = FloorTracker([cam])
    for k in range(4):
        frame = ft.step(k / RATE, {"cam0": extra})
    assert len(frame.people) == 1
    assert np.hypot(frame.people[0].x - 3.6, frame.people[0].y - 2.6) < 0.1
    ft = FloorTracker([cam])
    for k in range(4):
        frame = ft.step(k / RATE, detections([cam], [(3.3, 2.6, 1.72), (3.85, 2.6, 1.72)]))
    assert len(frame.people) == 2
