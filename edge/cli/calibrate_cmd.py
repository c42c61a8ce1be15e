"""`walkout calibrate ...`: camera intrinsics, floor pose and load-cell tare/span."""

from __future__ import annotations

import typer

app = typer.Typer(help="Calibrate cameras, the floor and shelf plates.", no_args_is_help=True)
