"""Read a recorded session (format v1, docs/session-format.md).

`Session.open` checks the manifest and that every listed file exists with its recorded size, so
a truncated copy fails at once with the file's name; `Session.verify` also checks every sha256.
Rows are parsed with `json.loads` and light checks (no model validation per row): tracks of a
busy ten-minute store are ~100k person rows and replay must stay fast.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import struct
from collections.abc import Iterator
from functools import cached_property
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

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
    WSR_RECORD_HEADER_SIZE,
    CameraBox,
    CameraTruthFrame,
    CameraTruthInfo,
    ConfigPush,
    GroundTruth,
    Manifest,
    PersonObs,
    Read,
    StreamInfo,
    TrackFrame,
    TruthAction,
    TruthInfo,
    TruthReceipt,
    TruthReceiptLine,
    TruthVisit,
)

if TYPE_CHECKING:
    import numpy as np

    from edge.config.models import StoreConfig
    from edge.vision.camera import CameraModel

__all__ = ["Session", "iter_wsr", "parse_manifest"]

MANIFEST = "manifest.json"
_RECORD_HEAD = struct.Struct("<dI")
_HASH_CHUNK = 1 << 20
_NUMBER = (int, float)


# --- .wsr files -------------------------------------------------------------------------------


def iter_wsr(path: str | Path) -> Iterator[tuple[float, bytes]]:
    """Yield ``(t, data)`` records of a .wsr file in order, checking framing and time order."""
    path = Path(path)
    try:
        f = open(path, "rb", buffering=1 << 20)  # noqa: SIM115 (closed below, generator)
    except OSError as exc:
        raise SessionError(path, f"cannot open: {exc.strerror or exc}") from None
    with f:
        header = f.read(len(WSR_HEADER))
        if len(header) < len(WSR_HEADER):
            raise SessionError(
                path,
                f"truncated file header (file is {len(header)} bytes, the header is "
                f"{len(WSR_HEADER)})",
            )
        if header[:4] != WSR_HEADER[:4]:
            raise SessionError(
                path, f"not a walkout serial recording (starts with {header[:4]!r}, not b'WSR1')"
            )
        if header != WSR_HEADER:
            raise SessionError(path, f"unsupported .wsr header flags {header[4:].hex()}")
        offset = len(WSR_HEADER)
        last_t = 0.0
        read = f.read
        unpack = _RECORD_HEAD.unpack
        while True:
            head = read(WSR_RECORD_HEADER_SIZE)
            if not head:
                return
            if len(head) < WSR_RECORD_HEADER_SIZE:
                raise SessionError(
                    path,
                    f"truncated record at byte {offset} (file ends {len(head)} bytes into a "
                    f"{WSR_RECORD_HEADER_SIZE}-byte header)",
                )
            t, n = unpack(head)
            data = read(n)
            if len(data) < n:
                raise SessionError(
                    path,
                    f"truncated record at byte {offset} (file ends {len(data)} bytes into a "
                    f"{n}-byte payload)",
                )
            if not (t >= last_t and math.isfinite(t)):  # also catches NaN
                raise SessionError(
                    path,
                    f"record at byte {offset}: time {t!r} s is before the previous record's "
                    f"{last_t!r} s (or not a finite number)",
                )
            last_t = t
            offset += WSR_RECORD_HEADER_SIZE + n
            yield t, data


# --- manifest ---------------------------------------------------------------------------------


class _Fields:
    """Typed access to one JSON object of the manifest, naming the key path on every problem."""

    def __init__(self, file: Path, obj: Any, where: str) -> None:
        if not isinstance(obj, dict):
            raise SessionError(file, f"{where or 'the top level'} must be a JSON object")
        self.file = file
        self.obj = obj
        self.where = where

    def _key(self, key: str) -> str:
        return f"{self.where}.{key}" if self.where else key

    def get(self, key: str, kind: type | tuple[type, ...], *, optional: bool = False) -> Any:
        if key not in self.obj:
            if optional:
                return None
            raise SessionError(self.file, f"missing key {self._key(key)!r}")
        value = self.obj[key]
        if value is None and optional:
            return None
        if isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)):
            ok = False
        else:
            ok = isinstance(value, kind)
        if not ok:
            names = (
                kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
            )
            raise SessionError(
                self.file, f"key {self._key(key)!r} must be {names}, got {json.dumps(value)}"
            )
        return value

    def count(self, key: str, *, optional: bool = False) -> Any:
        value = self.get(key, int, optional=optional)
        if value is not None and value < 0:
            raise SessionError(self.file, f"key {self._key(key)!r} must be >= 0, got {value}")
        return value

    def rel_path(self, key: str, *, optional: bool = False) -> Any:
        value = self.get(key, str, optional=optional)
        if value is None:
            return None
        pure = PurePosixPath(value)
        if not value or pure.is_absolute() or ".." in pure.parts or "\\" in value:
            raise SessionError(
                self.file,
                f"key {self._key(key)!r}: {value!r} must be a relative path inside the session",
            )
        return value


def parse_manifest(file: Path, text: str) -> Manifest:
    """Parse and check manifest.json text; raise SessionError naming the file and key."""
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SessionError(file, f"not valid JSON: {exc.msg}", line=exc.lineno) from None
    top = _Fields(file, raw, "")
    fmt = top.get("format", str)
    if fmt != FORMAT_NAME:
        raise SessionError(file, f"format is {fmt!r}, expected {FORMAT_NAME!r}")
    version = top.get("version", int)
    if version != FORMAT_VERSION:
        newer = " (written by a newer Walkout: upgrade to read it)" if version > 1 else ""
        raise SessionError(
            file,
            f"unsupported session format version {version}; this reader supports version "
            f"{FORMAT_VERSION}{newer}",
        )
    streams = []
    names: set[str] = set()
    raw_streams = top.get("streams", list)
    for index, item in enumerate(raw_streams):
        s = _Fields(file, item, f"streams.{index}")
        kind = s.get("kind", str)
        name = s.get("name", str)
        if name in names:
            raise SessionError(file, f"two streams are named {name!r}")
        names.add(name)
        known = {"name", "kind", "path", "records", "bytes", "sha256"}
        port = protocol = rate = None
        if kind == STREAM_KIND_SHELF:
            port, protocol = s.get("port", str), s.get("protocol", str)
            known |= {"port", "protocol"}
        elif kind == STREAM_KIND_TRACKS:
            rate = float(s.get("rate_hz", _NUMBER))
            known.add("rate_hz")
        elif kind == STREAM_KIND_CAMERA:
            # The frame-times file is required; its path must stay inside the session.
            s.rel_path("frames_path")
            s.count("frames_bytes")
            s.get("frames_sha256", str)
            s.rel_path("calibration_path", optional=True)
        streams.append(
            StreamInfo(
                name=name,
                kind=kind,
                path=s.rel_path("path"),
                records=s.count("records"),
                bytes=s.count("bytes"),
                sha256=s.get("sha256", str),
                port=port,
                protocol=protocol,
                rate_hz=rate,
                extra={k: v for k, v in item.items() if k not in known},
            )
        )
    for kind in (STREAM_KIND_READS, STREAM_KIND_TRACKS, STREAM_KIND_PUSHES):
        if sum(1 for s in streams if s.kind == kind) > 1:
            raise SessionError(file, f"more than one stream of kind {kind!r}")
    truth = None
    raw_truth = top.get("truth", dict, optional=True)
    if raw_truth is not None:
        tf = _Fields(file, raw_truth, "truth")
        positions = tf.rel_path("positions", optional=True)
        cameras = []
        for ci, item in enumerate(tf.get("cameras", list, optional=True) or []):
            cf = _Fields(file, item, f"truth.cameras.{ci}")
            cameras.append(
                CameraTruthInfo(
                    camera=cf.get("camera", str),
                    path=cf.rel_path("path"),
                    records=cf.count("records"),
                    bytes=cf.count("bytes"),
                    sha256=cf.get("sha256", str),
                )
            )
        truth = TruthInfo(
            path=tf.rel_path("path"),
            bytes=tf.count("bytes"),
            sha256=tf.get("sha256", str),
            positions=positions,
            positions_records=tf.count("positions_records", optional=positions is None),
            positions_bytes=tf.count("positions_bytes", optional=positions is None),
            positions_sha256=tf.get("positions_sha256", str, optional=positions is None),
            cameras=tuple(cameras),
        )
    return Manifest(
        format=fmt,
        version=version,
        session_id=top.get("session_id", str),
        store_id=top.get("store_id", str),
        created_by=top.get("created_by", str),
        start_time_unix=float(top.get("start_time_unix", _NUMBER)),
        duration_s=float(top.get("duration_s", _NUMBER)),
        config=top.rel_path("config"),
        config_bytes=top.count("config_bytes"),
        config_sha256=top.get("config_sha256", str),
        streams=tuple(streams),
        truth=truth,
        extra=top.get("extra", dict),
    )


def _listed_files(manifest: Manifest) -> list[tuple[str, int, str]]:
    """(relative path, bytes, sha256) of every file the manifest vouches for."""
    files = [(manifest.config, manifest.config_bytes, manifest.config_sha256)]
    for s in manifest.streams:
        files.append((s.path, s.bytes, s.sha256))
        # Camera streams carry the frame timestamps and, optionally, the calibration file.
        for prefix in ("frames", "calibration"):
            fp, fb, fs = (s.extra.get(f"{prefix}_{k}") for k in ("path", "bytes", "sha256"))
            if isinstance(fp, str) and isinstance(fb, int) and isinstance(fs, str):
                files.append((fp, fb, fs))
    if manifest.truth is not None:
        t = manifest.truth
        files.append((t.path, t.bytes, t.sha256))
        if t.positions is not None:
            assert t.positions_bytes is not None and t.positions_sha256 is not None
            files.append((t.positions, t.positions_bytes, t.positions_sha256))
        files += [(c.path, c.bytes, c.sha256) for c in t.cameras]
    return files


# --- rows -------------------------------------------------------------------------------------


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    """(line number, text) of a JSON-lines file; a last line without newline is truncation."""
    try:
        f = open(path, encoding="utf-8", newline="\n")  # noqa: SIM115 (closed below, generator)
    except OSError as exc:
        raise SessionError(path, f"cannot open: {exc.strerror or exc}") from None
    with f:
        for lineno, line in enumerate(f, 1):
            if not line.endswith("\n"):
                raise SessionError(path, "truncated last line (no newline at the end)", line=lineno)
            yield lineno, line


def load_json_row(
    path: Path, lineno: int, line: str, error: type[SessionError] = SessionError
) -> dict[str, Any]:
    """One JSON-lines row as a dict; anything else raises `error` naming the file and line."""
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        raise error(path, f"not valid JSON: {exc.msg}", line=lineno) from None
    if not isinstance(obj, dict):
        raise error(path, "a row must be a JSON object", line=lineno)
    return obj


def _timed_rows(path: Path, keys: tuple[str, ...]) -> Iterator[tuple[int, list[Any]]]:
    """The JSON-lines rows of `path` as (line number, the values of `keys`), checking that every
    key is there and that `keys[0]`, the time, is a number that never goes back."""
    last_t = -math.inf
    for lineno, line in _lines(path):
        obj = load_json_row(path, lineno, line)
        try:
            values = [obj[k] for k in keys]
        except KeyError as exc:
            raise SessionError(path, f"missing key {exc}", line=lineno) from None
        t = values[0]
        if not _is_number(t):
            raise SessionError(path, f"t must be a number, got {json.dumps(t)}", line=lineno)
        if t < last_t:
            raise SessionError(path, f"t {t} is before the previous row's {last_t}", line=lineno)
        last_t = t
        yield lineno, values


def _is_number(value: Any) -> bool:
    return type(value) in _NUMBER and math.isfinite(value)


def track_rows(path: Path) -> Iterator[TrackFrame]:
    """Person-track frames of a `tracks.jsonl`-form file (a session's, or the tracks a run
    computed from its cameras), checked and in time order."""
    last_t = -math.inf
    for lineno, line in _lines(path):
        obj = load_json_row(path, lineno, line)
        try:
            t = obj["t"]
            if not _is_number(t):
                raise ValueError(f"t must be a number, got {json.dumps(t)}")
            if t < last_t:
                raise ValueError(f"t {t} is before the previous frame's {last_t}")
            last_t = t
            people = []
            for p in obj["people"]:
                pid = p["id"]
                if type(pid) is not int:
                    raise ValueError(f"person id must be an integer, got {json.dumps(pid)}")
                hands = p.get("hands") or ()
                if hands:
                    if len(hands) > 2:
                        raise ValueError(f"person {pid} has {len(hands)} hands (0 to 2)")
                    for h in hands:
                        if len(h) != 3:
                            raise ValueError(f"person {pid}: a hand must be x, y, z")
                    hands = tuple((float(h[0]), float(h[1]), float(h[2])) for h in hands)
                people.append(PersonObs(pid, float(p["x"]), float(p["y"]), hands))
        except KeyError as exc:
            raise SessionError(path, f"malformed frame: missing key {exc}", line=lineno) from None
        except (TypeError, ValueError, IndexError) as exc:
            raise SessionError(path, f"malformed frame: {exc}", line=lineno) from None
        yield TrackFrame(float(t), tuple(people))


class _TruthParser:
    """Builds GroundTruth from truth.json, naming the key path of any problem."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, where: str, problem: str) -> SessionError:
        return SessionError(self.path, f"{where}: {problem}")

    def obj(self, value: Any, where: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(where, "must be a JSON object")
        return value

    def field(self, obj: dict[str, Any], key: str, where: str) -> Any:
        if key not in obj:
            raise self.fail(where, f"missing key {key!r}")
        return obj[key]

    def str_(self, obj: dict[str, Any], key: str, where: str, *, null: bool = False) -> Any:
        value = obj.get(key) if null else self.field(obj, key, where)
        if value is None and null:
            return None
        if not isinstance(value, str):
            raise self.fail(f"{where}.{key}", f"must be a string, got {json.dumps(value)}")
        return value

    def int_(self, obj: dict[str, Any], key: str, where: str) -> int:
        value = self.field(obj, key, where)
        if type(value) is not int:
            raise self.fail(f"{where}.{key}", f"must be an integer, got {json.dumps(value)}")
        return value

    def num(self, obj: dict[str, Any], key: str, where: str, *, null: bool = False) -> Any:
        value = obj.get(key) if null else self.field(obj, key, where)
        if value is None and null:
            return None
        if not _is_number(value):
            raise self.fail(f"{where}.{key}", f"must be a number, got {json.dumps(value)}")
        return float(value)  # type: ignore[arg-type]  # _is_number checked it

    def choice(self, obj: dict[str, Any], key: str, where: str, options: tuple[str, ...]) -> Any:
        value = self.field(obj, key, where)
        if value not in options:
            raise self.fail(f"{where}.{key}", f"must be one of {', '.join(options)}")
        return value

    def items(self, obj: dict[str, Any], key: str, where: str) -> list[Any]:
        value = obj.get(key, [])
        if not isinstance(value, list):
            raise self.fail(f"{where}{key}", "must be a list")
        return value

    def parse(self, raw: Any) -> GroundTruth:
        top = self.obj(raw, "the top level")
        visits = []
        for i, item in enumerate(self.items(top, "visits", "")):
            w = f"visits.{i}"
            v = self.obj(item, w)
            visits.append(
                TruthVisit(
                    visit_id=self.str_(v, "visit_id", w),
                    person_id=self.int_(v, "person_id", w),
                    card_uid=self.str_(v, "card_uid", w, null=True),
                    account=self.str_(v, "account", w, null=True),
                    group_of=self.str_(v, "group_of", w, null=True),
                    entry_t=self.num(v, "entry_t", w),
                    exit_t=self.num(v, "exit_t", w, null=True),
                )
            )
        actions = []
        for i, item in enumerate(self.items(top, "actions", "")):
            w = f"actions.{i}"
            a = self.obj(item, w)
            plates = self.field(a, "plates", w)
            if not isinstance(plates, list) or not all(isinstance(p, str) for p in plates):
                raise self.fail(f"{w}.plates", "must be a list of plate refs like 1.2.3")
            actions.append(
                TruthAction(
                    t_start=self.num(a, "t_start", w),
                    t_end=self.num(a, "t_end", w),
                    t_settled=self.num(a, "t_settled", w),
                    visit_id=self.str_(a, "visit_id", w),
                    person_id=self.int_(a, "person_id", w),
                    kind=self.choice(a, "kind", w, ("pick", "put", "handoff")),
                    product_id=self.str_(a, "product_id", w),
                    quantity=self.int_(a, "quantity", w),
                    plates=tuple(plates),
                    hand=self.choice(a, "hand", w, ("left", "right")),
                    to_visit_id=self.str_(a, "to_visit_id", w, null=True),
                )
            )
        receipts = []
        for i, item in enumerate(self.items(top, "receipts", "")):
            w = f"receipts.{i}"
            r = self.obj(item, w)
            lines = []
            for j, line in enumerate(self.items(r, "lines", w + ".")):
                lw = f"{w}.lines.{j}"
                ln = self.obj(line, lw)
                lines.append(
                    TruthReceiptLine(
                        product_id=self.str_(ln, "product_id", lw),
                        quantity=self.int_(ln, "quantity", lw),
                    )
                )
            receipts.append(TruthReceipt(visit_id=self.str_(r, "visit_id", w), lines=tuple(lines)))
        return GroundTruth(visits=tuple(visits), actions=tuple(actions), receipts=tuple(receipts))


def _camera_truth_rows(path: Path) -> Iterator[CameraTruthFrame]:
    for lineno, line in _lines(path):
        obj = load_json_row(path, lineno, line)
        try:
            boxes = []
            for b in obj["boxes"]:
                x1, y1, x2, y2 = (float(v) for v in b["box"])
                if b["cls"] not in CAMERA_BOX_CLASSES:
                    raise ValueError(f"class {b['cls']!r} is not one of {CAMERA_BOX_CLASSES}")
                side = b.get("side")
                box = (x1, y1, x2, y2)
                boxes.append(CameraBox(b["cls"], int(b["id"]), box, float(b["visible"]), side))
            yield CameraTruthFrame(int(obj["frame_index"]), float(obj["t"]), tuple(boxes))
        except (KeyError, TypeError, ValueError) as exc:
            raise SessionError(path, f"not a camera truth row: {exc}", line=lineno) from None


# --- the session ------------------------------------------------------------------------------


class Session:
    """A complete recorded session on disk. Open with :meth:`Session.open`."""

    def __init__(self, path: Path, manifest: Manifest) -> None:
        self.path = path
        self._manifest = manifest

    @classmethod
    def open(cls, path: str | Path) -> Session:
        """Open a session folder: parse manifest.json and check every listed file's size."""
        root = Path(path)
        if root.name == MANIFEST and root.is_file():
            root = root.parent  # the manifest itself was named: open its session
        if not root.exists():
            raise SessionError(root, "no such session folder")
        if not root.is_dir():
            raise SessionError(root, "is not a folder (a session is a folder with manifest.json)")
        file = root / MANIFEST
        if not file.is_file():
            raise SessionError(
                file,
                "missing: the session is incomplete (its writer did not finish) or this is not "
                "a session folder",
            )
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise SessionError(file, f"cannot read: {exc}") from None
        manifest = parse_manifest(file, text)
        for rel, size, _sha in _listed_files(manifest):
            target = root / rel
            if not target.is_file():
                raise SessionError(target, f"listed in {MANIFEST} but missing")
            actual = target.stat().st_size
            if actual != size:
                state = "truncated" if actual < size else "longer than recorded"
                raise SessionError(
                    target, f"{state}: it is {actual} bytes, {MANIFEST} records {size}"
                )
        return cls(root, manifest)

    # --- metadata -----------------------------------------------------------------------------

    @property
    def manifest(self) -> Manifest:
        return self._manifest

    @cached_property
    def config_text(self) -> str:
        """The store config in force, verbatim."""
        file = self.path / self._manifest.config
        try:
            with open(file, encoding="utf-8", newline="") as f:
                return f.read()
        except (OSError, UnicodeDecodeError) as exc:
            raise SessionError(file, f"cannot read: {exc}") from None

    @cached_property
    def config(self) -> StoreConfig:
        """The store config as a validated StoreConfig."""
        from edge.config import ConfigError, load_store_config_text

        file = self.path / self._manifest.config
        try:
            return load_store_config_text(self.config_text, source=str(file))
        except ConfigError as exc:
            raise SessionError(file, f"invalid store config: {exc}") from None

    @property
    def shelf_streams(self) -> list[StreamInfo]:
        return self._manifest.streams_of_kind(STREAM_KIND_SHELF)

    def stream(self, name: str) -> StreamInfo:
        """The stream called ``name`` (e.g. "shelf/ttyUSB0", "reads", "tracks")."""
        for s in self._manifest.streams:
            if s.name == name:
                return s
        have = ", ".join(s.name for s in self._manifest.streams)
        raise KeyError(f"no stream {name!r} in this session (have: {have})")

    def file(self, rel: str) -> Path:
        return self.path / rel

    # --- data ---------------------------------------------------------------------------------

    def iter_shelf(self, stream: StreamInfo | str) -> Iterator[tuple[float, bytes]]:
        """Raw shelf-controller bytes of one serial port as ``(t, data)`` receive records."""
        info = self.stream(stream) if isinstance(stream, str) else stream
        return iter_wsr(self.path / info.path)

    def reads(self) -> list[Read]:
        """Every reader event, in time order."""
        streams = self._manifest.streams_of_kind(STREAM_KIND_READS)
        if not streams:
            return []
        path = self.path / streams[0].path
        result: list[Read] = []
        for lineno, (t, reader, kind, uid, event) in _timed_rows(
            path, ("t", "reader", "kind", "uid", "event")
        ):
            if not isinstance(reader, str) or not isinstance(uid, str):
                raise SessionError(path, "reader and uid must be strings", line=lineno)
            if kind not in READ_KINDS:
                raise SessionError(path, f"kind must be card or tag, got {kind!r}", line=lineno)
            if event not in READ_EVENTS:
                raise SessionError(
                    path, f"event must be insert or remove, got {event!r}", line=lineno
                )
            result.append(Read(float(t), reader, kind, uid, event))
        return result

    def pushes(self) -> list[ConfigPush]:
        """Config pushes the core took as inputs (planograms, price books), in time order; []
        for sessions without a pushes stream (every session written before it existed)."""
        streams = self._manifest.streams_of_kind(STREAM_KIND_PUSHES)
        if not streams:
            return []
        path = self.path / streams[0].path
        result: list[ConfigPush] = []
        for lineno, (t, kind, version, effective, payload) in _timed_rows(
            path, ("t", "kind", "version", "effective_from_unix_ns", "payload")
        ):
            if kind not in PUSH_KINDS:
                raise SessionError(
                    path, f"kind must be one of {', '.join(PUSH_KINDS)}, got {kind!r}", line=lineno
                )
            if type(version) is not int or type(effective) is not int or version < 1:
                raise SessionError(
                    path, "version (>= 1) and effective_from_unix_ns must be integers", line=lineno
                )
            try:
                data = (
                    base64.b64decode(payload, validate=True) if isinstance(payload, str) else None
                )
            except ValueError:
                data = None
            if data is None:
                raise SessionError(path, "payload must be base64 text", line=lineno)
            result.append(ConfigPush(float(t), kind, version, effective, data))
        return result

    def iter_tracks(self) -> Iterator[TrackFrame]:
        """Person tracks, one frame at a time, in time order."""
        streams = self._manifest.streams_of_kind(STREAM_KIND_TRACKS)
        if not streams:
            return iter(())
        return track_rows(self.path / streams[0].path)

    def truth(self) -> GroundTruth | None:
        """The ground truth, or None if the session has none (e.g. a field recording)."""
        info = self._manifest.truth
        if info is None:
            return None
        path = self.path / info.path
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise SessionError(path, f"not valid JSON: {exc.msg}", line=exc.lineno) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise SessionError(path, f"cannot read: {exc}") from None
        return _TruthParser(path).parse(raw)

    def iter_true_positions(self) -> Iterator[TrackFrame]:
        """True positions (ids are true person ids); empty if the session has none."""
        info = self._manifest.truth
        if info is None or info.positions is None:
            return iter(())
        return track_rows(self.path / info.positions)

    # --- cameras ------------------------------------------------------------------------------

    @property
    def camera_streams(self) -> list[StreamInfo]:
        """The camera-video streams, sorted by name."""
        return self._manifest.streams_of_kind(STREAM_KIND_CAMERA)

    def camera_stream(self, camera_id: str) -> StreamInfo:
        """The camera-video stream of one camera (by the config's camera id)."""
        for s in self.camera_streams:
            if s.extra.get("camera_id") == camera_id or s.name == f"cameras/{camera_id}":
                return s
        have = ", ".join(str(s.extra.get("camera_id", s.name)) for s in self.camera_streams)
        raise KeyError(f"no camera {camera_id!r} in this session (have: {have or 'none'})")

    def camera_frames(self, camera_id: str) -> list[tuple[int, float]]:
        """(frame_index, t) of every recorded frame of a camera, from its frames.csv. Gaps in
        frame_index are frames the camera dropped."""
        info = self.camera_stream(camera_id)
        path = self.path / str(info.extra["frames_path"])
        rows: list[tuple[int, float]] = []
        last_i, last_t = -1, -math.inf
        for lineno, line in _lines(path):
            parts = line.rstrip("\n").split(",")
            try:
                if len(parts) != 2:
                    raise ValueError
                index, t = int(parts[0]), float(parts[1])
            except ValueError:
                raise SessionError(
                    path, f"expected 'frame_index,t', got {line.rstrip()!r}", line=lineno
                ) from None
            if index <= last_i or not math.isfinite(t) or t < last_t:
                raise SessionError(
                    path,
                    f"frame {index} at t={t} is not after frame {last_i} at t={last_t}",
                    line=lineno,
                )
            last_i, last_t = index, t
            rows.append((index, t))
        if len(rows) != info.records:
            raise SessionError(path, f"has {len(rows)} frames, {MANIFEST} records {info.records}")
        return rows

    def iter_camera(self, camera_id: str) -> Iterator[tuple[float, np.ndarray]]:
        """(t, frame) of every recorded frame of a camera, frames as (H, W, 3) uint8 BGR,
        decoded with OpenCV. A video that ends early or cannot be decoded raises SessionError
        naming the .avi."""
        import cv2

        info = self.camera_stream(camera_id)
        frames = self.camera_frames(camera_id)
        path = self.path / info.path
        cap = cv2.VideoCapture(str(path))
        try:
            if not cap.isOpened():
                raise SessionError(path, "OpenCV cannot open this video (corrupt or not MJPG)")
            for n, (_index, t) in enumerate(frames):
                ok, image = cap.read()
                if not ok or image is None:
                    raise SessionError(
                        path,
                        f"video ends or cannot be decoded at frame {n} of {len(frames)} "
                        f"(corrupt or truncated)",
                    )
                yield t, image
        finally:
            cap.release()

    def camera_model(self, camera_id: str) -> CameraModel | None:
        """The camera's calibration as recorded with the session, or None when not recorded."""
        from edge.vision.camera import CalibrationFileError, CameraModel

        rel = self.camera_stream(camera_id).extra.get("calibration_path")
        if not isinstance(rel, str):
            return None
        try:
            return CameraModel.load(self.path / rel)
        except CalibrationFileError as exc:
            raise SessionError(self.path / rel, str(exc)) from None

    def iter_camera_truth(self, camera_id: str) -> Iterator[CameraTruthFrame]:
        """True boxes per recorded frame of a camera; empty if the session has none."""
        info = self._manifest.truth
        entry = next((c for c in info.cameras if c.camera == camera_id), None) if info else None
        if entry is None:
            return iter(())
        return _camera_truth_rows(self.path / entry.path)

    # --- integrity ----------------------------------------------------------------------------

    def verify(self) -> list[str]:
        """Check the sha256 of every file the manifest lists; return their relative paths."""
        checked = []
        for rel, _size, expected in _listed_files(self._manifest):
            target = self.path / rel
            digest = hashlib.sha256()
            try:
                with open(target, "rb") as f:
                    while chunk := f.read(_HASH_CHUNK):
                        digest.update(chunk)
            except OSError as exc:
                raise SessionError(target, f"cannot read: {exc.strerror or exc}") from None
            if digest.hexdigest() != expected:
                raise SessionError(
                    target,
                    f"sha256 mismatch: the file changed since it was recorded "
                    f"(is {digest.hexdigest()[:12]}..., {MANIFEST} records {expected[:12]}...)",
                )
            checked.append(rel)
        return checked

    def __repr__(self) -> str:
        return f"Session({str(self.path)!r}, store={self._manifest.store_id!r})"
