"""Calibration end to end on simulated targets: rendered board and floor images, and a simulated
shelf board writing walkout-lc1 frames into a real pty.

The images are rendered by `sim.calib_targets` from a known camera, so every result is compared
with the truth. Tolerances (documented in docs/calibration.md): focal length within 1 %,
principal point within 2 px, lens model within 0.4 px RMS over the image (0.5 px for ChArUco;
compared after the best small rotation, see `model_difference_px`), board RMS below
0.5 px; camera centre within 3 cm and floor error below 1 cm; plate offset within 0.5 g and
span within 0.2 %.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from calibration.boards import BoardSpecError, CharucoSpec, ChessboardSpec, parse_board_spec
from calibration.intrinsics import calibrate_intrinsics, model_difference_px
from calibration.markers import MarkersFileError, load_markers
from calibration.plate import PlateCalibrationError, PlateReader, find_plate, run_plate_calibration
from edge.cli.main import app
from edge.config.loader import load_store_config
from edge.shelf.serial_source import SerialByteSource
from edge.vision.camera import CalibrationFileError, CameraIntrinsics, CameraModel
from sim.calib_targets import (
    FloorMarker,
    PtyPair,
    SimulatedShelfBoard,
    ray_grid_error_px,
    render_board_views,
    render_floor_markers,
)

runner = CliRunner()

# A 640x480 camera with strong barrel distortion and an off-centre principal point.
K_TRUE = np.array([[400.0, 0.0, 322.5], [0.0, 401.0, 236.8], [0.0, 0.0, 1.0]])
D_TRUE = np.array([-0.25, 0.07, 0.001, -0.0005, 0.0])
CHESS = "chessboard:9x7:0.03"


def _bench_camera() -> CameraModel:
    return CameraModel("cam1", (640, 480), K_TRUE, D_TRUE, np.zeros(3), np.zeros(3))


def _ceiling_camera() -> CameraModel:
    base = CameraModel.looking_down(
        "ceil", (3.0, 2.5, 3.0), image_size=(960, 720), hfov_deg=90,
        dist_coeffs=(-0.22, 0.05, 0.0, 0.0, 0.0), yaw_deg=15,
    )  # fmt: skip
    # Tilt it a little: real ceiling mounts are never exactly level.
    return CameraModel(
        base.camera_id, base.image_size, base.camera_matrix, base.dist_coeffs,
        base.rvec + np.array([0.05, -0.03, 0.0]), base.tvec,
    )  # fmt: skip


MARKER_POSITIONS = [(1.2, 1.0), (3.0, 1.0), (4.8, 1.1), (1.1, 2.5), (4.9, 2.6), (1.3, 4.0),
                    (3.1, 4.1), (4.7, 3.9)]  # fmt: skip


def _markers_yaml(path: Path, size: float = 0.3) -> Path:
    data = {
        "version": 1,
        "dictionary": "DICT_4X4_50",
        "marker_size_m": size,
        "markers": [
            {"id": 3 * i, "centre_m": [x, y], "rotation_deg": 20 * i}
            for i, (x, y) in enumerate(MARKER_POSITIONS)
        ],
    }
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _floor_image(camera: CameraModel, markers_path: Path, seed: int = 3) -> np.ndarray:
    mf = load_markers(markers_path)
    placed = [FloorMarker(m.id, m.corners(mf.marker_size_m)[:, :2]) for m in mf.markers]
    return render_floor_markers(camera, placed, mf.dictionary, seed=seed)


# --------------------------------------------------------------------------------------------
# Board specs
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("chessboard:9x6:0.025", ChessboardSpec(9, 6, 0.025)),
        ("charuco:8x6:0.03:0.022", CharucoSpec(8, 6, 0.03, 0.022, "DICT_4X4_50")),
        ("charuco:8x6:0.03:0.022:DICT_5X5_100", CharucoSpec(8, 6, 0.03, 0.022, "DICT_5X5_100")),
        ("chessboard:9x6", "wrong number of fields"),
        ("chessboard:9by6:0.025", "is not COLSxROWS"),
        ("chessboard:9x6:25", "in metres"),
        ("chessboard:2x6:0.025", "at least 3x3"),
        ("charuco:8x6:0.03:0.04", "smaller than the square"),
        ("charuco:8x6:0.03:0.02:DICT_9X9_50", "unknown ArUco dictionary"),
        ("circles:4x11:0.02", "unknown kind"),
    ],
)
def test_board_spec(spec: str, expected: object) -> None:
    if isinstance(expected, str):
        with pytest.raises(BoardSpecError, match=expected):
            parse_board_spec(spec)
    else:
        assert parse_board_spec(spec) == expected


def test_chessboard_inner_corners() -> None:
    board = parse_board_spec(CHESS)
    assert board.inner == (8, 6)
    assert board.object_points().shape == (48, 3)


# --------------------------------------------------------------------------------------------
# Renderer
# --------------------------------------------------------------------------------------------


def test_renderer_geometry_is_exact() -> None:
    # Interpolated rays land back on their pixels to far better than a detector can see.
    assert ray_grid_error_px((640, 480), K_TRUE, D_TRUE) < 1e-3
    views = render_board_views(_bench_camera(), CHESS, 2, seed=5)
    board = parse_board_spec(CHESS)
    for view in views:
        found = board.detect(view.image)
        assert found is not None
        truth, _ = cv2.projectPoints(found.object_points, view.rvec, view.tvec, K_TRUE, D_TRUE)
        truth = truth.reshape(-1, 2)
        err = np.linalg.norm(found.image_points - truth, axis=1)
        if err.mean() > 5:  # the detector may number a symmetric board from the other end
            err = np.linalg.norm(found.image_points - truth[::-1], axis=1)
        assert np.sqrt(np.mean(err**2)) < 0.25


# --------------------------------------------------------------------------------------------
# Camera intrinsics
# --------------------------------------------------------------------------------------------


def _write_views(folder: Path, spec: str, n: int, seed: int, **kw: object) -> list[Path]:
    paths = []
    for i, view in enumerate(render_board_views(_bench_camera(), spec, n, seed=seed, **kw)):
        path = folder / f"view_{i:02d}.png"
        cv2.imwrite(str(path), view.image)
        paths.append(path)
    return paths


def _check_intrinsics(intr: CameraIntrinsics, model_rms_px: float) -> None:
    k = intr.camera_matrix
    assert abs(k[0, 0] / K_TRUE[0, 0] - 1) < 0.01
    assert abs(k[1, 1] / K_TRUE[1, 1] - 1) < 0.01
    assert abs(k[0, 2] - K_TRUE[0, 2]) < 2.0
    assert abs(k[1, 2] - K_TRUE[1, 2]) < 2.0
    assert abs(intr.dist_coeffs[0] - D_TRUE[0]) < 0.01
    truth = CameraIntrinsics("t", (640, 480), K_TRUE, D_TRUE)
    rms, _ = model_difference_px(truth, intr)
    assert rms < model_rms_px


def test_calibrate_camera_cli_recovers_intrinsics(tmp_path: Path) -> None:
    paths = _write_views(tmp_path, CHESS, 10, seed=1)
    blank = tmp_path / "blank.png"
    cv2.imwrite(str(blank), np.full((480, 640), 128, np.uint8))
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not a png")
    out = tmp_path / "cam1.yaml"
    res = runner.invoke(
        app,
        ["calibrate", "camera", *map(str, [*paths, blank, broken]), "--board", CHESS,
         "--camera-id", "cam1", "--out", str(out)],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "rejected 2:" in res.output
    assert "blank.png: board not found" in res.output
    assert "broken.png: cannot read the image file" in res.output
    intr = CameraIntrinsics.load(out)
    assert intr.camera_id == "cam1" and intr.image_size == (640, 480)
    assert intr.meta["intrinsics"]["rms_px"] < 0.5
    _check_intrinsics(intr, model_rms_px=0.4)
    data = yaml.safe_load(out.read_text())
    assert data["version"] == 1 and data["extrinsics"] is None
    # Not yet a full camera: the loader says what to do next.
    with pytest.raises(CalibrationFileError, match="walkout calibrate floor"):
        CameraModel.load(out)


def test_calibrate_camera_too_few_images(tmp_path: Path) -> None:
    paths = []
    for i in range(3):
        paths.append(tmp_path / f"wall_{i}.png")
        cv2.imwrite(str(paths[-1]), np.full((480, 640), 90 + i, np.uint8))
    res = runner.invoke(
        app,
        ["calibrate", "camera", *map(str, paths), "--board", CHESS, "--camera-id", "c",
         "--out", str(tmp_path / "c.yaml")],
    )  # fmt: skip
    assert res.exit_code == 1
    assert "only 0 usable images, need at least 8" in res.output
    assert "wall_0.png (board not found)" in res.output
    assert "counts the printed squares" in res.output
    assert not (tmp_path / "c.yaml").exists()


@pytest.mark.slow
def test_charuco_calibration_recovers_intrinsics() -> None:
    spec = "charuco:7x5:0.04:0.028:DICT_5X5_50"
    views = render_board_views(_bench_camera(), spec, 12, seed=1, fill=(0.5, 0.8))
    result = calibrate_intrinsics(
        [(f"v{i}", v.image) for i, v in enumerate(views)], parse_board_spec(spec), "cam1"
    )
    assert result.rms_px < 0.5
    _check_intrinsics(result.intrinsics, model_rms_px=0.5)


# --------------------------------------------------------------------------------------------
# Floor pose
# --------------------------------------------------------------------------------------------


def test_calibrate_floor_cli_recovers_pose(tmp_path: Path) -> None:
    cam = _ceiling_camera()
    intr_path = tmp_path / "ceil.yaml"
    CameraIntrinsics(cam.camera_id, cam.image_size, cam.camera_matrix, cam.dist_coeffs).save(
        intr_path
    )
    markers = _markers_yaml(tmp_path / "markers.yaml")
    image = tmp_path / "floor.png"
    cv2.imwrite(str(image), _floor_image(cam, markers))
    res = runner.invoke(
        app,
        ["calibrate", "floor", str(image), "--camera", str(intr_path), "--markers",
         str(markers), "--out", str(intr_path)],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "markers used: 8 of 8" in res.output
    model = CameraModel.load(intr_path)
    assert np.linalg.norm(model.centre - cam.centre) < 0.03
    assert model.meta["floor"]["floor_rms_cm"] < 1.0
    assert model.meta["floor"]["reprojection_rms_px"] < 0.5
    # The pose is usable: a floor point projects where the true camera sees it.
    pt = np.array([[2.0, 3.0, 0.0]])
    assert np.linalg.norm(model.project(pt) - cam.project(pt)) < 1.0


def test_calibrate_floor_without_markers_in_view(tmp_path: Path) -> None:
    cam = _ceiling_camera()
    intr_path = tmp_path / "ceil.yaml"
    CameraIntrinsics(cam.camera_id, cam.image_size, cam.camera_matrix, cam.dist_coeffs).save(
        intr_path
    )
    image = tmp_path / "empty.png"
    cv2.imwrite(str(image), np.full((720, 960), 120, np.uint8))
    markers = _markers_yaml(tmp_path / "markers.yaml")
    res = runner.invoke(
        app,
        ["calibrate", "floor", str(image), "--camera", str(intr_path), "--markers",
         str(markers), "--out", str(tmp_path / "out.yaml")],
    )  # fmt: skip
    assert res.exit_code == 1
    assert "found 0 of the 8 markers" in res.output


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda d: d.pop("marker_size_m"), r"markers.yaml:1:1: marker_size_m: required key"),
        (lambda d: d["markers"][1].pop("centre_m"), r"markers\[1\]: give either centre_m"),
        (lambda d: d.update(dictionary="DICT_4X4_5O"), r":2:\d+: dictionary: unknown ArUco"),
        (lambda d: d["markers"][2].update(id=0), r"markers\[2\]\.id: duplicate id"),
        (lambda d: d["markers"][0].update(colour="red"), r"markers\[0\]\.colour: unknown key"),
    ],
)
def test_markers_file_errors(tmp_path: Path, edit, expected: str) -> None:
    path = _markers_yaml(tmp_path / "markers.yaml")
    data = yaml.safe_load(path.read_text())
    edit(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    with pytest.raises(MarkersFileError, match=expected):
        load_markers(path)


@pytest.mark.slow
def test_floor_after_calibrated_intrinsics(tmp_path: Path) -> None:
    """The full chain: intrinsics from rendered boards, then the floor pose from markers."""
    cam = _ceiling_camera()
    views = render_board_views(cam, "chessboard:9x7:0.04", 12, seed=2)
    result = calibrate_intrinsics(
        [(f"v{i}", v.image) for i, v in enumerate(views)], parse_board_spec("chessboard:9x7:0.04"),
        "ceil",
    )  # fmt: skip
    intr_path = tmp_path / "ceil.yaml"
    result.intrinsics.save(intr_path)
    markers = _markers_yaml(tmp_path / "markers.yaml")
    image = tmp_path / "floor.png"
    cv2.imwrite(str(image), _floor_image(cam, markers))
    out = tmp_path / "full.yaml"
    res = runner.invoke(
        app,
        ["calibrate", "floor", str(image), "--camera", str(intr_path), "--markers",
         str(markers), "--out", str(out)],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    model = CameraModel.load(out)
    assert np.linalg.norm(model.centre - cam.centre) < 0.05
    assert model.meta["floor"]["floor_max_cm"] < 2.0


# --------------------------------------------------------------------------------------------
# Plates over a pty
# --------------------------------------------------------------------------------------------

SHELF_PLATE = "1.2.3"  # small store: gondola 1, shelf 2 (board 2), plate 3 (channel 2)


def _shelf_truth() -> tuple[list[int], list[float]]:
    shelf = load_store_config("small").gondolas[0].shelves[1]
    return (
        [p.calibration.offset_counts for p in shelf.plates],
        [p.calibration.grams_per_count for p in shelf.plates],
    )


def _board(pty: PtyPair, board_id: int = 2, n_plates: int = 12, **kw: object):
    offs, gpc = _shelf_truth()
    return SimulatedShelfBoard(
        pty.master_fd, board_id=board_id, offsets=offs[:n_plates],
        grams_per_count=gpc[:n_plates], speed=10.0, seed=1, **kw,
    )  # fmt: skip


def _calibrate(pty: PtyPair, board: SimulatedShelfBoard | None, plate: str, mass: float, **kw):
    target = find_plate(load_store_config("small"), plate, "small")
    with SerialByteSource(pty.port) as src:
        reader = PlateReader(src, target, frame_timeout_s=kw.pop("frame_timeout_s", 3.0))
        prompt = (lambda _m: board.place(target.column, mass)) if board else None
        return run_plate_calibration(
            reader, mass, empty_s=2.0, loaded_s=2.0, wait_s=20.0, prompt=prompt, **kw
        )


def test_plate_calibration_over_pty() -> None:
    offs, gpc = _shelf_truth()
    with PtyPair() as pty, _board(pty) as board:
        result = _calibrate(pty, board, SHELF_PLATE, 1000.0)
    assert board.error is None
    # Offset within 0.5 g, span within 0.2 %.
    assert abs(result.offset_counts - offs[2]) * gpc[2] < 0.5
    assert abs(result.grams_per_count / gpc[2] - 1) < 0.002
    assert 0.2 < result.noise_std_g < 5.0  # realistic load-cell noise
    assert result.span_error < 0.002
    assert result.expected_error_g(1000.0) < 1.0


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("silent", "no walkout-lc1 frames on /dev/pts/"),
        ("other_board", "plate 1.2.3 is not on the controller at /dev/pts/.*board\\(s\\) 5"),
        ("plate_count", "board 2 reports 8 plates, the store config gives shelf 1.2 12"),
        ("creeping", "unstable readings"),
        ("light_mass", "the mass is too small for the noise"),
    ],
)
def test_plate_calibration_errors(case: str, expected: str) -> None:
    with PtyPair() as pty:
        if case == "silent":
            with pytest.raises(PlateCalibrationError, match=expected):
                _calibrate(pty, None, SHELF_PLATE, 1000.0, frame_timeout_s=0.5)
            return
        kw: dict[str, object] = {}
        mass = 1000.0
        if case == "other_board":
            kw["board_id"] = 5
        elif case == "plate_count":
            kw["n_plates"] = 8
        elif case == "creeping":
            kw["creep_g_per_s"] = {2: 0.0}
        elif case == "light_mass":
            mass = 15.0
        with _board(pty, **kw) as board:
            if case == "creeping":
                # Settles never: after the tare the plate starts sinking by 20 g per second.
                def prompt(_m: str) -> None:
                    board.place(2, 500.0)
                    board.creep[2] = 20.0

                target = find_plate(load_store_config("small"), SHELF_PLATE, "small")
                with (
                    SerialByteSource(pty.port) as src,
                    pytest.raises(PlateCalibrationError, match=expected),
                ):
                    run_plate_calibration(
                        PlateReader(src, target), 500.0, empty_s=2.0, loaded_s=2.0,
                        wait_s=6.0, prompt=prompt,
                    )  # fmt: skip
                return
            with pytest.raises(PlateCalibrationError, match=expected):
                _calibrate(pty, board, SHELF_PLATE, mass, frame_timeout_s=1.0)


def test_plate_unknown_in_config(tmp_path: Path) -> None:
    res = runner.invoke(
        app,
        ["calibrate", "plate", "--config", "small", "--plate", "1.2.99", "--mass-grams", "500",
         "--port", "loop://", "--yes"],
    )  # fmt: skip
    assert res.exit_code == 1
    assert "plate 1.2.99 is not in <preset small>: shelf 1.2 has plates 1..12" in res.output
    res = runner.invoke(
        app,
        ["calibrate", "plate", "--config", "small", "--plate", "1.9.1", "--mass-grams", "500",
         "--yes"],
    )  # fmt: skip
    assert res.exit_code == 1 and "there is no shelf 1.9" in res.output


def test_plate_cli_non_interactive_over_pty(tmp_path: Path) -> None:
    """`walkout calibrate plate --yes` as a technician runs it: a separate process on the pty;
    the 'technician' (this test) places the mass when the command says it is waiting."""
    offs, gpc = _shelf_truth()
    out = tmp_path / "plate.yaml"
    walkout = Path(sys.executable).parent / "walkout"
    with PtyPair() as pty, _board(pty) as board:
        proc = subprocess.Popen(
            [str(walkout), "calibrate", "plate", "--config", "small", "--plate", SHELF_PLATE,
             "--port", pty.port, "--mass-grams", "2000", "--yes", "--empty-seconds", "2",
             "--loaded-seconds", "2", "--out", str(out)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env={**os.environ, "COLUMNS": "200"},
        )  # fmt: skip
        lines = []
        try:
            assert proc.stdout is not None
            for line in proc.stdout:
                lines.append(line)
                if "waiting for the mass" in line:
                    time.sleep(0.2)  # the technician takes a moment
                    board.place(2, 2000.0)
            proc.wait(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    text = "".join(lines)
    assert proc.returncode == 0, text
    assert "set plate 1.2.3's calibration" in text
    data = yaml.safe_load(out.read_text())
    assert data["version"] == 1 and data["plate"] == SHELF_PLATE
    assert data["board"] == {"port": pty.port, "board_id": 2, "channel": 2}
    cal = data["calibration"]
    assert abs(cal["offset_counts"] - offs[2]) * gpc[2] < 0.5
    assert abs(cal["grams_per_count"] / gpc[2] - 1) < 0.002
    assert data["measurement"]["expected_error_g"]["at_mass"] < 2.0


def test_plate_cli_interactive_prompt(tmp_path: Path) -> None:
    """Without --yes the command asks the technician to place the mass and press Enter."""
    offs, gpc = _shelf_truth()
    out = tmp_path / "p.yaml"
    with PtyPair() as pty, _board(pty) as board:
        # The technician puts the mass down a moment after the prompt (the tare takes 0.2 s of
        # wall time at 10x; the command waits up to 120 board seconds for the step).
        timer = threading.Timer(1.5, board.place, args=(2, 1000.0))
        timer.start()
        try:
            res = runner.invoke(
                app,
                ["calibrate", "plate", "--config", "small", "--plate", SHELF_PLATE, "--port",
                 pty.port, "--mass-grams", "1000", "--empty-seconds", "2", "--loaded-seconds",
                 "2", "--out", str(out)],
                input="\n",
            )  # fmt: skip
        finally:
            timer.cancel()
    assert res.exit_code == 0, res.output
    assert "place 1000 g on plate 1.2.3, let go, then press Enter" in res.output
    cal = yaml.safe_load(out.read_text())["calibration"]
    assert abs(cal["offset_counts"] - offs[2]) * gpc[2] < 0.5
    assert abs(cal["grams_per_count"] / gpc[2] - 1) < 0.002
