"""Benchmark the edge detector (onnxruntime, numpy decode + NMS) on this machine.

1. Milliseconds per frame at the model's input size, batch 1, with 1 and 2 intra-op threads,
   split into pre-processing (letterbox, BGR->RGB, scaling), inference, and decode + NMS.
2. Frames per second across N cameras (N = 1, 2, 4, 6): the N frames of one tick go through one
   batched inference (`Detector.detect_batch`), compared with one inference per frame.

Frames are rendered store frames (640x480) when the renderer is available, else noise; decode
times depend on how many boxes the model finds, so rendered frames are the honest input.

Run: ``python benchmarks/bench_detector.py [--repeats 30] [--manifest PATH]``.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from edge.vision.detector import DEFAULT_MANIFEST, Detector, DetectorOptions
from edge.vision.yolo_decode import decode_yolo


def frames(n: int, seed: int = 99) -> tuple[list[np.ndarray], str]:
    """n frames of 640x480: rendered if possible (unseen seed), else uniform noise."""
    try:
        from sim.render.dataset import render_labelled_frames

        return [f.image for f in render_labelled_frames("medium", n, seed)], "rendered"
    except ImportError:
        rng = np.random.default_rng(seed)
        return [rng.integers(0, 255, (480, 640, 3), dtype=np.uint8) for _ in range(n)], "noise"


def median_s(fn: Callable[[], object], repeats: int) -> float:
    fn()  # one untimed call: caches, lazy allocations
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def per_frame_split(det: Detector, imgs: list[np.ndarray], repeats: int) -> tuple[float, ...]:
    """Median (pre, infer, post) seconds for one frame, cycling through the frames."""
    pre, inf, post = [], [], []
    nc = len(det.classes)
    for k in range(repeats + 1):
        img = imgs[k % len(imgs)]
        t0 = time.perf_counter()
        blob, (lb,) = det.preprocess([img])
        t1 = time.perf_counter()
        raw = det._infer(blob)
        t2 = time.perf_counter()
        d = decode_yolo(raw[0], nc, det.options.conf_threshold, det.options.iou_threshold)
        lb.to_original(d[:, 2:])
        t3 = time.perf_counter()
        if k:  # the first round warms caches
            pre.append(t1 - t0)
            inf.append(t2 - t1)
            post.append(t3 - t2)
    return statistics.median(pre), statistics.median(inf), statistics.median(post)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--manifest", type=Path, default=DEFAULT_MANIFEST)
    ap.add_argument("--repeats", type=int, default=30)
    ap.add_argument("--cameras", type=int, nargs="+", default=[1, 2, 4, 6])
    args = ap.parse_args()

    imgs, kind = frames(max(8, max(args.cameras)))
    probe = Detector(args.manifest, options=DetectorOptions(warmup=False))
    w, h = probe.input_size
    print(
        f"detector {args.manifest.name}: {probe.manifest.info.get('architecture', '?')}, input "
        f"{w}x{h}, classes {list(probe.classes)}, dynamic batch {probe.dynamic_batch}"
    )
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
        f"frames: {kind} 640x480; median of {args.repeats}"
    )

    print("\n1. one frame at a time (batch 1)")
    print("  threads  pre ms  infer ms  decode+NMS ms  total ms  frames/s")
    for threads in (1, 2):
        det = Detector(args.manifest, options=DetectorOptions(intra_op_threads=threads))
        pre, inf, post = per_frame_split(det, imgs, args.repeats)
        total = pre + inf + post
        print(
            f"  {threads:>7}  {pre * 1e3:6.1f}  {inf * 1e3:8.1f}  {post * 1e3:13.2f}  "
            f"{total * 1e3:8.1f}  {1 / total:8.1f}"
        )

    print("\n2. N cameras per tick, 2 threads")
    print("  cameras  batched ms/tick  frames/s  looped ms/tick  frames/s")
    det = Detector(args.manifest, options=DetectorOptions(intra_op_threads=2))
    for n in args.cameras:
        tick = imgs[:n]
        batched = median_s(lambda t=tick: det.detect_batch(t), args.repeats)
        looped = median_s(lambda t=tick: [det.detect(f) for f in t], args.repeats)
        print(
            f"  {n:>7}  {batched * 1e3:15.1f}  {n / batched:8.1f}  {looped * 1e3:14.1f}  "
            f"{n / looped:8.1f}"
        )


if __name__ == "__main__":
    main()
