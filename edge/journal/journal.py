"""The local journal (SQLite, WAL, synchronous=FULL): a receipt and its outbox row commit together.

A receipt is money: it is durable on disk, with the message that will carry it to the cloud, before
anything is published. The receipt id is the primary key, so settling a visit twice is impossible.

The outbox is the edge's durable queue to the cloud (docs/mqtt.md). Each row gets its stream's next
sequence number in the same transaction that writes it, so sequences have no gaps and are never
reused after a restart. The edge link (`edge/link/`) reads unsent rows in order and marks a row sent
only when the cloud acknowledges it end to end (`mark_acked`); a broker's PUBACK is not enough.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from google.protobuf.message import DecodeError
from walkout.v1 import events_pb2

SCHEMA = """
CREATE TABLE IF NOT EXISTS receipts (
    receipt_id TEXT PRIMARY KEY,
    visit_id   TEXT NOT NULL UNIQUE,
    settled_t  REAL NOT NULL,
    total      TEXT NOT NULL,
    needs_review INTEGER NOT NULL,
    body       TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS outbox (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    stream     TEXT NOT NULL,
    event_id   TEXT NOT NULL UNIQUE,
    created_t  REAL NOT NULL,
    payload    BLOB NOT NULL,
    sent       INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS link_counters (
    name       TEXT PRIMARY KEY,
    value      INTEGER NOT NULL
);
"""

# Columns added for the edge link (issue 6). Added with ALTER TABLE so a journal written by an
# older version opens and upgrades in place; NULL sequence marks a row written by such a version.
OUTBOX_COLUMNS = {
    "sequence": "INTEGER",  # per-stream position, 1, 2, 3 ... (EventHeader.sequence)
    "event_time_ns": "INTEGER",  # EventHeader.event_time_unix_ns: backlog age without a clock read
    "sent_unix": "REAL",  # wall-clock time the cloud's ack arrived (set by the link)
}
OUTBOX_INDEXES = """
CREATE UNIQUE INDEX IF NOT EXISTS outbox_stream_sequence ON outbox (stream, sequence);
CREATE INDEX IF NOT EXISTS outbox_unsent ON outbox (sent, seq);
"""


@dataclass(frozen=True)
class OutboxRow:
    """One event waiting in (or sent from) the outbox."""

    rowid: int  # global commit order: per stream it grows with `sequence`
    stream: str
    sequence: int
    event_id: str
    payload: bytes


@dataclass(frozen=True)
class Backlog:
    """Unacknowledged outbox events: how many, and the event time of the oldest (ns, 0 if none)."""

    count: int
    oldest_event_time_ns: int


class AlreadySettled(Exception):
    """The visit already has a receipt: settling twice would charge twice."""


# Acknowledged outbox rows are kept this long (the cloud holds them; the edge keeps them a while
# for diagnosis), then deleted so the journal does not grow without bound. None keeps them forever.
DEFAULT_SENT_RETENTION_S: float | None = 7 * 86400.0
PRUNE_EVERY_S = 3600.0  # at most one prune pass per hour of acknowledgement time
PRUNE_BATCH = 5000  # rows per delete transaction: never holds the write lock for long


class Journal:
    def __init__(
        self, path: Path, *, sent_retention_s: float | None = DEFAULT_SENT_RETENTION_S
    ) -> None:
        self.path = path
        self.sent_retention_s = sent_retention_s
        self._last_prune_unix: float | None = None
        path.parent.mkdir(parents=True, exist_ok=True)
        # The link reads and marks rows from its own connection while the core settles: wait for
        # the other writer instead of failing with "database is locked".
        self.db = sqlite3.connect(path, isolation_level=None, timeout=30.0)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self._create_or_upgrade()

    def _create_or_upgrade(self) -> None:
        """Create the tables, or add the columns an older version lacks, under the write lock.

        The core and the link open the same journal at the same moment: without the lock both see
        a column missing and the second ALTER TABLE fails with "duplicate column name".
        """
        self.db.execute("BEGIN IMMEDIATE")
        try:
            # executescript would commit the open transaction: run the statements one by one.
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    self.db.execute(statement)
            have = {row[1] for row in self.db.execute("PRAGMA table_info(outbox)")}
            for name, kind in OUTBOX_COLUMNS.items():
                if name not in have:
                    self.db.execute(f"ALTER TABLE outbox ADD COLUMN {name} {kind}")
            for statement in OUTBOX_INDEXES.split(";"):
                if statement.strip():
                    self.db.execute(statement)
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise

    def settle(
        self,
        receipt: dict[str, Any],
        *,
        stream: str,
        event_id: str,
        payload: bytes,
        publish: bool = True,
    ) -> None:
        """Write the receipt and its outbox row atomically; refuse a second receipt for a visit.

        A receipt held for review (`publish=False`) is journaled without an outbox row: it is
        published when a person resolves it.
        """
        try:
            self.db.execute("BEGIN IMMEDIATE")
            self.db.execute(
                "INSERT INTO receipts (receipt_id, visit_id, settled_t, total, needs_review, body)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (
                    receipt["receipt_id"],
                    receipt["visit_id"],
                    receipt["settled_t"],
                    receipt["total"],
                    int(receipt["needs_review"]),
                    json.dumps(receipt, sort_keys=True, separators=(",", ":")),
                ),
            )
            if publish:
                self._enqueue(stream, event_id, receipt["settled_t"], payload)
            self.db.execute("COMMIT")
        except sqlite3.IntegrityError as exc:
            self.db.execute("ROLLBACK")
            raise AlreadySettled(receipt["visit_id"]) from exc

    def append(self, *, stream: str, event_id: str, created_t: float, payload: bytes) -> int:
        """Write one event to the outbox in its own transaction; returns its stream sequence.

        For events that are not receipts (visits, shelf, cart, faults). A second event with the
        same id raises `sqlite3.IntegrityError`: ids are stable, so that is a replayed fact.
        """
        self.db.execute("BEGIN IMMEDIATE")
        try:
            sequence = self._enqueue(stream, event_id, created_t, payload)
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")
        return sequence

    def _enqueue(self, stream: str, event_id: str, created_t: float, payload: bytes) -> int:
        """Insert an outbox row with the stream's next sequence (inside the caller's transaction).

        The sequence is assigned here, under the write lock, not by the caller's in-memory counter:
        that is what keeps it gap-free and never reused when the process restarts. The payload's
        `EventHeader.sequence` is rewritten to match when it differs.
        """
        row = self.db.execute(
            "SELECT COALESCE(MAX(sequence), 0) FROM outbox WHERE stream = ?", (stream,)
        ).fetchone()
        sequence = int(row[0]) + 1
        payload, event_time_ns = _stamp_sequence(payload, sequence)
        self.db.execute(
            "INSERT INTO outbox (stream, event_id, created_t, payload, sequence, event_time_ns)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (stream, event_id, created_t, payload, sequence, event_time_ns),
        )
        return sequence

    # The link's side of the outbox.

    def unsent(self, after_rowid: int = 0, limit: int = 1000) -> list[OutboxRow]:
        """Unacknowledged rows after `after_rowid`, in commit order (so in order per stream)."""
        rows = self.db.execute(
            "SELECT seq, stream, sequence, event_id, payload FROM outbox"
            " WHERE sent = 0 AND seq > ? ORDER BY seq LIMIT ?",
            (after_rowid, limit),
        ).fetchall()
        return [OutboxRow(r[0], r[1], int(r[2] or 0), r[3], bytes(r[4])) for r in rows]

    def mark_acked(
        self,
        contiguous: dict[str, int],
        event_ids: list[str] | tuple[str, ...] = (),
        *,
        acked_unix: float,
    ) -> int:
        """Mark rows sent that the cloud has stored; returns how many rows changed.

        `contiguous` maps a stream to the highest sequence up to which the cloud holds every event;
        `event_ids` are events it holds beyond a gap. Idempotent: a late or repeated ack changes
        nothing.
        """
        changed = 0
        self.db.execute("BEGIN IMMEDIATE")
        try:
            for stream, upto in contiguous.items():
                cur = self.db.execute(
                    "UPDATE outbox SET sent = 1, sent_unix = ?"
                    " WHERE sent = 0 AND stream = ? AND sequence <= ?",
                    (acked_unix, stream, upto),
                )
                changed += cur.rowcount
            ids = list(event_ids)
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                marks = ",".join("?" * len(chunk))
                cur = self.db.execute(
                    f"UPDATE outbox SET sent = 1, sent_unix = ?"
                    f" WHERE sent = 0 AND event_id IN ({marks})",
                    (acked_unix, *chunk),
                )
                changed += cur.rowcount
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")
        # Pruning runs on the ack's wall-clock time (the link's injected clock), never a clock
        # read of its own.
        if self.sent_retention_s is not None and (
            self._last_prune_unix is None or acked_unix - self._last_prune_unix >= PRUNE_EVERY_S
        ):
            self._last_prune_unix = acked_unix
            self.prune_sent(older_than_unix=acked_unix - self.sent_retention_s)
        return changed

    def prune_sent(self, *, older_than_unix: float) -> int:
        """Delete outbox rows the cloud acknowledged before `older_than_unix`; returns how many.

        Unacknowledged rows are never touched. The newest row of each stream is always kept: the
        next sequence number is derived from it, and a stream must never count from 1 again.
        """
        deleted = 0
        while True:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                cur = self.db.execute(
                    "DELETE FROM outbox WHERE seq IN ("
                    " SELECT seq FROM outbox"
                    " WHERE sent = 1 AND sent_unix IS NOT NULL AND sent_unix < ?"
                    " AND seq NOT IN (SELECT MAX(seq) FROM outbox GROUP BY stream)"
                    " LIMIT ?)",
                    (older_than_unix, PRUNE_BATCH),
                )
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
            self.db.execute("COMMIT")
            deleted += cur.rowcount
            if cur.rowcount < PRUNE_BATCH:
                return deleted

    def backlog(self) -> Backlog:
        """Size of the unacknowledged backlog and the event time of its oldest row."""
        count, oldest = self.db.execute(
            "SELECT COUNT(*), MIN(event_time_ns) FROM outbox WHERE sent = 0"
        ).fetchone()
        return Backlog(int(count), int(oldest or 0))

    def link_counter(self, name: str) -> int:
        """Next value of a persistent counter (the heartbeat sequence): never reused on restart."""
        self.db.execute("BEGIN IMMEDIATE")
        self.db.execute(
            "INSERT INTO link_counters (name, value) VALUES (?, 1)"
            " ON CONFLICT (name) DO UPDATE SET value = value + 1",
            (name,),
        )
        value = int(
            self.db.execute("SELECT value FROM link_counters WHERE name = ?", (name,)).fetchone()[0]
        )
        self.db.execute("COMMIT")
        return value

    def receipt_count(self) -> int:
        return int(self.db.execute("SELECT COUNT(*) FROM receipts").fetchone()[0])

    # --- open visits of the live runtime (edge/live/resume.py): they survive a restart ------

    def _open_visits_table(self) -> None:
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS open_visits (visit_id TEXT PRIMARY KEY, body TEXT NOT NULL)"
        )

    def save_open_visits(self, save: dict[str, str], drop: list[str]) -> None:
        """Store (replace) snapshots (JSON text) of visits that have no receipt yet and drop
        those of settled ones, in one transaction (one fsync, however many visits)."""
        self._open_visits_table()
        self.db.execute("BEGIN IMMEDIATE")
        try:
            self.db.executemany(
                "INSERT OR REPLACE INTO open_visits (visit_id, body) VALUES (?, ?)",
                sorted(save.items()),
            )
            self.db.executemany(
                "DELETE FROM open_visits WHERE visit_id = ?", [(v,) for v in sorted(drop)]
            )
            self.db.execute("COMMIT")
        except sqlite3.Error:
            self.db.execute("ROLLBACK")
            raise

    def open_visits(self) -> list[dict[str, Any]]:
        """Snapshots of visits open at the last stop, minus any that were settled meanwhile."""
        self._open_visits_table()
        rows = self.db.execute(
            "SELECT body FROM open_visits WHERE visit_id NOT IN (SELECT visit_id FROM receipts)"
            " ORDER BY visit_id"
        ).fetchall()
        return [json.loads(body) for (body,) in rows]

    def settled_visit_ids(self) -> list[str]:
        return [v for (v,) in self.db.execute("SELECT visit_id FROM receipts ORDER BY visit_id")]

    def outbox_backlog(self) -> int:
        return int(self.db.execute("SELECT COUNT(*) FROM outbox WHERE sent = 0").fetchone()[0])

    def close(self) -> None:
        self.db.close()


def _stamp_sequence(payload: bytes, sequence: int) -> tuple[bytes, int | None]:
    """Set `header.sequence` in an EdgeEvent payload; also return its event time (ns).

    A payload that is not an EdgeEvent (tests write placeholder bytes) is kept as it is.
    """
    try:
        message = events_pb2.EdgeEvent.FromString(payload)
    except DecodeError:
        return payload, None
    if not message.HasField("header"):
        return payload, None
    event_time_ns = message.header.event_time_unix_ns or None
    if message.header.sequence == sequence:
        return payload, event_time_ns
    message.header.sequence = sequence
    return message.SerializeToString(deterministic=True), event_time_ns
