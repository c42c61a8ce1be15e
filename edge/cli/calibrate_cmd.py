"""`walkout calibrate ...`: camera intrinsics, floor pose and load-cell tare/span.

The procedures and file formats are in docs/calibration.md.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import typer

from edge.cli.errors import UserError, user_errors

app = typer.Typer(help="Calibrate cameras, the floor and shelf plates.", no_args_is_help=True)

# Reprojection errors a technician can trust (see docs/calibration.md).
GOOD_RMS_PX = 0.5
POOR_RMS_PX = 1.0


def _now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()


@app.command()
def camera(
    images: list[Path] = typer.Argument(..., help="Images of the board (PNG, JPEG...)."),
    board: str = typer.Option(
        ...,
        "--board",
        help="chessboard:COLSxROWS:SQUARE_M or charuco:COLSxROWS:SQUARE_M:MARKER_M[:DICT]; "
        "COLSxROWS counts squares.",
    ),
    camera_id: str = typer.Option(..., "--camera-id", help="Camera id as in the store config."),
    out: Path = typer.Option(..., "--out", help="Calibration file to write (YAML)."),
    min_images: int = typer.Option(8, "--min-images", help="Fewest usable images accepted."),
) -> None:
    """Camera intrinsics (focal length, principal point, lens distortion) from board images."""
    from calibration.boards import BoardSpecError, parse_board_spec
    from calibration.intrinsics import CalibrationInputError, calibrate_intrinsics, load_gray

    with user_errors():
        try:
            spec = parse_board_spec(board)
            typer.echo(f"board: {spec.describe()}")
            result = calibrate_intrinsics(
                [(p.name, load_gray(p)) for p in images], spec, camera_id, min_images=min_images
            )
        except (BoardSpecError, CalibrationInputError) as exc:
            raise UserError(str(exc)) from None
        n = len(images)
        typer.echo(f"board found in {len(result.used)} of {n} images")
        if result.rejected:
            typer.echo(f"rejected {len(result.rejected)}:")
            for r in result.rejected:
                typer.echo(f"  {r.name}: {r.reason}")
        k = result.intrinsics.camera_matrix
        d = result.intrinsics.dist_coeffs
        typer.echo(
            f"RMS reprojection error {result.rms_px:.3f} px over {result.corners} corners"
            + (f" ({result.outliers} outlier corners dropped)" if result.outliers else "")
        )
        typer.echo("per image (px):")
        for name, err in sorted(result.per_image_px.items(), key=lambda kv: -kv[1]):
            flag = "  <- check this image" if err > 2 * result.rms_px and err > GOOD_RMS_PX else ""
            typer.echo(f"  {name}: {err:.3f}{flag}")
        typer.echo(
            f"fx {k[0, 0]:.2f} fy {k[1, 1]:.2f} cx {k[0, 2]:.2f} cy {k[1, 2]:.2f} px; "
            f"distortion {' '.join(f'{v:.5f}' for v in d)}"
        )
        typer.echo(f"corner coverage: {result.coverage * 100:.0f} % of the image (8x6 cells)")
        if result.rms_px > POOR_RMS_PX:
            typer.echo(f"warning: RMS above {POOR_RMS_PX} px: retake blurred or moved images")
        if result.coverage < 0.6:
            typer.echo("warning: corners cover little of the image; add views near its edges")
        meta = {
            "intrinsics": {
                "method": "cv2.calibrateCamera",
                "board": spec.spec(),
                "images_used": len(result.used),
                "images_rejected": len(result.rejected),
                "rms_px": round(result.rms_px, 4),
                "coverage": round(result.coverage, 3),
                "created_utc": _now(),
            }
        }
        intr = type(result.intrinsics)(
            camera_id=camera_id,
            image_size=result.intrinsics.image_size,
            camera_matrix=k,
            dist_coeffs=d,
            meta=meta,
        )
        intr.save(out)
    typer.echo(f"wrote {out} (intrinsics only; next: walkout calibrate floor)")


@app.command()
def floor(
    image: Path = typer.Argument(..., help="One image of the floor markers from this camera."),
    camera_file: Path = typer.Option(
        ..., "--camera", help="The camera's calibration file (from `walkout calibrate camera`)."
    ),
    markers: Path = typer.Option(..., "--markers", help="Markers file (docs/calibration.md)."),
    out: Path = typer.Option(
        ..., "--out", help="Full calibration file to write (may be --camera)."
    ),
) -> None:
    """The camera's pose in the store from ArUco markers lying at known floor positions."""
    from calibration.floor import FloorCalibrationError, calibrate_floor
    from calibration.intrinsics import load_gray
    from calibration.markers import MarkersFileError, load_markers
    from edge.vision.camera import CalibrationFileError, CameraIntrinsics

    with user_errors():
        try:
            intr = CameraIntrinsics.load(camera_file)
            marks = load_markers(markers)
            gray = load_gray(image)
            if gray is None:
                raise UserError(f"{image}: cannot read the image file")
            result = calibrate_floor(gray, intr, marks)
        except (CalibrationFileError, MarkersFileError, FloorCalibrationError) as exc:
            raise UserError(str(exc)) from None
        typer.echo(
            f"markers used: {len(result.used_ids)} of {len(marks.markers)} "
            f"(ids {', '.join(map(str, result.used_ids))})"
        )
        if result.missing_ids:
            typer.echo(f"not seen: ids {', '.join(map(str, result.missing_ids))}")
        if result.unknown_ids:
            typer.echo(f"seen but not in {markers}: ids {', '.join(map(str, result.unknown_ids))}")
        typer.echo(
            f"reprojection error: RMS {result.reprojection_rms_px:.3f} px, "
            f"max {result.reprojection_max_px:.3f} px"
        )
        typer.echo(
            f"floor error: RMS {result.floor_rms_cm:.2f} cm, max {result.floor_max_cm:.2f} cm"
        )
        for mid, err in sorted(result.per_marker_cm.items()):
            typer.echo(f"  marker {mid}: {err:.2f} cm")
        c = result.camera.centre
        typer.echo(f"camera centre: x {c[0]:.3f} y {c[1]:.3f} z {c[2]:.3f} m")
        meta = dict(intr.meta)
        meta["floor"] = {
            "method": "cv2.solvePnP",
            "markers_file": markers.name,
            "markers_used": result.used_ids,
            "reprojection_rms_px": round(result.reprojection_rms_px, 4),
            "floor_rms_cm": round(result.floor_rms_cm, 3),
            "floor_max_cm": round(result.floor_max_cm, 3),
            "created_utc": _now(),
        }
        model = intr.with_pose(result.camera.rvec, result.camera.tvec, meta)
        model.save(out)
    typer.echo(f"wrote {out}")


@app.command()
def plate(
    config: str = typer.Option(..., "--config", help="Store config file (or preset name)."),
    plate_ref: str = typer.Option(..., "--plate", help='Plate as "gondola.shelf.plate".'),
    mass_grams: float = typer.Option(..., "--mass-grams", help="The known calibration mass, g."),
    port: str | None = typer.Option(
        None, "--port", help="Serial port of the shelf board; default: the config's."
    ),
    baud: int | None = typer.Option(None, "--baud", help="Line speed; default: the config's."),
    empty_seconds: float = typer.Option(5.0, "--empty-seconds", help="Tare window, seconds."),
    loaded_seconds: float = typer.Option(5.0, "--loaded-seconds", help="Span window, seconds."),
    wait_seconds: float = typer.Option(
        120.0, "--wait-seconds", help="How long to wait for the mass to settle, seconds."
    ),
    yes: bool = typer.Option(
        False, "--yes", help="Do not prompt: wait for a stable step after the tare."
    ),
    frame_timeout: float = typer.Option(
        3.0, "--frame-timeout", help="Give up after this many seconds without frames."
    ),
    out: Path | None = typer.Option(
        None, "--out", help="Plate calibration file; default: plate-G.S.P.yaml."
    ),
    max_span_error_pct: float = typer.Option(
        0.2, "--max-span-error-pct", help="Refuse a span less certain than this (1 sigma), %."
    ),
) -> None:
    """Tare (empty) and span (known mass) of one plate's load cell, over the live serial port."""
    from calibration.plate import (
        PlateCalibrationError,
        PlateReader,
        find_plate,
        run_plate_calibration,
    )
    from edge.config.loader import line_index, load_store_config, resolve_store
    from edge.shelf.serial_source import SerialByteSource, SerialPortError

    with user_errors():
        cfg = load_store_config(config)
        source, text = resolve_store(config)
        try:
            target = find_plate(cfg, plate_ref, source)
            url = port or target.port
            speed = baud or target.baud
            with SerialByteSource(url, baud=speed) as src:
                reader = PlateReader(src, target, frame_timeout_s=frame_timeout)

                def ask(message: str) -> None:
                    typer.prompt(message, default="", show_default=False)

                result = run_plate_calibration(
                    reader,
                    mass_grams,
                    empty_s=empty_seconds,
                    loaded_s=loaded_seconds,
                    wait_s=wait_seconds,
                    prompt=None if yes else ask,
                    say=lambda m: typer.echo(m),
                    max_span_error=max_span_error_pct / 100,
                )
        except (PlateCalibrationError, SerialPortError) as exc:
            raise UserError(str(exc)) from None
        r = result
        typer.echo(
            f"loaded: {r.loaded.mean:.0f} counts, step {r.loaded.mean - r.empty.mean:.0f} counts"
        )
        typer.echo(
            f"offset_counts {r.offset_counts}, grams_per_count {r.grams_per_count:.8g} "
            f"(config had {target.offset_counts}, {target.grams_per_count:g})"
        )
        typer.echo(
            f"noise {r.noise_std_g:.2f} g per sample; zero uncertain by {r.tare_error_g:.3f} g, "
            f"span by {r.span_error * 100:.3f} %; expected error "
            f"{r.expected_error_g(mass_grams):.2f} g at {mass_grams:g} g, "
            f"{r.expected_error_g(target.capacity_g):.2f} g at capacity "
            f"({target.capacity_g:g} g)"
        )
        path = out or Path(f"plate-{target.ref}.yaml")
        r.save(path, created_utc=_now(), store=cfg.store.id)
        line = line_index(text, source).get(target.config_path, (None, None))[0]
        where = f"{source}:{line}" if line else source
        typer.echo(
            f"wrote {path}; in the store config ({where}) set plate {target.ref}'s "
            f"calibration: {{offset_counts: {r.offset_counts}, "
            f"grams_per_count: {float(f'{r.grams_per_count:.8g}')}}}"
        )


@app.command("print-board")
def print_board(
    board: str = typer.Option(..., "--board", help="Board spec, as for `calibrate camera`."),
    out: Path = typer.Option(..., "--out", help="PNG file to write."),
    dpi: int = typer.Option(300, "--dpi", help="Printer resolution, dots per inch."),
) -> None:
    """Write the calibration board as a PNG to print at 100 % scale."""
    import cv2

    from calibration.boards import BoardSpecError, parse_board_spec
    from calibration.printing import board_image

    with user_errors():
        try:
            spec = parse_board_spec(board)
        except BoardSpecError as exc:
            raise UserError(str(exc)) from None
        img, _, ppm = board_image(spec, dpi / 0.0254)
        out.parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(out), img)
    h, w = img.shape
    typer.echo(
        f"wrote {out}: {spec.describe()}, {w / ppm * 1000:.0f} x {h / ppm * 1000:.0f} mm at "
        f"{dpi} dpi; print at 100 % and measure a square: it must be "
        f"{spec.square_m * 1000:.1f} mm"
    )


@app.command("print-markers")
def print_markers(
    markers: Path = typer.Option(..., "--markers", help="Markers file (docs/calibration.md)."),
    out_dir: Path = typer.Option(..., "--out-dir", help="Folder for one PNG per marker."),
    dpi: int = typer.Option(300, "--dpi", help="Printer resolution, dots per inch."),
) -> None:
    """Write every floor marker of a markers file as a PNG to print at 100 % scale."""
    import cv2

    from calibration.markers import MarkersFileError, load_markers
    from calibration.printing import marker_image

    with user_errors():
        try:
            marks = load_markers(markers)
        except MarkersFileError as exc:
            raise UserError(str(exc)) from None
        out_dir.mkdir(parents=True, exist_ok=True)
        for m in marks.markers:
            cv2.imwrite(
                str(out_dir / f"marker-{m.id}.png"), marker_image(marks, m.id, dpi / 0.0254)
            )
    typer.echo(
        f"wrote {len(marks.markers)} markers to {out_dir} ({marks.dictionary}, black square "
        f"{marks.marker_size_m * 1000:.0f} mm at {dpi} dpi); print at 100 % and write each id "
        "on its sheet"
    )
