"""The tracker core (edge/tracking): filter, association stages, life cycle, determinism."""

from __future__ import annotations

import numpy as np
import pytest
from filterpy.kalman import KalmanFilter

from edge.tracking import BoxSpace, PointSpace, Tracker, TrackerConfig
from edge.tracking.geometry import distance_similarity, iou_matrix
from edge.tracking.kalman import BOX_NOISE, BatchKalman


def box(cx: float, cy: float, w: float = 40.0, h: float = 100.0) -> list[float]:
    return [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2]


def run(tracker: Tracker, frames: list[list[tuple[list[float], float]]]) -> list[dict[int, int]]:
    """Step through frames of (box, score); per frame {detection index: track id}."""
    out = []
    for dets in frames:
        boxes = np.array([b for b, _ in dets], dtype=float).reshape(-1, 4)
        scores = np.array([s for _, s in dets], dtype=float)
        res = tracker.step(boxes, scores)
        out.append(dict(zip(res.detection_index.tolist(), res.ids.tolist(), strict=True)))
    return out


# ---------------------------------------------------------------------------- geometry


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ([0, 0, 10, 10], [0, 0, 10, 10], 1.0),
        ([0, 0, 10, 10], [5, 0, 15, 10], 50 / 150),
        ([0, 0, 10, 10], [10, 10, 20, 20], 0.0),
        ([0, 0, 10, 10], [2, 2, 4, 4], 4 / 100),
    ],
)
def test_iou_matrix_table(a: list[float], b: list[float], expected: float) -> None:
    got = iou_matrix(np.array([a], float), np.array([b], float))
    assert got.shape == (1, 1)
    assert got[0, 0] == pytest.approx(expected)


def test_distance_similarity_is_one_at_zero_and_zero_beyond_gate() -> None:
    sim = distance_similarity(np.array([[0.0, 0.0]]), np.array([[0, 0], [0.5, 0], [2, 0]]), 1.0)
    np.testing.assert_allclose(sim, [[1.0, 0.5, 0.0]])


# ---------------------------------------------------------------------------- the filter


def test_batch_kalman_matches_filterpy_step_by_step() -> None:
    """The vectorised filter is the same model as filterpy's KalmanFilter, run per track."""
    rng = np.random.default_rng(7)
    start = np.array([300.0, 200.0, 40.0, 100.0])
    zs = np.cumsum(rng.normal(0, 3, size=(30, 2, 4)), axis=0) + start
    kf = BatchKalman(4, BOX_NOISE)
    kf.add(zs[0])
    refs = []
    for i in range(2):
        f = KalmanFilter(dim_x=8, dim_z=4)
        f.F = kf.F.copy()
        f.H = np.hstack([np.eye(4), np.zeros((4, 4))])
        f.x = kf.x[i].copy()
        f.P = kf.P[i].copy()
        refs.append(f)
    for k in range(1, 30):
        for f in refs:
            f.Q = np.diag(kf.process_var(f.x[None, :])[0])
            f.predict()
        kf.predict()
        rows = np.array([0, 1]) if k % 4 else np.array([1])  # track 0 misses every 4th frame
        for i in rows.tolist():
            refs[i].R = np.diag(kf.meas_var(refs[i].x[None, :])[0])
            refs[i].update(zs[k, i])
        kf.update(rows, zs[k, rows])
        for i, f in enumerate(refs):
            np.testing.assert_allclose(kf.x[i], f.x, rtol=1e-9, atol=1e-9)
            np.testing.assert_allclose(kf.P[i], f.P, rtol=1e-9, atol=1e-9)


# ---------------------------------------------------------------------------- life cycle


@pytest.mark.parametrize("min_hits", [1, 2, 3, 5])
def test_birth_after_min_hits(min_hits: int) -> None:
    tracker = Tracker(TrackerConfig(min_hits=min_hits))
    frames = [[(box(100 + 3 * k, 200), 0.9)] for k in range(8)]
    out = run(tracker, frames)
    first_reported = next(k for k, m in enumerate(out) if m)
    assert first_reported == min_hits - 1
    assert all(m == {0: 1} for m in out[first_reported:])


def test_tentative_track_dies_on_first_miss_and_low_scores_never_start_tracks() -> None:
    tracker = Tracker(TrackerConfig(min_hits=3))
    out = run(
        tracker,
        [[(box(100, 200), 0.9)], [(box(103, 200), 0.9)], [], [(box(109, 200), 0.9)]]
        + [[(box(300, 200), 0.3)]] * 6,
    )
    assert all(m == {} for m in out)
    # The first two hits were forgotten: the third sighting started again from one hit.
    assert len(tracker) == 0


@pytest.mark.parametrize(
    ("gap", "max_age", "same_id"),
    [(1, 5, True), (3, 5, True), (5, 5, True), (6, 5, False), (10, 5, False)],
)
def test_occlusion_gap_keeps_id_up_to_max_age(gap: int, max_age: int, same_id: bool) -> None:
    """A walker at constant speed disappears for `gap` frames and comes back where it should."""
    tracker = Tracker(TrackerConfig(max_age=max_age, min_hits=2))
    frames = []
    for k in range(30):
        unseen = 10 <= k < 10 + gap
        frames.append([] if unseen else [(box(100 + 4 * k, 200), 0.95)])
    out = run(tracker, frames)
    before = out[9][0]
    after_frame = 10 + gap
    if same_id:
        assert out[after_frame] == {0: before}
    else:
        # The old track is gone: a new one is tentative for one frame, then gets a new id.
        assert out[after_frame] == {}
        assert out[after_frame + 1] == {0: before + 1}


def test_track_is_deleted_after_max_age() -> None:
    tracker = Tracker(TrackerConfig(max_age=4, min_hits=1))
    run(tracker, [[(box(100, 100), 0.9)]] * 3)
    run(tracker, [[]] * 4)
    assert len(tracker) == 1
    run(tracker, [[]])
    assert len(tracker) == 0


# ---------------------------------------------------------------------------- association


def test_crossing_paths_keep_their_ids() -> None:
    """Two walkers cross head-on (boxes overlap for several frames); constant velocity and the
    direction term carry each one through."""
    tracker = Tracker(TrackerConfig(min_hits=2))
    frames = []
    for k in range(40):
        a = box(100 + 8 * k, 200)
        b = box(420 - 8 * k, 204)
        frames.append([(a, 0.95), (b, 0.9)] if k % 2 else [(b, 0.9), (a, 0.95)])
    out = run(tracker, frames)
    ids_a = {m[0 if k % 2 else 1] for k, m in enumerate(out) if k >= 2}
    ids_b = {m[1 if k % 2 else 0] for k, m in enumerate(out) if k >= 2}
    assert len(ids_a) == 1 and len(ids_b) == 1 and ids_a != ids_b


def test_low_score_detection_continues_a_track_in_the_second_stage() -> None:
    cfg = TrackerConfig(min_hits=2, high_score=0.6, low_score=0.1)
    frames = [[(box(100 + 4 * k, 200), 0.9)] for k in range(6)]
    frames += [[(box(124 + 4 * k, 200), 0.3)] for k in range(4)]  # partly occluded: low score
    out = run(Tracker(cfg), frames)
    assert [m for m in out[6:]] == [{0: 1}] * 4
    # Without the second stage (low_score above every score) the low detections are dropped.
    out = run(Tracker(TrackerConfig(min_hits=2, high_score=0.6, low_score=0.6)), frames)
    assert all(m == {} for m in out[6:])


def test_low_score_detection_needs_more_overlap_than_a_high_one() -> None:
    cfg = TrackerConfig(min_hits=1, match_sim=0.3, low_match_sim=0.5)
    # A shift of 16 px on a 40 px wide box: IoU 0.43, enough for a high score only.
    for score, expected in ((0.9, {0: 1}), (0.3, {})):
        tracker = Tracker(cfg)
        run(tracker, [[(box(100, 200), 0.9)]] * 3)
        (got,) = run(tracker, [[(box(116, 200), score)]])
        assert got == expected


def test_floor_points_crossing_keep_ids() -> None:
    tracker = Tracker(TrackerConfig(min_hits=2), PointSpace(gate_m=0.8))
    ids = []
    for k in range(30):
        t = k / 10  # 10 steps per second, 1.2 m/s each way
        pts = np.array([[1.2 * t, 2.0], [3.6 - 1.2 * t, 2.1]])
        res = tracker.step(pts, [0.9, 0.9])
        ids.append(dict(zip(res.detection_index.tolist(), res.ids.tolist(), strict=True)))
    assert {m[0] for m in ids[2:]} == {1}
    assert {m[1] for m in ids[2:]} == {2}
    assert tracker.step(np.array([[0.0, 0.0]]), [0.9]).positions.shape == (0, 2)


def test_is_deterministic() -> None:
    rng = np.random.default_rng(3)
    frames = []
    for k in range(60):
        n = int(rng.integers(0, 6))
        centres = rng.uniform(50, 600, size=(n, 2)) + k
        frames.append(
            [
                (box(x, y), float(s))
                for (x, y), s in zip(centres, rng.uniform(0.2, 1, n), strict=True)
            ]
        )

    def outputs() -> list[tuple[list[int], list[float]]]:
        tracker = Tracker(TrackerConfig(min_hits=1), BoxSpace())
        res = []
        for dets in frames:
            r = tracker.step(np.array([b for b, _ in dets]).reshape(-1, 4), [s for _, s in dets])
            res.append((r.ids.tolist(), r.positions.round(9).ravel().tolist()))
        return res

    first = outputs()
    assert first == outputs()
    assert any(ids for ids, _ in first)


def test_scores_must_match_detections() -> None:
    with pytest.raises(ValueError, match="2 detections but 1 scores"):
        Tracker().step(np.array([box(1, 1), box(5, 5)]), [0.9])


@pytest.mark.parametrize(("report_unseen", "reported"), [(0, [1, 0, 0, 0]), (2, [1, 1, 1, 0])])
def test_report_unseen_keeps_a_missed_track_in_the_output_for_a_few_frames(
    report_unseen: int, reported: list[int]
) -> None:
    tracker = Tracker(TrackerConfig(min_hits=1, report_unseen=report_unseen))
    run(tracker, [[(box(100 + 4 * k, 200), 0.9)] for k in range(5)])
    got = []
    for k in range(5, 9):
        res = tracker.step(
            np.array([box(100 + 4 * k, 200)]) if k == 5 else np.zeros((0, 4)),
            [0.9] if k == 5 else [],
        )
        got.append(res.ids.size)
        if k > 5 and res.ids.size:
            assert res.detection_index.tolist() == [-1]
            # Reported at the prediction: still moving about 4 px per frame.
            assert (res.positions[0, 0] + res.positions[0, 2]) / 2 == pytest.approx(
                100 + 4 * k, abs=2.0
            )
    assert got == reported


@pytest.mark.parametrize(("lost_match_sim", "same_id"), [(0.3, True), (0.8, False)])
def test_lost_tracks_need_lost_match_sim(lost_match_sim: float, same_id: bool) -> None:
    """After a 3-frame gap the walker reappears 12 px off its predicted path (IoU 0.54)."""
    cfg = TrackerConfig(min_hits=1, max_age=10, lost_match_sim=lost_match_sim)
    frames = [[(box(100 + 4 * k, 200), 0.9)] for k in range(8)] + [[]] * 3
    frames.append([(box(100 + 4 * 11 + 12, 200), 0.9)])
    out = run(Tracker(cfg), frames)
    assert (out[-1] == {0: 1}) == same_id
