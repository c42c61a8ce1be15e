"""Play a recorded or simulated session in real time into real interfaces.

- Shelf streams: one pty pair per serial port; the player writes each recorded chunk of
  walkout-lc1 bytes into the master at its recorded time, the edge opens the slave (a symlink
  ``<dir>/<stream name>`` points at it, like /dev/serial/by-id does for a USB adapter).
- Gate reads: a virtual card (sim/live/vcard.py) is presented to the vpcd reader on "insert"
  and taken away on "remove": pcscd and pyscard see a real card.
- Person tracks: served as JSON lines (tracks.jsonl rows) on a unix socket, the
  ``jsonl-socket`` track source of the store config; with ``tracks=False`` no track source is
  configured and the edge makes tracks from the camera video itself (live vision).
- Camera video (sessions recorded with cameras): served in real time as MJPEG over HTTP
  (sim/live/mjpeg.py), one URL per camera, or (``cameras="files"``) the video files themselves.
- Faults (sim/live/faults.py): :meth:`LivePlayer.inject_fault` freezes a plate's channel or
  stops a camera; :meth:`LivePlayer.clear_fault` undoes it; ``play(faults=...)`` schedules them.

The player writes ``<dir>/store.yaml``: the session's store config with its serial ports and
track source pointed at these interfaces, so ``walkout edge run --config <dir>/store.yaml``
runs exactly as in a store.
"""

from __future__ import annotations

import contextlib
import heapq
import json
import logging
import os
import socket
import threading
import time
import tty
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from edge.config.layout import StoreLayout
from edge.session.model import Read, StreamInfo, TrackFrame
from edge.session.reader import Session
from edge.session.writer import stream_name_for_port
from sim.live.faults import FAULT_KINDS, FaultSpec, PlateFreezer, plate_channel
from sim.live.mjpeg import MjpegServer
from sim.live.vcard import VPCD_BASE_PORT, VirtualCard, reader_slot

__all__ = ["LivePlayer", "PlayStats", "live_config_text"]

log = logging.getLogger("walkout.sim.live")


@dataclass
class PlayStats:
    shelf_chunks: int = 0
    shelf_bytes: int = 0
    shelf_bytes_dropped: int = 0
    reads: int = 0
    track_frames: int = 0
    track_clients: int = 0
    max_lag_s: float = 0.0
    card_errors: list[str] = field(default_factory=list)
    faults: list[str] = field(default_factory=list)  # "t=12.0 freeze-plate 1.1.2 on", ...


def live_config_text(
    config_text: str,
    ports: dict[str, str],
    tracks_address: str | None,
    camera_files: dict[str, str] | None = None,
    camera_calibrations: dict[str, str] | None = None,
) -> str:
    """The store config with serial ports replaced (``ports``: old -> new), the track source
    set (removed when ``tracks_address`` is None: the edge then runs live vision) and cameras
    pointed at their video (``camera_files``: camera id -> file path or stream URL); everything
    else unchanged."""
    data = yaml.safe_load(config_text)
    for gondola in data.get("gondolas", []):
        for shelf in gondola.get("shelves", []):
            ctl = shelf["controller"]
            ctl["port"] = ports.get(ctl["port"], ctl["port"])
    for camera in data.get("cameras", []) or []:
        if camera_files and camera.get("id") in camera_files:
            camera["source"] = camera_files[camera["id"]]
        if camera_calibrations and camera.get("id") in camera_calibrations:
            # The calibration recorded with the video: the config's relative path would be
            # looked up next to the new store.yaml, where there is none.
            camera["calibration"] = camera_calibrations[camera["id"]]
    if tracks_address is None:
        data.pop("track_source", None)
    else:
        data["track_source"] = {"type": "jsonl-socket", "address": tracks_address}
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


MIN_PRESENT_S = 0.6  # pcscd polls vpcd about every 0.4 s: a shorter tap may go unseen
MIN_GAP_S = 0.4  # vpcd needs a moment between one card leaving and the next arriving


def schedule_taps(reads: list[Read]) -> list[Read]:
    """Reads as a physical reader can see them: one card at a time per reader, each present at
    least MIN_PRESENT_S, with MIN_GAP_S between cards. The simulator lets two shoppers tap
    0.2 s apart; a real reader (and vpcd) serialises them, so the later tap slips a little."""
    taps: dict[str, list[list[Any]]] = {}
    open_: dict[tuple[str, str], list[Any]] = {}
    for r in sorted(reads, key=lambda r: r.t):
        key = (r.reader, r.uid)
        if r.event == "insert":
            tap = [r.t, None, r]
            taps.setdefault(r.reader, []).append(tap)
            open_[key] = tap
        elif key in open_:
            open_.pop(key)[1] = r.t
    out: list[Read] = []
    for reader_taps in taps.values():
        free_at = -1e9
        for t_in, t_out, read in reader_taps:
            start = max(t_in, free_at + MIN_GAP_S)
            hold = max((t_out if t_out is not None else t_in) - t_in, MIN_PRESENT_S)
            end = start + hold
            out.append(replace(read, t=start))
            out.append(replace(read, t=end, event="remove"))
            free_at = end
    return sorted(out, key=lambda r: (r.t, r.reader, r.event))


def _camera_calibrations(session_dir: Path) -> dict[str, str]:
    """Camera id -> absolute path of the calibration file recorded with its video, if any."""
    manifest = json.loads((session_dir / "manifest.json").read_text())
    return {
        str(s["camera_id"]): str((session_dir / s["calibration_path"]).resolve())
        for s in manifest.get("streams", [])
        if s.get("kind") == "camera-video" and s.get("camera_id") and s.get("calibration_path")
    }


def _camera_files(session_dir: Path) -> dict[str, str]:
    """Camera id -> absolute video path for the session's camera-video streams, if any: the
    edge's camera drivers read them as files (looping at the end)."""
    manifest = json.loads((session_dir / "manifest.json").read_text())
    return {
        str(s["camera_id"]): str((session_dir / s["path"]).resolve())
        for s in manifest.get("streams", [])
        if s.get("kind") == "camera-video" and s.get("camera_id") and s.get("path")
    }


class _TrackServer:
    """Broadcasts JSON lines to every connected client of a unix socket."""

    def __init__(self, path: Path) -> None:
        self.path = path
        if path.exists() or path.is_symlink():
            path.unlink()
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(str(path))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.clients: list[socket.socket] = []
        self.accepted = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, name="tracks-accept", daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            client.setblocking(False)
            with self._lock:
                self.clients.append(client)
                self.accepted += 1

    def send(self, line: bytes) -> None:
        with self._lock:
            for client in list(self.clients):
                try:
                    client.sendall(line)
                except (BlockingIOError, OSError):
                    # A client that does not keep up or went away is dropped (it reconnects).
                    self.clients.remove(client)
                    client.close()

    def close(self) -> None:
        self._stop.set()
        self.sock.close()
        self._thread.join(timeout=1.0)
        with self._lock:
            for client in self.clients:
                client.close()
            self.clients.clear()
        if self.path.exists():
            self.path.unlink()


class LivePlayer:
    """Sets up the interfaces for ``session`` in ``work_dir``; :meth:`play` plays it."""

    def __init__(
        self,
        session_dir: Path,
        work_dir: Path,
        *,
        vpcd_host: str = "127.0.0.1",
        vpcd_base_port: int = VPCD_BASE_PORT,
        cameras: str = "stream",
        tracks: bool = True,
    ) -> None:
        if cameras not in ("stream", "files"):
            raise ValueError(f"cameras={cameras!r}: expected 'stream' or 'files'")
        self.session = Session.open(session_dir)
        self.layout = StoreLayout(self.session.config)
        self._fault_lock = threading.Lock()
        self.freezers: dict[str, PlateFreezer] = {}
        self.work_dir = work_dir
        work_dir.mkdir(parents=True, exist_ok=True)
        self.vpcd_host = vpcd_host
        self.vpcd_base_port = vpcd_base_port
        self.stats = PlayStats()
        self.masters: dict[str, int] = {}
        self._slaves: list[int] = []
        ports: dict[str, str] = {}
        for info in self.session.shelf_streams:
            master, slave = os.openpty()
            tty.setraw(slave)  # no echo, no line discipline: bytes pass untouched
            os.set_blocking(master, False)
            link = work_dir / stream_name_for_port(info.port)
            if link.is_symlink() or link.exists():
                link.unlink()
            link.symlink_to(os.ttyname(slave))
            self.masters[info.port] = master
            # Keep our own slave fd open: the pty lives on when the edge closes and reopens it.
            self._slaves.append(slave)
            ports[info.port] = str(link)
        self.tracks = _TrackServer(work_dir / "tracks.sock") if tracks else None
        camera_sources = _camera_files(session_dir)
        self.cameras: MjpegServer | None = None
        if cameras == "stream" and camera_sources:
            self.cameras = MjpegServer(self.session)
            camera_sources = {cam: self.cameras.url(cam) for cam in self.cameras.feeds}
        self.config_path = work_dir / "store.yaml"
        self.config_path.write_text(
            live_config_text(
                self.session.config_text,
                ports,
                f"unix:{self.tracks.path}" if self.tracks is not None else None,
                camera_sources,
                _camera_calibrations(session_dir),
            )
        )
        self.cards: dict[str, VirtualCard] = {}

    def wait_for_client(self, timeout_s: float) -> bool:
        """Wait until the edge connected to the track socket, or without one to every camera
        stream (it opens its ports at the same time); True if it did."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.tracks is not None and self.tracks.accepted:
                return True
            cams = self.cameras
            if self.tracks is None and cams is not None and cams.clients >= len(cams.feeds):
                return True
            time.sleep(0.05)
        return False

    # --- faults -----------------------------------------------------------------------------

    def inject_fault(self, kind: str, target: str) -> None:
        """Start a sensor fault now: ``freeze-plate`` with target "G.S.P" (that plate's channel
        repeats its last raw value, the other plates stay live) or ``stop-camera`` with a camera
        id (its video stops delivering frames). ValueError for an unknown kind or target."""
        self._set_fault(kind, target, on=True)

    def clear_fault(self, kind: str, target: str) -> None:
        """End a fault started by :meth:`inject_fault` (a no-op if it is not active)."""
        self._set_fault(kind, target, on=False)

    def _set_fault(self, kind: str, target: str, *, on: bool) -> None:
        if kind == "freeze-plate":
            ch = plate_channel(self.layout, target)
            with self._fault_lock:
                freezer = self.freezers.setdefault(ch.port, PlateFreezer())
                if on:
                    freezer.freeze(ch.board_id, ch.column)
                else:
                    freezer.thaw(ch.board_id, ch.column)
        elif kind == "stop-camera":
            if self.cameras is None:
                raise ValueError(
                    f"stop-camera target {target!r}: this player serves no camera streams "
                    "(a session without camera video, or cameras played as files)"
                )
            self.cameras.set_stopped(target, on)
        else:
            raise ValueError(f"unknown fault kind {kind!r} (known: {', '.join(FAULT_KINDS)})")
        log.info("fault %s %s %s", kind, target, "injected" if on else "cleared")

    def _events(self, faults: list[FaultSpec]) -> Iterator[tuple[float, int, str, Any]]:
        switches: list[tuple[float, int, str, Any]] = []
        for spec in faults:
            switches.append((spec.start_s, -1, "fault", (spec, True)))
            if spec.end_s is not None:
                switches.append((spec.end_s, -1, "fault", (spec, False)))
        switches.sort(key=lambda e: (e[0], e[3][0].kind, e[3][0].target, e[3][1]))
        streams: list[Iterator[tuple[float, int, str, Any]]] = [
            iter(switches),
            ((r.t, 0, "read", r) for r in schedule_taps(self.session.reads())),
        ]
        if self.tracks is not None:
            streams.append((f.t, 1, "tracks", f) for f in self.session.iter_tracks())
        for info in self.session.shelf_streams:
            streams.append(self._shelf_events(info))
        yield from heapq.merge(*streams, key=lambda e: (e[0], e[1], e[2]))

    def _shelf_events(self, info: StreamInfo) -> Iterator[tuple[float, int, str, Any]]:
        # A function, not a generator expression in the loop: each stream keeps its own port.
        for t, data in self.session.iter_shelf(info):
            yield t, 2, info.port, data

    def play(
        self,
        *,
        stop: threading.Event | None = None,
        until_s: float | None = None,
        on_progress: Callable[[float], None] | None = None,
        faults: list[FaultSpec] | None = None,
    ) -> PlayStats:
        """Play in real time; ``faults`` are injected (and cleared) at their session times."""
        stop = stop or threading.Event()
        faults = faults or []
        for spec in faults:  # a bad target fails before anything plays
            self.check_fault(spec)
        t0 = time.monotonic()
        if self.cameras is not None:
            self.cameras.start_clock(t0)
        last_progress = 0.0
        for t, _order, kind, item in self._events(faults):
            if until_s is not None and t > until_s:
                break
            delay = t0 + t - time.monotonic()
            if delay > 0 and stop.wait(delay):
                break
            if stop.is_set():
                break
            self.stats.max_lag_s = max(self.stats.max_lag_s, -delay)
            if kind == "fault":
                spec, on = item
                self._set_fault(spec.kind, spec.target, on=on)
                self.stats.faults.append(
                    f"t={t:.1f} {spec.kind} {spec.target} {'on' if on else 'off'}"
                )
            elif kind == "read":
                self._read(item)
            elif kind == "tracks":
                self._frame(item)
            else:
                self._shelf(kind, item)
            if on_progress is not None and t - last_progress >= 5.0:
                on_progress(t)
                last_progress = t
        return self.stats

    def check_fault(self, spec: FaultSpec) -> None:
        """ValueError naming the problem if ``spec`` cannot be played on this session."""
        if spec.kind == "freeze-plate":
            plate_channel(self.layout, spec.target)
        elif spec.kind == "stop-camera":
            if self.cameras is None or spec.target not in self.cameras.feeds:
                have = ", ".join(sorted(self.cameras.feeds)) if self.cameras else "none"
                raise ValueError(
                    f"stop-camera target {spec.target!r}: no camera stream of that id "
                    f"(streams: {have})"
                )
        else:
            raise ValueError(f"unknown fault kind {spec.kind!r} (known: {', '.join(FAULT_KINDS)})")

    def _shelf(self, port: str, data: bytes) -> None:
        self.stats.shelf_chunks += 1
        with self._fault_lock:
            freezer = self.freezers.get(port)
            if freezer is not None and freezer.active:
                data = freezer.feed(data)
        if not data:
            return
        try:
            written = os.write(self.masters[port], data)
        except BlockingIOError:
            written = 0
        self.stats.shelf_bytes += written
        # Nobody reading and the pty buffer full: the bytes are lost, as on a real serial line.
        self.stats.shelf_bytes_dropped += len(data) - written

    def _read(self, read: Read) -> None:
        self.stats.reads += 1
        try:
            slot = reader_slot(read.reader)
        except ValueError as exc:
            self.stats.card_errors.append(str(exc))
            return
        if read.event == "insert":
            old = self.cards.pop(read.reader, None)
            if old is not None:
                old.remove()
            card = VirtualCard(
                read.uid, kind=read.kind, host=self.vpcd_host, port=self.vpcd_base_port + slot
            )
            try:
                card.insert()
            except OSError as exc:
                self.stats.card_errors.append(
                    f"cannot present card to {read.reader!r} at "
                    f"{self.vpcd_host}:{self.vpcd_base_port + slot}: {exc} "
                    "(is pcscd running with vsmartcard-vpcd?)"
                )
                log.warning("%s", self.stats.card_errors[-1])
                return
            self.cards[read.reader] = card
        else:
            card = self.cards.get(read.reader)
            if card is not None and card.uid.hex().upper() == read.uid.upper():
                self.cards.pop(read.reader).remove()

    def _frame(self, frame: TrackFrame) -> None:
        self.stats.track_frames += 1
        row = {
            "t": frame.t,
            "people": [
                {"id": p.id, "x": p.x, "y": p.y, "hands": [list(h) for h in p.hands]}
                for p in frame.people
            ],
        }
        assert self.tracks is not None
        self.tracks.send((json.dumps(row, separators=(",", ":")) + "\n").encode())
        self.stats.track_clients = len(self.tracks.clients)

    def unplug(self, port: str) -> None:
        """Close the master end of a port: the edge's reads fail (EIO), as on an unplug."""
        fd = self.masters.pop(port)
        os.close(fd)

    def close(self) -> None:
        for card in self.cards.values():
            card.remove()
        self.cards.clear()
        if self.tracks is not None:
            self.tracks.close()
        if self.cameras is not None:
            self.cameras.close()
        for fd in list(self.masters.values()) + self._slaves:
            with contextlib.suppress(OSError):
                os.close(fd)
        self.masters.clear()
        self._slaves.clear()
