"""One shopper's movement over time: body keyframes and hand reaches, built step by step.

The planner drives a TimelineBuilder (walk here, wait, reach into that plate); the result is
pure data that the renderer samples at any rate. Times are seconds since session start.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from sim.paths import FloorRouter, Point

SHOULDER_HEIGHT_M = 1.3


@dataclass(frozen=True)
class Reach:
    """A hand going out to a target and back; contact with the target in [t_in, t_back]."""

    t_out: float
    t_in: float
    t_back: float
    t_done: float
    target: tuple[float, float, float]
    side: str  # "left" | "right"

    def hand_at(self, t: float, body: Point) -> tuple[float, float, float] | None:
        if not self.t_out <= t <= self.t_done:
            return None
        if t < self.t_in:
            f = (t - self.t_out) / max(self.t_in - self.t_out, 1e-6)
        elif t <= self.t_back:
            f = 1.0
        else:
            f = 1.0 - (t - self.t_back) / max(self.t_done - self.t_back, 1e-6)
        tx, ty, tz = self.target
        dx, dy = tx - body[0], ty - body[1]
        dist = math.hypot(dx, dy) or 1.0
        # The hand starts at the shoulder, a little in front of the body's centre.
        sx, sy = body[0] + 0.15 * dx / dist, body[1] + 0.15 * dy / dist
        return (
            sx + f * (tx - sx),
            sy + f * (ty - sy),
            SHOULDER_HEIGHT_M + f * (tz - SHOULDER_HEIGHT_M),
        )


@dataclass
class Timeline:
    """Keyframes (t, x, y) of the body and the reaches of the hands."""

    keyframes: list[tuple[float, float, float]] = field(default_factory=list)
    reaches: list[Reach] = field(default_factory=list)

    @property
    def start(self) -> float:
        return self.keyframes[0][0]

    @property
    def end(self) -> float:
        return self.keyframes[-1][0]

    def positions(self, times: np.ndarray) -> np.ndarray:
        """Body positions at the given times, shape (n, 2); outside the visit: clamped."""
        kf = np.asarray(self.keyframes)
        return np.stack(
            [np.interp(times, kf[:, 0], kf[:, 1]), np.interp(times, kf[:, 0], kf[:, 2])], axis=1
        )


class TimelineBuilder:
    """Builds a Timeline with a running clock: each step advances it."""

    def __init__(
        self,
        router: FloorRouter,
        start_t: float,
        start: Point,
        speed_mps: float,
        rng: np.random.Generator,
    ):
        self.router = router
        self.rng = rng
        self.speed = speed_mps
        self.t = start_t
        self.pos = start
        self.timeline = Timeline(keyframes=[(start_t, start[0], start[1])])

    def _mark(self) -> None:
        last = self.timeline.keyframes[-1]
        if self.t > last[0] + 1e-9 or (self.pos[0], self.pos[1]) != (last[1], last[2]):
            self.timeline.keyframes.append((self.t, self.pos[0], self.pos[1]))

    def walk_to(self, goal: Point) -> None:
        for waypoint in self.router.route(self.pos, goal)[1:]:
            dist = math.hypot(waypoint[0] - self.pos[0], waypoint[1] - self.pos[1])
            self.t += dist / self.speed
            self.pos = waypoint
            self._mark()

    def wait(self, seconds: float) -> None:
        if seconds > 0:
            self.t += seconds
            self._mark()

    def wait_until(self, t: float) -> None:
        self.wait(t - self.t)

    def reach(
        self,
        target: tuple[float, float, float],
        *,
        contact_s: float,
        out_s: float | None = None,
        back_s: float | None = None,
    ) -> Reach:
        """Extend a hand to target, hold it there for contact_s, bring it back."""
        out_s = out_s if out_s is not None else float(self.rng.uniform(0.45, 0.8))
        back_s = back_s if back_s is not None else float(self.rng.uniform(0.45, 0.8))
        side = self._side(target)
        r = Reach(
            t_out=self.t,
            t_in=self.t + out_s,
            t_back=self.t + out_s + contact_s,
            t_done=self.t + out_s + contact_s + back_s,
            target=target,
            side=side,
        )
        self.timeline.reaches.append(r)
        self.t = r.t_done
        self._mark()
        return r

    def _side(self, target: tuple[float, float, float]) -> str:
        # Without a facing direction, take the hand on the target's side of the last movement.
        kf = self.timeline.keyframes
        if len(kf) >= 2:
            hx, hy = kf[-1][1] - kf[-2][1], kf[-1][2] - kf[-2][2]
        else:
            hx, hy = 0.0, 1.0
        cross = hx * (target[1] - self.pos[1]) - hy * (target[0] - self.pos[0])
        return "left" if cross > 0 else "right"
