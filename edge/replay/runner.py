"""Replay: feed a recorded session through the edge core on a virtual clock, as fast as possible.

Every stream of the session (shelf bytes per port, reads, tracks, config pushes) is merged into
one sequence ordered by timestamp, with a fixed tie-break (stream kind, then stream name), so the
core sees the same inputs in the same order on every run: replay is byte-for-byte reproducible.
"""

from __future__ import annotations

import hashlib
import heapq
import json
import shutil
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from google.protobuf.message import DecodeError
from walkout.v1 import config_pb2

from edge.config.layout import StoreLayout
from edge.journal.journal import Journal
from edge.pipeline.core import EdgeCore
from edge.session.errors import SessionError
from edge.session.model import ConfigPush, StreamInfo, TrackFrame
from edge.session.reader import Session

PIPELINE_VERSION = "walkout-edge 1"

# Tie-break between streams at the same timestamp: config pushes first (a planogram or price book
# is held before the inputs of its instant), reads (a tap opens a visit before the tracks of that
# instant are bound), then tracks, then shelf bytes.
ORDER_PUSHES, ORDER_READS, ORDER_TRACKS, ORDER_SHELF = -1, 0, 1, 2

Progress = Callable[[str, float], None]


def _json(obj: Any) -> str:
    return json.dumps(_round(obj), sort_keys=True, separators=(",", ":"))


def _round(obj: Any) -> Any:
    if isinstance(obj, float):
        return round(obj, 4)
    if isinstance(obj, dict):
        return {k: _round(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_round(v) for v in obj]
    return obj


@dataclass(frozen=True)
class ReplayResult:
    run_dir: Path
    duration_s: float
    receipts: int
    events: int
    shelf_events: int
    reviews: int


def _merged_inputs(
    session: Session, track_frames: Iterator[TrackFrame] | None = None
) -> Iterator[tuple[float, int, str, Any]]:
    """Every input in time order; `track_frames` replaces the recorded tracks (camera tracks)."""
    frames = session.iter_tracks() if track_frames is None else track_frames
    streams: list[Iterator[tuple[float, int, str, Any]]] = []
    streams.append((p.t, ORDER_PUSHES, "pushes", p) for p in session.pushes())
    streams.append((r.t, ORDER_READS, "reads", r) for r in session.reads())
    streams.append((f.t, ORDER_TRACKS, "tracks", f) for f in frames)
    for info in sorted(session.shelf_streams, key=lambda s: s.name):
        streams.append(_shelf_inputs(session, info))
    yield from heapq.merge(*streams, key=lambda item: (item[0], item[1], item[2]))


def _teed(frames: Iterator[TrackFrame], path: Path) -> Iterator[TrackFrame]:
    """Pass camera-derived track frames on, keeping them in the run (tracks.jsonl row format)."""
    from edge.vision.floor_tracker import frame_row

    with path.open("w", encoding="utf-8") as out:
        for frame in frames:
            out.write(json.dumps(frame_row(frame), separators=(",", ":")) + "\n")
            yield frame


def _shelf_inputs(session: Session, info: StreamInfo) -> Iterator[tuple[float, int, str, Any]]:
    # A function, not a generator expression in the loop: each stream keeps its own port.
    for t, data in session.iter_shelf(info):
        yield t, ORDER_SHELF, info.port, data


PUSH_MESSAGES: dict[str, type[config_pb2.Planogram] | type[config_pb2.PriceBook]] = {
    "planogram": config_pb2.Planogram,
    "price_book": config_pb2.PriceBook,
}


def _push_message(session: Session, push: ConfigPush) -> Any:
    """The Planogram or PriceBook a pushes row carries; its version must be the row's."""
    message_type = PUSH_MESSAGES[push.kind]
    path = session.file(session.stream("pushes").path)
    try:
        message = message_type.FromString(push.payload)
    except DecodeError as exc:
        name = message_type.__name__
        raise SessionError(path, f"push at t={push.t}: payload is not a {name}: {exc}") from None
    if message.version != push.version:
        raise SessionError(
            path,
            f"push at t={push.t}: {push.kind} payload is version {message.version}, "
            f"the row says {push.version}",
        )
    return message


TRACK_SOURCES = ("recorded", "cameras", "auto", "true-boxes")


def replay_session(
    session_dir: Path,
    run_dir: Path,
    *,
    events_out: Path | None = None,
    overwrite: bool = False,
    progress: Progress | None = None,
    review_policy: str = "settle_and_flag",
    tracks: str = "recorded",
    vision_threads: int = 2,
    detections: Path | None = None,
) -> ReplayResult:
    """Replay a session into `run_dir` (events.jsonl, receipts.jsonl, journal.sqlite, run.json).

    `tracks`: "recorded" feeds the session's person tracks; "cameras" computes them from its
    camera video (detector + floor tracker, `edge/vision/replay_stage.py`); "auto" uses the
    cameras when the session has camera streams; "true-boxes" feeds the floor tracker the
    simulator's true camera boxes in place of the detector's (simulated sessions only: it
    measures what tracking and fusion lose apart from the detector). A camera replay keeps the
    detector's output in the run (`camera_detections.jsonl`); `detections` (with "cameras")
    replays from such a file instead of the video: same tracks and receipts, no detector.
    """
    session = Session.open(session_dir)
    if tracks not in TRACK_SOURCES:
        raise ValueError(f"tracks must be one of {', '.join(TRACK_SOURCES)}, not {tracks!r}")
    use_cameras = tracks in ("cameras", "true-boxes") or (
        tracks == "auto" and bool(session.camera_streams)
    )
    from edge.cli.errors import UserError

    if detections is not None and tracks != "cameras":
        raise UserError("--detections replaces the detector: use it with --tracks cameras")
    layout = StoreLayout(session.config)
    if run_dir.exists() and any(run_dir.iterdir()):
        if not overwrite:
            raise UserError(f"{run_dir} is not empty (use --overwrite to replace the run)")
        shutil.rmtree(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    report = progress or (lambda stage, fraction: None)
    duration = session.manifest.duration_s or 1.0

    events_file = (run_dir / "events.jsonl").open("w", encoding="utf-8")
    receipts_file = (run_dir / "receipts.jsonl").open("w", encoding="utf-8")
    shelf_file = events_out.open("w", encoding="utf-8") if events_out else None
    journal = Journal(run_dir / "journal.sqlite")
    counts = {"events": 0}

    def emit(event: dict[str, Any]) -> None:
        counts["events"] += 1
        events_file.write(_json(event) + "\n")
        if shelf_file is not None and event["type"] == "shelf_event":
            fields = {k: v for k, v in event.items() if k not in ("type", "t", "seq")}
            shelf_file.write(_json(fields) + "\n")

    core = EdgeCore(
        layout,
        emit=emit,
        journal=journal,
        start_time_unix=session.manifest.start_time_unix,
        review_policy=review_policy,
    )
    core.on_receipt = lambda receipt: receipts_file.write(_json(receipt) + "\n")  # type: ignore[method-assign]

    vision_stats = None
    track_frames = None
    detections_file = None
    if use_cameras:
        from edge.vision.replay_stage import (
            VisionStats,
            camera_track_frames,
            recorded_detection_track_frames,
            true_box_track_frames,
        )

        vision_stats = VisionStats()
        if tracks == "true-boxes":
            frames = true_box_track_frames(session, stats=vision_stats)
        elif detections is not None:
            frames = recorded_detection_track_frames(session, detections, stats=vision_stats)
        else:
            from edge.vision.detector import Detector, DetectorOptions

            detector = Detector(options=DetectorOptions(intra_op_threads=vision_threads))
            detections_file = (run_dir / "camera_detections.jsonl").open("w", encoding="utf-8")
            frames = camera_track_frames(
                session, detector, stats=vision_stats, record=detections_file
            )
        track_frames = _teed(frames, run_dir / "camera_tracks.jsonl")

    last_report = 0.0
    t = 0.0
    try:
        for t, _order, source, item in _merged_inputs(session, track_frames):
            if source == "pushes" and item.kind == "price_book":
                core.on_price_book(item.t, _push_message(session, item))
            elif source == "pushes":
                core.on_planogram(item.t, _push_message(session, item))
            elif source == "reads":
                core.on_read(item.t, item.reader, item.kind, item.uid, item.event)
            elif source == "tracks":
                core.on_tracks(item.t, [(p.id, p.x, p.y, p.hands) for p in item.people])
            else:
                core.on_shelf_bytes(t, source, item)
            if t - last_report > 5.0:
                report("replay", t / duration)
                last_report = t
        core.finish(max(t, duration))
    finally:
        if detections_file is not None:
            detections_file.close()
        events_file.close()
        receipts_file.close()
        if shelf_file is not None:
            shelf_file.close()
        journal.close()
    report("replay", 1.0)
    run_info = {
        "format": "walkout-run",
        "version": 1,
        "pipeline": PIPELINE_VERSION,
        "session_id": session.manifest.session_id,
        "store_id": session.manifest.store_id,
        "config_sha256": hashlib.sha256(session.config_text.encode()).hexdigest(),
        "duration_s": duration,
        "stats": asdict(core.stats) | {"visit_faults": dict(sorted(core.visits.faults.items()))},
        "tracks": "recorded" if not use_cameras else "cameras" if tracks == "auto" else tracks,
    }
    if vision_stats is not None:
        run_info["vision"] = asdict(vision_stats)
    (run_dir / "run.json").write_text(json.dumps(run_info, indent=2, sort_keys=True) + "\n")
    return ReplayResult(
        run_dir,
        duration,
        core.stats.receipts,
        counts["events"],
        core.stats.shelf_events,
        core.stats.reviews,
    )
