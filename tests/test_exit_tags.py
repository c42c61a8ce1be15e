"""Item tags read at the exit (edge/fusion/tags.py): they confirm or add tagged products on the
receipt of the shopper leaving; a tagged product taken by weight but not read stays as is."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from edge.carts.cart import Cart, CartEvent
from edge.cli.main import app
from edge.config import load_store_config_text, resolve_store
from edge.config.layout import StoreLayout
from edge.fusion.tags import ExitTags
from edge.tracks.store import TrackStore
from edge.visits.manager import Visit, VisitManager

TAGGED_SCENARIO = """\
name: tagged-exit
description: Two shoppers take tagged high-value items; the exit reader reads their tags.
store: small
duration_s: 5
arrivals: {rate_per_min: 8, count: 2, first_s: 1.0}
shopper: {items_mean: 2, items_max: 2, exit_tap_probability: 0.0,
          leave_empty_probability: 0.0, exit_tag_read_probability: 1.0}
behaviour: {browse_put_back: 0.0, put_back_wrong_plate: 0.0, multi_unit: 0.0, slow_pick: 0.0,
            product_filter: tagged}
"""


@pytest.fixture(scope="module")
def layout() -> StoreLayout:
    return StoreLayout(load_store_config_text(resolve_store("small")[1]))


def _tagged(layout: StoreLayout) -> list[tuple[str, str]]:
    return [(p.id, p.rfid_tag_prefix) for p in layout.config.products if p.rfid_tag_prefix]


def _exit_reader(layout: StoreLayout) -> tuple[str, tuple[float, float]]:
    gate = next(g for g in layout.config.gates if g.kind == "exit")
    xs = [x for x, _ in gate.zone]
    ys = [y for _, y in gate.zone]
    return gate.readers[0], (sum(xs) / len(xs), sum(ys) / len(ys))


def _store_with_shopper_at_exit(
    layout: StoreLayout, at_exit: bool
) -> tuple[VisitManager, TrackStore]:
    visits = VisitManager(layout)
    tracks = TrackStore()
    _, (cx, cy) = _exit_reader(layout)
    x, y = (cx, cy) if at_exit else (3.0, 3.0)
    tracks.update(10.0, [(7, x, y, ())])
    visits.visits["v0001"] = Visit("v0001", "04AA", "r", 1.0, track_ids={7}, live_tracks={7})
    return visits, tracks


def test_tag_reads_confirm_what_the_shelves_saw_and_add_what_they_missed(layout) -> None:
    (p1, prefix1), (p2, _) = _tagged(layout)[:2]
    reader, _ = _exit_reader(layout)
    visits, tracks = _store_with_shopper_at_exit(layout, at_exit=True)
    tags = ExitTags(layout)
    read = [
        tags.on_read(10.0, reader, "tag", uid, "insert", visits, tracks)
        for uid in (f"{prefix1}0001", f"{prefix1}0002", f"{prefix1}0001")  # the last: again
    ]
    assert [r[0]["visit_id"] for r in read] == ["v0001"] * 3
    assert read[0][0]["product_id"] == p1
    cart = Cart("v0001")
    cart.add(CartEvent("l00001", 5.0, p1, 1, 0.8, {"shelf_event_id": "s1"}))
    cart.add(CartEvent("l00002", 6.0, p2, 1, 0.9, {"shelf_event_id": "s2"}))  # not read
    ids = iter(["l00003", "l00004"])
    out = tags.settle("v0001", cart, 11.0, lambda: next(ids))
    # Two distinct tags of p1, one unit by weight: one confirmed, one added.
    assert [
        (e["type"], e["product_id"], e["tag"]) for e in out if e["type"] == "tag_confirmed"
    ] == [("tag_confirmed", p1, f"{prefix1}0001")]
    added = [e for e in out if e["type"] == "cart_line_added"]
    assert [(e["line_id"], e["product_id"], e["quantity"]) for e in added] == [("l00003", p1, 1)]
    assert added[0]["evidence"] == {"source": "rfid", "tag": f"{prefix1}0002", "reader": reader}
    assert cart.quantities() == {p1: 2, p2: 1}  # p2: taken by weight, not read, kept as it is
    sources = [e.get("source", "weight") for e in cart.evidence_for(p1)]
    assert sources == ["weight", "rfid", "rfid"]
    assert tags.settle("v0001", cart, 12.0, lambda: next(ids)) == []  # applied once


def test_tag_reads_that_cannot_be_used_are_counted(layout) -> None:
    (_, prefix), *_ = _tagged(layout)
    reader, _ = _exit_reader(layout)
    entry_reader = next(g for g in layout.config.gates if g.kind == "entry").readers[0]
    visits, tracks = _store_with_shopper_at_exit(layout, at_exit=False)
    tags = ExitTags(layout)
    nobody = tags.on_read(10.0, reader, "tag", f"{prefix}0001", "insert", visits, tracks)
    assert nobody[0]["visit_id"] is None
    unknown = tags.on_read(10.0, reader, "tag", "0BADBEEF", "insert", visits, tracks)
    assert unknown[0]["product_id"] is None
    assert tags.on_read(10.0, entry_reader, "tag", f"{prefix}01", "insert", visits, tracks) == []
    assert tags.on_read(10.0, reader, "card", f"{prefix}01", "insert", visits, tracks) == []
    assert tags.faults == {
        "item tag read with no shopper at the exit": 1,
        "item tag of no tagged product": 1,
    }
    assert tags.seen == {}


def test_overlapping_tag_prefixes_are_a_config_error() -> None:
    from edge.config import ConfigError

    text = resolve_store("small")[1]
    first = text.index("rfid_tag_prefix: ")
    prefix = text[first + len("rfid_tag_prefix: ") : text.index("\n", first)]
    second = text.index("rfid_tag_prefix: ", first + 1)
    end = text.index("\n", second)
    bad = text[:second] + f"rfid_tag_prefix: {prefix[:-1]}" + text[end:]
    with pytest.raises(ConfigError, match="tag prefix also matches the tags of products"):
        load_store_config_text(bad, source="store.yaml")


def test_simulated_tag_reads_end_up_as_rfid_evidence_on_the_receipts(tmp_path: Path) -> None:
    """End to end in replay: the simulator reads the tagged units at the exit, the receipts
    have exactly the true items with RFID evidence on every tagged line; replay is still
    byte-identical."""
    from sim.generate import generate_session

    scenario = tmp_path / "tagged.yaml"
    scenario.write_text(TAGGED_SCENARIO)
    generate_session(str(scenario), 1, tmp_path / "s")
    reads = [json.loads(x) for x in (tmp_path / "s" / "reads.jsonl").read_text().splitlines()]
    tag_reads = [r for r in reads if r["kind"] == "tag" and r["event"] == "insert"]
    assert len(tag_reads) == 3
    outs = []
    for run in ("a", "b"):
        result = CliRunner().invoke(
            app, ["edge", "replay", str(tmp_path / "s"), "--out", str(tmp_path / run)]
        )
        assert result.exit_code == 0, result.output
        outs.append((tmp_path / run / "events.jsonl").read_bytes())
    assert outs[0] == outs[1]
    receipts = [json.loads(x) for x in (tmp_path / "a" / "receipts.jsonl").read_text().splitlines()]
    truth = json.loads((tmp_path / "s" / "truth" / "truth.json").read_text())
    got = sorted(sorted((ln["product_id"], ln["quantity"]) for ln in r["lines"]) for r in receipts)
    want = sorted(
        sorted((ln["product_id"], ln["quantity"]) for ln in r["lines"]) for r in truth["receipts"]
    )
    assert got == want
    rfid = sorted(
        e["tag"]
        for r in receipts
        for ln in r["lines"]
        for e in ln["evidence"]
        if e.get("source") == "rfid"
    )
    assert rfid == sorted(r["uid"] for r in tag_reads)
    events = [json.loads(x) for x in outs[0].decode().splitlines()]
    assert sum(e["type"] == "tag_confirmed" for e in events) == 3
