"""Scoring MOTChallenge results with TrackEval (HOTA, CLEAR MOTA, IDF1), the official code.

TrackEval wants its own folder layout; `evaluate` builds it in a temporary folder (ground truth
and `seqinfo.ini` copied, results copied per tracker), runs `MotChallenge2DBox` with the MOT15
benchmark settings and returns plain numbers. TrackEval is imported here only, so the tracker
itself does not need it.
"""

from __future__ import annotations

import contextlib
import io
import shutil
import tempfile
from pathlib import Path

METRICS = ("HOTA", "MOTA", "IDF1", "IDSW", "DetA", "AssA")


def evaluate(
    gt_seq_dirs: dict[str, Path], results: dict[str, dict[str, Path]]
) -> dict[str, dict[str, dict[str, float]]]:
    """Score results against ground truth.

    `gt_seq_dirs`: sequence name -> folder holding `seqinfo.ini` and `gt/gt.txt`.
    `results`: tracker name -> sequence name -> result file.
    Returns tracker -> sequence (and "COMBINED") -> metric -> value (percent for HOTA, MOTA,
    IDF1, DetA, AssA; a count for IDSW).
    """
    import numpy as np
    import trackeval

    with tempfile.TemporaryDirectory(prefix="walkout-mot-eval-") as tmp:
        root = Path(tmp)
        gt_root = root / "gt"
        for seq, src in gt_seq_dirs.items():
            (gt_root / seq / "gt").mkdir(parents=True)
            shutil.copy(src / "seqinfo.ini", gt_root / seq / "seqinfo.ini")
            shutil.copy(src / "gt" / "gt.txt", gt_root / seq / "gt" / "gt.txt")
        seqmap = root / "seqmap.txt"
        seqmap.write_text("name\n" + "".join(f"{s}\n" for s in gt_seq_dirs), encoding="utf-8")
        for tracker, files in results.items():
            data = root / "trackers" / tracker / "data"
            data.mkdir(parents=True)
            for seq in gt_seq_dirs:
                shutil.copy(files[seq], data / f"{seq}.txt")

        eval_config = trackeval.Evaluator.get_default_eval_config()
        eval_config.update(
            PRINT_RESULTS=False,
            PRINT_CONFIG=False,
            TIME_PROGRESS=False,
            OUTPUT_SUMMARY=False,
            OUTPUT_DETAILED=False,
            PLOT_CURVES=False,
            LOG_ON_ERROR=None,
            DISPLAY_LESS_PROGRESS=True,
        )
        ds_config = trackeval.datasets.MotChallenge2DBox.get_default_dataset_config()
        ds_config.update(
            GT_FOLDER=str(gt_root),
            TRACKERS_FOLDER=str(root / "trackers"),
            OUTPUT_FOLDER=str(root / "out"),
            TRACKERS_TO_EVAL=list(results),
            BENCHMARK="MOT15",
            SPLIT_TO_EVAL="train",
            SKIP_SPLIT_FOL=True,
            SEQMAP_FILE=str(seqmap),
            PRINT_CONFIG=False,
        )
        evaluator = trackeval.Evaluator(eval_config)
        dataset = trackeval.datasets.MotChallenge2DBox(ds_config)
        metrics = [
            trackeval.metrics.HOTA({"PRINT_CONFIG": False}),
            trackeval.metrics.CLEAR({"PRINT_CONFIG": False, "THRESHOLD": 0.5}),
            trackeval.metrics.Identity({"PRINT_CONFIG": False, "THRESHOLD": 0.5}),
        ]
        with contextlib.redirect_stdout(io.StringIO()):
            raw, _ = evaluator.evaluate([dataset], metrics)

    out: dict[str, dict[str, dict[str, float]]] = {}
    for tracker, per_seq in raw["MotChallenge2DBox"].items():
        out[tracker] = {}
        for seq, by_class in per_seq.items():
            r = by_class["pedestrian"]
            out[tracker][seq] = {
                "HOTA": 100 * float(np.mean(r["HOTA"]["HOTA"])),
                "DetA": 100 * float(np.mean(r["HOTA"]["DetA"])),
                "AssA": 100 * float(np.mean(r["HOTA"]["AssA"])),
                "MOTA": 100 * float(r["CLEAR"]["MOTA"]),
                "IDF1": 100 * float(r["Identity"]["IDF1"]),
                "IDSW": float(r["CLEAR"]["IDSW"]),
            }
        if "COMBINED_SEQ" in out[tracker]:
            out[tracker]["COMBINED"] = out[tracker].pop("COMBINED_SEQ")
    return out
