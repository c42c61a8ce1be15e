"""`walkout cloud ...`: the cloud service, its control-plane client and model retraining.

Each part lives in its own module and is mounted here.
"""

from __future__ import annotations

import typer

from edge.cli import cloud_control_cmd, cloud_pki_cmd, cloud_retrain_cmd, cloud_serve_cmd

app = typer.Typer(help="Cloud service, control plane and retraining.", no_args_is_help=True)
app.add_typer(cloud_retrain_cmd.app, name="retrain")
app.command("serve")(cloud_serve_cmd.serve)
app.add_typer(cloud_pki_cmd.app, name="pki")
app.add_typer(cloud_control_cmd.app, name="control")
