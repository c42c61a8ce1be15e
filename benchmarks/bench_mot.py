"""Benchmark our tracker against SORT, ByteTrack and OC-SORT on MOTChallenge public detections.

Every tracker gets the SAME detections (`det/det.txt` of each sequence), nothing else (no images,
no re-identification). Results are scored with TrackEval (HOTA, CLEAR MOTA, IDF1, MOT15 settings).
Tracker-only frames/s times just the per-frame update call of each tracker, on this machine.

Baselines come from Roboflow's `trackers` package (the optional `bench` extra) with its default
parameters, `frame_rate` from `seqinfo.ini`. SORT is also run with the upstream paper's settings
(max_age 1, min_hits 3, IoU 0.3), which the MOT15 README's reference figures use. Without
`trackers` installed only our tracker runs, and the table says so.

Run: ``python benchmarks/bench_mot.py [SEQ_DIR ...]`` (default: the four sequences in
../shared/data/mot15-dev).
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from edge.tracking.mot_eval import evaluate
from edge.tracking.motchallenge import (
    Detections,
    SeqInfo,
    load_sequence,
    run_tracker,
    tracker_for,
    write_results,
)

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "mot15-dev"
DEFAULT_SEQS = ["ADL-Rundle-6", "ETH-Bahnhof", "KITTI-13", "TUD-Stadtmitte"]

# (rows, tracker seconds) for one sequence.
Runner = Callable[[SeqInfo, Detections], tuple[np.ndarray, float]]


def run_ours(info: SeqInfo, dets: Detections) -> tuple[np.ndarray, float]:
    result = run_tracker(dets, tracker_for(info))
    return result.rows, result.tracker_seconds


def baseline_runners() -> dict[str, Runner]:
    """The `trackers` baselines, or {} when the package is not installed."""
    try:
        import supervision as sv
        import trackers
    except ImportError:
        return {}

    def make(factory: Callable[[SeqInfo], object]) -> Runner:
        def run(info: SeqInfo, dets: Detections) -> tuple[np.ndarray, float]:
            tracker = factory(info)
            frames = [
                sv.Detections(xyxy=b.copy(), confidence=s.copy(), class_id=np.zeros(len(s), int))
                if len(s)
                else sv.Detections.empty()
                for b, s in dets
            ]
            rows: list[np.ndarray] = []
            spent = 0.0
            for f, det in enumerate(frames, 1):
                t0 = time.perf_counter()
                out = tracker.update(det)  # type: ignore[attr-defined]
                spent += time.perf_counter() - t0
                ids = np.asarray(out.tracker_id if out.tracker_id is not None else [], int)
                keep = ids >= 0
                if keep.any():
                    b = out.xyxy[keep]
                    rows.append(
                        np.column_stack(
                            [
                                np.full(keep.sum(), f),
                                ids[keep] + 1,  # MOTChallenge ids are positive
                                b[:, 0],
                                b[:, 1],
                                b[:, 2] - b[:, 0],
                                b[:, 3] - b[:, 1],
                            ]
                        )
                    )
            return (np.concatenate(rows) if rows else np.zeros((0, 6))), spent

        return run

    return {
        "SORT (paper: age 1)": make(
            lambda i: trackers.SORTTracker(
                lost_track_buffer=1,
                frame_rate=30.0,  # buffer of exactly one frame whatever the rate
                minimum_consecutive_frames=3,
                minimum_iou_threshold=0.3,
                track_activation_threshold=0.0,
            )
        ),
        "SORT (trackers)": make(lambda i: trackers.SORTTracker(frame_rate=i.frame_rate)),
        "ByteTrack (trackers)": make(lambda i: trackers.ByteTrackTracker(frame_rate=i.frame_rate)),
        "OC-SORT (trackers)": make(lambda i: trackers.OCSORTTracker(frame_rate=i.frame_rate)),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("seq_dirs", nargs="*", type=Path)
    args = parser.parse_args(argv)
    seq_dirs = args.seq_dirs or [DEFAULT_DATA / s for s in DEFAULT_SEQS]
    missing = [d for d in seq_dirs if not (d / "seqinfo.ini").is_file()]
    if missing:
        print(f"error: no MOTChallenge sequence at {missing[0]}", file=sys.stderr)
        return 1
    loaded = [load_sequence(d) for d in seq_dirs]

    runners: dict[str, Runner] = {"walkout (ours)": run_ours}
    baselines = baseline_runners()
    if not baselines:
        print(
            "note: the `trackers` package is not installed (pip install 'walkout[bench]'): "
            "running ours only, no baselines"
        )
    runners.update(baselines)

    speed: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="walkout-bench-mot-") as tmp:
        files: dict[str, dict[str, Path]] = {}
        for k, (name, runner) in enumerate(runners.items()):
            files[name] = {}
            frames, seconds = 0, 0.0
            for info, dets in loaded:
                rows, spent = runner(info, dets)
                path = Path(tmp) / f"t{k}" / f"{info.name}.txt"
                write_results(path, rows)
                files[name][info.name] = path
                frames += len(dets.boxes)
                seconds += spent
            speed[name] = frames / seconds if seconds > 0 else float("inf")
        scores = evaluate({info.name: info.path for info, _ in loaded}, files)

    print(
        f"machine: {platform.processor() or platform.machine()}, python {platform.python_version()}"
    )
    seqs = [info.name for info, _ in loaded] + ["COMBINED"]
    header = f"{'tracker':<22} {'sequence':<16} {'HOTA':>6} {'MOTA':>6} {'IDF1':>6} {'IDSW':>5}"
    print(header)
    print("-" * len(header))
    for name in runners:
        for seq in seqs:
            s = scores[name][seq]
            print(
                f"{name:<22} {seq:<16} {s['HOTA']:6.1f} {s['MOTA']:6.1f} {s['IDF1']:6.1f} "
                f"{s['IDSW']:5.0f}"
            )
    print()
    print(f"{'tracker':<22} {'HOTA':>6} {'MOTA':>6} {'IDF1':>6} {'frames/s':>9}  (combined)")
    for name in runners:
        s = scores[name]["COMBINED"]
        print(f"{name:<22} {s['HOTA']:6.1f} {s['MOTA']:6.1f} {s['IDF1']:6.1f} {speed[name]:9,.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
