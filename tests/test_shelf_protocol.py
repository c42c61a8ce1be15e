"""Tests for the walkout-lc1 shelf protocol: encoder, streaming parser, seq tracking.

Property tests use hypothesis with ``derandomize=True`` so every run explores the same examples
(replayable failures, stable CI time); table tests pin the exact wire bytes.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edge.shelf.protocol import (
    ADC_MAX,
    ADC_MIN,
    BOARD_FLAG_ADC_OVERRUN,
    FRAME_TYPE_SAMPLES,
    FRAME_TYPE_STATUS,
    MAX_FRAME_SIZE,
    MAX_PAYLOAD,
    MAX_PLATES,
    SYNC,
    BoardEncoder,
    BoardFlag,
    Frame,
    FrameParser,
    ParserStats,
    PlateStatus,
    SampleFrame,
    SequenceTracker,
    StatusFrame,
    crc16,
    encode_frame,
    encode_samples,
    encode_status,
    samples_payload_length,
)

PROPS = settings(
    derandomize=True,
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# The worked examples in docs/shelf-protocol.md: keep in step with the docs.
DOC_SAMPLES = (
    "a5 5a 01 01 1e 00 07 03 02 00 29 00 00 00 f6 00 00 00 e8 03 00 18 fc ff ff ff 7f "
    "f2 03 00 22 fc ff 00 00 80 2c 10"
)
DOC_STATUS = "a5 5a 02 01 11 00 07 03 00 00 2a 00 00 00 04 10 00 00 02 00 00 02 00 48 e2"


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------


def parse_all(data: bytes, chunks: list[int] | None = None) -> tuple[list[Frame], FrameParser]:
    """Feed ``data`` (split at the given chunk sizes, else whole), then flush."""
    p = FrameParser()
    out: list[Frame] = []
    if chunks is None:
        out += p.feed(data)
    else:
        pos = 0
        for size in chunks:
            out += p.feed(data[pos : pos + size])
            pos += size
        out += p.feed(data[pos:])
    out += p.flush()
    check_accounting(p)
    return out, p


def check_accounting(p: FrameParser) -> None:
    s = p.stats
    assert s.bytes_in == s.bytes_in_frames + s.bytes_discarded + p.buffered
    assert s.frames_ok == s.sample_frames + s.status_frames
    assert p.buffered <= MAX_FRAME_SIZE - 1


def crc16_reference(data: bytes) -> int:
    """Bitwise CRC-16/CCITT-FALSE, independent of binascii."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else (crc << 1)
            crc &= 0xFFFF
    return crc


def decode(frame_bytes: bytes) -> Frame:
    frames, p = parse_all(frame_bytes)
    assert len(frames) == 1, p.stats
    return frames[0]


@st.composite
def sample_frames(draw: st.DrawFn, board_id: int | None = None) -> SampleFrame:
    n_plates = draw(st.integers(1, MAX_PLATES))
    max_samples = min(255, (MAX_PAYLOAD - 12) // (3 * n_plates))
    n_samples = draw(st.integers(1, min(max_samples, 12)))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    # Mix uniform values with the extremes, where sign extension bugs live.
    values = rng.integers(ADC_MIN, ADC_MAX, size=(n_samples, n_plates), endpoint=True)
    edges = np.array([ADC_MIN, ADC_MIN + 1, -1, 0, 1, ADC_MAX - 1, ADC_MAX])
    mask = rng.random(values.shape) < 0.2
    values[mask] = rng.choice(edges, size=int(mask.sum()))
    return SampleFrame(
        board_id=draw(st.integers(0, 255)) if board_id is None else board_id,
        seq=draw(st.integers(0, 2**32 - 1)),
        tick=draw(st.integers(0, 2**32 - 1)),
        samples=values.astype(np.int32),
    )


@st.composite
def status_frames(draw: st.DrawFn) -> StatusFrame:
    n_plates = draw(st.integers(1, MAX_PLATES))
    return StatusFrame(
        board_id=draw(st.integers(0, 255)),
        seq=draw(st.integers(0, 2**32 - 1)),
        uptime_ms=draw(st.integers(0, 2**32 - 1)),
        board_flags=draw(st.integers(0, 0xF)),
        plate_status=tuple(draw(st.lists(st.integers(0, 3), min_size=n_plates, max_size=n_plates))),
    )


any_frame = st.one_of(sample_frames(), status_frames())


def encode(f: Frame) -> bytes:
    if isinstance(f, SampleFrame):
        return encode_samples(f.board_id, f.seq, f.tick, f.samples)
    return encode_status(f.board_id, f.seq, f.uptime_ms, f.board_flags, f.plate_status)


def stream_of(n: int, n_plates: int = 4, n_samples: int = 6, board_id: int = 1) -> list[bytes]:
    """``n`` consecutive frames from one board (every 5th a status frame)."""
    enc = BoardEncoder(board_id, n_plates)
    rng = np.random.default_rng(n)
    out = []
    for i in range(n):
        if i % 5 == 4:
            out.append(enc.status(uptime_ms=i * 100))
        else:
            out.append(enc.samples(rng.integers(-5000, 5000, size=(n_samples, n_plates))))
    return out


# --------------------------------------------------------------------------------------------
# encoding: exact bytes and validation
# --------------------------------------------------------------------------------------------


def test_crc_is_ccitt_false() -> None:
    assert crc16(b"123456789") == 0x29B1  # the catalogue check value for CRC-16/CCITT-FALSE
    blob = bytes(range(256)) * 3
    assert crc16(blob) == crc16_reference(blob)


def test_documented_samples_frame_bytes() -> None:
    data = encode_samples(7, 41, 246, [[1000, -1000, ADC_MAX], [1010, -990, ADC_MIN]])
    assert data.hex(" ") == DOC_SAMPLES
    assert int.from_bytes(data[-2:], "little") == crc16_reference(data[2:-2])
    f = decode(data)
    assert isinstance(f, SampleFrame)
    assert (f.board_id, f.seq, f.tick, f.n_samples, f.n_plates) == (7, 41, 246, 2, 3)
    assert f.samples.tolist() == [[1000, -1000, ADC_MAX], [1010, -990, ADC_MIN]]


def test_documented_status_frame_bytes() -> None:
    data = encode_status(7, 42, 4100, BOARD_FLAG_ADC_OVERRUN, [0, 2, 0])
    assert data.hex(" ") == DOC_STATUS
    f = decode(data)
    assert f == StatusFrame(7, 42, 4100, BoardFlag.ADC_OVERRUN, (0, PlateStatus.OPEN_CIRCUIT, 0))


@pytest.mark.parametrize(
    "samples",
    [
        [[0]],
        [[ADC_MIN]],
        [[ADC_MAX]],
        [[-1, 1, -(2**22), 2**22, 0x7FFF, -0x8000]],
        np.arange(-32 * 10, 32 * 10, 2, dtype=np.int16).reshape(10, 32),
        np.full((42, 32), ADC_MIN, dtype=np.int64),  # largest 32-plate frame: 4044-byte payload
        np.array([[ADC_MAX] * 5] * 3, dtype=np.uint32),
    ],
)
def test_samples_round_trip_table(samples: object) -> None:
    arr = np.asarray(samples)
    f = decode(encode_samples(200, 2**32 - 1, 12345, arr))
    assert isinstance(f, SampleFrame)
    assert f.samples.dtype == np.int32
    assert f.samples.shape == arr.shape
    assert np.array_equal(f.samples, arr)
    assert not f.samples.flags.writeable


def test_payload_length_formula() -> None:
    assert len(encode_samples(0, 0, 0, np.zeros((6, 12), int))) == 8 + samples_payload_length(6, 12)
    assert samples_payload_length(6, 12) == 12 + 3 * 72


@pytest.mark.parametrize(
    ("samples", "match"),
    [
        ([[0, 2**23]], r"sample 0 plate 1: value 8388608"),
        ([[0], [ADC_MIN - 1]], r"sample 1 plate 0: value -8388609"),
        (np.array([[0, 0, 2**63]], dtype=np.uint64), r"plate 2: value 9223372036854775808"),
        ([[2**80]], r"plate 0: value 1208925819614629174706176"),
        ([[1.5]], "integers"),
        ([1, 2, 3], "2-D"),
        (np.zeros((1, 0), int), "n_plates"),
        (np.zeros((1, 33), int), "n_plates"),
        (np.zeros((0, 4), int), "n_samples"),
        (np.zeros((43, 32), int), "payload"),
    ],
)
def test_encode_samples_rejects(samples: object, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        encode_samples(1, 0, 0, samples)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "exc"),
    [
        ({"board_id": 256}, ValueError),
        ({"board_id": -1}, ValueError),
        ({"seq": 2**32}, ValueError),
        ({"uptime_ms": -1}, ValueError),
        ({"board_flags": 0x10}, ValueError),  # reserved bit
        ({"plate_status": [0, 4]}, ValueError),
        ({"plate_status": []}, ValueError),
        ({"plate_status": [0] * 33}, ValueError),
        ({"seq": 1.0}, TypeError),
    ],
)
def test_encode_status_rejects(kwargs: dict[str, object], exc: type[Exception]) -> None:
    args: dict[str, object] = {
        "board_id": 1,
        "seq": 0,
        "uptime_ms": 0,
        "board_flags": 0,
        "plate_status": [0, 0],
    }
    args.update(kwargs)
    with pytest.raises(exc):
        encode_status(**args)  # type: ignore[arg-type]


def test_board_encoder_keeps_seq_and_tick_and_wraps() -> None:
    enc = BoardEncoder(9, 2, seq=2**32 - 2, tick=2**32 - 3)
    frames, p = parse_all(
        enc.samples(np.zeros((2, 2), int))
        + enc.status(uptime_ms=2**32 + 5)
        + enc.samples(np.ones((4, 2), int))
    )
    assert [f.seq for f in frames] == [2**32 - 2, 2**32 - 1, 0]
    assert isinstance(frames[0], SampleFrame) and isinstance(frames[2], SampleFrame)
    assert frames[0].tick == 2**32 - 3
    assert frames[2].tick == (2**32 - 3 + 2) % 2**32
    assert isinstance(frames[1], StatusFrame)
    assert frames[1].uptime_ms == 5 and frames[1].plate_status == (0, 0)
    assert (enc.seq, enc.tick) == (1, 3)
    assert p.stats.seq_gaps == 0 and p.stats.seq_resets == 0
    with pytest.raises(ValueError, match="2 plates"):
        enc.samples(np.zeros((1, 3), int))
    with pytest.raises(ValueError, match="2 plates"):
        enc.status(0, plate_status=[0])


# --------------------------------------------------------------------------------------------
# round trip properties
# --------------------------------------------------------------------------------------------


@PROPS
@given(
    frames=st.lists(any_frame, min_size=1, max_size=8),
    cuts=st.lists(st.integers(0, 400), max_size=30),
)
def test_round_trip_any_chunking(frames: list[Frame], cuts: list[int]) -> None:
    data = b"".join(encode(f) for f in frames)
    out, p = parse_all(data, chunks=cuts)
    assert out == frames
    s = p.stats
    assert (s.crc_errors, s.bad_header, s.bytes_discarded, s.truncated) == (0, 0, 0, 0)
    assert s.frames_ok == len(frames) and p.buffered == 0


def test_byte_by_byte_feed_returns_each_frame_on_its_last_byte() -> None:
    frames = stream_of(6)
    p = FrameParser()
    for raw in frames:
        for b in raw[:-1]:
            assert p.feed(bytes([b])) == []
        assert len(p.feed(raw[-1:])) == 1
    assert p.buffered == 0


# --------------------------------------------------------------------------------------------
# garbage, corruption, truncation
# --------------------------------------------------------------------------------------------


def _garbage_piece() -> st.SearchStrategy[bytes]:
    """Garbage that looks like the protocol: syncs, plausible headers, truncated real frames."""
    real = stream_of(3, n_plates=3, n_samples=2) + stream_of(2, n_plates=12)
    # A frame cut short (as after a reconnect mid-frame). At least 4 bytes are missing so the
    # random garbage after it cannot complete it by chance (that would take a 2**-32 match).
    truncated = st.sampled_from(real).flatmap(
        lambda f: st.integers(1, len(f) - 4).map(lambda n: f[:n])
    )
    return st.one_of(
        st.binary(max_size=40),
        st.just(SYNC),
        st.just(b"\xa5"),
        st.sampled_from([b"\x01\x01", b"\x02\x01", b"\x01\x02", b"\xff\x0f", b"\x00\x10"]),
        truncated,
    )


garbage = st.lists(_garbage_piece(), max_size=6).map(b"".join)


@PROPS
@given(
    frames=st.lists(any_frame, min_size=1, max_size=6),
    gaps=st.lists(garbage, min_size=7, max_size=7),
    cuts=st.lists(st.integers(1, 300), max_size=20),
)
def test_garbage_between_frames(frames: list[Frame], gaps: list[bytes], cuts: list[int]) -> None:
    data = b"".join(g + encode(f) for g, f in zip(gaps, frames, strict=False)) + gaps[-1]
    out, p = parse_all(data, chunks=cuts)
    # Every frame surrounded by garbage comes back, in order, and nothing else does.
    assert out == frames
    assert p.stats.bytes_discarded == sum(len(g) for g in gaps[: len(frames)]) + len(gaps[-1])


@PROPS
@given(junk=st.lists(_garbage_piece(), max_size=40).map(b"".join))
def test_garbage_alone_never_yields_a_frame(junk: bytes) -> None:
    out, p = parse_all(junk, chunks=[7] * (len(junk) // 7))
    assert out == []
    assert p.stats.bytes_discarded == len(junk)


def test_every_single_bit_flip_drops_only_that_frame() -> None:
    f0, f1, f2 = stream_of(3, n_plates=3, n_samples=2)
    for bit in range(len(f1) * 8):
        bad = bytearray(f1)
        bad[bit // 8] ^= 1 << (bit % 8)
        out, p = parse_all(f0 + bytes(bad) + f2)
        assert out == [decode(f0), decode(f2)], bit
        if bit // 8 >= 9:
            # Past the fields the parser checks up front only the CRC can catch it.
            assert p.stats.crc_errors == 1, bit
        elif bit // 8 >= 2:
            assert p.stats.crc_errors + p.stats.bad_header >= 1, bit


@PROPS
@given(
    which=st.integers(0, 3),
    start=st.integers(0, 10_000),
    burst=st.integers(1, 2**16 - 1),
)
def test_burst_error_drops_only_that_frame(which: int, start: int, burst: int) -> None:
    # CRC-16 detects every error burst of at most 16 bits; flips here are a 16-bit window.
    raw = stream_of(4, n_plates=12)
    bad = bytearray(raw[which])
    first_bit = start % (len(bad) * 8 - 16)
    as_int = int.from_bytes(bad, "little") ^ (burst << first_bit)
    raw[which] = as_int.to_bytes(len(bad), "little")
    out, p = parse_all(b"".join(raw))
    assert out == [decode(r) for i, r in enumerate(raw) if i != which]
    assert p.stats.frames_ok == 3


def test_bad_crc_restarts_search_one_byte_after_false_sync() -> None:
    # A "frame" with a broken CRC whose payload holds a complete valid frame (e.g. a truncated
    # frame followed by a real one): the real one must be found, not skipped with the bad one.
    inner = encode_status(5, 0, 1, 0, [0])
    n_samples = (len(inner) + 2) // 3 + 1
    payload = bytes([1, 1, n_samples, 0]) + b"\0" * 8
    body = inner + b"\0" * (3 * n_samples - len(inner))
    outer = bytearray(encode_frame(FRAME_TYPE_SAMPLES, payload + body))
    outer[-1] ^= 0xFF
    tail = encode_status(5, 1, 2, 0, [0])
    out, p = parse_all(bytes(outer) + tail)
    assert out == [decode(inner), decode(tail)]
    assert p.stats.crc_errors == 1


def _samples_payload(board: int, n_plates: int, n_samples: int, n_values: int) -> bytes:
    """A samples payload whose header claims a shape, followed by ``n_values`` int24 zeros."""
    return bytes([board, n_plates, n_samples, 0]) + b"\0" * 8 + b"\0" * (3 * n_values)


_GOOD_STATUS = encode_status(1, 0, 0, 0, [0])
_CRC_BROKEN = _GOOD_STATUS[:-1] + bytes([_GOOD_STATUS[-1] ^ 0x01])
_TOO_LONG = SYNC + bytes([1, 1]) + (MAX_PAYLOAD + 1).to_bytes(2, "little") + bytes([1, 1, 1])

# Everything except the CRC case is CRC-valid: a well-framed lie must still be refused.
_REJECTED = {
    "unknown type": (encode_frame(0x03, b"\0" * 15), "bad_header"),
    "version 2": (encode_frame(FRAME_TYPE_STATUS, _GOOD_STATUS[6:-2], version=2), "bad_header"),
    "status length != 14 + n_plates": (
        encode_frame(FRAME_TYPE_STATUS, bytes([1, 2]) + b"\0" * 15),
        "bad_header",
    ),
    "samples length != 12 + 3 n s": (
        encode_frame(FRAME_TYPE_SAMPLES, _samples_payload(1, 2, 2, 5)),
        "bad_header",
    ),
    "zero plates": (encode_frame(FRAME_TYPE_SAMPLES, _samples_payload(1, 0, 2, 0)), "bad_header"),
    "zero samples": (encode_frame(FRAME_TYPE_SAMPLES, _samples_payload(1, 1, 0, 0)), "bad_header"),
    "33 plates": (
        encode_frame(FRAME_TYPE_STATUS, bytes([1, 33]) + b"\0" * (12 + 33)),
        "bad_header",
    ),
    # Above the protocol maximum: rejected on the header alone, never waited for.
    "length > 4096": (_TOO_LONG, "bad_header"),
    "crc mismatch": (_CRC_BROKEN, "crc_errors"),
}


@pytest.mark.parametrize(("frame", "counter"), list(_REJECTED.values()), ids=list(_REJECTED))
def test_inconsistent_frames_are_rejected(frame: bytes, counter: str) -> None:
    good = encode_status(1, 7, 0, 0, [0, 1])
    out, p = parse_all(frame + good)
    assert out == [decode(good)]
    assert getattr(p.stats, counter) >= 1
    # Rejected on its header means nothing waits for the claimed length.
    p2 = FrameParser()
    assert p2.feed(frame + good) == [decode(good)]


def test_reserved_fields_and_unknown_codes_pass_through() -> None:
    # A CRC-valid frame from newer firmware: undefined flag bits / plate codes are not corruption.
    payload = bytes([4, 2]) + b"\x34\x12" + (9).to_bytes(4, "little") + (77).to_bytes(4, "little")
    payload += (0x8001).to_bytes(2, "little") + bytes([0, 9])
    f = decode(encode_frame(FRAME_TYPE_STATUS, payload))
    assert f == StatusFrame(4, 9, 77, 0x8001, (0, 9))


def test_truncated_final_frame_waits_then_completes() -> None:
    frames = stream_of(3)
    data = b"".join(frames)
    for cut in (1, 2, 5, 9, len(frames[-1]) - 1):
        p = FrameParser()
        out = p.feed(data[:-cut])
        assert out == [decode(frames[0]), decode(frames[1])]
        assert p.buffered == len(frames[-1]) - cut
        assert p.feed(data[-cut:]) == [decode(frames[-1])]
        assert p.buffered == 0
        check_accounting(p)


def test_flush_drops_truncated_tail() -> None:
    frames = stream_of(2)
    p = FrameParser()
    assert p.feed(frames[0] + frames[1][:-3]) == [decode(frames[0])]
    assert p.flush() == []
    assert p.stats.truncated == 1 and p.buffered == 0
    check_accounting(p)
    # The parser is usable for a new stream afterwards.
    assert p.feed(frames[1]) == [decode(frames[1])]


def test_flush_recovers_frames_hidden_behind_a_plausible_header() -> None:
    # Garbage that looks like the start of a long status frame: feed() must wait for its length
    # before the CRC can reject it, so the real frame behind it waits too; flush() resolves it.
    fake = SYNC + bytes([FRAME_TYPE_STATUS, 1, 14 + 32, 0, 1, 32])
    real = encode_status(3, 0, 0, 0, [0])
    p = FrameParser()
    assert p.feed(fake + real) == []
    assert p.flush() == [decode(real)]
    assert p.stats.truncated == 1
    check_accounting(p)


def test_split_sync_across_chunks() -> None:
    a, b = stream_of(2)
    p = FrameParser()
    assert p.feed(b"\x00\x13" + a + b[:1]) == [decode(a)]
    assert p.buffered == 1  # the lone 0xA5 is kept: it may be half a sync
    assert p.feed(b[1:]) == [decode(b)]
    check_accounting(p)


def test_buffer_is_bounded_under_garbage() -> None:
    rng = np.random.default_rng(7)
    p = FrameParser()
    # Headers that claim the longest legal frame, repeated, with random bytes around them.
    n_plates, n_samples = 32, 42
    claim = SYNC + bytes([1, 1]) + samples_payload_length(n_samples, n_plates).to_bytes(2, "little")
    claim += bytes([0, n_plates, n_samples])
    for _ in range(200):
        junk = rng.integers(0, 256, size=int(rng.integers(0, 3000)), dtype=np.uint8).tobytes()
        assert p.feed(claim + junk) == []
        check_accounting(p)
    assert p.flush() == []
    assert p.buffered == 0


# --------------------------------------------------------------------------------------------
# sequence numbers
# --------------------------------------------------------------------------------------------


def test_seq_gap_counting_per_board() -> None:
    a = stream_of(10, board_id=1)
    b = stream_of(10, board_id=2)
    # Board 1 loses frames 3, 4 (one gap of 2) and 8 (gap of 1); board 2 loses nothing.
    kept_a = [f for i, f in enumerate(a) if i not in (3, 4, 8)]
    data = b"".join(x + y for x, y in zip(kept_a, b, strict=False)) + b"".join(b[len(kept_a) :])
    out, p = parse_all(data)
    assert len(out) == len(kept_a) + len(b)
    s = p.stats
    assert (s.seq_gaps, s.frames_lost, s.seq_resets) == (2, 3, 0)
    assert s.seq_gaps_by_board == {1: 2}


def test_sequence_tracker_wrap_reset_and_duplicates() -> None:
    t = SequenceTracker()
    assert t.observe(1, 2**32 - 2) == 0
    assert t.observe(1, 2**32 - 1) == 0
    assert t.observe(1, 0) == 0  # wrap is not a gap
    assert t.observe(1, 3) == 2  # 1, 2 lost across nothing special
    assert t.observe(1, 0) == 0  # backwards: reboot
    assert t.observe(1, 0) == 0  # duplicate: also backwards
    assert t.observe(2, 100) == 0  # first frame of a new board is never a gap
    s = t.stats
    assert isinstance(s, ParserStats)
    assert (s.seq_gaps, s.frames_lost, s.seq_resets) == (1, 2, 2)
    assert t.last_seq(1) == 0 and t.last_seq(3) is None


@PROPS
@given(drops=st.lists(st.booleans(), min_size=2, max_size=40))
def test_seq_gaps_match_dropped_runs(drops: list[bool]) -> None:
    raw = stream_of(len(drops))
    kept = [i for i, d in enumerate(drops) if not d]
    out, p = parse_all(b"".join(raw[i] for i in kept))
    assert [f.seq for f in out] == kept
    inner = list(itertools.pairwise(kept))
    assert p.stats.seq_gaps == sum(1 for i, j in inner if j > i + 1)
    assert p.stats.frames_lost == sum(j - i - 1 for i, j in inner)


def test_sample_frame_equality() -> None:
    a = SampleFrame(1, 2, 3, np.zeros((1, 2), np.int32))
    assert a == SampleFrame(1, 2, 3, np.zeros((1, 2), np.int32))
    assert a != SampleFrame(1, 2, 3, np.zeros((2, 1), np.int32))
    assert a != SampleFrame(1, 2, 4, np.zeros((1, 2), np.int32))
    assert a != StatusFrame(1, 2, 3, 0, (0, 0))
