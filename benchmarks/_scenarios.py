"""What the scenario-library benchmarks share: their command-line options, the job list, and
generating and replaying one scenario/seed in a temporary folder."""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from edge.replay.runner import replay_session
from sim.generate import generate_session
from sim.scenario import load_scenario, scenario_names

TRACK_MODES = ("realistic", "no-swaps", "perfect")
T = TypeVar("T")


def add_scenario_options(parser: argparse.ArgumentParser, *, first_seed: int) -> None:
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument(
        "--first-seed", type=int, default=first_seed, help="seeds first..first+seeds-1"
    )
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--scenario", action="append")
    parser.add_argument(
        "--tracks",
        choices=TRACK_MODES,
        default="realistic",
        help="person-track errors: as the scenarios say, without identity swaps, or none",
    )


def scenario_jobs(args: argparse.Namespace) -> tuple[list[str], list[tuple[str, int, str]]]:
    """The scenario names asked for and one (scenario, seed, track mode) job per run."""
    names = args.scenario or scenario_names()
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    return names, [(n, seed, args.tracks) for n in names for seed in seeds]


@contextmanager
def replayed(scenario: str, seed: int, tracks: str) -> Iterator[tuple[Path, Path]]:
    """Generate the session and replay it; yields (session, run) folders, removed afterwards.
    A track mode other than realistic isolates fusion from (some) tracking errors."""
    with tempfile.TemporaryDirectory() as tmp:
        session, run = Path(tmp) / "s", Path(tmp) / "r"
        sc = load_scenario(scenario)
        if tracks != "realistic":
            sc = sc.model_copy(deep=True)
            sc.tracks.noise = tracks
        generate_session(sc, seed, session)
        replay_session(session, run)
        yield session, run


def on_replay(job: tuple[str, int, str], measure: Callable[[Path, Path], T]) -> T:
    """`measure(session, run)` on a freshly replayed scenario/seed."""
    with replayed(*job) as (session, run):
        return measure(session, run)
