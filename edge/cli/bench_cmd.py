"""`walkout bench ...`: benchmarks that run the edge's own components on public data."""

from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer(help="Benchmarks on public data (tracker on MOTChallenge).", no_args_is_help=True)


@app.command("mot")
def mot(
    seq_dirs: list[Path] = typer.Argument(
        ..., help="MOTChallenge sequence folders (each with seqinfo.ini and det/det.txt)."
    ),
    out: Path = typer.Option(..., "--out", help="Folder for the results, one <seq>.txt each."),
    evaluate: bool = typer.Option(
        False, "--eval", help="Score with TrackEval (HOTA, MOTA, IDF1) where gt/gt.txt exists."
    ),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bar."),
) -> None:
    """Run the tracker on MOTChallenge public detections and write MOTChallenge result files."""
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TaskID, TaskProgressColumn, TextColumn

    from edge.cli.errors import UserError, user_errors
    from edge.tracking.motchallenge import (
        MotDataError,
        load_sequence,
        run_tracker,
        tracker_for,
        write_results,
    )

    console = Console()
    with user_errors():
        try:
            loaded = [load_sequence(d) for d in seq_dirs]
        except MotDataError as exc:
            raise UserError(str(exc)) from None
        names = [info.name for info, _ in loaded]
        if len(set(names)) != len(names):
            raise UserError(f"two sequences share a name: {', '.join(sorted(names))}")
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UserError(f"{out}: cannot create the output folder ({exc.strerror})") from None

    results: dict[str, Path] = {}
    frames = 0
    seconds = 0.0
    with Progress(
        TextColumn("{task.description:<16}"),
        BarColumn(),
        TaskProgressColumn(),
        console=Console(stderr=True),
        disable=quiet,
    ) as progress:
        for info, dets in loaded:
            task = progress.add_task(info.name, total=info.length)

            def advance(frame: int, task: TaskID = task) -> None:
                progress.update(task, completed=frame)

            result = run_tracker(dets, tracker_for(info), advance)
            path = out / f"{info.name}.txt"
            write_results(path, result.rows)
            results[info.name] = path
            frames += result.frames
            seconds += result.tracker_seconds
    fps = frames / seconds if seconds > 0 else float("inf")
    console.print(f"wrote {len(results)} result file(s) to {out}; tracker {fps:,.0f} frames/s")

    if evaluate:
        with_gt = {
            info.name: info.path for info, _ in loaded if (info.path / "gt/gt.txt").is_file()
        }
        if not with_gt:
            console.print("no gt/gt.txt in any sequence: nothing to score")
            return
        from rich.table import Table

        from edge.tracking.mot_eval import evaluate as trackeval_evaluate

        scores = trackeval_evaluate(with_gt, {"walkout": results})["walkout"]
        table = Table("sequence", "HOTA", "MOTA", "IDF1", "IDSW")
        for seq, s in scores.items():
            table.add_row(
                seq, f"{s['HOTA']:.1f}", f"{s['MOTA']:.1f}", f"{s['IDF1']:.1f}", f"{s['IDSW']:.0f}"
            )
        console.print(table)
