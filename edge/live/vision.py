"""Live person tracks from the cameras: newest frames -> detector -> floor tracker -> core queue.

Runs in its own thread so inference (10 to 20 ms a frame on this class of CPU) never holds up
the core thread that serves the shelves. At each tick it takes the newest frame of every camera
(older ones are dropped and counted by `FrameSlots`: live video drops the oldest), detects people
in one batch, tracks them on the floor and puts one "tracks" input on the main queue, exactly what
a track-source driver delivers, so recording and replay see the same track frames.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping, Sequence

from edge.drivers.base import LiveInput, Sink
from edge.health.metrics import LatencyHistogram
from edge.live.queues import FrameSlots
from edge.vision.camera import CameraModel
from edge.vision.detector import Detector, DetectorOptions
from edge.vision.floor_tracker import FloorTracker, ShelfFront
from edge.vision.replay_stage import VisionStats, _detections

log = logging.getLogger("walkout.live.vision")


class VisionWorker:
    """The live vision stage: one thread, `rate_hz` ticks a second (or as fast as it can)."""

    name = "vision"

    def __init__(
        self,
        rig: Mapping[str, CameraModel],
        frames: FrameSlots,
        sink: Sink,
        *,
        rate_hz: float = 10.0,
        threads: int = 1,
        detector: Detector | None = None,
        shelf_fronts: Sequence[ShelfFront] = (),
    ) -> None:
        self.rig = dict(rig)
        self.frames = frames
        self.sink = sink
        self.period = 1.0 / rate_hz
        self.detector = detector or Detector(options=DetectorOptions(intra_op_threads=threads))
        # The store's gondola fronts, as in replay (edge/vision/replay_stage.py), so live and
        # replayed camera tracks place one-camera hands alike.
        self.tracker = FloorTracker(list(self.rig.values()), shelf_fronts=shelf_fronts)
        self.stats = VisionStats()
        self.seconds_busy = 0.0
        self.latency = LatencyHistogram()
        self.last_tick_mono: float | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="vision", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def tick(self) -> LiveInput | None:
        """One tick: None when no camera delivered a frame since the last one."""
        newest: dict[str, LiveInput] = {}
        for cam in sorted(self.rig):
            while (item := self.frames.take(cam)) is not None:
                newest[cam] = item
        if not newest:
            return None
        started = time.monotonic()
        ids = sorted(newest)
        rows = self.detector.detect_batch([newest[c].payload for c in ids])
        classes = self.detector.classes
        detections = {
            c: _detections(r, classes, self.stats) for c, r in zip(ids, rows, strict=True)
        }
        t_mono = max(newest[c].t_mono for c in ids)
        frame = self.tracker.step(t_mono, detections)
        self.stats.ticks += 1
        self.stats.frames += len(ids)
        busy = time.monotonic() - started
        self.seconds_busy += busy
        self.latency.observe(busy)
        self.last_tick_mono = time.monotonic()
        people = [(p.id, p.x, p.y, p.hands) for p in frame.people]
        # Stamped with the newest frame's capture time: the track frame describes that moment.
        return LiveInput(t_mono, "tracks", self.name, people)

    def _run(self) -> None:
        next_tick = time.monotonic()
        while not self._stop.is_set():
            try:
                item = self.tick()
            except Exception:  # one bad frame must not end live vision
                log.exception("vision tick failed")
                item = None
            if item is not None:
                self.sink(item)
            next_tick += self.period
            delay = next_tick - time.monotonic()
            if delay > 0:
                self._stop.wait(delay)
            else:
                next_tick = time.monotonic()  # behind: skip ticks rather than queue them up
