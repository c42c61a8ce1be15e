"""Import per-plate weight CSV files (the AutoCheckout competition layout) as a recorded session.

Input: a folder of ``gondola_<g>_shelf_<s>_plate_<p>.csv`` files (no header; rows
``unix_seconds,grams`` at ~60 Hz, not zeroed) and a planogram CSV with a header row
``Name,Gondola,Shelf,Plate,Weight,Price[,Image]``. Output: a session whose shelf streams are what
one walkout-lc1 board per shelf would have sent for those readings, with a synthesized store
config (docs/session-format.md, "Importing AutoCheckout plate files", says exactly how).

Calibration is offset 0 and 0.01 g per count, so a reading survives to 0.01 g:
decoded grams = counts * 0.01 = round(grams / 0.01) * 0.01.
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from edge.session.errors import PlatesImportError
from edge.session.writer import SessionWriter

__all__ = [
    "GRAMS_PER_COUNT",
    "PLATE_FILE_PATTERN",
    "PLATE_WIDTH_M",
    "import_plates",
    "product_slug",
]

Progress = Callable[[str, float], None]  # (stage, fraction done), as edge.cli.progress expects

PLATE_FILE_PATTERN = re.compile(r"^gondola_(\d+)_shelf_(\d+)_plate_(\d+)\.csv$")
GRAMS_PER_COUNT = 0.01
PROTOCOL = "walkout-lc1"

# Synthesized geometry (documented in docs/session-format.md): the files carry no positions.
PLATE_WIDTH_M = 0.1
GONDOLA_DEPTH_M = 0.5
GONDOLA_GAP_M = 1.0  # between neighbouring gondolas, and from the floor's side walls
GONDOLA_Y_M = 2.0  # front edge of every gondola; the aisle and gates are at y < 2
SHELF_BASE_M = 0.15
SHELF_PITCH_M = 0.4
PLANOGRAM_COLUMNS = ("name", "gondola", "shelf", "plate", "weight", "price")


@dataclass
class _PlateFile:
    gondola: int
    shelf: int
    plate: int
    path: Path
    times: np.ndarray  # unix seconds
    grams: np.ndarray
    first_line: list[int]  # file line number of each row (blank lines are skipped)


@dataclass
class _Product:
    id: str
    name: str
    weight: float
    price: Decimal
    line: int


def product_slug(name: str) -> str:
    """Product id from a product name: lower case, runs of other characters as "-"."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:60].strip("-")
    return slug or "product"


def _fail(path: Path, problem: str, line: int | None = None) -> PlatesImportError:
    return PlatesImportError(path, problem, line=line)


# --- reading ----------------------------------------------------------------------------------


def _find_plate_files(plates_dir: Path) -> list[tuple[int, int, int, Path]]:
    if not plates_dir.exists():
        raise _fail(plates_dir, "no such folder")
    if not plates_dir.is_dir():
        raise _fail(plates_dir, "is not a folder")
    found: dict[tuple[int, int, int], Path] = {}
    for path in sorted(plates_dir.iterdir()):
        name = path.name
        # Other files (a planogram, a README) may share the folder; only gondola_*.csv are ours.
        if not (name.startswith("gondola_") and name.endswith(".csv")):
            continue
        match = PLATE_FILE_PATTERN.match(name)
        if match is None:
            raise _fail(path, "bad plate file name (expected gondola_<g>_shelf_<s>_plate_<p>.csv)")
        key = (int(match[1]), int(match[2]), int(match[3]))
        if min(key) < 1:
            raise _fail(path, "gondola, shelf and plate numbers start at 1")
        if key in found:
            raise _fail(path, f"names the same plate as {found[key].name}")
        found[key] = path
    if not found:
        raise _fail(
            plates_dir, "no plate files (gondola_<g>_shelf_<s>_plate_<p>.csv) in this folder"
        )
    return [(g, s, p, path) for (g, s, p), path in sorted(found.items())]


def _read_plate_file(g: int, s: int, p: int, path: Path) -> _PlateFile:
    times: list[float] = []
    grams: list[float] = []
    lines: list[int] = []
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise _fail(path, f"cannot read: {exc}") from None
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        fields = line.split(",")
        if len(fields) != 2:
            raise _fail(path, f"expected 2 values (unix_seconds,grams), got {len(fields)}", lineno)
        try:
            t, w = float(fields[0]), float(fields[1])
        except ValueError:
            hint = " (these files have no header row)" if not times else ""
            raise _fail(path, f"not a number: {line.strip()!r}{hint}", lineno) from None
        if not (math.isfinite(t) and math.isfinite(w)):
            raise _fail(path, f"not a finite number: {line.strip()!r}", lineno)
        times.append(t)
        grams.append(w)
        lines.append(lineno)
    if len(times) < 2:
        raise _fail(path, f"needs at least 2 readings, has {len(times)}")
    plate = _PlateFile(g, s, p, path, np.array(times), np.array(grams), lines)
    _check_times(plate)
    return plate


def _period(plate: _PlateFile) -> float:
    return float(np.median(np.diff(plate.times)))


def _check_times(plate: _PlateFile) -> None:
    """Time must increase. Backward steps smaller than half a sample period are tolerated:
    AutoCheckout boards send 12-sample batches timestamped on arrival, so batch boundaries
    jitter by a few milliseconds (the public data has a 4.7 ms step back)."""
    period = _period(plate)
    if not period > 0:
        raise _fail(plate.path, "timestamps do not increase (median step is not positive)")
    steps = np.diff(plate.times)
    bad = np.flatnonzero(steps < -period / 2)
    if bad.size:
        i = int(bad[0]) + 1
        raise _fail(
            plate.path,
            f"time goes backwards: {plate.times[i]!r} comes after {plate.times[i - 1]!r} "
            f"(more than half a sample period)",
            plate.first_line[i],
        )


def _read_planogram(
    path: Path, plates: dict[tuple[int, int, int], _PlateFile]
) -> tuple[list[_Product], list[tuple[str, int, int, list[int]]]]:
    """Products (in order of first appearance) and planogram entries (product, g, s, plates)."""
    if not path.is_file():
        raise _fail(path, "no such planogram file")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise _fail(path, f"cannot read: {exc}") from None
    rows = list(csv.reader(text.splitlines()))
    if not rows:
        raise _fail(
            path, "empty planogram (expected a header row Name,Gondola,Shelf,Plate,Weight,Price)"
        )
    header = [h.strip().lower() for h in rows[0]]
    missing = [c for c in PLANOGRAM_COLUMNS if c not in header]
    if missing:
        names = ", ".join(c.capitalize() for c in missing)
        raise _fail(
            path,
            f"missing column {names} (header must name Name,Gondola,Shelf,Plate,Weight,Price)",
            1,
        )
    col = {c: header.index(c) for c in PLANOGRAM_COLUMNS}

    products: dict[str, _Product] = {}
    used_ids: set[str] = set()
    owner: dict[tuple[int, int, int], tuple[str, int]] = {}
    entries: dict[tuple[str, int, int], list[int]] = {}
    for lineno, row in enumerate(rows[1:], 2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) < len(header):
            raise _fail(path, f"expected {len(header)} columns, got {len(row)}", lineno)
        name = row[col["name"]].strip()
        if not name:
            raise _fail(path, "empty product Name", lineno)
        g, s, p = (_int_cell(path, lineno, c, row[col[c]]) for c in ("gondola", "shelf", "plate"))
        weight = _float_cell(path, lineno, "Weight", row[col["weight"]])
        if weight <= 0:
            raise _fail(path, f"Weight must be more than 0 grams, got {weight}", lineno)
        price = _price_cell(path, lineno, row[col["price"]])
        if (g, s, p) not in plates:
            raise _fail(
                path,
                f"names plate {g}.{s}.{p} but there is no file gondola_{g}_shelf_{s}_plate_{p}.csv",
                lineno,
            )
        product = products.get(name)
        if product is None:
            slug = base = product_slug(name)
            n = 1
            while slug in used_ids:
                n += 1
                slug = f"{base}-{n}"
            used_ids.add(slug)
            product = products[name] = _Product(slug, name, round(weight, 3), price, lineno)
        elif abs(product.weight - round(weight, 3)) > 1e-9 or product.price != price:
            raise _fail(
                path,
                f"{name!r} has weight {weight:g} g and price {price} here but "
                f"{product.weight:g} g and {product.price} on line {product.line}",
                lineno,
            )
        key = (g, s, p)
        if key in owner and owner[key][0] != name:
            raise _fail(
                path,
                f"plate {g}.{s}.{p} already holds {owner[key][0]!r} (line {owner[key][1]}); "
                "one plate holds one product",
                lineno,
            )
        owner[key] = (name, lineno)
        plate_list = entries.setdefault((name, g, s), [])
        if p not in plate_list:
            plate_list.append(p)
    if not products:
        raise _fail(path, "no product rows (a store needs at least one product)")
    planogram = [(products[name].id, g, s, sorted(ps)) for (name, g, s), ps in entries.items()]
    return list(products.values()), planogram


def _int_cell(path: Path, lineno: int, column: str, text: str) -> int:
    try:
        value = float(text.strip())
    except ValueError:
        raise _fail(path, f"{column.capitalize()} is not a number: {text!r}", lineno) from None
    if not value.is_integer() or value < 1:
        raise _fail(
            path, f"{column.capitalize()} must be a whole number >= 1, got {text!r}", lineno
        )
    return int(value)


def _float_cell(path: Path, lineno: int, column: str, text: str) -> float:
    try:
        value = float(text.strip())
    except ValueError:
        raise _fail(path, f"{column} is not a number: {text!r}", lineno) from None
    if not math.isfinite(value):
        raise _fail(path, f"{column} is not a finite number: {text!r}", lineno)
    return value


def _price_cell(path: Path, lineno: int, text: str) -> Decimal:
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise _fail(path, f"Price is not a number: {text!r}", lineno) from None
    if not value.is_finite() or value < 0:
        raise _fail(path, f"Price must be a number >= 0, got {text!r}", lineno)
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN)


# --- building the config ----------------------------------------------------------------------


def _config_text(
    store_id: str,
    store_name: str,
    shelves: dict[tuple[int, int], list[_PlateFile]],
    rates: dict[tuple[int, int], float],
    samples_per_frame: int,
    products: list[_Product],
    planogram: list[tuple[str, int, int, list[int]]],
) -> str:
    gondola_ids = sorted({g for g, _ in shelves})
    gondolas: list[dict[str, Any]] = []
    x = GONDOLA_GAP_M
    for gid in gondola_ids:
        keys = sorted(k for k in shelves if k[0] == gid)
        length = PLATE_WIDTH_M * max(len(shelves[k]) for k in keys)
        gondolas.append(
            {
                "id": gid,
                "origin_m": [round(x, 3), GONDOLA_Y_M],
                "rotation_deg": 0.0,
                "length_m": round(length, 3),
                "depth_m": GONDOLA_DEPTH_M,
                "shelves": [
                    {
                        "id": s,
                        "height_m": round(SHELF_BASE_M + SHELF_PITCH_M * (s - 1), 3),
                        "controller": {
                            "protocol": PROTOCOL,
                            "port": _port(gid, s),
                            "board_id": s,
                            "rate_hz": rates[(gid, s)],
                            "samples_per_frame": samples_per_frame,
                        },
                        "plates": [
                            {
                                "id": pf.plate,
                                "width_m": PLATE_WIDTH_M,
                                "calibration": {
                                    "offset_counts": 0,
                                    "grams_per_count": GRAMS_PER_COUNT,
                                },
                            }
                            for pf in shelves[(gid, s)]
                        ],
                    }
                    for _, s in keys
                ],
            }
        )
        x += length + GONDOLA_GAP_M
    width = round(max(x, 3.0), 3)
    depth = GONDOLA_Y_M + GONDOLA_DEPTH_M + GONDOLA_GAP_M
    config = {
        "version": 1,
        "store": {"id": store_id, "name": store_name, "currency": "USD"},
        "floor": {"width_m": width, "depth_m": depth},
        "gondolas": gondolas,
        "products": [
            {
                "id": p.id,
                "name": p.name,
                "weight_g": p.weight,
                "weight_spread_g": 0.0,
                "price": str(p.price),
            }
            for p in products
        ],
        "planogram": [
            {"product": pid, "plates": [f"{g}.{s}.{p}" for p in ps]} for pid, g, s, ps in planogram
        ],
        "gates": [
            {
                "id": "entry",
                "kind": "entry",
                "zone": [[0.2, 0.2], [1.0, 0.2], [1.0, 1.0], [0.2, 1.0]],
            },
            {
                "id": "exit",
                "kind": "exit",
                "zone": [
                    [round(width - 1.0, 3), 0.2],
                    [round(width - 0.2, 3), 0.2],
                    [round(width - 0.2, 3), 1.0],
                    [round(width - 1.0, 3), 1.0],
                ],
            },
        ],
    }
    body = yaml.safe_dump(config, sort_keys=False, default_flow_style=None, width=100)
    return (
        "# Store config synthesized by `walkout session import-plates` from per-plate CSV files.\n"
        "# Geometry, gates and currency are placeholders (see docs/session-format.md);\n"
        "# calibration is offset 0 and 0.01 g per count, so counts * 0.01 = the recorded grams.\n"
        + body
    )


def _port(gondola: int, shelf: int) -> str:
    return f"import://gondola_{gondola}_shelf_{shelf}"


# --- the import -------------------------------------------------------------------------------


def import_plates(
    plates_dir: Path,
    planogram_csv: Path,
    out_dir: Path,
    *,
    store_id: str = "imported",
    samples_per_frame: int = 12,
    progress: Progress | None = None,
    overwrite: bool = False,
) -> Path:
    """Import AutoCheckout-style per-plate CSV files and a planogram as a session in ``out_dir``.

    Plates of one shelf are aligned by row index (their timestamps must agree within half a
    sample period); if their files differ in length the common prefix is used and the manifest's
    ``extra.truncated_to_common_prefix`` says so. Readings are sent ``samples_per_frame`` per
    frame, each frame stamped with its last sample's time relative to the first timestamp (t=0,
    ``start_time_unix``). Raises PlatesImportError naming the file and line on bad input.
    """
    from edge.config import load_store_config_text
    from edge.shelf.protocol import ADC_MAX, ADC_MIN, MAX_PAYLOAD, MAX_PLATES, BoardEncoder

    plates_dir, planogram_csv, out_dir = Path(plates_dir), Path(planogram_csv), Path(out_dir)
    report = progress or (lambda stage, fraction: None)
    if not re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,62}", store_id):
        raise _fail(
            Path(store_id),
            "not a valid store id (lower-case letters, digits, - and _, at most 63 characters)",
        )
    if not 1 <= samples_per_frame <= 64:
        raise ValueError(f"samples_per_frame must be in 1..64, got {samples_per_frame}")

    # 1. Read every plate file.
    report("read", 0.0)
    listing = _find_plate_files(plates_dir)
    plates: dict[tuple[int, int, int], _PlateFile] = {}
    for i, (g, s, p, path) in enumerate(listing):
        plates[(g, s, p)] = _read_plate_file(g, s, p, path)
        report("read", (i + 1) / len(listing))
    products, planogram = _read_planogram(planogram_csv, plates)

    # 2. Group into shelves and align each shelf's plates by row index.
    shelves: dict[tuple[int, int], list[_PlateFile]] = {}
    for (g, s, _p), pf in sorted(plates.items()):
        shelves.setdefault((g, s), []).append(pf)
    rows: dict[tuple[int, int], int] = {}
    rates: dict[tuple[int, int], float] = {}
    prefix_note: dict[str, Any] = {}
    for key, group in shelves.items():
        if len(group) > MAX_PLATES:
            raise _fail(
                group[0].path,
                f"shelf {key[0]}.{key[1]} has {len(group)} plate files; a board reads at most "
                f"{MAX_PLATES} plates",
            )
        if key[1] > 255:
            raise _fail(group[0].path, "shelf numbers above 255 cannot be board ids")
        need = 12 + 3 * samples_per_frame * len(group)
        if need > MAX_PAYLOAD:
            most = (MAX_PAYLOAD - 12) // (3 * len(group))
            raise _fail(
                plates_dir,
                f"{samples_per_frame} samples per frame x {len(group)} plates of shelf "
                f"{key[0]}.{key[1]} do not fit one frame; use at most {most}",
            )
        n = min(len(pf.times) for pf in group)
        if any(len(pf.times) != n for pf in group):
            prefix_note[f"{key[0]}.{key[1]}"] = {
                "rows": n,
                "dropped": {pf.path.name: len(pf.times) - n for pf in group if len(pf.times) > n},
            }
        ref = group[0]
        period = _period(ref)
        for pf in group[1:]:
            off = np.abs(pf.times[:n] - ref.times[:n])
            bad = np.flatnonzero(off > period / 2)
            if bad.size:
                i = int(bad[0])
                raise _fail(
                    pf.path,
                    f"timestamp {pf.times[i]!r} differs from {ref.path.name}'s {ref.times[i]!r} "
                    f"(row {i + 1}) by more than half a sample period; plates of one shelf are "
                    "aligned by row",
                    pf.first_line[i],
                )
        rows[key] = n
        rates[key] = round(1.0 / period, 3)

    # 3. Validate the synthesized config the same way any config is validated.
    config_text = _config_text(
        store_id,
        f"Imported from {plates_dir.name}",
        shelves,
        rates,
        samples_per_frame,
        products,
        planogram,
    )
    load_store_config_text(config_text, source=f"<config synthesized for {plates_dir.name}>")

    # 4. Grams to counts, range-checked per reading so the error names the file and line.
    counts: dict[tuple[int, int], np.ndarray] = {}
    for key, group in shelves.items():
        n = rows[key]
        cols = []
        for pf in group:
            c = np.rint(pf.grams[:n] / GRAMS_PER_COUNT)
            bad = np.flatnonzero((c < ADC_MIN) | (c > ADC_MAX))
            if bad.size:
                i = int(bad[0])
                raise _fail(
                    pf.path,
                    f"reading {pf.grams[i]:g} g is outside what a 24-bit channel at "
                    f"{GRAMS_PER_COUNT} g per count holds (+-{ADC_MAX * GRAMS_PER_COUNT:.2f} g)",
                    pf.first_line[i],
                )
            cols.append(c.astype(np.int32))
        counts[key] = np.column_stack(cols)

    t0 = min(float(pf.times[0]) for pf in plates.values())
    t_end = max(float(group[0].times[rows[key] - 1]) for key, group in shelves.items()) - t0
    # Tolerated jitter (see _check_times), counted on each shelf's reference (first) plate.
    steps = [np.diff(group[0].times[: rows[key]]) for key, group in shelves.items()]
    backwards = sum(int(np.count_nonzero(d < 0)) for d in steps)
    largest_back = max(float(-d.min()) if d.min() < 0 else 0.0 for d in steps)
    extra: dict[str, Any] = {
        "source": "autocheckout-plate-csv",
        "plates_dir": plates_dir.name,
        "planogram": planogram_csv.name,
        "plates": len(plates),
        "shelves": [f"{g}.{s}" for g, s in shelves],
        "samples_per_frame": samples_per_frame,
        "grams_per_count": GRAMS_PER_COUNT,
        "time_steps_backwards": backwards,
        "largest_step_backwards_s": round(largest_back, 6),
    }
    if prefix_note:
        extra["truncated_to_common_prefix"] = prefix_note

    # 5. Encode and write: one board per shelf, one stream per board.
    from importlib.metadata import PackageNotFoundError, version

    try:
        created_by = f"walkout {version('walkout')} session import-plates"
    except PackageNotFoundError:
        created_by = "walkout session import-plates"
    total_frames = sum(math.ceil(n / samples_per_frame) for n in rows.values())
    done = 0
    report("encode", 0.0)
    writer = SessionWriter(
        out_dir,
        config_text=config_text,
        start_time_unix=t0,
        session_id=f"import-{store_id}-{int(t0)}",
        created_by=created_by,
        extra=extra,
        overwrite=overwrite,
    )
    with writer:
        for key, group in shelves.items():
            n = rows[key]
            times = group[0].times
            encoder = BoardEncoder(key[1], len(group))
            stream = writer.shelf_stream(_port(*key), PROTOCOL)
            last_t = 0.0
            for start in range(0, n, samples_per_frame):
                end = min(start + samples_per_frame, n)
                # A frame is received when its last sample is taken; jitter in the source's
                # timestamps must not make receive times go backwards.
                last_t = max(last_t, round(float(times[end - 1]) - t0, 6))
                stream.write(last_t, encoder.samples(counts[key][start:end]))
                done += 1
                if done % 256 == 0:
                    report("encode", done / total_frames)
        path = writer.close(duration_s=round(t_end, 6))
    report("encode", 1.0)
    return path
