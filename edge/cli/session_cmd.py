"""`walkout session ...`: inspect recorded sessions and import third-party data as sessions."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from edge.cli.errors import user_errors

app = typer.Typer(help="Inspect and import recorded sessions.", no_args_is_help=True)


@app.command()
def info(
    path: Path = typer.Argument(..., help="Session folder (the one holding manifest.json)."),
    verify: bool = typer.Option(
        False, "--verify", help="Also check the sha256 of every file (reads everything)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Summarise a recorded session: streams, counts, rates, decoding errors, ground truth."""
    from rich.console import Console

    from edge.session.reader import Session
    from edge.session.summary import render_summary, summarize

    with user_errors():
        session = Session.open(path)
        verified = session.verify() if verify else None
        summary = summarize(session)
    summary["verified"] = verified
    if as_json:
        typer.echo(json.dumps(summary, indent=2))
    else:
        render_summary(summary, console=Console())


@app.command("import-plates")
def import_plates_cmd(
    plates_dir: Path = typer.Argument(
        ..., help="Folder of gondola_<g>_shelf_<s>_plate_<p>.csv files (AutoCheckout layout)."
    ),
    planogram: Path = typer.Option(
        ..., "--planogram", help="Planogram CSV: Name,Gondola,Shelf,Plate,Weight,Price."
    ),
    out: Path = typer.Option(..., "--out", help="Session folder to write."),
    store_id: str = typer.Option("imported", "--store-id", help="Store id of the new config."),
    samples_per_frame: int = typer.Option(
        12, "--samples-per-frame", min=1, max=64, help="Samples per shelf-controller frame."
    ),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing session."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Import per-plate weight CSV files and a planogram as a recorded session."""
    from edge.cli.progress import stage_progress
    from edge.session.plates_import import import_plates

    with user_errors(), stage_progress(["read", "encode"], disable=quiet) as report:
        result = import_plates(
            plates_dir,
            planogram,
            out,
            store_id=store_id,
            samples_per_frame=samples_per_frame,
            progress=report,
            overwrite=overwrite,
        )
    typer.echo(f"wrote {result}")


@app.command()
def plot(
    path: Path = typer.Argument(..., help="Session folder."),
    out: Path = typer.Option(..., "--out", "-o", help="PNG file to write."),
    shelf: str | None = typer.Option(
        None, "--shelf", help='Shelf to plot as "gondola.shelf" (default: the busiest).'
    ),
    start: float | None = typer.Option(None, "--from", help="Window start, session seconds."),
    end: float | None = typer.Option(None, "--to", help="Window end, session seconds."),
) -> None:
    """Draw the floor with everyone's tracks and one shelf's plate weights with true events."""
    from edge.cli.errors import UserError
    from edge.session.plot import plot_session
    from edge.session.reader import Session

    with user_errors():
        chosen = None
        if shelf is not None:
            try:
                g, s = (int(x) for x in shelf.split("."))
            except ValueError:
                raise UserError(
                    f'--shelf {shelf!r}: expected "gondola.shelf", e.g. "1.2"'
                ) from None
            chosen = (g, s)
        window = (start or 0.0, end if end is not None else float("inf")) if start or end else None
        written = plot_session(Session.open(path), out, shelf=chosen, window=window)
    typer.echo(f"wrote {written}")
