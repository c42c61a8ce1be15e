"""The simulated store: plan every shopper's visit, then execute their hand actions in time order.

Planning decides where each shopper walks and what they reach for (TimelineBuilder). Execution
walks all shelf interactions in global time order against the stock, so two shoppers after the
last unit cannot both get it, and produces the load events and the ground truth. Everything is
drawn from generators seeded from the session seed: same seed, same store day.
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter
from dataclasses import dataclass, field
from typing import TypeVar

import numpy as np

from edge.config.layout import (
    PlateRef,
    StoreLayout,
    floor_to_gondola,
    gondola_to_floor,
    point_in_polygon,
)
from sim.paths import FloorRouter, Point
from sim.scenario import Scenario
from sim.shelf_load import Stock, Unit
from sim.timeline import Timeline, TimelineBuilder

T = TypeVar("T")

TAP_S = 0.6
TAG_SLOT_S = 1.0  # one item tag after another at a reader: present 0.6 s, then a 0.4 s gap
GROUP_FOLLOW_S = 1.0  # a group member reaches the gate this long after the one before
GROUP_SPACING_M = 0.45  # and stands this far behind them in the same lane
GATE_WAIT_S = TAP_S + 0.9  # a shopper stands at its entry gate spot this long (tap, gate opens)
# Group mates standing at the gate at once keep at least this far apart (GROUP_SPACING_M less a
# little: members behind each other in one lane are exactly GROUP_SPACING_M apart, give or take
# the rounding).
GROUP_MIN_M = GROUP_SPACING_M - 0.05
# Where a group member tries when its spot in the lane is taken, around the spot behind the tapper,
# the one ahead and the tapper's: along the lane (y) and across it (x), nearest first, a step
# across counting double (the edge expects a member in its tapper's lane, docs/fusion.md).
_MEMBER_SHIFTS = sorted(
    (
        (dx, dy)
        for dx in (0.0, -0.15, 0.15, -0.3, 0.3, -0.45, 0.45, -0.6, 0.6)
        for dy in (0.0, -0.15, 0.15, -0.3, 0.3, -0.45, 0.45)
        if dx or dy
    ),
    key=lambda d: math.hypot(2.0 * d[0], d[1]),
)
# Shoppers gathered at one shelf stand at least this far apart along it, centre to centre: an
# adult is about 0.45 m across the shoulders, so bodies never overlap (a camera sees two people).
SIDE_BY_SIDE_M = 0.55
ROOM_LOOKAHEAD_S = 12.0  # a shopper stopping at a shelf keeps clear of others for this long
MAX_SIDE_REACH_M = 0.6  # and stands at most this far along the shelf from the product
ROOM_MAX_WAIT_S = 30.0  # or waits a step back for the spot at most this long


@dataclass
class Intent:
    """A planned hand interaction with a plate, executed later in global time order."""

    id: int
    person: int
    kind: str  # "pick" | "put_back" | "put_wrong" | "touch"
    product_id: str
    quantity: int
    plate: PlateRef
    u_m: float
    t_touch: float
    t_release: float
    press_g: float
    source: int | None = None  # the pick whose units a put returns


@dataclass
class HandoffIntent:
    id: int
    t: float
    from_person: int
    to_person: int
    source: int  # the pick whose units change hands


@dataclass
class Tap:
    t: float
    reader: str
    uid: str


@dataclass
class ShopperPlan:
    person_id: int
    visit_id: str
    card_uid: str | None
    payer: int  # person id whose cart this shopper's items go to (group on one tap)
    timeline: Timeline
    taps: list[Tap] = field(default_factory=list)
    gate_point: Point | None = None  # where the shopper stood at the entry gate
    # Item tags: reader and time the exit reader starts reading the tagged units carried out
    # (one per TAG_SLOT_S), when the scenario reads tags (sim/generate.py writes the reads).
    tag_reads_at: tuple[str, float] | None = None

    @property
    def arrive_t(self) -> float:
        return self.timeline.start

    @property
    def exit_t(self) -> float:
        return self.timeline.end


@dataclass
class TruthAction:
    t_start: float
    t_end: float
    t_settled: float
    person_id: int
    kind: str  # "pick" | "put" | "handoff"
    product_id: str
    quantity: int
    plates: list[str]
    hand: str
    to_person: int | None = None


@dataclass
class WorldResult:
    plans: list[ShopperPlan]
    stock: Stock
    actions: list[TruthAction]
    receipts: dict[int, Counter[str]]  # payer person id -> product quantities
    handling: list[tuple[float, float, PlateRef]]  # hand-on-shelf intervals, for vibration
    true_unit_weight: dict[str, float]
    end_t: float


class World:
    """Plans and executes one simulated store session."""

    def __init__(self, layout: StoreLayout, scenario: Scenario, seed: int):
        self.layout = layout
        self.scenario = scenario
        self.seed = seed
        self.router = FloorRouter(layout)
        self.rng = np.random.default_rng([seed, 0])
        self.intents: list[Intent] = []
        self.handoffs: list[HandoffIntent] = []
        self.plans: list[ShopperPlan] = []
        # Shoppers being planned alongside each other (a gathering, a hand-over), while the
        # later ones take their gate spots: payer and the timeline built so far (the walk to
        # the shelf), seen by `_others` before their plans are finished.
        self._building: dict[int, tuple[int, Timeline]] = {}
        self._next_intent = 0
        self.entry_gate = next(g for g in layout.config.gates if g.kind in ("entry", "both"))
        self.exit_gate = next(g for g in layout.config.gates if g.kind in ("exit", "both"))
        self.products_by_shelf: dict[tuple[int, int], list[str]] = {}
        for entry in layout.config.planogram:
            ref = PlateRef.parse(entry.plates[0])
            self.products_by_shelf.setdefault((ref.gondola, ref.shelf), []).append(entry.product)
        self._pickable = self._pickable_products()

    # --- product choice ---------------------------------------------------------------------

    def _pickable_products(self) -> list[str]:
        wanted = self.scenario.behaviour.product_filter
        result = []
        for _shelf, products in sorted(self.products_by_shelf.items()):
            for pid in products:
                if wanted == "straddling" and len(self.layout.product_plates[pid]) < 2:
                    continue
                if wanted == "tagged" and not self.layout.products[pid].rfid_tag_prefix:
                    continue
                if wanted == "same_weight":
                    w = self.layout.products[pid].weight_g
                    twins = [
                        q for q in products if q != pid and self.layout.products[q].weight_g == w
                    ]
                    if not twins:
                        continue
                result.append(pid)
        return result or [e.product for e in self.layout.config.planogram]

    # --- geometry helpers -------------------------------------------------------------------

    def _span(self, product_id: str) -> tuple[float, float]:
        geos = [self.layout.plate_geometry[r] for r in self.layout.product_plates[product_id]]
        return min(g.u_start_m for g in geos), max(g.u_end_m for g in geos)

    def _plate_at(self, product_id: str, u: float) -> PlateRef:
        for ref in self.layout.product_plates[product_id]:
            geo = self.layout.plate_geometry[ref]
            if geo.u_start_m <= u <= geo.u_end_m:
                return ref
        return self.layout.product_plates[product_id][0]

    def _floor_at(self, ref: PlateRef, u: float, v: float) -> Point:
        return gondola_to_floor(self.layout.gondolas[ref.gondola], u, v)

    def _stand_for(
        self, product_id: str, u: float, rng: np.random.Generator, offset_u: float = 0.0
    ) -> Point:
        ref = self.layout.product_plates[product_id][0]
        length = self.layout.gondolas[ref.gondola].length_m
        su = min(max(u + offset_u + float(rng.normal(0, 0.08)), 0.15), length - 0.15)
        return self._floor_at(ref, su, -float(rng.uniform(0.35, 0.5)))

    def _planned(self, besides: int | None = None) -> list[tuple[int, Timeline]]:
        """(payer, timeline) of every shopper planned so far, finished or being planned, but
        `besides`."""
        out = [(plan.payer, plan.timeline) for plan in self.plans]
        out += [v for pid, v in sorted(self._building.items()) if pid != besides]
        return out

    def _others(self, t0: float, horizon_s: float, skip_payer: int | None = None) -> np.ndarray:
        """Where the shoppers planned earlier are from t0 to t0 + horizon_s, every 0.5 s
        (M, 2); without those paying with `skip_payer` (a group's own members), if given."""
        times = t0 + np.arange(0.0, horizon_s + 1e-9, 0.5)
        seen = [np.zeros((0, 2))]
        for payer, tl in self._planned():
            if skip_payer is not None and payer == skip_payer:
                continue
            at = times[(times >= tl.start) & (times <= tl.end)]
            if len(at):
                seen.append(tl.positions(at))
        return np.concatenate(seen)

    def _make_room(self, b: TimelineBuilder, product_id: str, u: float) -> None:
        """Keep clear of shoppers planned earlier: when one stands (or passes) within
        SIDE_BY_SIDE_M of where this one just stopped during the next ROOM_LOOKAHEAD_S, step
        aside along the gondola to the nearest free spot within reach of the product (u), or,
        when there is none, wait a step back in the aisle until the spot is free. Two bodies
        never stand in one place, so a camera sees two people."""

        near = self._others(b.t, ROOM_LOOKAHEAD_S)
        if _free(b.pos, near):
            return
        ref = self.layout.product_plates[product_id][0]
        gondola = self.layout.gondolas[ref.gondola]
        su, depth = floor_to_gondola(gondola, b.pos)
        for k in range(1, int(MAX_SIDE_REACH_M / 0.1) + 1):
            for sign in (1.0, -1.0):
                cand_u = su + sign * 0.1 * k
                if abs(cand_u - u) > MAX_SIDE_REACH_M or not (
                    0.15 <= cand_u <= gondola.length_m - 0.15
                ):
                    continue
                cand = self._floor_at(ref, cand_u, depth)
                if _free(cand, near):
                    b.walk_to(cand)
                    return
        spot = b.pos
        back = self._waiting_spot(ref, su, depth, b.t)
        if back is None:
            return
        b.walk_to(back)
        for _ in range(int(ROOM_MAX_WAIT_S / 0.5)):
            b.wait(0.5)
            if _free(spot, self._others(b.t, ROOM_LOOKAHEAD_S)):
                break
        b.walk_to(spot)

    def _waiting_spot(self, ref: PlateRef, su: float, depth: float, t: float) -> Point | None:
        """Where a shopper whose spot at the shelf is taken waits: a step back in the aisle
        (0.45 m), else further back or a little along it, the first spot SIDE_BY_SIDE_M from
        everyone planned earlier over the next ROOM_LOOKAHEAD_S, else the roomiest; None when
        the aisle behind is blocked. Until 2026-12-05 the step back was not checked, and a
        shopper could wait 0.39 m from the one whose spot it wanted for 13 s (three-at-shelf
        seed 1, t = 177 s), one body to a camera."""
        near = self._others(t, ROOM_LOOKAHEAD_S)
        best: tuple[float, Point] | None = None
        for back_m in (0.45, 0.6, 0.75):
            for along in (0.0, -0.3, 0.3, -0.6, 0.6):
                cand = self._floor_at(ref, su + along, depth - back_m)
                if self.router.blocked[self.router.cell(cand)]:
                    continue
                if _free(cand, near):
                    return cand
                room = float(np.hypot(near[:, 0] - cand[0], near[:, 1] - cand[1]).min())
                if best is None or room > best[0]:
                    best = (room, cand)
        return None if best is None else best[1]

    def _hand_target(self, ref: PlateRef, u: float) -> tuple[float, float, float]:
        x, y = self._floor_at(ref, u, 0.06)
        return (x, y, self.layout.shelves[(ref.gondola, ref.shelf)].height_m + 0.06)

    def _behind(
        self, lane: Point, place: int, rng: np.random.Generator, at_t: float, leader: int
    ) -> Point:
        """Where the `place`-th member of a group, reaching the gate at `at_t`, stands: in the
        tapper's lane, behind them (or just ahead when the lane has no room behind: the tapper
        lets them through first; or, the lane too short for both, where the tapper stood).

        The spot keeps SIDE_BY_SIDE_M from every shopper planned earlier who is not of the
        group (payer `leader`) over the next TAP_S + 3 s, as a tapper's does (`_gate_point`);
        group mates standing at the gate at the same time keep GROUP_MIN_M. When none of those
        spots is free, the member steps to the nearest free spot around them (along and across
        the lane, `_MEMBER_SHIFTS`), else to the roomiest of those. Until
        2026-12-04 the spot was not checked: in the busy store, at a crowded gate, a member
        stood 0.48 m from another group's tapper (seed 2, t = 156 s), and a member whose lane
        ran out of the gate zone sideways stood right on its tapper or a group mate (0 m; 6 of
        85 members over seeds 0 to 5): two bodies in one place, which can make the edge join a
        member to the wrong tapper. A spot that is free is the same as before, from the same
        single draw of `rng`. (A shopper planned later may still walk through a member standing
        at the gate: nobody steers around anyone.)"""
        zone = self.entry_gate.zone
        x = lane[0] + float(rng.normal(0.0, 0.08))
        # Behind, ahead, or (later members, the lane too short for both) where the tapper
        # stood: the spots a member took before spots were checked.
        natural = [
            (x, lane[1] - GROUP_SPACING_M * place),
            (x, lane[1] + GROUP_SPACING_M * place),
            lane,
        ]
        near = self._others(at_t, TAP_S + 3.0, skip_payer=leader)
        mates = np.array(
            [
                plan.gate_point
                for plan in self.plans
                if plan.payer == leader
                and plan.gate_point is not None
                and plan.arrive_t + GATE_WAIT_S > at_t
            ]
        ).reshape(-1, 2)

        def room(p: Point) -> float:
            """How far `p` is from being too close to anyone (negative: too close)."""
            margin = math.inf
            if len(near):
                margin = float(np.hypot(near[:, 0] - p[0], near[:, 1] - p[1]).min()) - (
                    SIDE_BY_SIDE_M
                )
            if len(mates):
                margin = min(
                    margin,
                    float(np.hypot(mates[:, 0] - p[0], mates[:, 1] - p[1]).min()) - GROUP_MIN_M,
                )
            return margin

        best: tuple[float, Point] | None = None
        shifted = [(bx + dx, by + dy) for dx, dy in _MEMBER_SHIFTS for bx, by in natural]
        for p in natural + shifted:
            if not point_in_polygon(p, zone):
                continue
            r = room(p)
            if r >= 0.0:
                return p
            if best is None or r > best[0]:
                best = (r, p)
        return best[1] if best is not None else lane

    def _gate_point(
        self,
        gate_zone: list[tuple[float, float]],
        rng: np.random.Generator,
        at_t: float | None = None,
    ) -> Point:
        """A random spot in the gate zone; with `at_t`, one at least SIDE_BY_SIDE_M from every
        shopper planned earlier who stands there over the next few seconds (else the roomiest
        of 100 spots tried): two shoppers tapping one after another never stand inside each
        other (busy store, seed 2: a tapper appeared 6 cm from the one before, and the tracks
        of the two could not be told apart)."""
        xs = [p[0] for p in gate_zone]
        ys = [p[1] for p in gate_zone]
        near = self._others(at_t, TAP_S + 3.0) if at_t is not None else np.zeros((0, 2))
        best: tuple[float, Point] | None = None
        for _ in range(20 if not len(near) else 100):
            p = (float(rng.uniform(min(xs), max(xs))), float(rng.uniform(min(ys), max(ys))))
            if not point_in_polygon(p, gate_zone):
                continue
            if not len(near):
                return p
            room = float(np.hypot(near[:, 0] - p[0], near[:, 1] - p[1]).min())
            if room >= SIDE_BY_SIDE_M:
                return p
            if best is None or room > best[0]:
                best = (room, p)
        return best[1] if best is not None else self.layout.gate_center(self.entry_gate.id)

    # --- intents ------------------------------------------------------------------------------

    def _intent(self, **kwargs: object) -> Intent:
        self._next_intent += 1
        intent = Intent(id=self._next_intent, **kwargs)  # type: ignore[arg-type]
        self.intents.append(intent)
        return intent

    def _grab(
        self,
        b: TimelineBuilder,
        person: int,
        product_id: str,
        u: float,
        quantity: int,
        rng: np.random.Generator,
        *,
        slow: bool = False,
    ) -> Intent:
        ref = self._plate_at(product_id, u)
        contact = (
            float(rng.uniform(3.0, 7.0))
            if slow
            else float(rng.uniform(0.3, 0.9)) + 0.3 * (quantity - 1)
        )
        press = float(rng.uniform(300, 1500)) if slow else float(rng.uniform(20, 150))
        reach = b.reach(self._hand_target(ref, u), contact_s=contact)
        return self._intent(
            person=person,
            kind="pick",
            product_id=product_id,
            quantity=quantity,
            plate=ref,
            u_m=u,
            t_touch=reach.t_in,
            t_release=reach.t_back,
            press_g=press,
        )

    def _put(
        self,
        b: TimelineBuilder,
        person: int,
        source: Intent,
        rng: np.random.Generator,
        *,
        plate: PlateRef | None = None,
        u: float | None = None,
    ) -> Intent:
        target_plate = plate or source.plate
        target_u = u if u is not None else source.u_m
        reach = b.reach(
            self._hand_target(target_plate, target_u), contact_s=float(rng.uniform(0.3, 0.8))
        )
        return self._intent(
            person=person,
            kind="put_wrong" if plate else "put_back",
            product_id=source.product_id,
            quantity=source.quantity,
            plate=target_plate,
            u_m=target_u,
            t_touch=reach.t_in,
            t_release=reach.t_back,
            press_g=float(rng.uniform(20, 120)),
            source=source.id,
        )

    def _shop_stop(
        self,
        b: TimelineBuilder,
        person: int,
        product_id: str,
        rng: np.random.Generator,
        carried_wrong: list[Intent],
        *,
        u: float | None = None,
        stand_offset: float = 0.0,
        wait_until: float | None = None,
        browse_only: bool = False,
        look_only: bool = False,
    ) -> None:
        """Walk to a product, maybe get rid of a carried item, and interact per the behaviour."""
        beh = self.scenario.behaviour
        a, bnd = self._span(product_id)
        if u is None:
            u = float(rng.uniform(a + 0.03, bnd - 0.03))
        b.walk_to(self._stand_for(product_id, u, rng, stand_offset))
        self._make_room(b, product_id, u)
        b.wait(float(rng.uniform(*self.scenario.shopper.look_s)))
        if look_only:
            return
        if wait_until is not None:
            b.wait_until(wait_until)
        if carried_wrong:
            source = carried_wrong.pop()
            ref = self._plate_at(product_id, u)
            geo = self.layout.plate_geometry[ref]
            self._put(
                b,
                person,
                source,
                rng,
                plate=ref,
                u=float(rng.uniform(geo.u_start_m + 0.03, geo.u_end_m - 0.03)),
            )
            b.wait(float(rng.uniform(0.5, 1.5)))
        if browse_only:
            pick = self._grab(b, person, product_id, u, 1, rng)
            b.wait(float(rng.uniform(1.5, 4.0)))
            self._put(b, person, pick, rng)
            return
        if rng.random() < beh.fidget:
            for _ in range(int(rng.integers(3, 7))):
                pick = self._grab(b, person, product_id, u, 1, rng)
                b.wait(float(rng.uniform(1.0, 3.0)))
                self._put(b, person, pick, rng)
                b.wait(float(rng.uniform(0.3, 1.0)))
            if rng.random() < 0.5:
                self._grab(b, person, product_id, u, 1, rng)
            return
        quantity = int(rng.integers(2, 4)) if rng.random() < beh.multi_unit else 1
        slow = rng.random() < beh.slow_pick
        pick = self._grab(b, person, product_id, u, quantity, rng, slow=slow)
        if rng.random() < beh.browse_put_back:
            b.wait(float(rng.uniform(1.5, 5.0)))
            self._put(b, person, pick, rng)
        elif rng.random() < beh.put_back_wrong_plate:
            carried_wrong.append(pick)

    # --- shoppers -------------------------------------------------------------------------------

    def _new_plan(
        self,
        person: int,
        arrive_t: float,
        rng: np.random.Generator,
        payer: int | None,
        tap: bool,
        start: Point | None = None,
    ) -> tuple[ShopperPlan, TimelineBuilder]:
        lo, hi = self.scenario.shopper.walk_speed_mps
        if start is None:
            start = self._gate_point(self.entry_gate.zone, rng, at_t=arrive_t)
        b = TimelineBuilder(self.router, arrive_t, start, float(rng.uniform(lo, hi)), rng)
        uid = hashlib.sha256(f"card-{self.seed}-{person}".encode()).hexdigest()[:14].upper()
        plan = ShopperPlan(
            person_id=person,
            visit_id=f"truth-{person:04d}",
            card_uid=uid if tap else None,
            payer=person if payer is None else payer,
            timeline=b.timeline,
            gate_point=start,
        )
        if tap and self.entry_gate.readers:
            plan.taps.append(Tap(arrive_t + 0.3, self.entry_gate.readers[0], uid))
        b.wait(GATE_WAIT_S)  # the gate opens after the tap
        return plan, b

    def _finish(
        self,
        plan: ShopperPlan,
        b: TimelineBuilder,
        rng: np.random.Generator,
        carried_wrong: list[Intent],
    ) -> None:
        while carried_wrong:  # a wrong put-back needs another shelf to happen at
            self._shop_stop(
                b, plan.person_id, self._choose(rng, 1)[0], rng, carried_wrong, browse_only=False
            )
        b.walk_to(self._gate_point(self.exit_gate.zone, rng))
        if self.scenario.shopper.exit_tag_read_probability > 0 and self.exit_gate.readers:
            # The shopper pauses at the exit reader while it reads the tagged units; the plan
            # knows the picks it intends (what it really carries is known after execution).
            tagged = sum(
                i.quantity
                for i in self.intents
                if i.person == plan.person_id
                and i.kind == "pick"
                and self.layout.products[i.product_id].rfid_tag_prefix
            )
            if tagged:
                plan.tag_reads_at = (self.exit_gate.readers[0], b.t + 0.1)
                b.wait(tagged * TAG_SLOT_S + 0.2)
        if (
            self.exit_gate.readers
            and plan.card_uid
            and rng.random() < self.scenario.shopper.exit_tap_probability
        ):
            plan.taps.append(Tap(b.t + 0.2, self.exit_gate.readers[0], plan.card_uid))
            b.wait(TAP_S + 0.4)
        b.wait(0.5)
        self.plans.append(plan)

    def _choose(self, rng: np.random.Generator, n: int) -> list[str]:
        idx = rng.choice(len(self._pickable), size=n, replace=n > len(self._pickable))
        return [self._pickable[int(i)] for i in idx]

    def _order_stops(self, stops: list[T], start: Point) -> list[T]:
        """Greedy nearest-next order: shoppers do not zig-zag across the store.

        A stop is a product id or a (product id, flag) pair.
        """

        def front(stop: T) -> Point:
            pid = stop if isinstance(stop, str) else stop[0]  # type: ignore[index]
            return self.layout.plate_geometry[self.layout.product_plates[pid][0]].front_xy

        remaining = list(stops)
        ordered: list[T] = []
        here = start
        while remaining:
            nxt = min(remaining, key=lambda s: math.dist(front(s), here))
            remaining.remove(nxt)
            ordered.append(nxt)
            here = front(nxt)
        return ordered

    def plan_random_shopper(
        self,
        person: int,
        arrive_t: float,
        payer: int | None = None,
        tap: bool = True,
        extra_stops: int = 0,
        start: Point | None = None,
    ) -> ShopperPlan:
        rng = np.random.default_rng([self.seed, 1, person])
        plan, b = self._new_plan(person, arrive_t, rng, payer, tap, start)
        shopper = self.scenario.shopper
        carried_wrong: list[Intent] = []
        if rng.random() < shopper.leave_empty_probability:
            for pid in self._order_stops(self._choose(rng, int(rng.integers(1, 3))), b.pos):
                self._shop_stop(b, person, pid, rng, carried_wrong, browse_only=True)
        else:
            n = min(int(rng.poisson(shopper.items_mean)), shopper.items_max) + extra_stops
            looks = int(rng.poisson(shopper.look_stops_mean))
            stops = [(pid, False) for pid in self._choose(rng, n)]
            stops += [(pid, True) for pid in self._choose(rng, looks)]
            for pid, look in self._order_stops(stops, b.pos):
                self._shop_stop(b, person, pid, rng, carried_wrong, look_only=look)
        self._finish(plan, b, rng, carried_wrong)
        return plan

    def plan_gathering(
        self, first_person: int, t: float, spec_shoppers: int, same_product: bool, jitter: float
    ) -> list[ShopperPlan]:
        """Several shoppers arrive together and grab at one shelf at (nearly) the same moment."""
        rng = np.random.default_rng([self.seed, 2, first_person])
        candidates = [
            (key, prods)
            for key, prods in sorted(self.products_by_shelf.items())
            if len(prods) >= (1 if same_product else spec_shoppers)
        ]
        _key, prods = candidates[int(rng.integers(len(candidates)))]
        if same_product:
            wide = [p for p in prods if len(self.layout.product_plates[p]) >= 2] or prods
            targets = [wide[int(rng.integers(len(wide)))]] * spec_shoppers
        else:
            first = int(rng.integers(len(prods) - spec_shoppers + 1))
            targets = prods[first : first + spec_shoppers]
        # Where each one grabs, and where they stand: side by side, never inside each other
        # (`side_by_side`), reaching sideways to their product when it lies closer than that.
        count = spec_shoppers
        rngs = [np.random.default_rng([self.seed, 1, first_person + i]) for i in range(count)]
        grab_u: list[float] = []
        stand_u: list[float] = []
        depth: list[float] = []
        for i, prng in enumerate(rngs):
            a, bnd = self._span(targets[i])
            if same_product:
                u = min(max((a + bnd) / 2 + (i - (count - 1) / 2) * 0.08, a + 0.03), bnd - 0.03)
                centre = (a + bnd) / 2 + (i - (count - 1) / 2) * SIDE_BY_SIDE_M
            else:
                u = float(prng.uniform(a + 0.03, bnd - 0.03))
                centre = u
            grab_u.append(u)
            stand_u.append(centre + float(prng.normal(0, 0.08)))
            depth.append(float(prng.uniform(0.35, 0.5)))
        ref = self.layout.product_plates[targets[0]][0]
        length = self.layout.gondolas[ref.gondola].length_m
        stand_u = side_by_side(stand_u, SIDE_BY_SIDE_M, 0.15, length - 0.15)
        # One after another they tap and walk to the shelf; each later one's gate spot and walk
        # see the earlier ones' (until 2026-12-04 all tapped first, so a later one's spot was
        # chosen blind and the earlier one walked through it: 0.09 m apart in two-at-shelf).
        builders = []
        arrivals = []
        for i, prng in enumerate(rngs):
            plan, b = self._new_plan(first_person + i, t + 2.0 * i, prng, None, True)
            builders.append((plan, b, prng))
            b.walk_to(self._floor_at(ref, stand_u[i], -depth[i]))
            arrivals.append(b.t)
            self._building[plan.person_id] = (plan.payer, b.timeline)
        # From here each one finishes in turn, seeing the ones finished before (`self.plans`).
        self._building.clear()
        meet = max(arrivals) + 1.0
        for i, (plan, b, prng) in enumerate(builders):
            u = grab_u[i]
            b.wait_until(meet + float(prng.uniform(0, jitter)))
            self._grab(b, plan.person_id, targets[i], u, 1, prng)
            carried: list[Intent] = []
            n = min(
                int(prng.poisson(max(self.scenario.shopper.items_mean - 1, 0))),
                self.scenario.shopper.items_max,
            )
            for pid in self._order_stops(self._choose(prng, n), b.pos):
                self._shop_stop(b, plan.person_id, pid, prng, carried)
            self._finish(plan, b, prng, carried)
        return [p for p, _, _ in builders]

    def plan_handoff(self, first_person: int, t: float) -> list[ShopperPlan]:
        """Shopper A picks an item and hands it to shopper B, who pays for it."""
        rng = np.random.default_rng([self.seed, 3, first_person])
        a_plan, a = self._new_plan(
            first_person, t, np.random.default_rng([self.seed, 1, first_person]), None, True
        )
        product = self._choose(rng, 1)[0]
        lo, hi = self._span(product)
        u = float(rng.uniform(lo + 0.03, hi - 0.03))
        a.walk_to(self._stand_for(product, u, rng))
        # B taps after A has walked in: B's gate spot keeps clear of A's walk (`_others`).
        self._building[first_person] = (a_plan.payer, a.timeline)
        b_rng = np.random.default_rng([self.seed, 1, first_person + 1])
        b_plan, b = self._new_plan(first_person + 1, t + 2.5, b_rng, None, True)
        self._building.clear()
        a.wait(1.0)
        pick = self._grab(a, first_person, product, u, 1, rng)
        # B comes to stand next to A; they hand over in front of the shelf.
        ax, ay = a.pos
        b.walk_to((ax + 0.6, ay - 0.2))
        meet = max(a.t, b.t) + 0.5
        a.wait_until(meet)
        b.wait_until(meet)
        mid = (ax + 0.3, ay - 0.1, 1.0)
        a.reach(mid, contact_s=0.8, out_s=0.5, back_s=0.5)
        b.reach(mid, contact_s=0.8, out_s=0.5, back_s=0.5)
        self._next_intent += 1
        self.handoffs.append(
            HandoffIntent(self._next_intent, meet + 0.9, first_person, first_person + 1, pick.id)
        )
        for plan, builder, prng in ((a_plan, a, rng), (b_plan, b, b_rng)):
            carried: list[Intent] = []
            for pid in self._order_stops(self._choose(prng, int(prng.integers(1, 3))), builder.pos):
                self._shop_stop(builder, plan.person_id, pid, prng, carried)
            self._finish(plan, builder, prng, carried)
        return [a_plan, b_plan]

    # --- the day --------------------------------------------------------------------------------

    def plan_all(self) -> None:
        sc = self.scenario
        person = 1
        for g in sc.gatherings:
            for k in range(g.repeat):
                t = sc.arrivals.first_s + k * g.spacing_s
                self.plan_gathering(person, t, g.shoppers, g.same_product, g.sync_jitter_s)
                person += g.shoppers
        for h in sc.handoffs:
            for k in range(h.repeat):
                self.plan_handoff(person, sc.arrivals.first_s + k * h.spacing_s + 5.0)
                person += 2
        arrivals = self._arrival_times()
        exits: list[float] = []
        for t in arrivals:
            grng = np.random.default_rng([self.seed, 4, person])
            size = 1
            if grng.random() < sc.groups.probability:
                size = int(grng.integers(sc.groups.size[0], sc.groups.size[1] + 1))
            # Held outside until there is room for the whole group.
            inside = [e for e in exits if e > t]
            over = len(inside) + min(size, sc.arrivals.max_inside) - sc.arrivals.max_inside
            if over > 0:
                t = sorted(inside)[over - 1] + 1.0
            leader = person
            lane: Point | None = None
            for i in range(size):
                # Group members pass the gate in their tapper's lane, right behind them.
                start = (
                    None
                    if lane is None
                    else self._behind(lane, i, grng, t + GROUP_FOLLOW_S * i, leader)
                )
                plan = self.plan_random_shopper(
                    person, t + GROUP_FOLLOW_S * i, payer=leader, tap=i == 0, start=start
                )
                lane = lane or plan.gate_point
                exits.append(plan.exit_t)
                person += 1

    def _arrival_times(self) -> list[float]:
        sc = self.scenario
        rng = np.random.default_rng([self.seed, 5])
        rate = sc.arrivals.rate_per_min / 60.0
        times: list[float] = []
        if rate <= 0:
            return times
        t = sc.arrivals.first_s
        while t < sc.duration_s and (sc.arrivals.count is None or len(times) < sc.arrivals.count):
            times.append(t)
            t += float(rng.exponential(1.0 / rate))
        return times

    def execute(self) -> WorldResult:
        """Run every planned interaction against the stock in time order; produce the truth."""
        rng = np.random.default_rng([self.seed, 6])
        true_weight = self._true_unit_weights()
        stock = Stock(self.layout, true_weight, rng)
        payer = {p.person_id: p.payer for p in self.plans}
        carts: dict[int, Counter[str]] = {p.payer: Counter() for p in self.plans}
        held: dict[int, list[Unit]] = {}
        holder: dict[int, int] = {}  # pick intent id -> person currently holding its units
        actions: list[TruthAction] = []
        handling: list[tuple[float, float, PlateRef]] = []
        events: list[tuple[float, int, Intent | HandoffIntent]] = [
            (i.t_touch, i.id, i) for i in self.intents
        ]
        events += [(h.t, h.id, h) for h in self.handoffs]
        hands = {}
        for plan in self.plans:
            for r in plan.timeline.reaches:
                hands[(plan.person_id, round(r.t_in, 6))] = r.side
        for _, _, ev in sorted(events, key=lambda e: (e[0], e[1])):
            if isinstance(ev, HandoffIntent):
                units = held.get(ev.source)
                if units and holder.get(ev.source) == ev.from_person:
                    for unit in units:
                        carts[payer[ev.from_person]][unit.product_id] -= 1
                        carts[payer[ev.to_person]][unit.product_id] += 1
                    holder[ev.source] = ev.to_person
                    actions.append(
                        TruthAction(
                            ev.t,
                            ev.t,
                            ev.t,
                            ev.from_person,
                            "handoff",
                            units[0].product_id,
                            len(units),
                            [],
                            "right",
                            to_person=ev.to_person,
                        )
                    )
                continue
            hand = hands.get((ev.person, round(ev.t_touch, 6)), "right")
            handling.append((ev.t_touch, ev.t_release, ev.plate))
            settled = ev.t_release + 0.6
            if ev.kind == "pick":
                units = stock.take(ev.product_id, ev.u_m, ev.quantity)
                if not units:
                    stock.touch(ev.plate, ev.t_touch, ev.t_release, ev.press_g)
                    continue
                stock.lift(units, ev.t_touch, ev.t_release, ev.press_g, rng)
                held[ev.id] = units
                holder[ev.id] = ev.person
                carts[payer[ev.person]][ev.product_id] += len(units)
                actions.append(_truth_action(ev, "pick", units, settled, hand))
            else:
                units = held.pop(ev.source or -1, [])
                if not units or holder.get(ev.source or -1) != ev.person:
                    stock.touch(ev.plate, ev.t_touch, ev.t_release, ev.press_g)
                    continue
                for unit in units:
                    if ev.kind == "put_back":
                        stock.relocate_home(unit)
                    else:
                        stock.place_foreign(unit, ev.plate, ev.u_m)
                stock.set_down(units, ev.t_touch, ev.t_release, ev.press_g, rng)
                if ev.kind == "put_back":
                    for unit in units:
                        stock.place_back(unit)
                carts[payer[ev.person]][ev.product_id] -= len(units)
                actions.append(_truth_action(ev, "put", units, settled, hand))
        end_t = max((p.exit_t for p in self.plans), default=0.0) + 2.0
        return WorldResult(self.plans, stock, actions, carts, handling, true_weight, end_t)

    def _true_unit_weights(self) -> dict[str, float]:
        """Real unit weights differ from the catalogue by a few percent (per product)."""
        rng = np.random.default_rng([self.seed, 7])
        err = self.scenario.sensors.unit_weight_error
        return {
            p.id: p.weight_g * float(1.0 + np.clip(rng.normal(0.0, err), -2.5 * err, 2.5 * err))
            for p in self.layout.config.products
        }


def _truth_action(
    ev: Intent, kind: str, units: list[Unit], settled: float, hand: str
) -> TruthAction:
    """The ground truth of an executed pick or put: the plates its units pressed on."""
    plates = sorted({str(r) for u in units for r in u.shares}, key=_ref_key)
    return TruthAction(
        ev.t_touch, ev.t_release, settled, ev.person, kind, ev.product_id, len(units), plates, hand
    )


def _ref_key(text: str) -> tuple[int, ...]:
    return tuple(int(x) for x in text.split("."))


def _free(pt: Point, near: np.ndarray) -> bool:
    """Whether no one in `near` (M, 2) stands within SIDE_BY_SIDE_M of `pt`."""
    return not len(near) or bool(
        np.hypot(near[:, 0] - pt[0], near[:, 1] - pt[1]).min() >= SIDE_BY_SIDE_M
    )


def side_by_side(positions: list[float], gap: float, lo: float, hi: float) -> list[float]:
    """Positions along a line moved apart so neighbours are at least `gap` apart, keeping their
    order and mean, then shifted (as a block) inside [lo, hi] where it is long enough."""
    order = sorted(range(len(positions)), key=lambda i: (positions[i], i))
    spread = [positions[i] for i in order]
    for k in range(1, len(spread)):
        spread[k] = max(spread[k], spread[k - 1] + gap)
    shift = (sum(positions) - sum(spread)) / len(spread) if spread else 0.0
    spread = [v + shift for v in spread]
    if spread and spread[0] < lo:
        spread = [v + lo - spread[0] for v in spread]
    if spread and spread[-1] > hi:
        spread = [v - (spread[-1] - hi) for v in spread]
    out = [0.0] * len(positions)
    for k, i in enumerate(order):
        out[i] = spread[k]
    return out
