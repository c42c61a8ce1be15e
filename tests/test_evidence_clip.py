"""Evidence clips of flagged receipts (edge/review/clip.py): cut by the core from its bounded
histories, sent right after the receipt, stored by the cloud's ingest, read by cloud/records.py."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from walkout.v1 import SCHEMA_VERSION, events_pb2

from cloud import db, records
from cloud.ingest import IngestSettings, IngestWorker
from cloud.validate import Rejection, validate
from edge.config.layout import StoreLayout
from edge.config.loader import load_store_config
from edge.fusion.attribution import Decision
from edge.link import topics
from edge.link.mqtt import Event
from edge.replay.runner import replay_session
from edge.review.clip import (
    AFTER_S,
    BEFORE_S,
    BIN_S,
    RING_S,
    ClipItem,
    ClipRecorder,
    Trace,
    TrackTrace,
    clip_event_id,
    clip_message,
)
from edge.shelf.decode import PlateBlock
from edge.shelf.events import ShelfEvent
from edge.tracks.store import TrackStore
from sim.generate import generate_session

SCENARIO = ("three-at-shelf", 1)  # four visits flagged "ambiguous shopper" (checked below)


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("clip")
    generate_session(*SCENARIO, tmp / "session")
    replay_session(tmp / "session", tmp / "run")
    return tmp


def _outbox(run_dir: Path) -> list[tuple[str, str, bytes]]:
    conn = sqlite3.connect(run_dir / "journal.sqlite")
    rows = conn.execute("SELECT stream, event_id, payload FROM outbox ORDER BY seq").fetchall()
    conn.close()
    return [(s, e, bytes(p)) for s, e, p in rows]


def test_a_flagged_receipt_is_followed_by_its_clip_with_the_window_around_the_event(
    run: Path,
) -> None:
    receipts = [json.loads(x) for x in (run / "run" / "receipts.jsonl").read_text().splitlines()]
    events = {
        e["event_id"]: e
        for e in map(json.loads, (run / "run" / "events.jsonl").read_text().splitlines())
        if e["type"] == "shelf_event"
    }
    flagged = {r["receipt_id"] for r in receipts if r["needs_review"]}
    assert flagged, "the scenario produced no flagged receipt: the test needs another scenario"
    outbox = _outbox(run / "run")
    clips = {e: p for s, e, p in outbox if s == "evidence"}
    assert set(clips) == {clip_event_id(r) for r in flagged}
    # Each clip follows its receipt directly in commit order (so in the link's publish order).
    ids = [e for _, e, _ in outbox]
    for receipt_id in flagged:
        assert ids[ids.index(receipt_id) + 1] == clip_event_id(receipt_id)
    for receipt_id in sorted(flagged):
        msg = events_pb2.EdgeEvent.FromString(clips[clip_event_id(receipt_id)])
        assert msg.header.stream == "evidence" and msg.header.sequence >= 1
        clip = msg.evidence_clip
        assert clip.receipt_id == receipt_id and clip.items
        for item in clip.items:
            event = events[item.shelf_event_id]
            assert item.reason == "ambiguous shopper"
            assert item.window_start_s == pytest.approx(event["t_start"] - BEFORE_S, abs=1e-3)
            assert item.window_end_s == pytest.approx(event["t_end"] + AFTER_S, abs=1e-3)
            t = np.array(item.total.t_s)
            assert t[0] < event["t_start"] and t[-1] > event["t_end"]
            assert t[0] >= item.window_start_s and t[-1] <= item.window_end_s
            assert np.allclose(np.diff(t[:-1]), BIN_S, atol=0.02)  # 10 Hz; the last bin is partial
            g = np.array(item.total.grams)
            # Each changed plate's trace shows its change across the event: after minus before.
            # (The shelf total may also hold other shoppers' picks at the same moment.)
            assert [p.plate for p in item.plates] == sorted(event["plates"])
            for plate in item.plates:
                pt, pg = np.array(plate.trace.t_s), np.array(plate.trace.grams)
                assert np.array_equal(pt, t)
                change = pg[pt > event["t_end"]][:3].mean() - pg[pt < event["t_start"]][-3:].mean()
                delta = event["plate_deltas"][event["plates"].index(plate.plate)]
                assert change == pytest.approx(delta, abs=15.0)
            assert len(g) == len(t) and min(g) > 0  # a stocked shelf's summed weight
            chosen = [tr for tr in item.tracks if tr.chosen]
            assert len(chosen) == 1 and chosen[0].track_id == item.chosen_track_id
            assert chosen[0].visit_id == item.chosen_visit_id == clip.visit_id
            assert len(item.tracks) >= 2  # the competing shoppers at the shelf are drawn too
            pts = chosen[0].points
            assert pts[0].t_s >= item.window_start_s and pts[-1].t_s <= item.window_end_s


def test_clips_are_byte_identical_on_a_second_replay(run: Path) -> None:
    replay_session(run / "session", run / "again")
    first = [x for x in _outbox(run / "run") if x[0] == "evidence"]
    again = [x for x in _outbox(run / "again") if x[0] == "evidence"]
    assert first and first == again


def _layout() -> StoreLayout:
    return StoreLayout(load_store_config("small"))


def test_weight_history_is_bounded_and_a_visit_settling_early_truncates_the_window() -> None:
    layout = _layout()
    key = sorted(layout.shelves)[0]
    n_plates = len(layout.shelf_plate_refs(*key))
    tracks = TrackStore()
    recorder = ClipRecorder(
        layout,
        tracks,
        segment_of=lambda g, s, p: ((0.0, 0.0), (1.0, 0.0)),
        visit_of=lambda track: "v1" if track == 1 else None,
        visit_open=lambda v: v == "v1",
    )
    rate = 60.0
    for k in range(6000):  # 100 s at 60 Hz, one sample per block
        t = k / rate
        grams = np.full((1, n_plates), 500.0 if t < 50.0 else 250.0)
        recorder.on_block(PlateBlock(key[0], key[1], np.array([t]), grams, t_recv=t))
        if k % 6 == 0:
            tracks.update(t, [(1, 0.5, 0.4, ((0.5, 0.1, 1.0),)), (2, 9.0, 9.0, ())])
    ring = recorder._rings[key]
    assert ring[-1][0] - ring[0][0] <= RING_S and len(ring) <= RING_S * rate + 1

    event = ShelfEvent("se-x", key[0], key[1], 98.0, 99.0, 99.3, (1,), (-250.0,), -250.0, ())
    decision = Decision(
        "v1",
        "P0001",
        1,
        0.4,
        {"track_id": 1},
        [{"visit_id": "v1"}, {"visit_id": "v2"}],
        "ambiguous shopper",
    )
    recorder.flag(event, decision)
    recorder.flag(event, decision)  # the same event for the same visit is kept once
    (item,) = recorder.take("v1", 99.5)  # settled before the window's end (102 s)
    assert item.window_start == 95.0 and item.window_end == 99.5
    assert item.total.t[0] == pytest.approx(95.05, abs=0.01) and item.total.t[-1] <= 99.5
    assert set(item.total.grams) == {250.0 * n_plates}
    assert [t.track_id for t in item.tracks] == [1]  # track 2 is far away and no candidate
    assert item.tracks[0].chosen and item.tracks[0].visit_id == "v1"
    assert recorder.take("v1", 100.0) == []  # taken once


def clip_event(store: str, receipt_id: str, *, sequence: int = 1) -> Event:
    """An ingest Event with a made-up clip: a 200 g pick at 10 s, two shoppers at the shelf."""
    t = tuple(round(7.05 + 0.1 * i, 4) for i in range(60))
    grams = tuple(1000.0 if x < 10.0 else (800.0 if x > 10.8 else 900.0) for x in t)
    # Track 4 walks up to the shelf front (y 2.8) and reaches in at 10 s; track 9 stands by.
    walk = tuple(
        (
            x,
            1.0 + min(0.02 * i, 0.45),
            1.6 + min(0.03 * i, 0.9),
            ((1.45, 2.75, 1.1),) * (9 < x < 11),
        )
        for i, x in enumerate(t)
    )
    stand = tuple((x, 2.3 + 0.005 * i, 2.2, ((2.2, 2.5, 1.0),)) for i, x in enumerate(t))
    tracks = (TrackTrace(4, "visit-2", True, walk), TrackTrace(9, "visit-3", False, stand))
    item = ClipItem(
        shelf_event_id="se-1.2-600",
        gondola=1,
        shelf=2,
        plates=(1,),
        t_start=10.0,
        t_end=10.8,
        window_start=7.0,
        window_end=13.8,
        reason="ambiguous shopper",
        product_id="sku-cola",
        quantity=1,
        chosen_visit="visit-2",
        chosen_track=4,
        candidate_visits=("visit-2", "visit-3"),
        segment=((1.0, 2.8), (2.0, 2.8)),
        total=Trace(t, grams),
        plate_traces={1: Trace(t, grams)},
        tracks=tracks,
    )
    receipt = {
        "receipt_id": receipt_id,
        "store_id": store,
        "visit_id": "visit-2",
        "settled_t": 30.0,
    }
    payload = clip_message(receipt, [item], start_time_unix=1_700_000_000.0)
    msg = events_pb2.EdgeEvent.FromString(payload)
    msg.header.sequence = sequence
    msg.header.schema_version = SCHEMA_VERSION
    return Event(
        "message",
        1,
        topic=topics.events(store, "evidence"),
        payload=msg.SerializeToString(deterministic=True),
    )


def test_ingest_stores_a_clip_and_records_reads_it_back(tmp_path: Path) -> None:
    engine = db.make_engine(f"sqlite:///{tmp_path / 'cloud.sqlite'}")
    worker = IngestWorker(engine, IngestSettings(), wall_clock=lambda: 1_700_001_000.0)
    worker.process([clip_event("store-1", "r-1")])
    assert worker.stats.db_errors == 0 and not worker.stats.rejected
    (clip,) = records.evidence_clips(engine, "r-1")
    assert clip.store_id == "store-1" and clip.visit_id == "visit-2"
    (item,) = clip.items
    assert item.window_start_s == 7.0 and len(item.total.grams) == 60
    assert [t.track_id for t in item.tracks if t.chosen] == [4]
    assert records.evidence_clips(engine, "r-2") == []
    worker.process([clip_event("store-1", "r-1")])  # a QoS 1 duplicate changes nothing
    assert len(records.evidence_clips(engine, "r-1")) == 1
    engine.dispose()


def test_a_clip_on_the_wrong_stream_or_without_a_receipt_is_rejected_by_name() -> None:
    good = clip_event("store-1", "r-1")
    assert not isinstance(validate(good.topic, good.payload), Rejection)
    wrong = validate(topics.events("store-1", "receipts"), good.payload)
    assert isinstance(wrong, Rejection) and wrong.reason == "malformed"
    assert "evidence_clip on stream 'evidence'" in wrong.detail
    msg = events_pb2.EdgeEvent.FromString(good.payload)
    msg.evidence_clip.receipt_id = ""
    bad = validate(good.topic, msg.SerializeToString())
    assert isinstance(bad, Rejection) and "names no receipt_id" in bad.detail
