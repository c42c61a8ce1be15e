"""Running ultralytics without a network: no downloads, no installs, no telemetry.

Measured on this project's machines (NOTES.md, "Ultralytics offline"): `YOLO_OFFLINE=1` skips the
start-up checks; every `train()` still fetches Arial.ttf unless a TTF is already in
`$YOLO_CONFIG_DIR/Ultralytics/`; `YOLO_AUTOINSTALL=0` stops export from pip-installing onnx and
onnxslim; the `sync` setting must be False. Ultralytics reads `YOLO_CONFIG_DIR` once, when it is
first imported, so `import_ultralytics` sets the environment before importing it.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from types import ModuleType

TRAIN_EXTRA_HINT = (
    "the detector training needs the train extra (torch, ultralytics, onnx, onnxslim): "
    "pip install -e '.[train]'"
)


class TrainingUnavailable(RuntimeError):
    """The train extra is not installed."""


def offline_environment(config_dir: Path) -> dict[str, str]:
    """The environment variables that keep ultralytics offline, with its config in `config_dir`."""
    return {
        "YOLO_OFFLINE": "1",
        "YOLO_AUTOINSTALL": "0",
        "YOLO_CONFIG_DIR": str(config_dir),
        # Progress comes from our own bars; ultralytics' per-batch tqdm lines would drown them.
        "YOLO_VERBOSE": os.environ.get("YOLO_VERBOSE", "False"),
    }


def _local_font() -> Path:
    import matplotlib

    font = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
    if not font.is_file():
        raise TrainingUnavailable(f"{font}: matplotlib's DejaVuSans.ttf is missing")
    return font


def install_font(ultralytics_config_dir: Path) -> None:
    """Put a local TTF where ultralytics looks for Arial.ttf (and Arial.Unicode.ttf)."""
    ultralytics_config_dir.mkdir(parents=True, exist_ok=True)
    font = _local_font()
    for name in ("Arial.ttf", "Arial.Unicode.ttf"):
        target = ultralytics_config_dir / name
        if not target.exists():
            shutil.copyfile(font, target)


def import_ultralytics(config_dir: Path) -> ModuleType:
    """Import ultralytics offline with its settings under `config_dir`; clear error if missing.

    If ultralytics was already imported in this process its config folder cannot move any more:
    the font and settings then go to the folder it already uses.
    """
    import importlib.util

    if importlib.util.find_spec("ultralytics") is None:  # fail before writing anything
        raise TrainingUnavailable(f"{TRAIN_EXTRA_HINT} (no module named 'ultralytics')")
    config_dir.mkdir(parents=True, exist_ok=True)
    for key, value in offline_environment(config_dir).items():
        if key == "YOLO_CONFIG_DIR" and "ultralytics" in sys.modules:
            continue
        os.environ[key] = value
    # Before the import: ultralytics checks for the font lazily, but the folder must exist.
    install_font(config_dir / "Ultralytics")
    try:
        import ultralytics
        from ultralytics.utils import SETTINGS, USER_CONFIG_DIR
    except ImportError as exc:
        raise TrainingUnavailable(f"{TRAIN_EXTRA_HINT} ({exc})") from None
    install_font(Path(USER_CONFIG_DIR))
    SETTINGS.update({"sync": False})
    return ultralytics
