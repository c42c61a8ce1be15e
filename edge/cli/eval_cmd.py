"""`walkout eval SESSION RUN_DIR [--json]`: score a replay run against the session's truth.

A plain command function (not a sub-app): `edge/cli/main.py` registers it with
`app.command("eval")(eval_command)`. Rules and the JSON schema: docs/scoring.md.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

from edge.cli.errors import user_errors

__all__ = ["eval_command"]


def eval_command(
    session: Path = typer.Argument(
        ..., help="Session folder with ground truth (the one holding manifest.json)."
    ),
    run_dir: Path = typer.Argument(
        ..., help="Run directory written by `walkout edge replay` (receipts.jsonl, events.jsonl)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the result as one JSON object."),
) -> None:
    """Score a replay run against the session's ground truth: receipt-line F1 by shoppers at one
    shelf, false charges, review rate, shelf events, association and latency."""
    from edge.eval import evaluate

    with user_errors():
        result = evaluate(session, run_dir)
    if as_json:
        typer.echo(json.dumps(result, indent=2))
    else:
        from rich.console import Console

        from edge.eval.report import render_result

        render_result(result, Console())
