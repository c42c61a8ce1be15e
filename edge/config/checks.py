"""Cross-reference checks a field validator cannot make: ids unique, planogram references real.

Each issue is (key path, message, offending value) so the loader can point at the exact line.
"""

from __future__ import annotations

from collections.abc import Iterator

from edge.config.models import PLATE_REF_PATTERN, StoreConfig

KeyPath = tuple[str | int, ...]
Issue = tuple[KeyPath, str, object]


def cross_reference_issues(config: StoreConfig) -> list[Issue]:
    """Every cross-reference problem in a config that passed field validation."""
    return [
        *_duplicate_ids(config),
        *_planogram_issues(config),
        *_gate_issues(config),
        *_geometry_issues(config),
        *_tag_prefix_issues(config),
    ]


def _tag_prefix_issues(config: StoreConfig) -> Iterator[Issue]:
    """A tag must name one product: no prefix may start another product's prefix."""
    tagged = [(i, p.rfid_tag_prefix) for i, p in enumerate(config.products) if p.rfid_tag_prefix]
    for i, prefix in tagged:
        for j, other in tagged:
            if j != i and other.startswith(prefix) and (other != prefix or j < i):
                yield (
                    ("products", i, "rfid_tag_prefix"),
                    f"tag prefix also matches the tags of products[{j}] ({other}): a tag would "
                    "name two products",
                    prefix,
                )
                break


def _first_duplicates(items: list[object], path: KeyPath, what: str) -> Iterator[Issue]:
    seen: dict[object, int] = {}
    for index, key in enumerate(items):
        if key in seen:
            yield (*path, index), f"duplicate {what} (first used at index {seen[key]})", key
        else:
            seen[key] = index


def _duplicate_ids(config: StoreConfig) -> Iterator[Issue]:
    yield from (
        ((*p[:-1], p[-1], "id"), m, v)
        for p, m, v in _first_duplicates(
            [g.id for g in config.gondolas], ("gondolas",), "gondola id"
        )
    )
    boards: dict[tuple[str, int], KeyPath] = {}
    for gi, gondola in enumerate(config.gondolas):
        for p, m, v in _first_duplicates(
            [s.id for s in gondola.shelves], ("gondolas", gi, "shelves"), "shelf id"
        ):
            yield (*p, "id"), m, v
        for si, shelf in enumerate(gondola.shelves):
            for p, m, v in _first_duplicates(
                [pl.id for pl in shelf.plates],
                ("gondolas", gi, "shelves", si, "plates"),
                "plate id",
            ):
                yield (*p, "id"), m, v
            key = (shelf.controller.port, shelf.controller.board_id)
            here: KeyPath = ("gondolas", gi, "shelves", si, "controller", "port")
            if key in boards:
                yield here, "two shelves share this controller port and board id", key[0]
            boards[key] = here
    for p, m, v in _first_duplicates(
        [product.id for product in config.products], ("products",), "product id"
    ):
        yield (*p, "id"), m, v
    for p, m, v in _first_duplicates([gate.id for gate in config.gates], ("gates",), "gate id"):
        yield (*p, "id"), m, v
    for p, m, v in _first_duplicates([cam.id for cam in config.cameras], ("cameras",), "camera id"):
        yield (*p, "id"), m, v


def _planogram_issues(config: StoreConfig) -> Iterator[Issue]:
    products = {product.id for product in config.products}
    shelves = {(g.id, s.id): {p.id for p in s.plates} for g in config.gondolas for s in g.shelves}
    owner: dict[str, tuple[str, int]] = {}
    for ei, entry in enumerate(config.planogram):
        if entry.product not in products:
            yield ("planogram", ei, "product"), "no product with this id", entry.product
        shelf_keys = set()
        for pi, ref in enumerate(entry.plates):
            path: KeyPath = ("planogram", ei, "plates", pi)
            match = PLATE_REF_PATTERN.match(ref)
            assert match is not None  # the field validator guarantees the form
            g, s, p = (int(x) for x in match.groups())
            shelf_keys.add((g, s))
            if (g, s) not in shelves:
                yield path, f"gondola {g} has no shelf {s} (or there is no gondola {g})", ref
            elif p not in shelves[(g, s)]:
                have = sorted(shelves[(g, s)])
                yield path, f"plate does not exist (gondola {g} shelf {s} has plates {have})", ref
            elif ref in owner and owner[ref][0] != entry.product:
                other, other_index = owner[ref]
                yield (
                    path,
                    f"plate already holds product {other!r} (planogram[{other_index}]); "
                    "one plate holds one product",
                    ref,
                )
            else:
                owner[ref] = (entry.product, ei)
        if len(shelf_keys) > 1:
            yield (
                ("planogram", ei, "plates"),
                "a product's plates must be on one shelf",
                entry.plates,
            )


def _gate_issues(config: StoreConfig) -> Iterator[Issue]:
    readers: dict[str, int] = {}
    for gi, gate in enumerate(config.gates):
        for ri, reader in enumerate(gate.readers):
            if reader in readers and readers[reader] != gi:
                yield ("gates", gi, "readers", ri), "reader already belongs to another gate", reader
            readers[reader] = gi
    kinds = {gate.kind for gate in config.gates}
    if config.gates and not kinds & {"entry", "both"}:
        yield ("gates",), "no entry gate: visits could never start", [g.id for g in config.gates]
    if config.gates and not kinds & {"exit", "both"}:
        yield ("gates",), "no exit gate: carts could never settle", [g.id for g in config.gates]


def _geometry_issues(config: StoreConfig) -> Iterator[Issue]:
    for gi, gondola in enumerate(config.gondolas):
        for si, shelf in enumerate(gondola.shelves):
            widths = [p.width_m for p in shelf.plates if p.width_m is not None]
            if sum(widths) > gondola.length_m + 1e-9:
                yield (
                    ("gondolas", gi, "shelves", si, "plates"),
                    f"plate widths add up to {sum(widths):.3f} m, more than the gondola's "
                    f"length of {gondola.length_m} m",
                    widths,
                )
