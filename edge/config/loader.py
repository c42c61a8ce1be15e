"""Load a store config from YAML, reporting every problem with file, line and key path.

PyYAML's composer keeps the position of every node, so we compose the document once, build a
map from key path to line, and translate pydantic's error locations through it.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from edge.config.checks import cross_reference_issues
from edge.config.errors import ConfigError, ConfigIssue
from edge.config.models import (
    CAMERA_TYPES,
    CONTROLLER_TYPES,
    READER_TYPES,
    TRACK_SOURCE_TYPES,
    StoreConfig,
)

PRESETS_PACKAGE = "edge.config.stores"

KeyPath = tuple[str | int, ...]

# Discriminated unions put the tag value ("serial-walkout-lc1") into error locations; not a key.
UNION_TAGS = frozenset(CONTROLLER_TYPES + CAMERA_TYPES + READER_TYPES + TRACK_SOURCE_TYPES)


def preset_names() -> list[str]:
    """Names of the example stores shipped with Walkout (small, medium, large)."""
    folder = resources.files(PRESETS_PACKAGE)
    return sorted(
        p.name.removesuffix(".yaml") for p in folder.iterdir() if p.name.endswith(".yaml")
    )


def resolve_store(name_or_path: str) -> tuple[str, str]:
    """Return (display name, YAML text) for a preset name or a config file path."""
    if name_or_path in preset_names():
        text = resources.files(PRESETS_PACKAGE).joinpath(f"{name_or_path}.yaml").read_text()
        return f"<preset {name_or_path}>", text
    path = Path(name_or_path)
    if not path.is_file():
        presets = ", ".join(preset_names())
        raise ConfigError(
            [
                ConfigIssue(
                    file=name_or_path,
                    line=None,
                    column=None,
                    path=(),
                    message=f"no such config file, and not a preset name ({presets})",
                )
            ]
        )
    return str(path), path.read_text(encoding="utf-8")


def load_store_config(name_or_path: str | Path) -> StoreConfig:
    """Load and validate a store config from a file path or a preset name."""
    source, text = resolve_store(str(name_or_path))
    return load_store_config_text(text, source=source)


def load_store_config_text(text: str, *, source: str = "<string>") -> StoreConfig:
    """Validate YAML text as a store config; raise ConfigError listing every problem."""
    try:
        positions, data = _load_with_positions(text, source)
    except yaml.YAMLError as exc:
        raise ConfigError([yaml_issue(exc, source)]) from None
    if not isinstance(data, dict):
        raise ConfigError(
            [ConfigIssue(source, 1, 1, (), "the top level must be a mapping of keys to values")]
        )
    try:
        config = StoreConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(validation_issues(exc, source, positions, data)) from None

    problems = [
        _issue_at(source, positions, path, message, value=value, has_value=True)
        for path, message, value in cross_reference_issues(config)
    ]
    if problems:
        raise ConfigError(problems)
    return config


def line_index(text: str, source: str) -> dict[KeyPath, tuple[int, int]]:
    """Map every key path in a YAML document to its (line, column), 1-based.

    Raises yaml.YAMLError on a syntax error and ConfigError on an empty document or a
    duplicate key, which plain YAML loading would silently accept.
    """
    return _index_root(yaml.compose(text, Loader=yaml.SafeLoader), source)


def _index_root(root: yaml.Node | None, source: str) -> dict[KeyPath, tuple[int, int]]:
    if root is None:
        raise ConfigError([ConfigIssue(source, None, None, (), "the file is empty")])
    positions: dict[KeyPath, tuple[int, int]] = {}
    duplicates: list[ConfigIssue] = []
    _index_nodes(root, (), positions, duplicates, source)
    if duplicates:
        raise ConfigError(duplicates)
    return positions


def _load_with_positions(text: str, source: str) -> tuple[dict[KeyPath, tuple[int, int]], Any]:
    """`line_index` and `yaml.safe_load` from one parse: the composed node tree is indexed, then
    constructed (parsing twice was half of loading a store config, which every replay does).
    Indexed before constructing: construction flattens merge keys in the nodes."""
    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
        positions = _index_root(root, source)
        return positions, loader.construct_document(root)
    finally:
        loader.dispose()


def yaml_issue(exc: yaml.YAMLError, source: str) -> ConfigIssue:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    context = getattr(exc, "context", None)
    message = f"YAML syntax error: {problem}" + (f" ({context})" if context else "")
    if mark is None:
        return ConfigIssue(source, None, None, (), message)
    return ConfigIssue(source, mark.line + 1, mark.column + 1, (), message)


def _index_nodes(
    node: yaml.Node,
    path: KeyPath,
    positions: dict[KeyPath, tuple[int, int]],
    duplicates: list[ConfigIssue],
    source: str,
) -> None:
    positions[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = key_node.value
            if key in seen:
                duplicates.append(
                    ConfigIssue(
                        source,
                        key_node.start_mark.line + 1,
                        key_node.start_mark.column + 1,
                        (*path, key),
                        "duplicate key (YAML would silently keep only the last one)",
                    )
                )
            seen.add(key)
            # The key's own line is where a reader looks for a problem with its value.
            _index_nodes(value_node, (*path, key), positions, duplicates, source)
            positions[(*path, key)] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _index_nodes(item, (*path, index), positions, duplicates, source)


def _issue_at(
    source: str,
    positions: dict[KeyPath, tuple[int, int]],
    path: KeyPath,
    message: str,
    *,
    value: object = None,
    has_value: bool = False,
) -> ConfigIssue:
    # A missing key has no line of its own: point at the nearest enclosing node that exists.
    probe = path
    while probe not in positions and probe:
        probe = probe[:-1]
    line, column = positions.get(probe, (None, None))
    return ConfigIssue(source, line, column, path, message, value=value, has_value=has_value)


def _lookup(data: Any, path: KeyPath) -> tuple[bool, Any]:
    current = data
    for part in path:
        try:
            current = current[part]
        except (KeyError, IndexError, TypeError):
            return False, None
    return True, current


def validation_issues(
    exc: ValidationError, source: str, positions: dict[KeyPath, tuple[int, int]], data: Any
) -> list[ConfigIssue]:
    issues = []
    for error in exc.errors(include_url=False):
        # Discriminated unions add the tag name ("walkout-lc1") to the location: drop it, it is
        # not a key the user wrote.
        path = tuple(part for part in error["loc"] if part not in UNION_TAGS)
        found, value = _lookup(data, path)
        message = error["msg"]
        if error["type"] == "extra_forbidden":
            message = "unknown key (check the spelling; `walkout config schema` lists valid keys)"
        elif error["type"] == "union_tag_invalid":
            # Every driver kind (shelf controller, camera, reader, track source) is a plugin
            # chosen by its `type`.
            ctx = error.get("ctx", {})
            path = (*path, ctx.get("discriminator", "'type'").strip("'"))
            found, value = _lookup(data, path)
            message = f"unknown driver type (known: {ctx.get('expected_tags', '')})"
        elif error["type"] == "union_tag_not_found":
            ctx = error.get("ctx", {})
            message = (
                f"no driver type: give `{ctx.get('discriminator', 'type').strip(chr(39))}` "
                "(see `walkout config schema` for the known types)"
            )
        elif error["type"] == "missing":
            message = "required key is missing"
            found = False
        issues.append(_issue_at(source, positions, path, message, value=value, has_value=found))
    return issues
