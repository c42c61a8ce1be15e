"""The hand-over detector (edge/fusion/handoff.py) on hand-made track frames."""

from __future__ import annotations

from edge.config import load_store_config
from edge.config.layout import StoreLayout, gondola_to_floor
from edge.fusion.handoff import HandoffDetector
from edge.tracks.store import TrackStore
from edge.visits.manager import Visit, VisitManager

LAYOUT = StoreLayout(load_store_config("small"))
GONDOLA = LAYOUT.gondolas[1]
# Two shoppers in the aisle, 0.8 m from the gondola's front (their hands are not shopping).
AX, AY = gondola_to_floor(GONDOLA, 1.0, -0.8)
BX, BY = gondola_to_floor(GONDOLA, 1.6, -0.8)
MID = ((AX + BX) / 2, (AY + BY) / 2)
STEP = 1 / 15


def _setup() -> tuple[HandoffDetector, TrackStore, VisitManager]:
    manager = VisitManager(LAYOUT)
    for track_id, visit_id in ((1, "va"), (2, "vb")):
        visit = Visit(visit_id, f"UID{visit_id}", "r", 0.0)
        manager.visits[visit_id] = visit
        manager._bind(visit, track_id)
    detector = HandoffDetector(LAYOUT)
    assert not detector._near_shelf(*MID)  # the test's premise: away from the shelves
    return detector, TrackStore(), manager


def _run(frames: list[tuple[tuple, tuple]]) -> list[tuple[float, tuple[int, int]]]:
    """Feed (hands of A, hands of B) per frame; returns (t, pair) for every hand-over fired."""
    detector, tracks, manager = _setup()
    fired = []
    for k, (hands_a, hands_b) in enumerate(frames):
        t = 10.0 + k * STEP
        tracks.update(t, [(1, AX, AY, hands_a), (2, BX, BY, hands_b)])
        fired += [(t, pair) for pair, _ in detector.update(t, tracks, manager)]
    return fired


def _at(frac: float, z: float = 1.0) -> tuple[float, float, float]:
    """A hand on the line from A's body (0) to B's (1), 0.6 m long, at height z."""
    return (AX + frac * (BX - AX), AY + frac * (BY - AY), z)


def test_hands_held_out_to_each_other_are_one_hand_over() -> None:
    meeting = [((_at(0.45),), (_at(0.55),))] * 12
    fired = _run(meeting)
    assert [pair for _, pair in fired] == [(1, 2)]
    assert fired[0][0] == 10.0 + 2 * STEP  # on the third frame together


def test_neighbours_hands_hanging_at_the_hip_are_not_a_hand_over() -> None:
    # Side by side, 0.6 m apart: the inner hands hang 0.2 m apart at 0.8 m, for two seconds.
    hanging = [((_at(0.33, 0.8),), (_at(0.67, 0.8),))] * 30
    assert _run(hanging) == []


def test_hands_that_merge_into_one_detection_do_not_hand_the_item_back() -> None:
    # The meeting hands become one detection that only the receiver's track gets; the giver
    # keeps a hand hanging at the hip. Then both are seen again, still together.
    hip = _at(-0.4, 0.8)
    frames = [((_at(0.45),), (_at(0.55),))] * 4
    frames += [((hip,), (_at(0.5),))] * 8
    frames += [((_at(0.45),), (_at(0.55),))] * 4
    assert len(_run(frames)) == 1


def test_the_same_pair_hands_over_again_once_their_hands_have_parted() -> None:
    apart = ((_at(-0.2),), (_at(1.2),))
    together = ((_at(0.45),), (_at(0.55),))
    assert len(_run([together] * 4 + [apart] * 2 + [together] * 4)) == 2
    # Not seen close for longer than release_s also re-arms the pair.
    idle = ((_at(-0.4, 0.8),), (_at(1.4, 0.8),))  # hanging: no pair in the band at all
    assert len(_run([together] * 4 + [idle] * 40 + [together] * 4)) == 2


def test_hands_on_the_other_shoppers_side_are_not_held_out_to_them() -> None:
    # A's "hand" 0.06 m from B's body: a hand of B's given to A, or one hand seen twice by
    # two cameras; the two are close, but nobody holds an arm out across the gap.
    crossed = [((_at(0.9),), (_at(0.95),))] * 12
    assert _run(crossed) == []
