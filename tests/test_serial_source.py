"""Tests for SerialByteSource against real ports: a pty pair, pyserial's loop:// and a TCP socket.

Nothing is mocked: the pty test writes encoded frames into the master end of an ``os.openpty()``
pair, exactly as the simulator drives a live port, and reads them through the slave's tty.
"""

from __future__ import annotations

import errno
import os
import socket
import sys
import threading
import time

import numpy as np
import pytest

from edge.shelf.protocol import BoardEncoder, Frame, FrameParser, SampleFrame, StatusFrame
from edge.shelf.serial_source import SerialByteSource, SerialPortError

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs POSIX ptys")


def _frames(n: int, n_plates: int = 8) -> list[bytes]:
    enc = BoardEncoder(3, n_plates)
    rng = np.random.default_rng(0)
    out = []
    for i in range(n):
        if i % 10 == 9:
            out.append(enc.status(uptime_ms=i * 100))
        else:
            out.append(enc.samples(rng.integers(-(2**23), 2**23, size=(6, n_plates))))
    return out


def _read_frames(src: SerialByteSource, want: int, deadline_s: float = 10.0) -> list[Frame]:
    parser = FrameParser()
    got: list[Frame] = []
    deadline = time.monotonic() + deadline_s
    while len(got) < want and time.monotonic() < deadline:
        got += parser.feed(src.read_chunk())
    assert parser.stats.crc_errors == 0 and parser.stats.bytes_discarded == 0
    return got


def _expected(raw: list[bytes]) -> list[Frame]:
    return FrameParser().feed(b"".join(raw))


def test_pty_pair_delivers_frames_in_order() -> None:
    master, slave = os.openpty()
    try:
        raw = _frames(200)
        with SerialByteSource(os.ttyname(slave), baud=115200) as src:
            # Write only after open(): pyserial puts the tty in raw mode and flushes its input on
            # open, and a cooked tty would translate CR/LF bytes in the binary stream.
            def writer() -> None:
                for f in raw:
                    os.write(master, f)

            t = threading.Thread(target=writer, daemon=True)
            t.start()
            got = _read_frames(src, len(raw))
            t.join(timeout=5)
        assert got == _expected(raw)
        assert [f.seq for f in got] == list(range(200))
        assert isinstance(got[0], SampleFrame) and isinstance(got[9], StatusFrame)
    finally:
        os.close(master)
        os.close(slave)


def test_pty_read_timeout_returns_empty_and_chunk_limit() -> None:
    master, slave = os.openpty()
    try:
        with SerialByteSource(os.ttyname(slave), read_timeout_s=0.02) as src:
            t0 = time.monotonic()
            assert src.read_chunk() == b""
            assert time.monotonic() - t0 < 1.0
            os.write(master, bytes(range(100)))
            time.sleep(0.05)
            first = src.read_chunk(max_bytes=10)
            assert first == bytes(range(10))
            rest = b""
            while len(rest) < 90:
                chunk = src.read_chunk()
                assert chunk, "bytes went missing"
                rest += chunk
            assert rest == bytes(range(10, 100))
    finally:
        os.close(master)
        os.close(slave)


def test_loop_url_round_trip() -> None:
    raw = _frames(20, n_plates=2)
    with SerialByteSource("loop://", read_timeout_s=0.01) as src:
        assert src.is_open
        for f in raw:
            src.write(f)
        got = _read_frames(src, len(raw))
        assert src.read_chunk() == b""
    assert not src.is_open
    assert got == _expected(raw)


def test_socket_url() -> None:
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    raw = _frames(30)
    try:
        with SerialByteSource(f"socket://127.0.0.1:{port}", read_timeout_s=0.02) as src:
            conn, _ = server.accept()
            with conn:
                conn.sendall(b"".join(raw))
                got = _read_frames(src, len(raw))
        assert got == _expected(raw)
    finally:
        server.close()


def test_nonexistent_port_names_port_and_reason() -> None:
    name = "/dev/ttyWALKOUT_DOES_NOT_EXIST"
    src = SerialByteSource(name)
    with pytest.raises(SerialPortError) as info:
        src.open()
    msg = str(info.value)
    assert name in msg
    assert "No such file or directory" in msg
    assert info.value.port == name
    assert info.value.errno == errno.ENOENT
    assert isinstance(info.value, OSError)
    assert not src.is_open


def test_context_manager_propagates_open_error() -> None:
    with pytest.raises(SerialPortError, match="foo://bar"), SerialByteSource("foo://bar"):
        pass


def test_read_before_open_is_an_error() -> None:
    src = SerialByteSource("loop://")
    with pytest.raises(SerialPortError, match="not open"):
        src.read_chunk()
    src.open()
    src.close()
    src.close()  # idempotent
    with pytest.raises(SerialPortError, match="not open"):
        src.read_chunk()
