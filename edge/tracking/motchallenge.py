"""MOTChallenge sequences: reading `seqinfo.ini` and `det/det.txt`, running a tracker on them,
writing results in the MOTChallenge format (`frame,id,x,y,w,h,1,-1,-1,-1`, 1-based frames).

Errors name the file and line: `MotDataError("ETH/det/det.txt:12: expected 10 ...")`.
"""

from __future__ import annotations

import configparser
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from edge.tracking.kalman import BOX_NOISE
from edge.tracking.spaces import BoxSpace
from edge.tracking.tracker import Tracker, TrackerConfig


class MotDataError(ValueError):
    """A MOTChallenge file that cannot be used; the message names the file, line and problem."""


@dataclass(frozen=True)
class SeqInfo:
    """The `[Sequence]` section of `seqinfo.ini`."""

    name: str
    frame_rate: float
    length: int
    width: int
    height: int
    path: Path


@dataclass(frozen=True)
class Detections:
    """All detections of a sequence, grouped by frame (1-based) as corner boxes and scores."""

    boxes: list[np.ndarray]  # index f-1: (N, 4) x1 y1 x2 y2
    scores: list[np.ndarray]  # index f-1: (N,)

    def __iter__(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        return iter(zip(self.boxes, self.scores, strict=True))

    @property
    def rows(self) -> int:
        return sum(b.shape[0] for b in self.boxes)


def read_seqinfo(seq_dir: Path) -> SeqInfo:
    """Read `seq_dir/seqinfo.ini`; raises MotDataError naming the file and the bad key."""
    path = seq_dir / "seqinfo.ini"
    if not path.is_file():
        raise MotDataError(f"{path}: missing (a MOTChallenge sequence folder has seqinfo.ini)")
    parser = configparser.ConfigParser()
    try:
        parser.read(path, encoding="utf-8")
    except configparser.Error as exc:
        raise MotDataError(f"{path}: not an ini file ({exc.__class__.__name__})") from None
    if not parser.has_section("Sequence"):
        raise MotDataError(f"{path}: no [Sequence] section")
    sec = parser["Sequence"]

    def number(key: str, kind: type) -> float:
        if key not in sec:
            raise MotDataError(f"{path}: [Sequence] has no {key}")
        try:
            value = kind(sec[key])
        except ValueError:
            raise MotDataError(f"{path}: {key} = {sec[key]!r} is not a number") from None
        if not value > 0:
            raise MotDataError(f"{path}: {key} = {sec[key]!r} must be positive")
        return value

    return SeqInfo(
        name=sec.get("name", seq_dir.name),
        frame_rate=number("frameRate", float),
        length=int(number("seqLength", int)),
        width=int(number("imWidth", int)),
        height=int(number("imHeight", int)),
        path=seq_dir,
    )


def read_detections(path: Path, length: int) -> Detections:
    """Read a `det.txt` (`frame,id,x,y,w,h,score,...`) for a sequence of `length` frames."""
    if not path.is_file():
        raise MotDataError(f"{path}: missing (expected detections as det/det.txt)")
    by_frame: list[list[tuple[float, ...]]] = [[] for _ in range(length)]
    with path.open(encoding="utf-8", errors="replace") as fh:
        for lineno, line in enumerate(fh, 1):
            text = line.strip()
            if not text:
                continue
            fields = text.split(",")
            if len(fields) < 7:
                raise MotDataError(
                    f"{path}:{lineno}: expected at least 7 comma-separated values "
                    f"(frame,id,x,y,w,h,score), got {len(fields)}"
                )
            try:
                values = [float(v) for v in fields[:7]]
            except ValueError:
                raise MotDataError(f"{path}:{lineno}: not a number in {text[:60]!r}") from None
            frame, _, x, y, w, h, score = values
            if not all(math.isfinite(v) for v in values):
                raise MotDataError(f"{path}:{lineno}: non-finite value in {text[:60]!r}")
            if frame != int(frame) or not 1 <= frame <= length:
                raise MotDataError(
                    f"{path}:{lineno}: frame {fields[0]} is not a whole number in 1..{length}"
                )
            if w <= 0 or h <= 0:
                raise MotDataError(f"{path}:{lineno}: box width and height must be positive")
            by_frame[int(frame) - 1].append((x, y, x + w, y + h, score))
    boxes, scores = [], []
    for rows in by_frame:
        arr = np.array(rows, dtype=np.float64).reshape(-1, 5)
        boxes.append(arr[:, :4])
        scores.append(arr[:, 4])
    return Detections(boxes, scores)


def load_sequence(seq_dir: Path) -> tuple[SeqInfo, Detections]:
    """Seqinfo and detections of one sequence folder."""
    if not seq_dir.is_dir():
        raise MotDataError(f"{seq_dir}: not a folder")
    info = read_seqinfo(seq_dir)
    return info, read_detections(seq_dir / "det" / "det.txt", info.length)


def frames_for_seconds(seconds: float, frame_rate: float) -> int:
    """A duration in seconds as a whole number of frames at `frame_rate` (at least 1)."""
    return max(1, round(seconds * frame_rate))


REFERENCE_RATE = 30.0
"""Frame rate (frames/s) the per-frame box noise (BoT-SORT's numbers) was set for."""


def config_for_rate(
    frame_rate: float, *, max_age_s: float = 0.5, **overrides: object
) -> TrackerConfig:
    """The default tracker config for a sequence at `frame_rate`.

    How long a track may stay unseen is a time (an occlusion lasts about as long whatever the
    camera's rate), so it is given in seconds and becomes frames here.
    """
    params: dict[str, object] = {"max_age": frames_for_seconds(max_age_s, frame_rate)}
    params.update(overrides)
    return TrackerConfig(**params)  # type: ignore[arg-type]


def space_for_rate(frame_rate: float) -> BoxSpace:
    """Image boxes with the velocity noise scaled to the frame rate.

    The filter's rate is in pixels per frame: at 10 frames/s a pedestrian's per-frame velocity
    changes three times as much between frames as at 30, so the process noise on the rates is
    BoT-SORT's 1/160 of the box size times 30 / frame_rate.
    """
    n = BOX_NOISE
    return BoxSpace(noise=replace(n, vel_scale=n.vel_scale * REFERENCE_RATE / frame_rate))


def tracker_for(info: SeqInfo, **overrides: Any) -> Tracker:
    """The tracker `walkout bench mot` runs on a sequence: one parameter set, durations and
    noise converted from the sequence's frame rate."""
    return Tracker(config_for_rate(info.frame_rate, **overrides), space_for_rate(info.frame_rate))


@dataclass(frozen=True)
class SequenceResult:
    """Result rows `(frame, id, x, y, w, h)` of one run and the time the tracker itself took."""

    rows: np.ndarray  # (K, 6)
    tracker_seconds: float
    frames: int

    @property
    def fps(self) -> float:
        return self.frames / self.tracker_seconds if self.tracker_seconds > 0 else math.inf


def run_tracker(
    dets: Detections,
    tracker: Tracker,
    progress: Callable[[int], None] | None = None,
    clock: Callable[[], float] = time.perf_counter,
) -> SequenceResult:
    """Run `tracker` over every frame; only `tracker.step` is inside the timed part.

    The clock measures speed for the report; it never influences the tracks.
    """
    out: list[np.ndarray] = []
    spent = 0.0
    for f, (boxes, scores) in enumerate(dets, 1):
        t0 = clock()
        res = tracker.step(boxes, scores)
        spent += clock() - t0
        if res.ids.size:
            b = res.positions
            rows = np.column_stack(
                [
                    np.full(res.ids.size, f),
                    res.ids,
                    b[:, 0],
                    b[:, 1],
                    b[:, 2] - b[:, 0],
                    b[:, 3] - b[:, 1],
                ]
            )
            out.append(rows)
        if progress is not None:
            progress(f)
    rows = np.concatenate(out) if out else np.zeros((0, 6))
    return SequenceResult(rows, spent, len(dets.boxes))


def write_results(path: Path, rows: np.ndarray) -> None:
    """Write result rows in the MOTChallenge format."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as fh:
        for f, i, x, y, w, h in rows.tolist():
            fh.write(f"{int(f)},{int(i)},{x:.2f},{y:.2f},{w:.2f},{h:.2f},1,-1,-1,-1\n")
