"""Store state in heartbeats (edge/link/store_state.py), stored by the ingest worker, and the
floor map with people and open visits (edge/health/floormap.py)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from sqlalchemy import select
from support.services import needs_mosquitto
from walkout.v1 import events_pb2

from cloud import db
from edge.config import load_store_config
from edge.config.layout import StoreLayout
from edge.health.floormap import Person, floor_map, people_from_status
from edge.link.store_state import StoreStateBuilder


def _status(uptime: float, frames: int, **extra) -> dict:
    status = {
        "store_id": "s1",
        "uptime_s": uptime,
        "session_t": uptime,
        "healthy": True,
        "drivers": [
            {
                "name": "/dev/ttyS9",
                "kind": "serial",
                "state": "connected",
                "faults": 0,
                "data_age_s": 0.1,
                "last_error": None,
            },
            {
                "name": "cam-1",
                "kind": "camera",
                "state": "connected",
                "faults": 2,
                "data_age_s": 0.05,
                "last_error": "read failed",
            },
            {
                "name": "Virtual PCD 00 00",
                "kind": "pcsc",
                "state": "connected",
                "faults": 0,
                "data_age_s": None,
                "last_error": None,
            },
        ],
        "frames": {"cam-1": {"received": frames, "dropped": 3}},
        "shelf_ports": {
            "/dev/ttyS9": {
                "frames_ok": 900,
                "crc_errors": 4,
                "frames_lost": 1,
                "bytes_discarded": 12,
            }
        },
        "plate_faults": {"1.2.3": "stuck", "1.1.1": "noisy"},
        "open_visits": ["v-1", "v-2"],
        "visit_tracks": {"v-1": [7], "v-2": []},
        "visit_opened_t": {"v-1": 3.5, "v-2": 9.0},
        "review_visits": ["v-2"],
        "tracks": [[7, 1.5, 2.25], [9, 3.0, 1.0]],
        "review_queue": 1,
        "link": {"ready": True},
        "outbox": {"backlog": 0, "oldest_age_s": None},
    }
    status.update(extra)
    return status


def test_store_state_carries_sensors_plates_tracks_and_visits() -> None:
    builder = StoreStateBuilder()
    assert builder.build({}) is None
    first = builder.build(_status(10.0, 100))
    assert first is not None and first.sensors[1].fps == 0.0  # no earlier snapshot yet
    state = builder.build(_status(12.0, 130))
    assert state is not None
    assert not state.ready and list(state.not_ready_reasons) == ["plate 1.2.3: stuck"]
    cam = next(s for s in state.sensors if s.kind == "camera")
    assert (cam.id, cam.fps, cam.dropped_frames, cam.faults) == ("cam-1", 15.0, 3, 2)
    assert {s.kind for s in state.sensors} == {"serial", "camera", "reader"}
    reader = next(s for s in state.sensors if s.kind == "reader")
    assert reader.data_age_s == -1.0
    (port,) = state.shelf_controllers
    assert (port.port, port.frames_ok, port.crc_errors, port.frames_lost) == (
        "/dev/ttyS9",
        900,
        4,
        1,
    )
    assert [(p.plate_id, p.kind) for p in state.faulty_plates] == [
        ("1.1.1", "noisy"),
        ("1.2.3", "stuck"),
    ]
    assert [(t.track_id, round(t.x_m, 2), t.visit_id) for t in state.tracks] == [
        (7, 1.5, "v-1"),
        (9, 3.0, ""),
    ]
    assert [(v.visit_id, list(v.track_ids), v.needs_review) for v in state.open_visits] == [
        ("v-1", [7], False),
        ("v-2", [], True),
    ]
    assert state.link_connected and state.review_queue == 1


def test_store_state_names_why_the_store_is_not_ready() -> None:
    status = _status(5.0, 10)
    status["drivers"][0]["data_age_s"] = 9.0
    state = StoreStateBuilder().build(status)
    assert state is not None and not state.ready
    assert state.not_ready_reasons == [
        "serial /dev/ttyS9: no data for 9.0 s",
        "plate 1.2.3: stuck",
    ]


def test_store_state_stays_small_for_hundreds_of_plates() -> None:
    status = _status(5.0, 10)
    status["plate_faults"] = {f"1.1.{i}": "stuck" for i in range(1, 4)}
    hb = events_pb2.Heartbeat()
    hb.store_state.CopyFrom(StoreStateBuilder().build(status))
    # Only faulty plates are listed, so the size does not grow with the plate count.
    assert len(hb.SerializeToString()) < 1000


def test_floor_map_draws_people_with_their_visits_and_colours_plates_by_state() -> None:
    layout = StoreLayout(load_store_config("small"))
    status = _status(1.0, 0)
    people = people_from_status(status)
    assert people == [Person(7, 1.5, 2.25, "v-1"), Person(9, 3.0, 1.0, "")]
    svg = floor_map(layout, status["plate_faults"], people)
    assert svg.count('class="person"') == 2
    assert ">v-1</text>" in svg and ">track 9</text>" in svg
    assert 'data-plate="1.2.3" data-state="stuck" stroke="#d11"' in svg
    assert 'data-plate="1.1.1" data-state="noisy" stroke="#e69500"' in svg
    assert svg.count('data-state="ok"') == len(layout.plate_geometry) - 2


def test_edge_status_page_lists_open_visits_and_draws_people() -> None:
    from edge.health.server import floor_map as edge_map
    from edge.health.server import status_page

    layout = StoreLayout(load_store_config("small"))
    status = _status(1.0, 0)
    page = status_page(status, [], edge_map(layout, status))
    assert "<td>v-1</td><td>7</td><td></td>" in page
    assert "<td>v-2</td><td></td><td>review</td>" in page
    assert page.count('class="person"') == 2


@needs_mosquitto
@pytest.mark.slow
def test_heartbeats_carry_the_store_state_into_the_cloud_database(tmp_path: Path) -> None:
    """A real link and ingest worker over mosquitto: the latest heartbeat, with its store state,
    lands in the store_state table, newer replacing older."""
    from cloud.broker import start_mosquitto
    from cloud.ingest import IngestSettings, IngestWorker
    from edge.journal.journal import Journal
    from edge.link.link import EdgeLink, LinkSettings
    from edge.link.mqtt import BrokerAddress

    broker = start_mosquitto(tmp_path / "mosquitto")
    engine = db.make_engine(f"sqlite:///{tmp_path / 'cloud.sqlite'}")
    worker = IngestWorker(engine, IngestSettings(broker=BrokerAddress(port=broker.port)))
    journal_path = tmp_path / "journal.sqlite"
    Journal(journal_path).close()
    link = EdgeLink(
        journal_path,
        LinkSettings(
            store_id="s1", broker=BrokerAddress(port=broker.port), heartbeat_interval_s=0.2
        ),
    )
    builder = StoreStateBuilder()
    uptime = [0.0]

    def source():
        uptime[0] += 1.0
        return builder.build(_status(uptime[0], int(uptime[0] * 10)))

    link.state_source = source
    worker.start()
    link.start()
    try:
        deadline = time.monotonic() + 20
        row = None
        while time.monotonic() < deadline:
            with engine.connect() as conn:
                row = conn.execute(select(db.store_state)).first()
            if row is not None and row.heartbeat_sequence >= 3:
                break
            time.sleep(0.2)
        assert row is not None and row.heartbeat_sequence >= 3, row
        hb = events_pb2.Heartbeat.FromString(row.heartbeat)
        assert hb.store_state.faulty_plates[1].plate_id == "1.2.3"
        assert hb.open_visits == 2 and hb.active_faults == 2
        cam = next(s for s in hb.store_state.sensors if s.kind == "camera")
        assert cam.fps == 10.0
    finally:
        link.stop()
        worker.stop()
        broker.stop()
        engine.dispose()
