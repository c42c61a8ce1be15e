"""A picture of every camera of a store at one moment, with the true boxes drawn.

`python -m sim.render.mosaic --store medium --scenario busy-store --seed 1 --t 300 --noise 0
--out docs/img/cameras-medium.png` made the figure in docs/cameras.md (without sensor noise, which
would triple the PNG's size).
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import cv2
import numpy as np

from edge.config import load_store_config
from edge.config.layout import StoreLayout
from edge.vision.rig import config_dir, load_rig
from sim.render.draw import PERSON, CameraRenderer
from sim.render.effects import Lighting, LightingSpec, NoiseBank, apply_gain, motion_blur
from sim.render.poses import PoseSampler
from sim.render.scene import StaticScene
from sim.scenario import load_scenario
from sim.world import World


def mosaic(
    store: str, scenario: str, seed: int, t: float, scale: float = 0.5, noise: float = 2.5
) -> np.ndarray:
    """The cameras' frames at time t (store time, seconds), tiled in config order."""
    config = load_store_config(store)
    layout = StoreLayout(config)
    world = World(layout, load_scenario(scenario), seed)
    world.plan_all()
    people = PoseSampler(world.execute(), seed).poses(t)
    scene = StaticScene.from_layout(layout)
    tiles = []
    for ci, (cid, cam) in enumerate(load_rig(config, config_dir(store)).items()):
        out = CameraRenderer(cam, scene, floor_seed=seed).render(people)
        img = apply_gain(out.image, Lighting(LightingSpec(), seed, ci, t + 1).gain(t))
        img = motion_blur(img, out.blur, out.person_mask)
        if noise > 0:
            img = NoiseBank(img.shape[:2], noise, (seed, ci)).apply(img, np.random.default_rng(ci))
        for o in out.objects:
            if o.visible_fraction < 0.3:
                continue
            colour = (60, 220, 60) if o.cls == PERSON else (40, 40, 230)
            x1, y1, x2, y2 = (round(v) for v in o.box)
            cv2.rectangle(img, (x1, y1), (x2 - 1, y2 - 1), colour, 1)
        cv2.putText(img, cid, (8, 22), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 255), 2)
        tiles.append(cv2.resize(img, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA))
    cols = math.ceil(math.sqrt(len(tiles) * 4 / 3))
    cols = min(cols, len(tiles))
    rows = math.ceil(len(tiles) / cols)
    h, w = tiles[0].shape[:2]
    sheet = np.full((rows * h, cols * w, 3), 255, np.uint8)
    for k, tile in enumerate(tiles):
        r, c = divmod(k, cols)
        sheet[r * h : (r + 1) * h, c * w : (c + 1) * w] = tile
    return sheet


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--store", default="medium")
    parser.add_argument("--scenario", default="busy-store")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--t", type=float, default=300.0)
    parser.add_argument("--scale", type=float, default=0.5)
    parser.add_argument("--noise", type=float, default=2.5, help="sensor noise sigma (0: none)")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    sheet = mosaic(args.store, args.scenario, args.seed, args.t, args.scale, args.noise)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(args.out), sheet, [cv2.IMWRITE_PNG_COMPRESSION, 9])
    print(f"wrote {args.out} ({sheet.shape[1]}x{sheet.shape[0]})")


if __name__ == "__main__":
    main()
