"""Session time for live inputs, chosen so that replaying the recording feeds the core the same
inputs in the same order.

Drivers stamp what they receive with ``time.monotonic()``. The core thread turns that into
session seconds on a 0.1 ms grid (the precision the session format keeps for reads and tracks)
and makes it strictly increasing across all streams: replay merges streams by time, so with no
two inputs at the same time it can only reproduce the order the live core saw.
"""

from __future__ import annotations

__all__ = ["TICKS_PER_S", "FeedClock"]

TICKS_PER_S = 10_000


class FeedClock:
    def __init__(self, t0_mono: float) -> None:
        self.t0_mono = t0_mono
        self._last_tick = -1

    def session_time(self, t_mono: float) -> float:
        """Seconds since start for an input received at ``t_mono``; strictly increasing."""
        tick = max(round((t_mono - self.t0_mono) * TICKS_PER_S), self._last_tick + 1, 0)
        self._last_tick = tick
        return tick / TICKS_PER_S

    @property
    def last(self) -> float:
        return max(self._last_tick, 0) / TICKS_PER_S

    def mono(self, session_t: float) -> float:
        """The monotonic time of a session time (for latency figures)."""
        return self.t0_mono + session_t
