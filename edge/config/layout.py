"""Store geometry and look-ups derived from a validated StoreConfig (pure, no I/O).

Coordinates: the floor frame is metres with x to the right and y up the plan. A gondola's local
frame has u along its length (0 at its origin) and v into its depth (0 at the front edge); the
shopper stands at v < 0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property

from edge.config.models import (
    PLATE_REF_PATTERN,
    Gate,
    Gondola,
    Plate,
    Product,
    Shelf,
    StoreConfig,
)


@dataclass(frozen=True, order=True)
class PlateRef:
    """A plate's address in the store: gondola, shelf and plate numbers (1-based)."""

    gondola: int
    shelf: int
    plate: int

    @classmethod
    def parse(cls, text: str) -> PlateRef:
        match = PLATE_REF_PATTERN.match(text)
        if match is None:
            raise ValueError(f'plate reference {text!r} is not of the form "gondola.shelf.plate"')
        g, s, p = (int(x) for x in match.groups())
        return cls(g, s, p)

    def __str__(self) -> str:
        return f"{self.gondola}.{self.shelf}.{self.plate}"


@dataclass(frozen=True)
class PlateGeometry:
    """Where a plate is: its span along the gondola and its centre in floor coordinates."""

    ref: PlateRef
    u_start_m: float
    u_end_m: float
    center_xy: tuple[float, float]
    front_xy: tuple[float, float]  # middle of the plate's front edge: where a hand reaches in
    height_m: float


class StoreLayout:
    """Indexes and geometry over one store config, built once and shared read-only."""

    def __init__(self, config: StoreConfig):
        self.config = config
        self.gondolas: dict[int, Gondola] = {g.id: g for g in config.gondolas}
        self.shelves: dict[tuple[int, int], Shelf] = {
            (g.id, s.id): s for g in config.gondolas for s in g.shelves
        }
        self.plates: dict[PlateRef, Plate] = {
            PlateRef(g.id, s.id, p.id): p
            for g in config.gondolas
            for s in g.shelves
            for p in s.plates
        }
        self.products: dict[str, Product] = {p.id: p for p in config.products}
        self.product_plates: dict[str, list[PlateRef]] = {}
        self.plate_product: dict[PlateRef, str] = {}
        for entry in config.planogram:
            refs = [PlateRef.parse(r) for r in entry.plates]
            self.product_plates.setdefault(entry.product, []).extend(refs)
            for ref in refs:
                self.plate_product[ref] = entry.product
        self.gates: dict[str, Gate] = {gate.id: gate for gate in config.gates}

    # --- look-ups -------------------------------------------------------------------------

    def shelf_plate_refs(self, gondola: int, shelf: int) -> list[PlateRef]:
        """Plates of one shelf in the order the board reports them (config order)."""
        return [PlateRef(gondola, shelf, p.id) for p in self.shelves[(gondola, shelf)].plates]

    def price(self, product_id: str) -> Decimal:
        return self.products[product_id].price

    # --- geometry -------------------------------------------------------------------------

    @cached_property
    def plate_geometry(self) -> dict[PlateRef, PlateGeometry]:
        result: dict[PlateRef, PlateGeometry] = {}
        for gondola in self.config.gondolas:
            for shelf in gondola.shelves:
                widths = _plate_widths(gondola.length_m, shelf.plates)
                u = 0.0
                for plate, width in zip(shelf.plates, widths, strict=True):
                    ref = PlateRef(gondola.id, shelf.id, plate.id)
                    mid = u + width / 2
                    result[ref] = PlateGeometry(
                        ref=ref,
                        u_start_m=u,
                        u_end_m=u + width,
                        center_xy=gondola_to_floor(gondola, mid, gondola.depth_m / 2),
                        front_xy=gondola_to_floor(gondola, mid, 0.0),
                        height_m=shelf.height_m,
                    )
                    u += width
        return result

    def standing_point(self, ref: PlateRef, distance_m: float = 0.45) -> tuple[float, float]:
        """Where a shopper stands to reach a plate: in front of it, `distance_m` from the edge."""
        gondola = self.gondolas[ref.gondola]
        geo = self.plate_geometry[ref]
        return gondola_to_floor(gondola, (geo.u_start_m + geo.u_end_m) / 2, -distance_m)

    def gate_center(self, gate_id: str) -> tuple[float, float]:
        zone = self.gates[gate_id].zone
        return (sum(p[0] for p in zone) / len(zone), sum(p[1] for p in zone) / len(zone))


def gondola_to_floor(gondola: Gondola, u: float, v: float) -> tuple[float, float]:
    """Gondola-local (u along length, v into depth) to floor (x, y), metres."""
    theta = math.radians(gondola.rotation_deg)
    ox, oy = gondola.origin_m
    # v grows into the gondola, i.e. to the left of the length axis.
    return (
        ox + u * math.cos(theta) - v * math.sin(theta),
        oy + u * math.sin(theta) + v * math.cos(theta),
    )


def floor_to_gondola(gondola: Gondola, point: tuple[float, float]) -> tuple[float, float]:
    """Floor (x, y) to gondola-local (u along length, v into depth): `gondola_to_floor`'s
    inverse."""
    theta = math.radians(gondola.rotation_deg)
    dx, dy = point[0] - gondola.origin_m[0], point[1] - gondola.origin_m[1]
    return (
        dx * math.cos(theta) + dy * math.sin(theta),
        -dx * math.sin(theta) + dy * math.cos(theta),
    )


def _plate_widths(length_m: float, plates: list[Plate]) -> list[float]:
    fixed = sum(p.width_m for p in plates if p.width_m is not None)
    free = [p for p in plates if p.width_m is None]
    share = (length_m - fixed) / len(free) if free else 0.0
    return [p.width_m if p.width_m is not None else share for p in plates]


def point_in_polygon(point: tuple[float, float], polygon: list[tuple[float, float]]) -> bool:
    """Even-odd rule; points on an edge may go either way (gates are metres wide)."""
    x, y = point
    inside = False
    n = len(polygon)
    for i in range(n):
        x1, y1 = polygon[i]
        x2, y2 = polygon[(i + 1) % n]
        if (y1 > y) != (y2 > y):
            cross = x1 + (y - y1) * (x2 - x1) / (y2 - y1)
            if x < cross:
                inside = not inside
    return inside
