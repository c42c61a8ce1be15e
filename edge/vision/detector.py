"""The person/hand detector on the edge: a YOLO model exported to ONNX, run with onnxruntime.

No torch and no ultralytics here: pre-processing (letterbox), decoding of the head's output and
NMS are numpy (`edge.vision.letterbox`, `edge.vision.yolo_decode`, `edge.vision.nms`). A model
comes with a manifest (`edge.vision.manifest`); loading checks the file's sha256, the input and
output shapes and the class names against it, and runs one warm-up inference so the first real
frame is not slow. Frames from several cameras go through one batched inference when the model
was exported with a dynamic batch dimension, else one inference per frame.

Every detection row is (cls, conf, x1, y1, x2, y2) with the box in the original frame's pixels.
See docs/detector.md.
"""

from __future__ import annotations

import ast
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edge.vision.letterbox import Letterbox
from edge.vision.manifest import DetectorError, DetectorManifest, load_manifest, sha256_file
from edge.vision.yolo_decode import DETECTION_COLUMNS, decode_yolo, empty_detections

__all__ = [
    "DEFAULT_MANIFEST",
    "DETECTION_COLUMNS",
    "EXPECTED_CLASSES",
    "Detector",
    "DetectorError",
    "DetectorOptions",
]

log = logging.getLogger(__name__)

MODELS_DIR = Path(__file__).resolve().parent / "models"
DEFAULT_MANIFEST = MODELS_DIR / "detector.manifest.json"
# What the rest of the runtime relies on: class 0 is a person seen from above, class 1 a hand.
EXPECTED_CLASSES = ("person", "hand")


@dataclass(frozen=True)
class DetectorOptions:
    """Runtime knobs; the defaults are ultralytics' prediction defaults.

    `intra_op_threads` is onnxruntime's thread count inside one operator (a 2-core box: 2, or 1 to
    leave a core to the rest of the pipeline). `max_batch` caps how many frames go into one
    inference (memory grows with it; beyond a few frames the speed-up flattens).
    """

    conf_threshold: float = 0.25
    iou_threshold: float = 0.7
    max_det: int = 300
    intra_op_threads: int = 2
    max_batch: int = 8
    warmup: bool = True

    def __post_init__(self) -> None:
        if not 0.0 <= self.conf_threshold <= 1.0:
            raise ValueError(f"conf_threshold must be in [0, 1], got {self.conf_threshold}")
        if not 0.0 <= self.iou_threshold <= 1.0:
            raise ValueError(f"iou_threshold must be in [0, 1], got {self.iou_threshold}")
        if self.intra_op_threads < 1 or self.max_batch < 1 or self.max_det < 1:
            raise ValueError("intra_op_threads, max_batch and max_det must be at least 1")


class Detector:
    """A loaded, verified, warmed-up detector model.

    `manifest_path` defaults to the shipped model (edge/vision/models/detector.manifest.json); the
    model file is the manifest's `model_file` next to it unless `model_path` is given.
    `expected_classes` (None to accept any) guards against a model trained for something else.
    """

    def __init__(
        self,
        manifest_path: Path | str | None = None,
        *,
        model_path: Path | str | None = None,
        expected_classes: Sequence[str] | None = EXPECTED_CLASSES,
        options: DetectorOptions | None = None,
    ) -> None:
        self.options = options or DetectorOptions()
        self.manifest_path = Path(manifest_path) if manifest_path else DEFAULT_MANIFEST
        self.manifest: DetectorManifest = load_manifest(self.manifest_path)
        self.model_path = (
            Path(model_path) if model_path else self.manifest_path.parent / self.manifest.model_file
        )
        if expected_classes is not None and tuple(expected_classes) != self.manifest.classes:
            raise DetectorError(
                f"{self.manifest_path}: classes {list(self.manifest.classes)} do not match the "
                f"classes this runtime expects {list(expected_classes)}"
            )
        self._check_file()
        self._session = self._open_session()
        self._input_name, self._output_name, self.dynamic_batch = self._check_shapes()
        self._check_metadata()
        if self.options.warmup:
            self._infer(np.zeros((1, 3, self.input_size[1], self.input_size[0]), np.float32))

    # ----------------------------------------------------------------- properties

    @property
    def classes(self) -> tuple[str, ...]:
        """Class names, index = class id."""
        return self.manifest.classes

    @property
    def input_size(self) -> tuple[int, int]:
        """(width, height) of the model input, pixels."""
        return self.manifest.input_size

    # ----------------------------------------------------------------- inference

    def detect(self, frame: np.ndarray) -> np.ndarray:
        """Detections (K, 6) float32 for one BGR uint8 frame: cls, conf, x1, y1, x2, y2 (pixels)."""
        return self.detect_batch([frame])[0]

    def detect_batch(self, frames: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Detections per frame, for frames from several cameras (sizes may differ).

        With a dynamic-batch model the frames go through one inference per `max_batch` frames;
        with a fixed batch of 1, one inference per frame.
        """
        results: list[np.ndarray] = []
        step = self.options.max_batch if self.dynamic_batch else 1
        for start in range(0, len(frames), step):
            chunk = frames[start : start + step]
            blob, boxes = self.preprocess(chunk, first_index=start)
            raw = self._infer(blob)
            results.extend(self._postprocess(raw[i], lb) for i, lb in enumerate(boxes))
        return results

    def preprocess(
        self, frames: Sequence[np.ndarray], first_index: int = 0
    ) -> tuple[np.ndarray, list[Letterbox]]:
        """The input blob (N, 3, H, W) float32 RGB 0..1 and each frame's letterbox placement."""
        images = []
        boxes = []
        for i, frame in enumerate(frames):
            if (
                not isinstance(frame, np.ndarray)
                or frame.dtype != np.uint8
                or frame.ndim != 3
                or frame.shape[2] != 3
                or frame.shape[0] == 0
                or frame.shape[1] == 0
            ):
                desc = (
                    f"{frame.shape} {frame.dtype}"
                    if isinstance(frame, np.ndarray)
                    else type(frame).__name__
                )
                raise ValueError(
                    f"detector: frame {first_index + i} must be an (H, W, 3) uint8 BGR image, "
                    f"got {desc}"
                )
            lb = Letterbox.fit((frame.shape[1], frame.shape[0]), self.input_size)
            images.append(lb.apply(frame))
            boxes.append(lb)
        batch = np.stack(images)[..., ::-1].transpose(0, 3, 1, 2)  # BGR HWC -> RGB CHW
        blob = np.ascontiguousarray(batch, dtype=np.float32)
        blob *= 1.0 / 255.0
        return blob, boxes

    def _postprocess(self, output: np.ndarray, lb: Letterbox) -> np.ndarray:
        det = decode_yolo(
            output,
            num_classes=len(self.classes),
            conf_threshold=self.options.conf_threshold,
            iou_threshold=self.options.iou_threshold,
            max_det=self.options.max_det,
        )
        if len(det) == 0:
            return empty_detections()
        det[:, 2:] = lb.to_original(det[:, 2:])
        return det

    def _infer(self, blob: np.ndarray) -> np.ndarray:
        (out,) = self._session.run([self._output_name], {self._input_name: blob})
        expected = (blob.shape[0], 4 + len(self.classes))
        if out.ndim != 3 or out.shape[:2] != expected:
            raise DetectorError(
                f"{self.model_path}: output has shape {out.shape}, expected ({expected[0]}, "
                f"{expected[1]}, anchors) for classes {list(self.classes)}"
            )
        return out

    # ----------------------------------------------------------------- loading checks

    def _check_file(self) -> None:
        path = self.model_path
        if not path.is_file():
            raise DetectorError(f"{path}: detector model file not found")
        actual = sha256_file(path)
        if actual != self.manifest.sha256:
            raise DetectorError(
                f"{path}: sha256 {actual} does not match the manifest {self.manifest_path} "
                f"({self.manifest.sha256}): the file is corrupt or belongs to another manifest"
            )

    def _open_session(self) -> Any:
        import onnxruntime as ort

        so = ort.SessionOptions()
        so.intra_op_num_threads = self.options.intra_op_threads
        so.inter_op_num_threads = 1
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        so.log_severity_level = 3  # warnings from the graph optimiser are noise here
        try:
            return ort.InferenceSession(
                str(self.model_path), sess_options=so, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnxruntime raises several unrelated exception types
            first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
            raise DetectorError(
                f"{self.model_path}: not a loadable ONNX model: {first_line}"
            ) from None

    def _check_shapes(self) -> tuple[str, str, bool]:
        path = self.model_path
        inputs = self._session.get_inputs()
        outputs = self._session.get_outputs()
        if len(inputs) != 1 or len(outputs) < 1:
            raise DetectorError(
                f"{path}: expected one image input and an output, got {len(inputs)} inputs and "
                f"{len(outputs)} outputs"
            )
        shape = list(inputs[0].shape)
        w, h = self.input_size
        if len(shape) != 4 or shape[1] != 3:
            raise DetectorError(f"{path}: input shape {shape} is not (batch, 3, height, width)")
        for axis, want, name in ((2, h, "height"), (3, w, "width")):
            if isinstance(shape[axis], int) and shape[axis] != want:
                raise DetectorError(
                    f"{path}: input {name} is {shape[axis]} but the manifest "
                    f"{self.manifest_path} says {want} (input shape {shape})"
                )
        dynamic = not isinstance(shape[0], int)
        if not dynamic and shape[0] != 1:
            raise DetectorError(f"{path}: a fixed batch must be 1, input shape is {shape}")
        if dynamic != self.manifest.dynamic_batch:
            raise DetectorError(
                f"{path}: the model's batch is {'dynamic' if dynamic else 'fixed'} but the "
                f"manifest {self.manifest_path} says dynamic_batch={self.manifest.dynamic_batch}"
            )
        out_shape = list(outputs[0].shape)
        nc = len(self.classes)
        if len(out_shape) != 3 or (isinstance(out_shape[1], int) and out_shape[1] != 4 + nc):
            raise DetectorError(
                f"{path}: output shape {out_shape} does not fit {nc} classes "
                f"{list(self.classes)} from {self.manifest_path} (expected (batch, {4 + nc}, "
                "anchors))"
            )
        return inputs[0].name, outputs[0].name, dynamic

    def _check_metadata(self) -> None:
        # ultralytics writes the class names into the ONNX metadata; when present they must agree.
        meta = self._session.get_modelmeta().custom_metadata_map
        if "names" not in meta:
            return
        try:
            names = ast.literal_eval(meta["names"])
            model_classes = tuple(str(names[i]) for i in range(len(names)))
        except (ValueError, SyntaxError, KeyError, TypeError):
            raise DetectorError(
                f"{self.model_path}: unreadable class names in the model metadata: "
                f"{meta['names'][:80]!r}"
            ) from None
        if model_classes != self.manifest.classes:
            raise DetectorError(
                f"{self.model_path}: the model's classes {list(model_classes)} differ from the "
                f"manifest {self.manifest_path} ({list(self.manifest.classes)})"
            )
