"""Builds the example stores shipped in edge/config/stores/ (small, medium, large).

The YAML files are generated, not hand-written, so a medium store with hundreds of plates stays
consistent. `python -m sim.stores --write` regenerates them; a test checks the shipped files
match this generator byte for byte. Every random choice comes from a seeded generator.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

PRESETS_DIR = Path(__file__).resolve().parent.parent / "edge" / "config" / "stores"

PLATES_PER_SHELF = 12
PLATE_WIDTH_M = 0.30
GONDOLA_DEPTH_M = 0.5
SHELF_HEIGHTS_M = (0.15, 0.55, 0.95, 1.35, 1.75, 2.05)


TAGGED_PRICE = 4.5  # products at least this dear carry item tags


@dataclass(frozen=True)
class Category:
    name: str
    kinds: tuple[str, ...]
    sizes: tuple[tuple[str, float], ...]  # label, unit weight in grams
    price_range: tuple[float, float]


CATEGORIES = (
    Category(
        "drinks",
        ("Sparkling water", "Still water", "Cola", "Lemonade", "Iced tea", "Orange juice"),
        (("330 ml", 355.0), ("500 ml", 530.0), ("1 l", 1060.0), ("1.5 l", 1580.0)),
        (0.59, 2.99),
    ),
    Category(
        "snacks",
        ("Salted crisps", "Paprika crisps", "Pretzels", "Tortilla chips", "Salted peanuts"),
        (("75 g", 82.0), ("150 g", 162.0), ("200 g", 214.0)),
        (0.99, 3.49),
    ),
    Category(
        "sweets",
        ("Milk chocolate", "Dark chocolate", "Gummy bears", "Cereal bar", "Mints"),
        (("40 g", 44.0), ("100 g", 108.0), ("200 g", 215.0)),
        (0.49, 2.99),
    ),
    Category(
        "pantry",
        ("Tomato soup", "Chickpeas", "Sweetcorn", "Tuna", "Pasta", "Rice"),
        (("185 g", 225.0), ("400 g", 470.0), ("500 g", 515.0), ("1 kg", 1030.0)),
        (0.79, 3.99),
    ),
    Category(
        "care",
        ("Toothpaste", "Shower gel", "Shampoo", "Hand soap", "Deodorant"),
        (("75 ml", 110.0), ("250 ml", 290.0), ("500 ml", 560.0)),
        (1.29, 5.49),
    ),
)

BRANDS = ("Alpine", "Borealis", "Cosmo", "Delta", "Evergreen", "Fjord", "Granite", "Harbor")


@dataclass(frozen=True)
class PresetSpec:
    name: str
    title: str
    seed: int
    floor: tuple[float, float]
    gondola_slots: tuple[tuple[float, float, float], ...]  # origin x, origin y, rotation deg
    shelves: int
    cameras: int


def _back_to_back(x: float, y: float) -> tuple[tuple[float, float, float], ...]:
    """Two gondolas back to back: one faces -y from y, the other faces +y from y + 2 depths."""
    length = PLATES_PER_SHELF * PLATE_WIDTH_M
    return ((x, y, 0.0), (x + length, y + 2 * GONDOLA_DEPTH_M, 180.0))


PRESETS = {
    "small": PresetSpec(
        name="small",
        title="Walkout demo store (small: one gondola)",
        seed=101,
        floor=(7.0, 5.0),
        gondola_slots=((1.7, 3.0, 0.0),),
        shelves=4,
        cameras=2,
    ),
    "medium": PresetSpec(
        name="medium",
        title="Walkout demo store (medium: convenience store)",
        seed=202,
        floor=(14.0, 10.0),
        gondola_slots=(
            *_back_to_back(1.5, 3.0),
            *_back_to_back(7.5, 3.0),
            *_back_to_back(1.5, 6.5),
        ),
        shelves=5,
        cameras=6,
    ),
    "large": PresetSpec(
        name="large",
        title="Walkout demo store (large: small supermarket)",
        seed=303,
        floor=(26.0, 18.0),
        gondola_slots=tuple(
            slot
            for x in (1.5, 7.5, 13.5, 19.5)
            for y in (3.0, 7.5, 12.0)
            for slot in _back_to_back(x, y)
        ),
        shelves=5,
        cameras=16,
    ),
}


def _plate_runs(rng: np.random.Generator) -> list[int]:
    """Split a shelf's plates into product runs of 1 to 3 plates (products straddle plates)."""
    runs: list[int] = []
    left = PLATES_PER_SHELF
    while left > 0:
        width = int(rng.choice([1, 1, 1, 2, 2, 3]))
        width = min(width, left)
        runs.append(width)
        left -= width
    return runs


def build_preset(spec: PresetSpec) -> dict[str, Any]:
    """The store config of one preset, as plain data ready for YAML."""
    rng = np.random.default_rng(spec.seed)
    length = PLATES_PER_SHELF * PLATE_WIDTH_M
    gondolas = []
    products: list[dict[str, Any]] = []
    planogram: list[dict[str, Any]] = []
    for gi, (ox, oy, rot) in enumerate(spec.gondola_slots, start=1):
        shelves = []
        for si in range(1, spec.shelves + 1):
            plates = [
                {
                    "id": pi,
                    "calibration": {
                        "offset_counts": int(rng.integers(-150_000, 150_000)),
                        "grams_per_count": round(float(rng.uniform(0.0035, 0.0045)), 7),
                    },
                }
                for pi in range(1, PLATES_PER_SHELF + 1)
            ]
            shelves.append(
                {
                    "id": si,
                    "height_m": SHELF_HEIGHTS_M[si - 1],
                    # One RS-485 bus per gondola: its shelves share the port, told apart by board.
                    "controller": {
                        "type": "serial-walkout-lc1",
                        "port": f"/dev/ttyUSB{gi - 1}",
                        "baud": 460800,
                        "board_id": si,
                    },
                    "plates": plates,
                }
            )
            _stock_shelf(rng, gi, si, products, planogram)
        gondolas.append(
            {
                "id": gi,
                "origin_m": [ox, oy],
                "rotation_deg": rot,
                "length_m": round(length, 3),
                "depth_m": GONDOLA_DEPTH_M,
                "shelves": shelves,
            }
        )
    width, depth = spec.floor
    gate_depth = 1.2
    return {
        "version": 1,
        "store": {"id": f"demo-{spec.name}", "name": spec.title, "currency": "EUR"},
        "floor": {"width_m": width, "depth_m": depth},
        "gondolas": gondolas,
        "products": products,
        "planogram": planogram,
        "gates": [
            {
                "id": "entry",
                "kind": "entry",
                "zone": [[0.0, 0.0], [1.5, 0.0], [1.5, gate_depth], [0.0, gate_depth]],
                "readers": ["Virtual PCD 00 00"],
            },
            {
                "id": "exit",
                "kind": "exit",
                "zone": [
                    [width - 1.5, 0.0],
                    [width, 0.0],
                    [width, gate_depth],
                    [width - 1.5, gate_depth],
                ],
                "readers": ["Virtual PCD 00 01"],
            },
        ],
        "cameras": [
            {
                "type": "opencv",
                "id": f"cam-{ci}",
                "source": f"rtsp://cam-{ci}.store.local/stream1",
                "fps": 15.0,
                # One folder per preset: the presets share edge/config/stores/.
                "calibration": f"calibration/{spec.name}/cam-{ci}.yaml",
            }
            for ci in range(1, spec.cameras + 1)
        ],
        "cloud": {"enabled": False, "mqtt": {"host": "127.0.0.1", "port": 1883}},
        "storage": {"data_dir": "./walkout-data", "journal": "journal.sqlite"},
    }


def _stock_shelf(
    rng: np.random.Generator,
    gondola: int,
    shelf: int,
    products: list[dict[str, Any]],
    planogram: list[dict[str, Any]],
) -> None:
    category = CATEGORIES[(gondola + shelf) % len(CATEGORIES)]
    plate = 1
    previous: tuple[str, str, float] | None = None  # kind, size label, weight
    for run in _plate_runs(rng):
        size_label, weight = category.sizes[int(rng.integers(len(category.sizes)))]
        kind = category.kinds[int(rng.integers(len(category.kinds)))]
        brand = BRANDS[int(rng.integers(len(BRANDS)))]
        # Every third product copies its neighbour's pack size under another name: two products
        # of the same weight on one shelf, which only position can tell apart.
        if previous is not None and len(products) % 3 == 2:
            previous_kind, size_label, weight = previous
            kind = next(k for k in category.kinds if k != previous_kind)
        product = {
            "id": f"P{len(products) + 1:04d}",
            "name": f"{brand} {kind} {size_label}",
            "weight_g": weight,
            "weight_spread_g": round(weight * float(rng.uniform(0.004, 0.012)), 2),
            "price": f"{float(rng.uniform(*category.price_range)):.2f}",
        }
        if float(product["price"]) >= TAGGED_PRICE:
            # High-value items carry an item tag read at the exit (docs/fusion.md); one prefix
            # per product, all the same length, so no prefix starts another.
            product["rfid_tag_prefix"] = f"E2{len(products) + 1:06d}"
        products.append(product)
        refs = [f"{gondola}.{shelf}.{p}" for p in range(plate, plate + run)]
        capacity = max(2, min(24, int(run * 6000 // weight)))
        planogram.append({"product": product["id"], "plates": refs, "units": capacity})
        plate += run
        previous = (kind, size_label, weight)


class _FlowListDumper(yaml.SafeDumper):
    """Short lists of scalars and plate rows go on one line, so a shelf reads like a table."""


def _represent_dict(dumper: yaml.SafeDumper, data: dict[str, Any]) -> yaml.Node:
    flow = "calibration" in data or set(data) == {"offset_counts", "grams_per_count"}
    return dumper.represent_mapping("tag:yaml.org,2002:map", data.items(), flow_style=flow)


def _represent_list(dumper: yaml.SafeDumper, data: list[Any]) -> yaml.Node:
    flow = all(not isinstance(item, dict | list) for item in data) or all(
        isinstance(item, list) and all(not isinstance(x, dict | list) for x in item)
        for item in data
    )
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flow and bool(data))


_FlowListDumper.add_representer(dict, _represent_dict)
_FlowListDumper.add_representer(list, _represent_list)


def render_preset(name: str) -> str:
    """The YAML text of a preset, with a header saying it is generated."""
    spec = PRESETS[name]
    body = yaml.dump(
        build_preset(spec), Dumper=_FlowListDumper, sort_keys=False, width=120, allow_unicode=True
    )
    header = (
        f"# {spec.title}\n"
        "# Generated by `python -m sim.stores --write` (sim/stores.py); edit the generator, not\n"
        "# this file. Format: docs/store-config.md.\n"
    )
    return header + body


def render_calibrations(name: str) -> dict[str, str]:
    """Calibration files of a preset's cameras (path relative to PRESETS_DIR -> YAML text):
    the simulated ceiling rig of sim/render/rig.py."""
    from edge.config.models import StoreConfig
    from sim.render.rig import store_rig

    config = StoreConfig.model_validate(build_preset(PRESETS[name]))
    rig = {cam.camera_id: cam for cam in store_rig(config)}
    return {
        cam.calibration: yaml.safe_dump(rig[cam.id].to_dict(), sort_keys=False)
        for cam in config.cameras
        if cam.calibration
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--write", action="store_true", help="write edge/config/stores/*.yaml")
    args = parser.parse_args()
    for name in PRESETS:
        text = render_preset(name)
        if args.write:
            (PRESETS_DIR / f"{name}.yaml").write_text(text, encoding="utf-8")
            print(f"wrote {PRESETS_DIR / f'{name}.yaml'} ({len(text)} bytes)")
            for rel, calibration in render_calibrations(name).items():
                (PRESETS_DIR / rel).parent.mkdir(parents=True, exist_ok=True)
                (PRESETS_DIR / rel).write_text(calibration, encoding="utf-8")
        else:
            print(text)


if __name__ == "__main__":
    main()
