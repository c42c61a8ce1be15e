"""Tests of the person-track observation model (sim/track_noise.py)."""

from __future__ import annotations

import dataclasses
import itertools
import math

import numpy as np
import pytest

from sim.track_noise import (
    Assignment,
    ObservedPerson,
    TrackNoiseParams,
    TrackObserver,
    TruePerson,
)

DT = 0.1
OFF = TrackNoiseParams.perfect()


def only(**kw: float) -> TrackNoiseParams:
    """Perfect params with just the named errors switched on."""
    return dataclasses.replace(OFF, **kw)


def crowd_frames(
    n_frames: int = 300, n_people: int = 6, seed: int = 3
) -> list[tuple[float, list[TruePerson]]]:
    """People wandering about, entering and leaving at staggered times, sometimes reaching."""
    rng = np.random.default_rng(seed)
    enter = rng.integers(0, n_frames // 3, n_people)
    leave = rng.integers(2 * n_frames // 3, n_frames, n_people)
    pos = rng.uniform(0, 8, (n_people, 2))
    frames = []
    for k in range(n_frames):
        pos += rng.normal(0, 0.05, pos.shape)
        people = []
        for i in range(n_people):
            if enter[i] <= k < leave[i]:
                x, y = float(pos[i, 0]), float(pos[i, 1])
                hands = ((x + 0.4, y, 1.1),) if (k // 10 + i) % 4 == 0 else ()
                people.append(TruePerson(100 + i, x, y, hands))
        frames.append((k * DT, people))
    return frames


def run(params: TrackNoiseParams, frames, seed: int = 0):
    obs = TrackObserver(params, np.random.default_rng(seed))
    return obs, [obs.observe(t, people) for t, people in frames]


def walk(n_frames: int, x0: float = 0.0, y: float = 0.0, speed: float = 0.5, pid: int = 1):
    """One person walking along x."""
    return [(k * DT, [TruePerson(pid, x0 + speed * k * DT, y)]) for k in range(n_frames)]


# --- perfect -----------------------------------------------------------------------------------


def test_perfect_reproduces_truth_with_stable_ids() -> None:
    frames = crowd_frames()
    obs, out = run(OFF, frames)
    track_of: dict[int, int] = {}
    for (t, people), observed in zip(frames, out, strict=True):
        assert [o.track_id for o in observed] == sorted(o.track_id for o in observed)
        assert len(observed) == len(people)
        for o in observed:
            pid = obs.true_id_of_track(o.track_id, t)
            assert pid is not None
            assert track_of.setdefault(pid, o.track_id) == o.track_id  # one id per visit
            truth = next(q for q in people if q.person_id == pid)
            assert (o.x, o.y, o.hands) == (truth.x, truth.y, truth.hands)
    # Ids 1..n issued in order of first appearance (person id breaks ties within a frame).
    first_seen = sorted(
        {q.person_id: (t, q.person_id) for t, ps in reversed(frames) for q in ps}.values()
    )
    assert [track_of[pid] for _, pid in first_seen] == list(range(1, len(first_seen) + 1))
    # Each visit is born once and ends once (all have left except those present at the end).
    ends = [a for a in obs.assignments if a.person_id is None]
    assert len(ends) == len(track_of) - len(frames[-1][1])


def test_track_ends_when_person_leaves_and_a_return_is_a_new_track() -> None:
    obs = TrackObserver(OFF, np.random.default_rng(0))
    assert [o.track_id for o in obs.observe(0.0, [TruePerson(7, 1.0, 1.0)])] == [1]
    assert obs.observe(0.1, []) == []
    assert obs.assignments[-1] == Assignment(0.1, 1, None)
    assert obs.true_id_of_track(1, 0.05) == 7
    assert obs.true_id_of_track(1, 0.2) is None
    assert obs.true_id_of_track(1) == 7
    assert obs.true_id_of_track(99) is None
    assert [o.track_id for o in obs.observe(0.2, [TruePerson(7, 1.0, 1.0)])] == [2]


def test_input_order_does_not_matter_and_time_must_not_go_back() -> None:
    frames = crowd_frames(100)
    shuffled = [(t, list(reversed(ps))) for t, ps in frames]
    assert run(TrackNoiseParams(), frames, 5)[1] == run(TrackNoiseParams(), shuffled, 5)[1]
    obs = TrackObserver(OFF, np.random.default_rng(0))
    obs.observe(1.0, [])
    with pytest.raises(ValueError):
        obs.observe(0.9, [])
    with pytest.raises(ValueError):
        obs.observe(1.1, [TruePerson(1, 0, 0), TruePerson(1, 1, 1)])


def test_params_are_validated() -> None:
    with pytest.raises(ValueError):
        TrackNoiseParams(pos_sigma_m=-0.1)
    with pytest.raises(ValueError):
        TrackNoiseParams(swap_prob=1.5)
    with pytest.raises(ValueError):
        TrackNoiseParams(swap_distance_m=0.5, swap_release_m=0.4)


# --- determinism -------------------------------------------------------------------------------


def test_same_seed_same_output_different_seed_different_output() -> None:
    frames = crowd_frames()
    noisy = dataclasses.replace(TrackNoiseParams(), dropout_rate_hz=0.3, swap_prob=0.5)
    a_obs, a = run(noisy, frames, seed=11)
    b_obs, b = run(noisy, frames, seed=11)
    _, c = run(noisy, frames, seed=12)
    assert a == b
    assert a_obs.assignments == b_obs.assignments
    assert a != c
    assert all(isinstance(o, ObservedPerson) for frame in a for o in frame)


# --- position noise ----------------------------------------------------------------------------


def test_position_error_statistics() -> None:
    params = only(pos_sigma_m=0.07, pos_corr_s=0.5, pos_jitter_m=0.02)
    frames = walk(20_000)
    _, out = run(params, frames, seed=2)
    err = np.array(
        [[o[0].x - p[0].x, o[0].y - p[0].y] for (_, p), o in zip(frames, out, strict=True)]
    )
    expected = math.hypot(params.pos_sigma_m, params.pos_jitter_m)
    for axis in range(2):
        assert abs(err[:, axis].mean()) < 0.3 * expected
        assert err[:, axis].std() == pytest.approx(expected, rel=0.3)
    # Temporally correlated: the error half a correlation time later still looks alike, which
    # white noise of the same size would not.
    lag = 3
    e = err[:, 0]
    rho = np.corrcoef(e[:-lag], e[lag:])[0, 1]
    want = params.pos_sigma_m**2 * math.exp(-lag * DT / params.pos_corr_s) / expected**2
    assert rho == pytest.approx(want, abs=0.1)


# --- dropouts ----------------------------------------------------------------------------------


def test_dropouts_make_gaps_and_long_ones_fragment_with_fresh_ids() -> None:
    params = only(dropout_rate_hz=0.4, dropout_median_s=0.8, dropout_log_sigma=0.8)
    frames = walk(6_000)
    obs, out = run(params, frames, seed=4)
    seen = [(k, frame[0].track_id) for k, frame in enumerate(out) if frame]
    assert len(seen) < len(frames)
    short = long = 0
    for (k0, id0), (k1, id1) in itertools.pairwise(seen):
        gap = k1 - k0 - 1
        if gap == 0:
            assert id1 == id0
        elif gap <= 9:  # unseen for < reacquire_s (1.0 s; 10 frames is the float-rounding edge)
            assert id1 == id0
            short += 1
        elif gap >= 11:  # unseen for > reacquire_s: a new track was born
            assert id1 == id0 + 1
            # The old track ended when the tracker gave up, reacquire_s after last seeing it.
            (end,) = [a.t for a in obs.assignments if a.track_id == id0 and a.person_id is None]
            assert params.reacquire_s < end - k0 * DT <= params.reacquire_s + DT + 1e-9
            long += 1
    assert short > 20 and long > 20
    ids = [tid for _, tid in seen]
    assert ids == sorted(ids)  # never goes back to an older (ended) id
    births = [a.track_id for a in obs.assignments if a.person_id is not None]
    assert births == list(range(1, len(births) + 1))  # never reused
    # The number of dropouts matches the configured rate (visible time only).
    n_gaps = sum(1 for (k0, _), (k1, _) in itertools.pairwise(seen) if k1 > k0 + 1)
    assert n_gaps == pytest.approx(params.dropout_rate_hz * len(seen) * DT, rel=0.3)


def test_a_person_is_always_seen_when_entering() -> None:
    params = only(dropout_rate_hz=100.0)
    obs = TrackObserver(params, np.random.default_rng(0))
    assert len(obs.observe(0.0, [TruePerson(1, 0.0, 0.0)])) == 1
    assert obs.observe(0.1, [TruePerson(1, 0.0, 0.0)]) == []


# --- identity swaps ----------------------------------------------------------------------------


def crossing(n_crossings: int, lateral_m: float = 0.2) -> list[tuple[float, list[TruePerson]]]:
    """Two people walking back and forth along x past each other, 0.2 m apart sideways."""
    frames = []
    period = 100  # frames per one-way pass
    for k in range(n_crossings * period):
        leg, f = divmod(k, period)
        u = (f / (period - 1)) if leg % 2 == 0 else 1 - f / (period - 1)
        frames.append(
            (k * DT, [TruePerson(1, 10 * u, 0.0), TruePerson(2, 10 * (1 - u), lateral_m)])
        )
    return frames


@pytest.mark.parametrize("n_crossings", [1, 3])
def test_swap_probability_one_swaps_exactly_once_per_encounter(n_crossings: int) -> None:
    frames = crossing(n_crossings)
    obs, out = run(only(swap_prob=1.0), frames)
    swaps = [a for a in obs.assignments if a.t > 0]
    assert len(swaps) == 2 * n_crossings  # each swap logs both tracks
    # Track 1 starts on person 1 and changes hands at each crossing.
    person_of_track1 = [obs.true_id_of_track(1, t) for t, _ in frames]
    changes = sum(a != b for a, b in itertools.pairwise(person_of_track1))
    assert changes == n_crossings
    assert person_of_track1[-1] == (2 if n_crossings % 2 else 1)
    # The observed positions follow the ids: track 1's x ends where its final person is.
    final = {o.track_id: o.x for o in out[-1]}
    truth = {q.person_id: q.x for q in frames[-1][1]}
    assert final[1] == truth[person_of_track1[-1]]


def test_swap_probability_zero_never_swaps() -> None:
    obs, _ = run(only(swap_prob=0.0), crossing(3))
    assert [a.t for a in obs.assignments] == [0.0, 0.0]


def test_hovering_at_the_threshold_is_one_encounter() -> None:
    # Side by side at a shelf, the distance wobbling across swap_distance_m but never past release.
    frames = [
        (k * DT, [TruePerson(1, 0.0, 0.0), TruePerson(2, 0.4 + 0.05 * math.sin(k), 0.0)])
        for k in range(200)
    ]
    obs, _ = run(only(swap_prob=1.0), frames)
    assert len([a for a in obs.assignments if a.t > 0]) == 2


def test_no_swap_while_one_of_the_pair_is_hidden() -> None:
    params = only(swap_prob=1.0, dropout_rate_hz=1000.0, dropout_median_s=100.0)
    obs = TrackObserver(params, np.random.default_rng(0))
    obs.observe(0.0, [TruePerson(1, 0.0, 0.0), TruePerson(2, 5.0, 0.0)])
    obs.observe(0.1, [TruePerson(1, 0.0, 0.0), TruePerson(2, 5.0, 0.0)])  # both drop out
    obs.observe(0.2, [TruePerson(1, 0.0, 0.0), TruePerson(2, 0.1, 0.0)])  # close, unseen
    assert all(a.person_id is None for a in obs.assignments if a.t > 0)


# --- hands -------------------------------------------------------------------------------------


def test_hands_reported_only_when_reaching_with_noise_and_misses() -> None:
    params = only(hand_sigma_m=0.04, hand_miss_prob=0.2)
    frames = []
    for k in range(6_000):
        reaching = k % 3 != 0
        hands = ((1.0, 2.0, 1.2), (0.5, 2.0, 0.4)) if reaching else ()
        frames.append((k * DT, [TruePerson(1, 1.0, 1.5, hands)]))
    _, out = run(params, frames, seed=9)
    reported = total = 0
    errs = []
    for (_, people), frame in zip(frames, out, strict=True):
        truth = people[0].hands
        got = frame[0].hands
        if not truth:
            assert got == ()
            continue
        total += len(truth)
        reported += len(got)
        for h in got:  # match to the nearest true hand (they are far apart)
            ref = min(truth, key=lambda r: math.dist(r, h))
            errs.append(np.subtract(h, ref))
    assert 1 - reported / total == pytest.approx(params.hand_miss_prob, abs=0.02)
    assert np.std(errs, axis=0) == pytest.approx([params.hand_sigma_m] * 3, rel=0.1)


def test_defaults_are_sensible_and_noisy() -> None:
    frames = crowd_frames()
    _, out = run(TrackNoiseParams(), frames, seed=1)
    _, truth = run(OFF, frames)
    assert out != truth
    assert sum(map(len, out)) <= sum(map(len, truth))
