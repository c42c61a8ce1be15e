"""IDF1 and identity switches of tracks against true positions (edge/eval/track_identity.py)."""

from __future__ import annotations

import pytest

from edge.eval.track_identity import combine_identity, track_identity


def _walk(n: int) -> list[tuple[float, list[tuple[int, float, float]]]]:
    """Two true people 2 m apart walking along x for n frames at 10 Hz."""
    return [(k / 10, [(1, k * 0.1, 0.0), (2, k * 0.1, 2.0)]) for k in range(n)]


def test_tracks_that_follow_their_people_score_one() -> None:
    truth = _walk(20)
    tracks = [
        (t, [(7, x + 0.05, y) for _, x, y in people[:1]] + [(9, people[1][1], 2.1)])
        for t, people in truth
    ]
    got = track_identity(truth, tracks)
    assert got.idf1 == pytest.approx(1.0)
    assert got.id_switches == 0
    assert (got.true_positions, got.track_positions) == (40, 40)


def test_ids_exchanged_halfway_cost_half_the_frames_and_count_two_switches() -> None:
    truth = _walk(20)
    tracks = []
    for k, (t, people) in enumerate(truth):
        a, b = (7, 9) if k < 10 else (9, 7)
        tracks.append((t, [(a, people[0][1], 0.0), (b, people[1][1], 2.0)]))
    got = track_identity(truth, tracks)
    assert got.idf1 == pytest.approx(0.5)
    assert got.id_switches == 2


def test_missing_and_far_tracks_count_against_it() -> None:
    truth = _walk(10)
    tracks = [(t, [(7, people[0][1] + 0.6, 0.0)]) for t, people in truth]  # 0.6 m off: no match
    got = track_identity(truth, tracks, radius_m=0.5)
    assert got.idtp == 0 and got.idf1 == 0.0
    assert (got.true_positions, got.track_positions) == (20, 10)


def test_track_frames_too_far_in_time_are_not_compared() -> None:
    truth = _walk(5)
    tracks = [(t + 1.0, [(7, people[0][1], 0.0)]) for t, people in truth]
    got = track_identity(truth, tracks, max_dt_s=0.1)
    assert got.true_positions == 0 and got.idf1 is None


def test_sessions_add_up_as_counts() -> None:
    truth = _walk(10)
    good = [(t, [(7, people[0][1], 0.0), (9, people[1][1], 2.0)]) for t, people in truth]
    none = [(t, []) for t, _ in truth]
    both = combine_identity([track_identity(truth, good), track_identity(truth, none)])
    assert (both.idtp, both.true_positions, both.track_positions) == (20, 40, 20)
    assert both.idf1 == pytest.approx(40 / 60)


def test_a_track_where_nobody_is_counts_against_it() -> None:
    truth = [(0.0, [(1, 0.0, 0.0)]), (0.1, [])]
    tracks = [(0.0, [(7, 0.0, 0.0)]), (0.1, [(7, 1.0, 1.0)])]
    got = track_identity(truth, tracks)
    assert (got.idtp, got.true_positions, got.track_positions) == (1, 1, 2)
    assert got.idf1 == pytest.approx(2 / 3)


def test_no_track_rows_at_all_miss_every_true_position() -> None:
    got = track_identity(_walk(3), [])
    assert (got.idtp, got.true_positions, got.track_positions) == (0, 6, 0)
    assert got.idf1 == 0.0
