"""Detector training pipeline (`walkout cloud retrain detector`) and agreement with ultralytics.

Tests marked `train` need the train extra (torch, ultralytics) and skip cleanly without it; run
them with `.venv-train/bin/pytest tests/test_training.py`. The others run everywhere.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from cloud.train.yolo_dataset import grow_hand_boxes, yolo_label_lines
from edge.cli.main import app
from edge.vision.detector import Detector, DetectorOptions
from edge.vision.letterbox import letterbox
from edge.vision.nms import box_iou

HAS_ULTRALYTICS = importlib.util.find_spec("ultralytics") is not None

# Frames the shipped model never saw: its training and validation seeds are 0 and 1000003.
CHECK_SEED = 4242


def _rendered(n: int, seed: int = CHECK_SEED) -> list:
    dataset = pytest.importorskip("sim.render.dataset")
    return list(dataset.render_labelled_frames("medium", n_frames=n, seed=seed))


# ------------------------------------------------------------------- no train extra needed


def test_yolo_label_lines_clip_and_drop() -> None:
    boxes = np.array(
        [
            [0, 10, 20, 110, 220],  # inside
            [1, -5, 470, 15, 490],  # half outside: clipped to the frame
            [1, 639, 10, 700, 20],  # a 1 px sliver after clipping: dropped
        ],
        np.float32,
    )
    lines, dropped = yolo_label_lines(boxes, (640, 480))
    assert dropped == 1
    assert lines[0] == "0 0.093750 0.250000 0.156250 0.416667"
    assert lines[1] == "1 0.011719 0.989583 0.023438 0.020833"


def test_hand_boxes_grow_about_their_centre_and_nothing_else_changes() -> None:
    boxes = np.array(
        [
            [0, 10, 20, 30, 40],  # a (small) person: never grown
            [1, 100, 200, 110, 212],  # a 10x12 hand: grown to 28x28 about (105, 206)
            [1, 300, 300, 340, 320],  # a hand already wider than 28: only its height grows
        ],
        np.float32,
    )
    grown = grow_hand_boxes(boxes, 28)
    assert grown[0].tolist() == [0, 10, 20, 30, 40]
    assert grown[1].tolist() == [1, 91, 192, 119, 220]
    assert grown[2].tolist() == [1, 300, 296, 340, 324]
    assert grow_hand_boxes(boxes, 0).tolist() == boxes.tolist()
    lines, _ = yolo_label_lines(boxes, (640, 480), hand_box_px=28)
    assert lines[1] == "1 0.164062 0.429167 0.043750 0.058333"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--imgsz", "100"], "multiple of 32"),
        (["--hand-box-px", "-1"], "--hand-box-px"),
        (["--model", "yolov8n.pt"], "architecture yaml"),
        (["--epochs", "0"], "at least 1"),
        (["--crowd", "1.5"], "--crowd must be between 0 and 1"),
    ],
)
def test_cli_rejects_bad_options(tmp_path: Path, args: list[str], message: str) -> None:
    result = CliRunner().invoke(
        app, ["cloud", "retrain", "detector", "--out", str(tmp_path / "o"), *args]
    )
    assert result.exit_code == 1
    assert message in result.output


@pytest.mark.skipif(HAS_ULTRALYTICS, reason="checks the message shown without the train extra")
def test_cli_without_train_extra_says_what_to_install(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["cloud", "retrain", "detector", "--out", str(tmp_path / "o"), "--quiet"]
    )
    assert result.exit_code == 1
    assert "needs the train extra" in result.output
    assert "pip install" in result.output
    assert not (tmp_path / "o").exists()  # nothing written before the check


# ------------------------------------------------------------------------ train extra


@pytest.fixture(scope="module")
def ultralytics(tmp_path_factory: pytest.TempPathFactory):
    pytest.importorskip("ultralytics")
    from cloud.train.offline import import_ultralytics

    return import_ultralytics(tmp_path_factory.mktemp("ultralytics-config"))


@pytest.mark.train
@pytest.mark.parametrize("size", [(640, 480), (480, 640), (333, 201), (416, 416), (97, 311)])
def test_letterbox_matches_ultralytics_pixel_for_pixel(ultralytics, size) -> None:
    from ultralytics.data.augment import LetterBox

    rng = np.random.default_rng(1)
    img = rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)
    ours, _ = letterbox(img, (416, 416))
    theirs = LetterBox(new_shape=(416, 416), auto=False)(image=img)
    np.testing.assert_array_equal(ours, theirs)


def _match(ours: np.ndarray, theirs: np.ndarray) -> list[tuple[int, int]]:
    """Pairs (our row, their row) by best IoU, each row used once."""
    pairs = []
    used: set[int] = set()
    for i, row in enumerate(ours):
        if len(theirs) == 0:
            break
        iou = box_iou(row[2:].astype(np.float64), theirs[:, 2:].astype(np.float64))
        iou[list(used)] = -1
        j = int(iou.argmax())
        used.add(j)
        pairs.append((i, j))
    return pairs


@pytest.mark.train
def test_our_decoding_matches_ultralytics_predictions(ultralytics) -> None:
    detector = Detector(options=DetectorOptions(intra_op_threads=2))
    frames = _rendered(6)
    w, _ = detector.input_size
    model = ultralytics.YOLO(str(detector.model_path), task="detect")
    total = 0
    for frame in frames:
        ours = detector.detect(frame.image)
        res = model.predict(
            frame.image, imgsz=w, conf=0.25, iou=0.7, rect=False, device="cpu", verbose=False
        )[0]
        b = res.boxes
        theirs = np.column_stack([b.cls.numpy(), b.conf.numpy(), b.xyxy.numpy()]).astype(np.float32)
        assert len(ours) == len(theirs)
        for i, j in _match(ours, theirs):
            assert ours[i, 0] == theirs[j, 0]
            assert abs(ours[i, 1] - theirs[j, 1]) < 1e-3
            np.testing.assert_allclose(ours[i, 2:], theirs[j, 2:], atol=1.0)
        total += len(ours)
    assert total > 0  # the comparison compared something


@pytest.mark.train
def test_tiny_end_to_end_retrain_gives_a_model_the_runtime_loads(ultralytics, tmp_path) -> None:
    pytest.importorskip("sim.render.dataset")
    from cloud.train.detector import RetrainConfig, retrain_detector

    stages: list[str] = []
    cfg = RetrainConfig(
        out=tmp_path / "model",
        train_frames=6,
        val_frames=3,
        epochs=1,
        imgsz=128,
        batch=4,
        workers=0,
        seed=7,
        crowd=0.5,
    )
    result = retrain_detector(cfg, report=lambda stage, fraction: stages.append(stage))
    assert {"render", "train", "export", "evaluate"} <= set(stages)
    assert result.model_path.is_file() and result.manifest_path.is_file()
    detector = Detector(result.manifest_path)
    assert detector.input_size == (128, 128)
    assert detector.dynamic_batch
    info = detector.manifest.info
    assert info["training"]["train"] | {"boxes": None} == {
        "seed": 7,
        "frames": 6,
        "boxes": None,
        "dropped_boxes": info["training"]["train"]["dropped_boxes"],
    }
    assert info["training"]["val"]["seed"] != 7
    assert info["command"] == cfg.command_line()
    assert "--crowd 0.5" in info["command"] and info["training"]["crowd"] == 0.5
    assert info["versions"]["ultralytics"] != "missing"
    assert 0.0 <= info["metrics"]["map50"] <= 1.0
    det = detector.detect_batch([f.image for f in _rendered(2, seed=3)])
    assert len(det) == 2 and all(d.shape[1] == 6 for d in det)
    # Offline hygiene: the font ultralytics would download is in its config folder, no sync.
    from ultralytics.utils import SETTINGS, USER_CONFIG_DIR

    assert (Path(USER_CONFIG_DIR) / "Arial.ttf").is_file()
    assert SETTINGS["sync"] is False
