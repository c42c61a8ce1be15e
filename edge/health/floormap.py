"""The store's floor map as inline SVG: gondolas, gates, plates coloured by state, people.

Shared by the edge's local status page (edge/health/server.py) and the cloud dashboard
(cloud/dashboard/): both draw the same plan from the store config, the edge from its live status
snapshot, the cloud from the last heartbeat's store state. Pure: no I/O, no clock.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from edge.config.layout import PlateRef, gondola_to_floor

# A plate that reports nothing usable is red; one that still weighs but badly is amber.
RED_FAULTS = frozenset({"stuck", "dead", "saturated", "frozen"})
AMBER_FAULTS = frozenset({"noisy", "drifting"})
COLOURS = {"ok": "#3a3", "red": "#d11", "amber": "#e69500"}


@dataclass(frozen=True)
class Person:
    """A person track on the map; `visit_id` empty when the track is bound to no visit."""

    track_id: int
    x_m: float
    y_m: float
    visit_id: str = ""


def plate_colour(kind: str | None) -> str:
    """The map colour of a plate with fault `kind` (None: working)."""
    if kind is None:
        return COLOURS["ok"]
    return COLOURS["amber"] if kind in AMBER_FAULTS else COLOURS["red"]


def floor_map(
    layout: Any,
    plate_faults: Mapping[str, str],
    people: Iterable[Person] = (),
    width_px: int = 640,
) -> str:
    """An SVG plan: gates (entry blue, exit orange, with their readers), gondolas, each plate
    along its shelf coloured by `plate_faults` ("G.S.P" -> kind), and people as dots labelled
    with their visit id (or the track id when unbound). Empty string without a layout."""
    if layout is None:
        return ""
    e = html.escape
    cfg = layout.config
    fw, fd = cfg.floor.width_m, cfg.floor.depth_m
    scale = width_px / fw
    height_px = int(fd * scale) + 1

    def pt(p: tuple[float, float]) -> tuple[float, float]:
        # Floor y grows away from the entrance wall: draw it upwards, like the plan.
        return round(p[0] * scale, 1), round(height_px - p[1] * scale, 1)

    def xy(p: tuple[float, float]) -> str:
        x, y = pt(p)
        return f"{x},{y}"

    parts = [f'<rect width="{width_px}" height="{height_px}" fill="#f7f7f2" stroke="#999"/>']
    for gate in cfg.gates:
        pts = " ".join(xy(p) for p in gate.zone)
        colour = "#cfe8ff" if gate.kind != "exit" else "#ffe2c6"
        readers = ", ".join(gate.readers)
        parts.append(
            f'<polygon points="{pts}" fill="{colour}" class="gate">'
            f"<title>gate {e(gate.id)} ({e(gate.kind)}): {e(readers)}</title></polygon>"
        )
        cx = sum(p[0] for p in gate.zone) / len(gate.zone)
        cy = sum(p[1] for p in gate.zone) / len(gate.zone)
        x, y = pt((cx, cy))
        parts.append(
            f'<text x="{x}" y="{y}" font-size="10" text-anchor="middle" fill="#345">'
            f"{e(gate.id)}</text>"
        )
    for g in cfg.gondolas:
        corners = [(0, 0), (g.length_m, 0), (g.length_m, g.depth_m), (0, g.depth_m)]
        pts = " ".join(xy(gondola_to_floor(g, u, v)) for u, v in corners)
        parts.append(
            f'<polygon points="{pts}" fill="#ddd" stroke="#666"><title>gondola {g.id}</title>'
            "</polygon>"
        )
        for shelf in g.shelves:
            v = g.depth_m * (0.1 + 0.8 * (shelf.id - 0.5) / len(g.shelves))
            for plate in shelf.plates:
                ref = PlateRef(g.id, shelf.id, plate.id)
                geo = layout.plate_geometry[ref]
                (x1, y1) = pt(gondola_to_floor(g, geo.u_start_m + 0.01, v))
                (x2, y2) = pt(gondola_to_floor(g, geo.u_end_m - 0.01, v))
                kind = plate_faults.get(str(ref))
                state = "ok" if kind is None else kind
                parts.append(
                    f'<line x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}" class="plate" '
                    f'data-plate="{ref}" data-state="{e(state)}" stroke="{plate_colour(kind)}" '
                    f'stroke-width="{2 if kind is None else 4}"><title>plate {ref}: {e(state)}'
                    "</title></line>"
                )
    for person in people:
        x, y = pt((person.x_m, person.y_m))
        label = person.visit_id or f"track {person.track_id}"
        fill = "#1f5fbf" if person.visit_id else "#888"
        parts.append(
            f'<g class="person" data-track="{person.track_id}" data-visit="{e(person.visit_id)}">'
            f'<circle cx="{x}" cy="{y}" r="6" fill="{fill}" stroke="#fff" stroke-width="1.5"/>'
            f'<text x="{x + 8}" y="{y - 6}" font-size="10" fill="#123">{e(label)}</text>'
            f"<title>track {person.track_id}"
            f"{' · visit ' + e(person.visit_id) if person.visit_id else ''} at "
            f"({person.x_m:.2f}, {person.y_m:.2f}) m</title></g>"
        )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width_px}" height="{height_px}" '
        f'viewBox="0 0 {width_px} {height_px}" role="img" aria-label="store floor map">'
        f"{''.join(parts)}</svg>"
    )


def people_from_status(status: Mapping[str, Any]) -> list[Person]:
    """People of a live status snapshot (`LiveRuntime.status()`): tracks with their visits."""
    by_track = {
        tid: vid for vid, tids in (status.get("visit_tracks") or {}).items() for tid in tids
    }
    return [
        Person(int(tid), float(x), float(y), by_track.get(tid, ""))
        for tid, x, y in status.get("tracks") or []
    ]
