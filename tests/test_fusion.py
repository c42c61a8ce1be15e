"""Fusion table tests: who took it, from hands, bodies and carts."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from edge.carts.cart import Cart, CartEvent
from edge.config import load_store_config
from edge.config.layout import PlateRef, StoreLayout, gondola_to_floor
from edge.fusion.attribution import Fusion
from edge.tracks.store import TrackStore
from edge.visits.manager import Visit, VisitManager

LAYOUT = StoreLayout(load_store_config("small"))
GONDOLA = LAYOUT.gondolas[1]
PLATE = PlateRef(1, 2, 5)
PRODUCT = LAYOUT.plate_product[PLATE]
WEIGHT = LAYOUT.products[PRODUCT].weight_g
HEIGHT = LAYOUT.shelves[(1, 2)].height_m


def plate_front(ref: PlateRef, v: float = 0.05) -> tuple[float, float]:
    geo = LAYOUT.plate_geometry[ref]
    return gondola_to_floor(GONDOLA, (geo.u_start_m + geo.u_end_m) / 2, v)


def hand_at(ref: PlateRef) -> tuple[float, float, float]:
    x, y = plate_front(ref)
    return (x, y, HEIGHT + 0.05)


def shopper(track_id: int, ref: PlateRef, *, hand: bool) -> tuple:
    x, y = plate_front(ref, -0.45)
    return (track_id, x, y, (hand_at(ref),) if hand else ())


def world(people_by_time: list[tuple[float, list[tuple]]], visits: dict[int, str]):
    tracks = TrackStore()
    manager = VisitManager(LAYOUT)
    for track_id, visit_id in visits.items():
        visit = manager.visits.get(visit_id) or Visit(visit_id, f"UID{visit_id}", "r", 0.0)
        manager.visits[visit_id] = visit
        manager._bind(visit, track_id)
    for t, people in people_by_time:
        tracks.update(t, people)
    return tracks, manager


def event(delta: float, *, plates=(PLATE.plate,), candidates=None):
    if candidates is None:
        candidates = (SimpleNamespace(product_id=PRODUCT, name="x", quantity=1, likelihood=0.98),)
    return SimpleNamespace(
        event_id="se-test",
        gondola=1,
        shelf=2,
        plates=plates,
        t_start=10.0,
        t_end=10.8,
        delta_grams=delta,
        candidates=candidates,
    )


def frames(*people_lists: list[tuple]) -> list[tuple[float, list[tuple]]]:
    times = [9.4, 9.6, 9.8, 10.0, 10.2, 10.4, 10.6, 10.8]
    return [(t, [p for people in people_lists for p in people]) for t in times]


NEIGHBOUR = PlateRef(1, 2, 9)

CASES = [
    # (name, people, expected visit, expected review reason)
    ("one hand at the plate", [[shopper(1, PLATE, hand=True)]], "v1", None),
    (
        "hand beats a body standing close",
        [[shopper(1, PLATE, hand=False)], [shopper(2, PLATE, hand=True)]],
        "v2",
        None,
    ),
    (
        "hand at the plate beats a hand at a neighbouring plate",
        [[shopper(1, NEIGHBOUR, hand=True)], [shopper(2, PLATE, hand=True)]],
        "v2",
        None,
    ),
    (
        "two hands at the same plate: review",
        [[shopper(1, PLATE, hand=True)], [shopper(2, PLATE, hand=True)]],
        None,
        "ambiguous shopper",
    ),
]


@pytest.mark.parametrize(("name", "people", "visit", "review"), CASES, ids=[c[0] for c in CASES])
def test_pick_attribution(name, people, visit, review):
    tracks, manager = world(frames(*people), {1: "v1", 2: "v2"})
    decision = Fusion(LAYOUT).decide(event(-WEIGHT), tracks, manager, {})
    assert decision.product_id == PRODUCT
    assert decision.quantity == 1
    if visit is not None:
        assert decision.visit_id == visit
        assert decision.confidence > 0.6
    assert decision.review_reason == review
    assert decision.evidence["shelf_event_id"] == "se-test"


def test_nobody_near_is_not_attributed():
    far = [(7, 0.5, 0.5, ())]
    tracks, manager = world(frames(far), {7: "v7"})
    decision = Fusion(LAYOUT).decide(event(-WEIGHT), tracks, manager, {})
    assert decision.visit_id is None
    assert decision.review_reason == "nobody was near the shelf"


def test_put_back_goes_to_the_shopper_holding_that_item():
    tracks, manager = world(
        frames([shopper(1, PLATE, hand=True)], [shopper(2, NEIGHBOUR, hand=True)]),
        {1: "v1", 2: "v2"},
    )
    carts = {"v1": Cart("v1"), "v2": Cart("v2")}
    carts["v1"].add(CartEvent("l1", 5.0, PRODUCT, 1, 0.9, {}))
    decision = Fusion(LAYOUT).decide(event(+WEIGHT), tracks, manager, carts)
    assert (decision.visit_id, decision.product_id, decision.quantity) == ("v1", PRODUCT, -1)


def test_put_back_of_something_nobody_holds_needs_review():
    tracks, manager = world(frames([shopper(1, PLATE, hand=True)]), {1: "v1"})
    decision = Fusion(LAYOUT).decide(event(+WEIGHT), tracks, manager, {"v1": Cart("v1")})
    assert decision.visit_id is None
    assert decision.review_reason == "weight came back that no nearby shopper was holding"


def test_put_back_with_nobody_near_needs_review():
    tracks, manager = world(frames([(7, 0.5, 0.5, ())]), {7: "v7"})
    carts = {"v7": Cart("v7")}
    carts["v7"].add(CartEvent("l1", 5.0, PRODUCT, 1, 0.9, {}))
    decision = Fusion(LAYOUT).decide(event(+WEIGHT), tracks, manager, carts)
    assert decision.visit_id is None


def test_two_hands_on_a_two_unit_grab_share_it():
    tracks, manager = world(
        frames([shopper(1, PLATE, hand=True)], [shopper(2, PLATE, hand=True)]), {1: "v1", 2: "v2"}
    )
    two = (SimpleNamespace(product_id=PRODUCT, name="x", quantity=2, likelihood=0.97),)
    decisions = Fusion(LAYOUT).decide_all(event(-2 * WEIGHT, candidates=two), tracks, manager, {})
    assert sorted((d.visit_id, d.quantity) for d in decisions) == [("v1", 1), ("v2", 1)]
    assert all(d.evidence["shared_grab"] == 2 for d in decisions)


def test_one_hand_on_a_two_unit_grab_takes_both():
    tracks, manager = world(
        frames([shopper(1, PLATE, hand=True)], [shopper(2, NEIGHBOUR, hand=True)]),
        {1: "v1", 2: "v2"},
    )
    two = (SimpleNamespace(product_id=PRODUCT, name="x", quantity=2, likelihood=0.97),)
    decisions = Fusion(LAYOUT).decide_all(event(-2 * WEIGHT, candidates=two), tracks, manager, {})
    assert [(d.visit_id, d.quantity) for d in decisions] == [("v1", 2)]
