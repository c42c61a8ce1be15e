"""Rendering speed of the simulated ceiling cameras.

Prints: the static scene per camera (once per camera), frames/s of the renderer alone (people
and ground truth, no effects), with the camera effects (light, blur, noise), and with MJPG
encoding; then labelled dataset frames/s, and a whole one-shopper session with cameras.
Usage: python benchmarks/bench_render.py [--store medium] [--size 640x480] [--frames 300]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from edge.config import load_store_config
from edge.config.layout import StoreLayout
from edge.vision.rig import config_dir, load_rig, resized
from sim.generate import generate_session
from sim.render.dataset import render_labelled_frames
from sim.render.draw import CameraRenderer
from sim.render.effects import Lighting, LightingSpec, NoiseBank, apply_gain, motion_blur
from sim.render.poses import PoseSampler
from sim.render.scene import StaticScene
from sim.render.video import CameraOptions
from sim.scenario import load_scenario
from sim.world import World


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--store", default="medium")
    parser.add_argument("--scenario", default="busy-store")
    parser.add_argument("--size", default="640x480")
    parser.add_argument("--frames", type=int, default=300)
    args = parser.parse_args()
    w, h = (int(v) for v in args.size.split("x"))
    config = load_store_config(args.store)
    layout = StoreLayout(config)
    scene = StaticScene.from_layout(layout)
    rig = load_rig(config, config_dir(args.store))
    sc = load_scenario(args.scenario)
    world = World(layout, sc, 1)
    world.plan_all()
    result = world.execute()
    sampler = PoseSampler(result, 1)

    started = time.perf_counter()
    renderers = [CameraRenderer(resized(c, (w, h)), scene) for c in rig.values()]
    static_s = (time.perf_counter() - started) / len(renderers)

    # A busy moment: the time with the most people in the store.
    times = np.arange(0.0, result.end_t, 1.0)
    busiest = float(times[int(np.argmax([len(sampler.poses(t)) for t in times]))])
    ts = busiest + np.arange(args.frames) / 15.0
    people = [sampler.poses(float(t)) for t in ts]
    shown = np.mean([len(p) for p in people])

    def per_second(fn) -> float:
        started = time.perf_counter()
        for k in range(args.frames):
            fn(k)
        return args.frames / (time.perf_counter() - started)

    renderer = max(renderers, key=lambda r: len(r.render(people[0]).objects))
    lighting = Lighting(LightingSpec(), 1, 0, float(ts[-1]) + 1)
    noise = NoiseBank((h, w), 2.5, 1)
    rng = np.random.default_rng(0)
    writer = cv2.VideoWriter(
        str(Path(tempfile.mkdtemp()) / "x.avi"),
        cv2.CAP_FFMPEG,
        cv2.VideoWriter_fourcc(*"MJPG"),
        15.0,
        (w, h),
    )

    def full(k: int, encode: bool) -> None:
        out = renderer.render(people[k])
        img = apply_gain(out.image, lighting.gain(float(ts[k])))
        img = motion_blur(img, out.blur, out.person_mask)
        img = noise.apply(img, rng)
        if encode:
            writer.write(img)

    render_fps = per_second(lambda k: renderer.render(people[k]))
    effects_fps = per_second(lambda k: full(k, False))
    encode_fps = per_second(lambda k: full(k, True))
    writer.release()
    objects = np.mean([len(renderer.render(people[k]).objects) for k in range(0, args.frames, 10)])

    started = time.perf_counter()
    n = sum(1 for _ in render_labelled_frames(args.store, args.frames, 1, (w, h)))
    dataset_fps = n / (time.perf_counter() - started)

    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        res = generate_session(
            "one-shopper", 1, Path(tmp) / "s", store="small",
            cameras=CameraOptions(image_size=(w, h)),
        )  # fmt: skip
        session_s = time.perf_counter() - started
        video_mb = sum(p.stat().st_size for p in (Path(tmp) / "s" / "cameras").glob("*.avi")) / 1e6

    print(f"store / size          {args.store}, {len(rig)} cameras, {w}x{h}")
    print(f"static scene          {static_s * 1000:.0f} ms per camera (once)")
    print(f"scene                 {shown:.1f} people in the store, {objects:.1f} objects in view")
    print(f"render + truth        {render_fps:.0f} frames/s")
    print(f"+ light, blur, noise  {effects_fps:.0f} frames/s")
    print(f"+ MJPG encoding       {encode_fps:.0f} frames/s")
    print(f"dataset frames        {dataset_fps:.0f} frames/s (incl. static scenes of new cameras)")
    print(
        f"one-shopper session   small store, 2 cameras at 15 fps, {res.duration_s:.0f} s of store "
        f"time: {session_s:.1f} s wall, {video_mb:.0f} MB of video"
    )


if __name__ == "__main__":
    main()
