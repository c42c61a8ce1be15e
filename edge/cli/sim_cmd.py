"""`walkout sim generate` and `walkout sim scenarios`."""

from __future__ import annotations

import time
from pathlib import Path

import typer

from edge.cli.errors import user_errors

app = typer.Typer(
    help="Simulate a store: scenarios in, recorded sessions out.", no_args_is_help=True
)


@app.command()
def scenarios() -> None:
    """List the named scenarios, one per line: name, then what it exercises."""
    from sim.scenario import load_scenario, scenario_names

    for name in scenario_names():
        typer.echo(f"{name}\t{load_scenario(name).description}")


@app.command()
def generate(
    scenario: str = typer.Option(..., "--scenario", help="Named scenario or scenario YAML file."),
    out: Path = typer.Option(..., "--out", help="Session directory to write."),
    store: str | None = typer.Option(
        None,
        "--store",
        help="Store preset (small, medium, large) or config file; default: the scenario's store.",
    ),
    seed: int = typer.Option(0, "--seed", help="Random seed: same seed, same session bytes."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing session."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Simulate a scenario and write a recorded session with ground truth."""
    from edge.cli.progress import stage_progress
    from sim.generate import generate_session

    started = time.perf_counter()
    with user_errors(), stage_progress(["planning", "tracks", "shelves"], disable=quiet) as report:
        result = generate_session(
            scenario, seed, out, store=store, overwrite=overwrite, progress=report
        )
    typer.echo(
        f"wrote {result.path}: {result.duration_s:.0f} s of store time, "
        f"{result.shoppers} shoppers, "
        f"{result.actions} true actions, in {time.perf_counter() - started:.1f} s"
    )
