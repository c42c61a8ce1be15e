"""`walkout cloud retrain detector`: render labelled frames, train a small YOLO, ship ONNX.

Steps, each seeded: render a training set and a separate validation set from the simulator's
renderer (different seeds, so no frame is in both), write them as a YOLO dataset, train a
YOLOv8n/YOLO11n from its yaml (no pretrained weights exist offline), export to ONNX with a
dynamic batch, evaluate the exported ONNX model on the validation set with ultralytics' own
mAP, and write a manifest (classes, input size, sha256, metrics, training data, versions, the
command). The result is checked by loading it in the edge runtime before the command returns.
"""

from __future__ import annotations

import functools
import logging
import platform
import shlex
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from cloud.train.offline import import_ultralytics
from cloud.train.onnx_export import export_onnx, pin_input_size
from cloud.train.yolo_dataset import LabelledFrameLike, SplitStats, write_data_yaml, write_split
from edge.vision.manifest import DetectorManifest, sha256_file

log = logging.getLogger(__name__)

CLASSES = ("person", "hand")
MODEL_FILE = "detector.onnx"
MANIFEST_FILE = "detector.manifest.json"
RENDERER = "sim.render.dataset.render_labelled_frames"
VAL_SEED_OFFSET = 1_000_003  # validation frames come from seed + this: never the training seed

# (store, n_frames, seed, image_size) -> labelled frames
FrameSource = Callable[[str, int, int, tuple[int, int]], Iterator[LabelledFrameLike]]
Report = Callable[[str, float], None]
STAGES = ["render", "train", "export", "evaluate"]


class RetrainError(RuntimeError):
    """A retraining run that cannot go on; the message says which step and why."""


@dataclass(frozen=True)
class RetrainConfig:
    """One retraining run. Sizes in pixels; `imgsz` is the square model input."""

    out: Path
    store: str = "medium"
    # Defaults: the shipped model's run (docs/detector.md says why).
    train_frames: int = 300
    val_frames: int = 80
    epochs: int = 25
    imgsz: int = 416
    model: str = "yolov8n.yaml"
    weights: Path | None = None  # start from these trained weights (.pt) instead of from scratch
    seed: int = 0
    batch: int = 16
    workers: int = 2
    image_size: tuple[int, int] = (640, 480)
    # Hand boxes grown to at least this many frame pixels about their centre (0: the true box);
    # see cloud/train/yolo_dataset.py for why.
    hand_box_px: float = 0.0
    # Share of rendered people placed beside another (sim/render/dataset.py): close pairs at a
    # shelf and passers-by, which a detector trained on spread-out people boxes as one.
    crowd: float = 0.0
    opset: int = 18
    renderer: str = RENDERER
    # Overhead cameras see the floor from above: up/down and left/right flips are equally real.
    augment: dict[str, float] = field(default_factory=lambda: {"flipud": 0.5, "fliplr": 0.5})

    def __post_init__(self) -> None:
        if self.imgsz <= 0 or self.imgsz % 32:
            raise ValueError(f"--imgsz must be a positive multiple of 32, got {self.imgsz}")
        if self.train_frames < 1 or self.val_frames < 1 or self.epochs < 1:
            raise ValueError("--train-frames, --val-frames and --epochs must be at least 1")
        if self.hand_box_px < 0:
            raise ValueError(f"--hand-box-px must be 0 or more, got {self.hand_box_px}")
        if not 0.0 <= self.crowd <= 1.0:
            raise ValueError(f"--crowd must be between 0 and 1, got {self.crowd}")
        if not self.model.endswith((".yaml", ".yml")):
            raise ValueError(
                f"--model {self.model!r}: give an architecture yaml such as yolov8n.yaml or "
                "yolo11n.yaml (pretrained .pt weights cannot be downloaded offline)"
            )

    def command_line(self) -> str:
        """The `walkout` command that runs this configuration (recorded in the manifest)."""
        parts = [
            "walkout cloud retrain detector",
            f"--store {shlex.quote(self.store)}",
            f"--train-frames {self.train_frames}",
            f"--val-frames {self.val_frames}",
            f"--epochs {self.epochs}",
            f"--imgsz {self.imgsz}",
            f"--model {shlex.quote(self.model)}",
            *([f"--weights {shlex.quote(str(self.weights))}"] if self.weights else []),
            f"--seed {self.seed}",
            f"--batch {self.batch}",
            f"--workers {self.workers}",
            *([f"--hand-box-px {self.hand_box_px:g}"] if self.hand_box_px else []),
            *([f"--crowd {self.crowd:g}"] if self.crowd else []),
            f"--out {shlex.quote(str(self.out))}",
        ]
        return " ".join(parts)

    @property
    def val_seed(self) -> int:
        return self.seed + VAL_SEED_OFFSET


@dataclass(frozen=True)
class RetrainResult:
    """Where the model and manifest went, and what the run measured."""

    model_path: Path
    manifest_path: Path
    metrics: dict[str, Any]
    train_seconds: float


def render_frames(
    store: str, n_frames: int, seed: int, image_size: tuple[int, int], crowd: float = 0.0
) -> Iterator[LabelledFrameLike]:
    """Labelled frames from the simulator's renderer (`crowd`: sim/render/dataset.py)."""
    try:
        from sim.render.dataset import render_labelled_frames
    except ImportError as exc:
        raise RetrainError(f"the renderer {RENDERER} is not available: {exc}") from None
    return render_labelled_frames(
        store, n_frames=n_frames, seed=seed, image_size=image_size, crowd=crowd
    )


def _versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for pkg in ("ultralytics", "torch", "onnx", "onnxslim", "onnxruntime"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = "missing"
    return out


def _class_metrics(box: Any, names: dict[int, str]) -> dict[str, dict[str, float]]:
    per: dict[str, dict[str, float]] = {}
    for idx, cls in enumerate(getattr(box, "ap_class_index", [])):
        p, r, ap50, ap = box.class_result(idx)
        per[names[int(cls)]] = {
            "precision": round(float(p), 4),
            "recall": round(float(r), 4),
            "map50": round(float(ap50), 4),
            "map50_95": round(float(ap), 4),
        }
    return per


def retrain_detector(
    cfg: RetrainConfig,
    *,
    frame_source: FrameSource | None = None,
    report: Report | None = None,
) -> RetrainResult:
    """Run the whole pipeline into `cfg.out`; returns the model, manifest and metrics."""
    report = report or (lambda stage, fraction: None)
    source = frame_source or functools.partial(render_frames, crowd=cfg.crowd)
    out = cfg.out.resolve()
    work = out / "work"
    data_root = work / "dataset"
    # Import first: a missing extra should fail before minutes of rendering.
    ul = import_ultralytics(work / "ultralytics-config")
    if data_root.exists():
        shutil.rmtree(data_root)  # never mix frames of an earlier run into this one
    out.mkdir(parents=True, exist_ok=True)

    # ---------------------------------------------------------------- render
    total = cfg.train_frames + cfg.val_frames
    stats: dict[str, SplitStats] = {}
    for split, n, seed, done_before in (
        ("train", cfg.train_frames, cfg.seed, 0),
        ("val", cfg.val_frames, cfg.val_seed, cfg.train_frames),
    ):
        frames = source(cfg.store, n, seed, cfg.image_size)
        stats[split] = write_split(
            frames,
            data_root,
            split,
            hand_box_px=cfg.hand_box_px,
            on_frame=lambda k, d=done_before: report("render", (d + k) / total),
        )
        if stats[split].frames != n:
            raise RetrainError(
                f"render: the renderer gave {stats[split].frames} {split} frames, asked for {n}"
            )
    data_yaml = write_data_yaml(data_root, CLASSES)

    # ---------------------------------------------------------------- train
    if cfg.weights is not None:
        if not cfg.weights.is_file():
            raise RetrainError(f"train: --weights {cfg.weights}: file not found")
        # Fine-tuning: the checkpoint carries its architecture; cfg.model is only recorded.
        yolo = ul.YOLO(str(cfg.weights), task="detect")
    else:
        yolo = ul.YOLO(cfg.model, task="detect")

    def on_epoch_end(trainer: Any) -> None:
        report("train", (trainer.epoch + 1) / trainer.epochs)
        losses = trainer.label_loss_items(trainer.tloss, prefix="train")
        text = " ".join(f"{k.split('/')[-1]} {float(v):.3f}" for k, v in losses.items())
        log.info("epoch %d/%d %s", trainer.epoch + 1, trainer.epochs, text)

    yolo.add_callback("on_train_epoch_end", on_epoch_end)
    t0 = time.perf_counter()
    yolo.train(
        data=str(data_yaml),
        epochs=cfg.epochs,
        imgsz=cfg.imgsz,
        batch=cfg.batch,
        workers=cfg.workers,
        device="cpu",
        project=str(work / "runs"),
        name="train",
        exist_ok=True,
        seed=cfg.seed,
        deterministic=True,
        pretrained=cfg.weights is not None,
        amp=False,
        plots=False,
        val=False,  # validate once, on the exported model, below
        verbose=False,
        **cfg.augment,
    )
    train_seconds = time.perf_counter() - t0
    weights = Path(yolo.trainer.last)
    if not weights.is_file():
        raise RetrainError(f"train: ultralytics wrote no weights at {weights}")

    # ---------------------------------------------------------------- export
    report("export", 0.1)
    exported, simplified = export_onnx(ul.YOLO(str(weights), task="detect"), cfg.imgsz, cfg.opset)
    pin_input_size(exported, cfg.imgsz, cfg.imgsz)
    model_path = out / MODEL_FILE
    shutil.copyfile(exported, model_path)
    report("export", 1.0)

    # ---------------------------------------------------------------- evaluate
    report("evaluate", 0.1)
    val = ul.YOLO(str(model_path), task="detect").val(
        data=str(data_yaml),
        imgsz=cfg.imgsz,
        batch=cfg.batch,
        split="val",
        rect=False,  # the ONNX input size is pinned: square letterbox only
        device="cpu",
        plots=False,
        verbose=False,
        project=str(work / "runs"),
        name="val",
        exist_ok=True,
    )
    box = val.box
    names = dict(enumerate(CLASSES))
    metrics = {
        "map50": round(float(box.map50), 4),
        "map50_95": round(float(box.map), 4),
        "precision": round(float(box.mp), 4),
        "recall": round(float(box.mr), 4),
        "per_class": _class_metrics(box, names),
        "evaluated": "the exported ONNX model on the validation frames (ultralytics val, "
        "conf 0.001, IoU 0.7)",
    }
    report("evaluate", 1.0)

    # ---------------------------------------------------------------- manifest
    manifest = DetectorManifest(
        model_file=MODEL_FILE,
        sha256=sha256_file(model_path),
        classes=CLASSES,
        input_width=cfg.imgsz,
        input_height=cfg.imgsz,
        dynamic_batch=True,
        info={
            "size_bytes": model_path.stat().st_size,
            "architecture": cfg.model,
            "output": {
                "layout": "(batch, 4 + classes, anchors): cx, cy, w, h in input pixels, then "
                "one sigmoid score per class",
            },
            "metrics": metrics,
            "training": {
                "renderer": cfg.renderer,
                "store": cfg.store,
                "image_size": list(cfg.image_size),
                "train": _split_doc(stats["train"], cfg.seed),
                "val": _split_doc(stats["val"], cfg.val_seed),
                "epochs": cfg.epochs,
                "imgsz": cfg.imgsz,
                "batch": cfg.batch,
                "hand_box_px": cfg.hand_box_px,
                "crowd": cfg.crowd,
                "augment": cfg.augment,
                "initial_weights": (
                    {"file": cfg.weights.name, "sha256": sha256_file(cfg.weights)}
                    if cfg.weights
                    else None
                ),
                "seconds": round(train_seconds, 1),
            },
            "export": {"opset": cfg.opset, "simplified": simplified, "dynamic_batch": True},
            "versions": _versions(),
            "command": cfg.command_line(),
            "created_utc": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        },
    )
    manifest_path = out / MANIFEST_FILE
    manifest.write(manifest_path)

    # The edge runtime must accept what we ship: load it the way a store box would.
    from edge.vision.detector import Detector, DetectorOptions

    Detector(manifest_path, options=DetectorOptions(intra_op_threads=1))
    return RetrainResult(model_path, manifest_path, metrics, train_seconds)


def _split_doc(s: SplitStats, seed: int) -> dict[str, Any]:
    return {
        "seed": seed,
        "frames": s.frames,
        "boxes": {CLASSES[c]: n for c, n in s.boxes_per_class.items()},
        "dropped_boxes": s.dropped_boxes,
    }
