"""An ingest worker: MQTT in (shared subscription), validate, store once, acknowledge.

Several workers (threads or processes, on one machine or many) join the same shared subscription
`$share/walkout-ingest/...`, so the broker hands each message to one of them. A worker batches what
arrives (up to `batch_max` messages or `batch_wait_s`), stores the batch in one transaction, and
only then publishes a `walkout.v1.Ack` per store. Bad messages (malformed, oversized, unauthorised)
are counted, logged and dropped; a database error drops the batch unacknowledged (the edge sends it
again); nothing a client sends can stop the worker.

Workers use clean MQTT sessions on purpose: the durable queue is the edge's outbox. A message that
reaches no worker (none running, broker restarted) is sent again by the edge when no ack comes.
"""

from __future__ import annotations

import logging
import os
import queue
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.engine import Engine
from walkout.v1 import ack_pb2

from cloud import db
from cloud.validate import Incoming, Rejection, validate
from edge.link import topics
from edge.link.mqtt import BrokerAddress, Connection, Event, InboxWorker

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class IngestSettings:
    broker: BrokerAddress = field(default_factory=BrokerAddress)
    prefix: str = topics.PREFIX
    group: str = topics.INGEST_GROUP
    allowed_stores: frozenset[str] | None = None  # None: any store (demo); production lists them
    batch_max: int = 500
    batch_wait_s: float = 0.02
    backoff_min_s: float = 0.2
    backoff_max_s: float = 5.0
    connect_timeout_s: float = 10.0


@dataclass
class IngestStats:
    received: int = 0
    inserted: int = 0
    duplicates: int = 0
    sequence_conflicts: int = 0
    receipts: int = 0
    heartbeats: int = 0
    acks_sent: int = 0
    batches: int = 0
    db_errors: int = 0
    connects: int = 0
    rejected: Counter[str] = field(default_factory=Counter)


class IngestWorker(InboxWorker):
    """One worker: an MQTT session in the shared group and a database engine."""

    def __init__(
        self,
        engine: Engine,
        settings: IngestSettings,
        *,
        name: str = "w1",
        wall_clock: Callable[[], float] = time.time,
    ):
        self.engine = engine
        self.settings = settings
        self.name = name
        self.wall = wall_clock
        self.stats = IngestStats()
        self.thread_name = f"ingest-{name}"
        self._init_worker()
        self._conn: Connection | None = None

    def run(self) -> None:
        s = self.settings
        state, state_since, retry_at, backoff = "down", 0.0, 0.0, s.backoff_min_s
        batch: list[Event] = []
        batch_started = 0.0
        try:
            while not self._stop.is_set():
                now = time.monotonic()
                if state == "down" and now >= retry_at:
                    self._conn = Connection(
                        s.broker, self.inbox, client_id=f"walkout-ingest-{self.name}-{os.getpid()}"
                    )
                    self._conn.start()
                    state, state_since = "connecting", now
                if (
                    state in ("connecting", "subscribing")
                    and now - state_since > s.connect_timeout_s
                ):
                    self._down("connect timed out")
                    state, retry_at = "down", now + backoff
                    backoff = min(backoff * 2, s.backoff_max_s)
                wait = s.batch_wait_s if batch else 0.2
                if batch:
                    wait = max(0.0, batch_started + s.batch_wait_s - now)
                try:
                    event: Event | None = self.inbox.get(timeout=wait)
                except queue.Empty:
                    event = None
                while event is not None:
                    current = self._conn is not None and event.generation == self._conn.generation
                    if event.kind == "message":
                        if not batch:
                            batch_started = time.monotonic()
                        batch.append(event)
                        if len(batch) >= s.batch_max:
                            break
                    elif current and event.kind == "connected" and self._conn is not None:
                        self._conn.subscribe(topics.ingest_subscriptions(s.prefix, s.group))
                        state, state_since = "subscribing", time.monotonic()
                    elif current and event.kind == "subscribed":
                        state, backoff = "ready", s.backoff_min_s
                        self.stats.connects += 1
                        self._ready.set()
                        log.info("ingest worker %s subscribed", self.name)
                    elif current and event.kind in ("down", "refused"):
                        self._down(event.reason)
                        state, retry_at = "down", time.monotonic() + backoff
                        backoff = min(backoff * 2, s.backoff_max_s)
                    try:
                        event = self.inbox.get_nowait()
                    except queue.Empty:
                        event = None
                if batch and (
                    len(batch) >= s.batch_max or time.monotonic() - batch_started >= s.batch_wait_s
                ):
                    self.process(batch)
                    batch = []
            if batch:
                self.process(batch)
        finally:
            self._ready.clear()
            if self._conn is not None:
                self._conn.close()

    def _down(self, reason: str) -> None:
        self._ready.clear()
        log.warning("ingest worker %s: broker connection down: %s", self.name, reason)
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    # Handling a batch ------------------------------------------------------------------------

    def process(self, batch: list[Event]) -> None:
        """Validate, store and acknowledge one batch of messages. Never raises."""
        s = self.settings
        incoming: list[Incoming] = []
        availability: list[tuple[str, bool]] = []
        for event in batch:
            self.stats.received += 1
            parsed = topics.parse(event.topic, s.prefix)
            if parsed is not None and parsed[1] == "availability":
                self._availability(parsed[0], event.payload, availability)
                continue
            result = validate(
                event.topic, event.payload, allowed_stores=s.allowed_stores, prefix=s.prefix
            )
            if isinstance(result, Rejection):
                self._reject(result)
            else:
                incoming.append(result)
        try:
            stored = self._store(incoming, availability)
        except Exception:  # a database outage must not kill the worker: no ack, the edge resends
            self.stats.db_errors += 1
            log.exception("ingest worker %s: batch of %d not stored", self.name, len(batch))
            return
        self.stats.batches += 1
        self._acknowledge(stored)

    def _availability(self, store_id: str, payload: bytes, out: list[tuple[str, bool]]) -> None:
        if payload not in (topics.AVAILABILITY_ONLINE, topics.AVAILABILITY_OFFLINE):
            if payload:  # an empty retained message clears the topic: not an error
                self._reject(Rejection("malformed", f"availability of {store_id!r}: {payload!r}"))
            return
        allowed = self.settings.allowed_stores
        if allowed is not None and store_id not in allowed:
            self._reject(Rejection("unauthorised", f"availability of unknown store {store_id!r}"))
            return
        out.append((store_id, payload == topics.AVAILABILITY_ONLINE))

    def _reject(self, rejection: Rejection) -> None:
        self.stats.rejected[rejection.reason] += 1
        n = self.stats.rejected[rejection.reason]
        if n <= 10 or n % 1000 == 0:  # a flood of garbage must not flood the log too
            log.warning("rejected (%s, #%d): %s", rejection.reason, n, rejection.detail)

    def _store(
        self, incoming: list[Incoming], availability: list[tuple[str, bool]]
    ) -> db.StoredBatch:
        out = db.StoredBatch()
        now_ns = round(self.wall() * 1e9)
        events = [m for m in incoming if m.kind == "events"]
        beats = [m for m in incoming if m.kind == "heartbeat"]
        touched_stores = sorted({m.store_id for m in incoming} | {a[0] for a in availability})
        if not touched_stores:
            return out
        with self.engine.begin() as conn:
            db.insert_ignore(
                conn,
                db.stores,
                [
                    {"store_id": sid, "first_seen_unix_ns": now_ns, "last_seen_unix_ns": now_ns}
                    for sid in touched_stores
                ],
            )
            for sid in touched_stores:
                conn.execute(
                    update(db.stores)
                    .where(db.stores.c.store_id == sid)
                    .values(last_seen_unix_ns=now_ns)
                )
            for sid, online in availability:
                conn.execute(
                    update(db.stores).where(db.stores.c.store_id == sid).values(online=online)
                )
            for m in beats:
                self._store_heartbeat(conn, m)
            if events:
                self._store_events(conn, events, now_ns, out)
        return out

    def _store_heartbeat(self, conn: Any, m: Incoming) -> None:
        self.stats.heartbeats += 1
        hb = m.event.heartbeat
        # Only a newer heartbeat replaces the state (a retained one may arrive late).
        conn.execute(
            update(db.stores)
            .where(
                db.stores.c.store_id == m.store_id,
                (db.stores.c.heartbeat_sequence.is_(None))
                | (db.stores.c.heartbeat_sequence < m.event.header.sequence),
            )
            .values(
                heartbeat_sequence=m.event.header.sequence,
                outbox_backlog=hb.outbox_backlog,
                outbox_oldest_age_s=hb.outbox_oldest_age_s,
                software_version=hb.software_version[:64],
            )
        )
        # The versions the store has in force, next to what the control plane pushed.
        versions = {
            "store_id": m.store_id,
            "heartbeat_sequence": m.event.header.sequence,
            "price_book_version": hb.price_book_version,
            "planogram_version": hb.planogram_version,
            "reported_unix_ns": m.event.header.event_time_unix_ns,
        }
        db.insert_ignore(conn, db.store_versions, [versions])
        conn.execute(
            update(db.store_versions)
            .where(
                db.store_versions.c.store_id == m.store_id,
                db.store_versions.c.heartbeat_sequence < versions["heartbeat_sequence"],
            )
            .values(**versions)
        )
        # The whole heartbeat, latest per store, for the dashboard (cloud/dashboard/).
        row = {
            "store_id": m.store_id,
            "heartbeat_sequence": m.event.header.sequence,
            "event_time_unix_ns": m.event.header.event_time_unix_ns,
            "received_unix_ns": round(self.wall() * 1e9),
            "heartbeat": hb.SerializeToString(deterministic=True),
        }
        db.insert_ignore(conn, db.store_state, [row])
        conn.execute(
            update(db.store_state)
            .where(
                db.store_state.c.store_id == m.store_id,
                db.store_state.c.heartbeat_sequence < row["heartbeat_sequence"],
            )
            .values(**row)
        )

    def _store_events(
        self, conn: Any, events: list[Incoming], now_ns: int, out: db.StoredBatch
    ) -> None:
        seen = db.existing_ids(conn, (m.event.header.event_id for m in events))
        fresh: dict[str, Incoming] = {}
        for m in events:
            event_id = m.event.header.event_id
            if event_id in seen or event_id in fresh:
                out.duplicates += 1
            else:
                fresh[event_id] = m
        # A new event at a position another event already holds: the edge's journal was reset.
        # Stored anyway (a receipt is money), counted and logged.
        by_stream: dict[tuple[str, str], list[int]] = {}
        for m in fresh.values():
            by_stream.setdefault((m.store_id, m.stream), []).append(m.event.header.sequence)
        for (sid, stream), seqs in by_stream.items():
            clash = conn.execute(
                select(db.events.c.sequence).where(
                    db.events.c.store_id == sid,
                    db.events.c.stream == stream,
                    db.events.c.sequence.in_(seqs),
                )
            ).scalars()
            for seq in clash:
                out.sequence_conflicts += 1
                log.error("store %s stream %s: sequence %d reused by a new event", sid, stream, seq)
        rows = []
        receipt_rows = []
        for event_id, m in fresh.items():
            h = m.event.header
            rows.append(
                {
                    "event_id": event_id,
                    "store_id": m.store_id,
                    "stream": m.stream,
                    "sequence": h.sequence,
                    "kind": m.body,
                    "event_time_unix_ns": h.event_time_unix_ns,
                    "stored_unix_ns": now_ns,
                    "payload": m.payload,
                }
            )
            if m.body == "receipt":
                r = m.event.receipt
                receipt_rows.append(
                    {
                        "receipt_id": r.receipt_id or event_id,
                        "revision": r.revision,
                        "store_id": m.store_id,
                        "visit_id": r.visit_id,
                        "event_id": event_id,
                        "total_minor_units": r.total.minor_units,
                        "currency": (r.total.currency or "")[:3],
                        "line_count": len(r.lines),
                        "needs_review": r.needs_review,
                        "exited_at_unix_ns": r.exited_at_unix_ns,
                        "stored_unix_ns": now_ns,
                    }
                )
        db.insert_ignore(conn, db.events, rows)
        db.insert_ignore(conn, db.receipts, receipt_rows)
        out.inserted += len(rows)
        self.stats.inserted += len(rows)
        self.stats.duplicates += out.duplicates
        self.stats.sequence_conflicts += out.sequence_conflicts
        self.stats.receipts += len(receipt_rows)
        # Advance each touched stream (sorted: the same lock order in every worker).
        streams = sorted({(m.store_id, m.stream) for m in events})
        for sid, stream in streams:
            upto = db.advance_contiguous(conn, sid, stream)
            out.contiguous.setdefault(sid, {})[stream] = upto
        for m in events:
            if m.event.header.sequence > out.contiguous[m.store_id][m.stream]:
                out.beyond.setdefault(m.store_id, []).append(m.event.header.event_id)

    def _acknowledge(self, stored: db.StoredBatch) -> None:
        conn = self._conn
        if conn is None:
            return  # the edge will send again and get its ack then
        acked_at = round(self.wall() * 1e9)
        for sid, streams in stored.contiguous.items():
            ack = ack_pb2.Ack(store_id=sid, acked_at_unix_ns=acked_at)
            for stream, upto in sorted(streams.items()):
                ack.streams.add(stream=stream, highest_contiguous_sequence=upto)
            ack.event_ids.extend(sorted(set(stored.beyond.get(sid, []))))
            if conn.publish(
                topics.ack(sid, self.settings.prefix), ack.SerializeToString(deterministic=True)
            ):
                self.stats.acks_sent += 1
