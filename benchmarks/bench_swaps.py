"""Identity-swap repair against the simulator's true track-id log.

Generates each session (realistic track errors), keeps the track observer's log of which person
every tracker id follows from when (`sim.track_noise.Assignment`), runs `SwapRepair` over the
session's track stream, and counts the frames in which an output id follows someone other than
the person it started on. Prints that share per session and in total, with no repair at all for
comparison. Usage:
    python benchmarks/bench_swaps.py [--scenario busy-store] [--seeds 0,1,2]
        [--jump-m 0.15] [--ratio 0.4]
"""

from __future__ import annotations

import argparse
import bisect
import json
import tempfile
from dataclasses import replace
from pathlib import Path

import sim.generate as generate
from edge.tracks.swaps import SwapParams, SwapRepair
from sim.track_noise import TrackObserver

_observers: list[TrackObserver] = []


class _RecordingObserver(TrackObserver):
    """The simulator's observer, remembered so that its assignment log can be read back."""

    def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        _observers.append(self)


def wrong_frames(tracks_file: Path, log: list, params: SwapParams | None) -> tuple[int, int]:
    """(frames on the wrong person, frames with a known person) over a track stream."""
    history: dict[int, tuple[list[float], list[int | None]]] = {}
    for a in log:
        times, people = history.setdefault(a.track_id, ([], []))
        times.append(a.t)
        people.append(a.person_id)

    def person(track_id: int, t: float) -> int | None:
        times, people = history.get(track_id, ([], []))
        i = bisect.bisect_right(times, t + 1e-9) - 1
        return people[i] if i >= 0 else None

    repair = SwapRepair(params) if params is not None else None
    owner: dict[int, int] = {}
    wrong = total = 0
    with tracks_file.open() as f:
        for line in f:
            row = json.loads(line)
            t = row["t"]
            people = [
                (p["id"], p["x"], p["y"], tuple(map(tuple, p["hands"]))) for p in row["people"]
            ]
            out = repair.relabel(t, people) if repair is not None else people
            for (track_id, *_), (out_id, *_) in zip(people, out, strict=True):
                who = person(track_id, t)
                if who is None:
                    continue
                total += 1
                if owner.setdefault(out_id, who) != who:
                    wrong += 1
    return wrong, total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scenario", default="busy-store")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--jump-m", type=float, default=SwapParams().jump_m)
    parser.add_argument("--ratio", type=float, default=SwapParams().ratio)
    args = parser.parse_args()
    params = replace(SwapParams(), jump_m=args.jump_m, ratio=args.ratio)
    generate.TrackObserver = _RecordingObserver  # type: ignore[misc]
    sums = {"none": [0, 0], "repair": [0, 0]}
    for seed in (int(s) for s in args.seeds.split(",")):
        with tempfile.TemporaryDirectory() as tmp:
            session = Path(tmp) / "s"
            _observers.clear()
            generate.generate_session(args.scenario, seed, session)
            log = _observers[-1].assignments
            for name, p in (("none", None), ("repair", params)):
                wrong, total = wrong_frames(session / "tracks.jsonl", log, p)
                sums[name][0] += wrong
                sums[name][1] += total
                print(
                    f"{args.scenario} seed {seed} {name:6s}: {wrong}/{total} frames on the wrong "
                    f"person ({100 * wrong / max(total, 1):.2f} %)",
                    flush=True,
                )
    for name, (wrong, total) in sums.items():
        print(f"total {name:6s}: {wrong}/{total} ({100 * wrong / max(total, 1):.2f} %)")


if __name__ == "__main__":
    main()
