"""People of a simulated session at any instant, as the renderer wants them.

Bodies follow the planned timelines (sim.timeline), hands follow the planned reaches exactly as
the ground-truth positions do (`Reach.hand_at`); a hand that is not reaching hangs beside the
hip. Products are carried from the moment a pick's hand comes out of the shelf until they are
put back, handed over or the shopper leaves. Each person's look is drawn from (seed, person id).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from sim.render.scene import Colour, Look, PersonPose, product_colour, resting_hand
from sim.timeline import Reach
from sim.world import WorldResult

VELOCITY_DT_S = 0.05


@dataclass
class _Track:
    person_id: int
    look: Look
    t: np.ndarray  # keyframe times
    xy: np.ndarray  # (n, 2)
    headings: list[float]  # heading in force after each keyframe
    reaches: list[Reach]
    carry: list[tuple[float, float, str, Colour]]  # (from, to, hand, colour)
    start: float
    end: float


class PoseSampler:
    """`poses(t)`: every person in the store at time t (seconds since session start)."""

    def __init__(self, result: WorldResult, seed: int):
        self.tracks: list[_Track] = []
        carry = _carry_intervals(result)
        for plan in result.plans:
            kf = np.asarray(plan.timeline.keyframes, dtype=np.float64)
            headings = []
            heading = math.pi / 2  # into the store, away from the entry gate
            for i in range(len(kf)):
                if i + 1 < len(kf):
                    dx, dy = kf[i + 1, 1] - kf[i, 1], kf[i + 1, 2] - kf[i, 2]
                    if math.hypot(dx, dy) > 1e-6:
                        heading = math.atan2(dy, dx)
                headings.append(heading)
            self.tracks.append(
                _Track(
                    person_id=plan.person_id,
                    look=Look.sample(np.random.default_rng([seed, 77, plan.person_id])),
                    t=kf[:, 0],
                    xy=kf[:, 1:3],
                    headings=headings,
                    reaches=sorted(plan.timeline.reaches, key=lambda r: r.t_out),
                    carry=carry.get(plan.person_id, []),
                    start=plan.timeline.start,
                    end=plan.timeline.end,
                )
            )

    def poses(self, t: float) -> list[PersonPose]:
        out = []
        for tr in self.tracks:
            if not tr.start <= t <= tr.end:
                continue
            x, y = _interp(tr, t)
            x0, y0 = _interp(tr, max(t - VELOCITY_DT_S, tr.start))
            x1, y1 = _interp(tr, min(t + VELOCITY_DT_S, tr.end))
            span = max(min(t + VELOCITY_DT_S, tr.end) - max(t - VELOCITY_DT_S, tr.start), 1e-6)
            velocity = ((x1 - x0) / span, (y1 - y0) / span)
            k = max(int(np.searchsorted(tr.t, t, side="right")) - 1, 0)
            heading = tr.headings[k]
            hands = {s: resting_hand(x, y, heading, tr.look, s) for s in ("left", "right")}
            for reach in tr.reaches:
                if reach.t_out > t:
                    break
                hand = reach.hand_at(t, (x, y))
                if hand is not None:
                    hands[reach.side] = hand
                    tx, ty, _ = reach.target
                    heading = math.atan2(ty - y, tx - x)
            if heading != tr.headings[k]:
                # Facing the shelf: the hand that is not reaching hangs on the new sides.
                for side in ("left", "right"):
                    if not any(r.side == side and r.t_out <= t <= r.t_done for r in tr.reaches):
                        hands[side] = resting_hand(x, y, heading, tr.look, side)
            carrying = {}
            for a, b, side, colour in tr.carry:
                if a <= t < b:
                    carrying[side] = colour
            out.append(
                PersonPose(
                    tr.person_id,
                    x,
                    y,
                    heading,
                    tr.look,
                    hands["left"],
                    hands["right"],
                    velocity,
                    carrying,
                )
            )
        return out


def _interp(tr: _Track, t: float) -> tuple[float, float]:
    return float(np.interp(t, tr.t, tr.xy[:, 0])), float(np.interp(t, tr.t, tr.xy[:, 1]))


def _carry_intervals(result: WorldResult) -> dict[int, list[tuple[float, float, str, Colour]]]:
    """Per person: when they hold which product in which hand."""
    exit_t = {p.person_id: p.exit_t for p in result.plans}
    held: dict[int, list[tuple[float, str, str]]] = {}  # person -> open (since, product, hand)
    out: dict[int, list[tuple[float, float, str, Colour]]] = {}

    def close(person: int, product: str, t: float) -> str | None:
        for i, (since, pid, hand) in enumerate(held.get(person, [])):
            if pid == product:
                del held[person][i]
                out.setdefault(person, []).append((since, t, hand, product_colour(pid)))
                return hand
        return None

    for a in sorted(result.actions, key=lambda a: (a.t_start, a.person_id)):
        if a.kind == "pick":
            held.setdefault(a.person_id, []).append((a.t_end, a.product_id, a.hand))
        elif a.kind == "put":
            close(a.person_id, a.product_id, a.t_start)
        elif a.kind == "handoff" and a.to_person is not None:
            close(a.person_id, a.product_id, a.t_start)
            held.setdefault(a.to_person, []).append((a.t_start, a.product_id, "right"))
    for person, items in held.items():
        for since, pid, hand in items:
            out.setdefault(person, []).append((since, exit_t[person], hand, product_colour(pid)))
    return out
