"""Store config: presets validate; every kind of mistake names the file, line and key path."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from edge.cli.main import app
from edge.config import ConfigError, load_store_config, load_store_config_text, resolve_store
from edge.config.layout import PlateRef, StoreLayout, point_in_polygon
from edge.config.loader import preset_names
from sim.stores import PRESETS, render_preset

runner = CliRunner()


def small_text() -> str:
    return resolve_store("small")[1]


@pytest.mark.parametrize(
    ("name", "gondolas", "plates", "min_products"),
    [("small", 1, 48, 20), ("medium", 6, 360, 100), ("large", 24, 1440, 500)],
)
def test_presets_validate_with_expected_size(name, gondolas, plates, min_products):
    config = load_store_config(name)
    layout = StoreLayout(config)
    assert len(config.gondolas) == gondolas
    assert len(layout.plates) == plates
    assert len(config.products) >= min_products
    # Every product is stocked somewhere, and some straddle plates.
    assert set(layout.product_plates) == {p.id for p in config.products}
    assert any(len(refs) >= 2 for refs in layout.product_plates.values())


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_shipped_presets_match_their_generator(name):
    assert resolve_store(name)[1] == render_preset(name), (
        f"edge/config/stores/{name}.yaml is stale: run `python -m sim.stores --write`"
    )


def test_preset_names_are_listed():
    assert preset_names() == ["large", "medium", "small"]


def test_same_weight_pairs_exist_on_one_shelf():
    layout = StoreLayout(load_store_config("medium"))
    by_shelf: dict[tuple[int, int], list[float]] = {}
    for pid, refs in layout.product_plates.items():
        by_shelf.setdefault((refs[0].gondola, refs[0].shelf), []).append(
            layout.products[pid].weight_g
        )
    assert any(len(ws) != len(set(ws)) for ws in by_shelf.values())


# (edit to apply to the small preset, expected line, expected key path, expected text)
MISTAKES = [
    (
        lambda t: t.replace("  depth_m: 0.5\n", "  depthm: 0.5\n", 1),
        17,
        "gondolas[0].depthm",
        "unknown key",
    ),
    (
        lambda t: t.replace("  depth_m: 0.5\n", "", 1),
        13,
        "gondolas[0].depth_m",
        "required key is missing",
    ),
    (
        lambda t: t.replace("baud: 460800", "baud: -5", 1),
        24,
        "gondolas[0].shelves[0].controller.baud",
        "greater than 0",
    ),
    (
        lambda t: t.replace("type: serial-walkout-lc1", "type: serial-acme", 1),
        22,
        "gondolas[0].shelves[0].controller.type",
        "unknown driver type (known: 'serial-walkout-lc1')",
    ),
    (
        lambda t: t.replace("{type: opencv, id: cam-1", "{type: gstreamer, id: cam-1", 1),
        369,
        "cameras[0].type",
        "unknown driver type (known: 'opencv')",
    ),
    (
        lambda t: t.replace(
            "  readers: [Virtual PCD 00 00]\n",
            "  readers: [Virtual PCD 00 00]\n  reader_driver: {type: libnfc}\n",
            1,
        ),
        364,
        "gates[0].reader_driver.type",
        "unknown driver type (known: 'pcsc')",
    ),
    (
        lambda t: t.replace("plates: [1.2.1, 1.2.2, 1.2.3]", "plates: [1.2.1, 1.2.2, 1.2.13]", 1),
        291,
        "planogram[9].plates[2]",
        "plate does not exist",
    ),
    (
        lambda t: t.replace("- product: P0003", "- product: P9999", 1),
        269,
        "planogram[2].product",
        "no product with this id",
    ),
    (
        lambda t: t.replace("plates: [1.2.1, 1.2.2, 1.2.3]", "plates: [1.2.1, 1.3.2]", 1),
        291,
        "planogram[9].plates",
        "one shelf",
    ),
    (
        lambda t: t.replace("  width_m: 7.0\n", "  width_m: 7.0\n  width_m: 8.0\n", 1),
        11,
        "floor.width_m",
        "duplicate key",
    ),
    (
        lambda t: t.replace("price: '2.54'", "price: 'cheap'", 1),
        104,
        "products[0].price",
        "decimal",
    ),
    (
        lambda t: t.replace("kind: exit", "kind: entry", 1),
        None,
        "gates",
        "no exit gate",
    ),
]


@pytest.mark.parametrize(("edit", "line", "path", "text"), MISTAKES)
def test_mistakes_name_file_line_and_key_path(edit, line, path, text):
    broken = edit(small_text())
    assert broken != small_text(), "the edit did not apply: the test table is stale"
    with pytest.raises(ConfigError) as info:
        load_store_config_text(broken, source="store.yaml")
    rendered = str(info.value)
    assert path in rendered
    assert text in rendered.lower() or text in rendered
    if line is not None:
        assert f"store.yaml:{line}:" in rendered, rendered


def test_yaml_syntax_error_has_line_and_column():
    with pytest.raises(ConfigError) as info:
        load_store_config_text("version: 1\nstore: [a, b\nfloor: {}\n", source="s.yaml")
    assert "s.yaml:3:" in str(info.value)
    assert "YAML syntax error" in str(info.value)


@pytest.mark.parametrize("text", ["", "just a string", "- 1\n- 2\n"])
def test_non_mapping_documents_are_rejected(text):
    with pytest.raises(ConfigError):
        load_store_config_text(text, source="x.yaml")


def test_all_problems_are_reported_at_once():
    broken = (
        small_text().replace("baud: 460800", "baud: -5").replace("height_m: 0.15", "height_m: -1")
    )
    with pytest.raises(ConfigError) as info:
        load_store_config_text(broken, source="s.yaml")
    assert len(info.value.issues) >= 5


def test_plate_geometry_runs_along_the_gondola():
    layout = StoreLayout(load_store_config("small"))
    first = layout.plate_geometry[PlateRef(1, 1, 1)]
    last = layout.plate_geometry[PlateRef(1, 1, 12)]
    # Small store: gondola at (1.7, 3.0), rotation 0, 12 plates of 0.3 m, front faces -y.
    assert first.front_xy == pytest.approx((1.85, 3.0))
    assert last.front_xy == pytest.approx((1.7 + 3.6 - 0.15, 3.0))
    stand = layout.standing_point(PlateRef(1, 1, 1))
    assert stand[1] < 3.0  # shoppers stand in front (lower y)


def test_rotated_gondola_faces_the_other_way():
    layout = StoreLayout(load_store_config("medium"))
    # Gondola 2 is back to back with gondola 1 (rotation 180): its front is at higher y.
    g1 = layout.plate_geometry[PlateRef(1, 1, 1)]
    g2 = layout.plate_geometry[PlateRef(2, 1, 1)]
    assert g2.front_xy[1] > g2.center_xy[1] > g1.center_xy[1] > g1.front_xy[1]


@pytest.mark.parametrize(
    ("point", "inside"), [((0.5, 0.5), True), ((1.6, 0.5), False), ((0.5, 1.3), False)]
)
def test_point_in_gate_zone(point, inside):
    zone = [(0.0, 0.0), (1.5, 0.0), (1.5, 1.2), (0.0, 1.2)]
    assert point_in_polygon(point, zone) is inside


def test_cli_validate_ok_and_error(tmp_path):
    ok = runner.invoke(app, ["config", "validate", "medium"])
    assert ok.exit_code == 0, ok.output
    assert "360 plates" in ok.output
    bad = tmp_path / "store.yaml"
    bad.write_text(small_text().replace("  depth_m: 0.5\n", "  depthm: 0.5\n", 1))
    result = runner.invoke(app, ["config", "validate", str(bad)])
    assert result.exit_code == 1
    assert f"{bad}:17:3: gondolas[0].depthm: unknown key" in result.output
    assert "Traceback" not in result.output


def test_cli_validate_missing_file():
    result = runner.invoke(app, ["config", "validate", "no/such/store.yaml"])
    assert result.exit_code == 1
    assert "no such config file" in result.output


def test_cli_schema_describes_every_field():
    result = runner.invoke(app, ["config", "schema"])
    assert result.exit_code == 0
    schema = json.loads(result.output)

    def walk(node, where):
        if isinstance(node, dict):
            for name, prop in node.get("properties", {}).items():
                assert "description" in prop or "$ref" in prop or "allOf" in prop, f"{where}.{name}"
            for key, value in node.items():
                walk(value, f"{where}.{key}")
        elif isinstance(node, list):
            for item in node:
                walk(item, where)

    walk(schema, "schema")
    assert schema["additionalProperties"] is False


def test_cli_version():
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.startswith("walkout ")


def test_configs_without_driver_types_still_read_as_before():
    """Configs written before drivers were typed plugins: a controller names only its protocol,
    a camera has no type. They read as the types they always meant."""
    text = resolve_store("small")[1]
    old = text.replace("type: serial-walkout-lc1", "protocol: walkout-lc1").replace(
        "{type: opencv, id:", "{id:"
    )
    assert "type: serial-walkout-lc1" not in old and "type: opencv" not in old
    config = load_store_config_text(old)
    assert config == load_store_config_text(text)
    assert config.gondolas[0].shelves[0].controller.type == "serial-walkout-lc1"
    assert {c.type for c in config.cameras} == {"opencv"}
    assert {g.reader_driver.type for g in config.gates} == {"pcsc"}
