"""A rich progress bar for long work, driven by (stage, fraction) callbacks."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn


@contextmanager
def stage_progress(
    stages: list[str], *, console: Console | None = None, disable: bool = False
) -> Iterator[Callable[[str, float], None]]:
    """Yield a callback `report(stage, fraction)` that moves one bar per stage."""
    with Progress(
        TextColumn("{task.description:<10}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        console=console or Console(stderr=True),
        disable=disable,
        transient=False,
    ) as progress:
        tasks = {name: progress.add_task(name, total=1.0) for name in stages}

        def report(stage: str, fraction: float) -> None:
            if stage in tasks:
                progress.update(tasks[stage], completed=min(max(fraction, 0.0), 1.0))

        yield report
