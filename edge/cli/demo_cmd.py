"""`walkout demo`: the main job on embedded defaults.

Simulates a busy medium store with the simulator, replays the recorded session through the edge
pipeline on a virtual clock with a progress bar, prints the receipts and scores them against the
simulator's ground truth.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import typer

from edge.cli.errors import user_errors

RECEIPTS_SHOWN = 8


def demo(
    out: Path | None = typer.Option(
        None, "--out", help="Folder to keep the session and the run (default: a temporary one)."
    ),
    scenario: str = typer.Option("busy-store", "--scenario", help="Scenario to simulate."),
    seed: int = typer.Option(1, "--seed", help="Random seed."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars."),
) -> None:
    """Simulate a busy store, replay it through the edge, print receipts and the score."""
    from rich.console import Console

    from edge.cli.progress import stage_progress
    from edge.eval import evaluate
    from edge.eval.report import render_result
    from edge.replay.runner import replay_session
    from sim.generate import generate_session

    console = Console()
    base = out or Path(tempfile.mkdtemp(prefix="walkout-demo-"))
    session_dir, run_dir = base / "session", base / "run"
    console.print(f"[bold]Walkout demo[/]: scenario [cyan]{scenario}[/], seed {seed} -> {base}")
    with user_errors():
        with stage_progress(["planning", "tracks", "shelves"], disable=quiet) as report:
            generated = generate_session(
                scenario, seed, session_dir, overwrite=out is not None, progress=report
            )
        console.print(
            f"simulated {generated.duration_s:.0f} s of store time: {generated.shoppers} shoppers, "
            f"{generated.actions} true shelf actions"
        )
        started = time.perf_counter()
        with stage_progress(["replay"], disable=quiet) as report:
            replayed = replay_session(session_dir, run_dir, overwrite=True, progress=report)
        elapsed = time.perf_counter() - started
        console.print(
            f"replayed through the edge in {elapsed:.1f} s "
            f"({replayed.duration_s / max(elapsed, 1e-9):.0f}x real time): "
            f"{replayed.shelf_events} shelf events, {replayed.receipts} receipts"
        )
        _print_receipts(console, run_dir / "receipts.jsonl")
        render_result(evaluate(session_dir, run_dir), console=console)
        _send_to_cloud(console, run_dir)
    console.print(f"session: {session_dir}\nrun:     {run_dir}")


def _print_receipts(console, path: Path) -> None:  # type: ignore[no-untyped-def]
    import json

    from rich.table import Table

    receipts = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    table = Table(title=f"Receipts (first {RECEIPTS_SHOWN} of {len(receipts)})")
    for column in ("visit", "card", "exit s", "lines", "total", "review"):
        table.add_column(column)
    for r in receipts[:RECEIPTS_SHOWN]:
        lines = ", ".join(f"{line['quantity']}x {line['name']}" for line in r["lines"]) or "-"
        table.add_row(
            r["visit_id"],
            r["card_uid"][:8],
            f"{r['exit_t']:.1f}" if r["exit_t"] is not None else "-",
            lines,
            f"{r['total']} {r['currency']}",
            ", ".join(r["review_reasons"]) or "no",
        )
    console.print(table)


def _send_to_cloud(console, run_dir: Path) -> None:  # type: ignore[no-untyped-def]
    """Edge and cloud together: the run's outbox over MQTT into the cloud database."""
    from rich.table import Table

    from cloud.demo import run_with_cloud

    result = run_with_cloud(run_dir)
    if result.skipped:
        console.print(f"cloud: skipped ({result.skipped})")
        return
    console.print(
        f"cloud: {result.stored_receipts} of {result.outbox_events} published receipts stored "
        f"in {result.database} via {result.broker} in {result.elapsed_s:.1f} s "
        f"(backlog left: {result.backlog_left})"
    )
    table = Table(title=f"Receipts in the cloud (first {RECEIPTS_SHOWN} of {len(result.receipts)})")
    for column in ("visit", "total", "lines", "review"):
        table.add_column(column)
    for visit_id, minor, currency, lines, review in result.receipts[:RECEIPTS_SHOWN]:
        table.add_row(
            visit_id, f"{minor / 100:.2f} {currency}", str(lines), "yes" if review else "no"
        )
    console.print(table)
