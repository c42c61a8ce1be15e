"""The live runtime's event sequence continues across restarts (edge/live/resume.py)."""

from __future__ import annotations

import json
from pathlib import Path

from edge.config import resolve_store
from edge.live.resume import last_event_seq
from edge.live.runtime import LiveOptions, LiveRuntime


def _lines(*seqs: int) -> str:
    return "".join(json.dumps({"type": "x", "t": 0.0, "seq": s}) + "\n" for s in seqs)


def test_last_event_seq_reads_the_last_complete_event(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    assert last_event_seq(path) == 0  # no file yet
    path.write_text("")
    assert last_event_seq(path) == 0
    path.write_text(_lines(1, 2, 3))
    assert last_event_seq(path) == 3
    assert path.read_text() == _lines(1, 2, 3)  # a complete file is left alone


def test_a_partial_last_line_is_cut_off(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_text(_lines(7, 8) + '{"type": "x", "se')  # killed mid-write
    assert last_event_seq(path) == 8
    assert path.read_text() == _lines(7, 8)  # the next event starts on a line of its own


def test_restarted_runtime_continues_the_sequence(tmp_path: Path) -> None:
    text = resolve_store("small")[1].replace("/dev/ttyUSB0", "loop://")
    config = tmp_path / "store.yaml"
    config.write_text(
        text.replace("readers: [Virtual PCD 00 00]", "readers: []").replace(
            "readers: [Virtual PCD 00 01]", "readers: []"
        )
    )
    data = tmp_path / "data"
    data.mkdir()
    (data / "events.jsonl").write_text(_lines(40, 41))
    runtime = LiveRuntime(config, LiveOptions(data_dir=data, cameras=False))
    runtime.start()
    try:
        assert runtime.core is not None
        runtime.core._emit({"type": "probe", "t": 0.0})
    finally:
        runtime.shutdown()
    seqs = [json.loads(line)["seq"] for line in (data / "events.jsonl").read_text().splitlines()]
    assert seqs == [40, 41, 42]
