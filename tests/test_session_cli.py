"""`walkout session info` and `walkout session import-plates` through typer's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from edge.cli.session_cmd import app

runner = CliRunner()


@pytest.fixture
def plates(tmp_path: Path) -> Path:
    folder = tmp_path / "plates"
    folder.mkdir()
    for plate in (1, 2):
        rows = "".join(f"{1000 + i / 60!r},{100.0 * plate + i * 0.01!r}\n" for i in range(120))
        (folder / f"gondola_2_shelf_1_plate_{plate}.csv").write_text(rows)
    (folder / "planogram.csv").write_text(
        "Name,Gondola,Shelf,Plate,Weight,Price\nSoup,2,1,1,400,1.99\nSoup,2,1,2,400,1.99\n"
    )
    return folder


def _import(plates: Path, out: Path, *extra: str):  # type: ignore[no-untyped-def]
    args = ["import-plates", str(plates), "--planogram", str(plates / "planogram.csv")]
    return runner.invoke(app, [*args, "--out", str(out), "--quiet", *extra])


def test_import_then_info(plates: Path, tmp_path: Path) -> None:
    out = tmp_path / "session"
    result = _import(plates, out, "--store-id", "cli-test", "--samples-per-frame", "6")
    assert result.exit_code == 0, result.output
    assert f"wrote {out}" in result.output

    result = runner.invoke(app, ["info", str(out), "--verify"])
    assert result.exit_code == 0, result.output
    assert "cli-test" in result.output and "files verified" in result.output

    result = runner.invoke(app, ["info", str(out), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["store_id"] == "cli-test"
    assert summary["shelf"][0]["sample_frames"] == 20
    assert summary["shelf"][0]["plates"] == 2
    assert summary["verified"] is None


@pytest.mark.parametrize(
    "args",
    [
        ["info", "/nonexistent/session"],
        ["import-plates", "/nonexistent/plates", "--planogram", "x.csv", "--out", "/tmp/never"],
    ],
)
def test_bad_input_is_a_clean_error(args: list[str]) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 1
    assert "error:" in result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_bad_row_is_a_clean_error_naming_file_and_line(plates: Path, tmp_path: Path) -> None:
    (plates / "gondola_2_shelf_1_plate_2.csv").write_text("1000.0,12\n1000.0166,twelve\n")
    result = _import(plates, tmp_path / "out")
    assert result.exit_code == 1
    assert "error:" in result.output and "Traceback" not in result.output
    assert "gondola_2_shelf_1_plate_2.csv, line 2" in result.output


def test_existing_output_needs_overwrite(plates: Path, tmp_path: Path) -> None:
    out = tmp_path / "session"
    assert _import(plates, out).exit_code == 0
    result = _import(plates, out)
    assert result.exit_code == 1 and "not empty" in result.output
    assert _import(plates, out, "--overwrite").exit_code == 0


def test_corrupt_session_fails_verify(plates: Path, tmp_path: Path) -> None:
    out = tmp_path / "session"
    assert _import(plates, out).exit_code == 0
    wsr = next((out / "shelf").glob("*.wsr"))
    data = bytearray(wsr.read_bytes())
    data[-1] ^= 1
    wsr.write_bytes(bytes(data))
    assert runner.invoke(app, ["info", str(out)]).exit_code == 0
    result = runner.invoke(app, ["info", str(out), "--verify"])
    assert result.exit_code == 1
    assert "sha256 mismatch" in result.output and "Traceback" not in result.output
