"""Inline SVG plots drawn on the server (no JavaScript charting, no CDN: the dashboard works
with no internet): trend lines, a receipt line's evidence (candidate shoppers), and a flagged
receipt's evidence clip (weight trace around the event, tracks near the shelf)."""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

e = html.escape


def line_chart(
    xs_labels: Sequence[str],
    series: dict[str, Sequence[float]],
    *,
    title: str,
    y_max: float | None = None,
    width: int = 640,
    height: int = 200,
) -> str:
    """A line chart with one polyline per series, shared x labels (first, middle, last)."""
    colours = ["#1f5fbf", "#d17a00", "#2a8a3a", "#a31515"]
    n = len(xs_labels)
    left, right, top, bottom = 44, 12, 22, 28
    w, h = width - left - right, height - top - bottom
    values = [v for s in series.values() for v in s]
    top_value = y_max if y_max is not None else max(values, default=1.0) or 1.0
    parts = [
        f'<rect width="{width}" height="{height}" fill="#fff" stroke="#ccc"/>',
        f'<text x="{left}" y="15" font-size="12" font-weight="bold">{e(title)}</text>',
        f'<line x1="{left}" y1="{top + h}" x2="{left + w}" y2="{top + h}" stroke="#999"/>',
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + h}" stroke="#999"/>',
        f'<text x="{left - 4}" y="{top + 4}" font-size="10" text-anchor="end">{top_value:g}</text>',
        f'<text x="{left - 4}" y="{top + h}" font-size="10" text-anchor="end">0</text>',
    ]

    def px(i: int, v: float) -> tuple[float, float]:
        x = left + (w * i / (n - 1) if n > 1 else w / 2)
        return round(x, 1), round(top + h - h * min(v, top_value) / top_value, 1)

    for k, i in enumerate(sorted({0, n // 2, n - 1}) if n else []):
        x, _ = px(i, 0)
        anchor = "start" if k == 0 else ("end" if i == n - 1 else "middle")
        parts.append(
            f'<text x="{x}" y="{height - 8}" font-size="10" text-anchor="{anchor}">'
            f"{e(xs_labels[i])}</text>"
        )
    for j, (name, ys) in enumerate(series.items()):
        colour = colours[j % len(colours)]
        pts = " ".join(f"{x},{y}" for x, y in (px(i, v) for i, v in enumerate(ys)))
        if len(ys) > 1:
            parts.append(
                f'<polyline points="{pts}" fill="none" stroke="{colour}" stroke-width="2"/>'
            )
        for i, v in enumerate(ys):
            x, y = px(i, v)
            parts.append(
                f'<circle cx="{x}" cy="{y}" r="3" fill="{colour}"><title>{e(name)} '
                f"{e(xs_labels[i])}: {v:g}</title></circle>"
            )
        parts.append(
            f'<text x="{left + w - 150 * (len(series) - j)}" y="15" font-size="11" '
            f'fill="{colour}">■ {e(name)}</text>'
        )
    if not n:
        parts.append(f'<text x="{left + 10}" y="{top + h / 2}" font-size="12">no data yet</text>')
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{e(title)}">'
        f"{''.join(parts)}</svg>"
    )


def candidates_chart(evidence: dict[str, Any], chosen_visit: str, width: int = 520) -> str:
    """One cart line's decision: the chosen shopper and the competing candidates, each with its
    distance to the shelf (bar) and its likelihood (label). Empty without candidates."""
    rows: list[tuple[str, float, float | None, bool]] = []
    if evidence.get("track_id") or evidence.get("shopper_distance_m"):
        rows.append(
            (
                f"{chosen_visit} (track {evidence.get('track_id', 0)})",
                float(evidence.get("shopper_distance_m") or 0.0),
                float(evidence.get("confidence") or 0.0),
                True,
            )
        )
    for c in evidence.get("competing") or []:
        rows.append(
            (
                f"{c.get('visit_id') or '?'} (track {c.get('track_id', 0)})",
                float(c.get("shopper_distance_m") or 0.0),
                float(c.get("likelihood") or 0.0),
                False,
            )
        )
    if not rows:
        return ""
    far = max(max(r[1] for r in rows), 0.5)
    left, row_h = 200, 22
    bar_w = width - left - 120  # room on the right for the "0.40 m · p=0.55" label
    height = 26 + row_h * len(rows)
    parts = [
        f'<rect width="{width}" height="{height}" fill="#fff" stroke="#ccc"/>',
        f'<text x="8" y="16" font-size="11" fill="#555">distance to the shelf '
        f"(bar, 0 to {far:.2f} m) · likelihood</text>",
    ]
    for i, (label, dist, like, chosen) in enumerate(rows):
        y = 24 + i * row_h
        fill = "#1f5fbf" if chosen else "#bbb"
        weight = "bold" if chosen else "normal"
        parts.append(
            f'<text x="8" y="{y + 14}" font-size="11" font-weight="{weight}">{e(label)}</text>'
        )
        parts.append(
            f'<rect x="{left}" y="{y + 3}" width="{round(bar_w * dist / far, 1)}" '
            f'height="{row_h - 8}" fill="{fill}"><title>{dist:.2f} m</title></rect>'
        )
        text = f"{dist:.2f} m" + ("" if like is None else f" · p={like:.2f}")
        parts.append(f'<text x="{left + bar_w + 6}" y="{y + 14}" font-size="11">{text}</text>')
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="candidate shoppers">'
        f"{''.join(parts)}</svg>"
    )


def weight_trace_chart(item: Any, width: int = 640, height: int = 180) -> str:
    """A clip's shelf weight over its window (the summed weight, and each changed plate thin),
    with the shelf event's span shaded. `item` is a walkout.v1.EvidenceClipItem."""
    t0, t1 = item.window_start_s, item.window_end_s
    series = [("shelf total", item.total, "#1f5fbf", 2)]
    series += [(f"plate {p.plate}", p.trace, "#d17a00", 1) for p in item.plates]
    values = [g for _, tr, _, _ in series for g in tr.grams]
    left, right, top, bottom = 60, 12, 22, 26
    w, h = width - left - right, height - top - bottom
    lo, hi = (min(values), max(values)) if values else (0.0, 1.0)
    if hi - lo < 1.0:
        lo, hi = lo - 0.5, hi + 0.5
    span = max(t1 - t0, 1e-6)

    def px(t: float, g: float) -> tuple[float, float]:
        return round(left + w * (t - t0) / span, 1), round(top + h - h * (g - lo) / (hi - lo), 1)

    xs, _ = px(item.t_start_s, lo)
    xe, _ = px(item.t_end_s, lo)
    parts = [
        f'<rect width="{width}" height="{height}" fill="#fff" stroke="#ccc"/>',
        f'<text x="{left}" y="15" font-size="12" font-weight="bold">weight on shelf '
        f"{item.gondola}.{item.shelf}, {t0:.1f} to {t1:.1f} s</text>",
        f'<rect class="event-span" x="{xs}" y="{top}" width="{max(round(xe - xs, 1), 1.0)}" '
        f'height="{h}" fill="#fde9c8"><title>shelf event {e(item.shelf_event_id)}: '
        f"{item.t_start_s:.2f} to {item.t_end_s:.2f} s</title></rect>",
        f'<line x1="{left}" y1="{top + h}" x2="{left + w}" y2="{top + h}" stroke="#999"/>',
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + h}" stroke="#999"/>',
        f'<text x="{left - 4}" y="{top + 8}" font-size="10" text-anchor="end">{hi:.0f} g</text>',
        f'<text x="{left - 4}" y="{top + h}" font-size="10" text-anchor="end">{lo:.0f} g</text>',
        f'<text x="{left}" y="{height - 8}" font-size="10">{t0:.1f} s</text>',
        f'<text x="{left + w}" y="{height - 8}" font-size="10" text-anchor="end">{t1:.1f} s</text>',
    ]
    for k, (name, trace, colour, stroke) in enumerate(series):
        # strict=False: a clip with unequal series (a faulty edge) is drawn as far as it goes.
        pairs = zip(trace.t_s, trace.grams, strict=False)
        pts = " ".join(f"{x},{y}" for x, y in (px(t, g) for t, g in pairs))
        if pts:
            parts.append(
                f'<polyline class="trace" data-series="{e(name)}" points="{pts}" fill="none" '
                f'stroke="{colour}" stroke-width="{stroke}"><title>{e(name)}</title></polyline>'
            )
        parts.append(
            f'<text x="{left + w - 110 * (len(series) - k)}" y="15" font-size="11" '
            f'fill="{colour}">— {e(name)}</text>'
        )
    if not values:
        parts.append(f'<text x="{left + 10}" y="{top + h / 2}" font-size="12">no readings</text>')
    return (
        f'<svg class="weight-trace" style="vertical-align:top" '
        f'xmlns="http://www.w3.org/2000/svg" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="weight trace">{"".join(parts)}</svg>'
    )


def clip_floor_plot(item: Any, size: int = 300) -> str:
    """The tracks of a clip on the floor near the shelf: each body's path, its hands as dots,
    the shelf's front edge as a thick line; the chosen shopper's track highlighted."""
    a, b = item.shelf_front_a, item.shelf_front_b
    xs = [a.x_m, b.x_m] + [p.x_m for tr in item.tracks for p in tr.points]
    ys = [a.y_m, b.y_m] + [p.y_m for tr in item.tracks for p in tr.points]
    xs += [hd.x_m for tr in item.tracks for p in tr.points for hd in p.hands]
    ys += [hd.y_m for tr in item.tracks for p in tr.points for hd in p.hands]
    margin = 0.3
    x0, y0 = min(xs) - margin, min(ys) - margin
    extent = max(max(xs) - min(xs), max(ys) - min(ys), 1.0) + 2 * margin
    pad, top = 8, 20
    scale = (size - 2 * pad) / extent

    def px(x: float, y: float) -> tuple[float, float]:
        return round(pad + (x - x0) * scale, 1), round(top + (y - y0) * scale, 1)

    height = top + size - pad
    ax, ay = px(a.x_m, a.y_m)
    bx, by = px(b.x_m, b.y_m)
    parts = [
        f'<rect width="{size}" height="{height}" fill="#fafafa" stroke="#ccc"/>',
        f'<text x="{pad}" y="14" font-size="11" fill="#555">floor near the shelf '
        f"({extent:.1f} m across)</text>",
        f'<line class="shelf-front" x1="{ax}" y1="{ay}" x2="{bx}" y2="{by}" stroke="#555" '
        'stroke-width="5"><title>shelf front</title></line>',
    ]
    for tr in sorted(item.tracks, key=lambda t: t.chosen):  # the chosen one drawn on top
        colour = "#1f5fbf" if tr.chosen else "#999"
        label = f"track {tr.track_id}" + (f" ({tr.visit_id})" if tr.visit_id else "")
        pts = " ".join(f"{x},{y}" for x, y in (px(p.x_m, p.y_m) for p in tr.points))
        parts.append(
            f'<g class="clip-track" data-track="{tr.track_id}" '
            f'data-chosen="{"yes" if tr.chosen else "no"}"><title>{e(label)}</title>'
            f'<polyline points="{pts}" fill="none" stroke="{colour}" '
            f'stroke-width="{3 if tr.chosen else 1.5}"/>'
        )
        for p in tr.points[:: max(1, len(tr.points) // 20)]:
            for hd in p.hands:
                hx, hy = px(hd.x_m, hd.y_m)
                parts.append(f'<circle cx="{hx}" cy="{hy}" r="2" fill="{colour}"/>')
        if tr.points:
            lx, ly = px(tr.points[-1].x_m, tr.points[-1].y_m)
            parts.append(
                f'<text x="{lx + 4}" y="{ly - 4}" font-size="10" fill="{colour}">{e(label)}</text>'
            )
        parts.append("</g>")
    return (
        f'<svg class="clip-floor" style="vertical-align:top" '
        f'xmlns="http://www.w3.org/2000/svg" width="{size}" '
        f'height="{height}" viewBox="0 0 {size} {height}" role="img" '
        f'aria-label="tracks near the shelf">{"".join(parts)}</svg>'
    )
