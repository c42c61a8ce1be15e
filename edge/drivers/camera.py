"""Camera capture driver (OpenCV): USB device index, RTSP/HTTP URL or a video file.

Frames go to a sink that keeps only the newest few (live video drops the oldest frame, see
edge/live/queues.py). A stream that stops answering (no frame for ``stall_s``) or ends is a
fault and is reopened with back-off; a file source is reopened from the start, which is how a
simulator or a test loops a clip. Vision (detector, tracker) consumes these frames once it runs
live; until then the runtime counts them and reports the camera's health.
"""

from __future__ import annotations

import time

import cv2

from edge.drivers.base import Backoff, Driver, DriverFault, Sink

__all__ = ["OpenCvCameraDriver", "parse_source"]


def parse_source(source: str) -> int | str:
    """A USB device index ("0") becomes an int; URLs and paths stay strings."""
    return int(source) if source.strip().isdigit() else source


class OpenCvCameraDriver(Driver):
    kind = "camera"

    def __init__(
        self,
        camera_id: str,
        source: str,
        fps: float,
        sink: Sink,
        *,
        stall_s: float = 5.0,
        backoff: Backoff | None = None,
    ) -> None:
        super().__init__(camera_id, sink, backoff=backoff)
        self.source = source
        self.period_s = 1.0 / fps
        self.stall_s = stall_s
        self._cap: cv2.VideoCapture | None = None
        self._is_file = not source.strip().isdigit() and "://" not in source
        self._next_t = 0.0

    def connect(self) -> None:
        source = parse_source(self.source)
        if isinstance(source, str) and "://" in source:
            # A network stream that stops answering must not hang the driver: FFmpeg's own
            # timeouts default to 30 s or more.
            timeout_ms = int(self.stall_s * 1000)
            params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, timeout_ms]
            params += [cv2.CAP_PROP_READ_TIMEOUT_MSEC, timeout_ms]
            cap = cv2.VideoCapture(source, cv2.CAP_FFMPEG, params)
        else:
            cap = cv2.VideoCapture(source)
        if not cap.isOpened():
            cap.release()
            raise DriverFault(f"camera {self.name}: cannot open source {self.source!r}")
        if not self._is_file:
            # Keep the driver's buffer short: a stale frame is worse than a dropped one.
            cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)
        self._cap = cap
        self._next_t = time.monotonic()

    def disconnect(self) -> None:
        cap, self._cap = self._cap, None
        if cap is not None:
            cap.release()

    def poll(self) -> None:
        assert self._cap is not None
        if self._is_file:
            # A file plays at the configured rate, like a camera would deliver it.
            delay = self._next_t - time.monotonic()
            if delay > 0:
                time.sleep(min(delay, 0.2))
                if delay > 0.2:
                    return
            self._next_t += self.period_s
        started = time.monotonic()
        ok, frame = self._cap.read()
        if not ok or frame is None:
            what = "ended" if self._is_file else "returned no frame"
            raise DriverFault(f"camera {self.name}: source {self.source!r} {what}")
        if time.monotonic() - started > self.stall_s:
            self.fault("stall", f"camera {self.name}: a frame took over {self.stall_s} s")
        self.emit("frame", frame)
