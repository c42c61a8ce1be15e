"""Camera video served as MJPEG over HTTP, in real time, as an IP camera serves it.

``GET /<camera id>.mjpg`` answers ``multipart/x-mixed-replace`` with one JPEG part per frame,
which OpenCV (FFmpeg's mpjpeg demuxer) reads as a live stream: the edge's camera driver opens
the URL exactly as it opens a real camera's. Each camera has one feeder thread that decodes the
recorded video (``Session.iter_camera``) and publishes every frame at its recorded session time
once the player has started; before that it repeats the first frame, and after the video ends
the last one, at the camera's frame rate (a real camera never stops sending on its own).

A stopped camera (fault ``stop-camera``) keeps its connections open and sends nothing: to the
edge it is a camera that stopped answering.
"""

from __future__ import annotations

import logging
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote

import cv2

from edge.session.reader import Session

__all__ = ["CameraFeed", "MjpegServer"]

log = logging.getLogger("walkout.sim.live.mjpeg")

BOUNDARY = "walkoutframe"
JPEG_QUALITY = 90


class CameraFeed:
    """The newest JPEG of one camera, with a counter readers wait on."""

    def __init__(self, camera_id: str, fps: float) -> None:
        self.camera_id = camera_id
        self.fps = fps
        self.jpeg: bytes | None = None
        self.count = 0  # frames published
        self.sent = 0  # frames written to clients (all clients together)
        self.stopped = False  # fault: deliver nothing
        self.cond = threading.Condition()

    def publish(self, jpeg: bytes) -> None:
        with self.cond:
            if self.stopped:
                return
            self.jpeg = jpeg
            self.count += 1
            self.cond.notify_all()

    def wait_next(self, seen: int, timeout: float) -> tuple[int, bytes | None]:
        with self.cond:
            self.cond.wait_for(lambda: self.count > seen, timeout=timeout)
            return self.count, self.jpeg


class MjpegServer:
    """Serves the session's camera videos on ``http://host:port/<camera id>.mjpg``."""

    def __init__(self, session: Session, host: str = "127.0.0.1", port: int = 0) -> None:
        self.session = session
        self.feeds: dict[str, CameraFeed] = {}
        for info in session.camera_streams:
            cam = str(info.extra.get("camera_id") or info.name.split("/", 1)[-1])
            fps = float(info.extra.get("fps") or 10.0)
            self.feeds[cam] = CameraFeed(cam, fps)
        self._stop = threading.Event()
        self._t0: float | None = None
        self._t0_set = threading.Event()
        self.clients = 0
        self._httpd = ThreadingHTTPServer((host, port), self._handler())
        self._httpd.daemon_threads = True
        self.host, self.port = self._httpd.server_address[:2]
        self._threads = [
            threading.Thread(target=self._httpd.serve_forever, name="mjpeg-http", daemon=True)
        ]
        for cam in self.feeds:
            self._threads.append(
                threading.Thread(target=self._feed, args=(cam,), name=f"mjpeg-{cam}", daemon=True)
            )
        for thread in self._threads:
            thread.start()

    def url(self, camera_id: str) -> str:
        return f"http://{self.host}:{self.port}/{camera_id}.mjpg"

    def start_clock(self, t0_mono: float) -> None:
        """Session time 0 is ``t0_mono``: frames go out at their recorded times from now on."""
        self._t0 = t0_mono
        self._t0_set.set()

    def set_stopped(self, camera_id: str, stopped: bool) -> None:
        feed = self.feeds.get(camera_id)
        if feed is None:
            have = ", ".join(sorted(self.feeds)) or "none"
            raise ValueError(
                f"stop-camera target {camera_id!r}: no such camera video (have: {have})"
            )
        with feed.cond:
            feed.stopped = stopped
        log.info("camera %s %s", camera_id, "stopped" if stopped else "delivering again")

    def _feed(self, cam: str) -> None:
        feed = self.feeds[cam]
        period = 1.0 / feed.fps
        frames = self.session.iter_camera(cam)
        first = next(frames, None)
        if first is None:
            return
        jpeg = _encode(first[1])
        # Pre-roll: the first frame, repeated, until the player starts.
        while not self._t0_set.wait(period):
            if self._stop.is_set():
                return
            feed.publish(jpeg)
        if self._stop.is_set() or self._t0 is None:
            return
        pending: tuple[float, Any] | None = first
        while not self._stop.is_set():
            if pending is None:
                nxt = next(frames, None)
                if nxt is None:
                    break
                pending = nxt
            t, image = pending
            delay = self._t0 + t - time.monotonic()
            if delay > 0 and self._stop.wait(delay):
                return
            jpeg = _encode(image)
            feed.publish(jpeg)
            pending = None
        # The video ended: the store is still there, keep sending its last picture.
        while not self._stop.wait(period):
            feed.publish(jpeg)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                log.debug("%s " + format, self.client_address[0], *args)

            def do_GET(self) -> None:
                name = unquote(self.path.lstrip("/").split("?", 1)[0])
                cam = name.removesuffix(".mjpg")
                feed = server.feeds.get(cam)
                if feed is None or not name.endswith(".mjpg"):
                    self.send_error(404, f"no camera {cam!r} (have: {', '.join(server.feeds)})")
                    return
                self.send_response(200)
                self.send_header("Content-Type", f"multipart/x-mixed-replace; boundary={BOUNDARY}")
                self.send_header("Cache-Control", "no-cache")
                self.end_headers()
                server.clients += 1
                seen = 0
                try:
                    while not server._stop.is_set():
                        seen, jpeg = feed.wait_next(seen, timeout=0.5)
                        if jpeg is None or feed.stopped:
                            continue
                        head = (
                            f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\n"
                            f"Content-Length: {len(jpeg)}\r\n\r\n"
                        ).encode()
                        self.wfile.write(head + jpeg + b"\r\n")
                        self.wfile.flush()
                        feed.sent += 1
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the edge closed the stream (it reconnects)

        return Handler

    def close(self) -> None:
        self._stop.set()
        self._t0_set.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        for thread in self._threads:
            thread.join(timeout=2.0)


def _encode(image: Any) -> bytes:
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise RuntimeError("cannot encode a camera frame as JPEG")
    return buf.tobytes()
