"""`walkout sim generate` and `walkout sim scenarios`."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from edge.cli.errors import user_errors

if TYPE_CHECKING:
    from sim.render.video import CameraOptions

app = typer.Typer(
    help="Simulate a store: scenarios in, recorded sessions out.", no_args_is_help=True
)


@app.command()
def scenarios() -> None:
    """List the named scenarios, one per line: name, then what it exercises."""
    from sim.scenario import load_scenario, scenario_names

    for name in scenario_names():
        typer.echo(f"{name}\t{load_scenario(name).description}")


@app.command()
def generate(
    scenario: str = typer.Option(..., "--scenario", help="Named scenario or scenario YAML file."),
    out: Path = typer.Option(..., "--out", help="Session directory to write."),
    store: str | None = typer.Option(
        None,
        "--store",
        help="Store preset (small, medium, large) or config file; default: the scenario's store.",
    ),
    seed: int = typer.Option(0, "--seed", help="Random seed: same seed, same session bytes."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing session."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
    cameras: bool = typer.Option(
        False, "--cameras", help="Also render the store's ceiling cameras (docs/cameras.md)."
    ),
    camera_size: str | None = typer.Option(
        None, "--camera-size", help="Camera frame size WIDTHxHEIGHT; default: the calibration's."
    ),
    camera_fps: float | None = typer.Option(
        None, "--camera-fps", help="Camera frame rate; default: each camera's fps in the config."
    ),
    camera_drop: float = typer.Option(
        0.01, "--camera-drop", help="Fraction of frames each camera drops (0 to 1)."
    ),
) -> None:
    """Simulate a scenario and write a recorded session with ground truth."""
    from edge.cli.errors import UserError
    from edge.cli.progress import stage_progress
    from edge.vision.rig import RigError
    from sim.generate import generate_session

    with user_errors():
        options = _camera_options(cameras, camera_size, camera_fps, camera_drop)
    stages = ["planning", "tracks", "shelves"] + (["cameras"] if cameras else [])
    started = time.perf_counter()
    with user_errors(), stage_progress(stages, disable=quiet) as report:
        try:
            result = generate_session(
                scenario,
                seed,
                out,
                store=store,
                overwrite=overwrite,
                progress=report,
                cameras=options,
            )
        except RigError as exc:  # a camera's calibration file: the user's to fix
            raise UserError(str(exc)) from None
    typer.echo(
        f"wrote {result.path}: {result.duration_s:.0f} s of store time, "
        f"{result.shoppers} shoppers, "
        f"{result.actions} true actions, in {time.perf_counter() - started:.1f} s"
    )


def _camera_options(
    cameras: bool, size: str | None, fps: float | None, drop: float
) -> CameraOptions | None:
    """The --camera* options of `sim generate`, checked."""
    from edge.cli.errors import UserError
    from sim.render.video import CameraOptions

    if not cameras:
        return None
    image_size = None
    if size is not None:
        try:
            w, h = (int(v) for v in size.lower().split("x"))
            if w < 16 or h < 16:
                raise ValueError
        except ValueError:
            raise UserError(
                f"--camera-size {size!r}: expected WIDTHxHEIGHT, e.g. 640x480"
            ) from None
        image_size = (w, h)
    if fps is not None and not 0 < fps <= 120:
        raise UserError(f"--camera-fps {fps}: must be above 0 and at most 120")
    if not 0.0 <= drop < 1.0:
        raise UserError(f"--camera-drop {drop}: must be at least 0 and below 1")
    return CameraOptions(fps=fps, image_size=image_size, drop_rate=drop)


@app.command()
def live(
    out: Path = typer.Option(
        ..., "--out", help="Folder for the live interfaces: pty links, tracks.sock, store.yaml."
    ),
    scenario: str | None = typer.Option(
        None, "--scenario", help="Named scenario or scenario YAML file to simulate and play."
    ),
    session: Path | None = typer.Option(
        None, "--session", help="Play this recorded session instead of simulating one."
    ),
    store: str | None = typer.Option(
        None, "--store", help="Store preset or config file; default: the scenario's store."
    ),
    seed: int = typer.Option(0, "--seed", help="Random seed of the simulation."),
    wait: float = typer.Option(
        30.0,
        "--wait",
        help="Seconds to wait for `walkout edge run` to connect before playing (0: start now).",
    ),
    until: float | None = typer.Option(
        None, "--until", help="Stop playing at this session time, seconds (default: the end)."
    ),
    pcscd: bool = typer.Option(
        False, "--pcscd", help="Start our own pcscd (foreground child) if none is running."
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress lines."),
    fault: list[str] = typer.Option(
        [],
        "--fault",
        help="Inject a sensor fault, KIND:TARGET@SECONDS or KIND:TARGET@START-END (repeatable): "
        "freeze-plate:G.S.P (the plate repeats its last reading), stop-camera:CAMERA_ID.",
    ),
    vision: bool = typer.Option(
        False,
        "--vision",
        help="Serve no track socket: the edge makes person tracks from the camera video "
        "(needs a session with cameras: --cameras or a recorded one).",
    ),
    camera_files: bool = typer.Option(
        False, "--camera-files", help="Point the cameras at the video files, not MJPEG streams."
    ),
    linger: float = typer.Option(
        0.0,
        "--linger",
        help="After playing, keep the interfaces open this many seconds (cameras keep showing "
        "the last picture), so the edge can close visits that are still open.",
    ),
    cameras_sim: bool = typer.Option(
        False, "--cameras", help="Render camera video when simulating (as `sim generate`)."
    ),
) -> None:
    """Play a scenario in real time into pty serial ports, virtual PC/SC cards, a track socket
    and camera streams; then run `walkout edge run --config OUT/store.yaml` (docs/live.md)."""
    import signal
    import threading

    from edge.cli.errors import UserError
    from sim.live.faults import parse_fault_spec
    from sim.live.player import LivePlayer

    with user_errors():
        if (scenario is None) == (session is None):
            raise UserError("give exactly one of --scenario and --session")
        try:
            faults = [parse_fault_spec(text) for text in fault]
        except ValueError as exc:
            raise UserError(str(exc)) from None
        if session is None:
            from sim.generate import generate_session

            session = out / "session"
            assert scenario is not None
            result = generate_session(
                scenario,
                seed,
                session,
                store=store,
                overwrite=True,
                cameras=_camera_options(None, None, 0.0) if cameras_sim else None,
            )
            typer.echo(f"simulated {result.duration_s:.0f} s, {result.shoppers} shoppers")
        player = LivePlayer(
            session, out, cameras="files" if camera_files else "stream", tracks=not vision
        )
        try:
            for spec in faults:
                player.check_fault(spec)
        except ValueError as exc:
            player.close()
            raise UserError(str(exc)) from None
        if vision and player.cameras is None:
            player.close()
            raise UserError(
                f"--vision: the session {session} has no camera video to serve "
                "(simulate with --cameras, and do not combine --vision with --camera-files)"
            )
    daemon = None
    if pcscd:
        from sim.live.pcscd import PcscdError, list_readers, start_pcscd

        with user_errors():
            try:
                daemon = None if list_readers() else start_pcscd()
            except PcscdError as exc:
                raise UserError(str(exc)) from None
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    typer.echo(f"config {player.config_path}", err=False)
    try:
        if wait > 0:
            what = player.tracks.path if player.tracks is not None else "the camera streams"
            typer.echo(f"waiting up to {wait:.0f} s for the edge to connect to {what}")
            if player.wait_for_client(wait):
                stop.wait(1.0)  # the edge opens its serial ports at the same moment
        typer.echo("playing", err=False)
        with user_errors():
            try:
                stats = player.play(
                    stop=stop,
                    until_s=until,
                    on_progress=None if quiet else lambda t: typer.echo(f"t={t:.0f} s"),
                    faults=faults,
                )
            except ValueError as exc:
                raise UserError(str(exc)) from None
        if linger > 0 and not stop.is_set():
            stop.wait(linger)
    finally:
        player.close()
        if daemon is not None:
            from sim.live.pcscd import stop_pcscd

            stop_pcscd(daemon)
    typer.echo(
        f"played {stats.shelf_chunks} shelf chunks ({stats.shelf_bytes_dropped} bytes dropped), "
        f"{stats.reads} reads, {stats.track_frames} track frames; max lag "
        f"{stats.max_lag_s * 1000:.1f} ms"
        + (f"; card errors: {len(stats.card_errors)}" if stats.card_errors else "")
    )
    for line in stats.faults:
        typer.echo(f"fault {line}")
