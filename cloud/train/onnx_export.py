"""Exporting trained weights to the ONNX file the edge runtime loads.

ultralytics' `dynamic=True` makes batch, height and width all symbolic. The edge only needs a
dynamic batch (several cameras in one inference); a fixed height and width let the runtime check
the model against its manifest and let onnxruntime plan memory for one shape. So after export the
height, width and anchor count are pinned to the trained size.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

STRIDES = (8, 16, 32)  # YOLOv8 / YOLO11 detection heads


def anchor_count(width: int, height: int) -> int:
    """Anchor points of a YOLOv8/11 head for an input of width x height pixels."""
    return sum((width // s) * (height // s) for s in STRIDES)


def export_onnx(yolo: Any, imgsz: int, opset: int) -> tuple[Path, bool]:
    """Export with ultralytics; returns the file and whether onnxslim simplified it.

    A failing simplification is not fatal: the unsimplified graph gives the same outputs, only a
    little slower, and the manifest records which one shipped.
    """
    common = {"format": "onnx", "imgsz": imgsz, "opset": opset, "dynamic": True, "device": "cpu"}
    try:
        return Path(yolo.export(simplify=True, **common)), True
    except Exception as exc:  # onnxslim failures come as many exception types
        log.warning("ONNX export with onnxslim failed (%s); exporting without simplify", exc)
        return Path(yolo.export(simplify=False, **common)), False


def pin_input_size(path: Path, width: int, height: int) -> None:
    """Fix the input's height and width (and the output's anchor count); batch stays dynamic."""
    import onnx

    model = onnx.load(str(path))
    if len(model.graph.input) != 1 or len(model.graph.output) != 1:
        raise ValueError(f"{path}: expected one input and one output in the exported graph")
    dims = model.graph.input[0].type.tensor_type.shape.dim
    if len(dims) != 4:
        raise ValueError(f"{path}: the exported input has rank {len(dims)}, expected 4")
    dims[0].dim_param = "batch"
    dims[2].dim_value = height
    dims[3].dim_value = width
    out_dims = model.graph.output[0].type.tensor_type.shape.dim
    if len(out_dims) == 3:
        out_dims[0].dim_param = "batch"
        out_dims[2].dim_value = anchor_count(width, height)
    for prop in model.metadata_props:
        if prop.key == "imgsz":
            prop.value = str([height, width])
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
