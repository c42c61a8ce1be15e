"""Turning a user's mistake into a clear message and exit code 1, never a traceback."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer
from rich.console import Console

stderr = Console(stderr=True, highlight=False, soft_wrap=True)


class UserError(Exception):
    """A problem the user can fix (bad file, bad argument); printed without a traceback."""


@contextmanager
def user_errors() -> Iterator[None]:
    """Print known user-facing errors on stderr and exit 1."""
    from edge.config.errors import ConfigError

    try:
        yield
    except (ConfigError, UserError) as exc:
        _print_error(exc)
        raise typer.Exit(1) from None
    except _session_error_types() as exc:
        _print_error(exc)
        raise typer.Exit(1) from None


def _print_error(exc: BaseException) -> None:
    # The message is the user's own text (paths, keys, values): never read it as rich markup.
    stderr.print("[bold red]error:[/] ", end="", markup=True)
    stderr.print(str(exc), markup=False)


def _session_error_types() -> tuple[type[BaseException], ...]:
    """Errors of bad input files (sessions, camera calibration, detector model) that the user
    fixes; imported lazily so `walkout --help` stays fast, each on its own so a missing optional
    dependency of one never hides the others."""
    import importlib

    found: list[type[BaseException]] = []
    for module, name in (
        ("edge.session.errors", "SessionError"),
        ("edge.vision.camera", "CalibrationFileError"),
        ("edge.vision.manifest", "DetectorError"),
        ("edge.vision.replay_stage", "VisionStageError"),
    ):
        try:
            found.append(getattr(importlib.import_module(module), name))
        except ImportError:
            continue
    return tuple(found)
