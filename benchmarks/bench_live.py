"""Live latency, CPU and memory: the medium store running live from the simulator.

Simulates a busy medium store (not timed), plays it in real time with `walkout sim live` into
pty serial ports (6 ports, 360 plates at 60 Hz), virtual cards at pcscd's vpcd readers and a
track socket, runs `walkout edge run` on it, stops it with SIGTERM and prints the edge's
per-stage latency (p50/p99/max), CPU and peak memory from its live-status.json. Starts its own
pcscd when none is running. Both processes share the machine's cores.

Usage: python benchmarks/bench_live.py [--scenario busy-store] [--seconds 180]
"""

from __future__ import annotations

import argparse
import json
import resource
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sim.generate import generate_session
from sim.live.pcscd import list_readers, start_pcscd, stop_pcscd

WALKOUT = str(Path(sys.executable).with_name("walkout"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scenario", default="busy-store")
    parser.add_argument("--store", default="medium")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--seconds", type=float, default=180.0, help="Store time to play.")
    args = parser.parse_args()
    pcscd = None if list_readers() else start_pcscd()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            session = root / "session"
            generate_session(args.scenario, args.seed, session, store=args.store)
            sim_log = (root / "sim.log").open("wb")
            sim = subprocess.Popen(
                [
                    WALKOUT,
                    "sim",
                    "live",
                    "--session",
                    str(session),
                    "--out",
                    str(root / "if"),
                    "--until",
                    str(args.seconds),
                    "-q",
                ],
                stdout=sim_log,
                stderr=subprocess.STDOUT,
            )
            while not (root / "if" / "store.yaml").exists():
                time.sleep(0.1)
            edge_log = (root / "edge.log").open("wb")
            edge = subprocess.Popen(
                [
                    WALKOUT,
                    "edge",
                    "run",
                    "--config",
                    str(root / "if" / "store.yaml"),
                    "--data-dir",
                    str(root / "data"),
                    "--no-cameras",
                    "--log-level",
                    "warning",
                ],
                stdout=edge_log,
                stderr=subprocess.STDOUT,
            )
            sim.wait()
            time.sleep(1.5)
            edge.send_signal(signal.SIGTERM)
            edge.wait(timeout=60)
            sim_cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
            status = json.loads((root / "data" / "live-status.json").read_text())
            sim_tail = (root / "sim.log").read_text().strip().splitlines()[-1]
    finally:
        if pcscd is not None:
            stop_pcscd(pcscd)
    lat = status["latency"]
    up = status["uptime_s"]
    print(
        f"scenario     {args.scenario} on {args.store}, seed {args.seed}: {args.seconds:.0f} s "
        f"played live ({sim_tail})"
    )
    print(
        f"inputs       {status['inputs']}, queue high water {status['queue']['high_water']}, "
        f"blocked puts {status['queue']['blocked_puts']}"
    )
    print(f"core         {status['core']}")
    for stage in ("cart_line", "receipt", "queue", "core"):
        s = lat[stage]
        if s["n"]:
            print(
                f"{stage:<12} n={s['n']:<6} p50 {s['p50_ms']:.1f} ms  p99 {s['p99_ms']:.1f} ms"
                f"  max {s['max_ms']:.1f} ms"
            )
        else:
            print(f"{stage:<12} n=0")
    print(
        f"edge CPU     {status['cpu_s']:.1f} s over {up:.0f} s = "
        f"{100 * status['cpu_s'] / up:.0f} % "
        f"of one core; peak RSS {status['max_rss_mb']:.0f} MB"
    )
    both = sim_cpu.ru_utime + sim_cpu.ru_stime
    print(f"sim + edge   {both:.1f} s CPU (children, both processes)")


if __name__ == "__main__":
    main()
