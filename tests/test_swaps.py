"""Table tests for identity-swap repair (edge/tracks/swaps.py)."""

from __future__ import annotations

import numpy as np
import pytest

from edge.tracks.swaps import SwapParams, SwapRepair


def walk(t: float, start: tuple[float, float], v: tuple[float, float]) -> tuple[float, float]:
    return (start[0] + v[0] * t, start[1] + v[1] * t)


def crossing(swap_at: float | None, *, noise: float = 0.0, seed: int = 0, frames: int = 40):
    """Two shoppers walking towards each other, passing 0.35 m apart; the tracker exchanges
    their ids at `swap_at` (None: never). Returns the frames and who each id truly is."""
    rng = np.random.default_rng(seed)
    a0, va = (0.0, 0.0), (1.0, 0.0)
    b0, vb = (4.0, 0.35), (-1.0, 0.0)
    out, truth = [], []
    for k in range(frames):
        t = round(0.1 * k, 2)
        pa, pb = walk(t, a0, va), walk(t, b0, vb)
        ids = {1: pa, 2: pb}
        who = {1: "a", 2: "b"}
        if swap_at is not None and t >= swap_at:
            ids, who = {1: pb, 2: pa}, {1: "b", 2: "a"}
        people = []
        for tid in (1, 2):
            x, y = ids[tid]
            if noise:
                x, y = x + rng.normal(0, noise), y + rng.normal(0, noise)
            people.append((tid, x, y, ()))
        out.append((t, people))
        truth.append(who)
    return out, truth


def run(frames) -> tuple[SwapRepair, list[dict[int, tuple[float, float]]]]:
    repair = SwapRepair()
    seen = []
    for t, people in frames:
        seen.append({tid: (x, y) for tid, x, y, _ in repair.relabel(t, people)})
    return repair, seen


@pytest.mark.parametrize(
    ("swap_at", "noise", "repairs"),
    [
        (None, 0.0, 0),  # a clean crossing: nothing to repair
        (None, 0.03, 0),  # noisy positions alone never look like a swap
        (1.8, 0.0, 1),  # exchanged ids as they pass: repaired once
        (1.8, 0.03, 1),
        (1.2, 0.03, 1),  # exchanged while still approaching
    ],
)
def test_a_swap_while_passing_is_undone(swap_at, noise, repairs) -> None:
    frames, _ = crossing(swap_at, noise=noise, seed=3)
    repair, seen = run(frames)
    assert repair.repaired == repairs
    # Output id 1 stays on shopper a (walking +x) from start to end.
    assert seen[-1][1][0] > seen[-1][2][0]
    assert seen[0][1][0] < seen[0][2][0]


def test_noisy_neighbours_at_a_shelf_are_left_alone() -> None:
    # Two shoppers standing 0.4 m apart for 30 s with 6 cm wandering error: no repairs.
    rng = np.random.default_rng(7)
    repair = SwapRepair()
    err = np.zeros((2, 2))
    phi = np.exp(-0.1 / 0.5)
    for k in range(300):
        err = phi * err + np.sqrt(1 - phi**2) * 0.06 * rng.standard_normal((2, 2))
        jitter = 0.015 * rng.standard_normal((2, 2))
        people = [
            (1, 2.0 + err[0, 0] + jitter[0, 0], 3.0 + err[0, 1] + jitter[0, 1], ()),
            (2, 2.4 + err[1, 0] + jitter[1, 0], 3.0 + err[1, 1] + jitter[1, 1], ()),
        ]
        repair.relabel(round(0.1 * k, 2), people)
    assert repair.repaired == 0


def test_a_swap_between_standing_neighbours_is_undone() -> None:
    repair = SwapRepair()
    seen = None
    for k in range(30):
        t = round(0.1 * k, 2)
        a, b = (2.0, 3.0), (2.38, 3.0)
        if t >= 1.5:  # the tracker exchanges the two ids
            a, b = b, a
        out = repair.relabel(t, [(1, *a, ()), (2, *b, ())])
        seen = {tid: x for tid, x, _, _ in out}
    assert repair.repaired == 1
    assert seen == {1: 2.0, 2: 2.38}


def test_a_lone_jump_is_not_a_swap_and_ids_stay_unique() -> None:
    # One track jumps (a bad detection), the other walks on: no partner, no repair.
    repair = SwapRepair(SwapParams())
    for k in range(20):
        t = round(0.1 * k, 2)
        x1 = 1.0 + (0.5 if k == 10 else 0.0)
        out = repair.relabel(t, [(1, x1, 1.0, ()), (2, 3.0 + 0.1 * k, 1.0, ())])
        assert sorted(tid for tid, *_ in out) == [1, 2]
    assert repair.repaired == 0


def test_a_returning_tracker_id_keeps_its_exchanged_label() -> None:
    frames, _ = crossing(1.8, frames=30)
    repair, _ = run(frames)
    assert repair.label == {1: 2, 2: 1}
    # Tracker id 1 is unseen for 4 s, then seen again: it still comes out as 2.
    out = repair.relabel(7.0, [(1, 9.0, 9.0, ()), (2, 0.0, 0.0, ())])
    assert sorted(tid for tid, *_ in out) == [1, 2]
    assert dict((tid, x) for tid, x, *_ in out) == {2: 9.0, 1: 0.0}


def test_repair_is_deterministic() -> None:
    frames, _ = crossing(1.8, noise=0.03, seed=11)
    _, first = run(frames)
    _, second = run(frames)
    assert first == second


def arrival(swap: bool, *, newcomer_at: tuple[float, float] = (1.3, 0.5)):
    """Shopper a stands at the gate (1.0, 0.5); at 1.0 s shopper b arrives next to them. With
    `swap`, the tracker gives a's id 1 to b and the new id 2 to a."""
    frames = []
    for k in range(30):
        t = round(0.1 * k, 2)
        people = [(1, 1.0, 0.5, ())]
        if t >= 1.0:
            people = (
                [(1, *newcomer_at, ()), (2, 1.0, 0.5, ())]
                if swap
                else [*people, (2, *newcomer_at, ())]
            )
        frames.append((t, people))
    return frames


def test_an_id_handed_to_a_newcomer_goes_back_to_who_was_there() -> None:
    repair, seen = run(arrival(swap=True))
    assert repair.repaired == 1
    # Output id 1 stays on shopper a; the newcomer comes out under a new id.
    assert seen[-1] == {1: (1.0, 0.5), 2: (1.3, 0.5)}
    assert repair.repairs[-1][0] == 1.0


def test_a_newcomer_without_a_jump_changes_nothing() -> None:
    repair, seen = run(arrival(swap=False))
    assert repair.repaired == 0
    assert seen[-1] == {1: (1.0, 0.5), 2: (1.3, 0.5)}


def test_a_jump_with_a_newcomer_elsewhere_is_not_a_swap() -> None:
    # Id 1 jumps onto the newcomer, but the new id 2 appears far from where 1 was: a bad
    # detection, not an exchange.
    frames = []
    for k in range(30):
        t = round(0.1 * k, 2)
        people = [(1, 1.0, 0.5, ())] if t < 1.0 else [(1, 1.3, 0.5, ()), (2, 3.0, 2.0, ())]
        frames.append((t, people))
    repair, _ = run(frames)
    assert repair.repaired == 0
