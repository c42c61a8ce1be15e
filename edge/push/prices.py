"""Pushed price books (walkout.v1.PriceBook) as the core holds them: checked, then kept by version.

A price book is a timestamped core input, like a planogram (edge/push/planogram.py): the live
runtime queues an accepted one, the core thread records it in the session's pushes stream and
hands it to `EdgeCore.on_price_book`; replay feeds the recorded rows. The core prices each receipt
from the books it has received, never from the link's on-disk store, so a replay of a live
recording charges what the live run charged.

Which price applies (docs/mqtt.md, "Config pushes"): the newest book whose `effective_from` is at
or before the visit's entry. Checks run twice, as for planograms: when the bundle arrives (a bad
one is rejected with a reason and never persisted) and when the core takes it as an input (a
hand-edited session cannot put a bad one into force).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from decimal import Decimal

from walkout.v1 import config_pb2

log = logging.getLogger("walkout.push.prices")

__all__ = [
    "PriceBookInForce",
    "PriceBookRejected",
    "PriceBooks",
    "newest_effective",
    "price_book_in_force",
    "price_entries_problem",
]


class PriceBookRejected(ValueError):
    """A price book the store cannot use; the message names the entry and the problem."""


@dataclass(frozen=True)
class PriceBookInForce:
    version: int
    effective_from_unix_ns: int
    currency: str
    prices: dict[str, Decimal]


def price_book_in_force(book: config_pb2.PriceBook, *, currency: str) -> PriceBookInForce:
    """The prices of `book` for a store trading in `currency`, or PriceBookRejected."""
    v = book.version
    if v < 1:
        raise PriceBookRejected(f"price book v{v}: version must be >= 1")
    if book.currency != currency:
        raise PriceBookRejected(
            f"price book v{v}: currency {book.currency!r} is not the store's {currency!r}"
        )
    problem = price_entries_problem(book)
    if problem is not None:
        raise PriceBookRejected(f"price book v{v}: {problem}")
    prices = {e.product_id: Decimal(e.unit_price_minor_units) / 100 for e in book.prices}
    return PriceBookInForce(v, book.effective_from_unix_ns, book.currency, prices)


def price_entries_problem(book: config_pb2.PriceBook) -> str | None:
    """The first unusable entry of a price book, named (`prices[i] 'P1': listed twice`), or
    None. Shared by the edge (which rejects the push) and the control plane (which refuses it)."""
    seen: set[str] = set()
    for i, entry in enumerate(book.prices):
        if not entry.product_id:
            return f"prices[{i}]: no product id"
        where = f"prices[{i}] {entry.product_id!r}"
        if entry.product_id in seen:
            return f"{where}: listed twice"
        if entry.unit_price_minor_units < 0:
            return f"{where}: negative price ({entry.unit_price_minor_units} minor units)"
        seen.add(entry.product_id)
    return None


@dataclass
class PriceBooks:
    """The price books the core has received, by version (each with its effective-from time)."""

    currency: str
    books: list[PriceBookInForce] = field(default_factory=list)

    @property
    def newest_version(self) -> int:
        return self.books[-1].version if self.books else 0

    def receive(self, book: config_pb2.PriceBook) -> PriceBookInForce:
        """Check and keep `book`; PriceBookRejected if it is bad or not newer than one held."""
        if book.version <= self.newest_version:
            raise PriceBookRejected(
                f"price book v{book.version}: not newer than v{self.newest_version} already held"
            )
        held = price_book_in_force(book, currency=self.currency)
        self.books.append(held)  # versions only grow, so the list stays sorted by version
        return held

    def at(self, unix_ns: int) -> PriceBookInForce | None:
        """The newest book already effective at `unix_ns` (None: the config's prices)."""
        return newest_effective(self.books, unix_ns)


def newest_effective(books: list[PriceBookInForce], unix_ns: int) -> PriceBookInForce | None:
    """Of `books` (sorted by version), the newest already effective at `unix_ns`; None if none
    is (the store config's prices apply)."""
    effective = [b for b in books if b.effective_from_unix_ns <= unix_ns]
    return effective[-1] if effective else None
