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


def _held_out(dx: float, z: float = 1.0) -> tuple[float, float, float]:
    return (MID[0] + dx, MID[1], z)


def test_hands_held_out_to_each_other_are_one_hand_over() -> None:
    meeting = [((_held_out(-0.03),), (_held_out(0.03),))] * 12
    fired = _run(meeting)
    assert [pair for _, pair in fired] == [(1, 2)]
    assert fired[0][0] == 10.0 + 2 * STEP  # on the third frame together


def test_neighbours_hands_hanging_at_the_hip_are_not_a_hand_over() -> None:
    # Side by side, 0.6 m apart: the inner hands hang 0.2 m apart at 0.8 m, for two seconds.
    hanging = [((_held_out(-0.1, 0.8),), (_held_out(0.1, 0.8),))] * 30
    assert _run(hanging) == []


def test_hands_that_merge_into_one_detection_do_not_hand_the_item_back() -> None:
    # The meeting hands become one detection that only the receiver's track gets; the giver
    # keeps a hand hanging at the hip. Then both are seen again, still together.
    hip = (AX, AY - 0.27, 0.8)
    frames = [((_held_out(-0.03),), (_held_out(0.03),))] * 4
    frames += [((hip,), (_held_out(0.0),))] * 8
    frames += [((_held_out(-0.03),), (_held_out(0.03),))] * 4
    assert len(_run(frames)) == 1


def test_the_same_pair_hands_over_again_once_their_hands_have_parted() -> None:
    apart = ((_held_out(-0.4),), (_held_out(0.4),))
    together = ((_held_out(-0.03),), (_held_out(0.03),))
    assert len(_run([together] * 4 + [apart] * 2 + [together] * 4)) == 2
    # Not seen close for longer than release_s also re-arms the pair.
    hip = (AX, AY - 0.27, 0.8)
    idle = ((hip,), (hip[0] + 0.6, hip[1], 0.8))
    assert len(_run([together] * 4 + [idle] * 40 + [together] * 4)) == 2
