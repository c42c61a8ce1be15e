"""`walkout session ...` (skeleton; the session-format work fills it in)."""

import typer

app = typer.Typer(help="Inspect and import recorded sessions.", no_args_is_help=True)
