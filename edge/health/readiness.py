"""Is the pipeline working? Pure rules over a live status snapshot (`LiveRuntime.status()`).

`/healthz` only says the process answers; readiness says the pipeline does: the core loop and
every driver thread are alive, every sensor that streams continuously delivered data recently
(shelf boards at 60 Hz, cameras, the track source), the detector keeps ticking, and the outbox
backlog is under its limits. Each failed rule gives one reason naming the part, so an operator
knows which sensor to look at.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# Driver kinds whose data must keep flowing; gate readers are quiet between taps.
STREAMING_KINDS = ("serial", "camera", "tracks")
# Plate faults that make the store not ready (a noisy or drifting plate still weighs).
BLOCKING_PLATE_FAULTS = ("stuck", "dead", "saturated")


@dataclass(frozen=True)
class ReadinessLimits:
    data_age_s: float = 2.0  # a shelf board, camera or track source silent this long is down
    vision_tick_age_s: float = 5.0  # the detector has not finished a tick for this long
    outbox_backlog: int = 50_000  # unacknowledged events
    outbox_oldest_age_s: float = 3600.0  # the oldest unacknowledged event is this old


def readiness(status: dict[str, Any], limits: ReadinessLimits = ReadinessLimits()) -> list[str]:
    """Reasons the pipeline is not ready; an empty list means ready."""
    reasons: list[str] = []
    if not status.get("healthy", False):
        reasons.append("pipeline: the core loop or a driver thread has stopped")
    for d in status.get("drivers", []):
        name, kind, state = d.get("name", "?"), d.get("kind", "?"), d.get("state", "?")
        if state not in ("connected", "starting"):
            detail = f": {d['last_error']}" if d.get("last_error") else ""
            reasons.append(f"{kind} {name}: {state}{detail}")
            continue
        age = d.get("data_age_s")
        stale = age is None or age > limits.data_age_s
        if kind in STREAMING_KINDS and state == "connected" and stale:
            shown = "no data yet" if age is None else f"no data for {age:.1f} s"
            reasons.append(f"{kind} {name}: {'0 fps' if kind == 'camera' else shown}")
    # A plate that reports nothing usable cannot attribute a pick: the store must not pretend.
    for ref, kind in sorted((status.get("plate_faults") or {}).items()):
        if kind in BLOCKING_PLATE_FAULTS:
            reasons.append(f"plate {ref}: {kind}")
    vision = status.get("vision")
    if vision is not None:
        age = vision.get("last_tick_age_s")
        if age is not None and age > limits.vision_tick_age_s:
            reasons.append(f"detector: stuck, no tick for {age:.1f} s")
    outbox = status.get("outbox") or {}
    backlog = outbox.get("backlog") or 0
    if backlog > limits.outbox_backlog:
        reasons.append(f"outbox: {backlog} events unacknowledged (limit {limits.outbox_backlog})")
    oldest = outbox.get("oldest_age_s")
    if oldest is not None and oldest > limits.outbox_oldest_age_s:
        reasons.append(
            f"outbox: oldest unacknowledged event is {oldest:.0f} s old "
            f"(limit {limits.outbox_oldest_age_s:.0f} s)"
        )
    return reasons
