"""`walkout edge replay`: the edge pipeline over a recorded session."""

from __future__ import annotations

import time
from pathlib import Path

import typer

from edge.cli.errors import user_errors

app = typer.Typer(
    help="Run the edge pipeline: live in a store, or replaying recorded sessions.",
    no_args_is_help=True,
)


@app.command()
def replay(
    session: Path = typer.Argument(..., help="Recorded session folder."),
    out: Path = typer.Option(..., "--out", help="Run folder to write (events, receipts, journal)."),
    events_out: Path | None = typer.Option(
        None, "--events-out", help="Also write every shelf event, one JSON object per line."
    ),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing run folder."),
    review_policy: str = typer.Option(
        "settle_and_flag",
        "--review-policy",
        help="settle_and_flag: charge the best guess and flag it; hold: a flagged receipt is "
        "journaled but not published until reviewed.",
    ),
    tracks: str = typer.Option(
        "recorded",
        "--tracks",
        help="recorded: the session's person tracks; cameras: computed from its camera video "
        "(detector + floor tracker); auto: cameras when the session has video; true-boxes: "
        "the floor tracker on the simulator's true camera boxes instead of the detector's "
        "(simulated sessions; measures tracking and fusion apart from the detector).",
    ),
    vision_threads: int = typer.Option(
        2, "--vision-threads", min=1, help="Detector threads (onnxruntime intra-op)."
    ),
    detections: Path | None = typer.Option(
        None,
        "--detections",
        help="With --tracks cameras: replay from the detector output an earlier camera replay of "
        "this session kept (its run's camera_detections.jsonl) instead of the video; same "
        "tracks and receipts, no detector (tracker and fusion experiments in seconds).",
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Replay a session as fast as the CPU allows; same session, byte-identical output."""
    from edge.cli.errors import UserError
    from edge.cli.progress import stage_progress
    from edge.replay.runner import TRACK_SOURCES, replay_session

    started = time.perf_counter()
    with user_errors(), stage_progress(["replay"], disable=quiet) as report:
        if review_policy not in ("settle_and_flag", "hold"):
            raise UserError(
                f"--review-policy {review_policy!r}: expected 'settle_and_flag' or 'hold'"
            )
        if tracks not in TRACK_SOURCES:
            raise UserError(f"--tracks {tracks!r}: expected one of {', '.join(TRACK_SOURCES)}")
        result = replay_session(
            session,
            out,
            events_out=events_out,
            overwrite=overwrite,
            progress=report,
            review_policy=review_policy,
            tracks=tracks,
            vision_threads=vision_threads,
            detections=detections,
        )
    elapsed = time.perf_counter() - started
    typer.echo(
        f"replayed {result.duration_s:.0f} s in {elapsed:.1f} s "
        f"({result.duration_s / max(elapsed, 1e-9):.0f}x real time): "
        f"{result.shelf_events} shelf events, {result.receipts} receipts "
        f"({result.reviews} for review) -> {result.run_dir}"
    )


def _run_live(
    config: Path,
    data_dir: Path | None,
    record: Path | None,
    overwrite: bool,
    duration: float | None,
    no_cameras: bool,
    log_level: str,
    health_port: int | None = None,
) -> None:
    import logging
    import signal

    from edge.live.runtime import LiveOptions, LiveRuntime

    logging.basicConfig(
        level=getattr(logging, log_level.upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    with user_errors():
        runtime = LiveRuntime(
            config,
            LiveOptions(
                data_dir=data_dir,
                record_dir=record,
                overwrite_record=overwrite,
                duration_s=duration,
                cameras=not no_cameras,
                health_port=health_port,
            ),
        )
    # SIGTERM (systemd stop) and Ctrl-C both drain and stop cleanly.
    signal.signal(signal.SIGTERM, lambda *_: runtime.request_stop())
    signal.signal(signal.SIGINT, lambda *_: runtime.request_stop())
    runtime.run()
    status = runtime.status()
    typer.echo(
        f"stopped after {status['uptime_s']:.0f} s: {status['core'].get('receipts', 0)} receipts, "
        f"{len(status['open_visits'])} open visits kept in the journal"
        + (f", recording in {record}" if record else "")
    )


_LOG_LEVEL = typer.Option("info", "--log-level", help="debug, info, warning or error.")


@app.command()
def run(
    config: Path = typer.Option(..., "--config", help="Store config file (YAML)."),
    data_dir: Path | None = typer.Option(
        None, "--data-dir", help="Journal, events and status folder; default: storage.data_dir."
    ),
    record: Path | None = typer.Option(
        None, "--record", help="Also record every live input into this session folder."
    ),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing recording."),
    duration: float | None = typer.Option(
        None,
        "--duration",
        help="Stop by itself after this many seconds (default: run until SIGTERM or Ctrl-C).",
    ),
    no_cameras: bool = typer.Option(False, "--no-cameras", help="Do not open the cameras."),
    health_port: int | None = typer.Option(
        None,
        "--health-port",
        help="Serve /healthz, /readyz, /metrics and a status page on 127.0.0.1:PORT "
        "(docs/health.md).",
    ),
    log_level: str = _LOG_LEVEL,
) -> None:
    """Run the store live: sensor drivers feed the pipeline until SIGTERM (docs/live.md)."""
    _run_live(config, data_dir, record, overwrite, duration, no_cameras, log_level, health_port)


@app.command()
def record(
    config: Path = typer.Option(..., "--config", help="Store config file (YAML)."),
    out: Path = typer.Option(..., "--out", help="Session folder to record into."),
    duration: float = typer.Option(..., "--duration", help="Seconds to record."),
    data_dir: Path | None = typer.Option(
        None, "--data-dir", help="Journal, events and status folder; default: storage.data_dir."
    ),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing recording."),
    no_cameras: bool = typer.Option(False, "--no-cameras", help="Do not open the cameras."),
    log_level: str = _LOG_LEVEL,
) -> None:
    """Run live for DURATION seconds and record every input in the session format."""
    _run_live(config, data_dir, out, overwrite, duration, no_cameras, log_level)
