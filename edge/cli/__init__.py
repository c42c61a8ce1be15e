"""The `walkout` command line: one typer app with a sub-app per area."""
