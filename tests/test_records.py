"""The cloud's record layer (cloud/records.py) on SQLite and on a real PostgreSQL.

Receipts enter through the real ingest worker (validation, dedup, the receipts index), exactly as
they arrive from stores; the record layer then reads, reviews and corrects them.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine import Engine
from support.services import needs_postgres, postgres  # noqa: F401 (fixture)
from walkout.v1 import SCHEMA_VERSION, config_pb2, events_pb2

from cloud import db, records
from cloud.ingest import IngestSettings, IngestWorker
from cloud.records import CorrectedLine, RecordConflict, RecordNotFound
from edge.link import topics
from edge.link.mqtt import Event

STORE = "store-1"
OTHER = "store-2"
T0 = 1_700_000_000_000_000_000  # exit times start here (unix ns)
PRICES = {"sku-cola": 199, "sku-chips": 249, "sku-gum": 99}
NAMES = {"sku-cola": "Cola 0.5 l", "sku-chips": "Chips", "sku-gum": "Gum"}


def receipt_event(
    store: str,
    n: int,
    *,
    shopper: str = "shopper-a",
    lines: dict[str, int] | None = None,
    needs_review: bool = False,
    exit_ns: int | None = None,
    price_book_version: int = 1,
) -> Event:
    """An ingest Event holding the receipt of visit n of `store`, with evidence; a flagged one
    carries a competing hypothesis (another shopper was near)."""
    receipt_id = uuid.uuid5(uuid.NAMESPACE_URL, f"{store}/visit-{n}").hex
    msg = events_pb2.EdgeEvent()
    h = msg.header
    h.event_id, h.store_id, h.stream, h.sequence = receipt_id, store, "receipts", n
    h.event_time_unix_ns = exit_ns if exit_ns is not None else T0 + n * 60_000_000_000
    h.schema_version = SCHEMA_VERSION
    r = msg.receipt
    r.receipt_id, r.visit_id, r.shopper_ref = receipt_id, f"visit-{n}", shopper
    r.exited_at_unix_ns = h.event_time_unix_ns
    r.entered_at_unix_ns = h.event_time_unix_ns - 300_000_000_000
    r.price_book_version = price_book_version
    r.planogram_version = 1
    total = 0
    for product, qty in (lines or {"sku-cola": 1}).items():
        line = r.lines.add(product_id=product, name=NAMES[product], quantity=qty)
        line.unit_price.currency = line.line_total.currency = "EUR"
        line.unit_price.minor_units = PRICES[product]
        line.line_total.minor_units = PRICES[product] * qty
        total += line.line_total.minor_units
        ev = line.evidence.add(
            source=events_pb2.EVIDENCE_SOURCE_WEIGHT,
            shelf_event_id=f"shelf-{n}",
            delta_grams=-510.0 * qty,
            shopper_distance_m=0.4,
            track_id=7,
            confidence=0.55 if needs_review else 0.97,
        )
        if needs_review:
            ev.competing.add(
                visit_id=f"visit-{n + 1000}",
                track_id=8,
                product_id=product,
                quantity=qty,
                shopper_distance_m=0.6,
                likelihood=0.45,
            )
    r.total.currency = "EUR"
    r.total.minor_units = total
    r.needs_review = needs_review
    if needs_review:
        r.review_reasons.append(events_pb2.REVIEW_REASON_AMBIGUOUS_SHOPPER)
    return Event(
        "message", 1, topic=topics.events(store, "receipts"), payload=msg.SerializeToString()
    )


def ingest(engine: Engine, events: list[Event]) -> IngestWorker:
    worker = IngestWorker(engine, IngestSettings(), wall_clock=lambda: 1_700_001_000.0)
    worker.process(events)
    assert worker.stats.db_errors == 0 and not worker.stats.rejected
    return worker


def price_book(version: int = 1) -> config_pb2.PriceBook:
    book = config_pb2.PriceBook(version=version, effective_from_unix_ns=T0, currency="EUR")
    for product, price in sorted(PRICES.items()):
        book.prices.add(product_id=product, unit_price_minor_units=price)
    return book


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=needs_postgres)])
def engine(request, tmp_path) -> Iterator[Engine]:  # type: ignore[no-untyped-def]
    if request.param == "sqlite":
        eng = db.make_engine(f"sqlite:///{tmp_path / 'cloud.sqlite'}")
        yield eng
        eng.dispose()
        return
    server = request.getfixturevalue("postgres")
    name = "r_" + uuid.uuid4().hex[:12]
    admin = db.make_engine(server.url)
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    admin.dispose()
    eng = db.make_engine(server.url.rsplit("/", 1)[0] + "/" + name)
    yield eng
    eng.dispose()


@pytest.fixture
def stocked(engine: Engine) -> Engine:
    """Store 1: receipts 1 to 4 (2 flagged), a price book v1; store 2: one receipt."""
    records.put_config(engine, "price_book", STORE, price_book(), now_unix_ns=T0)
    ingest(
        engine,
        [
            receipt_event(STORE, 1),
            receipt_event(STORE, 2, lines={"sku-cola": 2, "sku-gum": 1}, needs_review=True),
            receipt_event(STORE, 3, shopper="shopper-b"),
            receipt_event(STORE, 4, needs_review=True, shopper="shopper-b"),
            receipt_event(OTHER, 1, shopper="shopper-a"),
        ],
    )
    return engine


def rid(store: str, n: int) -> str:
    return uuid.uuid5(uuid.NAMESPACE_URL, f"{store}/visit-{n}").hex


def test_list_stores_counts_receipts_reviews_and_versions(stocked: Engine) -> None:
    stores = records.list_stores(stocked)
    assert [s.store_id for s in stores] == [STORE, OTHER]
    one = stores[0]
    assert (one.receipts_total, one.reviews_open, one.price_book_version) == (4, 2, 1)
    assert one.planogram_version == 0 and one.last_seen_unix_ns == 1_700_001_000 * 10**9
    assert records.list_stores(stocked, [OTHER])[0].reviews_open == 0
    assert records.list_stores(stocked, ["nope"]) == []


def test_list_receipts_filters_and_orders_newest_first(stocked: Engine) -> None:
    all_ = records.list_receipts(stocked, store_id=STORE)
    assert [r.visit_id for r in all_] == ["visit-4", "visit-3", "visit-2", "visit-1"]
    flagged = records.list_receipts(stocked, store_id=STORE, needs_review=True)
    assert [r.visit_id for r in flagged] == ["visit-4", "visit-2"]
    window = records.list_receipts(
        stocked, since_unix_ns=T0 + 120_000_000_000, until_unix_ns=T0 + 240_000_000_000
    )
    assert sorted(r.visit_id for r in window) == ["visit-2", "visit-3"]
    assert len(records.list_receipts(stocked, limit=2)) == 2
    assert {r.store_id for r in records.list_receipts(stocked, store_ids=[OTHER])} == {OTHER}


def test_get_receipt_decodes_lines_evidence_and_reasons(stocked: Engine) -> None:
    r = records.get_receipt(stocked, rid(STORE, 2))
    assert (r.revision, r.shopper_ref, r.total_minor_units, r.currency) == (
        0,
        "shopper-a",
        497,
        "EUR",
    )
    assert r.review_reasons == ("AMBIGUOUS_SHOPPER",) and r.needs_review
    cola = r.lines[0]
    assert (cola.product_id, cola.quantity, cola.unit_price_minor_units) == ("sku-cola", 2, 199)
    assert cola.line_total_minor_units == 398
    ev = cola.evidence[0]
    assert ev["source"] == "WEIGHT" and ev["track_id"] == 7 and ev["confidence"] == 0.55
    assert ev["competing"][0]["visit_id"] == "visit-1002"
    assert r.exited_at_unix_ns - r.entered_at_unix_ns == 300_000_000_000


def test_get_receipt_not_found_names_the_id(stocked: Engine) -> None:
    with pytest.raises(RecordNotFound, match="receipt 'nope' not found"):
        records.get_receipt(stocked, "nope")
    with pytest.raises(RecordNotFound, match="revision 3 not found"):
        records.get_receipt(stocked, rid(STORE, 1), 3)


def test_review_queue_lists_flagged_unresolved_with_evidence(stocked: Engine) -> None:
    queue = records.review_queue(stocked)
    assert [i.receipt.visit_id for i in queue] == ["visit-2", "visit-4"]
    assert all(i.resolution is None for i in queue)
    assert queue[0].receipt.lines[0].evidence[0]["competing"]
    assert records.review_queue(stocked, store_id=OTHER) == []


def test_resolve_review_writes_revision_1_and_replaces_it_in_the_shopper_record(
    stocked: Engine,
) -> None:
    before = records.shopper_record(stocked, "shopper-a")
    assert sorted((r.store_id, r.visit_id, r.revision) for r in before) == [
        (STORE, "visit-1", 0),
        (STORE, "visit-2", 0),
        (OTHER, "visit-1", 0),
    ]
    corrected = records.resolve_review(
        stocked,
        rid(STORE, 2),
        lines=[
            CorrectedLine("sku-cola", 1),
            CorrectedLine("sku-gum", 0),
            CorrectedLine("sku-chips", 1),
        ],
        resolved_by="ops-anna",
        note="second cola went to the other shopper; chips missed",
        now_unix_ns=T0 + 10**12,
    )
    assert corrected.revision == 1 and not corrected.needs_review
    assert [(line.product_id, line.quantity) for line in corrected.lines] == [
        ("sku-cola", 1),
        ("sku-chips", 1),
    ]
    # Priced with the original's price book version, from the stored book (chips was not on it).
    assert corrected.total_minor_units == 199 + 249 and corrected.price_book_version == 1
    assert all(line.evidence[0]["source"] == "OPERATOR" for line in corrected.lines)
    assert records.get_receipt(stocked, rid(STORE, 2)).revision == 1
    assert records.get_receipt(stocked, rid(STORE, 2), 0).total_minor_units == 497
    after = records.shopper_record(stocked, "shopper-a")
    mine = [r for r in after if r.receipt_id == rid(STORE, 2)]
    assert len(after) == 3 and [r.revision for r in mine] == [1]
    with stocked.connect() as conn:
        charges = conn.execute(
            select(func.count()).where(db.shopper_charges.c.receipt_id == rid(STORE, 2))
        ).scalar_one()
        assert charges == 1
    queue = records.review_queue(stocked)
    assert [i.receipt.visit_id for i in queue] == ["visit-4"]
    done = records.review_queue(stocked, include_resolved=True)
    resolved = [i for i in done if i.resolution is not None]
    assert len(resolved) == 1 and resolved[0].resolution.resolved_by == "ops-anna"
    assert resolved[0].receipt.revision == 0 and resolved[0].resolution.corrected_lines == 3
    assert records.list_stores(stocked, [STORE])[0].reviews_open == 1


def _snapshot(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            t.name: int(conn.execute(select(func.count()).select_from(t)).scalar_one())
            for t in (db.events, db.receipts, db.resolutions)
        }


@pytest.mark.parametrize(
    ("receipt", "lines", "error", "match"),
    [
        ("nope", [CorrectedLine("sku-cola", 1)], RecordNotFound, "receipt 'nope' not found"),
        (1, [CorrectedLine("sku-cola", 1)], RecordConflict, "is not under review"),
        (2, [CorrectedLine("sku-cola", -1)], ValueError, r"line 1 \(sku-cola:-1\): quantity -1"),
        (2, [CorrectedLine("sku-x", 1)], ValueError, "unknown product 'sku-x'"),
        (
            2,
            [CorrectedLine("sku-gum", 1), CorrectedLine("sku-gum", 2)],
            ValueError,
            "given twice",
        ),
    ],
)
def test_resolve_errors_change_nothing(stocked, receipt, lines, error, match) -> None:  # type: ignore[no-untyped-def]
    receipt_id = receipt if isinstance(receipt, str) else rid(STORE, receipt)
    before = _snapshot(stocked)
    with pytest.raises(error, match=match):
        records.resolve_review(
            stocked, receipt_id, lines=lines, resolved_by="ops", note="", now_unix_ns=T0
        )
    assert _snapshot(stocked) == before


def test_resolving_twice_is_a_conflict(stocked: Engine) -> None:
    args = {"lines": [CorrectedLine("sku-cola", 1)], "resolved_by": "ops", "note": "ok"}
    records.resolve_review(stocked, rid(STORE, 4), now_unix_ns=T0, **args)
    before = _snapshot(stocked)
    with pytest.raises(RecordConflict, match="already resolved"):
        records.resolve_review(stocked, rid(STORE, 4), now_unix_ns=T0 + 1, **args)
    assert _snapshot(stocked) == before


def test_resolve_inside_the_callers_transaction(stocked: Engine) -> None:
    with stocked.connect() as conn:
        conn.begin()
        corrected = records.resolve_review(
            conn,
            rid(STORE, 4),
            lines=[],
            resolved_by="ops",
            note="nothing was taken",
            now_unix_ns=T0,
        )
        assert corrected.revision == 1 and corrected.total_minor_units == 0
        conn.rollback()  # the caller's transaction: the caller decides, and nothing stays
    assert records.get_receipt(stocked, rid(STORE, 4)).revision == 0


def test_accuracy_trend_buckets(stocked: Engine) -> None:
    records.resolve_review(
        stocked,
        rid(STORE, 2),
        lines=[CorrectedLine("sku-cola", 2)],
        resolved_by="ops",
        note="gum was put back",
        now_unix_ns=T0,
    )
    # Visits 1..4 exit one minute apart: 3-minute buckets hold one to three of them.
    points = records.accuracy_trend(stocked, store_id=STORE, bucket_s=180)
    assert sum(p.receipts for p in points) == 4 and sum(p.reviewed for p in points) == 2
    assert sum(p.resolved for p in points) == 1 and sum(p.corrected_lines for p in points) == 1
    assert all(p.review_rate == p.reviewed / p.receipts for p in points)
    assert [p.bucket_start_unix_ns for p in points] == sorted(
        p.bucket_start_unix_ns for p in points
    )
    whole = records.accuracy_trend(stocked, bucket_s=10**6)
    assert len(whole) == 1 and whole[0].receipts == 5 and whole[0].review_rate == 2 / 5
    with pytest.raises(ValueError, match="bucket_s"):
        records.accuracy_trend(stocked, bucket_s=0)


def test_price_book_versions_assign_and_refuse_stale(engine: Engine) -> None:
    first = records.put_config(engine, "price_book", STORE, price_book(0), now_unix_ns=T0)
    second = records.put_config(engine, "price_book", STORE, price_book(0), now_unix_ns=T0 + 1)
    assert (first.version, second.version) == (1, 2)
    assert (
        records.put_config(engine, "price_book", STORE, price_book(7), now_unix_ns=T0).version == 7
    )
    with pytest.raises(
        RecordConflict, match="version 5 for store 'store-1' is not newer than version 7"
    ):
        records.put_config(engine, "price_book", STORE, price_book(5), now_unix_ns=T0)
    held = records.list_configs(engine, "price_book")
    assert [(c.store_id, c.version) for c in held] == [(STORE, 1), (STORE, 2), (STORE, 7)]
    assert config_pb2.PriceBook.FromString(held[0].payload).prices[0].product_id == "sku-chips"
    assert held[0].effective_from_unix_ns == T0 and held[0].currency == "EUR"


def test_active_faults_from_the_faults_stream(engine: Engine) -> None:
    def fault(seq: int, active: bool, sensor: str) -> Event:
        msg = events_pb2.EdgeEvent()
        h = msg.header
        h.event_id, h.store_id, h.stream, h.sequence = f"f{seq}", STORE, "faults", seq
        h.event_time_unix_ns = T0 + seq
        f = msg.sensor_fault
        f.sensor_kind, f.sensor_id = events_pb2.SENSOR_KIND_LOAD_CELL, sensor
        f.fault, f.active, f.message = events_pb2.FAULT_KIND_STUCK, active, "no change for 60 s"
        return Event(
            "message", 1, topic=topics.events(STORE, "faults"), payload=msg.SerializeToString()
        )

    ingest(engine, [fault(1, True, "1.1.1"), fault(2, True, "1.1.2"), fault(3, False, "1.1.1")])
    health = records.fleet_health(engine, now_unix_ns=1_700_001_005 * 10**9)
    assert len(health) == 1 and health[0].heartbeat_age_s == 5.0
    assert [(f.sensor_id, f.fault, f.since_unix_ns) for f in health[0].active_faults] == [
        ("1.1.2", "STUCK", T0 + 2)
    ]


def test_receipts_after_follows_the_insert_order(stocked: Engine) -> None:
    start = records.last_row_id(stocked)
    assert records.receipts_after(stocked, start) == []
    ingest(stocked, [receipt_event(STORE, 9)])
    new = records.receipts_after(stocked, start)
    assert [s.receipt.visit_id for s in new] == ["visit-9"] and new[0].row_id > start
    assert records.receipts_after(stocked, start, store_ids=[OTHER]) == []
