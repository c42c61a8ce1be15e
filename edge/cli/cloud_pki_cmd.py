"""`walkout cloud pki ...`: certificates for TLS with client certificates (docs/mqtt.md)."""

from __future__ import annotations

from pathlib import Path

import typer

from edge.cli.errors import UserError, user_errors

app = typer.Typer(help="Certificates for the broker and the stores.", no_args_is_help=True)


@app.command("init")
def init(
    out: Path = typer.Option(..., "--out", help="Folder for ca.crt/ca.key and broker.crt/.key."),
    broker_host: list[str] = typer.Option(
        ["localhost", "127.0.0.1"], "--broker-host", help="Broker DNS names or IPs (repeat)."
    ),
) -> None:
    """Create the fleet CA and the broker's server certificate."""
    from cloud.pki import create_ca, issue

    with user_errors():
        if (out / "ca.key").exists():
            raise UserError(f"{out / 'ca.key'} exists: refusing to replace the fleet's CA")
        ca = create_ca(out)
        server = issue(ca, "broker", out, server=True, hosts=tuple(broker_host))
    typer.echo(f"CA {ca.cert}; broker certificate {server.cert} (key {server.key})")


@app.command("issue")
def issue_client(
    name: str = typer.Argument(..., help="Store id (or walkout-cloud for the ingest workers)."),
    ca_dir: Path = typer.Option(..., "--ca", help="Folder holding ca.crt and ca.key."),
    out: Path = typer.Option(..., "--out", help="Folder for NAME.crt and NAME.key."),
) -> None:
    """Issue a client certificate whose CN is NAME: the broker's user name for it."""
    from cloud.pki import Issued, issue

    with user_errors():
        ca = Issued(ca_dir / "ca.crt", ca_dir / "ca.key")
        for path in (ca.cert, ca.key):
            if not path.exists():
                raise UserError(f"{path}: missing (run `walkout cloud pki init` first)")
        got = issue(ca, name, out)
    typer.echo(f"certificate {got.cert} (key {got.key})")
