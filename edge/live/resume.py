"""Open visits survive a restart: snapshots in the journal, restored into a fresh core.

After every change to a visit or its cart, the live runtime stores a snapshot of that visit
(its fields, its cart events, its review reasons) in the journal's ``open_visits`` table; a
receipt drops it. Times are stored as unix seconds, because session time starts again at 0 in
the next run. On start, snapshots of visits without a receipt are put back into the core with
their track bindings: a track source that kept running (the same track ids) carries on where
it left off. The visit counter, cart line counter and receipt sequence continue from the
journal, so new visit ids (and the receipt ids derived from them) never collide with old ones.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import re
from pathlib import Path
from typing import Any

from edge.carts.cart import Cart, CartEvent
from edge.journal.journal import Journal
from edge.pipeline.core import EdgeCore
from edge.visits.manager import Visit

log = logging.getLogger("walkout.live.resume")

__all__ = ["rebind_returning_tracks", "restore_open_visits", "snapshot_visit"]

_TIME_FIELDS = ("opened_t", "closed_t", "last_lost_t")
_NUMBER = re.compile(r"(\d+)$")


def snapshot_visit(core: EdgeCore, visit_id: str, start_unix: float) -> dict[str, Any]:
    visit = core.visits.visits[visit_id]
    fields: dict[str, Any] = {}
    for f in dataclasses.fields(Visit):
        value = getattr(visit, f.name)
        if f.name in _TIME_FIELDS and value is not None:
            value = start_unix + value
        elif isinstance(value, set):
            value = sorted(value)
        elif isinstance(value, tuple):
            value = list(value)
        fields[f.name] = value
    cart = core.carts.get(visit_id)
    events = [
        {
            "line_id": e.line_id,
            "t_unix": start_unix + e.t,
            "product_id": e.product_id,
            "quantity": e.quantity,
            "confidence": e.confidence,
            "evidence": e.evidence,
        }
        for e in (cart.events if cart else [])
    ]
    return {"visit": fields, "cart": events, "review": list(core.review.get(visit_id, []))}


def _number(text: str) -> int:
    match = _NUMBER.search(text)
    return int(match.group(1)) if match else 0


def restore_open_visits(core: EdgeCore, journal: Journal, start_unix: float) -> dict[str, set[int]]:
    """Put the journal's open visits back into ``core``; continue its counters.

    Returns visit id -> the track ids it had live. Those visits start out as lost at t = 0 (so
    one whose shopper never reappears closes as "lost" after the visit manager's timeout, for
    review); :func:`rebind_returning_tracks` makes them live again when the track source
    reports those ids."""
    snapshots = journal.open_visits()
    settled = journal.settled_visit_ids()
    known = {f.name for f in dataclasses.fields(Visit)}
    restored: dict[str, set[int]] = {}
    max_visit = max([_number(v) for v in settled] + [0])
    max_line = 0
    for snap in snapshots:
        raw = {k: v for k, v in snap["visit"].items() if k in known}
        for name in _TIME_FIELDS:
            if raw.get(name) is not None:
                raw[name] = raw[name] - start_unix
        for name in ("track_ids", "live_tracks"):
            raw[name] = set(raw.get(name) or [])
        if raw.get("gate_xy") is not None:
            raw["gate_xy"] = tuple(raw["gate_xy"])
        visit = Visit(**raw)
        vid = visit.visit_id
        live = set(visit.live_tracks)
        visit.live_tracks = set()
        visit.last_lost_t = 0.0
        core.visits.visits[vid] = visit
        for tid in visit.track_ids:
            core.visits.by_track[tid] = vid
        cart = Cart(vid)
        for e in snap["cart"]:
            cart.events.append(
                CartEvent(
                    e["line_id"],
                    e["t_unix"] - start_unix,
                    e["product_id"],
                    int(e["quantity"]),
                    float(e["confidence"]),
                    e["evidence"],
                )
            )
            max_line = max(max_line, _number(e["line_id"]))
        core.carts[vid] = cart
        if snap.get("review"):
            core.review[vid] = list(snap["review"])
        max_visit = max(max_visit, _number(vid))
        restored[vid] = live
    core.visits._next = max(core.visits._next, max_visit)
    core._line = max(core._line, max_line)
    core._receipt_seq = max(core._receipt_seq, journal.receipt_count())
    return restored


def rebind_returning_tracks(core: EdgeCore, pending: dict[str, set[int]]) -> None:
    """Restored visits whose tracks the track source reports again are live again."""
    for vid in list(pending):
        visit = core.visits.visits.get(vid)
        if visit is None or visit.closed_t is not None:
            del pending[vid]
            continue
        back = {tid for tid in pending[vid] if tid in core.tracks.tracks}
        if back:
            visit.live_tracks |= back
            visit.last_lost_t = None
            del pending[vid]


def last_event_seq(path: Path) -> int:
    """The ``seq`` of the last complete event in ``events.jsonl`` (0 if none), so a restarted
    runtime continues the sequence instead of starting again at 1. A partial last line (the
    process was killed mid-write) is cut off first: appending to it would glue two events into
    one unreadable line."""
    if not path.exists():
        return 0
    with path.open("r+b") as f:
        size = f.seek(0, os.SEEK_END)
        if size == 0:
            return 0
        # Events are a few hundred bytes; the last complete one is in the last 64 KiB.
        start = max(0, size - 65536)
        f.seek(start)
        tail = f.read()
        if not tail.endswith(b"\n"):
            cut = tail.rfind(b"\n") + 1  # 0 when the tail holds no newline at all
            log.warning(
                "%s: dropping a partial last line of %d bytes (the runtime stopped mid-write)",
                path,
                len(tail) - cut,
            )
            f.truncate(start + cut)
            tail = tail[:cut]
    for line in reversed(tail.splitlines()):
        try:
            seq = json.loads(line).get("seq")
        except (ValueError, AttributeError):
            continue
        if isinstance(seq, int):
            return seq
    return 0
