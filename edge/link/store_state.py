"""The store state a heartbeat carries to the cloud (`walkout.v1.StoreState`).

Built from the live runtime's status snapshot (`LiveRuntime.last_status`, the same dict the health
server reads), so the link thread never touches the pipeline. Small on purpose: a store has
hundreds of plates, so only faulty plates are listed, by id; sensors, tracks and open visits are
a few dozen entries at most.

Camera fps is not in the snapshot (it counts frames received): the builder keeps the previous
counts and divides the difference by the snapshot's uptime difference, so no clock is read here.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from walkout.v1 import events_pb2

from edge.health.readiness import ReadinessLimits, readiness

if TYPE_CHECKING:
    from edge.vision.manifest import DetectorManifest

log = logging.getLogger(__name__)

# The live runtime's driver kinds, as the wire schema names them.
_KINDS = {"serial": "serial", "pcsc": "reader", "reader": "reader", "camera": "camera"}


class StoreStateBuilder:
    """Turns successive status snapshots into `StoreState` messages (one per heartbeat)."""

    def __init__(self, limits: ReadinessLimits = ReadinessLimits()) -> None:
        self.limits = limits
        self._last_frames: dict[str, int] = {}
        self._last_uptime: float | None = None

    def build(self, status: dict[str, Any]) -> events_pb2.StoreState | None:
        """The state for one heartbeat; None before the runtime's first snapshot."""
        if not status:
            return None
        state = events_pb2.StoreState()
        reasons = readiness(status, self.limits)
        state.ready = not reasons
        state.not_ready_reasons.extend(reasons)
        state.session_t = float(status.get("session_t") or 0.0)
        state.review_queue = int(status.get("review_queue") or 0)
        link = status.get("link")
        state.link_connected = bool(link and link.get("ready"))

        frames = status.get("frames") or {}
        uptime = status.get("uptime_s")
        fps = self._fps(frames, uptime)
        for d in status.get("drivers", []):
            s = state.sensors.add()
            s.id = str(d.get("name", ""))
            s.kind = _KINDS.get(str(d.get("kind", "")), str(d.get("kind", "")))
            s.state = str(d.get("state", ""))
            age = d.get("data_age_s")
            s.data_age_s = -1.0 if age is None else float(age)
            s.faults = int(d.get("faults") or 0)
            s.last_error = str(d.get("last_error") or "")
            if s.kind == "camera":
                s.fps = fps.get(s.id, 0.0)
                s.dropped_frames = int((frames.get(s.id) or {}).get("dropped", 0))
        for port, counters in sorted((status.get("shelf_ports") or {}).items()):
            c = state.shelf_controllers.add()
            c.port = port
            c.frames_ok = int(counters.get("frames_ok") or 0)
            c.crc_errors = int(counters.get("crc_errors") or 0)
            c.frames_lost = int(counters.get("frames_lost") or 0)
            c.bytes_discarded = int(counters.get("bytes_discarded") or 0)
        for ref, kind in sorted((status.get("plate_faults") or {}).items()):
            state.faulty_plates.add(plate_id=ref, kind=kind)

        visit_tracks: dict[str, list[int]] = status.get("visit_tracks") or {}
        by_track = {tid: vid for vid, tids in visit_tracks.items() for tid in tids}
        for tid, x, y in status.get("tracks") or []:
            state.tracks.add(track_id=int(tid), x_m=x, y_m=y, visit_id=by_track.get(tid, ""))
        opened: dict[str, float] = status.get("visit_opened_t") or {}
        flagged = set(status.get("review_visits") or [])
        for vid in status.get("open_visits", []):
            v = state.open_visits.add(visit_id=vid, opened_t=float(opened.get(vid, 0.0)))
            v.track_ids.extend(sorted(visit_tracks.get(vid, [])))
            v.needs_review = vid in flagged
        return state

    def _fps(self, frames: dict[str, dict[str, int]], uptime: float | None) -> dict[str, float]:
        counts = {cam: int(c.get("received", 0)) for cam, c in frames.items()}
        out: dict[str, float] = {}
        if uptime is not None and self._last_uptime is not None and uptime > self._last_uptime:
            dt = uptime - self._last_uptime
            for cam, n in counts.items():
                out[cam] = round(max(0, n - self._last_frames.get(cam, 0)) / dt, 2)
        if uptime is not None:
            self._last_uptime = float(uptime)
            self._last_frames = counts
        return out


def detector_models(manifest: DetectorManifest | None) -> list[events_pb2.ModelVersion]:
    """`Heartbeat.models` for the detector in use: its manifest's sha256 (the runtime checked the
    model file against it when loading) and version (the manifest's `model_version` when a
    release set one, else its `created_utc`); empty when vision is not running."""
    if manifest is None:
        return []
    version = manifest.info.get("model_version") or manifest.info.get("created_utc") or ""
    return [
        events_pb2.ModelVersion(model_name="detector", version=str(version), sha256=manifest.sha256)
    ]
