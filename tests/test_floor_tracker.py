"""The multi-camera floor tracker on synthetic detections: known 3D people and hands projected
through `CameraModel.looking_down` ceiling cameras, boxes taken from the projections."""

from __future__ import annotations

import json

import numpy as np
import pytest

from edge.config import load_store_config
from edge.session.model import PersonObs, TrackFrame
from edge.session.writer import _frame_row
from edge.vision.camera import CameraModel
from edge.vision.floor_tracker import (
    CameraDetection,
    FloorTracker,
    FloorTrackerConfig,
    ShelfFront,
    cut_box_floor_point,
    frame_row,
    shelf_front_point,
    standing_floor_points,
    store_shelf_fronts,
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


# Two gondolas across a 1.6 m aisle, shelves at 0.35, 0.75, 1.15 and 1.55 m (reach band 0.35 to
# 1.80 m): NORTH's front runs along y = 2.6 facing -y, SOUTH's along y = 1.0 facing +y.
NORTH = ShelfFront(a=(1.0, 2.6), b=(4.6, 2.6), normal=(0.0, -1.0), z_low=0.35, z_high=1.80)
SOUTH = ShelfFront(a=(4.6, 1.0), b=(1.0, 1.0), normal=(0.0, 1.0), z_low=0.35, z_high=1.80)
AISLE = (NORTH, SOUTH)
# A reaching hand is 6 cm inside the front and 6 cm above the board (sim/world.py); what a
# camera sees of it, the front hiding the rest, is centred about 3 cm inside: `hand_in_shelf_m`.
IN_SHELF = 0.03
ABOVE_BOARD = 0.06


def _one_hand(cam: CameraModel, hand: tuple[float, float, float]) -> dict[str, list]:
    assert in_view(cam, np.array([hand]))
    u, v = cam.project(np.array([hand]))[0]
    return {cam.camera_id: [CameraDetection("hand", (u - 6, v - 6, u + 6, v + 6), 0.8)]}


@pytest.mark.parametrize(
    ("hand", "person"),
    [
        ((3.0, 2.6 + IN_SHELF, 1.55 + ABOVE_BOARD), (3.0, 2.15)),
        ((3.4, 2.6 + IN_SHELF, 0.35 + ABOVE_BOARD), (3.4, 2.15)),
        ((1.3, 1.0 - IN_SHELF, 1.55 + ABOVE_BOARD), (1.3, 1.45)),
        ((2.9, 1.0 - IN_SHELF, 0.35 + ABOVE_BOARD), (2.9, 1.45)),
    ],
    ids=["high-shelf", "low-shelf", "high-shelf-across-the-aisle", "low-shelf-across-the-aisle"],
)
def test_a_one_camera_hand_in_a_shelf_is_placed_at_the_shelf_front(
    hand: tuple[float, float, float], person: tuple[float, float]
) -> None:
    """A hand reaching into a high or a low shelf, on either side of the aisle, seen by one
    camera: on the shelf front within 5 cm of the truth (and given to the shopper); without
    the layout, on the 1.0 m plane, 0.26-0.40 m off on the floor."""
    (cam,) = cameras(2.0)
    people = np.array([person])
    with_layout = FloorTracker([cam], shelf_fronts=AISLE).hands_in_space(
        _one_hand(cam, hand), people
    )
    without = FloorTracker([cam]).hands_in_space(_one_hand(cam, hand), people)
    assert with_layout.shape == without.shape == (1, 3)
    assert np.hypot(*(with_layout[0, :2] - hand[:2])) < 0.05
    assert abs(with_layout[0, 2] - hand[2]) < 0.05
    assert np.hypot(*(without[0, :2] - hand[:2])) > 0.2
    assert without[0, 2] == pytest.approx(1.0)
    # Through the whole step, the shopper carries the hand where it is.
    ft = FloorTracker([cam], shelf_fronts=AISLE)
    for k in range(3):
        dets = detections([cam], [(*person, 1.72)], [hand])
        frame = ft.step(k / RATE, dets)
    (p,) = frame.people
    assert len(p.hands) == 1
    assert np.linalg.norm(np.subtract(p.hands[0], hand)) < 0.05


@pytest.mark.parametrize(
    ("camera_xyz", "hand", "person"),
    [
        ((2.0, 2.0, 3.5), (3.05, 1.54, 0.86), (3.0, 1.8)),
        ((2.0, 2.0, 3.5), (2.95, 2.06, 0.86), (3.0, 1.8)),
        # A camera over NORTH: the ray crosses NORTH's front plane at 1.6 m, in the band,
        # but coming out of the gondola, not into it.
        ((3.0, 3.5, 3.5), (3.0, 2.35, 0.9), (3.0, 2.1)),
    ],
    ids=["mid-aisle-towards-south", "mid-aisle-towards-north", "camera-over-the-gondola"],
)
def test_a_hand_hanging_at_the_hip_stays_on_the_assumed_height(
    camera_xyz: tuple[float, float, float],
    hand: tuple[float, float, float],
    person: tuple[float, float],
) -> None:
    """A hand at the hip seen by one camera, of a shopper in the middle of the aisle (0.8 m
    from either gondola) or seen from a camera over the gondola: the layout changes nothing,
    the hand is where its ray crosses 1.0 m, off by `dz r / (H - z)` as without it."""
    cam = CameraModel.looking_down("cam0", camera_xyz)
    p = _placed_as_without_fronts(cam, person, hand)
    r = np.hypot(hand[0] - camera_xyz[0], hand[1] - camera_xyz[1])
    expected_off = (1.0 - hand[2]) * r / (camera_xyz[2] - hand[2])
    off = np.hypot(p.hands[0][0] - hand[0], p.hands[0][1] - hand[1])
    assert off == pytest.approx(expected_off, abs=0.01)


def test_a_ray_out_of_a_gondola_does_not_enter_its_front() -> None:
    """The camera-over-the-gondola case above does cross NORTH's front plane within its length
    and band: only the direction (out of the gondola) keeps it off the front."""
    cam = CameraModel.looking_down("cam0", (3.0, 3.5, 3.5))
    hand = np.array([3.0, 2.35, 0.9])
    ray = cam.rays(cam.project(hand[None]))[0]
    s = (2.6 + IN_SHELF - cam.centre[1]) / ray[1]
    crossing = cam.centre + s * ray
    assert s > 0 and NORTH.z_low < crossing[2] < NORTH.z_high
    assert 1.0 < crossing[0] < 4.6
    assert shelf_front_point(cam.centre, ray, NORTH, IN_SHELF) is None
    flipped = ShelfFront(NORTH.b, NORTH.a, (0.0, 1.0), NORTH.z_low, NORTH.z_high)
    assert shelf_front_point(cam.centre, ray, flipped, -IN_SHELF) is not None


@pytest.mark.parametrize(
    ("person", "on_front"),
    [((4.0, 2.15), True), ((3.0, 1.8), False), (None, False)],
    ids=["shopper-at-the-shelf", "nearest-shopper-out-of-reach", "nobody-tracked"],
)
def test_a_one_camera_hand_goes_on_a_shelf_front_only_within_arm_reach_of_someone(
    person: tuple[float, float] | None, on_front: bool
) -> None:
    """One ray, through a point 8 cm before NORTH's front at 1.0 m, that enters the front and
    is placed at 0.47 m: with a shopper standing at the shelf (0.64 m from that point) the hand
    is put on the front; with the nearest shopper 1.65 m from it (more than `arm_reach_m`), or
    nobody tracked, on the 1.0 m plane."""
    (cam,) = cameras(2.0)
    hand = (4.0, 2.52, 1.0)
    ray = cam.rays(cam.project(np.array([hand])))[0]
    hit = shelf_front_point(cam.centre, ray, NORTH, FloorTrackerConfig().hand_in_shelf_m)
    assert hit is not None
    front = hit[1]
    assert 0.42 < front[2] < 0.52
    people = np.zeros((0, 2)) if person is None else np.array([person])
    (got,) = FloorTracker([cam], shelf_fronts=AISLE).hands_in_space(_one_hand(cam, hand), people)
    if on_front:
        assert got == pytest.approx(front, abs=1e-9)
    else:
        assert got == pytest.approx(hand, abs=0.01)


def test_a_hand_seen_by_two_cameras_is_still_triangulated_with_the_layout() -> None:
    """A hand 8 cm before NORTH's front, seen by two cameras, is triangulated within 1 cm; each
    camera's ray alone would have put it on the front, 0.2 m or more away."""
    cams = cameras(2.0, 4.5)
    hand = (3.2, 2.52, 1.2)
    ft = FloorTracker(cams, shelf_fronts=AISLE)
    people = np.array([[3.2, 2.1]])
    for cam in cams:
        (alone,) = ft.hands_in_space(_one_hand(cam, hand), people)
        assert np.linalg.norm(alone - hand) > 0.2
    both = {c: d for cam in cams for c, d in _one_hand(cam, hand).items()}
    (got,) = ft.hands_in_space(both, people)
    assert np.linalg.norm(got - hand) < 0.01


def test_shelf_fronts_of_a_store_config() -> None:
    """The medium store's first two gondolas stand back to back: fronts facing -y and +y, the
    band from the lowest shelf (0.15 m) to 0.25 m above the highest (1.75 m)."""
    fronts = store_shelf_fronts(load_store_config("medium").gondolas)
    assert len(fronts) == 6
    first, second = fronts[0], fronts[1]
    assert first.a == pytest.approx((1.5, 3.0)) and first.b == pytest.approx((5.1, 3.0))
    assert first.normal == pytest.approx((0.0, -1.0))
    assert second.a == pytest.approx((5.1, 4.0)) and second.b == pytest.approx((1.5, 4.0))
    assert second.normal == pytest.approx((0.0, 1.0))
    assert (first.z_low, first.z_high) == pytest.approx((0.15, 2.0))


def _ray_through(cam: CameraModel, point: tuple[float, float, float]) -> np.ndarray:
    return cam.rays(cam.project(np.array([point])))[0]


@pytest.mark.parametrize(
    ("front", "enters"),
    [
        (NORTH, True),
        (ShelfFront(NORTH.a, NORTH.b, NORTH.normal, 0.7, 1.8), False),
        (ShelfFront(NORTH.a, NORTH.b, NORTH.normal, 0.1, 0.55), False),
        (ShelfFront(NORTH.a, (4.25, 2.6), NORTH.normal, 0.35, 1.8), False),
        (ShelfFront((4.4, 2.6), NORTH.b, NORTH.normal, 0.35, 1.8), False),
    ],
    ids=["in-band-and-length", "below-the-band", "above-the-band", "past-the-end", "before-start"],
)
def test_a_ray_enters_a_front_only_within_its_band_and_length(
    front: ShelfFront, enters: bool
) -> None:
    """The ray of the reach test passes NORTH's face at (4.31, 2.6, 0.61), and is placed 3 cm
    in, at (4.42, 2.63, 0.47): not into a front whose band starts above 0.61 m or ends below
    it, nor one that ends before x = 4.31 or starts after."""
    (cam,) = cameras(2.0)
    hit = shelf_front_point(cam.centre, _ray_through(cam, (4.0, 2.52, 1.0)), front, IN_SHELF)
    assert (hit is not None) == enters


@pytest.mark.parametrize("order", [1, -1], ids=["listed-first", "listed-last"])
def test_a_ray_goes_to_the_first_front_it_enters(order: int) -> None:
    """A low display (band 0.35-1.2 m) stands 10 cm before NORTH: the ray that would enter
    NORTH at 0.47 m enters the display first, at 0.95 m, whatever the order of the list."""
    (cam,) = cameras(2.0)
    display = ShelfFront((3.5, 2.5), (4.6, 2.5), (0.0, -1.0), 0.35, 1.2)
    ft = FloorTracker([cam], shelf_fronts=(display, NORTH)[::order])
    (got,) = ft.hands_in_space(_one_hand(cam, (4.0, 2.52, 1.0)), np.array([[4.0, 2.1]]))
    assert got[1] == pytest.approx(2.5 + IN_SHELF)
    assert 0.9 < got[2] < 1.0


@pytest.mark.parametrize(
    "hand",
    [(3.86, 2.25, 0.85), (3.9, 2.6 + IN_SHELF, 0.35 + ABOVE_BOARD)],
    ids=["hand-at-the-hip", "low-reach-not-told-apart"],
)
def test_a_ray_past_a_hip_into_a_low_front_stays_on_the_assumed_height(
    hand: tuple[float, float, float],
) -> None:
    """A shopper stands at NORTH, 0.45 m from its front; a camera across the aisle (over SOUTH)
    sees one hand. The ray of the hand hanging at the hip goes on into NORTH's front at 0.4 m,
    within arm's reach, but at hip height (0.8 m) it passes 0.27 m from the body: taken to be
    the hanging hand it most likely is, it stays on the 1.0 m plane. A hand reaching into the
    lowest shelf on nearly the same line of sight is not told apart from it (the price)."""
    cam = CameraModel.looking_down("far", (3.4, 0.0, 3.5))
    person = (3.6, 2.15)
    hit = shelf_front_point(cam.centre, _ray_through(cam, hand), NORTH, IN_SHELF)
    assert hit is not None and np.hypot(*(hit[1][:2] - person)) < 0.9
    _placed_as_without_fronts(cam, person, hand)


def _placed_as_without_fronts(
    cam: CameraModel, person: tuple[float, float], hand: tuple[float, float, float]
):
    """Track one shopper with one one-camera hand with the aisle's shelf fronts; assert the
    hand lands exactly where it would without them, on the 1.0 m plane. The shopper's row."""
    ft = FloorTracker([cam], shelf_fronts=AISLE)
    for k in range(3):
        frame = ft.step(k / RATE, detections([cam], [(*person, 1.72)], [hand]))
    (p,) = frame.people
    assert len(p.hands) == 1
    plain = FloorTracker([cam]).hands_in_space(_one_hand(cam, hand), np.array([person]))
    assert p.hands[0] == pytest.approx(tuple(plain[0]), abs=1e-9)
    assert p.hands[0][2] == pytest.approx(1.0)
    return p


@pytest.mark.parametrize("share", [0.5, 0.0])
def test_a_partly_hidden_box_does_not_move_a_body_another_camera_sees_whole(share: float) -> None:
    """One camera sees a shopper whole; the other sees a corner of them (the rest hidden behind
    a gondola or a neighbour). The corner's centre is not the body's midpoint: its floor point
    is off, and merged in it pulls the person there (or, further off, makes a ghost). Dropped
    as seen elsewhere, the person stays where the whole box puts them; `share` 0 turns the
    rule off, as it was before."""
    cams = cameras(1.0, 4.0)
    person = (2.6, 2.3, 1.72)
    whole = _box(cams[0], standing_body(*person))
    other = _box(cams[1], standing_body(*person))
    assert whole is not None and other is not None
    x1, y1, x2, y2 = other
    corner = (x1, y1, x1 + (x2 - x1) / 5, y1 + (y2 - y1) / 2)
    ft = FloorTracker(cams, FloorTrackerConfig(partial_box_share=share))
    dets = {
        "cam0": [CameraDetection("person", whole, 0.9)],
        "cam1": [CameraDetection("person", corner, 0.8)],
    }
    for k in range(6):
        frame = ft.step(k / RATE, dets)
    assert len(frame.people) == 1
    error = float(np.hypot(frame.people[0].x - person[0], frame.people[0].y - person[1]))
    if share > 0:
        assert error < 0.1
    else:
        assert error > 0.15  # the premise: without the rule the corner pulls the person off
