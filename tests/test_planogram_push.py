"""Pushed planograms take effect in the pipeline at their start time, are recorded as inputs so a
replay gives the live run's receipts, and stores report the versions they use to the cloud."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import yaml
from cryptography.hazmat.primitives import serialization
from support.services import broker, needs_mosquitto  # noqa: F401 (fixture)
from test_control_plane import KEY, client, cloud_and_live_store
from test_link import wait_for
from test_records import STORE, T0, ingest, price_book, receipt_event
from test_shelf_events import Trace, _store_yaml
from walkout.v1 import SCHEMA_VERSION, config_pb2, control_pb2, events_pb2

from cloud import db, records
from cloud.control.convert import store_summary
from edge.config import load_store_config_text
from edge.config.layout import StoreLayout
from edge.drivers.base import LiveInput
from edge.link import topics
from edge.link.mqtt import Event
from edge.live.runtime import LiveOptions, LiveRuntime
from edge.push.planogram import PlanogramRejected, planogram_layout
from edge.replay.runner import replay_session
from edge.session.errors import SessionError
from edge.session.model import ConfigPush
from edge.session.reader import Session
from edge.session.writer import SessionWriter
from edge.shelf.events import ShelfEvent, ShelfEventDetector
from edge.shelf.protocol import BoardEncoder
from sim.generate import generate_session


def planogram(
    version: int,
    placement: dict[str, tuple[float, list[str]]],
    *,
    effective_from_unix_ns: int = 0,
    names: dict[str, str] | None = None,
) -> config_pb2.Planogram:
    """A Planogram message: product id -> (unit weight, plates as "g.s.p")."""
    out = config_pb2.Planogram(version=version, effective_from_unix_ns=effective_from_unix_ns)
    for pid, (weight, plates) in placement.items():
        name = (names or {}).get(pid, f"Product {pid}")
        out.products.add(product_id=pid, name=name, unit_weight_g=weight, unit_weight_spread_g=1)
        entry = out.entries.add(product_id=pid, units=5)
        for ref in plates:
            g, s, p = (int(x) for x in ref.split("."))
            entry.plates.add(gondola=g, shelf=s, plate=p)
    return out


@pytest.fixture(scope="module")
def layout() -> StoreLayout:
    return StoreLayout(load_store_config_text(_store_yaml()))


# --- the detector switching planograms at a time ---------------------------------------------

# The config (tests/test_shelf_events.py): A 100 g on 1, B 250 g on 2-3, D 500 g on 4, C 100 g on
# 5, E 330 g on 6, F 600 g on 7-9. Version 2 swaps A and C (same weight: only the plate tells
# them apart), puts a new product G of 700 g where D was, and takes E off the shelf.
V2 = {
    "C": (100.0, ["1.1.1"]),
    "A": (100.0, ["1.1.5"]),
    "B": (250.0, ["1.1.2", "1.1.3"]),
    "G": (700.0, ["1.1.4"]),
    "F": (600.0, ["1.1.7", "1.1.8", "1.1.9"]),
}
SWITCH_T = 10.0


@dataclass(frozen=True)
class Want:
    plates: tuple[int, ...]
    product: str | None  # top candidate; None: not checked
    absent: str | None = None  # a product that must not be a candidate at all


SWITCH_CASES = [
    ("moved product, before", lambda: Trace(20).pick({1: 100}, 3.0), [Want((1,), "A")]),
    ("moved product, after", lambda: Trace(20).pick({1: 100}, 13.0), [Want((1,), "C")]),
    ("moved product on its new plate", lambda: Trace(20).pick({5: 100}, 13.0), [Want((5,), "A")]),
    ("replaced product, before", lambda: Trace(20).pick({4: 500}, 3.0), [Want((4,), "D")]),
    ("new product, after", lambda: Trace(20).pick({4: 700}, 13.0), [Want((4,), "G")]),
    ("removed product, before", lambda: Trace(20).pick({6: 330}, 3.0), [Want((6,), "E")]),
    (
        "removed product, after",
        lambda: Trace(20).pick({6: 330}, 13.0),
        [Want((6,), None, absent="E")],
    ),
    (
        # Taken before the change, settled after it: explained with the planogram in force
        # when the plates came to rest (docs/shelf-events.md).
        "disturbance across the switch",
        lambda: Trace(20).pick({1: 100}, 9.0, contact_s=1.5),
        [Want((1,), "C")],
    ),
]


@pytest.mark.parametrize(("name", "make", "want"), SWITCH_CASES, ids=[c[0] for c in SWITCH_CASES])
def test_detector_switches_planogram_at_a_time(layout, name, make, want) -> None:  # type: ignore[no-untyped-def]
    new = planogram_layout(layout, planogram(2, V2)).layout
    det = ShelfEventDetector(layout, 1, 1)
    events: list[ShelfEvent] = []
    switched = False
    for block in make().blocks():
        if not switched and block.times[0] >= SWITCH_T:
            det.set_planogram(new)
            switched = True
        events += [o for o in det.feed(block) if isinstance(o, ShelfEvent)]
    events += [o for o in det.flush() if isinstance(o, ShelfEvent)]
    assert switched
    got = [(e.plates, e.candidates[0].product_id if e.candidates else None) for e in events]
    assert [e.plates for e in events] == [w.plates for w in want], (name, got)
    for e, w in zip(events, want, strict=True):
        if w.product is not None:
            assert e.candidates and e.candidates[0].product_id == w.product, (name, got)
        if w.absent is not None:
            assert w.absent not in {c.product_id for c in e.candidates}, (name, e.candidates)
    for e in events:
        if e.candidates:
            assert math.isclose(sum(c.likelihood for c in e.candidates), 1.0, rel_tol=1e-9)


def test_new_product_keeps_the_catalogue_and_prices(layout: StoreLayout) -> None:
    held = planogram_layout(layout, planogram(2, V2, names={"G": "Jar G 700 g"}))
    new = held.layout
    assert new.plate_product[next(r for r in new.plates if str(r) == "1.1.4")] == "G"
    assert new.products["G"].name == "Jar G 700 g" and new.products["G"].weight_g == 700.0
    # Removed from the shelves, not from the store: E and D can still be printed and priced.
    assert "E" not in new.product_plates and new.products["E"].price == layout.products["E"].price
    assert "D" in new.products
    assert held.unpriced == frozenset({"G"})  # no config price: a price book must name it


@pytest.mark.parametrize(
    ("placement", "reason"),
    [
        ({"A": (100.0, ["1.1.12"])}, "entries[0].plates[0] '1.1.12': plate does not exist"),
        ({"A": (100.0, ["2.1.1"])}, "gondola 2 has no shelf 1"),
        ({"A": (0.0, ["1.1.1"])}, "products[0] 'A': no unit weight"),
        ({"A": (math.nan, ["1.1.1"])}, "no unit weight"),
        ({"A": (100.0, ["1.1.1"]), "C": (100.0, ["1.1.1"])}, "one plate holds one product"),
    ],
)
def test_bad_planograms_are_rejected_with_a_reason(layout, placement, reason) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(PlanogramRejected, match=reason.replace("[", r"\[").replace("]", r"\]")):
        planogram_layout(layout, planogram(3, placement))
    entry_without_product = planogram(3, {"A": (100.0, ["1.1.1"])})
    entry_without_product.entries.add(product_id="Z").plates.add(gondola=1, shelf=1, plate=2)
    with pytest.raises(PlanogramRejected, match="'Z', which is not in its products"):
        planogram_layout(layout, entry_without_product)


# --- sessions with planogram pushes, replayed ----------------------------------------------------


@pytest.fixture(scope="module")
def base_session(tmp_path_factory) -> Path:  # type: ignore[no-untyped-def]
    out = tmp_path_factory.mktemp("planogram") / "session"
    generate_session("one-shopper", 11, out)
    return out


def with_pushes(src: Path, out: Path, pushes: list[ConfigPush]) -> Path:
    """A copy of session `src` with a pushes stream (what a live recording would hold)."""
    s = Session.open(src)
    m = s.manifest
    with SessionWriter(
        out,
        config_text=s.config_text,
        start_time_unix=m.start_time_unix,
        session_id=m.session_id + "-pushed",
        created_by="tests/test_planogram_push.py",
    ) as w:
        for info in s.shelf_streams:
            stream = w.shelf_stream(info.port, info.protocol or "walkout-lc1")
            for t, data in s.iter_shelf(info):
                stream.write(t, data)
        for read in s.reads():
            w.write_read(read)
        for frame in s.iter_tracks():
            w.write_tracks(frame)
        for push in pushes:
            w.write_push(push)
        w.close(m.duration_s)
    return out


def moved_planogram(session: Session, version: int, effective_s: float) -> config_pb2.Planogram:
    """The session's planogram with P0001 and P0004 (both 44 g) swapped between plates 1.1.1 and
    1.1.5, and P0010 (on 1.2.2) replaced by a new product NEW1 of the same weight."""
    cfg = session.config
    placement = {e.product: e.plates for e in cfg.planogram}
    placement["P0001"], placement["P0004"] = placement["P0004"], placement["P0001"]
    placement["NEW1"] = placement.pop("P0010")
    weights = {p.id: p.weight_g for p in cfg.products}
    weights["NEW1"] = weights["P0010"]
    eff = round((session.manifest.start_time_unix + effective_s) * 1e9)
    return planogram(
        version,
        {pid: (weights[pid], plates) for pid, plates in placement.items()},
        effective_from_unix_ns=eff,
        names={"NEW1": "New product 1"},
    )


def push(t: float, p: config_pb2.Planogram) -> ConfigPush:
    return ConfigPush(t, "planogram", p.version, p.effective_from_unix_ns, p.SerializeToString())


def receipts(run: Path) -> list[dict]:  # type: ignore[type-arg]
    return [json.loads(x) for x in (run / "receipts.jsonl").read_text().splitlines()]


def events(run: Path) -> list[dict]:  # type: ignore[type-arg]
    return [json.loads(x) for x in (run / "events.jsonl").read_text().splitlines()]


def test_session_without_pushes_replays_as_before(base_session: Path, tmp_path: Path) -> None:
    assert Session.open(base_session).pushes() == []
    replay_session(base_session, tmp_path / "run")
    (r,) = receipts(tmp_path / "run")
    assert r["planogram_version"] == 0
    assert "P0010" in {line["product_id"] for line in r["lines"]}
    assert "P0001" not in {line["product_id"] for line in r["lines"]}  # picked, then put back


def test_replay_follows_a_recorded_planogram_change(base_session: Path, tmp_path: Path) -> None:
    s = Session.open(base_session)
    # Pushed at t=5, in force from t=16: after P0001 was taken (t=14) and before it is put back
    # on its old plate (t=18.6) and P0010's plate is picked (t=26).
    v2 = moved_planogram(s, 2, 16.0)
    session = with_pushes(base_session, tmp_path / "pushed", [push(5.0, v2)])
    assert [p.version for p in Session.open(session).pushes()] == [2]
    a = replay_session(session, tmp_path / "a")
    b = replay_session(session, tmp_path / "b")
    for name in ("events.jsonl", "receipts.jsonl", "run.json"):
        assert (a.run_dir / name).read_bytes() == (b.run_dir / name).read_bytes(), name
    (r,) = receipts(a.run_dir)
    products = {line["product_id"] for line in r["lines"]}
    assert r["planogram_version"] == 2
    assert "NEW1" in products and "P0010" not in products
    # The item taken before the change and put back after it left the cart.
    assert "P0001" not in products and "P0004" not in products
    assert any("no price for NEW1" in reason for reason in r["review_reasons"])
    switch = [e for e in events(a.run_dir) if e["type"] == "planogram_in_force"]
    assert [(e["version"], e["t"] >= 16.0) for e in switch] == [(2, True)]
    picks = [
        e
        for e in events(a.run_dir)
        if e["type"] == "shelf_event" and e["t"] > 20 and e["delta_grams"] < 0
    ]
    assert picks[0]["candidates"][0]["product_id"] == "NEW1"
    stats = json.loads((a.run_dir / "run.json").read_text())["stats"]
    assert stats["planograms_applied"] == 1 and stats["planograms_rejected"] == 0


def test_planogram_not_yet_effective_changes_nothing(base_session: Path, tmp_path: Path) -> None:
    s = Session.open(base_session)
    late = moved_planogram(s, 2, s.manifest.duration_s + 100)
    session = with_pushes(base_session, tmp_path / "late", [push(5.0, late)])
    replay_session(session, tmp_path / "run")
    replay_session(base_session, tmp_path / "plain")
    (r,) = receipts(tmp_path / "run")
    (plain,) = receipts(tmp_path / "plain")
    assert r == plain and r["planogram_version"] == 0


def test_bad_or_stale_planogram_in_a_session_is_rejected_and_counted(
    base_session: Path, tmp_path: Path
) -> None:
    s = Session.open(base_session)
    bad = planogram(3, {"P0001": (44.0, ["9.9.9"])})
    good = moved_planogram(s, 2, 0.0)
    stale = moved_planogram(s, 1, 0.0)
    pushes = [push(1.0, bad), push(2.0, good), push(3.0, stale)]
    session = with_pushes(base_session, tmp_path / "bad", pushes)
    run = replay_session(session, tmp_path / "run").run_dir
    rejected = [e["reason"] for e in events(run) if e["type"] == "planogram_rejected"]
    assert len(rejected) == 2
    assert "gondola 9 has no shelf 9" in rejected[0] and "not newer than v2" in rejected[1]
    (r,) = receipts(run)
    assert r["planogram_version"] == 2  # the good one stayed in force
    stats = json.loads((run / "run.json").read_text())["stats"]
    assert (stats["planograms_applied"], stats["planograms_rejected"]) == (1, 2)


def test_pushes_stream_errors_name_the_file_and_line(base_session: Path, tmp_path: Path) -> None:
    s = Session.open(base_session)
    session = with_pushes(base_session, tmp_path / "s", [push(1.0, moved_planogram(s, 2, 0))])
    manifest = json.loads((session / "manifest.json").read_text())
    assert [x["kind"] for x in manifest["streams"]][-1] == "config-pushes"
    path = session / "pushes.jsonl"
    row = json.loads(path.read_text())
    row["payload"] = "not base64!"
    text = json.dumps(row, separators=(",", ":")) + "\n"
    path.write_text(text)
    manifest["streams"][-1]["bytes"] = len(text.encode())
    (session / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    with pytest.raises(SessionError, match=r"pushes.jsonl, line 1: payload must be base64"):
        Session.open(session).pushes()


# --- the cloud: versions the stores report, next to what was pushed ----------------------------


def heartbeat(store: str, sequence: int, price_book: int, planogram_v: int) -> Event:
    msg = events_pb2.EdgeEvent()
    h = msg.header
    h.event_id, h.store_id, h.stream, h.sequence = f"hb-{sequence}", store, "heartbeats", sequence
    h.event_time_unix_ns = T0 + sequence
    h.schema_version = SCHEMA_VERSION
    msg.heartbeat.price_book_version = price_book
    msg.heartbeat.planogram_version = planogram_v
    return Event("message", 1, topic=topics.heartbeat(store), payload=msg.SerializeToString())


def test_heartbeat_versions_are_stored_next_to_the_pushed_ones(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cloud.sqlite'}"
    engine = db.make_engine(url)
    # A database made before store_versions existed: make_engine adds the table, nothing else.
    db.store_versions.drop(engine)
    engine.dispose()
    engine = db.make_engine(url)
    records.put_config(engine, "price_book", STORE, price_book(0), now_unix_ns=T0)
    ingest(engine, [receipt_event(STORE, 1)])
    (before,) = records.list_stores(engine)
    assert (before.reported_price_book_version, before.reported_planogram_version) == (None, None)
    ingest(engine, [heartbeat(STORE, 5, 1, 3)])
    ingest(engine, [heartbeat(STORE, 4, 0, 2)])  # an older heartbeat arriving late: ignored
    (s,) = records.list_stores(engine)
    assert (s.price_book_version, s.planogram_version) == (1, 0)  # pushed
    assert (s.reported_price_book_version, s.reported_planogram_version) == (1, 3)
    summary = store_summary(s)
    assert (summary.reported_price_book_version, summary.reported_planogram_version) == (1, 3)
    assert summary.versions_reported and not store_summary(before).versions_reported
    engine.dispose()


A_C_SWAP = {"C": (100.0, ["1.1.1"]), "A": (100.0, ["1.1.5"])}


def _pick_frames(encoder: BoardEncoder, grams_plate1: np.ndarray) -> list[bytes]:
    """walkout-lc1 frames of 9 plates at 800 g (plate 1 as given), 0.01 g per count."""
    g = np.full((len(grams_plate1), 9), 800.0)
    g[:, 0] = grams_plate1
    counts = np.round(g / 0.01).astype(np.int64)
    return [encoder.samples(counts[i : i + 6]) for i in range(0, len(counts), 6)]


@pytest.mark.slow
def test_planogram_pushed_through_the_control_plane_reaches_a_live_edge(  # type: ignore[no-untyped-def]
    tmp_path: Path,
    broker,  # noqa: F811
) -> None:
    """PutPlanogram -> signed retained bundle on mosquitto -> the live edge verifies, persists and
    queues it -> a later pick on plate 1 is explained with it (C, no longer A); the heartbeat
    reports version 1 to a real ingest worker, and ListStores shows it next to the pushed one."""
    store = "test"
    key_file = tmp_path / "cloud-1.pub.pem"
    key_file.write_bytes(
        KEY.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    data = yaml.safe_load(_store_yaml(port="loop://"))
    data["cloud"] = {
        "enabled": True,
        "mqtt": {"host": "127.0.0.1", "port": broker.port},
        "heartbeat_interval_s": 0.3,
        "push_keys": {"cloud-1": key_file.name},
    }
    config = tmp_path / "store.yaml"
    config.write_text(yaml.safe_dump(data, sort_keys=False))
    with cloud_and_live_store(tmp_path, broker.port, config) as (engine, srv, runtime):
        plano = planogram(0, A_C_SWAP, effective_from_unix_ns=T0)
        put = client(srv).PutPlanogram(
            control_pb2.PutPlanogramRequest(store_ids=[store], planogram=plano)
        )
        assert [(b.store_id, b.version) for b in put.bundles] == [(store, 1)]
        assert runtime.pushes is not None
        wait_for(lambda: runtime.pushes.applied == [("planogram", 1)], 15, "the planogram")
        assert runtime.core.planogram_version == 0  # queued: the core takes it as an input
        while (item := runtime.queue.get_nowait()) is not None:
            runtime.handle(item)
        assert runtime.core.planogram_version == 1
        # A pick of 100 g from plate 1, fed as the serial bytes the shelf board would send.
        encoder = BoardEncoder(3, 9)
        trace = np.full(60 * 8, 800.0)
        trace[180:] = 700.0
        t0 = runtime.clock.t0_mono + runtime.clock.last + 0.01
        for i, frame in enumerate(_pick_frames(encoder, trace)):
            runtime.handle(LiveInput(t0 + i * 0.1, "shelf", "loop://", frame))
        assert runtime.core.stats.shelf_events == 1, runtime.core.stats
        runtime.write_status()
        runtime._snapshot_open_visits()  # flushes events.jsonl
        shelf = [
            json.loads(x)
            for x in (tmp_path / "data" / "events.jsonl").read_text().splitlines()
            if '"shelf_event"' in x
        ]
        assert shelf and shelf[0]["plates"] == [1]
        assert shelf[0]["candidates"][0]["product_id"] == "C"  # A before the push
        runtime.write_status()
        wait_for(
            lambda: records.list_stores(engine)[0].reported_planogram_version == 1,
            15,
            "a heartbeat naming planogram 1",
        )
        (listed,) = client(srv).ListStores(control_pb2.ListStoresRequest()).stores
        assert (listed.planogram_version, listed.reported_planogram_version) == (1, 1)
    # The recording holds the push: its replay explains the pick the same way.
    rec = Session.open(tmp_path / "rec")
    assert [p.version for p in rec.pushes()] == [1]
    run = replay_session(tmp_path / "rec", tmp_path / "replayed").run_dir
    replayed = [e for e in events(run) if e["type"] == "shelf_event"]
    assert replayed[0]["candidates"][0]["product_id"] == "C"
    # Persisted: a restart puts version 1 back in force before any input.
    again = LiveRuntime(config, LiveOptions(data_dir=tmp_path / "data", cameras=False))
    again.start()
    try:
        assert again.core.planogram_version == 1
    finally:
        again.shutdown()
