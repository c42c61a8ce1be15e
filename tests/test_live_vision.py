"""Live vision end to end: `walkout sim live --vision` serves a simulated store's camera video as
MJPEG streams (and no track socket); `walkout edge run` with cameras and no track source turns
the video into person tracks (detector + floor tracker), settles the receipt, and its recording
replays to the same receipts and events."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from edge.cli.main import app
from sim.live.pcscd import list_readers, start_pcscd, stop_pcscd

WALKOUT = str(Path(sys.executable).with_name("walkout"))
HAVE_PCSCD = os.path.exists("/usr/lib/pcsc/drivers/serial/libifdvpcd.so")


@pytest.fixture
def pcscd():
    if not HAVE_PCSCD:
        pytest.skip("pcscd and vsmartcard-vpcd not installed")
    if list_readers():
        pytest.fail("another pcscd is already running: the live tests need their own")
    proc = start_pcscd()
    yield proc
    stop_pcscd(proc)


def _wait(cond, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.2)
    return bool(cond())


@pytest.mark.slow
def test_live_store_with_cameras_only_settles_from_video_and_replays_the_same(
    tmp_path: Path, pcscd
) -> None:
    from sim.generate import generate_session
    from sim.render.video import CameraOptions

    # One shopper, 51 s of store time, two ceiling cameras at 10 frames/s (the live vision rate).
    generate_session(
        "one-shopper", 1, tmp_path / "session", cameras=CameraOptions(fps=10.0, drop_rate=0.0)
    )
    logs = {name: (tmp_path / f"{name}.log").open("wb") for name in ("sim", "edge")}
    sim = subprocess.Popen(
        [
            *(WALKOUT, "sim", "live", "--session", str(tmp_path / "session")),
            *("--out", str(tmp_path / "if"), "--vision", "--wait", "60", "--linger", "100", "-q"),
        ],
        stdout=logs["sim"],
        stderr=subprocess.STDOUT,
    )
    edge = None
    try:
        assert _wait(lambda: "waiting" in (tmp_path / "sim.log").read_text(), 60)
        config = (tmp_path / "if" / "store.yaml").read_text()
        assert "track_source" not in config and ".mjpg" in config
        edge = subprocess.Popen(
            [
                *(WALKOUT, "edge", "run", "--config", str(tmp_path / "if" / "store.yaml")),
                *("--data-dir", str(tmp_path / "data"), "--record", str(tmp_path / "rec")),
            ],
            stdout=logs["edge"],
            stderr=subprocess.STDOUT,
        )
        # Camera tracks fragment (docs/vision.md): the shopper's visit may end "lost", 45 s after
        # its last track ended; the simulator lingers, showing the empty store, until then.
        receipts_file = tmp_path / "data" / "receipts.jsonl"
        assert _wait(lambda: receipts_file.exists() and receipts_file.read_text().strip(), 200), (
            tmp_path / "edge.log"
        ).read_text()[-3000:]
        time.sleep(1.0)
        edge.send_signal(signal.SIGTERM)
        assert edge.wait(timeout=60) == 0, (tmp_path / "edge.log").read_text()
    finally:
        for proc in (sim, edge):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait()
    edge_log = (tmp_path / "edge.log").read_text()
    assert "vision unavailable" not in edge_log, edge_log
    status = json.loads((tmp_path / "data" / "live-status.json").read_text())
    # Person tracks came from the cameras: no track driver, track frames from the vision thread.
    assert "tracks" not in {d["kind"] for d in status["drivers"]}
    assert status["inputs"]["tracks"] > 200, status["inputs"]
    assert status["vision"]["ticks"] > 200, status["vision"]
    receipts = [
        json.loads(x) for x in (tmp_path / "data" / "receipts.jsonl").read_text().splitlines()
    ]
    assert len(receipts) == 1, (status, edge_log[-3000:])
    ended = [
        json.loads(x)
        for x in (tmp_path / "data" / "events.jsonl").read_text().splitlines()
        if '"visit_ended"' in x
    ]
    lines = [(ln["product_id"], ln["quantity"]) for ln in receipts[0]["lines"]]
    print("live vision receipt:", lines, "visit ended:", [e["reason"] for e in ended])
    result = CliRunner().invoke(
        app, ["edge", "replay", str(tmp_path / "rec"), "--out", str(tmp_path / "re")]
    )
    assert result.exit_code == 0, result.output
    for name in ("receipts.jsonl", "events.jsonl"):
        assert (tmp_path / "data" / name).read_text() == (tmp_path / "re" / name).read_text()
