"""A visit's virtual cart, event-sourced: lines are added and removed, each with its evidence.

The cart is the fold of its events; quantities can never go below zero (putting back something
that is not in the cart removes nothing and is reported).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class CartEvent:
    """One change to a cart: +quantity (added) or -quantity (removed) of a product."""

    line_id: str
    t: float
    product_id: str
    quantity: int  # signed
    confidence: float
    evidence: dict[str, Any]


@dataclass
class Cart:
    visit_id: str
    events: list[CartEvent] = field(default_factory=list)

    def quantities(self) -> Counter[str]:
        q: Counter[str] = Counter()
        for event in self.events:
            q[event.product_id] += event.quantity
        return Counter({p: n for p, n in q.items() if n > 0})

    def add(self, event: CartEvent) -> CartEvent:
        if event.quantity <= 0:
            raise ValueError("an added line needs a positive quantity")
        self.events.append(event)
        return event

    def confirm(self, event: CartEvent) -> CartEvent:
        """Record more evidence for units already in the cart (an item tag read at the exit):
        a zero-quantity event, so the line's evidence grows and its quantity does not."""
        if event.quantity != 0:
            raise ValueError("a confirmation changes no quantity")
        self.events.append(event)
        return event

    def remove(self, event: CartEvent) -> CartEvent | None:
        """Remove up to -event.quantity units; returns the applied event or None if absent."""
        held = self.quantities().get(event.product_id, 0)
        take = min(held, -event.quantity)
        if take <= 0:
            return None
        applied = CartEvent(
            event.line_id, event.t, event.product_id, -take, event.confidence, event.evidence
        )
        self.events.append(applied)
        return applied

    def evidence_for(self, product_id: str) -> list[dict[str, Any]]:
        return [
            e.evidence | {"quantity": e.quantity} for e in self.events if e.product_id == product_id
        ]

    def min_confidence(self, product_id: str) -> float:
        values = [e.confidence for e in self.events if e.product_id == product_id]
        return min(values) if values else 1.0
