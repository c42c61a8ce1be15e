"""`walkout edge replay`: the edge pipeline over a recorded session."""

from __future__ import annotations

import time
from pathlib import Path

import typer

from edge.cli.errors import user_errors

app = typer.Typer(help="Run the edge pipeline (replay of recorded sessions).", no_args_is_help=True)


@app.command()
def replay(
    session: Path = typer.Argument(..., help="Recorded session folder."),
    out: Path = typer.Option(..., "--out", help="Run folder to write (events, receipts, journal)."),
    events_out: Path | None = typer.Option(
        None, "--events-out", help="Also write every shelf event, one JSON object per line."
    ),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing run folder."),
    review_policy: str = typer.Option(
        "settle_and_flag",
        "--review-policy",
        help="settle_and_flag: charge the best guess and flag it; hold: a flagged receipt is "
        "journaled but not published until reviewed.",
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Replay a session as fast as the CPU allows; same session, byte-identical output."""
    from edge.cli.errors import UserError
    from edge.cli.progress import stage_progress
    from edge.replay.runner import replay_session

    started = time.perf_counter()
    with user_errors(), stage_progress(["replay"], disable=quiet) as report:
        if review_policy not in ("settle_and_flag", "hold"):
            raise UserError(
                f"--review-policy {review_policy!r}: expected 'settle_and_flag' or 'hold'"
            )
        result = replay_session(
            session,
            out,
            events_out=events_out,
            overwrite=overwrite,
            progress=report,
            review_policy=review_policy,
        )
    elapsed = time.perf_counter() - started
    typer.echo(
        f"replayed {result.duration_s:.0f} s in {elapsed:.1f} s "
        f"({result.duration_s / max(elapsed, 1e-9):.0f}x real time): "
        f"{result.shelf_events} shelf events, {result.receipts} receipts "
        f"({result.reviews} for review) -> {result.run_dir}"
    )
