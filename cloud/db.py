"""The cloud database (SQLAlchemy Core): SQLite by default, PostgreSQL in production.

Tables, with the later issues in mind (fleet dashboard, control plane, retraining):

- `stores`: one row per store seen: last heartbeat, backlog, availability (ListStores reads it).
- `events`: every EdgeEvent stored once, unique by `event_id` (dedup), with its stream position.
- `receipts`: receipts pulled out of their events, charged once per (receipt_id, revision).
- `stream_state`: per (store, stream) the highest sequence below which nothing is missing; the
  ingest workers advance it and acknowledge it to the edge.
- `price_books`, `planograms`: what the control plane pushed, per (store, version).
- `resolutions`, `shopper_charges`: resolved reviews, and the receipt revision that counts per
  shopper (cloud/records.py writes both).

Every insert is `ON CONFLICT DO NOTHING`, so a QoS 1 redelivery, an edge resend after a crash or a
second worker racing on the same message is harmless.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    create_engine,
    event,
    func,
    select,
    update,
)
from sqlalchemy.engine import Connection, Engine

metadata = MetaData()

stores = Table(
    "stores",
    metadata,
    Column("store_id", String(64), primary_key=True),
    Column("first_seen_unix_ns", BigInteger, nullable=False),
    Column("last_seen_unix_ns", BigInteger, nullable=False),
    Column("online", Boolean, nullable=True),  # retained availability; None until one arrives
    Column("outbox_backlog", BigInteger, nullable=True),
    Column("outbox_oldest_age_s", Float, nullable=True),
    Column("heartbeat_sequence", BigInteger, nullable=True),
    Column("software_version", String(64), nullable=True),
)

events = Table(
    "events",
    metadata,
    # Surrogate key in insert order: shows the order events arrived in.
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("event_id", String(64), nullable=False, unique=True),
    Column("store_id", String(64), nullable=False),
    Column("stream", String(64), nullable=False),
    Column("sequence", BigInteger, nullable=False),
    Column("kind", String(32), nullable=False),  # the EdgeEvent body case, e.g. "receipt"
    Column("event_time_unix_ns", BigInteger, nullable=False),
    Column("stored_unix_ns", BigInteger, nullable=False),
    Column("payload", LargeBinary, nullable=False),
    # Not unique: an edge whose journal was wiped starts its sequences again; its events must
    # still be stored (a receipt is money). Such clashes are counted as sequence conflicts.
    Index("events_stream_position", "store_id", "stream", "sequence"),
)

receipts = Table(
    "receipts",
    metadata,
    Column("receipt_id", String(64), nullable=False),
    Column("revision", Integer, nullable=False),
    Column("store_id", String(64), nullable=False),
    Column("visit_id", String(64), nullable=False),
    Column("event_id", String(64), nullable=False),
    Column("total_minor_units", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("line_count", Integer, nullable=False),
    Column("needs_review", Boolean, nullable=False),
    Column("exited_at_unix_ns", BigInteger, nullable=False),
    Column("stored_unix_ns", BigInteger, nullable=False),
    PrimaryKeyConstraint("receipt_id", "revision"),
    Index("receipts_store", "store_id", "exited_at_unix_ns"),
)

# Control plane (cloud/control/, cloud/records.py) ----------------------------------------------

# Every price book the control plane accepted, per store and version (a walkout.v1.PriceBook).
price_books = Table(
    "price_books",
    metadata,
    Column("store_id", String(64), nullable=False),
    Column("version", BigInteger, nullable=False),
    Column("effective_from_unix_ns", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("created_unix_ns", BigInteger, nullable=False),
    Column("payload", LargeBinary, nullable=False),
    PrimaryKeyConstraint("store_id", "version"),
)

# Every planogram the control plane accepted, per store and version (a walkout.v1.Planogram).
planograms = Table(
    "planograms",
    metadata,
    Column("store_id", String(64), nullable=False),
    Column("version", BigInteger, nullable=False),
    Column("effective_from_unix_ns", BigInteger, nullable=False),
    Column("created_unix_ns", BigInteger, nullable=False),
    Column("payload", LargeBinary, nullable=False),
    PrimaryKeyConstraint("store_id", "version"),
)

# One row per resolved review: who decided, when, and which revision replaced which.
resolutions = Table(
    "resolutions",
    metadata,
    Column("receipt_id", String(64), primary_key=True),  # a receipt is resolved once
    Column("store_id", String(64), nullable=False),
    Column("original_revision", Integer, nullable=False),
    Column("corrected_revision", Integer, nullable=False),
    Column("resolved_by", String(128), nullable=False),
    Column("note", String(2000), nullable=False),
    Column("resolved_unix_ns", BigInteger, nullable=False),
    Column("corrected_lines", Integer, nullable=False),  # lines whose product or quantity changed
)

# What each shopper is charged: one row per (shopper, receipt) naming the revision that counts,
# so a correction replaces the original in the shopper's account instead of adding to it.
shopper_charges = Table(
    "shopper_charges",
    metadata,
    Column("shopper_ref", String(128), nullable=False),
    Column("receipt_id", String(64), nullable=False),
    Column("revision", Integer, nullable=False),
    Column("store_id", String(64), nullable=False),
    Column("total_minor_units", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("exited_at_unix_ns", BigInteger, nullable=False),
    PrimaryKeyConstraint("shopper_ref", "receipt_id"),
    Index("shopper_charges_receipt", "receipt_id"),
)

stream_state = Table(
    "stream_state",
    metadata,
    Column("store_id", String(64), nullable=False),
    Column("stream", String(64), nullable=False),
    Column("contiguous_sequence", BigInteger, nullable=False),
    PrimaryKeyConstraint("store_id", "stream"),
)

# The latest heartbeat of each store, whole (a walkout.v1.Heartbeat with its StoreState): the
# dashboard's store page reads per-sensor state, tracks and open visits from it.
store_state = Table(
    "store_state",
    metadata,
    Column("store_id", String(64), primary_key=True),
    Column("heartbeat_sequence", BigInteger, nullable=False),
    Column("event_time_unix_ns", BigInteger, nullable=False),
    Column("received_unix_ns", BigInteger, nullable=False),
    Column("heartbeat", LargeBinary, nullable=False),
)


# The price book and planogram versions each store says it has in force, from its latest
# heartbeat. A table of its own (not columns of `stores`): create_all adds it to a database made
# before it existed, with no migration.
store_versions = Table(
    "store_versions",
    metadata,
    Column("store_id", String(64), primary_key=True),
    Column("heartbeat_sequence", BigInteger, nullable=False),
    Column("price_book_version", BigInteger, nullable=False),
    Column("planogram_version", BigInteger, nullable=False),
    Column("reported_unix_ns", BigInteger, nullable=False),  # the heartbeat's event time
)


def make_engine(url: str) -> Engine:
    """An engine for `url` with the tables created. SQLite gets WAL and a busy timeout, so
    several worker processes can share one file."""
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    kwargs: dict[str, Any] = {}
    if url.startswith("sqlite"):
        kwargs["connect_args"] = {"timeout": 30.0}
    engine = create_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record):  # type: ignore[no-untyped-def]
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=FULL")
            cur.close()

    metadata.create_all(engine)
    return engine


def insert_ignore(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """INSERT ... ON CONFLICT DO NOTHING for SQLite and PostgreSQL."""
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    conn.execute(insert(table).on_conflict_do_nothing(), rows)


@dataclass
class StoredBatch:
    """What one commit did, and what to acknowledge to each store."""

    inserted: int = 0
    duplicates: int = 0
    sequence_conflicts: int = 0
    # store -> stream -> highest contiguous sequence after the commit
    contiguous: dict[str, dict[str, int]] = field(default_factory=dict)
    # store -> ids of events of this batch that lie beyond their stream's contiguous sequence
    beyond: dict[str, list[str]] = field(default_factory=dict)


def existing_ids(conn: Connection, ids: Iterable[str]) -> set[str]:
    ids = list(ids)
    found: set[str] = set()
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        found.update(
            conn.execute(select(events.c.event_id).where(events.c.event_id.in_(chunk))).scalars()
        )
    return found


def advance_contiguous(conn: Connection, store_id: str, stream: str) -> int:
    """Move a stream's contiguous sequence forward over the events now stored; return it.

    Monotonic even with several workers: the UPDATE only ever raises the value, and a worker that
    does not yet see another's uncommitted events simply advances less (the next batch catches up;
    events beyond the gap are acknowledged by id meanwhile).
    """
    insert_ignore(
        conn, stream_state, [{"store_id": store_id, "stream": stream, "contiguous_sequence": 0}]
    )
    current = conn.execute(
        select(stream_state.c.contiguous_sequence).where(
            stream_state.c.store_id == store_id, stream_state.c.stream == stream
        )
    ).scalar_one()
    while True:
        seqs = conn.execute(
            select(events.c.sequence)
            .where(
                events.c.store_id == store_id,
                events.c.stream == stream,
                events.c.sequence > current,
            )
            .distinct()
            .order_by(events.c.sequence)
            .limit(5000)
        ).scalars()
        moved = False
        for seq in seqs:
            if seq != current + 1:
                break
            current = seq
            moved = True
        else:
            if moved:
                continue  # the whole page was contiguous: read the next page
        break
    conn.execute(
        update(stream_state)
        .where(
            stream_state.c.store_id == store_id,
            stream_state.c.stream == stream,
            stream_state.c.contiguous_sequence < current,
        )
        .values(contiguous_sequence=current)
    )
    return int(current)


def counts(engine: Engine) -> dict[str, int]:
    """Rows per table (for the demo, benchmarks and tests)."""
    with engine.connect() as conn:
        return {
            table.name: int(conn.execute(select(func.count()).select_from(table)).scalar_one())
            for table in (stores, events, receipts, stream_state)
        }
