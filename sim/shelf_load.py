"""What each plate truly carries over time: stocked units, pressing hands, items lifted, put down.

Units sit at positions along the gondola and press on the plates under their footprint (an item
across a plate boundary splits its weight). A pick is a hand press, then the unit's weight leaving
over a short ramp with a damped wobble; a put is the reverse. The renderer turns these events into
true grams per plate at the board's sample rate, chunk by chunk.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from edge.config.layout import PlateRef, StoreLayout

UNIT_FOOTPRINT_M = 0.10
WOBBLE_HZ = 6.0
WOBBLE_DECAY_S = 0.12
TRANSIENT_TAIL_S = 1.0  # after this an event's wobble is negligible


@dataclass
class Unit:
    """One physical item on a shelf."""

    uid: int
    product_id: str
    weight_g: float
    u_m: float  # position along the gondola
    shares: dict[PlateRef, float]  # grams pressing on each plate


@dataclass(frozen=True)
class Step:
    """A permanent load change on a plate: ramps in, then wobbles out."""

    plate: int  # index within the shelf
    t: float
    delta_g: float
    ramp_s: float
    wobble_g: float

    @property
    def end(self) -> float:
        return self.t + self.ramp_s + TRANSIENT_TAIL_S


@dataclass(frozen=True)
class Force:
    """A transient press (a hand on the plate): smooth rise, hold, smooth fall."""

    plate: int
    t0: float
    t1: float
    grams: float
    rise_s: float

    @property
    def end(self) -> float:
        return self.t1 + self.rise_s


def footprint_shares(
    u_m: float, weight_g: float, spans: list[tuple[PlateRef, float, float]]
) -> dict[PlateRef, float]:
    """Split a unit's weight over the plates its footprint overlaps (spans: ref, u0, u1)."""
    lo, hi = u_m - UNIT_FOOTPRINT_M / 2, u_m + UNIT_FOOTPRINT_M / 2
    overlaps = {ref: max(0.0, min(hi, u1) - max(lo, u0)) for ref, u0, u1 in spans}
    total = sum(overlaps.values())
    if total <= 0:  # footprint outside the span: put it all on the nearest plate
        ref = min(spans, key=lambda s: min(abs(u_m - s[1]), abs(u_m - s[2])))[0]
        return {ref: weight_g}
    return {ref: weight_g * o / total for ref, o in overlaps.items() if o > 0}


@dataclass
class ShelfLoad:
    """Events and the initial load of one shelf, and a chunked renderer of true grams."""

    plates: list[PlateRef]
    initial_g: np.ndarray
    steps: list[Step] = field(default_factory=list)
    forces: list[Force] = field(default_factory=list)

    def index(self, ref: PlateRef) -> int:
        return self.plates.index(ref)

    def renderer(self) -> ShelfRenderer:
        return ShelfRenderer(self)


class ShelfRenderer:
    """Renders a ShelfLoad chunk by chunk; events already over are folded into a base load."""

    def __init__(self, load: ShelfLoad):
        self.base = load.initial_g.astype(np.float64).copy()
        self.pending: list[Step | Force] = sorted(
            [*load.steps, *load.forces], key=lambda e: e.t if isinstance(e, Step) else e.t0
        )
        self.active: list[Step | Force] = []
        self.next_index = 0

    def render(self, times: np.ndarray) -> np.ndarray:
        """True grams, shape (len(times), n_plates), for increasing contiguous chunks."""
        t0, t1 = float(times[0]), float(times[-1])
        while self.next_index < len(self.pending):
            event = self.pending[self.next_index]
            start = event.t if isinstance(event, Step) else event.t0
            if start > t1:
                break
            self.active.append(event)
            self.next_index += 1
        out = np.repeat(self.base[None, :], len(times), axis=0)
        still_active: list[Step | Force] = []
        for event in self.active:
            if event.end < t0:
                if isinstance(event, Step):
                    self.base[event.plate] += event.delta_g
                    out[:, event.plate] += event.delta_g
                continue
            still_active.append(event)
            if isinstance(event, Step):
                out[:, event.plate] += _step_profile(event, times)
            else:
                out[:, event.plate] += _force_profile(event, times)
        self.active = still_active
        return out


def _step_profile(s: Step, times: np.ndarray) -> np.ndarray:
    x = np.clip((times - s.t) / s.ramp_s, 0.0, 1.0)
    tail = np.clip(times - s.t - s.ramp_s, 0.0, None)
    wobble = np.where(
        times >= s.t + s.ramp_s,
        s.wobble_g * np.exp(-tail / WOBBLE_DECAY_S) * np.sin(2 * math.pi * WOBBLE_HZ * tail),
        0.0,
    )
    return s.delta_g * x + wobble


def _force_profile(f: Force, times: np.ndarray) -> np.ndarray:
    up = np.clip((times - f.t0) / f.rise_s, 0.0, 1.0)
    down = np.clip((f.t1 + f.rise_s - times) / f.rise_s, 0.0, 1.0)
    shape = np.minimum(up, down)
    return f.grams * shape * shape * (3 - 2 * shape)  # smoothstep: hands do not jerk


class Stock:
    """Every unit on every shelf, with their loads; updated as picks and puts execute."""

    def __init__(
        self, layout: StoreLayout, true_unit_weight: dict[str, float], rng: np.random.Generator
    ):
        self.layout = layout
        self.rng = rng
        self.true_unit_weight = true_unit_weight
        self.units: dict[str, list[Unit]] = {}  # sellable units by product
        self.spans: dict[str, list[tuple[PlateRef, float, float]]] = {}
        self.shelves: dict[tuple[int, int], ShelfLoad] = {}
        self._next_uid = 0
        for g, s in layout.shelves:
            refs = layout.shelf_plate_refs(g, s)
            self.shelves[(g, s)] = ShelfLoad(plates=refs, initial_g=np.zeros(len(refs)))
        for entry in layout.config.planogram:
            product = layout.products[entry.product]
            refs = [PlateRef.parse(r) for r in entry.plates]
            spans = sorted(
                (
                    (r, layout.plate_geometry[r].u_start_m, layout.plate_geometry[r].u_end_m)
                    for r in refs
                ),
                key=lambda x: x[1],
            )
            self.spans.setdefault(entry.product, []).extend(spans)
            a, b = spans[0][1], spans[-1][2]
            for i in range(entry.units):
                u = a + (i + 0.5) * (b - a) / max(entry.units, 1)
                weight = true_unit_weight[product.id] + float(
                    rng.normal(0.0, product.weight_spread_g)
                )
                unit = self._new_unit(product.id, max(weight, 1.0), u, spans)
                self.units.setdefault(product.id, []).append(unit)
                self._add_initial(unit)

    def _new_unit(
        self, product_id: str, weight: float, u: float, spans: list[tuple[PlateRef, float, float]]
    ) -> Unit:
        self._next_uid += 1
        return Unit(self._next_uid, product_id, weight, u, footprint_shares(u, weight, spans))

    def _add_initial(self, unit: Unit) -> None:
        for ref, grams in unit.shares.items():
            shelf = self.shelves[(ref.gondola, ref.shelf)]
            shelf.initial_g[shelf.index(ref)] += grams

    def take(self, product_id: str, u_m: float, quantity: int) -> list[Unit]:
        """Remove up to `quantity` units of a product nearest to position u (a hand's grab)."""
        available = self.units.get(product_id, [])
        chosen = sorted(available, key=lambda unit: (abs(unit.u_m - u_m), unit.uid))[:quantity]
        for unit in chosen:
            available.remove(unit)
        return chosen

    def place_back(self, unit: Unit) -> None:
        """Put a unit back where it came from: sellable again."""
        self.units.setdefault(unit.product_id, []).append(unit)

    def place_foreign(self, unit: Unit, ref: PlateRef, u_m: float) -> Unit:
        """Set a unit down on another product's plate: it weighs there but is not restocked."""
        geo = self.layout.plate_geometry[ref]
        u = min(max(u_m, geo.u_start_m + 0.02), geo.u_end_m - 0.02)
        unit.u_m = u
        unit.shares = {ref: unit.weight_g}
        return unit

    def relocate_home(self, unit: Unit) -> None:
        """Recompute a unit's plate shares for its own product span at its position."""
        unit.shares = footprint_shares(unit.u_m, unit.weight_g, self.spans[unit.product_id])

    # --- load events --------------------------------------------------------------------------

    def lift(
        self,
        units: list[Unit],
        t_touch: float,
        t_lift: float,
        press_g: float,
        rng: np.random.Generator,
    ) -> None:
        """A hand presses the plates under the units, then lifts them away."""
        per_plate: dict[PlateRef, float] = {}
        for unit in units:
            for ref, grams in unit.shares.items():
                per_plate[ref] = per_plate.get(ref, 0.0) + grams
        for ref, grams in per_plate.items():
            shelf = self.shelves[(ref.gondola, ref.shelf)]
            i = shelf.index(ref)
            share = grams / sum(per_plate.values())
            if press_g > 0 and t_lift - t_touch > 0.05:
                shelf.forces.append(
                    Force(
                        i,
                        t_touch,
                        t_lift,
                        press_g * share,
                        rise_s=min(0.15, (t_lift - t_touch) / 2),
                    )
                )
            shelf.steps.append(
                Step(
                    i,
                    t_lift,
                    -grams,
                    ramp_s=float(rng.uniform(0.12, 0.3)),
                    wobble_g=grams * float(rng.uniform(0.04, 0.12)),
                )
            )

    def set_down(
        self,
        units: list[Unit],
        t_place: float,
        t_release: float,
        press_g: float,
        rng: np.random.Generator,
    ) -> None:
        """A hand sets units down on the plates of their current shares, then lets go."""
        for unit in units:
            for ref, grams in unit.shares.items():
                shelf = self.shelves[(ref.gondola, ref.shelf)]
                i = shelf.index(ref)
                shelf.steps.append(
                    Step(
                        i,
                        t_place,
                        grams,
                        ramp_s=float(rng.uniform(0.12, 0.3)),
                        wobble_g=grams * float(rng.uniform(0.04, 0.12)),
                    )
                )
                if press_g > 0 and t_release - t_place > 0.05:
                    shelf.forces.append(
                        Force(
                            i,
                            t_place,
                            t_release,
                            press_g,
                            rise_s=min(0.15, (t_release - t_place) / 2),
                        )
                    )

    def touch(self, ref: PlateRef, t0: float, t1: float, press_g: float) -> None:
        """A hand resting on or brushing a plate without taking anything."""
        shelf = self.shelves[(ref.gondola, ref.shelf)]
        shelf.forces.append(
            Force(shelf.index(ref), t0, t1, press_g, rise_s=min(0.15, (t1 - t0) / 2))
        )
