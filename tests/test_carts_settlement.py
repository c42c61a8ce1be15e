"""Carts and settlement as a hypothesis state machine, plus the journal's durability rules."""

from __future__ import annotations

import sqlite3
from collections import Counter
from decimal import Decimal
from types import SimpleNamespace

import hypothesis.strategies as st
import pytest
from hypothesis import settings
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from walkout.v1 import events_pb2

from edge.carts.cart import Cart, CartEvent
from edge.config import load_store_config
from edge.config.layout import StoreLayout
from edge.journal.journal import AlreadySettled, Journal
from edge.settlement import build_receipt, receipt_id_for, receipt_message

LAYOUT = StoreLayout(load_store_config("small"))
PRODUCTS = sorted(LAYOUT.products)[:6]


class CartMachine(RuleBasedStateMachine):
    """Random adds, put-backs (also of things never taken) and settlements."""

    def __init__(self):
        super().__init__()
        import tempfile
        from pathlib import Path

        self.dir = tempfile.TemporaryDirectory()
        self.journal = Journal(Path(self.dir.name) / "journal.sqlite")
        self.carts: dict[str, Cart] = {}
        self.model: dict[str, Counter[str]] = {}
        self.settled: set[str] = set()
        self.n = 0

    def teardown(self):
        self.journal.close()
        self.dir.cleanup()

    @rule()
    def open_visit(self):
        self.n += 1
        vid = f"v{self.n:04d}"
        self.carts[vid] = Cart(vid)
        self.model[vid] = Counter()

    @precondition(lambda self: self.carts)
    @rule(data=st.data(), product=st.sampled_from(PRODUCTS), quantity=st.integers(1, 3))
    def add(self, data, product, quantity):
        vid = data.draw(st.sampled_from(sorted(self.carts)))
        self.carts[vid].add(CartEvent(f"a{self.n}", 1.0, product, quantity, 0.9, {}))
        self.model[vid][product] += quantity

    @precondition(lambda self: self.carts)
    @rule(data=st.data(), product=st.sampled_from(PRODUCTS), quantity=st.integers(1, 3))
    def put_back(self, data, product, quantity):
        vid = data.draw(st.sampled_from(sorted(self.carts)))
        applied = self.carts[vid].remove(CartEvent(f"r{self.n}", 2.0, product, -quantity, 0.9, {}))
        held = self.model[vid][product]
        if held == 0:
            assert applied is None
        else:
            assert applied is not None and applied.quantity == -min(held, quantity)
        self.model[vid][product] = max(0, held - quantity)

    @precondition(lambda self: self.carts)
    @rule(data=st.data())
    def settle(self, data):
        vid = data.draw(st.sampled_from(sorted(self.carts)))
        visit = SimpleNamespace(visit_id=vid, card_uid="04AA", opened_t=0.0, closed_t=5.0)
        receipt = build_receipt(
            LAYOUT, self.carts[vid], visit=visit, settled_t=5.0, review_reasons=[]
        )
        payload = receipt_message(receipt, sequence=1, start_time_unix=0.0)
        if vid in self.settled:
            with pytest.raises(AlreadySettled):
                self.journal.settle(
                    receipt, stream="receipts", event_id=receipt["receipt_id"], payload=payload
                )
            return
        self.journal.settle(
            receipt, stream="receipts", event_id=receipt["receipt_id"], payload=payload
        )
        self.settled.add(vid)
        # The total is the sum of the lines, and the lines are exactly the cart.
        lines = {line["product_id"]: line["quantity"] for line in receipt["lines"]}
        assert lines == {p: q for p, q in self.model[vid].items() if q > 0}
        assert Decimal(receipt["total"]) == sum(
            (Decimal(line["line_total"]) for line in receipt["lines"]), Decimal("0.00")
        )
        wire = events_pb2.EdgeEvent.FromString(payload)
        assert wire.receipt.total.minor_units == int(Decimal(receipt["total"]) * 100)

    @invariant()
    def quantities_never_negative(self):
        for vid, cart in self.carts.items():
            q = cart.quantities()
            assert all(n > 0 for n in q.values())
            assert q == Counter({p: n for p, n in self.model[vid].items() if n > 0})

    @invariant()
    def one_receipt_per_settled_visit(self):
        assert self.journal.receipt_count() == len(self.settled)
        assert self.journal.outbox_backlog() == len(self.settled)


TestCartMachine = CartMachine.TestCase
TestCartMachine.settings = settings(
    max_examples=60, stateful_step_count=30, deadline=None, derandomize=True
)


def test_receipt_id_is_derived_from_store_and_visit():
    assert receipt_id_for("s1", "v0001") == receipt_id_for("s1", "v0001")
    assert receipt_id_for("s1", "v0001") != receipt_id_for("s2", "v0001")


def test_journal_is_wal_with_full_sync(tmp_path):
    journal = Journal(tmp_path / "j.sqlite")
    mode = journal.db.execute("PRAGMA journal_mode").fetchone()[0]
    sync = journal.db.execute("PRAGMA synchronous").fetchone()[0]
    journal.close()
    assert mode == "wal"
    assert sync == 2  # FULL


def test_receipt_and_outbox_commit_together(tmp_path):
    journal = Journal(tmp_path / "j.sqlite")
    visit = SimpleNamespace(visit_id="v1", card_uid="04AA", opened_t=0.0, closed_t=5.0)
    receipt = build_receipt(LAYOUT, Cart("v1"), visit=visit, settled_t=5.0, review_reasons=[])
    # An outbox row that collides makes the whole settlement roll back: no receipt without its row.
    journal.db.execute(
        "INSERT INTO outbox (stream, event_id, created_t, payload) VALUES ('receipts', ?, 0, x'')",
        (receipt["receipt_id"],),
    )
    with pytest.raises(AlreadySettled):
        journal.settle(receipt, stream="receipts", event_id=receipt["receipt_id"], payload=b"x")
    assert journal.receipt_count() == 0
    journal.close()
    db = sqlite3.connect(tmp_path / "j.sqlite")
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
