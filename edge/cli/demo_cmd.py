"""`walkout demo`: the main job on embedded defaults.

For now it generates a busy medium-store session with the simulator and summarises it; the
receipts issue turns it into generate, replay, receipts and score.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import typer

from edge.cli.errors import user_errors


def demo(
    out: Path | None = typer.Option(
        None, "--out", help="Where to keep the session (default: a temporary folder)."
    ),
    scenario: str = typer.Option("busy-store", "--scenario", help="Scenario to run."),
    seed: int = typer.Option(1, "--seed", help="Random seed."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Generate a busy store session and summarise it."""
    from rich.console import Console

    from edge.cli.progress import stage_progress
    from edge.session.reader import Session
    from edge.session.summary import render_summary, summarize
    from sim.generate import generate_session

    console = Console()
    target = out or Path(tempfile.mkdtemp(prefix="walkout-demo-")) / "session"
    console.print(f"[bold]Walkout demo[/]: simulating scenario [cyan]{scenario}[/] (seed {seed})")
    with user_errors(), stage_progress(["planning", "tracks", "shelves"], disable=quiet) as report:
        result = generate_session(
            scenario, seed, target, overwrite=out is not None, progress=report
        )
    with user_errors():
        session = Session.open(result.path)
        render_summary(summarize(session), console=console)
    console.print(f"session kept in {result.path}")
