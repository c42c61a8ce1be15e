"""Recorded-session format v1: round trips, determinism, and every corruption naming its file."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edge.config import resolve_store
from edge.session import (
    GroundTruth,
    PersonObs,
    Read,
    Session,
    SessionError,
    SessionWriter,
    TrackFrame,
    TruthAction,
    TruthReceipt,
    TruthReceiptLine,
    TruthVisit,
    iter_wsr,
)
from edge.session.model import WSR_HEADER
from edge.session.summary import summarize
from edge.session.writer import stream_name_for_port
from edge.shelf.protocol import BoardEncoder, FrameParser, SampleFrame

CONFIG_TEXT = resolve_store("small")[1]

READS = [
    Read(1.25, "Virtual PCD 00 00", "card", "04A1B2C3D4E5F6", "insert"),
    Read(1.5, "Virtual PCD 00 00", "card", "04A1B2C3D4E5F6", "remove"),
    Read(20.0, "Virtual PCD 00 01", "tag", "E2801160600002", "insert"),
]
TRACKS = [
    TrackFrame(0.0, ()),
    TrackFrame(0.1, (PersonObs(3, 1.234, 2.345, ((1.5, 2.9, 1.1),)),)),
    TrackFrame(
        0.2,
        (
            PersonObs(3, 1.3, 2.4, ((1.5, 2.9, 1.1), (1.0, 2.8, 0.9))),
            PersonObs(7, -0.5, 0.25, ()),
        ),
    ),
]
POSITIONS = [
    TrackFrame(0.0, ()),
    TrackFrame(0.1, (PersonObs(1, 1.23, 2.34, ()),)),
]
TRUTH = GroundTruth(
    visits=(
        TruthVisit("v1", 1, "04A1B2C3D4E5F6", "acct-04a1b2c3", None, 1.25, 30.5),
        TruthVisit("v2", 2, None, None, "v1", 1.5, None),
    ),
    actions=(
        TruthAction(5.0, 6.5, 7.0, "v1", 1, "pick", "P0001", 2, ("1.1.1", "1.1.2"), "right"),
        TruthAction(8.0, 9.0, 9.5, "v2", 2, "put", "P0001", 1, ("1.1.1",), "left", "v1"),
    ),
    receipts=(TruthReceipt("v1", (TruthReceiptLine("P0001", 1),)),),
)


def _frames(board_id: int, n: int, seed: int) -> list[bytes]:
    rng = np.random.default_rng(seed)
    enc = BoardEncoder(board_id, 12)
    return [enc.samples(rng.integers(-100_000, 100_000, size=(6, 12))) for _ in range(n)]


def write_session(out: Path, **kwargs: object) -> Path:
    options: dict[str, object] = {
        "config_text": CONFIG_TEXT,
        "start_time_unix": 1767261600.0,
        "session_id": "test-session",
        "created_by": "tests",
        "extra": {"scenario": "unit", "seed": 3},
    }
    options.update(kwargs)
    with SessionWriter(out, **options) as writer:  # type: ignore[arg-type]
        usb0 = writer.shelf_stream("/dev/ttyUSB0", "walkout-lc1")
        for i, frame in enumerate(_frames(1, 20, 1)):
            usb0.write(i * 0.1, frame)
        usb1 = writer.shelf_stream("/dev/ttyUSB1", "walkout-lc1")
        for i, frame in enumerate(_frames(2, 5, 2)):
            usb1.write(0.05 + i * 0.1, frame)
        for read in READS:
            writer.write_read(read)
        for frame in TRACKS:
            writer.write_tracks(frame)
        for frame in POSITIONS:
            writer.write_true_positions(frame)
        writer.write_truth(TRUTH)
        return writer.close(duration_s=31.0)


@pytest.fixture
def session_dir(tmp_path: Path) -> Path:
    return write_session(tmp_path / "session")


def _patch_manifest(path: Path, change) -> None:  # type: ignore[no-untyped-def]
    file = path / "manifest.json"
    data = json.loads(file.read_text())
    change(data)
    file.write_text(json.dumps(data))


# --- round trip -------------------------------------------------------------------------------


def test_round_trip_every_stream(session_dir: Path) -> None:
    session = Session.open(session_dir)
    m = session.manifest
    assert (m.format, m.version, m.session_id, m.store_id) == (
        "walkout-session",
        1,
        "test-session",
        "demo-small",
    )
    assert m.created_by == "tests"
    assert m.start_time_unix == 1767261600.0
    assert m.duration_s == 31.0
    assert dict(m.extra) == {"scenario": "unit", "seed": 3}
    assert session.config_text == CONFIG_TEXT
    assert session.config.store.id == "demo-small"

    names = [s.name for s in session.shelf_streams]
    assert names == ["shelf/ttyUSB0", "shelf/ttyUSB1"]
    assert session.shelf_streams[0].port == "/dev/ttyUSB0"
    assert session.shelf_streams[0].protocol == "walkout-lc1"
    for stream, board, n, seed, t0 in ((names[0], 1, 20, 1, 0.0), (names[1], 2, 5, 2, 0.05)):
        records = list(session.iter_shelf(stream))
        assert [data for _, data in records] == _frames(board, n, seed)
        assert [t for t, _ in records] == [t0 + i * 0.1 for i in range(n)]

    assert session.reads() == READS
    assert list(session.iter_tracks()) == TRACKS
    assert list(session.iter_true_positions()) == POSITIONS
    assert session.truth() == TRUTH
    assert session.stream("tracks").rate_hz == 10.0
    assert set(session.verify()) == {
        "config.yaml",
        "shelf/ttyUSB0.wsr",
        "shelf/ttyUSB1.wsr",
        "reads.jsonl",
        "tracks.jsonl",
        "truth/truth.json",
        "truth/positions.jsonl",
    }


def test_shelf_bytes_decode_with_the_frame_parser(session_dir: Path) -> None:
    session = Session.open(session_dir)
    parser = FrameParser()
    frames = [f for _, data in session.iter_shelf("shelf/ttyUSB0") for f in parser.feed(data)]
    assert len(frames) == 20 and all(isinstance(f, SampleFrame) for f in frames)
    assert parser.stats.crc_errors == 0 and parser.stats.bytes_discarded == 0


def test_identical_input_gives_byte_identical_files(tmp_path: Path) -> None:
    a = write_session(tmp_path / "a")
    b = write_session(tmp_path / "b")
    files_a = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    files_b = sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    assert files_a == files_b
    assert len(files_a) == 8
    for rel in files_a:
        assert (a / rel).read_bytes() == (b / rel).read_bytes(), rel


def test_floats_are_rounded_consistently(tmp_path: Path) -> None:
    with SessionWriter(
        tmp_path / "s",
        config_text=CONFIG_TEXT,
        start_time_unix=0.0,
        session_id="r",
        created_by="tests",
    ) as writer:
        writer.write_read(Read(0.123456, "r", "card", "AA", "insert"))
        writer.write_tracks(
            TrackFrame(0.00004, (PersonObs(1, 1.23456, -0.0001, ((0.1, 0.2, 1.0004),)),))
        )
        writer.close(1.0)
    assert (tmp_path / "s" / "reads.jsonl").read_text() == (
        '{"t":0.1235,"reader":"r","kind":"card","uid":"AA","event":"insert"}\n'
    )
    assert (tmp_path / "s" / "tracks.jsonl").read_text() == (
        '{"t":0.0,"people":[{"id":1,"x":1.235,"y":0.0,"hands":[[0.1,0.2,1.0]]}]}\n'
    )


def test_empty_session_is_valid(tmp_path: Path) -> None:
    with SessionWriter(
        tmp_path / "s", config_text=CONFIG_TEXT, start_time_unix=0.0, session_id="e", created_by="t"
    ) as writer:
        pass  # a normal exit without close() closes with the last time written (0)
    session = Session.open(tmp_path / "s")
    assert session.manifest.duration_s == 0.0
    assert session.reads() == [] and list(session.iter_tracks()) == []
    assert session.truth() is None and list(session.iter_true_positions()) == []
    assert session.shelf_streams == []
    assert writer.out_dir == tmp_path / "s"


def test_summary(session_dir: Path) -> None:
    summary = summarize(Session.open(session_dir))
    json.dumps(summary)  # serialisable
    assert summary["store_id"] == "demo-small"
    assert summary["start_time"] == "2026-01-01T10:00:00.000+00:00"
    shelf = summary["shelf"][0]
    assert shelf["sample_frames"] == 20 and shelf["plates"] == 12 and shelf["crc_errors"] == 0
    assert shelf["sample_rate_hz"] == pytest.approx(60.0)
    assert summary["reads"]["by_kind"] == {"card": 2, "tag": 1}
    assert summary["tracks"]["frames"] == 3
    assert summary["tracks"]["max_people"] == 2
    assert summary["tracks"]["track_ids"] == 2
    truth = summary["truth"]
    assert truth["visits"] == 2 and truth["actions"] == {"pick": 1, "put": 1, "handoff": 0}
    assert truth["units_picked"] == 2 and truth["receipts"] == 1
    assert truth["total_value"] == "2.54" and truth["currency"] == "EUR"


@pytest.mark.parametrize(
    ("port", "name"),
    [
        ("/dev/ttyUSB0", "ttyUSB0"),
        ("/dev/serial/by-id/usb-FTDI_FT232R-if00-port0", "usb-FTDI_FT232R-if00-port0"),
        ("socket://10.0.0.5:4001", "10.0.0.5_4001"),
        ("import://gondola_4_shelf_3", "gondola_4_shelf_3"),
        ("loop://", "loop"),
        ("COM3", "COM3"),
        ("..", "port"),
    ],
)
def test_stream_names_from_ports(port: str, name: str) -> None:
    assert stream_name_for_port(port) == name


def test_ports_with_the_same_basename_get_distinct_streams(tmp_path: Path) -> None:
    with SessionWriter(
        tmp_path / "s", config_text=CONFIG_TEXT, start_time_unix=0.0, session_id="x", created_by="t"
    ) as writer:
        a = writer.shelf_stream("/dev/a/ttyUSB0", "walkout-lc1")
        b = writer.shelf_stream("/dev/b/ttyUSB0", "walkout-lc1")
        with pytest.raises(ValueError, match="already has a stream"):
            writer.shelf_stream("/dev/a/ttyUSB0", "walkout-lc1")
        writer.close(0.0)
    assert (a.name, b.name) == ("ttyUSB0", "ttyUSB0-2")


# --- the writer refuses what would make a bad session -----------------------------------------


def test_writer_refuses_to_overwrite(session_dir: Path) -> None:
    with pytest.raises(SessionError, match="not empty") as err:
        write_session(session_dir)
    assert str(session_dir) in str(err.value)
    write_session(session_dir, overwrite=True, session_id="second")
    assert Session.open(session_dir).manifest.session_id == "second"


def test_overwrite_never_clears_a_folder_that_is_not_a_session(tmp_path: Path) -> None:
    (tmp_path / "thesis.tex").write_text("years of work")
    with pytest.raises(SessionError, match=r"not a session.*thesis\.tex"):
        write_session(tmp_path, overwrite=True)
    assert (tmp_path / "thesis.tex").exists()


def test_exception_inside_the_writer_leaves_no_manifest(tmp_path: Path) -> None:
    out = tmp_path / "s"
    with (
        pytest.raises(RuntimeError, match="boom"),
        SessionWriter(
            out, config_text=CONFIG_TEXT, start_time_unix=0.0, session_id="x", created_by="t"
        ) as writer,
    ):
        writer.shelf_stream("/dev/ttyUSB0", "walkout-lc1").write(0.0, b"\xa5\x5a")
        writer.write_read(READS[0])
        raise RuntimeError("boom")
    assert (out / "shelf" / "ttyUSB0.wsr").exists()
    assert not (out / "manifest.json").exists()
    with pytest.raises(SessionError, match="incomplete") as err:
        Session.open(out)
    assert str(out / "manifest.json") in str(err.value)


def test_writer_rejects_time_going_backwards(tmp_path: Path) -> None:
    with SessionWriter(
        tmp_path / "s", config_text=CONFIG_TEXT, start_time_unix=0.0, session_id="x", created_by="t"
    ) as writer:
        stream = writer.shelf_stream("/dev/ttyUSB0", "walkout-lc1")
        stream.write(1.0, b"x")
        with pytest.raises(ValueError, match="before the previous"):
            stream.write(0.5, b"x")
        writer.write_tracks(TrackFrame(1.0))
        with pytest.raises(ValueError, match="time order"):
            writer.write_tracks(TrackFrame(0.9))
        with pytest.raises(ValueError, match="hands"):
            writer.write_tracks(TrackFrame(2.0, (PersonObs(1, 0, 0, ((0, 0, 0),) * 3),)))
        with pytest.raises(ValueError, match="kind"):
            writer.write_read(Read(1.0, "r", "badge", "AA", "insert"))  # type: ignore[arg-type]
        writer.close(2.0)


def test_writer_rejects_an_invalid_config(tmp_path: Path) -> None:
    from edge.config import ConfigError

    with pytest.raises(ConfigError):
        SessionWriter(
            tmp_path / "s",
            config_text="version: 1\n",
            start_time_unix=0,
            session_id="x",
            created_by="t",
        )


# --- corruption is detected and names the file ------------------------------------------------


def test_truncated_wsr_detected_at_open(session_dir: Path) -> None:
    wsr = session_dir / "shelf" / "ttyUSB0.wsr"
    wsr.write_bytes(wsr.read_bytes()[:-7])
    with pytest.raises(SessionError, match="truncated") as err:
        Session.open(session_dir)
    assert str(wsr) in str(err.value)


def test_truncated_wsr_record_names_byte_offset(tmp_path: Path) -> None:
    wsr = tmp_path / "x.wsr"
    record = b"\x00" * 8 + (5).to_bytes(4, "little") + b"hello"  # t=0.0, 5 bytes
    wsr.write_bytes(b"WSR1\x00\x00\x00\x00" + record + record[:7])
    with pytest.raises(SessionError) as err:
        list(iter_wsr(wsr))
    assert str(err.value) == (
        f"session {wsr}: truncated record at byte 25 (file ends 7 bytes into a 12-byte header)"
    )
    wsr.write_bytes(b"WSR1\x00\x00\x00\x00" + record + record[:14])
    with pytest.raises(SessionError, match=r"byte 25 \(file ends 2 bytes into a 5-byte payload\)"):
        list(iter_wsr(wsr))


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"WSR", "truncated file header"),
        (b"RIFF\x00\x00\x00\x00", "not a walkout serial recording"),
        (
            WSR_HEADER + struct.pack("<dI", 2.0, 0) + struct.pack("<dI", 1.0, 0),
            "before the previous",
        ),
        (WSR_HEADER + struct.pack("<dI", float("nan"), 0), "not a finite number"),
    ],
)
def test_bad_wsr_content(tmp_path: Path, content: bytes, problem: str) -> None:
    wsr = tmp_path / "x.wsr"
    wsr.write_bytes(content)
    with pytest.raises(SessionError, match=problem) as err:
        list(iter_wsr(wsr))
    assert str(wsr) in str(err.value)


def test_truncated_jsonl_detected_at_open(session_dir: Path) -> None:
    tracks = session_dir / "tracks.jsonl"
    tracks.write_bytes(tracks.read_bytes()[:-10])
    with pytest.raises(SessionError, match="truncated") as err:
        Session.open(session_dir)
    assert str(tracks) in str(err.value)


def test_missing_listed_file(session_dir: Path) -> None:
    (session_dir / "reads.jsonl").unlink()
    with pytest.raises(SessionError, match="missing") as err:
        Session.open(session_dir)
    assert "reads.jsonl" in str(err.value)


def test_missing_manifest(session_dir: Path) -> None:
    (session_dir / "manifest.json").unlink()
    with pytest.raises(SessionError, match=r"manifest\.json: missing"):
        Session.open(session_dir)


def test_not_a_session_folder(tmp_path: Path) -> None:
    with pytest.raises(SessionError, match="no such session folder"):
        Session.open(tmp_path / "nope")


@pytest.mark.parametrize(
    ("line_no", "stream", "read"),
    [
        (2, "reads.jsonl", lambda s: s.reads()),
        (3, "tracks.jsonl", lambda s: list(s.iter_tracks())),
        (1, "truth/positions.jsonl", lambda s: list(s.iter_true_positions())),
    ],
)
def test_bad_json_line_names_file_and_line(session_dir: Path, line_no, stream, read) -> None:  # type: ignore[no-untyped-def]
    path = session_dir / stream
    lines = path.read_bytes().split(b"\n")
    lines[line_no - 1] = b"{" + lines[line_no - 1][1:].replace(b"}", b")", 1)  # same size
    path.write_bytes(b"\n".join(lines))
    session = Session.open(session_dir)  # sizes still match: only verify() would see it
    with pytest.raises(SessionError, match="not valid JSON") as err:
        read(session)
    assert f"{path}, line {line_no}:" in str(err.value)


def test_malformed_track_row_names_line(session_dir: Path) -> None:
    path = session_dir / "tracks.jsonl"
    lines = path.read_text().split("\n")
    lines[1] = lines[1].replace('"x"', '"q"')
    path.write_text("\n".join(lines))
    with pytest.raises(
        SessionError, match=r"tracks.jsonl, line 2: malformed frame: missing key 'x'"
    ):
        list(Session.open(session_dir).iter_tracks())


def test_manifest_not_json(session_dir: Path) -> None:
    (session_dir / "manifest.json").write_text('{"format": ')
    with pytest.raises(SessionError, match=r"manifest.json, line 1: not valid JSON"):
        Session.open(session_dir)


def test_wrong_format_version(session_dir: Path) -> None:
    _patch_manifest(session_dir, lambda d: d.update(version=2))
    with pytest.raises(
        SessionError, match=r"manifest.json: unsupported session format version 2.*newer"
    ):
        Session.open(session_dir)


def test_wrong_format_name(session_dir: Path) -> None:
    _patch_manifest(session_dir, lambda d: d.update(format="something-else"))
    with pytest.raises(SessionError, match=r"manifest\.json: format is 'something-else'"):
        Session.open(session_dir)


@pytest.mark.parametrize("key", ["session_id", "streams", "config", "start_time_unix", "extra"])
def test_missing_manifest_key(session_dir: Path, key: str) -> None:
    _patch_manifest(session_dir, lambda d: d.pop(key))
    with pytest.raises(SessionError, match=f"manifest.json: missing key '{key}'"):
        Session.open(session_dir)


def test_missing_stream_key_names_its_path(session_dir: Path) -> None:
    _patch_manifest(session_dir, lambda d: d["streams"][0].pop("port"))
    with pytest.raises(SessionError, match=r"missing key 'streams\.0\.port'"):
        Session.open(session_dir)


def test_manifest_paths_must_stay_inside_the_session(session_dir: Path) -> None:
    _patch_manifest(session_dir, lambda d: d["streams"][0].update(path="../../etc/passwd"))
    with pytest.raises(SessionError, match="relative path inside the session"):
        Session.open(session_dir)


def test_sha_mismatch_found_by_verify(session_dir: Path) -> None:
    wsr = session_dir / "shelf" / "ttyUSB1.wsr"
    data = bytearray(wsr.read_bytes())
    data[-3] ^= 0xFF  # flip bits inside the last frame: same size
    wsr.write_bytes(bytes(data))
    session = Session.open(session_dir)
    with pytest.raises(SessionError, match="sha256 mismatch") as err:
        session.verify()
    assert str(wsr) in str(err.value)
    # The summary still works and shows the damage as the parser sees it.
    shelf = summarize(session)["shelf"][1]
    assert shelf["crc_errors"] == 1


def test_invalid_config_in_session_names_config_yaml(session_dir: Path) -> None:
    import hashlib

    config = session_dir / "config.yaml"
    text = CONFIG_TEXT.replace("width_m: 7.0", "width_m: -7.0")
    config.write_text(text)

    def fix(d: dict) -> None:  # type: ignore[type-arg]
        d["config_bytes"] = len(text.encode())
        d["config_sha256"] = hashlib.sha256(text.encode()).hexdigest()

    _patch_manifest(session_dir, fix)
    session = Session.open(session_dir)
    with pytest.raises(SessionError, match="invalid store config") as err:
        session.config  # noqa: B018
    assert str(err.value).startswith(f"session {config}: ")
    assert "error" in summarize(session)["config"]


def test_bad_truth_names_key_path(session_dir: Path) -> None:
    path = session_dir / "truth" / "truth.json"
    text = path.read_text().replace('"pick"', '"grab"')
    path.write_text(text)
    session = Session.open(session_dir)
    with pytest.raises(SessionError, match=r"truth.json: actions.0.kind: must be one of pick, put"):
        session.truth()


# --- compatibility and properties -----------------------------------------------------------------


def test_unknown_keys_and_stream_kinds_are_ignored_but_checked(session_dir: Path) -> None:
    import hashlib

    video = b"RIFF....AVI "
    frames = b"0,0.0\n1,0.0667\n"
    (session_dir / "cameras").mkdir()
    (session_dir / "cameras" / "cam1.avi").write_bytes(video)
    (session_dir / "cameras" / "cam1.frames.csv").write_bytes(frames)

    def add(d: dict) -> None:  # type: ignore[type-arg]
        d["added_in_a_later_minor"] = {"anything": 1}
        d["streams"].append(
            {
                "name": "cameras/cam1",
                "kind": "camera-video",
                "path": "cameras/cam1.avi",
                "records": 2,
                "bytes": len(video),
                "sha256": hashlib.sha256(video).hexdigest(),
                "frames_path": "cameras/cam1.frames.csv",
                "frames_bytes": len(frames),
                "frames_sha256": hashlib.sha256(frames).hexdigest(),
            }
        )

    _patch_manifest(session_dir, add)
    session = Session.open(session_dir)
    camera = session.stream("cameras/cam1")
    assert camera.kind == "camera-video"
    assert camera.extra["frames_path"] == "cameras/cam1.frames.csv"
    assert "cameras/cam1.frames.csv" in session.verify()
    assert summarize(session)["other_streams"][0]["name"] == "cameras/cam1"
    (session_dir / "cameras" / "cam1.frames.csv").write_bytes(frames[:-1])
    with pytest.raises(SessionError, match=r"cam1\.frames\.csv: truncated"):
        Session.open(session_dir)


def test_numpy_values_are_accepted(tmp_path: Path) -> None:
    with SessionWriter(
        tmp_path / "s", config_text=CONFIG_TEXT, start_time_unix=0.0, session_id="n", created_by="t"
    ) as writer:
        hand = (np.float64(1.0), np.float32(2.0), np.float64(0.5))
        person = PersonObs(np.int64(4), 1.0, 2.0, (hand,))  # type: ignore[arg-type]
        writer.write_tracks(TrackFrame(np.float64(0.5), (person,)))
        writer.close(1.0)
    frames = list(Session.open(tmp_path / "s").iter_tracks())
    assert frames == [TrackFrame(0.5, (PersonObs(4, 1.0, 2.0, ((1.0, 2.0, 0.5),)),))]


@settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    records=st.lists(
        st.tuples(st.floats(0, 1e6, allow_nan=False), st.binary(max_size=300)), max_size=30
    )
)
def test_wsr_round_trip_property(tmp_path: Path, records: list[tuple[float, bytes]]) -> None:
    records = sorted(records, key=lambda r: r[0])
    out = tmp_path / "p"
    with SessionWriter(
        out,
        config_text=CONFIG_TEXT,
        start_time_unix=0.0,
        session_id="p",
        created_by="t",
        overwrite=True,
    ) as writer:
        stream = writer.shelf_stream("/dev/ttyACM0", "walkout-lc1")
        for t, data in records:
            stream.write(t, data)
        writer.close(1e6)
    session = Session.open(out)
    assert list(session.iter_shelf("shelf/ttyACM0")) == records
    assert session.stream("shelf/ttyACM0").records == len(records)
    session.verify()
