"""`walkout bench ...`: benchmarks that run the edge's own components on public data."""

from __future__ import annotations

import typer

app = typer.Typer(help="Benchmarks on public data (tracker on MOTChallenge).", no_args_is_help=True)
