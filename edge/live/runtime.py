"""`walkout edge run`: the store's live runtime.

Driver threads (serial shelf controllers, PC/SC gate readers, cameras, the person-track
source) stamp what they receive with the monotonic clock and put it into bounded queues
(edge/live/queues.py). One core thread takes inputs in arrival order, gives each a strictly
increasing session time (edge/live/clock.py), records it (optional, session format) and feeds
the deterministic :class:`EdgeCore`. Everything the core decides goes to ``events.jsonl``,
receipts to the journal (with their outbox row) and ``receipts.jsonl``. Open visits are
snapshotted to the journal so a restart, even after SIGKILL, resumes them (resume.py).
"""

from __future__ import annotations

import json
import logging
import os
import resource
import sqlite3
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from edge.config import load_store_config_text
from edge.config.layout import StoreLayout
from edge.drivers.base import Backoff, Driver, LiveInput, Sink
from edge.journal.journal import Journal
from edge.live import sdnotify
from edge.live.clock import FeedClock
from edge.live.latency import LatencyStats
from edge.live.queues import FrameSlots, InputQueue
from edge.live.recorder import Recorder, canonical_frame
from edge.live.resume import (
    last_event_seq,
    rebind_returning_tracks,
    restore_open_visits,
    snapshot_visit,
)
from edge.pipeline.core import EdgeCore
from edge.replay.runner import _json

if TYPE_CHECKING:
    from edge.live.vision import VisionWorker
    from edge.push.bundles import PushApplier

__all__ = ["LiveOptions", "LiveRuntime", "pushed_versions"]

log = logging.getLogger("walkout.live")

HEARTBEAT_STALE_S = 5.0


def pushed_versions(status: dict[str, Any]) -> tuple[int, int]:
    """(price book, planogram) versions in force from a status snapshot; 0: the config's."""
    pushed = status.get("pushed") or {}
    return int(pushed.get("price_book_version", 0)), int(pushed.get("planogram_version", 0))


@dataclass
class LiveOptions:
    data_dir: Path | None = None  # default: the config's storage.data_dir
    record_dir: Path | None = None
    overwrite_record: bool = False
    duration_s: float | None = None  # stop by itself after this long (record, tests)
    status_period_s: float = 1.0
    backoff_initial_s: float = 0.5
    backoff_max_s: float = 10.0
    queue_size: int = 20_000
    frame_depth: int = 2
    review_policy: str = "settle_and_flag"
    cameras: bool = True
    vision_rate_hz: float = 10.0  # person tracks from the cameras (when no track source is set)
    vision_threads: int = 1  # detector threads: one core stays for shelves, gates and the core
    health_port: int | None = None  # serve /healthz, /readyz, /metrics, / (edge/health/)
    health_host: str = "127.0.0.1"


class LiveRuntime:
    def __init__(self, config_path: Path, options: LiveOptions | None = None) -> None:
        self.options = options or LiveOptions()
        self.config_path = config_path
        try:
            self.config_text = config_path.read_text(encoding="utf-8")
        except OSError as exc:
            from edge.cli.errors import UserError

            raise UserError(f"cannot read store config {config_path}: {exc.strerror}") from None
        self.config = load_store_config_text(self.config_text, source=str(config_path))
        self.layout = StoreLayout(self.config)
        self.data_dir = self.options.data_dir or Path(self.config.storage.data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.queue = InputQueue(self.options.queue_size)
        self.frames = FrameSlots(self.options.frame_depth)
        self.latency = LatencyStats()
        self.faults: dict[str, int] = {}
        self.drivers: list[Driver] = []
        self.restored: list[str] = []
        self._pending_tracks: dict[str, set[int]] = {}
        self.stop_event = threading.Event()
        self.vision: VisionWorker | None = None
        self.last_status: dict[str, Any] = {}
        self.health: Any = None  # edge.health.server.HealthServer while serving
        self.pushes: PushApplier | None = None
        self.inputs = {"shelf": 0, "read": 0, "tracks": 0}
        self.heartbeat_mono = time.monotonic()
        self.heartbeat_start = self.heartbeat_mono
        self._dirty: set[str] = set()
        self._settled: set[str] = set()
        self._saved: dict[str, str] = {}  # visit id -> last snapshot written to the journal
        self._dropped: set[str] = set()
        self._events_file: TextIO | None = None
        self._receipts_file: TextIO | None = None
        self.recorder: Recorder | None = None
        self.link: Any = None  # edge.link.link.EdgeLink when cloud.enabled
        self.core: EdgeCore | None = None
        self.clock: FeedClock | None = None
        self.start_unix = 0.0

    # --- set-up -----------------------------------------------------------------------------

    def _build_drivers(self) -> None:
        # Drivers are plugins chosen by each device's config `type` (edge/drivers/registry.py);
        # one whose vendor library is missing is a faulted stand-in, the others run.
        from edge.drivers.registry import build_drivers

        def backoff() -> Backoff:
            return Backoff(self.options.backoff_initial_s, self.options.backoff_max_s)

        put = self.queue.put
        self.drivers.extend(
            build_drivers(self.config, put, self.frames.put, backoff, cameras=self.options.cameras)
        )
        if self.options.cameras and self.config.cameras and self.config.track_source is None:
            self.vision = self._vision_worker(put)

    def start(self) -> None:
        self.start_unix = time.time()
        t0 = time.monotonic()
        self.clock = FeedClock(t0)
        journal = Journal(self.data_dir / self.config.storage.journal)
        self.journal = journal
        events_path = self.data_dir / "events.jsonl"
        last_seq = last_event_seq(events_path)  # the sequence continues across restarts
        self._events_file = events_path.open("a", encoding="utf-8")
        self._receipts_file = (self.data_dir / "receipts.jsonl").open("a", encoding="utf-8")
        core = EdgeCore(
            self.layout,
            emit=self._on_event,
            journal=journal,
            start_time_unix=self.start_unix,
            review_policy=self.options.review_policy,
        )
        core.on_receipt = self._on_receipt  # type: ignore[method-assign]
        core._seq = last_seq
        self.core = core
        self._pending_tracks = restore_open_visits(core, journal, self.start_unix)
        self.restored = sorted(self._pending_tracks)
        if self.restored:
            log.info("resumed %d open visit(s): %s", len(self.restored), ", ".join(self.restored))
        if self.options.record_dir is not None:
            self.recorder = Recorder(
                self.options.record_dir,
                config=self.config,
                config_text=self.config_text,
                start_time_unix=self.start_unix,
                session_id=f"live-{self.config.store.id}-{int(self.start_unix)}",
                created_by="walkout edge run",
                overwrite=self.options.overwrite_record,
            )
        self._build_drivers()
        for driver in self.drivers:
            driver.start()
        if self.vision is not None:
            self.vision.start()
        self._start_link()
        self.write_status()
        if self.options.health_port is not None:
            from edge.health.server import start_health_server

            self.health = start_health_server(
                self, self.options.health_host, self.options.health_port
            )
            log.info("health on http://%s:%d/", self.options.health_host, self.health.port)
        sdnotify.notify("READY=1\nSTATUS=running")
        log.info(
            "store %s running: %d drivers, data in %s%s",
            self.config.store.id,
            len(self.drivers),
            self.data_dir,
            f", recording to {self.options.record_dir}" if self.recorder else "",
        )

    def _start_link(self) -> None:
        """The cloud link (edge/link/) drains the journal's outbox to MQTT in its own thread:
        the store keeps running (and receipts queue) whatever the WAN does."""
        if not self.config.cloud.enabled:
            return
        from edge.link.link import EdgeLink, LinkSettings

        try:
            settings = LinkSettings.from_config(self.config, self.config_path.parent)
        except ValueError as exc:
            from edge.cli.errors import UserError

            raise UserError(f"{self.config_path}: {exc}") from None
        self.link = EdgeLink(self.data_dir / self.config.storage.journal, settings)
        if self.config.cloud.push_keys:
            self.pushes = self._push_applier()
            self.link.on_config = self.pushes
            for kind in ("price_book", "planogram"):
                persisted = self.pushes.store.bundle(kind)
                if persisted is not None:
                    # The price book and planogram in force before the restart are the core's
                    # first push inputs (recorded like any other), so a recording starts from
                    # what was in force.
                    self.handle(LiveInput(time.monotonic(), "push", kind, persisted.payload))
        # Heartbeats name the price book and planogram in force (from the status snapshot).
        self.link.versions_source = lambda: pushed_versions(self.last_status)
        from edge.link.store_state import StoreStateBuilder, detector_models

        builder = StoreStateBuilder()
        # Heartbeats carry the store's state from the latest snapshot (edge/link/store_state.py).
        self.link.state_source = lambda: builder.build(self.last_status)
        # ... and the detector model in use when vision runs.
        self.link.models_source = lambda: detector_models(
            self.vision.detector.manifest if self.vision is not None else None
        )
        self.link.start()

    def _push_applier(self) -> PushApplier:
        """Signed price and planogram pushes: verified with the keys the config trusts, kept in
        data_dir/pushed (edge/push/bundles.py)."""
        from cryptography.hazmat.primitives.serialization import load_pem_public_key

        from edge.cli.errors import UserError
        from edge.push.bundles import BundleVerifier, ConfigStore, PushApplier

        keys = {}
        for key_id, rel in sorted(self.config.cloud.push_keys.items()):
            path = self.config_path.parent / rel
            try:
                keys[key_id] = load_pem_public_key(path.read_bytes())
            except (OSError, ValueError) as exc:
                raise UserError(
                    f"{self.config_path}: cloud.push_keys.{key_id}: {path}: {exc}"
                ) from None
        verifier = BundleVerifier(self.config.store.id, keys)  # type: ignore[arg-type]
        return PushApplier(
            verifier,
            ConfigStore(self.data_dir / "pushed"),
            validate=self._check_push,
            on_applied=self._queue_push,
        )

    def _check_push(self, kind: str, payload: object) -> None:
        """Reject a planogram or price book the store cannot use before it is persisted (link
        thread; pure)."""
        from edge.push.bundles import BundleRejected
        from edge.push.planogram import PlanogramRejected, planogram_layout
        from edge.push.prices import PriceBookRejected, price_book_in_force

        try:
            if kind == "planogram":
                planogram_layout(self.layout, payload)  # type: ignore[arg-type]
            elif kind == "price_book":
                price_book_in_force(payload, currency=self.config.store.currency)  # type: ignore[arg-type]
        except (PlanogramRejected, PriceBookRejected) as exc:
            # Counted and logged by the applier (PushApplier.rejected; status "pushed").
            raise BundleRejected(str(exc)) from None

    def _queue_push(self, kind: str, bundle: Any, payload: object) -> None:
        """A planogram or price book that took effect on disk becomes a timestamped core input
        (link thread: the queue hands it to the core thread, which records it and feeds the
        core; the core never reads the link's store)."""
        if kind in ("planogram", "price_book"):
            self.queue.put(LiveInput(time.monotonic(), "push", kind, bundle.payload))

    # --- the core thread --------------------------------------------------------------------

    def request_stop(self) -> None:
        self.stop_event.set()

    def run(self) -> None:
        """Run until :meth:`request_stop` (a signal) or ``duration_s``; then drain and stop."""
        self.start()
        assert self.clock is not None
        deadline = self.clock.t0_mono + self.options.duration_s if self.options.duration_s else None
        watchdog = sdnotify.watchdog_interval_s()
        next_status = time.monotonic()
        next_ping = time.monotonic()
        try:
            while not self.stop_event.is_set():
                item = self.queue.get(timeout=0.1)
                if item is not None:
                    self.handle(item)
                now = time.monotonic()
                self.heartbeat_mono = now
                self._take_frames(now)
                if now >= next_status:
                    self._snapshot_open_visits()
                    self.write_status()
                    next_status = now + self.options.status_period_s
                if watchdog is not None and now >= next_ping and self.healthy(now):
                    sdnotify.notify("WATCHDOG=1")
                    next_ping = now + watchdog
                if deadline is not None and now >= deadline:
                    break
        finally:
            self.shutdown()

    def healthy(self, now: float) -> bool:
        """The pipeline heartbeats are fresh: the core loop turned recently and no driver thread
        died (a dead *device* is a fault the driver reports, not a dead pipeline)."""
        threads = [d._thread for d in self.drivers]
        if self.vision is not None:
            threads.append(self.vision._thread)
        alive = all(t is not None and t.is_alive() for t in threads)
        return alive and now - self.heartbeat_mono < HEARTBEAT_STALE_S

    def handle(self, item: LiveInput) -> None:
        assert self.core is not None and self.clock is not None
        taken = time.monotonic()
        self.latency.add("queue", taken - item.t_mono)
        t = self.clock.session_time(item.t_mono)
        core, rec = self.core, self.recorder
        self.inputs[item.kind] = self.inputs.get(item.kind, 0) + 1
        if item.kind == "shelf":
            if rec is not None:
                rec.shelf(t, item.source, item.payload)
            core.on_shelf_bytes(t, item.source, item.payload)
        elif item.kind == "read":
            kind, uid, event = item.payload
            if rec is not None:
                rec.read(t, item.source, kind, uid, event)
            self._check_read(item.source, kind, uid, event)
            core.on_read(t, item.source, kind, uid, event)
        elif item.kind == "push":
            from walkout.v1 import config_pb2

            if item.source == "price_book":
                message: Any = config_pb2.PriceBook.FromString(item.payload)
            else:
                message = config_pb2.Planogram.FromString(item.payload)
            if rec is not None:
                eff = message.effective_from_unix_ns
                rec.push(t, item.source, message.version, eff, item.payload)
            if item.source == "price_book":
                core.on_price_book(t, message)
            else:
                core.on_planogram(t, message)
        elif item.kind == "tracks":
            frame = canonical_frame(t, item.payload)
            if rec is not None:
                rec.tracks(frame)
            core.on_tracks(t, [(p.id, p.x, p.y, p.hands) for p in frame.people])
            if self._pending_tracks:
                rebind_returning_tracks(core, self._pending_tracks)
        self.latency.add("core", time.monotonic() - taken)
        if self._dirty:
            self._persist_dirty()

    def _check_read(self, reader: str, kind: str, uid: str, event: str) -> None:
        """Faults the visit logic passes over silently, counted and logged here."""
        assert self.core is not None
        if event != "insert":
            return
        visits = self.core.visits
        if kind == "card" and reader in visits.exit_readers:
            if not any(v.card_uid == uid and v.closed_t is None for v in visits.visits.values()):
                self._fault("exit tap with no open visit", f"reader {reader!r}: card {uid}")
        elif kind == "tag" and reader in visits.entry_readers:
            self._fault("item tag read at an entry reader", f"reader {reader!r}: tag {uid}")

    def _fault(self, kind: str, detail: str) -> None:
        self.faults[kind] = self.faults.get(kind, 0) + 1
        log.warning("%s (%s)", kind, detail)

    def _vision_worker(self, put: Sink) -> VisionWorker | None:
        """Person tracks from the cameras (edge/live/vision.py), if their calibration loads; a
        camera rig that does not load is a counted fault and the store runs without vision."""
        from edge.live.vision import VisionWorker
        from edge.vision.floor_tracker import store_shelf_fronts
        from edge.vision.manifest import DetectorError
        from edge.vision.rig import RigError, load_rig

        try:
            rig = load_rig(self.config, self.config_path.parent)
            return VisionWorker(
                rig,
                self.frames,
                put,
                rate_hz=self.options.vision_rate_hz,
                threads=self.options.vision_threads,
                shelf_fronts=store_shelf_fronts(self.config.gondolas),
            )
        except (RigError, DetectorError) as exc:
            self._fault("vision unavailable", str(exc))
            return None

    def _take_frames(self, now: float) -> None:
        # Without live vision, frames are still taken (so the drop-oldest policy is exercised and
        # measured) and counted; with it, the vision thread takes them.
        if self.vision is not None:
            return
        for cam in self.config.cameras if self.options.cameras else ():
            item = self.frames.take(cam.id)
            if item is not None:
                self.inputs["frame"] = self.inputs.get("frame", 0) + 1

    # --- core outputs -----------------------------------------------------------------------

    def _on_event(self, event: dict[str, Any]) -> None:
        assert self._events_file is not None and self.clock is not None
        self._events_file.write(_json(event) + "\n")
        vid = event.get("visit_id")
        if vid:
            self._dirty.add(vid)
        if event["type"] == "cart_line_added" and event.get("t_shelf_settled") is not None:
            settled_mono = self.clock.mono(event["t_shelf_settled"])
            self.latency.add("cart_line", time.monotonic() - settled_mono)

    def _on_receipt(self, receipt: dict[str, Any]) -> None:
        assert self._receipts_file is not None and self.core is not None and self.clock
        self._receipts_file.write(_json(receipt) + "\n")
        self._receipts_file.flush()
        vid = receipt["visit_id"]
        self._settled.add(vid)
        visit = self.core.visits.visits.get(vid)
        if visit is not None and visit.close_reason == "exit" and visit.closed_t is not None:
            self.latency.add("receipt", time.monotonic() - self.clock.mono(visit.closed_t))

    def _persist_dirty(self) -> None:
        """Write the snapshots that changed, in one journal transaction (one fsync)."""
        assert self.core is not None
        save: dict[str, str] = {}
        drop: list[str] = []
        for vid in sorted(self._dirty):
            if vid in self._settled:
                if vid not in self._dropped:
                    self._dropped.add(vid)
                    self._saved.pop(vid, None)
                    drop.append(vid)
            elif vid in self.core.visits.visits:
                body = json.dumps(
                    snapshot_visit(self.core, vid, self.start_unix),
                    sort_keys=True,
                    separators=(",", ":"),
                )
                if self._saved.get(vid) != body:
                    save[vid] = self._saved[vid] = body
        self._dirty.clear()
        if save or drop:
            self.journal.save_open_visits(save, drop)

    def _snapshot_open_visits(self) -> None:
        # Track bindings change without events (visit_track is not emitted): refresh open ones.
        assert self.core is not None
        for vid, visit in self.core.visits.visits.items():
            if not visit.announced and vid not in self._settled:
                self._dirty.add(vid)
        self._persist_dirty()
        assert self._events_file is not None
        self._events_file.flush()

    # --- status and shutdown ----------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        now = time.monotonic()
        usage = resource.getrusage(resource.RUSAGE_SELF)
        core = self.core
        open_visits = (
            sorted(v for v, x in core.visits.visits.items() if x.closed_t is None) if core else []
        )
        return {
            "store_id": self.config.store.id,
            "pid": os.getpid(),
            "uptime_s": round(now - self.clock.t0_mono, 3) if self.clock else 0.0,
            "session_t": self.clock.last if self.clock else 0.0,
            "healthy": self.healthy(now),
            "drivers": [d.health.as_dict(now) for d in self.drivers],
            "queue": {
                "size": self.queue.qsize(),
                "max": self.queue.maxsize,
                "high_water": self.queue.high_water,
                "blocked_puts": self.queue.blocked_puts,
            },
            "frames": self.frames.stats(),
            "vision": self._vision_status(now),
            "outbox": self._outbox_status(),
            "shelf_ports": {
                port: {
                    "frames_ok": d.stats.parser.frames_ok,
                    "crc_errors": d.stats.parser.crc_errors,
                    "frames_lost": d.stats.parser.frames_lost,
                    "bytes_discarded": d.stats.parser.bytes_discarded,
                }
                for port, d in sorted(core.decoders.items())
            }
            if core
            else {},
            "plate_faults": dict(sorted(core.active_plate_faults.items())) if core else {},
            "review_queue": self._review_queue(),
            "inputs": dict(self.inputs),
            "latency": self.latency.summary(),
            "faults": dict(sorted(self.faults.items())),
            "visit_faults": dict(sorted(core.visits.faults.items())) if core else {},
            "tag_faults": dict(sorted(core.exit_tags.faults.items())) if core else {},
            "core": asdict(core.stats) if core else {},
            "link": (
                None if self.link is None else asdict(self.link.stats) | {"ready": self.link.ready}
            ),
            "open_visits": open_visits,
            # Positions and bindings for the floor maps (edge status page, cloud dashboard).
            "tracks": [
                [tid, round(h.last.x, 3), round(h.last.y, 3)]
                for tid, h in sorted(core.tracks.tracks.items())
            ]
            if core
            else [],
            "visit_tracks": {v: sorted(core.visits.visits[v].live_tracks) for v in open_visits}
            if core
            else {},
            "visit_opened_t": {v: core.visits.visits[v].opened_t for v in open_visits}
            if core
            else {},
            "review_visits": sorted(v for v, r in core.review.items() if r and v in open_visits)
            if core
            else [],
            "resumed_visits": self.restored,
            "pushed": self._pushed_status(),
            "cpu_s": round(usage.ru_utime + usage.ru_stime, 3),
            "max_rss_mb": round(usage.ru_maxrss / 1024, 1),
        }

    def _pushed_status(self) -> dict[str, int]:
        """Versions in force: the planogram the core uses, and the price book a shopper entering
        at the core's latest input would be charged (from the books the core took)."""
        core = self.core
        book = core.price_books.at(round((self.start_unix + core.now) * 1e9)) if core else None
        return {
            "price_book_version": book.version if book else 0,
            "planogram_version": self.core.planogram_version if self.core else 0,
            "rejected": len(self.pushes.rejected) if self.pushes is not None else 0,
        }

    @property
    def price_book_version(self) -> int:
        return int(self.last_status.get("pushed", {}).get("price_book_version", 0))

    def _review_queue(self) -> int:
        """Visits still in the store with a review flag."""
        if self.core is None:
            return 0
        visits = self.core.visits.visits
        return sum(
            1
            for vid, reasons in self.core.review.items()
            if reasons and vid in visits and visits[vid].closed_t is None
        )

    def _vision_status(self, now: float) -> dict[str, Any] | None:
        v = self.vision
        if v is None:
            return None
        # A vision thread that has not ticked yet counts from the start of the run.
        since = v.last_tick_mono if v.last_tick_mono is not None else self.heartbeat_start
        return asdict(v.stats) | {
            "busy_s": round(v.seconds_busy, 3),
            "last_tick_age_s": round(now - since, 3),
        }

    def _outbox_status(self) -> dict[str, Any]:
        if self.journal is None:
            return {"backlog": 0, "oldest_age_s": None}
        try:
            backlog = self.journal.backlog()
        except sqlite3.Error:  # closed at shutdown
            return {"backlog": None, "oldest_age_s": None}
        oldest = backlog.oldest_event_time_ns
        age = max(0.0, time.time() - oldest / 1e9) if backlog.count and oldest else None
        return {"backlog": backlog.count, "oldest_age_s": None if age is None else round(age, 1)}

    def write_status(self) -> dict[str, Any]:
        status = self.status()
        # The health server reads this snapshot from its own thread (the journal's SQLite
        # connection and the core's dicts belong to the core thread).
        self.last_status = status
        tmp = self.data_dir / "live-status.json.tmp"
        tmp.write_text(json.dumps(status, indent=1, sort_keys=True) + "\n")
        os.replace(tmp, self.data_dir / "live-status.json")
        return status

    def shutdown(self) -> dict[str, Any]:
        """Stop the drivers, feed the core what is still queued, persist, close. Open visits
        stay open (in the journal) for the next start."""
        sdnotify.notify("STOPPING=1")
        if self.health is not None:
            self.health.stop()
        for driver in self.drivers:
            driver.stop()
        if self.vision is not None:
            self.vision.stop()
        while (item := self.queue.get_nowait()) is not None:
            self.handle(item)
        if self.core is not None:
            self._snapshot_open_visits()
        if self.link is not None:
            self.link.stop()  # the outbox is durable: what is not published yet goes next start
        status = self.write_status()
        if self.recorder is not None and self.clock is not None:
            path = self.recorder.close(self.clock.last)
            log.info("recording written to %s", path)
        for f in (self._events_file, self._receipts_file):
            if f is not None:
                f.close()
        self.journal.close()
        log.info(
            "stopped: %d receipts, %d open visits kept",
            status["core"].get("receipts", 0),
            len(status["open_visits"]),
        )
        return status
