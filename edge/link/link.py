"""The edge link: drains the journal's outbox to the cloud over MQTT, exactly once in effect.

- Publishes unsent outbox rows in commit order (so in sequence order per stream), QoS 1, with up to
  `window` rows in flight.
- Marks a row sent only when the cloud's `walkout.v1.Ack` covers it (the cloud sends it after its
  database commit). A broker's PUBACK is not enough: a broker loses queued messages in a crash.
- Go-back-N: when no ack makes progress for `ack_timeout_s`, or after any reconnect, it publishes
  again from the oldest unsent row. Duplicates are harmless (the cloud deduplicates by event id).
- Survives restarts and outages of any length: the backlog is the SQLite outbox, nothing lives only
  in memory; reconnects with exponential back-off.
- Availability: retained `online` on connect, `offline` as the last will and on a clean stop.
- Heartbeats (stream "heartbeats", own persistent sequence) with the backlog size and age.

One thread owns the SQLite connection and the state; paho's callbacks only post to its inbox.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import queue
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from google.protobuf.message import DecodeError
from walkout.v1 import SCHEMA_VERSION, ack_pb2, events_pb2

from edge.config.models import StoreConfig
from edge.journal.journal import Journal
from edge.link import topics
from edge.link.mqtt import BrokerAddress, Connection, Event, InboxWorker

log = logging.getLogger(__name__)

HEARTBEAT_NAMESPACE = uuid.UUID("0b6f7c52-5c7e-5d0e-8a7e-5f3c2d9b1a44")


@dataclass(frozen=True)
class LinkSettings:
    """How the link talks to the broker. Times in seconds."""

    store_id: str
    broker: BrokerAddress = field(default_factory=BrokerAddress)
    prefix: str = topics.PREFIX
    window: int = 1000  # rows in flight (published, not yet acknowledged)
    ack_timeout_s: float = 10.0  # no ack progress for this long: publish again from the oldest
    connect_timeout_s: float = 10.0  # CONNACK + SUBACK must arrive within this
    heartbeat_interval_s: float = 30.0
    poll_s: float = 0.05  # how often the outbox is read for new rows
    backoff_min_s: float = 0.5
    backoff_max_s: float = 30.0
    software_version: str = "0.1.0"

    def __post_init__(self) -> None:
        if not topics.valid_level(self.store_id):
            raise ValueError(f"store id {self.store_id!r} cannot be an MQTT topic level")

    @classmethod
    def from_config(cls, config: StoreConfig, config_dir: Path | None = None) -> LinkSettings:
        """Settings from a store config's `cloud` section; the password comes from the
        environment variable the config names (secrets never live in the config file).
        Relative certificate paths are taken from `config_dir` (the config file's folder) when
        given, else from the working directory; a missing one is an error here, at start-up,
        not a crash of the link thread at its first connect."""
        m = config.cloud.mqtt
        password = os.environ.get(m.password_env) if m.password_env else None
        if m.password_env and password is None:
            raise ValueError(
                f"cloud.mqtt.password_env: environment variable {m.password_env} is not set"
            )
        tls_files: dict[str, str | None] = {}
        for key in ("ca_file", "cert_file", "key_file"):
            value = getattr(m, key)
            if value is None:
                tls_files[key] = None
                continue
            path = Path(value).expanduser()
            if not path.is_absolute() and config_dir is not None:
                path = config_dir / path
            if not path.is_file():
                raise ValueError(f"cloud.mqtt.{key}: {path}: no such file")
            tls_files[key] = str(path)
        return cls(
            store_id=config.store.id,
            broker=BrokerAddress(
                host=m.host,
                port=m.port,
                username=m.username,
                password=password,
                keepalive_s=m.keepalive_s,
                tls=m.tls,
                ca_file=tls_files["ca_file"],
                cert_file=tls_files["cert_file"],
                key_file=tls_files["key_file"],
            ),
            prefix=m.topic_prefix,
            ack_timeout_s=config.cloud.ack_timeout_s,
            heartbeat_interval_s=config.cloud.heartbeat_interval_s,
        )


@dataclass
class LinkStats:
    connects: int = 0
    drops: int = 0
    published: int = 0
    resends: int = 0  # go-back-N rounds after an ack timeout
    acks: int = 0
    acked_rows: int = 0
    bad_acks: int = 0
    heartbeats: int = 0
    last_drop_reason: str = ""


class EdgeLink(InboxWorker):
    """Drains `journal_path`'s outbox to the broker; `start()`/`stop()` or `run(stop_event)`."""

    thread_name = "edge-link"

    def __init__(
        self,
        journal_path: Path,
        settings: LinkSettings,
        *,
        wall_clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ):
        self.journal_path = journal_path
        self.settings = settings
        self.wall = wall_clock
        self.mono = monotonic
        self.stats = LinkStats()
        self._init_worker()  # start(), stop(), wait_ready(), ready: edge/link/mqtt.py
        # Called (in the link's thread) with each retained config bundle for this store.
        self.on_config: Callable[[str, bytes], None] | None = None
        # Called (in the link's thread) for the store state each heartbeat carries; None: none.
        self.state_source: Callable[[], events_pb2.StoreState | None] | None = None
        # Called for the (price book, planogram) versions in force each heartbeat names.
        self.versions_source: Callable[[], tuple[int, int]] | None = None
        # Called for the models in use (Heartbeat.models: the detector when vision runs).
        self.models_source: Callable[[], list[events_pb2.ModelVersion]] | None = None
        self._started_mono = monotonic()

    # The loop ------------------------------------------------------------------------------

    def run(self, stop: threading.Event | None = None) -> None:
        stop_event = stop or self._stop
        s = self.settings
        journal = Journal(self.journal_path)
        conn: Connection | None = None
        state = "down"  # down -> connecting -> subscribing -> ready
        state_since = self.mono()
        retry_at = self.mono()
        backoff = s.backoff_min_s
        inflight: dict[int, tuple[str, int, str]] = {}  # rowid -> (stream, sequence, event_id)
        pointer = 0  # highest rowid published on this connection
        last_progress = self.mono()
        next_heartbeat = self.mono()
        address = s.broker
        try:
            while not stop_event.is_set() and not self._stop.is_set():
                now = self.mono()
                if state == "down" and now >= retry_at:
                    conn = Connection(
                        address,
                        self.inbox,
                        client_id=f"walkout-edge-{s.store_id}-{os.getpid()}",
                        will=(
                            topics.availability(s.store_id, s.prefix),
                            topics.AVAILABILITY_OFFLINE,
                        ),
                    )
                    conn.start()
                    state, state_since = "connecting", now
                if (
                    state in ("connecting", "subscribing")
                    and now - state_since > s.connect_timeout_s
                ):
                    self._drop(conn, f"no {'CONNACK' if state == 'connecting' else 'SUBACK'}")
                    conn, state = None, "down"
                    retry_at, backoff = now + backoff, min(backoff * 2, s.backoff_max_s)

                # Everything paho reported since the last round, in order.
                try:
                    event = self.inbox.get(timeout=s.poll_s)
                except queue.Empty:
                    event = None
                while event is not None:
                    current = conn is not None and event.generation == conn.generation
                    if event.kind == "message" and "/config/" in event.topic:
                        self._on_config(event)
                    elif event.kind == "message":
                        if self._on_ack(journal, event, inflight):
                            last_progress = self.mono()
                    elif current and event.kind == "connected" and conn is not None:
                        wanted = [topics.ack(s.store_id, s.prefix)]
                        if self.on_config is not None:  # signed pushes (edge/push/)
                            wanted.append(f"{s.prefix}/{s.store_id}/config/+")
                        conn.subscribe(wanted)
                        conn.publish(
                            topics.availability(s.store_id, s.prefix),
                            topics.AVAILABILITY_ONLINE,
                            retain=True,
                        )
                        state, state_since = "subscribing", self.mono()
                    elif current and event.kind == "subscribed":
                        state = "ready"
                        self.stats.connects += 1
                        backoff = s.backoff_min_s
                        # A fresh session: whatever was in flight may be lost; start over.
                        inflight.clear()
                        pointer = 0
                        last_progress = self.mono()
                        next_heartbeat = self.mono()
                        self._ready.set()
                        log.info("link up: %s:%s", s.broker.host, s.broker.port)
                    elif current and event.kind in ("down", "refused"):
                        if event.kind == "refused" and "protocol version" in event.reason.lower():
                            # A broker without MQTT v5: speak 3.1.1 from now on.
                            log.warning("broker refused MQTT v5 (%s): using 3.1.1", event.reason)
                            address = dataclasses.replace(address, protocol="3.1.1")
                        self._drop(conn, event.reason)
                        conn, state = None, "down"
                        retry_at = self.mono() + backoff
                        backoff = min(backoff * 2, s.backoff_max_s)
                    try:
                        event = self.inbox.get_nowait()
                    except queue.Empty:
                        event = None

                if state != "ready" or conn is None:
                    continue
                now = self.mono()
                if inflight and now - last_progress > s.ack_timeout_s:
                    log.warning(
                        "no ack for %.1f s with %d in flight: publishing again from the oldest",
                        now - last_progress,
                        len(inflight),
                    )
                    self.stats.resends += 1
                    inflight.clear()
                    pointer = 0
                    last_progress = now
                room = s.window - len(inflight)
                if room > 0:
                    for row in journal.unsent(after_rowid=pointer, limit=room):
                        if not conn.publish(
                            topics.events(s.store_id, row.stream, s.prefix), row.payload
                        ):
                            break  # the drop event follows on the inbox
                        if not inflight:
                            last_progress = now  # the ack clock starts with the first in flight
                        inflight[row.rowid] = (row.stream, row.sequence, row.event_id)
                        pointer = row.rowid
                        self.stats.published += 1
                if now >= next_heartbeat:
                    self._heartbeat(journal, conn)
                    next_heartbeat = now + s.heartbeat_interval_s
        finally:
            self._ready.clear()
            if conn is not None:
                # A clean stop says so; the last will covers the unclean ones.
                conn.publish(
                    topics.availability(s.store_id, s.prefix),
                    topics.AVAILABILITY_OFFLINE,
                    retain=True,
                )
                conn.close()
            journal.close()

    def _drop(self, conn: Connection | None, reason: str) -> None:
        self._ready.clear()
        self.stats.drops += 1
        self.stats.last_drop_reason = reason
        log.warning("link down: %s", reason)
        if conn is not None:
            conn.close()

    def _on_config(self, event: Event) -> None:
        """A retained config bundle for this store: hand it to whoever applies pushes."""
        if self.on_config is None:
            return
        try:
            self.on_config(event.topic, event.payload)
        except Exception:  # a bad bundle is the applier's to reject; the link keeps running
            log.exception("config bundle on %s not applied", event.topic)

    def _on_ack(
        self, journal: Journal, event: Event, inflight: dict[int, tuple[str, int, str]]
    ) -> bool:
        """Apply a cloud ack; True when it covered anything in flight."""
        try:
            ack = ack_pb2.Ack.FromString(event.payload)
        except DecodeError:
            self.stats.bad_acks += 1
            log.warning("ignored an ack that is not a walkout.v1.Ack on %s", event.topic)
            return False
        if ack.store_id != self.settings.store_id:
            self.stats.bad_acks += 1
            log.warning("ignored an ack for store %r", ack.store_id)
            return False
        self.stats.acks += 1
        contiguous = {s.stream: s.highest_contiguous_sequence for s in ack.streams}
        ids = set(ack.event_ids)
        self.stats.acked_rows += journal.mark_acked(contiguous, list(ids), acked_unix=self.wall())
        covered = [
            rowid
            for rowid, (stream, sequence, event_id) in inflight.items()
            if sequence <= contiguous.get(stream, 0) or event_id in ids
        ]
        for rowid in covered:
            del inflight[rowid]
        return bool(covered)

    def _heartbeat(self, journal: Journal, conn: Connection) -> None:
        s = self.settings
        backlog = journal.backlog()
        now_ns = round(self.wall() * 1e9)
        sequence = journal.link_counter("heartbeats")
        msg = events_pb2.EdgeEvent()
        header = msg.header
        header.event_id = str(uuid.uuid5(HEARTBEAT_NAMESPACE, f"{s.store_id}/{sequence}"))
        header.store_id = s.store_id
        header.stream = "heartbeats"
        header.sequence = sequence
        header.event_time_unix_ns = now_ns
        header.schema_version = SCHEMA_VERSION
        body = msg.heartbeat
        body.outbox_backlog = backlog.count
        if backlog.count and backlog.oldest_event_time_ns:
            body.outbox_oldest_age_s = max(0.0, (now_ns - backlog.oldest_event_time_ns) / 1e9)
        body.software_version = s.software_version
        body.uptime_s = self.mono() - self._started_mono
        body.interval_s = s.heartbeat_interval_s
        if self.versions_source is not None:
            try:
                body.price_book_version, body.planogram_version = self.versions_source()
            except Exception:  # never let a bad snapshot stop the heartbeats
                log.exception("versions in force not known; heartbeat sent without them")
        if self.models_source is not None:
            try:
                body.models.extend(self.models_source())
            except Exception:  # never let a bad snapshot stop the heartbeats
                log.exception("models in use not known; heartbeat sent without them")
        if self.state_source is not None:
            try:
                state = self.state_source()
            except Exception:  # a bad snapshot must not stop the heartbeats or the outbox
                log.exception("store state not built; heartbeat sent without it")
                state = None
            if state is not None:
                body.store_state.CopyFrom(state)
                body.open_visits = len(state.open_visits)
                body.active_faults = len(state.faulty_plates) + sum(
                    1 for x in state.sensors if x.state not in ("connected", "starting")
                )
        conn.publish(
            topics.heartbeat(s.store_id, s.prefix),
            msg.SerializeToString(deterministic=True),
            retain=True,
        )
        self.stats.heartbeats += 1
