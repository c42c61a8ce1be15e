"""Time `walkout sim generate` for a scenario (default: the ten-minute busy medium store).

Prints wall time, store time simulated, the speed as a multiple of real time, session size and
peak memory. Usage: python benchmarks/bench_sim_generate.py [--scenario busy-store] [--seed 1]
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

from sim.generate import generate_session


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scenario", default="busy-store")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "session"
        started = time.perf_counter()
        result = generate_session(args.scenario, args.seed, out)
        elapsed = time.perf_counter() - started
        size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"scenario          {args.scenario} (seed {args.seed})")
    print(
        f"store time        {result.duration_s:.0f} s, {result.shoppers} shoppers, "
        f"{result.actions} true actions"
    )
    print(f"wall time         {elapsed:.1f} s ({result.duration_s / elapsed:.0f}x real time)")
    print(f"session size      {size / 1e6:.1f} MB")
    print(f"peak memory (RSS) {peak_mb:.0f} MB")


if __name__ == "__main__":
    main()
