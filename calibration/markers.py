"""The floor-markers file: which ArUco markers lie where on the store floor (format version 1).

```yaml
version: 1
dictionary: DICT_4X4_50        # the ArUco dictionary the markers were printed from
marker_size_m: 0.25            # side of the black square, metres (measure the print)
markers:
  - id: 0
    centre_m: [1.50, 1.00]     # store floor x, y of the marker's centre
    rotation_deg: 0            # optional: 0 = the printed top edge faces +y
  - id: 7
    corners_m: [[3.1, 2.6], [3.4, 2.6], [3.4, 2.3], [3.1, 2.3]]  # or all four corners
    z_m: 0.0                   # optional: height above the floor (a marker on a step)
```

A marker is given either by its centre (and rotation) or by its four corners, in ArUco order:
the printed marker's top-left, top-right, bottom-right, bottom-left. Errors name the file, the
line and the key path, like the store config's.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any, Literal

import cv2
import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from edge.config.errors import ConfigError, ConfigIssue

__all__ = [
    "MARKERS_FORMAT_VERSION",
    "MarkerPlacement",
    "MarkersFile",
    "MarkersFileError",
    "UnknownDictionaryError",
    "aruco_dictionary",
    "load_markers",
]

MARKERS_FORMAT_VERSION = 1


class UnknownDictionaryError(ValueError):
    """An ArUco dictionary name OpenCV does not know."""


def dictionary_names() -> list[str]:
    return sorted(n for n in dir(cv2.aruco) if n.startswith("DICT_") and n.upper() == n)


def aruco_dictionary(name: str) -> cv2.aruco.Dictionary:
    """OpenCV's predefined ArUco dictionary called `name` (e.g. DICT_4X4_50)."""
    value = getattr(cv2.aruco, name, None) if name.startswith("DICT_") else None
    if not isinstance(value, int):
        some = ", ".join(n for n in dictionary_names() if n.endswith(("_50", "_100")))
        raise UnknownDictionaryError(f"unknown ArUco dictionary {name!r} (for example: {some})")
    return cv2.aruco.getPredefinedDictionary(value)


class MarkersFileError(ValueError):
    """A markers file that cannot be used; carries every problem with file, line and key."""

    def __init__(self, source: str, issues: list[ConfigIssue]):
        self.source = source
        self.issues = issues
        count = len(issues)
        head = f"{count} problem{'s' if count != 1 else ''} in markers file {source}"
        super().__init__(head + ":\n" + "\n".join(f"  {issue}" for issue in issues))


_Point = Annotated[tuple[float, float], Field(description="Store floor [x, y], metres.")]


class MarkerPlacement(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: int = Field(ge=0, description="ArUco marker id (printed on the marker's sheet).")
    centre_m: _Point | None = Field(default=None, description="Centre of the black square.")
    rotation_deg: float = Field(
        default=0.0,
        description="Counter-clockwise rotation seen from above; 0: the printed top edge faces +y.",
    )
    corners_m: list[_Point] | None = Field(
        default=None,
        min_length=4,
        max_length=4,
        description="The black square's corners: top-left, top-right, bottom-right, "
        "bottom-left of the printed marker.",
    )
    z_m: float = Field(default=0.0, description="Height above the floor, metres.")

    @model_validator(mode="after")
    def _one_way_to_place(self) -> MarkerPlacement:
        if (self.centre_m is None) == (self.corners_m is None):
            raise ValueError("give either centre_m (with rotation_deg) or corners_m, not both")
        return self

    def corners(self, size_m: float) -> np.ndarray:
        """The black square's corners (4, 3) in the store frame, ArUco order."""
        if self.corners_m is not None:
            xy = np.asarray(self.corners_m, dtype=np.float64)
        else:
            h = size_m / 2
            local = np.array([[-h, h], [h, h], [h, -h], [-h, -h]])
            a = math.radians(self.rotation_deg)
            rot = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
            xy = local @ rot.T + np.asarray(self.centre_m)
        return np.column_stack([xy, np.full(4, self.z_m)])


class MarkersFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: Literal[1] = Field(description="Markers file format version; this is version 1.")
    dictionary: str = Field(description="ArUco dictionary, e.g. DICT_4X4_50.")
    marker_size_m: float = Field(gt=0, lt=2, description="Side of the black square, metres.")
    markers: list[MarkerPlacement] = Field(min_length=1, description="Markers on the floor.")

    def by_id(self) -> dict[int, MarkerPlacement]:
        return {m.id: m for m in self.markers}

    def corners(self, marker_id: int) -> np.ndarray:
        return self.by_id()[marker_id].corners(self.marker_size_m)


def load_markers(path: Path) -> MarkersFile:
    """Load and check a markers file; raises MarkersFileError naming file, line and key."""
    from edge.config.loader import _issue_at, line_index, validation_issues, yaml_issue

    source = str(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise MarkersFileError(
            source, [ConfigIssue(source, None, None, (), exc.strerror)]
        ) from None
    try:
        positions = line_index(text, source)
        data: Any = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise MarkersFileError(source, [yaml_issue(exc, source)]) from None
    except ConfigError as exc:
        raise MarkersFileError(source, exc.issues) from None
    if not isinstance(data, dict):
        raise MarkersFileError(source, [ConfigIssue(source, 1, 1, (), "must be a mapping")])
    try:
        markers = MarkersFile.model_validate(data)
    except ValidationError as exc:
        issues = [
            ConfigIssue(
                i.file,
                i.line,
                i.column,
                i.path,
                "unknown key (see docs/calibration.md for the markers file)"
                if i.message.startswith("unknown key")
                else i.message.removeprefix("Value error, "),
                i.value,
                i.has_value,
            )
            for i in validation_issues(exc, source, positions, data)
        ]
        raise MarkersFileError(source, issues) from None
    problems = []
    try:
        aruco = aruco_dictionary(markers.dictionary)
    except UnknownDictionaryError as exc:
        problems.append(_issue_at(source, positions, ("dictionary",), str(exc)))
        aruco = None
    seen: set[int] = set()
    for i, m in enumerate(markers.markers):
        if m.id in seen:
            problems.append(_issue_at(source, positions, ("markers", i, "id"), "duplicate id"))
        seen.add(m.id)
        if aruco is not None and m.id >= aruco.bytesList.shape[0]:
            problems.append(
                _issue_at(
                    source,
                    positions,
                    ("markers", i, "id"),
                    f"{markers.dictionary} has ids 0..{aruco.bytesList.shape[0] - 1}",
                )
            )
    if problems:
        raise MarkersFileError(source, problems)
    return markers
