"""Replay end to end: simulated session in, receipts out, byte-identical twice, scored."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from shared_data import AIFI_DIR
from typer.testing import CliRunner
from walkout.v1 import events_pb2

from edge.cli.main import app
from edge.eval import evaluate
from edge.replay.runner import replay_session
from sim.generate import generate_session

runner = CliRunner()


@pytest.fixture(scope="module")
def one_shopper_session(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("replay") / "session"
    generate_session("one-shopper", 11, out)
    return out


def test_replay_twice_is_byte_identical(one_shopper_session, tmp_path):
    a = replay_session(one_shopper_session, tmp_path / "a", events_out=tmp_path / "a.jsonl")
    b = replay_session(one_shopper_session, tmp_path / "b", events_out=tmp_path / "b.jsonl")
    for name in ("events.jsonl", "receipts.jsonl", "run.json"):
        assert (a.run_dir / name).read_bytes() == (b.run_dir / name).read_bytes(), name
    assert (tmp_path / "a.jsonl").read_bytes() == (tmp_path / "b.jsonl").read_bytes()
    rows = []
    for run in (a.run_dir, b.run_dir):
        db = sqlite3.connect(run / "journal.sqlite")
        rows.append(
            db.execute("SELECT receipt_id, body FROM receipts ORDER BY receipt_id").fetchall()
        )
        db.close()
    assert rows[0] == rows[1] and rows[0]


def test_one_shopper_gets_the_right_receipt(one_shopper_session, tmp_path):
    replay_session(one_shopper_session, tmp_path / "run")
    result = evaluate(one_shopper_session, tmp_path / "run")
    assert result["visits"] == 1
    assert result["overall"]["f1"] == 1.0
    assert result["false_charges"] == 0
    assert result["latency_s"]["receipt"]["max"] <= 1.0
    assert result["latency_s"]["cart_line"]["max"] <= 0.5


def test_receipt_is_journaled_with_its_outbox_row(one_shopper_session, tmp_path):
    replay_session(one_shopper_session, tmp_path / "run")
    receipts = [
        json.loads(x) for x in (tmp_path / "run" / "receipts.jsonl").read_text().splitlines()
    ]
    db = sqlite3.connect(tmp_path / "run" / "journal.sqlite")
    outbox = db.execute("SELECT event_id, payload FROM outbox").fetchall()
    assert [r["receipt_id"] for r in receipts] == [row[0] for row in outbox]
    wire = events_pb2.EdgeEvent.FromString(outbox[0][1])
    assert wire.receipt.receipt_id == receipts[0]["receipt_id"]
    assert sum(line.quantity for line in wire.receipt.lines) == sum(
        line["quantity"] for line in receipts[0]["lines"]
    )


def test_shelf_events_out_has_the_documented_fields(one_shopper_session, tmp_path):
    replay_session(one_shopper_session, tmp_path / "run", events_out=tmp_path / "ev.jsonl")
    events = [json.loads(x) for x in (tmp_path / "ev.jsonl").read_text().splitlines()]
    assert events
    for event in events:
        assert {
            "t_start",
            "t_end",
            "gondola",
            "shelf",
            "plates",
            "delta_grams",
            "candidates",
        } <= set(event)
        for c in event["candidates"]:
            assert set(c) >= {"product_id", "name", "quantity", "likelihood"}


def test_noise_only_real_data_gives_no_events(tmp_path):
    data = AIFI_DIR
    if not data.is_dir():
        pytest.skip(f"real load-cell data not found at {data}")
    from edge.session.plates_import import import_plates

    session = import_plates(data, data / "planogram_gondola_4_shelf_3.csv", tmp_path / "aifi")
    replay_session(session, tmp_path / "run", events_out=tmp_path / "ev.jsonl")
    assert (tmp_path / "ev.jsonl").read_text() == ""
    faults = [
        json.loads(x)
        for x in (tmp_path / "run" / "events.jsonl").read_text().splitlines()
        if '"sensor_fault"' in x
    ]
    assert {f["sensor"] for f in faults if f["active"] and f["kind"] == "stuck"} == {
        "plate 4.3.10",
        "plate 4.3.12",
    }


def test_cli_replay_and_eval_json(one_shopper_session, tmp_path):
    run = tmp_path / "run"
    result = runner.invoke(
        app, ["edge", "replay", str(one_shopper_session), "--out", str(run), "-q"]
    )
    assert result.exit_code == 0, result.output
    again = runner.invoke(
        app, ["edge", "replay", str(one_shopper_session), "--out", str(run), "-q"]
    )
    assert again.exit_code == 1 and "--overwrite" in again.output
    scored = runner.invoke(app, ["eval", str(one_shopper_session), str(run), "--json"])
    assert scored.exit_code == 0, scored.output
    body = json.loads(scored.output)
    assert set(body["buckets"]) == {"1", "2", "3", "4+"}
    assert {"visits", "reviewed", "false_charges"} <= set(body)


def test_cli_replay_of_a_missing_session(tmp_path):
    result = runner.invoke(
        app, ["edge", "replay", str(tmp_path / "nope"), "--out", str(tmp_path / "r")]
    )
    assert result.exit_code == 1
    assert "Traceback" not in result.output


def test_hold_policy_keeps_flagged_receipts_out_of_the_outbox(tmp_path):
    session = tmp_path / "session"
    generate_session("three-at-shelf", 1, session)
    replay_session(session, tmp_path / "run", review_policy="hold")
    receipts = [
        json.loads(x) for x in (tmp_path / "run" / "receipts.jsonl").read_text().splitlines()
    ]
    held = {r["receipt_id"] for r in receipts if r["needs_review"]}
    assert held, "the scenario produced no receipt for review: the test needs another scenario"
    assert all(r["status"] == ("held" if r["needs_review"] else "settled") for r in receipts)
    db = sqlite3.connect(tmp_path / "run" / "journal.sqlite")
    outbox = {row[0] for row in db.execute("SELECT event_id FROM outbox")}
    assert outbox == {r["receipt_id"] for r in receipts} - held


def _replay_cli(session, out, *options):
    return runner.invoke(app, ["edge", "replay", str(session), "--out", str(out), *options])


def test_cli_rejects_an_unknown_review_policy(one_shopper_session, tmp_path):
    result = _replay_cli(one_shopper_session, tmp_path / "r", "--review-policy", "yolo")
    assert result.exit_code == 1
    assert "expected 'settle_and_flag' or 'hold'" in result.output


def test_cli_rejects_detections_without_camera_tracks(one_shopper_session, tmp_path):
    detections = tmp_path / "camera_detections.jsonl"
    detections.write_text("")
    result = _replay_cli(one_shopper_session, tmp_path / "r", "--detections", str(detections))
    assert result.exit_code == 1
    assert "use it with --tracks cameras" in result.output
    assert not (tmp_path / "r").exists()


def test_hand_over_moves_the_item_to_the_receivers_receipt(tmp_path):
    from sim.scenario import load_scenario

    scenario = load_scenario("handoff").model_copy(deep=True)
    scenario.tracks.noise = "perfect"  # isolates the hand-over rule from track swaps
    session = tmp_path / "session"
    generate_session(scenario, 1, session)
    replay_session(session, tmp_path / "run")
    events = (tmp_path / "run" / "events.jsonl").read_text().splitlines()
    assert sum('"handoff_from_visit"' in line for line in events) == 6  # 3 hand-overs x 2 lines
    result = evaluate(session, tmp_path / "run")
    assert result["overall"]["f1"] == 1.0
    assert result["false_charges"] == 0
