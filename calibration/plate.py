"""Load-cell tare and span for one plate (`walkout calibrate plate`).

The procedure: read the plate's raw counts while it is empty (tare: `offset_counts`, and the
noise), then with a known mass on it (span: `grams_per_count = mass / (loaded - empty)`). The
live part (:class:`PlateReader`) reads walkout-lc1 frames from the serial port and keeps the one
column that is this plate; the rest is pure arithmetic on sample arrays, tested with tables.

Durations are counted in board samples (the board's tick, at the config's `rate_hz`), never
by the wall clock, so a simulated board running faster than real time gives the same result. The
wall clock is used only to give up on a silent port.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from edge.config.layout import PlateRef, StoreLayout
from edge.config.models import StoreConfig
from edge.shelf.protocol import FrameParser, PlateStatus, SampleFrame, StatusFrame

__all__ = [
    "PLATE_CALIBRATION_VERSION",
    "PlateCalibrationError",
    "PlateCalibrationResult",
    "PlateReader",
    "PlateTarget",
    "StepWatcher",
    "WindowStats",
    "compute_calibration",
    "find_plate",
    "load_plate_calibration",
    "run_plate_calibration",
    "window_stats",
]

PLATE_CALIBRATION_VERSION = 1

STEP_SIGMAS = 8.0
"""A change of the plate's level by this many empty-noise std (over a 0.25 s median) is a step."""
STABLE_SIGMAS = 3.0
"""A loaded window is stable when its std is at most this many times the empty noise std..."""
DRIFT_SIGMAS = 2.0
"""...and its two halves' means differ by at most this many empty-noise std (no creep)."""
DEFAULT_MAX_SPAN_ERROR = 0.002
"""Refuse a calibration whose span (1 sigma) is less certain than 0.2 %: 4 g on a 2 kg change,
already more than a typical product's weight spread."""
BLOCK_S = 0.5
"""Block length for the standard error of a window's mean (noise is correlated over ~0.1 s)."""


class PlateCalibrationError(ValueError):
    """The plate calibration cannot go on; the message names the port, plate and problem."""


# --------------------------------------------------------------------------------------------
# Which plate, on which board
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlateTarget:
    """A plate as the store config places it: its board on a port and its column there."""

    ref: PlateRef
    port: str
    baud: int
    board_id: int
    column: int  # 0-based index in the board's samples
    n_plates: int  # plates the config puts on this shelf's board
    rate_hz: float
    capacity_g: float
    offset_counts: int  # what the config has now
    grams_per_count: float
    config_path: tuple[str | int, ...]  # key path of the plate's calibration in the config


def find_plate(config: StoreConfig, ref_text: str, source: str) -> PlateTarget:
    """Look the plate up in the store config; the error names what does exist."""
    try:
        ref = PlateRef.parse(ref_text)
    except ValueError as exc:
        raise PlateCalibrationError(f"--plate: {exc}") from None
    layout = StoreLayout(config)
    plate = layout.plates.get(ref)
    if plate is None:
        shelf = layout.shelves.get((ref.gondola, ref.shelf))
        if shelf is None:
            shelves = ", ".join(f"{g}.{s}" for g, s in sorted(layout.shelves))
            where = f"there is no shelf {ref.gondola}.{ref.shelf} (shelves: {shelves})"
        else:
            ids = [p.id for p in shelf.plates]
            where = f"shelf {ref.gondola}.{ref.shelf} has plates {min(ids)}..{max(ids)}"
        raise PlateCalibrationError(f"plate {ref} is not in {source}: {where}")
    shelf = layout.shelves[(ref.gondola, ref.shelf)]
    column = [p.id for p in shelf.plates].index(ref.plate)
    gi = [g.id for g in config.gondolas].index(ref.gondola)
    si = [s.id for s in config.gondolas[gi].shelves].index(ref.shelf)
    ctl = shelf.controller
    return PlateTarget(
        ref=ref,
        port=ctl.port,
        baud=ctl.baud,
        board_id=ctl.board_id,
        column=column,
        n_plates=len(shelf.plates),
        rate_hz=float(ctl.rate_hz),
        capacity_g=plate.capacity_g,
        offset_counts=plate.calibration.offset_counts,
        grams_per_count=plate.calibration.grams_per_count,
        config_path=("gondolas", gi, "shelves", si, "plates", column, "calibration"),
    )


# --------------------------------------------------------------------------------------------
# Reading one plate from the port
# --------------------------------------------------------------------------------------------


class PlateReader:
    """Raw counts of one plate from a port carrying walkout-lc1 frames.

    Frames of other boards are counted and skipped. Errors: no frames at all within
    `frame_timeout_s`; frames, but none from the plate's board; the board has a different plate
    count than the config; the board reports the plate as faulty.
    """

    def __init__(
        self,
        source: Any,
        target: PlateTarget,
        *,
        frame_timeout_s: float = 3.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.source = source
        self.target = target
        self.frame_timeout_s = frame_timeout_s
        self.clock = clock
        self.parser = FrameParser()
        self.other_boards: set[int] = set()
        self.samples_read = 0

    def _where(self) -> str:
        return f"{self.source.url} at {self.source.baud} baud"

    def read(self, n_samples: int) -> np.ndarray:
        """The next `n_samples` consecutive raw counts of the plate (int64).

        Samples after the window (the rest of its last frame) are dropped: the next read starts
        a little later, which the calibration never needs to be continuous across.
        """
        out: list[np.ndarray] = []
        got = 0
        for chunk in self.stream():
            out.append(chunk)
            got += len(chunk)
            if got >= n_samples:
                break
        return np.concatenate(out)[:n_samples] if out else np.zeros(0, np.int64)

    def stream(self) -> Iterator[np.ndarray]:
        """Yield the plate's counts frame by frame, for ever (the caller stops)."""
        t = self.target
        last_mine = self.clock()
        while True:
            data = self.source.read_chunk()
            now = self.clock()
            frames = self.parser.feed(data) if data else []
            mine = False
            for frame in frames:
                if frame.board_id != t.board_id:
                    self.other_boards.add(frame.board_id)
                    continue
                if frame.n_plates != t.n_plates:
                    raise PlateCalibrationError(
                        f"{self._where()}: board {t.board_id} reports {frame.n_plates} plates, "
                        f"the store config gives shelf {t.ref.gondola}.{t.ref.shelf} "
                        f"{t.n_plates}: fix the config (the runtime would ignore this board)"
                    )
                mine = True
                if isinstance(frame, StatusFrame):
                    code = frame.plate_status[t.column]
                    if code != PlateStatus.OK:
                        name = (
                            PlateStatus(code).name
                            if code in set(PlateStatus)
                            else f"unknown code {code}"
                        )
                        raise PlateCalibrationError(
                            f"{self._where()}: board {t.board_id} reports plate {t.ref} "
                            f"(channel {t.column}) as {name}: check the load cell's wiring"
                        )
                elif isinstance(frame, SampleFrame):
                    col = frame.samples[:, t.column].astype(np.int64)
                    self.samples_read += len(col)
                    yield col
            if mine:
                last_mine = now
            elif now - last_mine > self.frame_timeout_s:
                raise self._silence_error()

    def _silence_error(self) -> PlateCalibrationError:
        t = self.target
        st = self.parser.stats
        if self.other_boards:
            boards = ", ".join(str(b) for b in sorted(self.other_boards))
            return PlateCalibrationError(
                f"plate {t.ref} is not on the controller at {self.source.url}: the store config "
                f"puts it on board {t.board_id}, but the frames there come from board(s) "
                f"{boards}; check the --port and the shelf's controller.board_id"
            )
        return PlateCalibrationError(
            f"no walkout-lc1 frames on {self._where()} for {self.frame_timeout_s:g} s "
            f"({st.bytes_in} bytes received, {st.crc_errors} CRC errors, {st.bad_header} bad "
            "headers): check the cable, the port and the baud rate"
        )


# --------------------------------------------------------------------------------------------
# Pure arithmetic
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WindowStats:
    """A window of raw counts: its mean, the per-sample noise, and the mean's standard error."""

    samples: int
    mean: float
    std: float
    se: float  # standard error of `mean`, from block means (honest about correlated noise)
    drift: float  # mean of the second half minus mean of the first half

    def as_dict(self) -> dict[str, float | int]:
        return {
            "samples": self.samples,
            "mean_counts": round(self.mean, 3),
            "std_counts": round(self.std, 3),
            "se_counts": round(self.se, 4),
            "drift_counts": round(self.drift, 3),
        }


def window_stats(counts: np.ndarray, rate_hz: float) -> WindowStats:
    x = np.asarray(counts, dtype=np.float64)
    n = len(x)
    if n < 4:
        raise PlateCalibrationError(f"a window of {n} samples is too short to calibrate")
    mean = float(x.mean())
    std = float(x.std(ddof=1))
    block = max(1, round(BLOCK_S * rate_hz))
    nb = n // block
    se = std / math.sqrt(n)
    if nb >= 2:
        means = x[: nb * block].reshape(nb, block).mean(axis=1)
        se = max(se, float(means.std(ddof=1)) / math.sqrt(nb))
    half = n // 2
    drift = float(x[half:].mean() - x[:half].mean())
    return WindowStats(samples=n, mean=mean, std=std, se=se, drift=drift)


def check_empty(empty: WindowStats, ref: PlateRef) -> None:
    """Refuse a tare taken while the plate was touched, loaded or dead."""
    if empty.std == 0:
        raise PlateCalibrationError(
            f"plate {ref}: the readings are constant ({empty.mean:.0f} counts): a stuck or "
            "disconnected channel"
        )
    if abs(empty.drift) > DRIFT_SIGMAS * empty.std:
        raise PlateCalibrationError(
            f"plate {ref}: unstable readings while empty: the level moved by "
            f"{empty.drift:.0f} counts ({abs(empty.drift) / empty.std:.1f} x the noise) during "
            "the tare; keep the plate clear and still, and try again"
        )


class StepWatcher:
    """Finds a stable loaded level after a step away from the tare (streaming, pure).

    Feed it the plate's counts in order; :meth:`feed` returns the stable window once the level
    has left the tare by more than `STEP_SIGMAS` noise std and then stayed flat (std at most
    `STABLE_SIGMAS` x the empty noise, halves within `DRIFT_SIGMAS`) for `window` samples.
    """

    def __init__(self, empty: WindowStats, rate_hz: float, window: int) -> None:
        self.empty = empty
        self.window = window
        self.short = max(3, int(0.25 * rate_hz))
        self.threshold = STEP_SIGMAS * empty.std
        self.buffer = np.zeros(0, np.int64)
        self.step_seen = False
        self.fed = 0
        self.best_std = math.inf

    def feed(self, counts: np.ndarray) -> np.ndarray | None:
        self.buffer = np.concatenate([self.buffer, counts])[-(self.window + self.short) :]
        self.fed += len(counts)
        if len(self.buffer) < self.short:
            return None
        recent = float(np.median(self.buffer[-self.short :]))
        if abs(recent - self.empty.mean) <= self.threshold:
            return None
        self.step_seen = True
        if len(self.buffer) < self.window:
            return None
        win = self.buffer[-self.window :].astype(np.float64)
        if abs(float(np.median(win[: self.short])) - self.empty.mean) <= self.threshold:
            return None  # the window still starts before the step
        std = float(win.std(ddof=1))
        self.best_std = min(self.best_std, std)
        half = len(win) // 2
        drift = abs(float(win[half:].mean() - win[:half].mean()))
        e = self.empty.std
        if std <= STABLE_SIGMAS * e and drift <= DRIFT_SIGMAS * e:
            return win
        return None


@dataclass(frozen=True)
class PlateCalibrationResult:
    target: PlateTarget
    mass_g: float
    empty: WindowStats
    loaded: WindowStats
    offset_counts: int
    grams_per_count: float
    noise_std_g: float  # per-sample noise of the empty plate, grams
    tare_error_g: float  # 1 sigma uncertainty of the zero, grams
    span_error: float  # 1 sigma relative uncertainty of grams_per_count
    rate_hz: float
    port: str = ""  # the port actually read (may differ from the config's)

    def expected_error_g(self, grams: float) -> float:
        """1 sigma error of a reading of `grams` averaged long enough to beat the noise: the
        calibration's own contribution (zero and span)."""
        return math.hypot(self.tare_error_g, grams * self.span_error)

    def to_dict(self, *, created_utc: str | None = None, store: str = "") -> dict[str, Any]:
        t = self.target
        data: dict[str, Any] = {
            "version": PLATE_CALIBRATION_VERSION,
            "kind": "walkout-plate-calibration",
            "plate": str(t.ref),
            "store": store,
            "board": {"port": self.port or t.port, "board_id": t.board_id, "channel": t.column},
            "calibration": {
                "offset_counts": self.offset_counts,
                "grams_per_count": float(f"{self.grams_per_count:.8g}"),
            },
            "measurement": {
                "rate_hz": self.rate_hz,
                "mass_g": self.mass_g,
                "empty": self.empty.as_dict(),
                "loaded": self.loaded.as_dict(),
                "noise_std_g": round(self.noise_std_g, 4),
                "tare_error_g": round(self.tare_error_g, 4),
                "span_error_pct": round(self.span_error * 100, 5),
                "expected_error_g": {
                    "at_mass": round(self.expected_error_g(self.mass_g), 4),
                    "at_capacity": round(self.expected_error_g(t.capacity_g), 4),
                },
            },
            "previous": {
                "offset_counts": t.offset_counts,
                "grams_per_count": t.grams_per_count,
            },
        }
        if created_utc:
            data["created_utc"] = created_utc
        return data

    def save(self, path: Path, **kwargs: Any) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(self.to_dict(**kwargs), sort_keys=False))


def compute_calibration(
    target: PlateTarget,
    empty: WindowStats,
    loaded: WindowStats,
    mass_g: float,
    *,
    max_span_error: float = DEFAULT_MAX_SPAN_ERROR,
) -> PlateCalibrationResult:
    """Tare and span from the two windows; refuses a reversed cell or a too-light mass."""
    if mass_g <= 0:
        raise PlateCalibrationError(f"--mass-grams must be positive, got {mass_g:g}")
    step = loaded.mean - empty.mean
    if step < 0:
        raise PlateCalibrationError(
            f"plate {target.ref}: the readings went down by {-step:.0f} counts when the mass "
            "was placed: the load cell is wired reversed (swap its signal wires) or the mass "
            "was on the plate during the tare"
        )
    gpc = mass_g / step
    span_error = math.hypot(empty.se, loaded.se) / step
    if span_error > max_span_error:
        need = mass_g * span_error / max_span_error
        raise PlateCalibrationError(
            f"plate {target.ref}: the mass is too small for the noise: {mass_g:g} g moved the "
            f"reading by {step:.0f} counts against a noise of {empty.std:.0f} counts, so the "
            f"span would be uncertain by {span_error * 100:.2f} % (limit "
            f"{max_span_error * 100:g} %); use at least {need:.0f} g or longer windows"
        )
    return PlateCalibrationResult(
        target=target,
        mass_g=mass_g,
        empty=empty,
        loaded=loaded,
        offset_counts=round(empty.mean),
        grams_per_count=gpc,
        noise_std_g=empty.std * gpc,
        tare_error_g=empty.se * gpc,
        span_error=span_error,
        rate_hz=target.rate_hz,
    )


def run_plate_calibration(
    reader: PlateReader,
    mass_g: float,
    *,
    empty_s: float = 5.0,
    loaded_s: float = 5.0,
    wait_s: float = 120.0,
    prompt: Callable[[str], None] | None = None,
    say: Callable[[str], None] = lambda _text: None,
    max_span_error: float = DEFAULT_MAX_SPAN_ERROR,
) -> PlateCalibrationResult:
    """The whole procedure on a live reader: tare, then (after `prompt`, or straight away when
    it is None) wait up to `wait_s` board seconds for a stable step, then span."""
    t = reader.target
    rate = t.rate_hz
    n_empty = max(4, round(empty_s * rate))
    n_loaded = max(4, round(loaded_s * rate))
    say(f"reading plate {t.ref} empty for {empty_s:g} s (keep it clear and still)")
    empty = window_stats(reader.read(n_empty), rate)
    check_empty(empty, t.ref)
    say(
        f"empty: {empty.mean:.0f} counts, noise {empty.std:.1f} counts; "
        f"now place {mass_g:g} g on plate {t.ref}"
    )
    if prompt is not None:
        prompt(f"place {mass_g:g} g on plate {t.ref}, let go, then press Enter")
    else:
        say("waiting for the mass to be placed and the reading to settle")
    watcher = StepWatcher(empty, rate, n_loaded)
    limit = round(wait_s * rate)
    for chunk in reader.stream():
        found = watcher.feed(chunk)
        if found is not None:
            break
        if watcher.fed >= limit:
            if not watcher.step_seen:
                raise PlateCalibrationError(
                    f"plate {t.ref}: no step appeared within {wait_s:g} s (the reading stayed "
                    f"within {watcher.threshold:.0f} counts, {STEP_SIGMAS:g} x the noise, of "
                    "the tare): is the mass on this plate? is it heavy enough?"
                )
            raise PlateCalibrationError(
                f"plate {t.ref}: unstable readings: the loaded plate did not settle within "
                f"{wait_s:g} s (best {loaded_s:g} s window: std {watcher.best_std:.0f} counts, "
                f"{watcher.best_std / empty.std:.1f} x the empty noise; limit "
                f"{STABLE_SIGMAS:g} x); make sure the mass rests flat and nothing touches "
                "the plate"
            )
    loaded = window_stats(found, rate)
    result = compute_calibration(t, empty, loaded, mass_g, max_span_error=max_span_error)
    return replace(result, port=str(getattr(reader.source, "url", "")))


def load_plate_calibration(path: Path) -> dict[str, Any]:
    """Read a plate calibration file; returns its mapping after checking the essentials."""
    try:
        data = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise PlateCalibrationError(f"{path}: cannot read: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise PlateCalibrationError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(data, dict) or data.get("version") != PLATE_CALIBRATION_VERSION:
        raise PlateCalibrationError(f"{path}: version: must be {PLATE_CALIBRATION_VERSION}")
    cal = data.get("calibration")
    if not isinstance(cal, dict) or not {"offset_counts", "grams_per_count"} <= cal.keys():
        raise PlateCalibrationError(
            f"{path}: calibration: must hold offset_counts and grams_per_count"
        )
    return data
