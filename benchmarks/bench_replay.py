"""Replay speed of the edge pipeline on a busy medium store (weights and tracks).

Generates the session once (not timed), then times `replay_session` and prints the multiple of
real time and peak memory. Usage: python benchmarks/bench_replay.py [--scenario busy-store]
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

from edge.replay.runner import replay_session
from sim.generate import generate_session


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scenario", default="busy-store")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        session = Path(tmp) / "s"
        generate_session(args.scenario, args.seed, session)
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        times = []
        for i in range(args.repeat):
            started = time.perf_counter()
            result = replay_session(session, Path(tmp) / f"r{i}")
            times.append(time.perf_counter() - started)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    best = min(times)
    print(f"scenario     {args.scenario} seed {args.seed}: {result.duration_s:.0f} s of store time")
    print(
        f"replay       best {best:.2f} s of {args.repeat} "
        f"({result.duration_s / best:.0f}x real time)"
    )
    print(f"events       {result.shelf_events} shelf events, {result.receipts} receipts")
    print(f"peak RSS     {peak:.0f} MB (after generation: {before:.0f} MB)")


if __name__ == "__main__":
    main()
