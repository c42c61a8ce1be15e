"""`walkout cloud retrain ...`: retraining jobs (today: the person/hand detector)."""

from __future__ import annotations

from pathlib import Path

import typer

from edge.cli.errors import UserError, user_errors

app = typer.Typer(
    help="Retrain models from simulated (and later recorded) data.", no_args_is_help=True
)


@app.command("detector")
def detector(
    out: Path = typer.Option(..., "--out", help="Folder for detector.onnx, its manifest, work/."),
    store: str = typer.Option("medium", help="Store preset name or store config file to render."),
    train_frames: int = typer.Option(300, help="Rendered training frames."),
    val_frames: int = typer.Option(80, help="Rendered validation frames (another seed)."),
    epochs: int = typer.Option(25, help="Training epochs."),
    imgsz: int = typer.Option(416, help="Square model input size, pixels (multiple of 32)."),
    model: str = typer.Option(
        "yolov8n.yaml", help="Architecture yaml (yolov8n.yaml, yolo11n.yaml)."
    ),
    weights: Path | None = typer.Option(
        None, help="Fine-tune from these trained weights (.pt of an earlier run) instead."
    ),
    seed: int = typer.Option(0, help="Seed of the training frames and training; val uses another."),
    batch: int = typer.Option(16, help="Training batch size."),
    workers: int = typer.Option(2, help="Data-loader worker processes."),
    hand_box_px: float = typer.Option(
        0.0,
        help="Label hands as regions of at least this many frame pixels about the hand's centre "
        "(0: the true hand box). docs/detector.md says why.",
    ),
    crowd: float = typer.Option(
        0.0,
        help="Share of rendered people placed beside another (close shoppers at a shelf, "
        "passers-by), 0 to 1. docs/detector.md says why.",
    ),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bars."),
) -> None:
    """Render labelled frames, train a small YOLO, export ONNX + manifest into --out."""
    from edge.cli.progress import stage_progress

    with user_errors():
        try:
            from cloud.train.detector import STAGES, RetrainConfig, RetrainError, retrain_detector
            from cloud.train.offline import TrainingUnavailable
        except ImportError as exc:  # pragma: no cover - the cloud package ships with edge
            raise UserError(f"retraining is not available: {exc}") from None
        try:
            cfg = RetrainConfig(
                out=out,
                store=store,
                train_frames=train_frames,
                val_frames=val_frames,
                epochs=epochs,
                imgsz=imgsz,
                model=model,
                weights=weights,
                seed=seed,
                batch=batch,
                workers=workers,
                hand_box_px=hand_box_px,
                crowd=crowd,
            )
        except ValueError as exc:
            raise UserError(str(exc)) from None
        try:
            with stage_progress(STAGES, disable=quiet) as report:
                result = retrain_detector(cfg, report=report)
        except (TrainingUnavailable, RetrainError) as exc:
            raise UserError(str(exc)) from None
    m = result.metrics
    typer.echo(
        f"mAP50 {m['map50']:.3f}  mAP50-95 {m['map50_95']:.3f}  "
        f"(train {result.train_seconds:.0f} s)"
    )
    typer.echo(f"model    {result.model_path}")
    typer.echo(f"manifest {result.manifest_path}")
