"""Inline SVG plots drawn on the server (no JavaScript charting, no CDN: the dashboard works
with no internet): trend lines and a receipt line's evidence (candidate shoppers)."""

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
