"""Write a recorded session (format v1, docs/session-format.md).

The writer streams every file as it goes, hashing on the way, and writes manifest.json last
(atomically, after fsync of the data): a folder without a manifest is recognisably incomplete.
Output is a pure function of the calls made: nothing reads the clock, floats are rounded the
same way every time and JSON keys come in a fixed order, so the simulator's sessions are
byte-identical for the same seed.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import math
import numbers
import os
import re
import shutil
import struct
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO

from edge.session.errors import SessionError
from edge.session.model import (
    CAMERA_BOX_CLASSES,
    FORMAT_NAME,
    FORMAT_VERSION,
    PUSH_KINDS,
    READ_EVENTS,
    READ_KINDS,
    STREAM_KIND_CAMERA,
    STREAM_KIND_PUSHES,
    STREAM_KIND_READS,
    STREAM_KIND_SHELF,
    STREAM_KIND_TRACKS,
    WSR_HEADER,
    CameraTruthFrame,
    ConfigPush,
    GroundTruth,
    Read,
    TrackFrame,
)

__all__ = [
    "SESSION_ENTRIES",
    "CameraStreamWriter",
    "RawStreamWriter",
    "SessionWriter",
    "stream_name_for_port",
]

MANIFEST = "manifest.json"
CONFIG = "config.yaml"
READS = "reads.jsonl"
TRACKS = "tracks.jsonl"
PUSHES = "pushes.jsonl"
SHELF_DIR = "shelf"
CAMERAS_DIR = "cameras"
TRUTH_DIR = "truth"
TRUTH_JSON = "truth/truth.json"
TRUTH_POSITIONS = "truth/positions.jsonl"
TRUTH_CAMERAS_DIR = "truth/cameras"
VIDEO_CODEC = "MJPG"

# Everything a session folder may contain. `overwrite=True` clears a folder only if it holds
# nothing else, so a mistyped --out can never wipe someone's home directory.
SESSION_ENTRIES = frozenset(
    {MANIFEST, MANIFEST + ".tmp", CONFIG, READS, TRACKS, PUSHES, SHELF_DIR, CAMERAS_DIR, TRUTH_DIR}
)

_RECORD_HEAD = struct.Struct("<dI")
_MAX_RECORD = 0xFFFFFFFF
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")
_BUFFER = 1 << 16


def _t4(value: float, what: str) -> float:
    """A time in seconds as written to JSON: 4 decimals (0.1 ms), never -0.0."""
    if not math.isfinite(value):
        raise ValueError(f"{what}: time {value!r} is not a finite number")
    return round(float(value), 4) + 0.0


def _m3(value: float, what: str) -> float:
    """A position in metres as written to JSON: 3 decimals (1 mm), never -0.0."""
    if not math.isfinite(value):
        raise ValueError(f"{what}: coordinate {value!r} is not a finite number")
    return round(float(value), 3) + 0.0


def _dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=True, allow_nan=False, separators=(",", ":"))


def stream_name_for_port(port: str) -> str:
    """File-safe stream name from a serial port: its last path component, odd characters as _.

    "/dev/ttyUSB0" -> "ttyUSB0", "socket://10.0.0.5:4001" -> "10.0.0.5_4001",
    "import://gondola_4_shelf_3" -> "gondola_4_shelf_3", "loop://" -> "loop".
    """
    scheme, sep, rest = port.strip().partition("://")
    if not sep:
        scheme, rest = "", scheme
    base = re.split(r"[/\\]", rest.rstrip("/\\"))[-1] or scheme
    name = _UNSAFE_NAME.sub("_", base).strip("._")[:64]
    return name or "port"


class _HashedFile:
    """A binary file written once, front to back, with running size, record count and sha256."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: BinaryIO = open(path, "wb", buffering=_BUFFER)  # noqa: SIM115 (closed in close)
        self._sha = hashlib.sha256()
        self.bytes = 0
        self.records = 0
        self.closed = False

    def write(self, data: bytes, *, records: int = 1) -> None:
        self._file.write(data)
        self._sha.update(data)
        self.bytes += len(data)
        self.records += records

    def close(self, *, sync: bool) -> None:
        if self.closed:
            return
        self.closed = True
        try:
            self._file.flush()
            if sync:
                os.fsync(self._file.fileno())
        finally:
            self._file.close()

    @property
    def sha256(self) -> str:
        return self._sha.hexdigest()


class RawStreamWriter:
    """One shelf serial port's bytes, as received, in a .wsr file (see docs/session-format.md)."""

    def __init__(self, name: str, port: str, protocol: str, path: Path, rel_path: str) -> None:
        self.name = name
        self.port = port
        self.protocol = protocol
        self.rel_path = rel_path
        self._file = _HashedFile(path)
        self._file.write(WSR_HEADER, records=0)
        self._last_t = 0.0

    def write(self, t: float, data: bytes) -> None:
        """Record ``data`` received at ``t`` seconds since session start (non-decreasing)."""
        if self._file.closed:
            raise RuntimeError(f"stream {self.name} is closed")
        t = float(t)
        if not (math.isfinite(t) and t >= 0.0):
            raise ValueError(f"stream {self.name}: time {t!r} must be a finite number >= 0")
        if t < self._last_t:
            raise ValueError(
                f"stream {self.name}: time {t!r} is before the previous record's {self._last_t!r}"
                " (receive times must not decrease)"
            )
        if len(data) > _MAX_RECORD:
            raise ValueError(f"stream {self.name}: a record holds at most {_MAX_RECORD} bytes")
        self._last_t = t
        self._file.write(_RECORD_HEAD.pack(t, len(data)) + bytes(data))

    @property
    def last_t(self) -> float:
        return self._last_t

    def _close(self, *, sync: bool) -> None:
        self._file.close(sync=sync)

    def _manifest_entry(self) -> dict[str, Any]:
        return {
            "name": f"{SHELF_DIR}/{self.name}",
            "kind": STREAM_KIND_SHELF,
            "path": self.rel_path,
            "port": self.port,
            "protocol": self.protocol,
            "records": self._file.records,
            "bytes": self._file.bytes,
            "sha256": self._file.sha256,
        }


class _JsonlStream:
    """A JSON-lines file whose rows must come in non-decreasing time order."""

    def __init__(self, what: str, path: Path) -> None:
        self.what = what
        self.file = _HashedFile(path)
        self.last_t = -math.inf
        self.times: list[float] = []

    def check_time(self, t: float) -> None:
        if self.file.closed:
            raise RuntimeError(f"{self.what} is closed")
        if not math.isfinite(t):
            raise ValueError(f"{self.what}: time {t!r} is not a finite number")
        if t < self.last_t:
            raise ValueError(
                f"{self.what}: time {t!r} is before the previous row's {self.last_t!r} "
                "(rows must be written in time order)"
            )
        self.last_t = t

    def write_row(self, obj: dict[str, Any]) -> None:
        self.file.write((_dumps(obj) + "\n").encode("ascii"))


def _frame_row(frame: TrackFrame, what: str) -> dict[str, Any]:
    people: list[dict[str, Any]] = []
    for person in frame.people:
        pid = person.id
        # numbers.Integral admits numpy integers (simulator ids), bool is refused explicitly.
        if isinstance(pid, bool) or not isinstance(pid, numbers.Integral):
            raise ValueError(f"{what} at t={frame.t}: person id {pid!r} is not an integer")
        if len(person.hands) > 2:
            raise ValueError(
                f"{what} at t={frame.t}: person {pid} has {len(person.hands)} hands (0 to 2)"
            )
        hands = []
        for hand in person.hands:
            if len(hand) != 3:
                raise ValueError(f"{what} at t={frame.t}: person {pid}: a hand is (x, y, z)")
            hands.append([_m3(c, what) for c in hand])
        people.append(
            {"id": int(pid), "x": _m3(person.x, what), "y": _m3(person.y, what), "hands": hands}
        )
    return {"t": _t4(frame.t, what), "people": people}


def _opt_t(value: float | None, what: str) -> float | None:
    return None if value is None else _t4(value, what)


def _truth_obj(truth: GroundTruth) -> dict[str, Any]:
    visits = [
        {
            "visit_id": v.visit_id,
            "person_id": int(v.person_id),
            "card_uid": v.card_uid,
            "account": v.account,
            "group_of": v.group_of,
            "entry_t": _t4(v.entry_t, "truth visit entry_t"),
            "exit_t": _opt_t(v.exit_t, "truth visit exit_t"),
        }
        for v in truth.visits
    ]
    actions = []
    for a in truth.actions:
        if a.kind not in ("pick", "put", "handoff"):
            raise ValueError(f"truth action kind {a.kind!r} is not 'pick', 'put' or 'handoff'")
        if a.hand not in ("left", "right"):
            raise ValueError(f"truth action hand {a.hand!r} is not 'left' or 'right'")
        actions.append(
            {
                "t_start": _t4(a.t_start, "truth action t_start"),
                "t_end": _t4(a.t_end, "truth action t_end"),
                "t_settled": _t4(a.t_settled, "truth action t_settled"),
                "visit_id": a.visit_id,
                "person_id": int(a.person_id),
                "kind": a.kind,
                "product_id": a.product_id,
                "quantity": int(a.quantity),
                "plates": [str(p) for p in a.plates],
                "hand": a.hand,
                "to_visit_id": a.to_visit_id,
            }
        )
    receipts = [
        {
            "visit_id": r.visit_id,
            "lines": [
                {"product_id": ln.product_id, "quantity": int(ln.quantity)} for ln in r.lines
            ],
        }
        for r in truth.receipts
    ]
    return {"visits": visits, "actions": actions, "receipts": receipts}


class CameraStreamWriter:
    """One camera's recorded video: `cameras/<id>.avi` (MJPG, written by OpenCV), its frame
    times `cameras/<id>.frames.csv` (`frame_index,t` per video frame; gaps in frame_index are
    frames the camera dropped), optionally its calibration file and its ground-truth boxes
    (`truth/cameras/<id>.boxes.jsonl`). Get one from :meth:`SessionWriter.camera_stream`."""

    def __init__(
        self,
        camera_id: str,
        fps: float,
        image_size: tuple[int, int],
        root: Path,
        calibration_text: str | None,
    ) -> None:
        import cv2

        if not camera_id:
            raise ValueError("camera_id must not be empty")
        if not (math.isfinite(fps) and fps > 0):
            raise ValueError(f"camera {camera_id}: fps {fps!r} must be a positive number")
        self.camera_id = camera_id
        self.fps = float(fps)
        self.width, self.height = int(image_size[0]), int(image_size[1])
        base = _UNSAFE_NAME.sub("_", camera_id)
        self.name = base
        self.rel_path = f"{CAMERAS_DIR}/{base}.avi"
        self.rel_frames = f"{CAMERAS_DIR}/{base}.frames.csv"
        self.rel_calibration = f"{CAMERAS_DIR}/{base}.calibration.yaml"
        self.rel_truth = f"{TRUTH_CAMERAS_DIR}/{base}.boxes.jsonl"
        self._root = root
        (root / CAMERAS_DIR).mkdir(exist_ok=True)
        self._video_path = root / self.rel_path
        # FFmpeg's MJPG encoder: half the size of OpenCV's own at about 42 dB PSNR, and the same
        # bytes for the same frames. OpenCV's own AVI writer is the fallback.
        for backend in (cv2.CAP_FFMPEG, cv2.CAP_OPENCV_MJPEG):
            self._video = cv2.VideoWriter(
                str(self._video_path),
                backend,
                cv2.VideoWriter_fourcc(*VIDEO_CODEC),
                self.fps,
                (self.width, self.height),
            )
            if self._video.isOpened():
                break
        if not self._video.isOpened():
            raise SessionError(self._video_path, f"OpenCV cannot write {VIDEO_CODEC} video here")
        self._frames = _HashedFile(root / self.rel_frames)
        self._calibration: _HashedFile | None = None
        if calibration_text is not None:
            self._calibration = _HashedFile(root / self.rel_calibration)
            self._calibration.write(calibration_text.encode("utf-8"), records=0)
            self._calibration.close(sync=False)
        self._truth: _JsonlStream | None = None
        self._last_index = -1
        self._last_t = -math.inf
        self._video_bytes = 0
        self._video_sha = ""
        self.closed = False

    def write(self, frame_index: int, t: float, image: Any) -> None:
        """Append one frame (H, W, 3) uint8 BGR captured at `t`; indices must increase."""
        if self.closed:
            raise RuntimeError(f"camera stream {self.camera_id} is closed")
        what = f"camera {self.camera_id}"
        if int(frame_index) <= self._last_index:
            raise ValueError(
                f"{what}: frame_index {frame_index} is not after the previous {self._last_index}"
            )
        t = float(t)
        if not (math.isfinite(t) and t >= max(self._last_t, 0.0)):
            raise ValueError(f"{what}: time {t!r} must be >= 0 and not before {self._last_t!r}")
        shape = getattr(image, "shape", None)
        if shape != (self.height, self.width, 3) or str(image.dtype) != "uint8":
            raise ValueError(
                f"{what}: a frame must be ({self.height}, {self.width}, 3) uint8, got "
                f"{shape} {getattr(image, 'dtype', type(image).__name__)}"
            )
        self._video.write(image)
        self._frames.write(f"{int(frame_index)},{_t4(t, what)}\n".encode("ascii"))
        self._last_index = int(frame_index)
        self._last_t = t

    def write_truth(self, frame: CameraTruthFrame) -> None:
        """Append the true boxes of one frame (rows in time order)."""
        what = f"camera {self.camera_id} truth"
        if self._truth is None:
            (self._root / TRUTH_CAMERAS_DIR).mkdir(parents=True, exist_ok=True)
            self._truth = _JsonlStream(what, self._root / self.rel_truth)
        self._truth.check_time(frame.t)
        boxes = []
        for b in frame.boxes:
            if b.cls not in CAMERA_BOX_CLASSES:
                raise ValueError(f"{what}: class {b.cls!r} is not one of {CAMERA_BOX_CLASSES}")
            boxes.append(
                {
                    "cls": b.cls,
                    "id": int(b.person_id),
                    "side": b.side,
                    "box": [round(float(v), 1) + 0.0 for v in b.box],
                    "visible": round(float(b.visible), 3) + 0.0,
                }
            )
        self._truth.write_row(
            {"t": _t4(frame.t, what), "frame_index": int(frame.frame_index), "boxes": boxes}
        )

    @property
    def last_t(self) -> float:
        return self._last_t

    @property
    def has_truth(self) -> bool:
        return self._truth is not None

    def _close(self, *, sync: bool) -> None:
        if self.closed:
            return
        self.closed = True
        self._video.release()
        self._frames.close(sync=sync)
        if self._truth is not None:
            self._truth.file.close(sync=sync)
        # OpenCV wrote the video itself: hash it now that it is complete.
        digest = hashlib.sha256()
        with open(self._video_path, "rb") as f:
            while chunk := f.read(_BUFFER * 16):
                digest.update(chunk)
            if sync:
                os.fsync(f.fileno())
        self._video_bytes = self._video_path.stat().st_size
        self._video_sha = digest.hexdigest()

    def _manifest_entry(self) -> dict[str, Any]:
        cal = self._calibration
        return {
            "name": f"{CAMERAS_DIR}/{self.name}",
            "kind": STREAM_KIND_CAMERA,
            "path": self.rel_path,
            "camera_id": self.camera_id,
            "codec": VIDEO_CODEC,
            "fps": self.fps,
            "width": self.width,
            "height": self.height,
            "records": self._frames.records,
            "bytes": self._video_bytes,
            "sha256": self._video_sha,
            "frames_path": self.rel_frames,
            "frames_bytes": self._frames.bytes,
            "frames_sha256": self._frames.sha256,
            "calibration_path": self.rel_calibration if cal else None,
            "calibration_bytes": cal.bytes if cal else None,
            "calibration_sha256": cal.sha256 if cal else None,
        }

    def _truth_entry(self) -> dict[str, Any] | None:
        if self._truth is None:
            return None
        f = self._truth.file
        return {
            "camera": self.camera_id,
            "path": self.rel_truth,
            "records": f.records,
            "bytes": f.bytes,
            "sha256": f.sha256,
        }


class SessionWriter:
    """Writes one session folder; use as a context manager and finish with :meth:`close`.

    ``start_time_unix`` is the wall-clock time of t=0, supplied by the caller (the writer never
    reads the clock, so sessions are reproducible). ``extra`` is free-form JSON metadata stored in
    the manifest. An existing non-empty ``out_dir`` is refused unless ``overwrite`` is true, and
    even then only if it holds nothing but session files. ``tracks_rate_hz`` is the nominal rate
    of the person tracks; by default it is measured from the frame times (median interval).

    If the ``with`` block raises, the files are closed and no manifest.json is written; if it ends
    normally without :meth:`close`, the session is closed with ``duration_s`` = the last time
    written to any stream.
    """

    def __init__(
        self,
        out_dir: str | Path,
        *,
        config_text: str,
        start_time_unix: float,
        session_id: str,
        created_by: str,
        extra: dict[str, Any] | None = None,
        overwrite: bool = False,
        tracks_rate_hz: float | None = None,
    ) -> None:
        from edge.config import load_store_config_text

        if not math.isfinite(start_time_unix):
            raise ValueError(f"start_time_unix {start_time_unix!r} is not a finite number")
        if not session_id:
            raise ValueError("session_id must not be empty")
        # A session whose config cannot be loaded is useless for replay: fail now, not later.
        config = load_store_config_text(config_text, source="<session config_text>")
        try:
            self._extra = json.loads(json.dumps(extra or {}, sort_keys=True, allow_nan=False))
        except (TypeError, ValueError) as exc:
            raise ValueError(f"extra must be JSON-serialisable: {exc}") from None

        self.out_dir = Path(out_dir)
        self._prepare_dir(overwrite)
        self._config_text = config_text
        self._store_id = config.store.id
        self._start_time_unix = float(start_time_unix)
        self._session_id = session_id
        self._created_by = created_by
        self._tracks_rate_hz = tracks_rate_hz

        self._config = _HashedFile(self.out_dir / CONFIG)
        self._config.write(config_text.encode("utf-8"), records=0)
        self._config.close(sync=False)
        self._reads = _JsonlStream("reads", self.out_dir / READS)
        self._tracks = _JsonlStream("tracks", self.out_dir / TRACKS)
        self._positions: _JsonlStream | None = None
        # Only created by the first push: sessions without pushes keep their exact files.
        self._pushes: _JsonlStream | None = None
        self._truth: _HashedFile | None = None
        self._shelf: dict[str, RawStreamWriter] = {}
        self._cameras: dict[str, CameraStreamWriter] = {}
        self._ports: set[str] = set()
        self._closed = False

    # --- set-up -------------------------------------------------------------------------------

    def _prepare_dir(self, overwrite: bool) -> None:
        out = self.out_dir
        if out.exists() and not out.is_dir():
            raise SessionError(out, "exists and is not a directory")
        if out.is_dir():
            entries = sorted(p.name for p in out.iterdir())
            if entries:
                if not overwrite:
                    raise SessionError(
                        out,
                        "already exists and is not empty (overwrite, or --overwrite, replaces it)",
                    )
                foreign = [name for name in entries if name not in SESSION_ENTRIES]
                if foreign:
                    raise SessionError(
                        out,
                        "refusing to clear a folder that is not a session (it holds "
                        + ", ".join(foreign[:5])
                        + (", ..." if len(foreign) > 5 else "")
                        + ")",
                    )
                # The manifest goes first: if clearing stops half-way, the folder already reads
                # as incomplete rather than as a session with missing files.
                for name in sorted(entries, key=lambda n: n != MANIFEST):
                    path = out / name
                    if path.is_dir() and not path.is_symlink():
                        shutil.rmtree(path)
                    else:
                        path.unlink()
        out.mkdir(parents=True, exist_ok=True)

    # --- streams ------------------------------------------------------------------------------

    def shelf_stream(self, port: str, protocol: str) -> RawStreamWriter:
        """Open the .wsr stream of one shelf serial port (name from the port's basename)."""
        self._check_open()
        if port in self._ports:
            raise ValueError(f"port {port!r} already has a stream")
        base = stream_name_for_port(port)
        name, n = base, 1
        while name in self._shelf:
            n += 1
            name = f"{base}-{n}"
        (self.out_dir / SHELF_DIR).mkdir(exist_ok=True)
        rel = f"{SHELF_DIR}/{name}.wsr"
        stream = RawStreamWriter(name, port, protocol, self.out_dir / rel, rel)
        self._shelf[name] = stream
        self._ports.add(port)
        return stream

    def camera_stream(
        self,
        camera_id: str,
        *,
        fps: float,
        image_size: tuple[int, int],
        calibration_text: str | None = None,
    ) -> CameraStreamWriter:
        """Open the video stream of one camera (`image_size` is (width, height) in pixels);
        `calibration_text` is stored as cameras/<id>.calibration.yaml when given."""
        self._check_open()
        stream = CameraStreamWriter(camera_id, fps, image_size, self.out_dir, calibration_text)
        if stream.name in self._cameras:
            stream._close(sync=False)
            raise ValueError(f"camera {camera_id!r} already has a stream")
        self._cameras[stream.name] = stream
        return stream

    def write_read(self, read: Read) -> None:
        """Append one reader event; events must come in time order."""
        stream = self._reads
        stream.check_time(read.t)
        if read.kind not in READ_KINDS:
            raise ValueError(f"read at t={read.t}: kind {read.kind!r} is not one of {READ_KINDS}")
        if read.event not in READ_EVENTS:
            raise ValueError(
                f"read at t={read.t}: event {read.event!r} is not one of {READ_EVENTS}"
            )
        if not read.reader or not read.uid:
            raise ValueError(f"read at t={read.t}: reader and uid must not be empty")
        stream.write_row(
            {
                "t": _t4(read.t, "reads"),
                "reader": str(read.reader),
                "kind": read.kind,
                "uid": str(read.uid),
                "event": read.event,
            }
        )

    def write_push(self, push: ConfigPush) -> None:
        """Append one config push the core took as an input; pushes must come in time order."""
        self._check_open()
        if push.kind not in PUSH_KINDS:
            raise ValueError(f"push at t={push.t}: kind {push.kind!r} is not one of {PUSH_KINDS}")
        if self._pushes is None:
            self._pushes = _JsonlStream("pushes", self.out_dir / PUSHES)
        self._pushes.check_time(push.t)
        self._pushes.write_row(
            {
                "t": _t4(push.t, "pushes"),
                "kind": push.kind,
                "version": int(push.version),
                "effective_from_unix_ns": int(push.effective_from_unix_ns),
                "payload": base64.b64encode(push.payload).decode("ascii"),
            }
        )

    def write_tracks(self, frame: TrackFrame) -> None:
        """Append one frame of person tracks; frames must come in time order."""
        self._tracks.check_time(frame.t)
        self._tracks.write_row(_frame_row(frame, "tracks"))
        self._tracks.times.append(float(frame.t))

    def write_true_positions(self, frame: TrackFrame) -> None:
        """Append one frame of true positions (ids are true person ids) to the ground truth."""
        self._check_open()
        if self._positions is None:
            (self.out_dir / TRUTH_DIR).mkdir(exist_ok=True)
            self._positions = _JsonlStream("truth positions", self.out_dir / TRUTH_POSITIONS)
        self._positions.check_time(frame.t)
        self._positions.write_row(_frame_row(frame, "truth positions"))

    def write_truth(self, truth: GroundTruth) -> None:
        """Write truth/truth.json (once per session)."""
        self._check_open()
        if self._truth is not None:
            raise RuntimeError("the ground truth was already written")
        text = json.dumps(_truth_obj(truth), ensure_ascii=True, allow_nan=False, indent=1) + "\n"
        (self.out_dir / TRUTH_DIR).mkdir(exist_ok=True)
        self._truth = _HashedFile(self.out_dir / TRUTH_JSON)
        self._truth.write(text.encode("ascii"), records=0)
        self._truth.close(sync=False)

    # --- finishing ----------------------------------------------------------------------------

    def close(self, duration_s: float) -> Path:
        """Flush and fsync every file, then write manifest.json; return the session folder."""
        self._check_open()
        if not (math.isfinite(duration_s) and duration_s >= 0):
            raise ValueError(f"duration_s {duration_s!r} must be a finite number >= 0")
        if self._positions is not None and self._truth is None:
            raise ValueError("true positions were written but no ground truth (write_truth)")
        if self._truth is None and any(c.has_truth for c in self._cameras.values()):
            raise ValueError("camera truth boxes were written but no ground truth (write_truth)")
        self._close_files(sync=True)
        self._closed = True
        manifest = self._manifest(duration_s)
        text = json.dumps(manifest, ensure_ascii=True, allow_nan=False, indent=2) + "\n"
        tmp = self.out_dir / (MANIFEST + ".tmp")
        with open(tmp, "wb") as f:
            f.write(text.encode("ascii"))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.out_dir / MANIFEST)
        return self.out_dir

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError(f"session writer for {self.out_dir} is closed")

    def _close_files(self, *, sync: bool) -> None:
        for stream in self._shelf.values():
            stream._close(sync=sync)
        for camera in self._cameras.values():
            camera._close(sync=sync)
        for jsonl in (self._reads, self._tracks, self._positions, self._pushes):
            if jsonl is not None:
                jsonl.file.close(sync=sync)

    def _last_time(self) -> float:
        times = [s.last_t for s in self._shelf.values()]
        times += [c.last_t for c in self._cameras.values()]
        jsonls = (self._reads, self._tracks, self._positions, self._pushes)
        times += [j.last_t for j in jsonls if j is not None]
        return max([0.0, *(t for t in times if math.isfinite(t))])

    def _tracks_rate(self) -> float:
        if self._tracks_rate_hz is not None:
            return round(float(self._tracks_rate_hz), 3)
        times = self._tracks.times
        if len(times) < 2:
            return 0.0
        gaps = sorted(b - a for a, b in itertools.pairwise(times))
        median = gaps[len(gaps) // 2]
        return round(1.0 / median, 3) if median > 0 else 0.0

    def _manifest(self, duration_s: float) -> dict[str, Any]:
        streams = [self._shelf[name]._manifest_entry() for name in sorted(self._shelf)]
        reads, tracks = self._reads.file, self._tracks.file
        streams.append(
            {
                "name": "reads",
                "kind": STREAM_KIND_READS,
                "path": READS,
                "records": reads.records,
                "bytes": reads.bytes,
                "sha256": reads.sha256,
            }
        )
        streams.append(
            {
                "name": "tracks",
                "kind": STREAM_KIND_TRACKS,
                "path": TRACKS,
                "rate_hz": self._tracks_rate(),
                "records": tracks.records,
                "bytes": tracks.bytes,
                "sha256": tracks.sha256,
            }
        )
        streams += [self._cameras[name]._manifest_entry() for name in sorted(self._cameras)]
        if self._pushes is not None:
            pushes = self._pushes.file
            streams.append(
                {
                    "name": "pushes",
                    "kind": STREAM_KIND_PUSHES,
                    "path": PUSHES,
                    "records": pushes.records,
                    "bytes": pushes.bytes,
                    "sha256": pushes.sha256,
                }
            )
        truth: dict[str, Any] | None = None
        if self._truth is not None:
            pos = self._positions.file if self._positions is not None else None
            truth = {
                "path": TRUTH_JSON,
                "bytes": self._truth.bytes,
                "sha256": self._truth.sha256,
                "positions": TRUTH_POSITIONS if pos else None,
                "positions_records": pos.records if pos else None,
                "positions_bytes": pos.bytes if pos else None,
                "positions_sha256": pos.sha256 if pos else None,
            }
            cams = [self._cameras[n]._truth_entry() for n in sorted(self._cameras)]
            if any(cams):
                # Only when present: sessions without cameras keep their exact bytes.
                truth["cameras"] = [c for c in cams if c is not None]
        return {
            "format": FORMAT_NAME,
            "version": FORMAT_VERSION,
            "session_id": self._session_id,
            "store_id": self._store_id,
            "created_by": self._created_by,
            "start_time_unix": self._start_time_unix,
            "duration_s": round(float(duration_s), 6) + 0.0,
            "config": CONFIG,
            "config_bytes": self._config.bytes,
            "config_sha256": self._config.sha256,
            "streams": streams,
            "truth": truth,
            "extra": self._extra,
        }

    # --- context manager ----------------------------------------------------------------------

    def __enter__(self) -> SessionWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._closed:
            return
        if exc_type is not None:
            # Leave the folder recognisably incomplete: data files closed, no manifest.
            self._closed = True
            self._close_files(sync=False)
            return
        self.close(self._last_time())
