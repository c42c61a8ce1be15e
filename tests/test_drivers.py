"""Sensor drivers against real parts: pty serial pairs, a unix socket, video files.

Faults are provoked for real: the master end of a pty is closed (an unplug), a socket peer
hangs up, garbage is sent, a file ends, a source does not exist.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import socket
import threading
import time
import tty
from pathlib import Path

import cv2
import numpy as np
import pytest

from edge.drivers.base import Backoff, LiveInput
from edge.drivers.camera import OpenCvCameraDriver, parse_source
from edge.drivers.serial_shelf import SerialShelfDriver
from edge.drivers.track_source import TrackSocketDriver, parse_people
from edge.live.clock import FeedClock
from edge.live.queues import FrameSlots, InputQueue


def _wait(cond, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.02)
    return bool(cond())


def _pty(link: Path) -> tuple[int, int]:
    master, slave = os.openpty()
    tty.setraw(slave)
    if link.is_symlink():
        link.unlink()
    link.symlink_to(os.ttyname(slave))
    return master, slave


def _drain(q: queue.Queue[LiveInput], until: float = 0.5) -> bytes:
    data = b""
    deadline = time.monotonic() + until
    while time.monotonic() < deadline:
        with contextlib.suppress(queue.Empty):
            data += q.get(timeout=0.05).payload
    return data


# --- pure pieces ---


def test_backoff_doubles_up_to_the_cap_and_resets() -> None:
    b = Backoff(0.5, 3.0)
    assert [b.next() for _ in range(5)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    b.reset()
    assert b.next() == 0.5
    with pytest.raises(ValueError):
        Backoff(2.0, 1.0)


def test_feed_clock_is_strictly_increasing_on_the_session_grid() -> None:
    clock = FeedClock(100.0)
    times = [clock.session_time(m) for m in (100.0, 100.00001, 100.00002, 99.0, 100.5, 100.5)]
    assert times == [0.0, 0.0001, 0.0002, 0.0003, 0.5, 0.5001]
    # Every time survives the session format's 4-decimal rounding unchanged.
    assert all(round(t, 4) == t for t in times)
    assert clock.mono(0.5) == 100.5


def test_frame_slots_drop_the_oldest_and_count_it() -> None:
    slots = FrameSlots(depth=2)
    for i in range(5):
        slots.put(LiveInput(float(i), "frame", "cam-1", i))
    assert slots.stats() == {"cam-1": {"received": 5, "dropped": 3}}
    assert [slots.take("cam-1").payload, slots.take("cam-1").payload] == [3, 4]
    assert slots.take("cam-1") is None


def test_input_queue_never_drops_it_blocks_and_counts() -> None:
    q = InputQueue(maxsize=2)
    for i in range(2):
        q.put(LiveInput(0.0, "shelf", "p", i))
    t = threading.Thread(target=q.put, args=(LiveInput(0.0, "shelf", "p", 2),))
    t.start()
    time.sleep(0.1)
    assert t.is_alive()  # the third put waits for room
    assert [q.get(1).payload for _ in range(3)] == [0, 1, 2]
    t.join(1)
    assert q.blocked_puts == 1 and q.high_water == 2


# --- serial shelf driver ---


def test_serial_driver_reads_bytes_survives_unplug_and_reconnects(tmp_path: Path) -> None:
    link = tmp_path / "ttyUSB0"
    master, slave = _pty(link)
    q: queue.Queue[LiveInput] = queue.Queue()
    driver = SerialShelfDriver(str(link), 115200, q.put, backoff=Backoff(0.1, 0.3))
    driver.start()
    try:
        assert _wait(lambda: driver.health.state == "connected")
        os.write(master, b"\xaa\x55hello")
        assert _drain(q) == b"\xaa\x55hello"
        # Unplug: the controller's end goes away; reads fail with EIO.
        os.close(master)
        os.close(slave)
        assert _wait(lambda: driver.health.state == "reconnecting")
        assert driver.health.faults >= 1
        assert str(link) in (driver.health.last_error or "")
        # Plugged back in (a new pty at the same path): data flows again, no restart needed.
        master, slave = _pty(link)
        assert _wait(lambda: driver.health.connects >= 2)
        os.write(master, b"again")
        assert _drain(q) == b"again"
        assert driver.health.state == "connected"
    finally:
        driver.stop()
        for fd in (master, slave):
            with contextlib.suppress(OSError):
                os.close(fd)


def test_missing_serial_port_is_a_retried_fault(tmp_path: Path) -> None:
    q: queue.Queue[LiveInput] = queue.Queue()
    port = str(tmp_path / "ttyUSB9")
    driver = SerialShelfDriver(port, 115200, q.put, backoff=Backoff(0.05, 0.1))
    driver.start()
    try:
        assert _wait(lambda: driver.health.faults >= 3)
    finally:
        driver.stop()
    assert port in (driver.health.last_error or "")
    assert "No such file" in (driver.health.last_error or "")
    assert driver.health.connects == 0 and q.empty()


# --- track source ---


def test_parse_people_reads_a_tracks_row_and_names_problems() -> None:
    row = b'{"t":1.5,"people":[{"id":3,"x":1.0,"y":2.0,"hands":[[1,2,1.1]]}]}'
    assert parse_people(row) == [(3, 1.0, 2.0, ((1.0, 2.0, 1.1),))]
    with pytest.raises(ValueError, match="not JSON"):
        parse_people(b"{oops")
    with pytest.raises(ValueError, match="people"):
        parse_people(b'{"t":1}')
    with pytest.raises(ValueError, match="not an integer"):
        parse_people(b'{"people":[{"id":"a","x":1,"y":2}]}')


def test_track_socket_driver_skips_garbage_and_reconnects(tmp_path: Path) -> None:
    path = tmp_path / "tracks.sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(2)
    q: queue.Queue[LiveInput] = queue.Queue()
    driver = TrackSocketDriver(f"unix:{path}", q.put, backoff=Backoff(0.1, 0.2))
    driver.start()
    try:
        conn, _ = server.accept()
        good = {"t": 0.0, "people": [{"id": 1, "x": 0.5, "y": 0.25, "hands": []}]}
        conn.sendall(b"garbage line\n" + json.dumps(good).encode() + b"\n")
        item = q.get(timeout=5)
        assert (item.kind, item.payload) == ("tracks", [(1, 0.5, 0.25, ())])
        assert driver.health.fault_kinds.get("garbage") == 1
        conn.close()  # the tracker went away
        assert _wait(lambda: driver.health.state == "reconnecting" or driver.health.connects > 1)
        conn, _ = server.accept()  # it reconnects by itself
        conn.sendall(json.dumps(good).encode() + b"\n")
        assert q.get(timeout=5).payload == [(1, 0.5, 0.25, ())]
        assert driver.health.connects == 2
        conn.close()
    finally:
        driver.stop()
        server.close()


# --- camera ---


def _video(path: Path, frames: int) -> None:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 30.0, (64, 48))
    assert writer.isOpened()
    for i in range(frames):
        img = np.full((48, 64, 3), i * 20 % 255, dtype=np.uint8)
        writer.write(img)
    writer.release()


def test_camera_driver_reads_a_file_and_reopens_it_when_it_ends(tmp_path: Path) -> None:
    clip = tmp_path / "cam.avi"
    _video(clip, 5)
    slots = FrameSlots(depth=2)
    driver = OpenCvCameraDriver("cam-1", str(clip), 100.0, slots.put, backoff=Backoff(0.05, 0.1))
    driver.start()
    try:
        assert _wait(lambda: slots.received.get("cam-1", 0) >= 12)
    finally:
        driver.stop()
    assert driver.health.connects >= 3  # the clip ended and was reopened
    assert "ended" in (driver.health.last_error or "")
    frame = slots.take("cam-1")
    assert frame is not None and frame.payload.shape == (48, 64, 3)
    assert slots.dropped["cam-1"] > 0  # nobody consumed: the oldest frames were dropped


def test_camera_that_cannot_be_opened_is_a_fault(tmp_path: Path) -> None:
    slots = FrameSlots()
    source = str(tmp_path / "missing.avi")
    driver = OpenCvCameraDriver("cam-9", source, 15.0, slots.put, backoff=Backoff(0.05, 0.1))
    driver.start()
    try:
        assert _wait(lambda: driver.health.faults >= 2)
    finally:
        driver.stop()
    assert "cam-9" in (driver.health.last_error or "") and source in driver.health.last_error
    assert parse_source("0") == 0 and parse_source("rtsp://x/y") == "rtsp://x/y"


def test_camera_url_that_never_answers_times_out_as_a_fault() -> None:
    # An HTTP camera that accepts the connection and then says nothing.
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(4)
    port = server.getsockname()[1]
    slots = FrameSlots()
    url = f"http://127.0.0.1:{port}/video.mjpg"
    driver = OpenCvCameraDriver(
        "cam-3", url, 15.0, slots.put, stall_s=0.5, backoff=Backoff(0.05, 0.1)
    )
    started = time.monotonic()
    driver.start()
    try:
        assert _wait(lambda: driver.health.faults >= 1, timeout=10)
    finally:
        driver.stop(join_s=5)
        server.close()
    assert time.monotonic() - started < 10
    assert url in (driver.health.last_error or "")
    assert slots.received == {}


def _loop_config(tmp_path: Path) -> Path:
    from edge.config import resolve_store

    text = resolve_store("small")[1].replace("/dev/ttyUSB0", "loop://")
    path = tmp_path / "store.yaml"
    path.write_text(text)
    return path


def test_drivers_are_the_plugins_the_config_types_name(tmp_path: Path) -> None:
    from edge.config import load_store_config
    from edge.drivers.camera import OpenCvCameraDriver
    from edge.drivers.pcsc_reader import PcscReaderDriver
    from edge.drivers.registry import build_drivers

    config = load_store_config(_loop_config(tmp_path))
    drivers = build_drivers(config, lambda i: None, lambda i: None, Backoff)
    by_type = {
        type(d).__name__: sorted(x.name for x in drivers if type(x) is type(d)) for d in drivers
    }
    assert by_type == {
        "SerialShelfDriver": ["loop://"],
        "PcscReaderDriver": ["Virtual PCD 00 00", "Virtual PCD 00 01"],
        "OpenCvCameraDriver": ["cam-1", "cam-2"],
    }
    assert all(
        isinstance(d, PcscReaderDriver | OpenCvCameraDriver | SerialShelfDriver) for d in drivers
    )


def test_a_plugin_whose_vendor_library_is_missing_is_faulted_and_the_rest_run(
    tmp_path: Path, monkeypatch
) -> None:
    """pyscard not importable: both gate readers are faulted stand-ins with a message naming
    pyscard; the shelf driver connects and the pipeline is healthy."""
    import sys

    from edge.health.readiness import readiness
    from edge.live.runtime import LiveOptions, LiveRuntime

    monkeypatch.setitem(sys.modules, "smartcard", None)  # `import smartcard` raises ImportError
    monkeypatch.delitem(sys.modules, "edge.drivers.pcsc_reader", raising=False)
    runtime = LiveRuntime(
        _loop_config(tmp_path), LiveOptions(data_dir=tmp_path / "data", cameras=False)
    )
    runtime.start()
    try:
        serial = next(d for d in runtime.drivers if d.kind == "serial")
        assert _wait_until(lambda: serial.health.state == "connected", 5)
        readers = [d for d in runtime.drivers if d.kind == "reader"]
        assert _wait_until(lambda: all(d.health.state == "unavailable" for d in readers), 5)
        status = runtime.write_status()
    finally:
        runtime.shutdown()
    assert [type(d).__name__ for d in readers] == ["UnavailableDriver"] * 2
    assert all("needs pyscard" in (d.health.last_error or "") for d in readers)
    assert status["healthy"] is True
    reasons = readiness(status)
    assert any(r.startswith("reader Virtual PCD 00 00: unavailable: ") for r in reasons), reasons


def _wait_until(cond, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.02)
    return bool(cond())
