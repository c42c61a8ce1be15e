"""`walkout config validate` and `walkout config schema`."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from edge.cli.errors import user_errors

app = typer.Typer(help="Validate store configs and print their schema.", no_args_is_help=True)


@app.command()
def validate(
    file: str = typer.Argument(..., help="Store config YAML file (or a preset name)."),
) -> None:
    """Validate a store config; print every problem with file, line and key path."""
    from edge.config import load_store_config
    from edge.config.layout import StoreLayout

    with user_errors():
        config = load_store_config(file)
    layout = StoreLayout(config)
    typer.echo(
        f"ok: store {config.store.id!r}: {len(config.gondolas)} gondolas, "
        f"{len(layout.shelves)} shelves, {len(layout.plates)} plates, "
        f"{len(config.products)} products, {len(config.gates)} gates, "
        f"{len(config.cameras)} cameras"
    )


@app.command()
def schema(
    out: Path | None = typer.Option(None, "--out", "-o", help="Write to this file, not stdout."),
) -> None:
    """Print the JSON schema of the store config (format version 1)."""
    from edge.config.models import StoreConfig

    text = json.dumps(StoreConfig.model_json_schema(), indent=2)
    if out is None:
        typer.echo(text)
    else:
        out.write_text(text + "\n", encoding="utf-8")
