"""Accuracy of the three calibrations on simulated targets: `python -m calibration.accuracy`.

Runs each procedure against the simulator (`sim.calib_targets`) over several seeds and prints
the errors against the truth; docs/calibration.md records the figures. Not imported by the
runtime (it needs the simulator).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from edge.vision.camera import CameraModel

CHESS = "chessboard:9x7:0.03"
CHARUCO = "charuco:7x5:0.04:0.028:DICT_5X5_50"


def _bench_camera() -> CameraModel:
    k = np.array([[400.0, 0.0, 322.5], [0.0, 401.0, 236.8], [0.0, 0.0, 1.0]])
    d = np.array([-0.25, 0.07, 0.001, -0.0005, 0.0])
    return CameraModel("bench", (640, 480), k, d, np.zeros(3), np.zeros(3))


def intrinsics_rows(seeds: range, n_views: int) -> list[str]:
    from calibration.boards import parse_board_spec
    from calibration.intrinsics import calibrate_intrinsics, model_difference_px
    from edge.vision.camera import CameraIntrinsics
    from sim.calib_targets import render_board_views

    cam = _bench_camera()
    truth = CameraIntrinsics("t", cam.image_size, cam.camera_matrix, cam.dist_coeffs)
    rows = []
    for spec, fill in ((CHESS, (0.35, 0.65)), (CHARUCO, (0.5, 0.8))):
        f_err, c_err, rms, model, used = [], [], [], [], []
        for seed in seeds:
            views = render_board_views(cam, spec, n_views, seed=seed, fill=fill)
            res = calibrate_intrinsics(
                [(str(i), v.image) for i, v in enumerate(views)], parse_board_spec(spec), "b"
            )
            k = res.intrinsics.camera_matrix
            f_err.append(
                max(abs(k[0, 0] / cam.camera_matrix[0, 0] - 1), abs(k[1, 1] / 401.0 - 1)) * 100
            )
            c_err.append(max(abs(k[0, 2] - 322.5), abs(k[1, 2] - 236.8)))
            rms.append(res.rms_px)
            model.append(model_difference_px(truth, res.intrinsics)[0])
            used.append(len(res.used))
        rows.append(
            f"{spec.split(':')[0]:10s} {n_views} views x {len(seeds)} seeds: board found in "
            f"{np.mean(used):.1f}; RMS {np.mean(rms):.3f} px (max {np.max(rms):.3f}); focal "
            f"error max {np.max(f_err):.2f} %; principal point error max {np.max(c_err):.2f} px; "
            f"lens model error RMS {np.mean(model):.3f} px (max {np.max(model):.3f})"
        )
    return rows


def floor_rows(seeds: range) -> list[str]:
    from calibration.floor import calibrate_floor
    from calibration.markers import MarkersFile
    from edge.vision.camera import CameraIntrinsics, CameraModel
    from sim.calib_targets import FloorMarker, render_floor_markers

    centre_err, floor_rms, floor_max, reproj = [], [], [], []
    positions = [(1.2, 1.0), (3.0, 1.0), (4.8, 1.1), (1.1, 2.5), (4.9, 2.6), (1.3, 4.0)]
    markers = MarkersFile.model_validate(
        {
            "version": 1,
            "dictionary": "DICT_4X4_50",
            "marker_size_m": 0.3,
            "markers": [
                {"id": i, "centre_m": list(p), "rotation_deg": 25 * i}
                for i, p in enumerate(positions)
            ],
        }
    )
    placed = [FloorMarker(m.id, m.corners(0.3)[:, :2]) for m in markers.markers]
    for seed in seeds:
        rng = np.random.default_rng(seed)
        base = CameraModel.looking_down(
            "c",
            (rng.uniform(2.5, 3.5), rng.uniform(2.0, 3.0), rng.uniform(2.8, 3.4)),
            image_size=(960, 720),
            hfov_deg=90,
            dist_coeffs=(-0.22, 0.05, 0.0, 0.0, 0.0),
            yaw_deg=rng.uniform(-180, 180),
        )
        cam = CameraModel(
            "c",
            base.image_size,
            base.camera_matrix,
            base.dist_coeffs,
            base.rvec + rng.normal(0, 0.04, 3),
            base.tvec,
        )
        img = render_floor_markers(cam, placed, "DICT_4X4_50", seed=seed)
        intr = CameraIntrinsics("c", cam.image_size, cam.camera_matrix, cam.dist_coeffs)
        res = calibrate_floor(img, intr, markers)
        centre_err.append(float(np.linalg.norm(res.camera.centre - cam.centre)) * 100)
        floor_rms.append(res.floor_rms_cm)
        floor_max.append(res.floor_max_cm)
        reproj.append(res.reprojection_rms_px)
    n = len(seeds)
    return [
        f"floor      6 markers of 30 cm, 960x720 camera at ~3 m, {n} seeds (true intrinsics): "
        f"camera centre error mean {np.mean(centre_err):.2f} cm (max {np.max(centre_err):.2f}); "
        f"floor error RMS {np.mean(floor_rms):.2f} cm (max corner {np.max(floor_max):.2f} cm); "
        f"reprojection RMS {np.mean(reproj):.3f} px"
    ]


def plate_rows(seeds: range, mass_g: float, window_s: float) -> list[str]:
    from calibration.plate import PlateReader, find_plate, run_plate_calibration
    from edge.config.loader import load_store_config
    from edge.shelf.serial_source import SerialByteSource
    from sim.calib_targets import PtyPair, SimulatedShelfBoard

    cfg = load_store_config("small")
    target = find_plate(cfg, "1.2.3", "small")
    shelf = cfg.gondolas[0].shelves[1]
    offs = [p.calibration.offset_counts for p in shelf.plates]
    gpc = [p.calibration.grams_per_count for p in shelf.plates]
    off_err, span_err, noise, predicted = [], [], [], []
    for seed in seeds:
        with PtyPair() as pty:
            board = SimulatedShelfBoard(
                pty.master_fd,
                board_id=2,
                offsets=offs,
                grams_per_count=gpc,
                speed=20.0,
                seed=seed,
            )
            with board, SerialByteSource(pty.port) as src:
                res = run_plate_calibration(
                    PlateReader(src, target),
                    mass_g,
                    empty_s=window_s,
                    loaded_s=window_s,
                    prompt=lambda _m, b=board: b.place(2, mass_g),
                )
        off_err.append(abs(res.offset_counts - offs[2]) * gpc[2])
        span_err.append(abs(res.grams_per_count / gpc[2] - 1) * 100)
        noise.append(res.noise_std_g)
        predicted.append(res.span_error * 100)
    n = len(seeds)
    return [
        f"plate      {mass_g:g} g, {window_s:g} s windows, {n} seeds: offset error mean "
        f"{np.mean(off_err):.3f} g (max {np.max(off_err):.3f}); span error mean "
        f"{np.mean(span_err):.4f} % (max {np.max(span_err):.4f}; predicted 1 sigma "
        f"{np.mean(predicted):.4f} %); empty noise {np.mean(noise):.2f} g per sample"
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--views", type=int, default=12)
    parser.add_argument("--only", choices=["camera", "floor", "plate"], default=None)
    args = parser.parse_args()
    seeds = range(args.seeds)
    started = time.perf_counter()
    if args.only in (None, "camera"):
        for row in intrinsics_rows(seeds, args.views):
            print(row, flush=True)
    if args.only in (None, "floor"):
        for row in floor_rows(seeds):
            print(row, flush=True)
    if args.only not in (None, "plate"):
        return
    for mass, window in ((1000.0, 5.0), (500.0, 5.0), (200.0, 10.0)):
        try:
            rows = plate_rows(seeds, mass, window)
        except ValueError as exc:  # a refused calibration is a result too
            rows = [f"plate      {mass:g} g, {window:g} s windows: refused: {exc}"]
        for row in rows:
            print(row, flush=True)
    print(f"({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
