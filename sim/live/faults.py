"""Sensor faults the live simulator can inject into the streams it plays.

- ``freeze-plate`` (target ``"G.S.P"``): the plate's channel keeps sending the last raw value it
  had, as a real stuck load cell or a hung ADC channel does: the board keeps framing, sequence
  numbers and CRCs stay right, only that one column of the samples stops changing. The other
  plates of the board stay live. :class:`PlateFreezer` rewrites the walkout-lc1 byte stream of
  one serial port to do that.
- ``stop-camera`` (target a camera id): the camera's video stream stops delivering frames while
  its connection stays open, as a hung IP camera does (sim/live/mjpeg.py).

Both are cleared again with ``clear_fault``; a cleared plate resumes its real readings.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

import numpy as np

from edge.config.layout import PlateRef, StoreLayout
from edge.shelf.protocol import (
    CRC_SIZE,
    FRAME_TYPE_SAMPLES,
    HEADER_SIZE,
    MAX_PAYLOAD,
    PROTOCOL_VERSION,
    SYNC,
    FrameParser,
    SampleFrame,
    crc16,
    encode_samples,
)

__all__ = [
    "FAULT_KINDS",
    "FaultSpec",
    "PlateChannel",
    "PlateFreezer",
    "parse_fault_spec",
    "plate_channel",
]

log = logging.getLogger("walkout.sim.live.faults")

FAULT_KINDS = ("freeze-plate", "stop-camera")

_SPEC = re.compile(r"^(?P<kind>[a-z-]+):(?P<target>[^@]+)@(?P<start>[0-9.]+)(-(?P<end>[0-9.]+))?$")


@dataclass(frozen=True)
class FaultSpec:
    """One scheduled fault: ``kind`` on ``target`` from session time ``start_s`` (until
    ``end_s`` if given, else to the end)."""

    kind: str
    target: str
    start_s: float
    end_s: float | None = None


def parse_fault_spec(text: str) -> FaultSpec:
    """``KIND:TARGET@SECONDS`` or ``KIND:TARGET@START-END``; ValueError naming the problem."""
    m = _SPEC.match(text.strip())
    if m is None:
        raise ValueError(
            f"--fault {text!r}: expected KIND:TARGET@SECONDS or KIND:TARGET@START-END, "
            'e.g. "freeze-plate:1.2.3@10" or "stop-camera:cam-1@5-20"'
        )
    kind = m["kind"]
    if kind not in FAULT_KINDS:
        raise ValueError(
            f"--fault {text!r}: unknown kind {kind!r} (known: {', '.join(FAULT_KINDS)})"
        )
    try:
        start = float(m["start"])
        end = float(m["end"]) if m["end"] else None
    except ValueError:
        raise ValueError(f"--fault {text!r}: the time is not a number") from None
    if end is not None and end <= start:
        raise ValueError(f"--fault {text!r}: the end {end} is not after the start {start}")
    return FaultSpec(kind, m["target"].strip(), start, end)


@dataclass(frozen=True)
class PlateChannel:
    """Where a plate's readings travel: serial port, board id and column in the samples."""

    port: str
    board_id: int
    column: int


def plate_channel(layout: StoreLayout, target: str) -> PlateChannel:
    """The channel of plate ``target`` ("gondola.shelf.plate"); ValueError if there is none."""
    try:
        ref = PlateRef.parse(target)
    except ValueError:
        raise ValueError(
            f"freeze-plate target {target!r}: expected a plate as gondola.shelf.plate, e.g. 1.2.3"
        ) from None
    shelf = layout.shelves.get((ref.gondola, ref.shelf))
    if shelf is None or ref not in layout.plates:
        raise ValueError(f"freeze-plate target {target!r}: no such plate in the store config")
    refs = layout.shelf_plate_refs(ref.gondola, ref.shelf)
    ctl = shelf.controller
    return PlateChannel(ctl.port, ctl.board_id, refs.index(ref))


class PlateFreezer:
    """Rewrites one port's walkout-lc1 bytes so that chosen channels repeat their last value.

    Only valid samples frames of a board with a frozen channel are re-encoded; everything else
    (status frames, other boards, garbage on the line) passes through byte for byte, so line
    faults in the recording still reach the edge. A frame split across two chunks is held back
    until it is complete (at most one frame's worth of bytes)."""

    def __init__(self) -> None:
        self.frozen: dict[tuple[int, int], int | None] = {}  # (board, column) -> value
        self._buf = bytearray()
        self.frames_rewritten = 0

    @property
    def active(self) -> bool:
        """Something is frozen, or bytes are held back: the stream must go through :meth:`feed`."""
        return bool(self.frozen) or bool(self._buf)

    def freeze(self, board_id: int, column: int) -> None:
        # The value is taken from the next frame: the channel's reading at the moment it froze.
        self.frozen.setdefault((board_id, column), None)

    def thaw(self, board_id: int, column: int) -> None:
        self.frozen.pop((board_id, column), None)

    def feed(self, data: bytes) -> bytes:
        buf = self._buf
        buf += data
        out = bytearray()
        pos, n = 0, len(buf)
        while pos < n:
            i = buf.find(SYNC, pos)
            if i < 0:
                # A trailing 0xA5 may be the first half of a sync split across chunks.
                keep = 1 if buf[-1] == 0xA5 else 0
                out += buf[pos : n - keep]
                pos = n - keep
                break
            out += buf[pos:i]
            pos = i
            if n - pos < HEADER_SIZE:
                break
            length = buf[pos + 4] | (buf[pos + 5] << 8)
            if buf[pos + 3] != PROTOCOL_VERSION or length > MAX_PAYLOAD:
                out += buf[pos : pos + 1]
                pos += 1
                continue
            end = pos + HEADER_SIZE + length + CRC_SIZE
            if end > n:
                break
            frame = bytes(buf[pos:end])
            if crc16(frame[2:-2]) != int.from_bytes(frame[-2:], "little") or not _is_samples(frame):
                # Not a valid samples frame here: pass the sync byte on and scan on, exactly as
                # the edge's parser will.
                out += frame[:1]
                pos += 1
                continue
            out += self._rewrite(frame)
            pos = end
        del buf[:pos]
        return bytes(out)

    def _rewrite(self, frame: bytes) -> bytes:
        board_id = frame[6]
        columns = [c for (b, c) in self.frozen if b == board_id]
        if not columns:
            return frame
        parsed = FrameParser().feed(frame)
        sample = parsed[0] if parsed else None
        if not isinstance(sample, SampleFrame):
            return frame
        values = np.array(sample.samples, dtype=np.int32)
        for column in columns:
            if column >= values.shape[1]:
                continue
            held = self.frozen[(board_id, column)]
            if held is None:
                held = self.frozen[(board_id, column)] = int(values[0, column])
            values[:, column] = held
        self.frames_rewritten += 1
        return encode_samples(board_id, sample.seq, sample.tick, values)


def _is_samples(frame: bytes) -> bool:
    return frame[2] == FRAME_TYPE_SAMPLES and len(frame) > HEADER_SIZE + 3
