"""Entry point of the `walkout` command.

Sub-apps import their heavy dependencies inside their commands, so `walkout --help` stays fast
and a missing optional extra only breaks the commands that need it.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

import typer

from edge.cli import (
    bench_cmd,
    calibrate_cmd,
    cloud_cmd,
    config_cmd,
    demo_cmd,
    edge_cmd,
    eval_cmd,
    session_cmd,
    sim_cmd,
)

app = typer.Typer(
    name="walkout",
    help="Walkout: the open edge runtime for checkout-free stores.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(config_cmd.app, name="config")
app.add_typer(session_cmd.app, name="session")
app.add_typer(sim_cmd.app, name="sim")
app.add_typer(edge_cmd.app, name="edge")
app.add_typer(calibrate_cmd.app, name="calibrate")
app.add_typer(cloud_cmd.app, name="cloud")
app.add_typer(bench_cmd.app, name="bench")
app.command("eval")(eval_cmd.eval_command)
app.command("demo")(demo_cmd.demo)


def _package_version() -> str:
    try:
        return version("walkout")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "0+unknown"


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"walkout {_package_version()}")
        raise typer.Exit()


@app.callback()
def main(
    version_flag: bool = typer.Option(
        False,
        "--version",
        callback=_print_version,
        is_eager=True,
        help="Print the version and exit.",
    ),
) -> None:
    """Walkout: the open edge runtime for checkout-free stores."""
