"""Benchmark the walkout-lc1 frame parser on a store-sized stream.

Generates a whole store's shelf traffic with the real encoder (default: 30 shelves x 12 plates,
60 Hz, 6 samples per frame, one status frame per board per second, 60 simulated seconds),
interleaves the boards' frames in time order, cuts the byte stream into serial-read-sized chunks
(random 64..4096 bytes by default, seeded) and times :class:`FrameParser` on it. Prints frames/s,
MB/s and the replay speed as a multiple of real time. Parsing is checked, not just timed: every
frame must come back and no error counter may move.

Run: ``python benchmarks/bench_shelf_parser.py [--shelves 30 --plates 12 --seconds 60]``.
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np

from edge.shelf.protocol import (
    DEFAULT_SAMPLE_RATE_HZ,
    DEFAULT_SAMPLES_PER_FRAME,
    BoardEncoder,
    FrameParser,
)


def build_stream(
    shelves: int, plates: int, seconds: int, samples_per_frame: int, seed: int
) -> tuple[bytes, int]:
    """Return (byte stream, number of frames) for the whole store, frames in time order."""
    rng = np.random.default_rng(seed)
    encoders = [BoardEncoder(b, plates) for b in range(shelves)]
    frames_per_s = DEFAULT_SAMPLE_RATE_HZ // samples_per_frame
    baseline = rng.integers(-200_000, 200_000, size=(shelves, plates))
    parts: list[bytes] = []
    for sec in range(seconds):
        for k in range(frames_per_s):
            for b, enc in enumerate(encoders):
                noise = rng.integers(-300, 300, size=(samples_per_frame, plates))
                parts.append(enc.samples(baseline[b] + noise))
                if k == 0:
                    parts.append(enc.status(uptime_ms=sec * 1000))
    return b"".join(parts), len(parts)


def chunk(stream: bytes, seed: int, lo: int = 64, hi: int = 4096) -> list[bytes]:
    """Cut the stream like serial reads of varying size would."""
    rng = np.random.default_rng(seed)
    out: list[bytes] = []
    pos = 0
    while pos < len(stream):
        size = int(rng.integers(lo, hi + 1))
        out.append(stream[pos : pos + size])
        pos += size
    return out


def run_once(chunks: list[bytes]) -> tuple[float, FrameParser, int]:
    parser = FrameParser()
    n = 0
    t0 = time.perf_counter()
    for c in chunks:
        n += len(parser.feed(c))
    n += len(parser.flush())
    return time.perf_counter() - t0, parser, n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shelves", type=int, default=30)
    ap.add_argument("--plates", type=int, default=12)
    ap.add_argument("--seconds", type=int, default=60)
    ap.add_argument("--samples-per-frame", type=int, default=DEFAULT_SAMPLES_PER_FRAME)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--chunk-min", type=int, default=64, help="smallest read, bytes")
    ap.add_argument("--chunk-max", type=int, default=4096, help="largest read, bytes")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()

    stream, n_frames = build_stream(
        args.shelves, args.plates, args.seconds, args.samples_per_frame, args.seed
    )
    chunks = chunk(stream, args.seed + 1, args.chunk_min, args.chunk_max)
    times: list[float] = []
    for _ in range(args.repeats):
        dt, parser, got = run_once(chunks)
        st = parser.stats
        if got != n_frames or st.crc_errors or st.bad_header or st.bytes_discarded or st.seq_gaps:
            raise SystemExit(f"parse check failed: {got}/{n_frames} frames, {st}")
        times.append(dt)
    best = min(times)
    median = float(np.median(times))
    mb = len(stream) / 1e6
    print(
        f"walkout-lc1 parser: {args.shelves} shelves x {args.plates} plates, "
        f"{DEFAULT_SAMPLE_RATE_HZ} Hz, {args.samples_per_frame} samples/frame, "
        f"{args.seconds} s simulated"
    )
    print(
        f"  stream: {n_frames} frames, {mb:.2f} MB, {len(chunks)} chunks of "
        f"{args.chunk_min}..{args.chunk_max} B "
        f"({platform.python_implementation()} {platform.python_version()}, "
        f"numpy {np.__version__}, {platform.machine()})"
    )
    print(
        f"  best of {args.repeats}: {best * 1e3:.1f} ms -> {n_frames / best:,.0f} frames/s, "
        f"{mb / best:.1f} MB/s, {args.seconds / best:,.0f}x real time"
    )
    print(f"  median: {median * 1e3:.1f} ms -> {n_frames / median:,.0f} frames/s")


if __name__ == "__main__":
    main()
