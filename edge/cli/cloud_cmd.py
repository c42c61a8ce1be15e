"""`walkout cloud ...`: the cloud service, its control-plane client and model retraining.

Each part lives in its own module and is mounted here.
"""

from __future__ import annotations

import typer

app = typer.Typer(help="Cloud service, control plane and retraining.", no_args_is_help=True)
