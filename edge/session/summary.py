"""What is in a recorded session: counts, rates and health of every stream, as a plain dict.

`summarize` is a pure function of the session's files (it decodes the shelf bytes with the real
frame parser, so CRC errors and garbage show up as they would in replay); `render_summary`
prints it with rich for `walkout session info`.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from rich.console import Console, Group
from rich.markup import escape
from rich.table import Table

from edge.session.errors import SessionError
from edge.session.model import StreamInfo
from edge.session.reader import Session

__all__ = ["render_summary", "summarize", "summary_renderable"]


def summarize(session: Session) -> dict[str, Any]:
    """Summarise a session; the result is JSON-serialisable (prices as decimal strings)."""
    m = session.manifest
    summary: dict[str, Any] = {
        "path": str(session.path),
        "format_version": m.version,
        "session_id": m.session_id,
        "store_id": m.store_id,
        "created_by": m.created_by,
        "start_time": datetime.fromtimestamp(m.start_time_unix, tz=UTC).isoformat(
            timespec="milliseconds"
        ),
        "start_time_unix": m.start_time_unix,
        "duration_s": m.duration_s,
        "extra": dict(m.extra),
    }
    config = None
    try:
        config = session.config
        summary["config"] = {
            "store_name": config.store.name,
            "currency": config.store.currency,
            "gondolas": len(config.gondolas),
            "shelves": sum(len(g.shelves) for g in config.gondolas),
            "plates": sum(len(s.plates) for g in config.gondolas for s in g.shelves),
            "products": len(config.products),
        }
    except SessionError as exc:
        # An unreadable config must not hide the rest of the summary: say so and carry on.
        summary["config"] = {"error": str(exc)}

    summary["shelf"] = [_shelf_stream(session, s) for s in session.shelf_streams]
    reads = session.reads()
    summary["reads"] = {
        "total": len(reads),
        "by_kind": dict(sorted(Counter(r.kind for r in reads).items())),
        "readers": len({r.reader for r in reads}),
        "taps": sum(1 for r in reads if r.event == "insert"),
    }
    summary["tracks"] = _tracks(session)
    summary["truth"] = _truth(session, config)
    summary["other_streams"] = [
        {"name": s.name, "kind": s.kind, "records": s.records, "bytes": s.bytes}
        for s in m.streams
        if s.kind not in ("shelf-serial", "reads", "person-tracks")
    ]
    return summary


def _shelf_stream(session: Session, info: StreamInfo) -> dict[str, Any]:
    from edge.shelf.protocol import FrameParser, SampleFrame

    parser = FrameParser()
    # Per board: plates, first/last frame receive time, samples after the first frame.
    boards: dict[int, dict[str, Any]] = {}
    records = 0
    samples = 0
    first_t = last_t = None
    for t, data in session.iter_shelf(info):
        records += 1
        first_t = t if first_t is None else first_t
        last_t = t
        for frame in parser.feed(data):
            if isinstance(frame, SampleFrame):
                b = boards.get(frame.board_id)
                if b is None:
                    boards[frame.board_id] = {
                        "plates": frame.n_plates,
                        "first_t": t,
                        "last_t": t,
                        "frames": 1,
                        "n_after": 0,
                    }
                else:
                    # Samples after the first frame over the time since it: the board's rate.
                    b["n_after"] += frame.n_samples
                    b["frames"] += 1
                    b["last_t"] = t
                samples += frame.n_samples
    parser.flush()
    st = parser.stats
    board_rows = []
    for board_id, b in sorted(boards.items()):
        span = b["last_t"] - b["first_t"]
        rate = round(b["n_after"] / span, 3) if span > 0 else None
        board_rows.append(
            {"board_id": board_id, "plates": b["plates"], "frames": b["frames"], "rate_hz": rate}
        )
    rates = [r["rate_hz"] for r in board_rows if r["rate_hz"] is not None]
    return {
        "name": info.name,
        "port": info.port,
        "protocol": info.protocol,
        "records": records,
        "bytes": info.bytes,
        "first_t": first_t,
        "last_t": last_t,
        "sample_frames": st.sample_frames,
        "status_frames": st.status_frames,
        "samples": samples,
        "crc_errors": st.crc_errors,
        "bad_headers": st.bad_header,
        "garbage_bytes": st.bytes_discarded,
        "truncated_frames": st.truncated,
        "frames_lost": st.frames_lost,
        "seq_resets": st.seq_resets,
        "boards": board_rows,
        "plates": sum(r["plates"] for r in board_rows),
        "sample_rate_hz": round(sum(rates) / len(rates), 3) if rates else None,
    }


def _tracks(session: Session) -> dict[str, Any]:
    frames = rows = max_people = 0
    ids: set[int] = set()
    first = last = None
    for frame in session.iter_tracks():
        frames += 1
        first = frame.t if first is None else first
        last = frame.t
        rows += len(frame.people)
        max_people = max(max_people, len(frame.people))
        ids.update(p.id for p in frame.people)
    streams = session.manifest.streams_of_kind("person-tracks")
    measured = (
        round((frames - 1) / (last - first), 3)
        if frames > 1 and first is not None and last is not None and last > first
        else None
    )
    return {
        "frames": frames,
        "rate_hz": streams[0].rate_hz if streams else None,
        "measured_rate_hz": measured,
        "person_rows": rows,
        "max_people": max_people,
        "track_ids": len(ids),
    }


def _truth(session: Session, config: Any) -> dict[str, Any] | None:
    truth = session.truth()
    if truth is None:
        return None
    kinds = Counter(a.kind for a in truth.actions)
    result: dict[str, Any] = {
        "visits": len(truth.visits),
        "actions": {k: kinds.get(k, 0) for k in ("pick", "put", "handoff")},
        "units_picked": sum(a.quantity for a in truth.actions if a.kind == "pick"),
        "units_put": sum(a.quantity for a in truth.actions if a.kind == "put"),
        "receipts": len(truth.receipts),
        "receipt_units": sum(ln.quantity for r in truth.receipts for ln in r.lines),
        "total_value": None,
        "currency": None,
    }
    if config is not None:
        prices = {p.id: p.price for p in config.products}
        lines = [ln for r in truth.receipts for ln in r.lines]
        if all(ln.product_id in prices for ln in lines):
            total = sum((prices[ln.product_id] * ln.quantity for ln in lines), Decimal("0"))
            result["total_value"] = str(total.quantize(Decimal("0.01")))
            result["currency"] = config.store.currency
    info = session.manifest.truth
    result["true_position_frames"] = info.positions_records if info is not None else None
    return result


# --- rendering --------------------------------------------------------------------------------


def _fmt(value: Any) -> str:
    """A value as escaped rich markup: numbers with separators, containers as JSON."""
    if value is None:
        return "-"
    if isinstance(value, list | dict):
        return escape(json.dumps(value, sort_keys=True))
    if isinstance(value, float):
        return f"{value:,.3f}".rstrip("0").rstrip(".")
    if isinstance(value, int):
        return f"{value:,}"
    return escape(str(value))


def summary_renderable(summary: dict[str, Any]) -> Group:
    """Rich tables for a summary made by :func:`summarize`."""
    head = Table(title="Session", show_header=False, title_justify="left")
    head.add_column("key", style="bold")
    head.add_column("value")
    head.add_row("path", _fmt(summary["path"]))
    head.add_row("session", _fmt(summary["session_id"]))
    head.add_row("store", _fmt(summary["store_id"]))
    head.add_row("created by", _fmt(summary["created_by"]))
    head.add_row("start", _fmt(summary["start_time"]))
    head.add_row("duration", f"{summary['duration_s']:.3f} s")
    config = summary["config"]
    if "error" in config:
        head.add_row("config", f"[red]{escape(config['error'])}[/]")
    else:
        head.add_row(
            "config",
            f"{_fmt(config['store_name'])}: {config['gondolas']} gondolas, {config['shelves']} "
            f"shelves, {config['plates']} plates, {config['products']} products",
        )
    if summary.get("verified") is not None:
        head.add_row("sha256", f"[green]{len(summary['verified'])} files verified[/]")
    for key, value in summary["extra"].items():
        head.add_row(f"extra.{escape(str(key))}", _fmt(value))

    shelf = Table(title="Shelf streams", title_justify="left")
    shelf.add_column("stream")
    for col in ("plates", "frames", "status", "rate Hz"):
        shelf.add_column(col, justify="right")
    shelf.add_column("errors")
    for s in summary["shelf"]:
        problems = [
            f"{s['crc_errors']} CRC" if s["crc_errors"] else "",
            f"{s['garbage_bytes']} B garbage" if s["garbage_bytes"] else "",
            f"{s['frames_lost']} lost" if s["frames_lost"] else "",
            f"{s['truncated_frames']} truncated" if s["truncated_frames"] else "",
        ]
        errors = ", ".join(p for p in problems if p)
        shelf.add_row(
            _fmt(s["name"]),
            _fmt(s["plates"]),
            _fmt(s["sample_frames"]),
            _fmt(s["status_frames"]),
            _fmt(s["sample_rate_hz"]),
            f"[red]{errors}[/]" if errors else "[green]none[/]",
        )

    other = Table(title="Reads, tracks and truth", show_header=False, title_justify="left")
    other.add_column("key", style="bold")
    other.add_column("value")
    reads = summary["reads"]
    kinds = ", ".join(f"{k} {v}" for k, v in reads["by_kind"].items()) or "none"
    other.add_row("reads", f"{reads['total']} ({kinds}) from {reads['readers']} readers")
    tr = summary["tracks"]
    other.add_row(
        "tracks",
        f"{_fmt(tr['frames'])} frames at {_fmt(tr['rate_hz'])} Hz, at most {tr['max_people']} "
        f"people at once, {_fmt(tr['track_ids'])} track ids",
    )
    truth = summary["truth"]
    if truth is None:
        other.add_row("truth", "none")
    else:
        value = (
            f", total {truth['total_value']} {truth['currency']}"
            if truth["total_value"] is not None
            else ""
        )
        other.add_row(
            "truth",
            f"{truth['visits']} visits, {truth['actions']['pick']} picks "
            f"({truth['units_picked']} units), {truth['actions']['put']} puts, "
            f"{truth['actions']['handoff']} hand-overs, "
            f"{truth['receipts']} receipts ({truth['receipt_units']} units{value})",
        )
    for s in summary["other_streams"]:
        other.add_row(_fmt(s["name"]), f"{_fmt(s['kind'])}: {_fmt(s['records'])} records")
    return Group(head, shelf, other)


def render_summary(summary: dict[str, Any], *, console: Console | None = None) -> None:
    """Print a summary made by :func:`summarize` as rich tables."""
    (console or Console()).print(summary_renderable(summary))
