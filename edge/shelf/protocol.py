"""The walkout-lc1 shelf-controller serial protocol: frame layout, encoder and streaming parser.

One load-cell board per shelf streams binary frames over a serial line (or a pty / TCP socket in
test and simulation). Every frame is::

    offset  size  field
    0       2     sync 0xA5 0x5A
    2       1     frame type: 0x01 samples, 0x02 status
    3       1     protocol version (1)
    4       2     payload length N, u16 little-endian, at most 4096
    6       N     payload
    6+N     2     CRC-16/CCITT-FALSE over bytes 2 .. 6+N-1, u16 little-endian

The full specification, with a worked hex example, is docs/shelf-protocol.md; keep the two in step.

The encoder side (:func:`encode_samples`, :func:`encode_status`, :class:`BoardEncoder`) is used
by the store simulator and by tests; it refuses values that a real board could never send, so a
simulator bug cannot hide behind the parser. The parser side (:class:`FrameParser`) is what the
edge runtime and replay run on raw serial bytes: it never turns a corrupt, truncated or
inconsistent frame into a reading, resynchronises after garbage, and is fast enough for replay
(well over 100,000 frames per second in pure Python: int24 decoding is done by numpy, the CRC by
:func:`binascii.crc_hqx`).
"""

from __future__ import annotations

import binascii
import enum
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

__all__ = [
    "ADC_MAX",
    "ADC_MIN",
    "BOARD_FLAGS_DEFINED",
    "BOARD_FLAG_ADC_OVERRUN",
    "BOARD_FLAG_BROWN_OUT",
    "BOARD_FLAG_CONFIG_ERROR",
    "BOARD_FLAG_WATCHDOG_RESET",
    "CRC_SIZE",
    "DEFAULT_SAMPLES_PER_FRAME",
    "DEFAULT_SAMPLE_RATE_HZ",
    "DEFAULT_STATUS_INTERVAL_S",
    "FRAME_TYPE_SAMPLES",
    "FRAME_TYPE_STATUS",
    "HEADER_SIZE",
    "MAX_FRAME_SIZE",
    "MAX_PAYLOAD",
    "MAX_PLATES",
    "MAX_SAMPLES_PER_FRAME",
    "MIN_FRAME_SIZE",
    "PROTOCOL_NAME",
    "PROTOCOL_VERSION",
    "SAMPLES_HEADER_SIZE",
    "STATUS_HEADER_SIZE",
    "SYNC",
    "BoardEncoder",
    "BoardFlag",
    "Frame",
    "FrameParser",
    "ParserStats",
    "PlateStatus",
    "SampleFrame",
    "SequenceTracker",
    "StatusFrame",
    "crc16",
    "encode_frame",
    "encode_samples",
    "encode_status",
    "samples_payload_length",
    "status_payload_length",
]

# --------------------------------------------------------------------------------------------
# Constants
# --------------------------------------------------------------------------------------------

PROTOCOL_NAME = "walkout-lc1"
PROTOCOL_VERSION = 1

SYNC = b"\xa5\x5a"
FRAME_TYPE_SAMPLES = 0x01
FRAME_TYPE_STATUS = 0x02

HEADER_SIZE = 6  # sync(2) type(1) version(1) length(2)
CRC_SIZE = 2
MAX_PAYLOAD = 4096
MAX_FRAME_SIZE = HEADER_SIZE + MAX_PAYLOAD + CRC_SIZE

SAMPLES_HEADER_SIZE = 12  # board_id, n_plates, n_samples, reserved, seq u32, tick u32
STATUS_HEADER_SIZE = 14  # board_id, n_plates, reserved u16, seq u32, uptime_ms u32, flags u16

MAX_PLATES = 32
# n_samples is a u8, but the payload cap is the tighter bound for wide boards; both are enforced.
MAX_SAMPLES_PER_FRAME = 255

# Smallest legal frame: a status frame of one plate, or a samples frame of one sample x one plate.
MIN_FRAME_SIZE = HEADER_SIZE + min(STATUS_HEADER_SIZE + 1, SAMPLES_HEADER_SIZE + 3) + CRC_SIZE

DEFAULT_SAMPLE_RATE_HZ = 60
DEFAULT_SAMPLES_PER_FRAME = 6
DEFAULT_STATUS_INTERVAL_S = 1.0

# Raw ADC readings are signed 24-bit (HX711/ADS1232-class converters).
ADC_MIN = -(1 << 23)
ADC_MAX = (1 << 23) - 1

_U32 = 0xFFFFFFFF
_CRC_INIT = 0xFFFF

# The parser needs this many bytes of a candidate frame before it can check the header and the
# payload-length consistency (type, version, length, board_id, n_plates, n_samples); every legal
# frame is longer, so waiting for them never delays a real frame.
_PROBE_SIZE = HEADER_SIZE + 3

_HEADER = struct.Struct("<2sBBH")
_SAMPLES_HEAD = struct.Struct("<BBBBII")
_STATUS_HEAD = struct.Struct("<BBHIIH")
_I32LE = np.dtype("<i4")
_CRC = struct.Struct("<H")


class BoardFlag(enum.IntFlag):
    """Bits of the status frame's ``board_flags`` field. Bits 4..15 are reserved (sent as 0)."""

    BROWN_OUT = 1 << 0
    """Supply dipped below the brown-out threshold since the last status frame."""
    ADC_OVERRUN = 1 << 1
    """The ADC produced samples the board could not send: samples were lost on the board."""
    WATCHDOG_RESET = 1 << 2
    """The board rebooted through its watchdog (its seq and tick restarted)."""
    CONFIG_ERROR = 1 << 3
    """The board's stored configuration is invalid (e.g. plate count mismatch)."""


BOARD_FLAG_BROWN_OUT = int(BoardFlag.BROWN_OUT)
BOARD_FLAG_ADC_OVERRUN = int(BoardFlag.ADC_OVERRUN)
BOARD_FLAG_WATCHDOG_RESET = int(BoardFlag.WATCHDOG_RESET)
BOARD_FLAG_CONFIG_ERROR = int(BoardFlag.CONFIG_ERROR)
BOARD_FLAGS_DEFINED = 0x000F


class PlateStatus(enum.IntEnum):
    """Per-plate status codes carried by status frames."""

    OK = 0
    SATURATED = 1
    """The reading hit the ADC rail: the plate is overloaded or mis-wired."""
    OPEN_CIRCUIT = 2
    """Open circuit: the load cell is disconnected."""
    ADC_TIMEOUT = 3
    """The ADC did not deliver a conversion in time."""


# --------------------------------------------------------------------------------------------
# Frames
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, eq=False)
class SampleFrame:
    """One samples frame: ``n_samples`` consecutive readings of every plate of one board.

    ``samples`` is an int32 array of shape ``(n_samples, n_plates)`` holding raw signed 24-bit ADC
    counts; row ``i`` was taken at board tick ``tick + i`` (modulo 2**32). Arrays produced by the
    parser are read-only so that a frame really is immutable once shared.
    """

    board_id: int
    seq: int
    tick: int
    samples: npt.NDArray[np.int32]

    @property
    def n_samples(self) -> int:
        """Number of sample rows in this frame."""
        return int(self.samples.shape[0])

    @property
    def n_plates(self) -> int:
        """Number of plates (columns) on the board."""
        return int(self.samples.shape[1])

    def __eq__(self, other: object) -> bool:
        # The generated dataclass __eq__ would compare arrays elementwise and fail on truthiness.
        if not isinstance(other, SampleFrame):
            return NotImplemented
        return (
            self.board_id == other.board_id
            and self.seq == other.seq
            and self.tick == other.tick
            and self.samples.shape == other.samples.shape
            and bool(np.array_equal(self.samples, other.samples))
        )

    __hash__ = None  # type: ignore[assignment]  # holds an ndarray: not hashable


@dataclass(frozen=True, slots=True)
class StatusFrame:
    """One status frame: board health and one status code per plate.

    ``board_flags`` is a :class:`BoardFlag` bit set; ``plate_status`` holds one code per plate
    (:class:`PlateStatus`). Codes or flag bits this version does not define are passed through
    unchanged; consumers must treat an unknown plate code as a fault.
    """

    board_id: int
    seq: int
    uptime_ms: int
    board_flags: int
    plate_status: tuple[int, ...]

    @property
    def n_plates(self) -> int:
        """Number of plates on the board."""
        return len(self.plate_status)


Frame = SampleFrame | StatusFrame


# --------------------------------------------------------------------------------------------
# Encoding
# --------------------------------------------------------------------------------------------


def crc16(data: bytes | bytearray | memoryview) -> int:
    """CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF, no reflection, no final xor)."""
    return binascii.crc_hqx(data, _CRC_INIT)


def samples_payload_length(n_samples: int, n_plates: int) -> int:
    """Payload length of a samples frame with the given shape."""
    return SAMPLES_HEADER_SIZE + 3 * n_samples * n_plates


def status_payload_length(n_plates: int) -> int:
    """Payload length of a status frame for a board with ``n_plates`` plates."""
    return STATUS_HEADER_SIZE + n_plates


def _check_uint(name: str, value: int, bits: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}")
    if not 0 <= value < (1 << bits):
        raise ValueError(f"{name} must be in 0..{(1 << bits) - 1}, got {value}")


def _check_n_plates(n_plates: int) -> None:
    if not 1 <= n_plates <= MAX_PLATES:
        raise ValueError(f"n_plates must be in 1..{MAX_PLATES}, got {n_plates}")


def encode_frame(frame_type: int, payload: bytes, *, version: int = PROTOCOL_VERSION) -> bytes:
    """Wrap ``payload`` in sync, header and CRC.

    This is the low-level framing only: it does not check that the payload is a well-formed
    samples or status payload, so tests can build frames the parser must reject. ``frame_type``
    and ``version`` may be any u8 for the same reason; the length must still fit the protocol.
    """
    _check_uint("frame_type", frame_type, 8)
    _check_uint("version", version, 8)
    if len(payload) > MAX_PAYLOAD:
        raise ValueError(f"payload is {len(payload)} bytes, the maximum is {MAX_PAYLOAD}")
    body = bytes((frame_type, version)) + len(payload).to_bytes(2, "little") + payload
    return SYNC + body + _CRC.pack(crc16(body))


def _as_sample_matrix(samples: npt.ArrayLike) -> npt.NDArray[np.int32]:
    """Validate a (n_samples, n_plates) integer array and return it as little-endian int32."""
    arr = np.asarray(samples)
    if arr.ndim != 2:
        raise ValueError(f"samples must be 2-D (n_samples, n_plates), got shape {arr.shape}")
    n_samples, n_plates = arr.shape
    _check_n_plates(n_plates)
    if not 1 <= n_samples <= MAX_SAMPLES_PER_FRAME:
        raise ValueError(f"n_samples must be in 1..{MAX_SAMPLES_PER_FRAME}, got {n_samples}")
    length = samples_payload_length(n_samples, n_plates)
    if length > MAX_PAYLOAD:
        raise ValueError(
            f"{n_samples} samples x {n_plates} plates need a {length}-byte payload, "
            f"the maximum is {MAX_PAYLOAD}; send fewer samples per frame"
        )
    if arr.dtype == object:
        # Python ints of any size (e.g. from lists with huge values): check one by one, this
        # path is only for unusual input and for naming the bad value exactly.
        for (s, p), v in np.ndenumerate(arr):
            if isinstance(v, bool) or not isinstance(v, int | np.integer):
                raise ValueError(f"sample {s} plate {p}: {v!r} is not an integer")
            if not ADC_MIN <= v <= ADC_MAX:
                raise ValueError(
                    f"sample {s} plate {p}: value {v} outside the signed 24-bit ADC range "
                    f"{ADC_MIN}..{ADC_MAX}"
                )
        return arr.astype("<i4")
    if arr.dtype.kind not in "iu":
        raise ValueError(f"samples must be integers, got dtype {arr.dtype}")
    # Compare in the original dtype (NumPy 2 compares against out-of-range Python ints
    # correctly), so uint64 or int64 values cannot wrap into range before the check.
    bad = (arr < ADC_MIN) | (arr > ADC_MAX)
    if bad.any():
        s, p = (int(i) for i in np.argwhere(bad)[0])
        raise ValueError(
            f"sample {s} plate {p}: value {int(arr[s, p])} outside the signed 24-bit ADC range "
            f"{ADC_MIN}..{ADC_MAX}"
        )
    return arr.astype("<i4", copy=False)


def encode_samples(board_id: int, seq: int, tick: int, samples: npt.ArrayLike) -> bytes:
    """Encode one samples frame.

    ``samples`` is an integer array of shape ``(n_samples, n_plates)`` with values in the signed
    24-bit range. Raises ValueError (naming the sample, plate and value) for out-of-range values,
    and for shapes the protocol cannot carry.
    """
    _check_uint("board_id", board_id, 8)
    _check_uint("seq", seq, 32)
    _check_uint("tick", tick, 32)
    arr = _as_sample_matrix(samples)
    n_samples, n_plates = arr.shape
    # int32 little-endian bytes, keep the low three of each: that is int24 LE two's complement.
    raw = np.ascontiguousarray(arr).view(np.uint8).reshape(-1, 4)[:, :3].tobytes()
    head = _SAMPLES_HEAD.pack(board_id, n_plates, n_samples, 0, seq, tick)
    return encode_frame(FRAME_TYPE_SAMPLES, head + raw)


def encode_status(
    board_id: int,
    seq: int,
    uptime_ms: int,
    board_flags: int,
    plate_status: Sequence[int],
) -> bytes:
    """Encode one status frame.

    ``plate_status`` holds one :class:`PlateStatus` code per plate (its length is the board's
    plate count). Only defined flag bits and codes are accepted: the encoder speaks this version.
    """
    _check_uint("board_id", board_id, 8)
    _check_uint("seq", seq, 32)
    _check_uint("uptime_ms", uptime_ms, 32)
    _check_uint("board_flags", board_flags, 16)
    if board_flags & ~BOARD_FLAGS_DEFINED:
        raise ValueError(
            f"board_flags 0x{board_flags:04x} sets reserved bits "
            f"(defined: 0x{BOARD_FLAGS_DEFINED:04x})"
        )
    codes = tuple(int(c) for c in plate_status)
    _check_n_plates(len(codes))
    valid = {int(c) for c in PlateStatus}
    for plate, code in enumerate(codes):
        if code not in valid:
            raise ValueError(f"plate {plate}: status code {code} is not defined (0..3)")
    head = _STATUS_HEAD.pack(board_id, len(codes), 0, seq, uptime_ms, board_flags)
    return encode_frame(FRAME_TYPE_STATUS, head + bytes(codes))


class BoardEncoder:
    """A board's sending side: keeps the shared frame sequence number and the sample tick.

    ``seq`` is one u32 counter for both frame types, +1 per frame; ``tick`` counts samples and
    advances by ``n_samples`` per samples frame. Both wrap modulo 2**32 like the firmware's.
    """

    def __init__(self, board_id: int, n_plates: int, *, seq: int = 0, tick: int = 0) -> None:
        _check_uint("board_id", board_id, 8)
        _check_n_plates(n_plates)
        _check_uint("seq", seq, 32)
        _check_uint("tick", tick, 32)
        self.board_id = board_id
        self.n_plates = n_plates
        self._seq = seq
        self._tick = tick

    @property
    def seq(self) -> int:
        """Sequence number the next frame will carry."""
        return self._seq

    @property
    def tick(self) -> int:
        """Tick of the first sample of the next samples frame."""
        return self._tick

    def samples(self, samples: npt.ArrayLike) -> bytes:
        """Encode ``samples`` (shape ``(n_samples, n_plates)``) and advance seq and tick."""
        arr = np.asarray(samples)
        if arr.ndim != 2 or arr.shape[1] != self.n_plates:
            raise ValueError(
                f"board {self.board_id} has {self.n_plates} plates, samples have shape {arr.shape}"
            )
        frame = encode_samples(self.board_id, self._seq, self._tick, arr)
        self._seq = (self._seq + 1) & _U32
        self._tick = (self._tick + arr.shape[0]) & _U32
        return frame

    def status(
        self,
        uptime_ms: int,
        board_flags: int = 0,
        plate_status: Sequence[int] | None = None,
    ) -> bytes:
        """Encode a status frame (all plates OK unless given) and advance seq.

        ``uptime_ms`` is reduced modulo 2**32, as the board's own counter wraps after ~49.7 days.
        """
        codes = (PlateStatus.OK,) * self.n_plates if plate_status is None else plate_status
        if len(codes) != self.n_plates:
            raise ValueError(
                f"board {self.board_id} has {self.n_plates} plates, got {len(codes)} status codes"
            )
        frame = encode_status(self.board_id, self._seq, uptime_ms & _U32, board_flags, codes)
        self._seq = (self._seq + 1) & _U32
        return frame


# --------------------------------------------------------------------------------------------
# Parsing
# --------------------------------------------------------------------------------------------


@dataclass(slots=True)
class ParserStats:
    """Counters kept by :class:`FrameParser`. Every byte fed ends up in a frame, discarded, or
    still buffered: ``bytes_in == bytes_in_frames + bytes_discarded + parser.buffered``."""

    bytes_in: int = 0
    """Bytes fed to the parser."""
    bytes_in_frames: int = 0
    """Bytes that were part of accepted frames."""
    frames_ok: int = 0
    """Frames accepted (samples + status)."""
    sample_frames: int = 0
    status_frames: int = 0
    crc_errors: int = 0
    """Candidate frames whose header was plausible but whose CRC did not match."""
    bad_header: int = 0
    """Candidate frames rejected before the CRC: unknown type, wrong version, length out of
    range or inconsistent with n_plates/n_samples (even with a good CRC)."""
    truncated: int = 0
    """Incomplete frames given up by :meth:`FrameParser.flush` at end of input."""
    bytes_discarded: int = 0
    """Bytes skipped while searching for sync (garbage, rejected candidates, truncated tails)."""
    seq_gaps: int = 0
    """Times a board's seq jumped forward: at least one frame lost in between."""
    frames_lost: int = 0
    """Total frames missing according to the seq jumps."""
    seq_resets: int = 0
    """Times a board's seq went backwards (board reboot or replayed/duplicated frame)."""
    seq_gaps_by_board: dict[int, int] = field(default_factory=dict)
    """``seq_gaps`` per board id (only boards with at least one gap appear)."""


class SequenceTracker:
    """Per-board sequence continuity: counts lost frames from gaps in the shared u32 seq.

    A forward jump of ``d`` (modulo 2**32, ``0 < d < 2**31``) means ``d`` frames were lost. A jump
    of 2**31 or more is read as seq going *backwards*: the board rebooted (it restarts at 0) or a
    frame was duplicated; it is counted as a reset and tracking continues from the new value.
    """

    __slots__ = ("_last", "_stats")

    def __init__(self, stats: ParserStats | None = None) -> None:
        self._last: dict[int, int] = {}
        self._stats = stats if stats is not None else ParserStats()

    @property
    def stats(self) -> ParserStats:
        """The counters this tracker updates (shared with its parser, if any)."""
        return self._stats

    def last_seq(self, board_id: int) -> int | None:
        """Last seq seen from ``board_id``, or None if none yet."""
        return self._last.get(board_id)

    def observe(self, board_id: int, seq: int) -> int:
        """Record a frame; return how many frames were lost just before it (0 if none)."""
        last = self._last.get(board_id)
        self._last[board_id] = seq
        if last is None:
            return 0
        d = (seq - last - 1) & _U32
        if d == 0:
            return 0
        st = self._stats
        if d < 0x80000000:
            st.seq_gaps += 1
            st.frames_lost += d
            st.seq_gaps_by_board[board_id] = st.seq_gaps_by_board.get(board_id, 0) + 1
            return d
        st.seq_resets += 1
        return 0

    def reset(self) -> None:
        """Forget all boards (e.g. after the port was reopened)."""
        self._last.clear()


class FrameParser:
    """Streaming walkout-lc1 parser: bytes in, validated frames out.

    Feed it whatever the serial port returns, in any chunking; it returns the frames completed by
    each chunk, in stream order. Guarantees:

    * Only frames with a valid header, a matching CRC and a payload consistent with its own
      n_plates / n_samples become :class:`SampleFrame` / :class:`StatusFrame`.
    * Garbage is skipped by searching for the next sync; a rejected candidate (bad header, bad
      CRC) only consumes its first byte, and the search restarts one byte after the false sync, so
      a sync pattern inside garbage or inside a corrupt frame cannot swallow the real frame behind.
    * An incomplete trailing frame stays buffered until the rest arrives. The buffer is bounded:
      after every :meth:`feed` at most ``MAX_FRAME_SIZE - 1`` bytes remain.
    * Counters are kept in :attr:`stats` (a :class:`ParserStats`), including per-board seq gaps.
    """

    def __init__(self) -> None:
        self._buf = bytearray()
        self.stats = ParserStats()
        self.sequence = SequenceTracker(self.stats)

    @property
    def buffered(self) -> int:
        """Bytes held back waiting for the rest of a frame (or for a sync's second byte)."""
        return len(self._buf)

    def reset(self) -> None:
        """Drop buffered bytes and per-board seq state (counters are kept)."""
        self.stats.bytes_discarded += len(self._buf)
        self._buf.clear()
        self.sequence.reset()

    def feed(self, data: bytes | bytearray | memoryview) -> list[Frame]:
        """Add ``data`` to the stream; return the frames it completed."""
        self.stats.bytes_in += len(data)
        self._buf += data
        return self._scan(final=False)

    def flush(self) -> list[Frame]:
        """Declare end of input: give up on any incomplete frame and return what it was hiding.

        A plausible-looking header inside garbage claims a length, and :meth:`feed` waits for that
        many bytes before the CRC can reject it; real frames behind it wait too. At the end of a
        recording there will be no more bytes, so ``flush`` drops each incomplete candidate's sync
        byte (counting it as ``truncated``), rescans, and discards whatever cannot complete. After
        ``flush`` the buffer is empty and the parser can be fed a new stream.
        """
        frames = self._scan(final=True)
        self.stats.bytes_discarded += len(self._buf)
        self._buf.clear()
        return frames

    def _scan(self, *, final: bool) -> list[Frame]:
        # Hot loop: local names for speed, one pass over the buffer with a read offset `pos`, one
        # deletion at the end (deleting per frame would make a large chunk quadratic).
        buf = self._buf
        st = self.stats
        observe = self.sequence.observe
        crc_hqx = binascii.crc_hqx
        frames: list[Frame] = []
        n = len(buf)
        pos = 0
        sample_frames = 0  # counters of good frames, added to `st` once at the end
        in_frames = 0
        while True:
            i = buf.find(SYNC, pos)
            if i < 0:
                # Keep a trailing 0xA5: it may be the first half of a sync split across chunks.
                keep = 1 if n > pos and buf[-1] == 0xA5 and not final else 0
                st.bytes_discarded += n - keep - pos
                pos = n - keep
                break
            if i > pos:
                st.bytes_discarded += i - pos
                pos = i
            avail = n - pos
            if avail < _PROBE_SIZE:
                if final and avail > 0:
                    st.truncated += 1
                    st.bytes_discarded += 1
                    pos += 1
                    continue
                break
            ftype = buf[pos + 2]
            length = buf[pos + 4] | (buf[pos + 5] << 8)
            # Check everything knowable from the first bytes before waiting for the whole frame,
            # so a false sync in garbage rarely holds up the real frames behind it.
            if buf[pos + 3] != PROTOCOL_VERSION or length > MAX_PAYLOAD:
                ok = False
            elif ftype == FRAME_TYPE_SAMPLES:
                n_pl = buf[pos + 7]
                n_sa = buf[pos + 8]
                ok = 1 <= n_pl <= MAX_PLATES and n_sa >= 1 and length == 12 + 3 * n_sa * n_pl
            elif ftype == FRAME_TYPE_STATUS:
                n_pl = buf[pos + 7]
                ok = 1 <= n_pl <= MAX_PLATES and length == 14 + n_pl
            else:
                ok = False
            if not ok:
                st.bad_header += 1
                st.bytes_discarded += 1
                pos += 1
                continue
            end = pos + HEADER_SIZE + length + CRC_SIZE
            if end > n:
                if final:
                    st.truncated += 1
                    st.bytes_discarded += 1
                    pos += 1
                    continue
                break
            frame = bytes(buf[pos:end])
            if crc_hqx(frame[2:-2], _CRC_INIT) != (frame[-2] | (frame[-1] << 8)):
                st.crc_errors += 1
                st.bytes_discarded += 1
                pos += 1
                continue
            if ftype == FRAME_TYPE_SAMPLES:
                board_id, n_pl, n_sa, _reserved, seq, tick = _SAMPLES_HEAD.unpack_from(frame, 6)
                # Read each int24 as an int32 at a 3-byte stride (the 4th byte is the next value's
                # first byte, or the CRC's for the last one: always inside `frame`), then shift
                # left and arithmetic-shift right to drop that byte and sign-extend. No copies,
                # no per-sample Python; the strided view is already (n_samples, n_plates). One
                # copy to an aligned array, then the shifts in place (shifting the unaligned view
                # directly costs more).
                values = np.ndarray(
                    (n_sa, n_pl), dtype=_I32LE, buffer=frame, offset=18, strides=(3 * n_pl, 3)
                ).copy()
                values <<= 8
                values >>= 8
                values.flags.writeable = False
                frames.append(SampleFrame(board_id, seq, tick, values))
                sample_frames += 1
            else:
                board_id, n_pl, _reserved, seq, uptime, flags = _STATUS_HEAD.unpack_from(frame, 6)
                codes = tuple(frame[20 : 20 + n_pl])
                frames.append(StatusFrame(board_id, seq, uptime, flags, codes))
            observe(board_id, seq)
            in_frames += end - pos
            pos = end
        if frames:
            st.frames_ok += len(frames)
            st.sample_frames += sample_frames
            st.status_frames += len(frames) - sample_frames
            st.bytes_in_frames += in_frames
        if pos:
            del buf[:pos]
        return frames
