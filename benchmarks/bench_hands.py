"""Hand and person recall and precision of a detector, with the edge runtime, on rendered frames.

Renders `--frames` labelled frames (`sim.render.dataset.render_labelled_frames`, store `--store`,
seed `--seed`: 777 by default, a seed never used for training or validation; `--crowd` places
that share of people beside another, as `walkout cloud retrain detector --crowd` does), runs
`edge.vision.detector.Detector` on each at confidence `--conf`, and matches detections to the true
boxes one to one, most confident first:

- a hand is found when a hand detection's centre lies within `--hand-px` (8) frame pixels of the
  true hand's centre (a `--hand-box-px` model's boxes are regions about the hand, so only centres
  are comparable; the centre is all the floor tracker uses);
- a person is found when a person detection overlaps the true box with IoU at least 0.5.

Precision is matched detections over all detections of the class.

Usage: python benchmarks/bench_hands.py [--detector MANIFEST] [--store medium] [--frames 40]
       [--seed 777] [--crowd 0] [--conf 0.25 ...] [--hand-px 8] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np

from edge.vision.detector import Detector, DetectorOptions
from sim.render.dataset import render_labelled_frames

PERSON_IOU = 0.5


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    inter = w * h
    return float(inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter))


def match(det: np.ndarray, truth: np.ndarray, cls: int, hand_px: float) -> tuple[int, int, int]:
    """(true boxes, detections, matched) of one class in one frame; greedy, most confident first."""
    t = truth[truth[:, 0] == cls, 1:5]
    d = det[det[:, 0] == cls]
    d = d[np.argsort(-d[:, 1], kind="stable")]
    free = np.ones(len(t), dtype=bool)
    matched = 0
    for row in d:
        box = row[2:6]
        best, best_k = None, -1
        for k in np.flatnonzero(free):
            if cls == 1:
                dist = float(
                    np.hypot(
                        (box[0] + box[2]) / 2 - (t[k, 0] + t[k, 2]) / 2,
                        (box[1] + box[3]) / 2 - (t[k, 1] + t[k, 3]) / 2,
                    )
                )
                ok, score = dist <= hand_px, -dist
            else:
                iou = _iou(box, t[k])
                ok, score = iou >= PERSON_IOU, iou
            if ok and (best is None or score > best):
                best, best_k = score, k
        if best_k >= 0:
            free[best_k] = False
            matched += 1
    return len(t), len(d), matched


def measure(
    manifest: Path | None,
    store: str,
    frames: int,
    seed: int,
    confs: list[float],
    hand_px: float,
    crowd: float = 0.0,
) -> dict[str, Any]:
    rendered = list(render_labelled_frames(store, frames, seed, crowd=crowd))
    out: dict[str, Any] = {
        "detector": str(manifest) if manifest else "shipped",
        "store": store,
        "frames": frames,
        "seed": seed,
        "crowd": crowd,
        "hand_centre_px": hand_px,
        "person_iou": PERSON_IOU,
        "by_conf": {},
    }
    for conf in confs:
        det = Detector(manifest, options=DetectorOptions(conf_threshold=conf))
        tally = {c: [0, 0, 0] for c in (0, 1)}
        for f in rendered:
            rows = det.detect(f.image)
            for c in (0, 1):
                n_true, n_det, n_match = match(rows, f.boxes, c, hand_px)
                tally[c][0] += n_true
                tally[c][1] += n_det
                tally[c][2] += n_match
        res = {}
        for c, name in ((0, "person"), (1, "hand")):
            n_true, n_det, n_match = tally[c]
            res[name] = {
                "true": n_true,
                "detections": n_det,
                "matched": n_match,
                "recall": n_match / n_true if n_true else None,
                "precision": n_match / n_det if n_det else None,
            }
        out["by_conf"][str(conf)] = res
    return out


def _fmt(x: float | None) -> str:
    return "-" if x is None else f"{x:.3f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--detector", type=Path, help="detector manifest (default: the shipped model)")
    ap.add_argument("--store", default="medium")
    ap.add_argument("--frames", type=int, default=40)
    ap.add_argument("--seed", type=int, default=777)
    ap.add_argument("--crowd", type=float, default=0.0, help="share of people put beside another")
    ap.add_argument("--conf", type=float, action="append")
    ap.add_argument("--hand-px", type=float, default=8.0)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    confs = args.conf or [0.25]
    r = measure(args.detector, args.store, args.frames, args.seed, confs, args.hand_px, args.crowd)
    print(
        f"{r['detector']}: {args.frames} frames, store {args.store}, seed {args.seed}, "
        f"crowd {args.crowd:g}"
    )
    print(f"{'conf':>5} {'class':7} {'true':>5} {'dets':>5} {'found':>5} {'recall':>7} {'prec':>6}")
    for conf, res in r["by_conf"].items():
        for name, x in res.items():
            print(
                f"{float(conf):>5.2f} {name:7} {x['true']:>5} {x['detections']:>5} "
                f"{x['matched']:>5} {_fmt(x['recall']):>7} {_fmt(x['precision']):>6}"
            )
    if args.json:
        args.json.write_text(json.dumps(r, indent=1))


if __name__ == "__main__":
    main()
