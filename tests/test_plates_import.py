"""`import_plates`: AutoCheckout per-plate CSV files in, a session decoding to the same grams."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from shared_data import AIFI_DIR

from edge.config.layout import StoreLayout
from edge.session import PlatesImportError, Session, SessionError
from edge.session.plates_import import import_plates, product_slug
from edge.session.summary import summarize
from edge.shelf.protocol import FrameParser, SampleFrame

DATA = AIFI_DIR
PLANOGRAM = "planogram_gondola_4_shelf_3.csv"
needs_data = pytest.mark.skipif(
    not (DATA / PLANOGRAM).is_file(),
    reason=f"real AutoCheckout plate files not found at {DATA} (kept outside the repo)",
)


def decode_session(
    path: Path,
) -> tuple[Session, dict[tuple[int, int], list[tuple[float, np.ndarray]]]]:
    """Per shelf: (receive time, grams of shape (n_samples, n_plates)) of every sample frame."""
    session = Session.open(path)
    session.verify()
    layout = StoreLayout(session.config)
    by_port = {}
    for (g, s), shelf in layout.shelves.items():
        by_port[shelf.controller.port] = ((g, s), shelf)
    out: dict[tuple[int, int], list[tuple[float, np.ndarray]]] = {}
    for stream in session.shelf_streams:
        key, shelf = by_port[stream.port]
        offsets = np.array([p.calibration.offset_counts for p in shelf.plates])
        spans = np.array([p.calibration.grams_per_count for p in shelf.plates])
        parser = FrameParser()
        for t, data in session.iter_shelf(stream):
            for frame in parser.feed(data):
                assert isinstance(frame, SampleFrame)
                assert frame.board_id == shelf.controller.board_id
                out.setdefault(key, []).append((t, (frame.samples - offsets) * spans))
        assert parser.stats.crc_errors == 0 and parser.stats.bytes_discarded == 0
    return session, out


def load_csv(path: Path) -> np.ndarray:
    return np.loadtxt(path, delimiter=",", ndmin=2)


# --- the real files -----------------------------------------------------------------------------


@needs_data
def test_import_real_autocheckout_files(tmp_path: Path) -> None:
    out = import_plates(DATA, DATA / PLANOGRAM, tmp_path / "session")
    session, decoded = decode_session(out)
    assert list(decoded) == [(4, 3)]
    frames = decoded[(4, 3)]
    grams = np.concatenate([g for _, g in frames])
    for plate in range(1, 13):
        rows = load_csv(DATA / f"gondola_4_shelf_3_plate_{plate}.csv")
        assert grams.shape[0] == len(rows) == 2016
        np.testing.assert_allclose(grams[:, plate - 1], rows[:, 1], rtol=0, atol=0.01)

    first = load_csv(DATA / "gondola_4_shelf_3_plate_1.csv")[:, 0]
    m = session.manifest
    assert m.start_time_unix == first[0]
    times = [t for t, _ in frames]
    assert len(frames) == 2016 // 12
    assert times == sorted(times)
    assert times[0] == pytest.approx(first[11] - first[0], abs=1e-6)
    assert times[-1] == pytest.approx(33.6, abs=0.1)
    assert m.duration_s == pytest.approx(33.6, abs=0.1)
    assert m.extra["time_steps_backwards"] == 1  # the real data's 4.7 ms batch-boundary jitter

    config = session.config
    assert config.store.id == "imported"
    shelf = config.gondolas[0].shelves[0]
    assert (config.gondolas[0].id, shelf.id, shelf.controller.board_id) == (4, 3, 3)
    assert shelf.controller.rate_hz == pytest.approx(60.0, abs=0.1)
    assert shelf.controller.samples_per_frame == 12
    assert [p.id for p in shelf.plates] == list(range(1, 13))
    layout = StoreLayout(config)
    assert len(config.products) == 5
    gardetto = layout.products["general-mills-gardetto-original"]
    assert gardetto.weight_g == pytest.approx(139.43) and str(gardetto.price) == "1.00"
    assert [str(r) for r in layout.product_plates["general-mills-gardetto-original"]] == [
        "4.3.5",
        "4.3.6",
    ]
    assert session.reads() == [] and list(session.iter_tracks()) == []
    assert session.truth() is None
    assert summarize(session)["shelf"][0]["sample_rate_hz"] == pytest.approx(60.0, abs=0.1)


@needs_data
def test_import_is_deterministic(tmp_path: Path) -> None:
    a = import_plates(DATA, DATA / PLANOGRAM, tmp_path / "a", samples_per_frame=5)
    b = import_plates(DATA, DATA / PLANOGRAM, tmp_path / "b", samples_per_frame=5)
    for rel in ("manifest.json", "config.yaml", "shelf/gondola_4_shelf_3.wsr"):
        assert (a / rel).read_bytes() == (b / rel).read_bytes()
    _, decoded = decode_session(a)
    frames = decoded[(4, 3)]
    assert len(frames) == 2016 // 5 + 1  # 403 full frames and a last one of 1 sample
    assert frames[-1][1].shape == (1, 12)


# --- synthetic inputs -----------------------------------------------------------------------------


def write_plate(folder: Path, g: int, s: int, p: int, rows: list[tuple[float, float]]) -> Path:
    path = folder / f"gondola_{g}_shelf_{s}_plate_{p}.csv"
    path.write_text("".join(f"{t!r},{w!r}\n" for t, w in rows))
    return path


def series(n: int = 30, t0: float = 1000.0, base: float = 100.0) -> list[tuple[float, float]]:
    return [(t0 + i / 60, base + 0.37 * i) for i in range(n)]


PLANOGRAM_ROWS = [
    ["Name", "Gondola", "Shelf", "Plate", "Weight", "Price", "Image"],
    ["Tea 20 bags", "1", "1", "1", "55.5", "2.49", "tea.png"],
    ["Tea 20 bags", "1", "1", "2", "55.5", "2.49", "tea.png"],
    ["Tea: 20 bags!", "1", "2", "1", "50", "3", ""],
]


def write_planogram(path: Path, rows: list[list[str]] = PLANOGRAM_ROWS) -> Path:
    with open(path, "w", newline="") as f:
        csv.writer(f).writerows(rows)
    return path


@pytest.fixture
def plates(tmp_path: Path) -> Path:
    folder = tmp_path / "plates"
    folder.mkdir()
    write_plate(folder, 1, 1, 1, series())
    write_plate(folder, 1, 1, 2, series(base=-3.21))
    write_plate(folder, 1, 2, 1, series(t0=1000.005, base=2500.0))
    write_planogram(folder / "planogram.csv")  # may share the folder: not a plate file
    return folder


def test_synthetic_import_round_trip(plates: Path, tmp_path: Path) -> None:
    out = import_plates(
        plates, plates / "planogram.csv", tmp_path / "s", store_id="lab-1", samples_per_frame=7
    )
    session, decoded = decode_session(out)
    assert set(decoded) == {(1, 1), (1, 2)}
    g11 = np.concatenate([g for _, g in decoded[(1, 1)]])
    np.testing.assert_allclose(g11[:, 0], [w for _, w in series()], atol=0.0051)
    np.testing.assert_allclose(g11[:, 1], [w for _, w in series(base=-3.21)], atol=0.0051)
    assert [len(g) for _, g in decoded[(1, 1)]] == [7, 7, 7, 7, 2]
    assert session.manifest.start_time_unix == 1000.0
    # Shelf 1.2 starts 5 ms later: its frames are stamped relative to the same t=0.
    assert decoded[(1, 2)][0][0] == pytest.approx(0.005 + 6 / 60, abs=1e-6)
    layout = StoreLayout(session.config)
    assert sorted(layout.products) == ["tea-20-bags", "tea-20-bags-2"]
    assert [str(r) for r in layout.product_plates["tea-20-bags"]] == ["1.1.1", "1.1.2"]
    assert session.config.store.id == "lab-1"
    assert "truncated_to_common_prefix" not in session.manifest.extra


def test_files_of_different_length_use_the_common_prefix(plates: Path, tmp_path: Path) -> None:
    write_plate(plates, 1, 1, 2, series(n=25, base=-3.21))
    out = import_plates(plates, plates / "planogram.csv", tmp_path / "s")
    session, decoded = decode_session(out)
    assert sum(len(g) for _, g in decoded[(1, 1)]) == 25
    assert sum(len(g) for _, g in decoded[(1, 2)]) == 30
    assert session.manifest.extra["truncated_to_common_prefix"] == {
        "1.1": {"rows": 25, "dropped": {"gondola_1_shelf_1_plate_1.csv": 5}}
    }


def test_small_backward_jitter_is_tolerated(plates: Path, tmp_path: Path) -> None:
    rows = series()
    rows[12] = (rows[11][0] - 0.004, rows[12][1])  # like the real data's batch boundary
    rows1 = [(t, w + 1) for t, w in rows]
    write_plate(plates, 1, 1, 1, rows)
    write_plate(plates, 1, 1, 2, rows1)
    out = import_plates(plates, plates / "planogram.csv", tmp_path / "s", samples_per_frame=1)
    times = [t for t, _ in decode_session(out)[1][(1, 1)]]
    assert times == sorted(times)  # receive times never go backwards


def test_product_slugs() -> None:
    assert product_slug("CHAT DLX MOON PIE CHOC") == "chat-dlx-moon-pie-choc"
    assert product_slug("  Tea: 20 bags! ") == "tea-20-bags"
    assert product_slug("!!!") == "product"


# --- errors name the file (and line) ------------------------------------------------------------


def _rows(text: str):  # type: ignore[no-untyped-def]
    """A mutation that replaces plate 1.1.2's file with ``text``."""

    def mutate(folder: Path) -> Path:
        (folder / "gondola_1_shelf_1_plate_2.csv").write_text(text)
        return folder

    return mutate


def _plate(**kwargs: float):  # type: ignore[no-untyped-def]
    """A mutation that rewrites plate 1.1.2 with a different series."""

    def mutate(folder: Path) -> Path:
        write_plate(folder, 1, 1, 2, series(**kwargs))  # type: ignore[arg-type]
        return folder

    return mutate


def _missing_folder(folder: Path) -> Path:
    return folder / "missing"


def _no_plate_files(folder: Path) -> Path:
    for path in folder.glob("gondola_*"):
        path.unlink()
    return folder


def _bad_name(folder: Path) -> Path:
    (folder / "gondola_1_shelf_x_plate_1.csv").write_text("")
    return folder


@pytest.mark.parametrize(
    ("mutate", "where", "problem"),
    [
        (_missing_folder, "missing", "no such folder"),
        (_no_plate_files, "plates", "no plate files"),
        (_bad_name, "gondola_1_shelf_x_plate_1.csv", "bad plate file name"),
        (_rows("1000.0,1.0\n1000.0166,abc\n"), "plate_2.csv, line 2", "not a number"),
        (_rows("time,grams\n1000.0,1.0\n"), "plate_2.csv, line 1", "no header row"),
        (
            _rows("1000.0,1\n1000.0166,1\n1000.0333,1\n999.0,1\n1000.05,1\n"),
            "plate_2.csv, line 4",
            "time goes backwards",
        ),
        (_rows("1000.0,1\n1000.0,1\n1000.0,1\n"), "plate_2.csv", "timestamps do not increase"),
        (_rows("1000.0,1,2\n"), "plate_2.csv, line 1", "expected 2 values"),
        (_rows("1000.0,nan\n"), "plate_2.csv, line 1", "not a finite number"),
        (
            _plate(t0=1000.2),
            "plate_2.csv, line 1",
            "differs from gondola_1_shelf_1_plate_1.csv",
        ),
        (_plate(base=90000.0), "plate_2.csv, line 1", "outside what a 24-bit channel"),
    ],
)
def test_bad_plate_inputs(plates: Path, tmp_path: Path, mutate, where: str, problem: str) -> None:  # type: ignore[no-untyped-def]
    folder = mutate(plates)
    with pytest.raises(PlatesImportError) as err:
        import_plates(folder, plates / "planogram.csv", tmp_path / "out")
    message = str(err.value)
    assert where in message and problem in message, message
    assert isinstance(err.value, SessionError) and isinstance(err.value, ValueError)
    assert not (tmp_path / "out" / "manifest.json").exists()


@pytest.mark.parametrize(
    ("rows", "where", "problem"),
    [
        (
            [["Name", "Gondola", "Shelf", "Weight", "Price"], ["Tea", "1", "1", "5", "1"]],
            "planogram.csv, line 1",
            "missing column Plate",
        ),
        (
            [*PLANOGRAM_ROWS, ["Coffee", "1", "1", "7", "250", "5.99", ""]],
            "planogram.csv, line 5",
            "names plate 1.1.7 but there is no file gondola_1_shelf_1_plate_7.csv",
        ),
        (
            [*PLANOGRAM_ROWS, ["Coffee", "1", "1", "one", "250", "5.99", ""]],
            "planogram.csv, line 5",
            "Plate is not a number",
        ),
        (
            [*PLANOGRAM_ROWS, ["Coffee", "1", "1", "2", "-1", "5.99", ""]],
            "planogram.csv, line 5",
            "Weight must be more than 0",
        ),
        (
            [*PLANOGRAM_ROWS, ["Coffee", "1", "1", "2", "250", "free", ""]],
            "planogram.csv, line 5",
            "Price is not a number",
        ),
        (
            [*PLANOGRAM_ROWS, ["Coffee", "1", "1", "2", "250", "5.99", ""]],
            "planogram.csv, line 5",
            "plate 1.1.2 already holds 'Tea 20 bags' (line 3)",
        ),
        (
            [*PLANOGRAM_ROWS, ["Tea 20 bags", "1", "2", "1", "60", "2.49", ""]],
            "planogram.csv, line 5",
            "'Tea 20 bags' has weight 60 g",
        ),
        ([PLANOGRAM_ROWS[0]], "planogram.csv", "no product rows"),
    ],
)
def test_bad_planogram(plates: Path, tmp_path: Path, rows, where: str, problem: str) -> None:  # type: ignore[no-untyped-def]
    planogram = write_planogram(plates / "planogram.csv", rows)
    with pytest.raises(PlatesImportError) as err:
        import_plates(plates, planogram, tmp_path / "out")
    message = str(err.value)
    assert where in message and problem in message, message


def test_missing_planogram_file(plates: Path, tmp_path: Path) -> None:
    with pytest.raises(PlatesImportError, match="no such planogram file"):
        import_plates(plates, plates / "nope.csv", tmp_path / "out")


def test_bad_store_id(plates: Path, tmp_path: Path) -> None:
    with pytest.raises(PlatesImportError, match="not a valid store id"):
        import_plates(plates, plates / "planogram.csv", tmp_path / "out", store_id="My Store")


def test_refuses_to_overwrite(plates: Path, tmp_path: Path) -> None:
    import_plates(plates, plates / "planogram.csv", tmp_path / "out")
    with pytest.raises(SessionError, match="not empty"):
        import_plates(plates, plates / "planogram.csv", tmp_path / "out")
    import_plates(plates, plates / "planogram.csv", tmp_path / "out", overwrite=True)
