"""The detector manifest: the JSON file that travels with a detector ONNX model.

It says what the model is (classes, input size, output layout), proves which file it describes
(sha256), and records where it came from (training data, metrics, library versions, the command
that built it). The runtime refuses a model whose bytes or shape disagree with its manifest.
Format documented in docs/detector.md.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MANIFEST_FORMAT = "walkout-detector-manifest"
MANIFEST_VERSION = 1


class DetectorError(ValueError):
    """A detector model or manifest that cannot be used; the message names the file and problem."""


@dataclass(frozen=True)
class DetectorManifest:
    """What the runtime needs from a manifest, plus the provenance it carries along untouched."""

    model_file: str  # the ONNX file's name, relative to the manifest's folder
    sha256: str
    classes: tuple[str, ...]
    input_width: int
    input_height: int
    dynamic_batch: bool
    info: dict[str, Any] = field(default_factory=dict, compare=False)  # everything else

    @property
    def input_size(self) -> tuple[int, int]:
        """(width, height) of the model input, pixels."""
        return (self.input_width, self.input_height)

    def to_json(self) -> dict[str, Any]:
        """The manifest as a JSON object (the required keys first, provenance after)."""
        doc: dict[str, Any] = {
            "format": MANIFEST_FORMAT,
            "version": MANIFEST_VERSION,
            "model_file": self.model_file,
            "sha256": self.sha256,
            "classes": list(self.classes),
            "input": {
                "width": self.input_width,
                "height": self.input_height,
                "channels": 3,
                "layout": "NCHW float32, RGB, 0..1, letterboxed with grey 114",
                "dynamic_batch": self.dynamic_batch,
            },
        }
        for key, value in self.info.items():
            doc.setdefault(key, value)
        return doc

    def write(self, path: Path) -> None:
        """Write the manifest as indented JSON (stable key order)."""
        path.write_text(json.dumps(self.to_json(), indent=2) + "\n", encoding="utf-8")


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def load_manifest(path: Path) -> DetectorManifest:
    """Read and check a manifest file; a `DetectorError` names the file and the bad key."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DetectorError(f"{path}: detector manifest not found") from None
    except OSError as exc:
        raise DetectorError(f"{path}: cannot read detector manifest: {exc}") from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DetectorError(
            f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno}): {exc.msg}"
        ) from None
    if not isinstance(doc, dict):
        raise DetectorError(f"{path}: a detector manifest must be a JSON object")

    def need(obj: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
        if key not in obj:
            raise DetectorError(f"{path}: missing key '{where}{key}'")
        value = obj[key]
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise DetectorError(f"{path}: key '{where}{key}' has the wrong type ({value!r})")
        return value

    fmt = need(doc, "format", str, "")
    if fmt != MANIFEST_FORMAT:
        raise DetectorError(f"{path}: key 'format' is {fmt!r}, expected {MANIFEST_FORMAT!r}")
    version = need(doc, "version", int, "")
    if version != MANIFEST_VERSION:
        raise DetectorError(
            f"{path}: manifest version {version} is not supported (this runtime reads "
            f"version {MANIFEST_VERSION})"
        )
    model_file = need(doc, "model_file", str, "")
    sha = need(doc, "sha256", str, "").lower()
    if len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha):
        raise DetectorError(f"{path}: key 'sha256' is not a hex sha256 ({sha!r})")
    classes = need(doc, "classes", list, "")
    if not classes or not all(isinstance(c, str) and c for c in classes):
        raise DetectorError(f"{path}: key 'classes' must be a non-empty list of names")
    if len(set(classes)) != len(classes):
        raise DetectorError(f"{path}: key 'classes' has duplicates: {classes}")
    inp = need(doc, "input", dict, "")
    width = need(inp, "width", int, "input.")
    height = need(inp, "height", int, "input.")
    if width <= 0 or height <= 0 or width % 32 or height % 32:
        raise DetectorError(
            f"{path}: input size {width}x{height} must be positive multiples of 32 (the stride)"
        )
    dynamic = need(inp, "dynamic_batch", bool, "input.")
    required = {"format", "version", "model_file", "sha256", "classes", "input"}
    return DetectorManifest(
        model_file=model_file,
        sha256=sha,
        classes=tuple(classes),
        input_width=width,
        input_height=height,
        dynamic_batch=dynamic,
        info={k: v for k, v in doc.items() if k not in required},
    )
