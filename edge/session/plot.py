"""A picture of a recorded session: the floor with everyone's tracks, and one shelf's weights.

matplotlib is an optional dependency (extra `viz`, also in `dev`); the edge runtime never needs it.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np

from edge.config.layout import PlateRef, StoreLayout, gondola_to_floor
from edge.session.errors import SessionError
from edge.session.reader import Session
from edge.shelf.protocol import FrameParser, SampleFrame


def shelf_grams(
    session: Session, gondola: int, shelf: int
) -> tuple[np.ndarray, dict[PlateRef, np.ndarray]]:
    """Decode one shelf's plates to grams: (sample times in seconds, grams per plate).

    Sample times come from the board's tick counter and rate, anchored at the receive time of the
    first frame, so batching does not smear events.
    """
    layout = StoreLayout(session.config)
    shelf_cfg = layout.shelves.get((gondola, shelf))
    if shelf_cfg is None:
        raise SessionError(session.path, f"the store has no shelf {gondola}.{shelf}")
    ctl = shelf_cfg.controller
    stream = next(
        (s for s in session.shelf_streams if s.port == ctl.port),
        None,
    )
    if stream is None:
        raise SessionError(session.path, f"no recorded stream for port {ctl.port}")
    parser = FrameParser()
    ticks: list[np.ndarray] = []
    blocks: list[np.ndarray] = []
    anchor: float | None = None
    for t_recv, chunk in session.iter_shelf(stream):
        for frame in parser.feed(chunk):
            if isinstance(frame, SampleFrame) and frame.board_id == ctl.board_id:
                if anchor is None:
                    anchor = t_recv - (frame.tick + frame.n_samples) / ctl.rate_hz
                ticks.append(frame.tick + np.arange(frame.n_samples))
                blocks.append(frame.samples)
    if not blocks:
        raise SessionError(session.path, f"no samples from shelf {gondola}.{shelf}")
    counts = np.concatenate(blocks).astype(np.float64)
    times = (anchor or 0.0) + np.concatenate(ticks) / ctl.rate_hz
    grams = {}
    for i, plate in enumerate(shelf_cfg.plates):
        cal = plate.calibration
        grams[PlateRef(gondola, shelf, plate.id)] = (
            counts[:, i] - cal.offset_counts
        ) * cal.grams_per_count
    return times, grams


def busiest_shelf(session: Session) -> tuple[int, int]:
    truth = session.truth()
    counts: Counter[tuple[int, int]] = Counter()
    if truth is not None:
        for action in truth.actions:
            for ref in action.plates:
                p = PlateRef.parse(ref)
                counts[(p.gondola, p.shelf)] += 1
    if counts:
        return counts.most_common(1)[0][0]
    first = next(iter(StoreLayout(session.config).shelves))
    return first


def plot_session(
    session: Session,
    out: Path,
    *,
    shelf: tuple[int, int] | None = None,
    window: tuple[float, float] | None = None,
) -> Path:
    """Write a PNG: floor map with tracks (left), the shelf's plate weights over time (right)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise SessionError(
            session.path, "plotting needs matplotlib: pip install 'walkout[viz]'"
        ) from exc

    layout = StoreLayout(session.config)
    gondola, shelf_id = shelf or busiest_shelf(session)
    fig, (ax_map, ax_w) = plt.subplots(
        1, 2, figsize=(15, 6), gridspec_kw={"width_ratios": [1, 1.4]}
    )
    _draw_floor(ax_map, layout, session, window, highlight=(gondola, shelf_id))
    _draw_weights(ax_w, layout, session, gondola, shelf_id, window)
    fig.suptitle(f"{session.manifest.session_id}  ({session.manifest.store_id})")
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def _draw_floor(ax, layout, session, window, highlight) -> None:  # type: ignore[no-untyped-def]
    from matplotlib.patches import Polygon

    floor = layout.config.floor
    ax.set_xlim(0, floor.width_m)
    ax.set_ylim(0, floor.depth_m)
    ax.set_aspect("equal")
    for g in layout.config.gondolas:
        corners = [
            gondola_to_floor(g, u, v)
            for u, v in ((0, 0), (g.length_m, 0), (g.length_m, g.depth_m), (0, g.depth_m))
        ]
        shade = "#f4a261" if g.id == highlight[0] else "#cccccc"
        ax.add_patch(Polygon(corners, closed=True, facecolor=shade, edgecolor="#555555"))
        cx = sum(c[0] for c in corners) / 4
        cy = sum(c[1] for c in corners) / 4
        ax.text(cx, cy, f"G{g.id}", ha="center", va="center", fontsize=8)
    for gate in layout.config.gates:
        ax.add_patch(
            Polygon(gate.zone, closed=True, facecolor="#a8dadc", alpha=0.6, edgecolor="#457b9d")
        )
        gx, gy = layout.gate_center(gate.id)
        ax.text(gx, gy, gate.id, ha="center", va="center", fontsize=8)
    paths: dict[int, list[tuple[float, float]]] = {}
    hands: list[tuple[float, float]] = []
    for frame in session.iter_tracks():
        if window and not window[0] <= frame.t <= window[1]:
            continue
        for p in frame.people:
            paths.setdefault(p.id, []).append((p.x, p.y))
            hands.extend((h[0], h[1]) for h in p.hands)
    cmap = __import__("matplotlib").colormaps["tab20"]
    for i, (_track, pts) in enumerate(sorted(paths.items())):
        arr = np.asarray(pts)
        ax.plot(arr[:, 0], arr[:, 1], lw=0.8, alpha=0.7, color=cmap(i % 20))
    if hands:
        h = np.asarray(hands)
        ax.scatter(h[:, 0], h[:, 1], s=2, color="black", alpha=0.3, label="hands")
        ax.legend(loc="upper right", fontsize=8)
    ax.set_title(f"floor: {len(paths)} tracks")
    ax.set_xlabel("x (m)")
    ax.set_ylabel("y (m)")


def _draw_weights(ax, layout, session, gondola, shelf_id, window) -> None:  # type: ignore[no-untyped-def]
    times, grams = shelf_grams(session, gondola, shelf_id)
    mask = np.ones_like(times, dtype=bool)
    if window:
        mask = (times >= window[0]) & (times <= window[1])
    cmap = __import__("matplotlib").colormaps["tab20"]
    for i, (ref, g) in enumerate(grams.items()):
        product = layout.plate_product.get(ref)
        label = f"plate {ref.plate}" + (f" {layout.products[product].name}" if product else "")
        ax.plot(times[mask], g[mask], lw=0.8, color=cmap(i % 20), label=label)
    truth = session.truth()
    if truth is not None:
        for action in truth.actions:
            refs = [PlateRef.parse(r) for r in action.plates]
            if not any(r.gondola == gondola and r.shelf == shelf_id for r in refs):
                continue
            if window and not window[0] <= action.t_start <= window[1]:
                continue
            color = "#e63946" if action.kind == "pick" else "#2a9d8f"
            ax.axvspan(action.t_start, action.t_settled, color=color, alpha=0.15)
            ax.text(
                action.t_start,
                ax.get_ylim()[1],
                f"{action.kind} {action.product_id}",
                rotation=90,
                fontsize=6,
                va="top",
                color=color,
            )
    ax.set_title(f"shelf {gondola}.{shelf_id}: plate weights (red: true picks, green: puts)")
    ax.set_xlabel("session time (s)")
    ax.set_ylabel("grams")
    ax.legend(fontsize=6, loc="center left", bbox_to_anchor=(1.0, 0.5))
