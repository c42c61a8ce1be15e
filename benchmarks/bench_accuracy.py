"""Checkout accuracy over the scenario library: generate, replay and score every scenario.

Each scenario runs with several seeds (default 3); results are added up with
`edge.eval.scoring.combine` and printed as the bucket table (F1 by the number of shoppers at one
shelf at once) plus per-scenario lines. Usage:
    python benchmarks/bench_accuracy.py [--seeds 3] [--first-seed 1] [--jobs 2]
        [--scenario NAME ...]
        [--tracks realistic|no-swaps|perfect] [--json OUT]
Rules are tuned on seeds 0-2 and checked on held-out seeds 3-5 (`--first-seed 3`).
"""

from __future__ import annotations

import argparse
import json
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from _scenarios import add_scenario_options, on_replay, scenario_jobs

from edge.eval import evaluate
from edge.eval.scoring import combine


def _measure(session: Path, run: Path) -> dict:
    result = evaluate(session, run)
    stats = json.loads((run / "run.json").read_text())["stats"]
    result["track_swaps_repaired"] = stats.get("track_swaps_repaired", 0)
    return result


def run_one(job: tuple[str, int, str]) -> tuple[str, int, dict]:
    return job[0], job[1], on_replay(job, _measure)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    add_scenario_options(parser, first_seed=1)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    names, jobs = scenario_jobs(args)
    results: dict[str, list[dict]] = {}
    with ProcessPoolExecutor(args.jobs) as pool:
        for scenario, seed, result in pool.map(run_one, jobs):
            results.setdefault(scenario, []).append(result)
            print(f"  done {scenario} seed {seed}", flush=True)
    print(f"\n{'scenario':28s} visits  F1     assoc  review  false")
    for name in names:
        c = combine(results[name])
        print(
            f"{name:28s} {c['visits']:6d}  {c['overall']['f1']:.3f}  "
            f"{c['association_accuracy']:.3f}  {c['reviewed']:6d}  {c['false_charges']:5d}"
        )
    total = combine([r for rs in results.values() for r in rs])
    print(f"\n{'bucket':8s} visits  TP    FP    FN    precision recall F1")
    for bucket, b in total["buckets"].items():
        f1 = "-" if b["f1"] is None else f"{b['f1']:.3f}"
        prec = "-" if b["precision"] is None else f"{b['precision']:.3f}"
        rec = "-" if b["recall"] is None else f"{b['recall']:.3f}"
        counts = f"{b['visits']:6d}  {b['tp']:5d} {b['fp']:5d} {b['fn']:5d}"
        print(f"{bucket:8s} {counts} {prec:9s} {rec:6s} {f1}")
    o = total["overall"]
    swaps = sum(r.get("track_swaps_repaired", 0) for rs in results.values() for r in rs)
    print(
        f"\nall: visits {total['visits']}, F1 {o['f1']:.3f}, review rate "
        f"{total['review_rate']:.3f}, false charges {total['false_charges']} "
        f"({total['false_charges_per_1000_visits']:.1f} per 1,000 visits), shelf events "
        f"P {total['shelf_events']['precision']:.3f} R {total['shelf_events']['recall']:.3f}, "
        f"association {total['association_accuracy']:.3f}, swaps repaired {swaps}"
    )
    lat = total["latency_s"]
    print(
        f"latency cart line p99 {lat['cart_line']['p99']} s, receipt p99 {lat['receipt']['p99']} s"
    )
    if args.json:
        args.json.write_text(
            json.dumps(
                {"total": total, "scenarios": {k: combine(v) for k, v in results.items()}},
                indent=1,
                default=str,
            )
        )


if __name__ == "__main__":
    main()
