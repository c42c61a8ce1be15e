"""Person tracks from a session's recorded camera video: detector, then the floor tracker.

The vision stage of replay. Frames of all cameras are grouped by capture time (one tick of the
camera clock; a camera that dropped its frame is simply absent from that tick), the frames of a
tick go through the detector in one batch, and the floor tracker turns the detections of every
camera into one person-track frame in exactly the form the session's `tracks.jsonl` holds, so
the core consumes camera-derived tracks unchanged. Deterministic: the same video, model and
thread count give the same tracks.
"""

from __future__ import annotations

import heapq
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TextIO, TypeVar

import numpy as np

from edge.session.model import TrackFrame
from edge.vision.floor_tracker import (
    CameraDetection,
    FloorTracker,
    FloorTrackerConfig,
    store_shelf_fronts,
)

if TYPE_CHECKING:
    from edge.session.reader import Session
    from edge.vision.camera import CameraModel
    from edge.vision.detector import Detector

DETECTIONS_FORMAT = "walkout-detections"
TICK_WINDOW_S = 0.03  # frames of different cameras this close belong to one tick (15 fps: 67 ms)


T = TypeVar("T")
# True boxes kept by `true_box_track_frames`: the visibility the detector is trained down to.
TRUE_BOX_MIN_VISIBLE = 0.3


class VisionStageError(ValueError):
    """A session that cannot give camera tracks; the message names what is missing."""


@dataclass
class VisionStats:
    ticks: int = 0
    frames: int = 0
    detections: dict[str, int] = field(default_factory=lambda: {"person": 0, "hand": 0})


def camera_ticks(
    session: Session, window_s: float = TICK_WINDOW_S
) -> Iterator[tuple[float, dict[str, np.ndarray]]]:
    """(t, {camera id: frame}) per tick, in time order, across every camera of the session.

    Cameras are not synchronised: a tick collects the next frame of each camera captured within
    `window_s` of the tick's first frame (a camera that dropped its frame is absent), and is
    stamped with its latest capture time so the tracker never runs ahead of its input.
    """
    streams = [
        _tagged(cam, session.iter_camera(cam))
        for cam in sorted(s.name.removeprefix("cameras/") for s in session.camera_streams)
    ]
    return _ticks(streams, window_s)


def _ticks(
    streams: Sequence[Iterator[tuple[float, str, T]]], window_s: float
) -> Iterator[tuple[float, dict[str, T]]]:
    start: float | None = None
    last = 0.0
    items: dict[str, T] = {}
    for t, cam, item in heapq.merge(*streams, key=lambda x: (x[0], x[1])):
        if start is not None and (t - start >= window_s or cam in items):
            yield last, items
            start, items = None, {}
        if start is None:
            start = t
        items[cam] = item
        last = t
    if items:
        yield last, items


def _tagged(cam: str, stream: Iterable[tuple[float, T]]) -> Iterator[tuple[float, str, T]]:
    # A function, not a generator expression in the comprehension: each stream keeps its camera.
    for t, item in stream:
        yield t, cam, item


def _camera_models(session: Session) -> list[CameraModel]:
    if not session.camera_streams:
        raise VisionStageError(
            f"{session.path}: the session has no camera streams (record or simulate it with "
            "cameras, e.g. `walkout sim generate ... --cameras`, or replay its recorded tracks)"
        )
    cameras = []
    for info in session.camera_streams:
        cam_id = info.name.removeprefix("cameras/")
        model = session.camera_model(cam_id)
        if model is None:
            raise VisionStageError(
                f"{session.path}: camera {cam_id!r} has no recorded calibration, so its "
                "detections cannot be placed on the floor"
            )
        cameras.append(model)
    return cameras


def _floor_tracker(session: Session, config: FloorTrackerConfig | None) -> FloorTracker:
    # The store's gondola fronts let the tracker put a hand seen by one camera at the shelf it
    # reaches into rather than at an assumed height.
    cameras = _camera_models(session)
    return FloorTracker(cameras, config, store_shelf_fronts(session.config.gondolas))


def true_box_track_frames(
    session: Session,
    *,
    min_visible: float = TRUE_BOX_MIN_VISIBLE,
    config: FloorTrackerConfig | None = None,
    stats: VisionStats | None = None,
) -> Iterator[TrackFrame]:
    """Person-track frames from the simulator's true boxes (`truth/cameras/<id>.boxes.jsonl`)
    in place of the detector's: the same ticks and floor tracker as `camera_track_frames`, so
    a run on them measures what tracking and fusion lose apart from the detector. Boxes less
    than `min_visible` visible are left out (the detector is trained on the same cut-off)."""
    tracker = _floor_tracker(session, config)
    stats = stats if stats is not None else VisionStats()
    cams = sorted(s.name.removeprefix("cameras/") for s in session.camera_streams)
    if not any(True for _ in session.iter_camera_truth(cams[0])):
        raise VisionStageError(
            f"{session.path}: camera {cams[0]!r} has no true boxes (a recorded session, not a "
            "simulated one); replay it with --tracks cameras"
        )
    streams = [
        _tagged(cam, ((f.t, f.boxes) for f in session.iter_camera_truth(cam))) for cam in cams
    ]
    for t, frames in _ticks(streams, TICK_WINDOW_S):
        detections: dict[str, list[CameraDetection]] = {}
        for cam, boxes in frames.items():
            kept = [
                CameraDetection(b.cls, b.box, 1.0)  # type: ignore[arg-type]
                for b in boxes
                if b.cls in ("person", "hand") and b.visible >= min_visible
            ]
            for d in kept:
                stats.detections[d.cls] += 1
            detections[cam] = kept
        stats.ticks += 1
        stats.frames += len(frames)
        yield tracker.step(t, detections)


def camera_track_frames(
    session: Session,
    detector: Detector,
    *,
    config: FloorTrackerConfig | None = None,
    stats: VisionStats | None = None,
    on_tick: Callable[[float], None] | None = None,
    record: TextIO | None = None,
) -> Iterator[TrackFrame]:
    """Person-track frames computed from the session's camera video. With `record`, the
    detector's output is also written there (`DETECTIONS_FORMAT`, one line per tick), so that
    `recorded_detection_track_frames` can replay the tracker and fusion without the detector."""
    tracker = _floor_tracker(session, config)
    classes = detector.classes
    stats = stats if stats is not None else VisionStats()
    if record is not None:
        header = {
            "format": DETECTIONS_FORMAT,
            "version": 1,
            "session_id": session.manifest.session_id,
            "classes": list(classes),
            "model_sha256": detector.manifest.sha256,
        }
        record.write(json.dumps(header, separators=(",", ":")) + "\n")
    for t, frames in camera_ticks(session):
        ids = sorted(frames)
        rows = detector.detect_batch([frames[c] for c in ids])
        by_camera = dict(zip(ids, rows, strict=True))
        if record is not None:
            line = {"t": t, "cameras": {c: r.tolist() for c, r in by_camera.items()}}
            record.write(json.dumps(line, separators=(",", ":")) + "\n")
        yield _tracker_step(tracker, t, by_camera, classes, stats)
        if on_tick is not None:
            on_tick(t)


def recorded_detection_track_frames(
    session: Session,
    path: Path,
    *,
    config: FloorTrackerConfig | None = None,
    stats: VisionStats | None = None,
) -> Iterator[TrackFrame]:
    """Person-track frames from detector output recorded by an earlier camera replay of the
    same session (its run's `camera_detections.jsonl`): the floor tracker and everything after
    it, without decoding video or running the detector. Tracks, events and receipts are
    byte-identical to that replay's at the same code, so tracker and fusion changes can be
    measured in seconds instead of the detector's minutes."""
    if not path.is_file():
        raise VisionStageError(
            f"{path}: no such detections file (a camera replay writes camera_detections.jsonl "
            "into its run folder)"
        )
    tracker = _floor_tracker(session, config)
    stats = stats if stats is not None else VisionStats()
    with path.open(encoding="utf-8") as lines:
        classes = _detections_header(path, next(lines, ""), session)
        for n, text in enumerate(lines, start=2):
            try:
                row = json.loads(text)
                t = float(row["t"])
                cams = {
                    c: np.asarray(r, dtype=np.float64).reshape(-1, 6)
                    for c, r in row["cameras"].items()
                }
            except (ValueError, KeyError, TypeError, AttributeError) as e:
                raise VisionStageError(f"{path}:{n}: not a detections row ({e})") from e
            yield _tracker_step(tracker, t, dict(sorted(cams.items())), classes, stats)


def _tracker_step(
    tracker: FloorTracker,
    t: float,
    rows: dict[str, np.ndarray],
    classes: Sequence[str],
    stats: VisionStats,
) -> TrackFrame:
    """One tick of detector rows (camera id -> (N, 6) class, score, box) through the tracker."""
    detections = {c: _detections(r, classes, stats) for c, r in rows.items()}
    stats.ticks += 1
    stats.frames += len(rows)
    return tracker.step(t, detections)


def _detections_header(path: Path, text: str, session: Session) -> tuple[str, ...]:
    try:
        header = json.loads(text)
        fmt, version = header["format"], header["version"]
        classes, session_id = header["classes"], header["session_id"]
    except (ValueError, KeyError, TypeError) as e:
        raise VisionStageError(f"{path}:1: not a detections file header ({e})") from e
    if (fmt, version) != (DETECTIONS_FORMAT, 1):
        raise VisionStageError(
            f"{path}:1: format {fmt!r} version {version!r}, expected {DETECTIONS_FORMAT!r} 1"
        )
    if session_id != session.manifest.session_id:
        raise VisionStageError(
            f"{path}: detections of session {session_id!r}, not of {session.manifest.session_id!r}"
            f" ({session.path})"
        )
    return tuple(str(c) for c in classes)


def _detections(
    rows: np.ndarray, classes: Sequence[str], stats: VisionStats
) -> list[CameraDetection]:
    out = []
    for cls, conf, x1, y1, x2, y2 in rows.tolist():
        name = classes[int(cls)]
        if name not in ("person", "hand"):
            continue
        stats.detections[name] += 1
        out.append(CameraDetection(name, (x1, y1, x2, y2), float(conf)))  # type: ignore[arg-type]
    return out
