"""The cloud's record layer: stores, receipts, the review queue, shoppers' records, price books.

A pure data layer over SQLAlchemy Core (SQLite and PostgreSQL), shared by the gRPC control plane
(cloud/control/) and the fleet dashboard. Every function takes a Connection or an Engine:

- with an Engine, each call opens its own connection (and its own transaction when it writes);
- with a Connection, reads run on it, and writes run in the caller's transaction when one is
  open (the caller commits), else in a transaction of their own.

Results are frozen dataclasses; times are unix nanoseconds, money is minor units plus currency.
Receipts are read from the `events` table (the walkout.v1.EdgeEvent exactly as the edge sent it);
the `receipts` table is the index. A review resolution is written as the receipt's next revision
(an EdgeEvent on the cloud's own `reviews` stream), so the original stays as evidence.

No function reads the wall clock: a time is always passed in (`now_unix_ns`).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError
from walkout.v1 import SCHEMA_VERSION, config_pb2, events_pb2

from cloud import db
from edge.review.clip import clip_event_id  # the edge names a receipt's clip after it

log = logging.getLogger(__name__)

Bind = Connection | Engine
REVIEW_STREAM = "reviews"  # the cloud's own stream for corrected receipts
# Name space of the event ids of corrected receipts (uuid5 of "<receipt_id>/<revision>").
_CORRECTION_NS = uuid.UUID("6d1c3a57-0e5b-4f7e-9d8e-7f3c1b2a9e10")


class RecordNotFound(KeyError):
    """A receipt, store or version that does not exist; the message names it."""

    def __str__(self) -> str:  # KeyError would print the message with quotes around it
        return str(self.args[0]) if self.args else "not found"


class RecordConflict(Exception):
    """The request contradicts the state (already resolved, not under review, stale version)."""


class AlreadyResolved(RecordConflict):
    """The receipt's review is already resolved."""


# Result types ------------------------------------------------------------------------------


@dataclass(frozen=True)
class StoreRecord:
    store_id: str
    online: bool | None  # None until the store's availability topic was seen
    last_seen_unix_ns: int
    outbox_backlog: int | None
    outbox_oldest_age_s: float | None
    software_version: str | None
    price_book_version: int  # newest version the control plane holds for the store; 0: none
    planogram_version: int
    receipts_total: int  # distinct receipts
    reviews_open: int
    # What the store says it has in force (its latest heartbeat); None until one reported it.
    reported_price_book_version: int | None = None
    reported_planogram_version: int | None = None


@dataclass(frozen=True)
class ReceiptLineRecord:
    product_id: str
    name: str
    quantity: int
    unit_price_minor_units: int
    line_total_minor_units: int
    currency: str
    # One dict per cart change behind the line: source, shelf_event_id, delta_grams,
    # shopper_distance_m, track_id, confidence, competing (list of dicts), reader_id, tag_id.
    evidence: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True)
class ReceiptRecord:
    receipt_id: str
    revision: int
    store_id: str
    visit_id: str
    event_id: str
    shopper_ref: str
    total_minor_units: int
    currency: str
    lines: tuple[ReceiptLineRecord, ...]
    needs_review: bool
    review_reasons: tuple[str, ...]  # ReviewReason names without the prefix, e.g. "LOW_CONFIDENCE"
    review_note: str
    price_book_version: int
    planogram_version: int
    entered_at_unix_ns: int
    exited_at_unix_ns: int
    stored_unix_ns: int
    # The walkout.v1.EdgeEvent bytes this record was decoded from (for the gRPC service).
    payload: bytes = field(default=b"", repr=False, compare=False)


@dataclass(frozen=True)
class Resolution:
    receipt_id: str
    original_revision: int
    corrected_revision: int
    resolved_by: str
    note: str
    resolved_unix_ns: int
    corrected_lines: int


@dataclass(frozen=True)
class ReviewItem:
    """A receipt flagged for review (the flagged revision, with its evidence) and, once resolved,
    the resolution."""

    receipt: ReceiptRecord
    resolution: Resolution | None = None


@dataclass(frozen=True)
class CorrectedLine:
    """One line of a reviewer's corrected receipt; quantity 0 removes the product."""

    product_id: str
    quantity: int


@dataclass(frozen=True)
class TrendPoint:
    bucket_start_unix_ns: int
    receipts: int
    reviewed: int  # flagged for review when settled
    review_rate: float  # reviewed / receipts
    resolved: int
    corrected_lines: int


@dataclass(frozen=True)
class VersionedConfig:
    """A price book or planogram the control plane accepted for a store."""

    store_id: str
    kind: str  # "price_book" or "planogram"
    version: int
    effective_from_unix_ns: int
    created_unix_ns: int
    payload: bytes  # the serialized walkout.v1.PriceBook or Planogram
    currency: str = ""  # price books only


@dataclass(frozen=True)
class StreamedReceipt:
    """A receipt revision with its position in the cloud's insert order (events.id)."""

    row_id: int
    receipt: ReceiptRecord


@dataclass(frozen=True)
class FaultRecord:
    sensor_kind: str
    sensor_id: str
    fault: str
    message: str
    since_unix_ns: int


@dataclass(frozen=True)
class FleetHealthRecord:
    store: StoreRecord
    heartbeat_age_s: float | None  # None when no heartbeat or no clock was given
    active_faults: tuple[FaultRecord, ...] = field(default_factory=tuple)


# Connections -------------------------------------------------------------------------------


@contextmanager
def _reading(bind: Bind) -> Iterator[Connection]:
    if isinstance(bind, Engine):
        with bind.connect() as conn:
            yield conn
    else:
        yield bind


@contextmanager
def _writing(bind: Bind) -> Iterator[Connection]:
    if isinstance(bind, Engine):
        with bind.begin() as conn:
            yield conn
    elif bind.in_transaction():
        yield bind  # the caller's transaction: the caller commits or rolls back
    else:
        with bind.begin():
            yield bind


# Decoding ----------------------------------------------------------------------------------


def _enum_name(enum: Any, value: int, prefix: str) -> str:
    try:
        return str(enum.Name(value)).removeprefix(prefix)
    except ValueError:
        return str(value)


def evidence_dict(ev: events_pb2.Evidence) -> dict[str, Any]:
    """A cart line's evidence as a plain dict (JSON-ready)."""
    return {
        "source": _enum_name(events_pb2.EvidenceSource, ev.source or 1, "EVIDENCE_SOURCE_"),
        "shelf_event_id": ev.shelf_event_id,
        "delta_grams": ev.delta_grams,
        "shopper_distance_m": ev.shopper_distance_m,
        "track_id": ev.track_id,
        "confidence": ev.confidence,
        "competing": [
            {
                "visit_id": h.visit_id,
                "track_id": h.track_id,
                "product_id": h.product_id,
                "quantity": h.quantity,
                "shopper_distance_m": h.shopper_distance_m,
                "likelihood": h.likelihood,
            }
            for h in ev.competing
        ],
        "reader_id": ev.reader_id,
        "tag_id": ev.tag_id,
    }


def decode_receipt(payload: bytes, *, stored_unix_ns: int = 0) -> ReceiptRecord:
    """A ReceiptRecord from the bytes of a walkout.v1.EdgeEvent carrying a receipt."""
    msg = events_pb2.EdgeEvent.FromString(payload)
    if msg.WhichOneof("body") != "receipt":
        raise ValueError(f"event {msg.header.event_id}: not a receipt")
    r = msg.receipt
    currency = r.total.currency
    lines = tuple(
        ReceiptLineRecord(
            product_id=line.product_id,
            name=line.name,
            quantity=line.quantity,
            unit_price_minor_units=line.unit_price.minor_units,
            line_total_minor_units=line.line_total.minor_units,
            currency=line.unit_price.currency or currency,
            evidence=tuple(evidence_dict(ev) for ev in line.evidence),
        )
        for line in r.lines
    )
    return ReceiptRecord(
        receipt_id=r.receipt_id or msg.header.event_id,
        revision=r.revision,
        store_id=msg.header.store_id,
        visit_id=r.visit_id,
        event_id=msg.header.event_id,
        shopper_ref=r.shopper_ref,
        total_minor_units=r.total.minor_units,
        currency=currency,
        lines=lines,
        needs_review=r.needs_review,
        review_reasons=tuple(
            _enum_name(events_pb2.ReviewReason, x, "REVIEW_REASON_") for x in r.review_reasons
        ),
        review_note=r.review_note,
        price_book_version=r.price_book_version,
        planogram_version=r.planogram_version,
        entered_at_unix_ns=r.entered_at_unix_ns,
        exited_at_unix_ns=r.exited_at_unix_ns,
        stored_unix_ns=stored_unix_ns,
        payload=payload,
    )


def _latest_revisions() -> Any:
    """Subquery: receipt_id -> its highest revision."""
    return (
        select(db.receipts.c.receipt_id, func.max(db.receipts.c.revision).label("revision"))
        .group_by(db.receipts.c.receipt_id)
        .subquery("latest")
    )


def _receipt_select() -> Any:
    return select(
        db.receipts.c.receipt_id,
        db.receipts.c.revision,
        db.receipts.c.stored_unix_ns,
        db.events.c.payload,
        db.events.c.id,
    ).join(db.events, db.events.c.event_id == db.receipts.c.event_id)


def _decode_row(row: Any) -> ReceiptRecord:
    return decode_receipt(row.payload, stored_unix_ns=row.stored_unix_ns)


# Stores ------------------------------------------------------------------------------------


def _latest_version(conn: Connection, table: Any, store_id: str) -> int:
    v = conn.execute(
        select(func.max(table.c.version)).where(table.c.store_id == store_id)
    ).scalar_one()
    return int(v or 0)


def _open_reviews_query(store_id: str | None = None) -> Any:
    latest = _latest_revisions()
    q = (
        select(db.receipts.c.receipt_id, db.receipts.c.revision, db.receipts.c.store_id)
        .join(
            latest,
            and_(
                latest.c.receipt_id == db.receipts.c.receipt_id,
                latest.c.revision == db.receipts.c.revision,
            ),
        )
        .outerjoin(db.resolutions, db.resolutions.c.receipt_id == db.receipts.c.receipt_id)
        .where(db.receipts.c.needs_review.is_(True), db.resolutions.c.receipt_id.is_(None))
    )
    if store_id is not None:
        q = q.where(db.receipts.c.store_id == store_id)
    return q


def list_stores(bind: Bind, store_ids: Collection[str] | None = None) -> list[StoreRecord]:
    """The stores the cloud has heard from, ordered by id; `store_ids` narrows the list."""
    with _reading(bind) as conn:
        q = select(db.stores).order_by(db.stores.c.store_id)
        if store_ids is not None:
            q = q.where(db.stores.c.store_id.in_(list(store_ids)))
        rows = conn.execute(q).all()
        totals = dict(
            conn.execute(
                select(
                    db.receipts.c.store_id, func.count(func.distinct(db.receipts.c.receipt_id))
                ).group_by(db.receipts.c.store_id)
            ).all()
        )
        open_q = _open_reviews_query().subquery()
        open_reviews = dict(
            conn.execute(select(open_q.c.store_id, func.count()).group_by(open_q.c.store_id)).all()
        )
        v = db.store_versions.c
        reported = {
            row.store_id: (int(row.price_book_version), int(row.planogram_version))
            for row in conn.execute(
                select(v.store_id, v.price_book_version, v.planogram_version)
            ).all()
        }
        return [
            StoreRecord(
                store_id=r.store_id,
                online=r.online,
                last_seen_unix_ns=int(r.last_seen_unix_ns),
                outbox_backlog=None if r.outbox_backlog is None else int(r.outbox_backlog),
                outbox_oldest_age_s=r.outbox_oldest_age_s,
                software_version=r.software_version,
                price_book_version=_latest_version(conn, db.price_books, r.store_id),
                planogram_version=_latest_version(conn, db.planograms, r.store_id),
                receipts_total=int(totals.get(r.store_id, 0)),
                reviews_open=int(open_reviews.get(r.store_id, 0)),
                reported_price_book_version=reported.get(r.store_id, (None, None))[0],
                reported_planogram_version=reported.get(r.store_id, (None, None))[1],
            )
            for r in rows
        ]


def active_faults(bind: Bind, store_id: str) -> list[FaultRecord]:
    """Sensor faults raised and not cleared, from the store's `faults` stream (in order)."""
    with _reading(bind) as conn:
        rows = conn.execute(
            select(db.events.c.payload, db.events.c.event_time_unix_ns)
            .where(db.events.c.store_id == store_id, db.events.c.kind == "sensor_fault")
            .order_by(db.events.c.sequence, db.events.c.id)
        ).all()
    state: dict[tuple[int, str, int], FaultRecord] = {}
    for row in rows:
        f = events_pb2.EdgeEvent.FromString(row.payload).sensor_fault
        key = (f.sensor_kind, f.sensor_id, f.fault)
        if f.active:
            state.setdefault(
                key,
                FaultRecord(
                    sensor_kind=_enum_name(events_pb2.SensorKind, f.sensor_kind, "SENSOR_KIND_"),
                    sensor_id=f.sensor_id,
                    fault=_enum_name(events_pb2.FaultKind, f.fault, "FAULT_KIND_"),
                    message=f.message,
                    since_unix_ns=int(row.event_time_unix_ns),
                ),
            )
        else:
            state.pop(key, None)
    return [state[k] for k in sorted(state)]


@dataclass(frozen=True)
class EvidenceClipRecord:
    """A flagged receipt's evidence clip as the edge sent it (edge/review/clip.py)."""

    receipt_id: str
    visit_id: str
    store_id: str
    event_time_unix_ns: int
    items: tuple[events_pb2.EvidenceClipItem, ...]


def evidence_clips(bind: Bind, receipt_id: str) -> list[EvidenceClipRecord]:
    """The evidence clips of a receipt (the edge sends one, with its flagged receipt); empty
    when there is none (not flagged, an older edge, or not arrived yet)."""
    with _reading(bind) as conn:
        rows = conn.execute(
            select(db.events.c.payload, db.events.c.store_id, db.events.c.event_time_unix_ns)
            .where(
                db.events.c.event_id == clip_event_id(receipt_id),
                db.events.c.kind == "evidence_clip",
            )
            .order_by(db.events.c.id)
        ).all()
    out = []
    for row in rows:
        clip = events_pb2.EdgeEvent.FromString(row.payload).evidence_clip
        out.append(
            EvidenceClipRecord(
                receipt_id=clip.receipt_id,
                visit_id=clip.visit_id,
                store_id=row.store_id,
                event_time_unix_ns=int(row.event_time_unix_ns),
                items=tuple(clip.items),
            )
        )
    return out


def fleet_health(
    bind: Bind, store_ids: Collection[str] | None = None, *, now_unix_ns: int | None = None
) -> list[FleetHealthRecord]:
    """Per store: its record, the age of what the cloud last heard, and its active faults."""
    with _reading(bind) as conn:
        out = []
        for store in list_stores(conn, store_ids):
            age = None
            if now_unix_ns is not None:
                age = max(0.0, (now_unix_ns - store.last_seen_unix_ns) / 1e9)
            out.append(FleetHealthRecord(store, age, tuple(active_faults(conn, store.store_id))))
        return out


# Receipts ----------------------------------------------------------------------------------


def list_receipts(
    bind: Bind,
    *,
    store_id: str | None = None,
    since_unix_ns: int | None = None,
    until_unix_ns: int | None = None,
    needs_review: bool | None = None,
    limit: int = 100,
    store_ids: Collection[str] | None = None,
) -> list[ReceiptRecord]:
    """The latest revision of each receipt, newest exit first. Times filter on the exit time
    (since inclusive, until exclusive); `store_ids` restricts to a set (an access scope)."""
    latest = _latest_revisions()
    q = _receipt_select().join(
        latest,
        and_(
            latest.c.receipt_id == db.receipts.c.receipt_id,
            latest.c.revision == db.receipts.c.revision,
        ),
    )
    if store_id is not None:
        q = q.where(db.receipts.c.store_id == store_id)
    if store_ids is not None:
        q = q.where(db.receipts.c.store_id.in_(list(store_ids)))
    if since_unix_ns is not None:
        q = q.where(db.receipts.c.exited_at_unix_ns >= since_unix_ns)
    if until_unix_ns is not None:
        q = q.where(db.receipts.c.exited_at_unix_ns < until_unix_ns)
    if needs_review is not None:
        q = q.where(db.receipts.c.needs_review.is_(needs_review))
    q = q.order_by(db.receipts.c.exited_at_unix_ns.desc(), db.receipts.c.receipt_id.desc()).limit(
        max(0, limit)
    )
    with _reading(bind) as conn:
        return [_decode_row(r) for r in conn.execute(q).all()]


def get_receipt(bind: Bind, receipt_id: str, revision: int | None = None) -> ReceiptRecord:
    """One receipt: the given revision, or the latest. RecordNotFound names what is missing."""
    q = _receipt_select().where(db.receipts.c.receipt_id == receipt_id)
    if revision is None:
        q = q.order_by(db.receipts.c.revision.desc()).limit(1)
    else:
        q = q.where(db.receipts.c.revision == revision)
    with _reading(bind) as conn:
        row = conn.execute(q).first()
    if row is None:
        if revision is None:
            raise RecordNotFound(f"receipt {receipt_id!r} not found")
        raise RecordNotFound(f"receipt {receipt_id!r} revision {revision} not found")
    return _decode_row(row)


def receipts_after(
    bind: Bind,
    after_row_id: int,
    *,
    store_ids: Collection[str] | None = None,
    limit: int = 500,
) -> list[StreamedReceipt]:
    """Receipt revisions stored after `after_row_id` (events.id, the insert order), oldest first:
    what a live stream polls for."""
    q = _receipt_select().where(db.events.c.id > after_row_id)
    if store_ids is not None:
        q = q.where(db.receipts.c.store_id.in_(list(store_ids)))
    q = q.order_by(db.events.c.id).limit(limit)
    with _reading(bind) as conn:
        return [StreamedReceipt(int(r.id), _decode_row(r)) for r in conn.execute(q).all()]


def last_row_id(bind: Bind) -> int:
    """The highest events.id now (0 when empty): a stream's starting point for 'new only'."""
    with _reading(bind) as conn:
        return int(conn.execute(select(func.max(db.events.c.id))).scalar_one() or 0)


# Reviews -----------------------------------------------------------------------------------


def _resolution(row: Any) -> Resolution:
    return Resolution(
        receipt_id=row.receipt_id,
        original_revision=int(row.original_revision),
        corrected_revision=int(row.corrected_revision),
        resolved_by=row.resolved_by,
        note=row.note,
        resolved_unix_ns=int(row.resolved_unix_ns),
        corrected_lines=int(row.corrected_lines),
    )


def review_queue(
    bind: Bind,
    *,
    store_id: str | None = None,
    include_resolved: bool = False,
    store_ids: Collection[str] | None = None,
) -> list[ReviewItem]:
    """Receipts whose latest revision needs review and is unresolved, oldest exit first, with
    their evidence. With `include_resolved`, resolved ones too (the flagged revision and the
    resolution)."""
    with _reading(bind) as conn:
        keys = [(r.receipt_id, r.revision) for r in conn.execute(_open_reviews_query(store_id))]
        items = [ReviewItem(get_receipt(conn, rid, rev)) for rid, rev in keys]
        if include_resolved:
            q = select(db.resolutions)
            if store_id is not None:
                q = q.where(db.resolutions.c.store_id == store_id)
            for row in conn.execute(q).all():
                res = _resolution(row)
                original = get_receipt(conn, res.receipt_id, res.original_revision)
                items.append(ReviewItem(original, res))
    if store_ids is not None:
        allowed = set(store_ids)
        items = [i for i in items if i.receipt.store_id in allowed]
    items.sort(key=lambda i: (i.receipt.exited_at_unix_ns, i.receipt.receipt_id))
    return items


def get_resolution(bind: Bind, receipt_id: str) -> Resolution | None:
    with _reading(bind) as conn:
        row = conn.execute(
            select(db.resolutions).where(db.resolutions.c.receipt_id == receipt_id)
        ).first()
    return None if row is None else _resolution(row)


def _price_list(
    conn: Connection, original: ReceiptRecord
) -> tuple[dict[str, int], str, dict[str, str]]:
    """Prices (minor units), currency and product names for correcting `original`: the price book
    version the original was priced with, then the original's own lines, names from the newest
    planogram and the lines."""
    prices: dict[str, int] = {}
    names: dict[str, str] = {}
    currency = original.currency
    row = conn.execute(
        select(db.price_books.c.payload).where(
            db.price_books.c.store_id == original.store_id,
            db.price_books.c.version == original.price_book_version,
        )
    ).first()
    if row is not None:
        book = config_pb2.PriceBook.FromString(row.payload)
        currency = currency or book.currency
        prices.update({p.product_id: p.unit_price_minor_units for p in book.prices})
    elif original.price_book_version:
        log.warning(
            "receipt %s: price book v%d of %s not held by the cloud; pricing from its lines",
            original.receipt_id,
            original.price_book_version,
            original.store_id,
        )
    plano = conn.execute(
        select(db.planograms.c.payload)
        .where(db.planograms.c.store_id == original.store_id)
        .order_by(db.planograms.c.version.desc())
        .limit(1)
    ).first()
    if plano is not None:
        names.update(
            {p.product_id: p.name for p in config_pb2.Planogram.FromString(plano.payload).products}
        )
    for line in original.lines:
        # The original's unit price came from that same price book: it fills gaps, never overrides.
        prices.setdefault(line.product_id, line.unit_price_minor_units)
        names.setdefault(line.product_id, line.name)
    return prices, currency, names


def _corrected_event(
    original: ReceiptRecord,
    lines: Sequence[CorrectedLine],
    prices: dict[str, int],
    currency: str,
    names: dict[str, str],
    *,
    revision: int,
    sequence: int,
    resolved_by: str,
    note: str,
    now_unix_ns: int,
) -> events_pb2.EdgeEvent:
    msg = events_pb2.EdgeEvent()
    h = msg.header
    h.event_id = uuid.uuid5(_CORRECTION_NS, f"{original.receipt_id}/{revision}").hex
    h.store_id = original.store_id
    h.stream = REVIEW_STREAM
    h.sequence = sequence
    h.event_time_unix_ns = now_unix_ns
    h.schema_version = SCHEMA_VERSION
    r = msg.receipt
    r.receipt_id = original.receipt_id
    r.visit_id = original.visit_id
    r.revision = revision
    r.shopper_ref = original.shopper_ref
    r.entered_at_unix_ns = original.entered_at_unix_ns
    r.exited_at_unix_ns = original.exited_at_unix_ns
    r.price_book_version = original.price_book_version
    r.planogram_version = original.planogram_version
    r.needs_review = False
    r.review_note = f"resolved by {resolved_by}: {note}"
    total = 0
    for cl in lines:
        if cl.quantity == 0:
            continue  # the reviewer removed the product
        unit = prices[cl.product_id]
        line = r.lines.add(product_id=cl.product_id, name=names.get(cl.product_id, cl.product_id))
        line.quantity = cl.quantity
        line.unit_price.currency = currency
        line.unit_price.minor_units = unit
        line.line_total.currency = currency
        line.line_total.minor_units = unit * cl.quantity
        total += unit * cl.quantity
        ev = line.evidence.add(source=events_pb2.EVIDENCE_SOURCE_OPERATOR, confidence=1.0)
        ev.reader_id = resolved_by  # who decided: the operator is this evidence's "sensor"
    r.total.currency = currency
    r.total.minor_units = total
    return msg


def _changed_lines(original: ReceiptRecord, lines: Sequence[CorrectedLine]) -> int:
    before: dict[str, int] = {}
    for line in original.lines:
        before[line.product_id] = before.get(line.product_id, 0) + line.quantity
    after: dict[str, int] = {}
    for cl in lines:
        after[cl.product_id] = after.get(cl.product_id, 0) + cl.quantity
    return sum(1 for p in before.keys() | after.keys() if before.get(p, 0) != after.get(p, 0))


def resolve_review(
    bind: Bind,
    receipt_id: str,
    *,
    lines: Sequence[CorrectedLine],
    resolved_by: str,
    note: str,
    now_unix_ns: int,
) -> ReceiptRecord:
    """Resolve a flagged receipt into a corrected one (its next revision) and return it.

    The correction is priced with the price book version of the original, needs no review and
    carries OPERATOR evidence; the resolution is recorded, and the shopper's record now counts
    the corrected revision instead of the original. Everything is checked before anything is
    written, and written in one transaction: on any error nothing changes.

    Raises RecordNotFound (unknown receipt), RecordConflict (already resolved, not under review),
    ValueError (a line with an unknown or unpriced product, a negative quantity, a product twice,
    an empty `resolved_by`).
    """
    if not resolved_by.strip():
        raise ValueError("resolved_by: empty; name the person who resolved the review")
    with _writing(bind) as conn:
        original = get_receipt(conn, receipt_id)
        if get_resolution(conn, receipt_id) is not None:
            raise AlreadyResolved(f"receipt {receipt_id!r} is already resolved")
        if not original.needs_review:
            raise RecordConflict(
                f"receipt {receipt_id!r} revision {original.revision} is not under review"
            )
        prices, currency, names = _price_list(conn, original)
        seen: set[str] = set()
        for i, cl in enumerate(lines, 1):
            where = f"line {i} ({cl.product_id}:{cl.quantity})"
            if cl.quantity < 0:
                raise ValueError(f"{where}: quantity {cl.quantity} is negative")
            if cl.product_id in seen:
                raise ValueError(f"{where}: product {cl.product_id!r} given twice")
            seen.add(cl.product_id)
            if cl.product_id not in prices:
                if cl.product_id in names:
                    raise ValueError(
                        f"{where}: product {cl.product_id!r} has no price in price book "
                        f"v{original.price_book_version} of store {original.store_id!r}"
                    )
                raise ValueError(
                    f"{where}: unknown product {cl.product_id!r} for store "
                    f"{original.store_id!r} (not in price book v{original.price_book_version} "
                    "nor on the receipt)"
                )
        revision = original.revision + 1
        sequence = 1 + int(
            conn.execute(
                select(func.count()).where(
                    db.events.c.store_id == original.store_id,
                    db.events.c.stream == REVIEW_STREAM,
                )
            ).scalar_one()
        )
        msg = _corrected_event(
            original,
            lines,
            prices,
            currency,
            names,
            revision=revision,
            sequence=sequence,
            resolved_by=resolved_by,
            note=note,
            now_unix_ns=now_unix_ns,
        )
        payload = msg.SerializeToString(deterministic=True)
        try:
            _write_correction(conn, original, msg, payload, lines, resolved_by, note, now_unix_ns)
        except IntegrityError:
            # Another reviewer resolved it between our checks and our insert.
            raise AlreadyResolved(f"receipt {receipt_id!r} is already resolved") from None
        sync_shopper_charges(conn)
        return get_receipt(conn, receipt_id, revision)


def _write_correction(
    conn: Connection,
    original: ReceiptRecord,
    msg: events_pb2.EdgeEvent,
    payload: bytes,
    lines: Sequence[CorrectedLine],
    resolved_by: str,
    note: str,
    now_unix_ns: int,
) -> None:
    r = msg.receipt
    receipt_id, revision, sequence = r.receipt_id, r.revision, msg.header.sequence
    conn.execute(
        db.events.insert().values(
            event_id=msg.header.event_id,
            store_id=original.store_id,
            stream=REVIEW_STREAM,
            sequence=sequence,
            kind="receipt",
            event_time_unix_ns=now_unix_ns,
            stored_unix_ns=now_unix_ns,
            payload=payload,
        )
    )
    conn.execute(
        db.receipts.insert().values(
            receipt_id=receipt_id,
            revision=revision,
            store_id=original.store_id,
            visit_id=original.visit_id,
            event_id=msg.header.event_id,
            total_minor_units=r.total.minor_units,
            currency=r.total.currency[:3],
            line_count=len(r.lines),
            needs_review=False,
            exited_at_unix_ns=original.exited_at_unix_ns,
            stored_unix_ns=now_unix_ns,
        )
    )
    conn.execute(
        db.resolutions.insert().values(
            receipt_id=receipt_id,
            store_id=original.store_id,
            original_revision=original.revision,
            corrected_revision=revision,
            resolved_by=resolved_by[:128],
            note=note[:2000],
            resolved_unix_ns=now_unix_ns,
            corrected_lines=_changed_lines(original, lines),
        )
    )


# Shoppers ----------------------------------------------------------------------------------


def sync_shopper_charges(bind: Bind) -> int:
    """Bring `shopper_charges` up to date with the receipts stored: each (shopper, receipt) row
    names the receipt's latest revision. Incremental (only receipts whose charge row is missing
    or older are read); returns the rows written. Ingest does not write this table, so readers of
    shoppers' records call this first."""
    latest = _latest_revisions()
    q = (
        _receipt_select()
        .join(
            latest,
            and_(
                latest.c.receipt_id == db.receipts.c.receipt_id,
                latest.c.revision == db.receipts.c.revision,
            ),
        )
        .outerjoin(db.shopper_charges, db.shopper_charges.c.receipt_id == db.receipts.c.receipt_id)
        .where(
            (db.shopper_charges.c.receipt_id.is_(None))
            | (db.shopper_charges.c.revision < db.receipts.c.revision)
        )
    )
    written = 0
    with _writing(bind) as conn:
        for row in conn.execute(q).all():
            rec = _decode_row(row)
            values = {
                "revision": rec.revision,
                "store_id": rec.store_id,
                "total_minor_units": rec.total_minor_units,
                "currency": rec.currency[:3],
                "exited_at_unix_ns": rec.exited_at_unix_ns,
            }
            # The shopper of a receipt never changes between revisions: update in place, so the
            # corrected revision replaces the original in the shopper's account.
            updated = conn.execute(
                db.shopper_charges.update()
                .where(db.shopper_charges.c.receipt_id == rec.receipt_id)
                .values(**values)
            ).rowcount
            if not updated:
                db.insert_ignore(
                    conn,
                    db.shopper_charges,
                    [{"shopper_ref": rec.shopper_ref, "receipt_id": rec.receipt_id, **values}],
                )
            written += 1
    return written


def shopper_record(bind: Bind, shopper_ref: str) -> list[ReceiptRecord]:
    """The receipts that count for a shopper (latest revision of each), newest exit first."""
    with _writing(bind) as conn:
        sync_shopper_charges(conn)
        rows = conn.execute(
            select(db.shopper_charges.c.receipt_id, db.shopper_charges.c.revision)
            .where(db.shopper_charges.c.shopper_ref == shopper_ref)
            .order_by(
                db.shopper_charges.c.exited_at_unix_ns.desc(),
                db.shopper_charges.c.receipt_id.desc(),
            )
        ).all()
        return [get_receipt(conn, r.receipt_id, r.revision) for r in rows]


# Accuracy ----------------------------------------------------------------------------------


def accuracy_trend(
    bind: Bind,
    *,
    store_id: str | None = None,
    bucket_s: int = 3600,
    store_ids: Collection[str] | None = None,
) -> list[TrendPoint]:
    """Per bucket of exit time (unix time floored to `bucket_s`): receipts settled, flagged for
    review at settlement, resolved, and lines the reviewers changed. Buckets with no receipt are
    left out; oldest first."""
    if bucket_s <= 0:
        raise ValueError(f"bucket_s: {bucket_s} is not positive")
    first = (
        select(
            db.receipts.c.receipt_id,
            func.min(db.receipts.c.revision).label("revision"),
        )
        .group_by(db.receipts.c.receipt_id)
        .subquery("first")
    )
    q = (
        select(
            db.receipts.c.exited_at_unix_ns,
            db.receipts.c.needs_review,
            db.resolutions.c.corrected_lines,
        )
        .join(
            first,
            and_(
                first.c.receipt_id == db.receipts.c.receipt_id,
                first.c.revision == db.receipts.c.revision,
            ),
        )
        .outerjoin(db.resolutions, db.resolutions.c.receipt_id == db.receipts.c.receipt_id)
    )
    if store_id is not None:
        q = q.where(db.receipts.c.store_id == store_id)
    if store_ids is not None:
        q = q.where(db.receipts.c.store_id.in_(list(store_ids)))
    width = bucket_s * 1_000_000_000
    buckets: dict[int, list[int]] = {}
    with _reading(bind) as conn:
        for row in conn.execute(q):
            start = (int(row.exited_at_unix_ns) // width) * width
            b = buckets.setdefault(start, [0, 0, 0, 0])
            b[0] += 1
            b[1] += 1 if row.needs_review else 0
            if row.corrected_lines is not None:
                b[2] += 1
                b[3] += int(row.corrected_lines)
    return [
        TrendPoint(start, n, rev, rev / n if n else 0.0, res, lines)
        for start, (n, rev, res, lines) in sorted(buckets.items())
    ]


# Price books and planograms ----------------------------------------------------------------

_CONFIG_TABLES = {"price_book": db.price_books, "planogram": db.planograms}


def latest_config_version(bind: Bind, kind: str, store_id: str) -> int:
    with _reading(bind) as conn:
        return _latest_version(conn, _CONFIG_TABLES[kind], store_id)


def put_config(
    bind: Bind,
    kind: str,
    store_id: str,
    payload: config_pb2.PriceBook | config_pb2.Planogram,
    *,
    now_unix_ns: int,
) -> VersionedConfig:
    """Store a price book or planogram for a store. Version 0 takes the store's next version (the
    payload's version is set); another version must exceed the store's newest, else
    RecordConflict. Returns what was stored."""
    table = _CONFIG_TABLES[kind]
    with _writing(bind) as conn:
        current = _latest_version(conn, table, store_id)
        if payload.version == 0:
            payload.version = current + 1
        elif payload.version <= current:
            raise RecordConflict(
                f"{kind} version {payload.version} for store {store_id!r} is not newer than "
                f"version {current} in force"
            )
        values: dict[str, Any] = {
            "store_id": store_id,
            "version": payload.version,
            "effective_from_unix_ns": payload.effective_from_unix_ns,
            "created_unix_ns": now_unix_ns,
            "payload": payload.SerializeToString(deterministic=True),
        }
        if kind == "price_book":
            assert isinstance(payload, config_pb2.PriceBook)
            values["currency"] = payload.currency[:3]
        conn.execute(table.insert().values(**values))
    return _versioned(kind, values)


def _versioned(kind: str, row: Any) -> VersionedConfig:
    get = row.get if isinstance(row, dict) else row._mapping.get
    return VersionedConfig(
        store_id=get("store_id"),
        kind=kind,
        version=int(get("version")),
        effective_from_unix_ns=int(get("effective_from_unix_ns")),
        created_unix_ns=int(get("created_unix_ns")),
        payload=bytes(get("payload")),
        currency=get("currency") or "",
    )


def list_configs(
    bind: Bind, kind: str, *, store_ids: Collection[str] | None = None
) -> list[VersionedConfig]:
    """Every price book or planogram held, by store then version."""
    table = _CONFIG_TABLES[kind]
    q = select(table).order_by(table.c.store_id, table.c.version)
    if store_ids is not None:
        q = q.where(table.c.store_id.in_(list(store_ids)))
    with _reading(bind) as conn:
        return [_versioned(kind, r) for r in conn.execute(q).all()]
