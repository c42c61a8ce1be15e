"""The live runtime end to end, against real parts: `walkout sim live` plays a simulated store in
real time into pty serial ports, virtual cards at pcscd's vpcd readers and a track socket;
`walkout edge run` runs on them as in a store.

The end-to-end tests use small scenarios whose store time is under a minute (one or two
shoppers, 35 to 55 s of store time): real time cannot be compressed without changing what the
sensors say. They are marked slow; together they take about two minutes of wall time.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import tty
from pathlib import Path

import pytest
from typer.testing import CliRunner

from edge.cli.main import app
from edge.config import resolve_store
from edge.drivers.base import LiveInput
from edge.live.runtime import LiveOptions, LiveRuntime
from edge.shelf.protocol import BoardEncoder
from sim.live.pcscd import list_readers, start_pcscd, stop_pcscd

WALKOUT = [str(Path(sys.executable).with_name("walkout"))]
SHORT_SCENARIO = """\
name: live-short
description: Two shoppers, a few items each, all gone within about 45 s (live tests).
store: small
duration_s: 5
arrivals: {rate_per_min: 8, count: 2, first_s: 1.0}
shopper: {items_mean: 2, items_max: 3, exit_tap_probability: 1.0, leave_empty_probability: 0.0}
behaviour: {browse_put_back: 0.0, put_back_wrong_plate: 0.0, multi_unit: 0.0, slow_pick: 0.0}
"""

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


class Procs:
    """Child processes started by a test, stopped by pid at the end."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        log = (self.tmp / f"{name}.log").open("wb")
        proc = subprocess.Popen([*WALKOUT, *args], stdout=log, stderr=subprocess.STDOUT)
        self.procs.append(proc)
        return proc

    def log(self, name: str) -> str:
        return (self.tmp / f"{name}.log").read_text(errors="replace")

    def stop_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


@pytest.fixture
def procs(tmp_path: Path):
    p = Procs(tmp_path)
    yield p
    p.stop_all()


def _wait(cond, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.1)
    return bool(cond())


def _jsonl(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _start_store(procs: Procs, tmp: Path, sim_args: list[str], edge_args: list[str]):
    ifaces = tmp / "ifaces"
    sim = procs.start("sim", "sim", "live", "--out", str(ifaces), "-q", *sim_args)
    assert _wait(lambda: "waiting" in procs.log("sim"), 60), procs.log("sim")
    edge = procs.start(
        "edge",
        "edge",
        "run",
        "--config",
        str(ifaces / "store.yaml"),
        "--no-cameras",
        "--data-dir",
        str(tmp / "data"),
        *edge_args,
    )
    return sim, edge, ifaces


@pytest.mark.slow
def test_live_store_and_its_recording_give_the_same_receipts(
    tmp_path: Path, pcscd, procs: Procs
) -> None:
    scenario = tmp_path / "live-short.yaml"
    scenario.write_text(SHORT_SCENARIO)
    rec = tmp_path / "rec"
    sim, edge, ifaces = _start_store(
        procs, tmp_path, ["--scenario", str(scenario), "--seed", "1"], ["--record", str(rec)]
    )
    assert sim.wait(timeout=120) == 0, procs.log("sim")
    time.sleep(1.0)  # the last bytes and frames reach the core
    edge.send_signal(signal.SIGTERM)
    assert edge.wait(timeout=30) == 0, procs.log("edge")
    assert "0 bytes dropped" in procs.log("sim")
    assert "card errors" not in procs.log("sim")

    live = _jsonl(tmp_path / "data" / "receipts.jsonl")
    truth = json.loads((ifaces / "session" / "truth" / "truth.json").read_text())
    assert len(live) == len(truth["receipts"]) == 2
    # The simulated shoppers' carts were read right, live, through real ports.
    want = sorted(
        sorted((ln["product_id"], ln["quantity"]) for ln in r["lines"]) for r in truth["receipts"]
    )
    got = sorted(sorted((ln["product_id"], ln["quantity"]) for ln in r["lines"]) for r in live)
    assert got == want

    result = CliRunner().invoke(app, ["edge", "replay", str(rec), "--out", str(tmp_path / "re")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "data" / "receipts.jsonl").read_text() == (
        tmp_path / "re" / "receipts.jsonl"
    ).read_text()
    # The whole decision log is the same too, not only the receipts.
    assert (tmp_path / "data" / "events.jsonl").read_text() == (
        tmp_path / "re" / "events.jsonl"
    ).read_text()

    status = json.loads((tmp_path / "data" / "live-status.json").read_text())
    assert status["open_visits"] == [] and status["queue"]["blocked_puts"] == 0
    assert status["latency"]["cart_line"]["n"] >= 3
    assert status["latency"]["cart_line"]["p99_ms"] < 500
    assert status["latency"]["receipt"]["p99_ms"] < 1000
    drivers = {d["kind"]: d for d in status["drivers"]}
    # (the serial and track drivers report the simulator's exit as an unplug: it left first)
    assert drivers["serial"]["items"] > 1000 and drivers["tracks"]["items"] > 400


@pytest.mark.slow
def test_sigkill_mid_visit_resumes_it_and_never_settles_twice(
    tmp_path: Path, pcscd, procs: Procs
) -> None:
    sim, edge, _ = _start_store(procs, tmp_path, ["--scenario", "one-shopper", "--seed", "1"], [])
    events = tmp_path / "data" / "events.jsonl"
    # The shopper's first item is in the cart (t ~ 18 s of 51): pull the plug.
    assert _wait(lambda: any(e["type"] == "cart_line_added" for e in _jsonl(events)), 60), (
        procs.log("edge")
    )
    edge.send_signal(signal.SIGKILL)
    edge.wait()
    edge2 = procs.start(
        "edge2",
        "edge",
        "run",
        "--config",
        str(tmp_path / "ifaces" / "store.yaml"),
        "--no-cameras",
        "--data-dir",
        str(tmp_path / "data"),
    )
    assert sim.wait(timeout=120) == 0, procs.log("sim")
    time.sleep(1.0)
    edge2.send_signal(signal.SIGTERM)
    assert edge2.wait(timeout=30) == 0, procs.log("edge2")
    assert "resumed 1 open visit(s): v0001" in procs.log("edge2")

    db = sqlite3.connect(tmp_path / "data" / "journal.sqlite")
    rows = db.execute("SELECT visit_id, total, body FROM receipts").fetchall()
    assert len(rows) == 1  # one shopper, one receipt, across two processes
    visit_id, total, body = rows[0]
    assert visit_id == "v0001"
    # The item taken before the crash is on the receipt with the ones taken after it.
    assert total == "15.85"
    assert len(json.loads(body)["lines"]) == 3
    assert db.execute("SELECT COUNT(*) FROM open_visits").fetchone()[0] == 0
    db.close()
    # events.jsonl is one log across both processes: its sequence continues, never restarts.
    seqs = [e["seq"] for e in _jsonl(events)]
    assert seqs == sorted(set(seqs)) and seqs[0] == 1


def _faulty_config(tmp: Path, port: str) -> Path:
    text = resolve_store("small")[1].replace("/dev/ttyUSB0", port)
    text += f"track_source: {{type: jsonl-socket, address: 'unix:{tmp}/nobody.sock'}}\n"
    path = tmp / "store.yaml"
    path.write_text(text)
    return path


def test_faults_are_counted_and_the_store_keeps_running(tmp_path: Path) -> None:
    """Garbage on the shelf line, a track source that is not there, readers without pcscd, an
    exit tap with no entry: each is counted with a message, and the pipeline keeps going."""
    master, slave = os.openpty()
    tty.setraw(slave)
    link = tmp_path / "ttyUSB0"
    link.symlink_to(os.ttyname(slave))
    config = _faulty_config(tmp_path, str(link))
    runtime = LiveRuntime(
        config,
        LiveOptions(data_dir=tmp_path / "data", backoff_initial_s=0.05, backoff_max_s=0.2),
    )
    runtime.start()
    try:
        serial = next(d for d in runtime.drivers if d.kind == "serial")
        assert _wait(lambda: serial.health.state == "connected", 5)
        enc = BoardEncoder(1, 12)
        os.write(master, b"\x00garbage\xff" * 20 + enc.status(uptime_ms=5))
        deadline = time.monotonic() + 5
        decoder = runtime.core.decoders[str(link)]
        while decoder.parser.stats.bytes_discarded == 0 and time.monotonic() < deadline:
            item = runtime.queue.get(0.1)
            if item is not None:
                runtime.handle(item)
        assert decoder.parser.stats.bytes_discarded >= 160
        runtime.handle(
            LiveInput(time.monotonic(), "read", "Virtual PCD 00 01", ("card", "04AABB", "insert"))
        )
        assert runtime.faults == {"exit tap with no open visit": 1}
        time.sleep(0.5)
        status = runtime.write_status()
    finally:
        runtime.shutdown()
        os.close(master)
        os.close(slave)
    by_kind = {d["kind"]: d for d in status["drivers"]}
    assert by_kind["tracks"]["faults"] >= 1
    assert "nobody.sock" in by_kind["tracks"]["last_error"]
    assert by_kind["serial"]["faults"] == 0 and by_kind["serial"]["state"] == "connected"
    assert status["healthy"] is True  # dead devices are faults, not a dead pipeline
    saved = json.loads((tmp_path / "data" / "live-status.json").read_text())
    assert saved["faults"] == {"exit tap with no open visit": 1}


def test_edge_record_writes_a_session_that_replays(tmp_path: Path) -> None:
    master, slave = os.openpty()
    tty.setraw(slave)
    link = tmp_path / "ttyUSB0"
    link.symlink_to(os.ttyname(slave))
    config = _faulty_config(tmp_path, str(link))
    rec = tmp_path / "rec"
    try:
        proc = subprocess.run(
            [
                *WALKOUT,
                "edge",
                "record",
                "--config",
                str(config),
                "--out",
                str(rec),
                "--duration",
                "1.5",
                "--no-cameras",
                "--data-dir",
                str(tmp_path / "data"),
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        os.close(master)
        os.close(slave)
    assert proc.returncode == 0, proc.stderr
    assert "recording in" in proc.stdout
    assert (rec / "manifest.json").exists()
    manifest = json.loads((rec / "manifest.json").read_text())
    assert manifest["created_by"] == "walkout edge run"
    assert [s["port"] for s in manifest["streams"] if s["kind"] == "shelf-serial"] == [str(link)]
    result = CliRunner().invoke(app, ["edge", "replay", str(rec), "--out", str(tmp_path / "re")])
    assert result.exit_code == 0, result.output


def test_player_sends_each_shelf_stream_to_its_own_port(tmp_path: Path) -> None:
    """Two ports, each gets exactly its own recorded bytes (no pcscd needed: no reads)."""
    from edge.session.writer import SessionWriter
    from sim.live.player import LivePlayer

    text = resolve_store("small")[1]
    # Two shelves on a second port.
    text = text.replace("port: /dev/ttyUSB0", "port: /dev/ttyUSB1", 2)
    with SessionWriter(
        tmp_path / "s", config_text=text, start_time_unix=0.0, session_id="t", created_by="test"
    ) as w:
        a = w.shelf_stream("/dev/ttyUSB0", "walkout-lc1")
        b = w.shelf_stream("/dev/ttyUSB1", "walkout-lc1")
        for i in range(5):
            a.write(i * 0.01, b"A%d" % i)
            b.write(i * 0.01 + 0.005, b"B%d" % i)
    player = LivePlayer(tmp_path / "s", tmp_path / "if")
    try:
        fds = {}
        for name in ("ttyUSB0", "ttyUSB1"):
            fd = os.open(tmp_path / "if" / name, os.O_RDONLY | os.O_NOCTTY | os.O_NONBLOCK)
            fds[name] = fd
        player.play()
        time.sleep(0.1)
        got = {name: os.read(fd, 1000) for name, fd in fds.items()}
        for fd in fds.values():
            os.close(fd)
    finally:
        player.close()
    assert got == {"ttyUSB0": b"A0A1A2A3A4", "ttyUSB1": b"B0B1B2B3B4"}
    cfg = (tmp_path / "if" / "store.yaml").read_text()
    assert str(tmp_path / "if" / "ttyUSB1") in cfg and "jsonl-socket" in cfg


def test_sd_notify_ready_watchdog_and_stopping(tmp_path: Path, monkeypatch) -> None:
    import socket

    path = tmp_path / "notify.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(str(path))
    listener.settimeout(0.05)
    monkeypatch.setenv("NOTIFY_SOCKET", str(path))
    monkeypatch.setenv("WATCHDOG_USEC", "200000")  # pings every 0.1 s
    monkeypatch.delenv("WATCHDOG_PID", raising=False)
    text = resolve_store("small")[1].replace("/dev/ttyUSB0", "loop://")
    config = tmp_path / "store.yaml"
    config.write_text(
        text.replace("readers: [Virtual PCD 00 00]", "readers: []").replace(
            "readers: [Virtual PCD 00 01]", "readers: []"
        )
    )
    runtime = LiveRuntime(
        config, LiveOptions(data_dir=tmp_path / "data", duration_s=1.0, cameras=False)
    )
    messages: list[str] = []
    done = threading.Event()

    def listen() -> None:  # as systemd does: read every datagram as it comes
        while not done.is_set() or messages[-1:] != ["STOPPING=1"]:
            try:
                messages.append(listener.recv(1024).decode())
            except TimeoutError:
                if done.is_set():
                    return

    reader = threading.Thread(target=listen)
    reader.start()
    runtime.run()
    done.set()
    reader.join(5)
    listener.close()
    assert messages[0].startswith("READY=1")
    assert messages[-1] == "STOPPING=1"
    assert 5 <= messages.count("WATCHDOG=1") <= 12
    assert not runtime.healthy(time.monotonic())  # stopped: its driver threads are gone
    # A stale heartbeat means no more pings: the watchdog then restarts the service.
    monkeypatch.delenv("NOTIFY_SOCKET")
    again = LiveRuntime(config, LiveOptions(data_dir=tmp_path / "data2", cameras=False))
    again.start()
    try:
        assert again.healthy(again.heartbeat_mono + 1.0)
        assert not again.healthy(again.heartbeat_mono + 10.0)
    finally:
        again.shutdown()


def test_sd_notify_never_blocks_on_a_manager_that_does_not_read(tmp_path: Path, monkeypatch):
    import socket

    from edge.live import sdnotify

    path = tmp_path / "n.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(str(path))
    monkeypatch.setenv("NOTIFY_SOCKET", str(path))
    started = time.monotonic()
    sent = [sdnotify.notify("WATCHDOG=1") for _ in range(200)]
    listener.close()
    assert time.monotonic() - started < 2.0
    assert sent[0] is True and sent[-1] is False  # the queue filled up; nothing waited
    monkeypatch.delenv("NOTIFY_SOCKET")
    assert sdnotify.notify("READY=1") is False


def test_live_config_points_ports_tracks_and_cameras_at_the_simulator() -> None:
    from edge.config import load_store_config_text
    from sim.live.player import live_config_text

    text = live_config_text(
        resolve_store("medium")[1],
        {"/dev/ttyUSB0": "/tmp/if/ttyUSB0"},
        "unix:/tmp/if/tracks.sock",
        {"cam-1": "/tmp/session/cameras/cam-1.avi"},
    )
    config = load_store_config_text(text, source="live.yaml")
    ports = {s.controller.port for g in config.gondolas for s in g.shelves}
    assert "/tmp/if/ttyUSB0" in ports and "/dev/ttyUSB0" not in ports and "/dev/ttyUSB1" in ports
    assert config.track_source is not None
    assert config.track_source.address == "unix:/tmp/if/tracks.sock"
    sources = {c.id: c.source for c in config.cameras}
    assert sources["cam-1"] == "/tmp/session/cameras/cam-1.avi"
    assert sources["cam-2"].startswith("rtsp://")


def test_edge_run_refuses_a_bad_config_naming_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "store.yaml"
    bad.write_text("version: 1\nstore: {id: x}\n")
    result = CliRunner().invoke(app, ["edge", "run", "--config", str(bad)])
    assert result.exit_code == 1
    assert f"{bad}:2:1: store.name: required key is missing" in result.output
    result = CliRunner().invoke(app, ["edge", "run", "--config", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 1 and "cannot read store config" in result.output


def _open_visit_journal(tmp: Path, name: str):
    """A journal holding one open visit (v0001, track 7, one item in its cart)."""
    from edge.carts.cart import CartEvent
    from edge.config import load_store_config_text
    from edge.config.layout import StoreLayout
    from edge.journal.journal import Journal
    from edge.live.resume import snapshot_visit
    from edge.pipeline.core import EdgeCore

    config = load_store_config_text(resolve_store("small")[1], source="small")
    layout = StoreLayout(config)
    entry = next(g for g in config.gates if g.kind == "entry")
    x = sum(p[0] for p in entry.zone) / len(entry.zone)
    y = sum(p[1] for p in entry.zone) / len(entry.zone)
    journal = Journal(tmp / name)
    core = EdgeCore(layout, emit=lambda e: None, journal=journal, start_time_unix=1000.0)
    core.on_tracks(0.0, [(7, x, y, ())])
    core.on_read(0.5, entry.readers[0], "card", "04AABBCCDD", "insert")
    assert core.visits.visits["v0001"].track_ids == {7}
    core.carts["v0001"].add(CartEvent("l00003", 1.0, "P0001", 1, 0.9, {"why": "test"}))
    snap = json.dumps(snapshot_visit(core, "v0001", 1000.0))
    journal.save_open_visits({"v0001": snap}, [])
    return layout, journal


def test_restored_visit_keeps_its_cart_and_closes_for_review_if_never_seen_again(
    tmp_path: Path,
) -> None:
    from edge.live.resume import rebind_returning_tracks, restore_open_visits
    from edge.pipeline.core import EdgeCore

    layout, journal = _open_visit_journal(tmp_path, "a.sqlite")
    events: list[dict] = []
    core = EdgeCore(layout, emit=events.append, journal=journal, start_time_unix=1100.0)
    pending = restore_open_visits(core, journal, 1100.0)
    assert pending == {"v0001": {7}}
    visit = core.visits.visits["v0001"]
    assert visit.opened_t == pytest.approx(-99.5)  # 100 s earlier, in this run's time
    assert core.carts["v0001"].quantities() == {"P0001": 1}
    assert core.visits._next == 1 and core._line == 3  # new ids continue, never collide
    for i in range(60):  # the shopper is never seen again
        core.on_tracks(float(i), [])
        rebind_returning_tracks(core, pending)
    ended = [e for e in events if e["type"] == "visit_ended"]
    assert [(e["visit_id"], e["reason"]) for e in ended] == [("v0001", "lost")]
    receipt = json.loads(journal.db.execute("SELECT body FROM receipts").fetchone()[0])
    assert receipt["needs_review"] and receipt["lines"][0]["product_id"] == "P0001"
    # Settled: a further restart restores nothing, so it cannot be settled twice.
    again = EdgeCore(layout, emit=lambda e: None, journal=journal, start_time_unix=1200.0)
    assert restore_open_visits(again, journal, 1200.0) == {}
    assert again._receipt_seq == 1
    journal.close()


def test_restored_visit_whose_track_returns_stays_open(tmp_path: Path) -> None:
    from edge.live.resume import rebind_returning_tracks, restore_open_visits
    from edge.pipeline.core import EdgeCore

    layout, journal = _open_visit_journal(tmp_path, "b.sqlite")
    events: list[dict] = []
    core = EdgeCore(layout, emit=events.append, journal=journal, start_time_unix=1100.0)
    pending = restore_open_visits(core, journal, 1100.0)
    mid = (layout.config.floor.width_m / 2, layout.config.floor.depth_m / 2)
    for i in range(60):  # the shopper (same track id) keeps shopping after the restart
        core.on_tracks(i + 0.1, [(7, mid[0], mid[1], ())])
        rebind_returning_tracks(core, pending)
    assert pending == {}
    assert core.visits.visits["v0001"].live_tracks == {7}
    assert not [e for e in events if e["type"] == "visit_ended"]
    journal.close()


def test_live_receipt_reaches_the_broker_through_the_cloud_link(tmp_path: Path) -> None:
    """cloud.enabled: the runtime runs the edge link; a visit that ends at the exit is
    journaled and its receipt published to a real mosquitto."""
    import paho.mqtt.client as mqtt
    import yaml
    from support.services import needs_mosquitto

    from cloud.broker import find_mosquitto, start_mosquitto

    if find_mosquitto() is None:
        pytest.skip(needs_mosquitto.kwargs["reason"])
    broker = start_mosquitto(tmp_path / "mosquitto")
    try:
        data = yaml.safe_load(resolve_store("small")[1].replace("/dev/ttyUSB0", "loop://"))
        data["cloud"] = {"enabled": True, "mqtt": {"host": "127.0.0.1", "port": broker.port}}
        config = tmp_path / "store.yaml"
        config.write_text(yaml.safe_dump(data, sort_keys=False))
        got: list[str] = []
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
        client.on_message = lambda _c, _u, m: got.append(m.topic)
        client.connect("127.0.0.1", broker.port)
        client.subscribe("walkout/v1/#", qos=1)
        client.loop_start()
        runtime = LiveRuntime(config, LiveOptions(data_dir=tmp_path / "data", cameras=False))
        runtime.start()
        try:
            gates = {g.kind: g for g in runtime.config.gates}

            def centre(zone) -> tuple[float, float]:
                return (sum(p[0] for p in zone) / len(zone), sum(p[1] for p in zone) / len(zone))

            (ex, ey), (xx, xy) = centre(gates["entry"].zone), centre(gates["exit"].zone)
            t0 = runtime.clock.t0_mono
            runtime.handle(LiveInput(t0 + 0.1, "tracks", "t", [(7, ex, ey, ())]))
            runtime.handle(
                LiveInput(t0 + 0.3, "read", gates["entry"].readers[0], ("card", "04AB", "insert"))
            )
            for i in range(11):
                f = i / 10
                pos = (ex + f * (xx - ex), ey + f * (xy - ey))
                runtime.handle(LiveInput(t0 + 0.5 + i * 0.1, "tracks", "t", [(7, *pos, ())]))
            for i in range(6):  # gone, last seen in the exit zone
                runtime.handle(LiveInput(t0 + 1.7 + i * 0.1, "tracks", "t", []))
            assert runtime.core.stats.receipts == 1
            assert _wait(lambda: any("receipt" in topic for topic in got), 15), got
        finally:
            runtime.shutdown()
            client.loop_stop()
            client.disconnect()
    finally:
        broker.stop()
    status = json.loads((tmp_path / "data" / "live-status.json").read_text())
    assert status["link"]["connects"] >= 1


def test_sim_live_can_run_its_own_pcscd_and_present_cards(tmp_path: Path) -> None:
    if not HAVE_PCSCD:
        pytest.skip("pcscd and vsmartcard-vpcd not installed")
    if list_readers():
        pytest.fail("another pcscd is already running: this test starts its own")
    result = CliRunner().invoke(
        app,
        [
            "sim",
            "live",
            "--scenario",
            "one-shopper",
            "--seed",
            "1",
            "--out",
            str(tmp_path),
            "--until",
            "3",
            "--wait",
            "0",
            "--pcscd",
            "-q",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "2 reads" in result.output  # the entry tap: card presented and taken away
    assert "card errors" not in result.output
    assert list_readers() == []  # its pcscd was stopped on the way out
