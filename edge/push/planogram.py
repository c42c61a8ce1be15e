"""A pushed planogram (walkout.v1.Planogram) checked against the store and turned into a layout.

The pipeline's product look-ups (shelf event candidates, unit weights, receipt names) all come
from a `StoreLayout`; a pushed planogram takes effect as a new layout built from the store config
with its catalogue and planogram replaced. Checks run twice: when the bundle arrives (so a bad
one is rejected, counted and logged, and never persisted) and when the core takes it as an input
(so a hand-edited session cannot put a bad one into force).

Catalogue rule: products named by the planogram take their name and unit weight from it; every
product the store knew before (its config, earlier planograms) stays in the catalogue with its
plates removed, so an item taken before a change can still be printed, priced and put back.
Prices are not in a planogram: a product's price stays the config's (or the pushed price book's);
a product new to the store has none until a price book names it, and its receipt is flagged.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from decimal import Decimal

from pydantic import ValidationError
from walkout.v1 import config_pb2

from edge.config.checks import cross_reference_issues
from edge.config.layout import StoreLayout
from edge.config.models import PlanogramEntry, Product

log = logging.getLogger("walkout.push.planogram")

__all__ = ["PlanogramInForce", "PlanogramRejected", "planogram_layout"]


class PlanogramRejected(ValueError):
    """A planogram the store cannot use; the message names the entry and the problem."""


@dataclass(frozen=True)
class PlanogramInForce:
    """A planogram the core holds: pending until `effective_from_unix_ns`, then in force."""

    version: int
    effective_from_unix_ns: int
    layout: StoreLayout
    unpriced: frozenset[str]  # products with no price in the config (a price book must name them)


def _where(path: tuple[str | int, ...]) -> str:
    # Config key paths ("planogram", 2, "plates", 0) in the message's terms: entries[2].plates[0].
    return "entries" + "".join(f"[{x}]" if isinstance(x, int) else f".{x}" for x in path[1:])


def planogram_layout(
    base: StoreLayout, planogram: config_pb2.Planogram, *, unpriced: frozenset[str] = frozenset()
) -> PlanogramInForce:
    """The layout `planogram` gives the store of `base`, or PlanogramRejected with the reason.

    `base` is the layout in force (the config's, or the previous planogram's): its catalogue is
    kept, so products leave the shelves but not the store. `unpriced` carries over products that
    earlier planograms introduced without a config price.
    """
    v = planogram.version
    products: dict[str, Product] = {p.id: p for p in base.config.products}
    new_unpriced = set(unpriced)
    seen: set[str] = set()
    for i, p in enumerate(planogram.products):
        where = f"planogram v{v}: products[{i}] {p.product_id!r}"
        if p.product_id in seen:
            raise PlanogramRejected(f"{where}: listed twice")
        seen.add(p.product_id)
        if not (math.isfinite(p.unit_weight_g) and p.unit_weight_g > 0):
            raise PlanogramRejected(f"{where}: no unit weight (unit_weight_g {p.unit_weight_g})")
        if not (math.isfinite(p.unit_weight_spread_g) and p.unit_weight_spread_g >= 0):
            raise PlanogramRejected(
                f"{where}: unit_weight_spread_g {p.unit_weight_spread_g} is not >= 0"
            )
        old = products.get(p.product_id)
        try:
            if old is not None:
                # Keep what the planogram does not carry (price, other config fields).
                products[p.product_id] = Product.model_validate(
                    old.model_dump()
                    | {
                        "name": p.name or old.name,
                        "weight_g": p.unit_weight_g,
                        "weight_spread_g": p.unit_weight_spread_g,
                    }
                )
            else:
                products[p.product_id] = Product(
                    id=p.product_id,
                    name=p.name or p.product_id,
                    weight_g=p.unit_weight_g,
                    weight_spread_g=p.unit_weight_spread_g,
                    price=Decimal("0.00"),
                )
        except ValidationError as exc:
            raise PlanogramRejected(f"{where}: {exc.errors()[0]['msg']}") from None
        if old is None:
            new_unpriced.add(p.product_id)
    entries = []
    for i, e in enumerate(planogram.entries):
        if e.product_id not in seen:
            raise PlanogramRejected(
                f"planogram v{v}: entries[{i}] names product {e.product_id!r}, "
                "which is not in its products (each entry's product needs a unit weight)"
            )
        if not e.plates:
            raise PlanogramRejected(f"planogram v{v}: entries[{i}] {e.product_id!r} has no plates")
        refs = [f"{r.gondola}.{r.shelf}.{r.plate}" for r in e.plates]
        try:
            entries.append(PlanogramEntry(product=e.product_id, plates=refs, units=e.units))
        except ValidationError as exc:
            raise PlanogramRejected(
                f"planogram v{v}: entries[{i}]: {exc.errors()[0]['msg']}"
            ) from None
    config = base.config.model_copy(
        update={"products": list(products.values()), "planogram": entries}
    )
    issues = [
        (path, msg, value)
        for path, msg, value in cross_reference_issues(config)
        if path and path[0] == "planogram"
    ]
    if issues:
        path, msg, value = issues[0]
        more = f" (and {len(issues) - 1} more)" if len(issues) > 1 else ""
        raise PlanogramRejected(f"planogram v{v}: {_where(path)} {value!r}: {msg}{more}")
    return PlanogramInForce(
        version=v,
        effective_from_unix_ns=planogram.effective_from_unix_ns,
        layout=StoreLayout(config),
        unpriced=frozenset(new_unpriced),
    )
