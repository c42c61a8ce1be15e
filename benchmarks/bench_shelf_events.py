"""Benchmark shelf decoding and event detection on a simulated busy medium store.

Generates ``busy-store`` (the medium store: 30 shelves x 12 plates at 60 Hz, about 140 shoppers
over ten minutes) into a temporary folder, reads every shelf stream's recorded bytes into memory,
then times :class:`ShelfDecoder` + :class:`ShelfEventDetector` over all of it, as replay runs them
(stream by stream, bytes in receive order). Prints samples/s, the real-time factor, per-block
costs (all blocks, and a quiet shelf on its own), and events found against the true actions
(greedy one-to-one matching on the same shelf, spans overlapping [t_start, t_settled + 1 s]).

Run: ``python benchmarks/bench_shelf_events.py [--scenario busy-store --seed 1 --session DIR]``
(``--session`` reuses an existing session instead of generating one).
"""

from __future__ import annotations

import argparse
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

from edge.config.layout import StoreLayout
from edge.session.reader import Session
from edge.shelf.decode import PlateBlock, ShelfDecoder
from edge.shelf.events import PlateFault, ShelfEvent, ShelfEventDetector


def match(
    actions: list, events: list[ShelfEvent], after_s: float = 1.0
) -> tuple[int, int, list[float]]:
    acts = [a for a in actions if a.kind in ("pick", "put") and a.plates]
    used: set[int] = set()
    latency: list[float] = []
    for a in sorted(acts, key=lambda a: a.t_start):
        g, s = (int(x) for x in a.plates[0].split(".")[:2])
        best = None
        for j, e in enumerate(events):
            if (
                j in used
                or (e.gondola, e.shelf) != (g, s)
                or e.t_start > a.t_settled + after_s
                or e.t_end < a.t_start
            ):
                continue
            cost = abs(e.t_start - a.t_start) + abs(e.t_end - a.t_settled)
            if best is None or cost < best[0]:
                best = (cost, j)
        if best is not None:
            used.add(best[1])
            latency.append(events[best[1]].t_detected - a.t_settled)
    return len(acts), len(used), latency


def quiet_block_us(layout: StoreLayout, repeats: int = 20000) -> float:
    """Detector cost of one 6-sample block of a quiet 12-plate shelf (the common case)."""
    key = sorted(layout.shelves)[0]
    det = ShelfEventDetector(layout, *key)
    n = len(layout.shelves[key].plates)
    rng = np.random.default_rng(0)
    blocks = [
        PlateBlock(
            key[0],
            key[1],
            np.arange(i * 6, i * 6 + 6) / 60.0,
            500.0 + rng.normal(0, 0.5, (6, n)),
            0.0,
        )
        for i in range(repeats)
    ]
    for b in blocks[:200]:
        det.feed(b)
    t0 = time.perf_counter()
    for b in blocks[200:]:
        det.feed(b)
    return (time.perf_counter() - t0) / (repeats - 200) * 1e6


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default="busy-store")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--session", type=Path, help="use this session instead of generating one")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        path = args.session
        if path is None:
            from sim.generate import generate_session

            path = Path(tmp) / "session"
            t0 = time.perf_counter()
            generate_session(args.scenario, args.seed, path)
            print(f"generated {args.scenario} seed {args.seed} in {time.perf_counter() - t0:.1f} s")
        session = Session.open(path)
        layout = StoreLayout(session.config)
        streams = [(s.port or "", list(session.iter_shelf(s))) for s in session.shelf_streams]
        truth = session.truth()

    decoders = {port: ShelfDecoder(layout, port) for port, _ in streams}
    detectors = {key: ShelfEventDetector(layout, *key) for key in layout.shelves}
    events: list[ShelfEvent] = []
    faults: list[PlateFault] = []
    blocks = samples = 0
    t_detect = 0.0
    clock = time.perf_counter
    t0 = clock()
    for port, records in streams:
        dec = decoders[port]
        for t, data in records:
            for item in dec.feed(t, data):
                if isinstance(item, PlateBlock):
                    blocks += 1
                    samples += item.grams.shape[0]
                    a = clock()
                    out = detectors[(item.gondola, item.shelf)].feed(item)
                    t_detect += clock() - a
                    for o in out:
                        (events if isinstance(o, ShelfEvent) else faults).append(o)  # type: ignore[arg-type]
        dec.flush()
    for key in sorted(detectors):
        for o in detectors[key].flush():
            (events if isinstance(o, ShelfEvent) else faults).append(o)  # type: ignore[arg-type]
    wall = clock() - t0

    duration = session.manifest.duration_s
    shelves = len(layout.shelves)
    plates = len(layout.plates)
    slow = sum(d.stats["slow_blocks"] for d in detectors.values())
    py = f"{platform.python_implementation()} {platform.python_version()}"
    print(f"machine: {platform.machine()} {py}")
    print(f"session: {duration:.0f} s, {shelves} shelves, {plates} plates, {blocks} blocks")
    plate_samples = samples * plates / shelves
    print(
        f"decode + detect: {wall:.2f} s -> {plate_samples / wall / 1e6:.2f} M plate-samples/s "
        f"({samples / wall:,.0f} sample rows/s), real-time factor {duration / wall:.0f}x"
    )
    print(
        f"per block (decode + detect): {wall / blocks * 1e6:.1f} us; "
        f"detector alone {t_detect / blocks * 1e6:.1f} us "
        f"({slow / blocks:.1%} of blocks took the disturbed path)"
    )
    print(f"quiet 12-plate shelf, detector per 6-sample block: {quiet_block_us(layout):.1f} us")
    if truth is not None:
        n, m, lat = match(list(truth.actions), events)
        lat_a = np.array(lat)
        print(
            f"events: {len(events)} found, {n} true picks/puts; matched {m}: recall {m / n:.3f}, "
            f"precision {m / max(len(events), 1):.3f}"
        )
        print(
            f"latency t_detected - t_settled: median {np.median(lat_a):+.3f} s, "
            f"p90 {np.percentile(lat_a, 90):+.3f} s, within 0.5 s: {np.mean(lat_a <= 0.5):.1%}"
        )
    print(
        f"plate faults: {[(f'{f.gondola}.{f.shelf}.{f.plate}', f.kind, f.active) for f in faults]}"
    )


if __name__ == "__main__":
    main()
