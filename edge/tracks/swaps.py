"""Identity-swap repair: undo a person tracker's id exchange between two nearby tracks.

When two people come close, an appearance-free tracker may hand each one the other's id. Every
cart decision after that moment then goes to the wrong visit (docs/fusion.md). A swap shows in
the track stream as both tracks jumping at once, each onto the path the other one was on: two
people cannot each move a few tenths of a metre against their own motion within one frame, but
the exchanged labels do exactly that. So, per frame, every track is predicted from its own
recent motion (constant velocity); a track that lands far from its prediction is a swap
candidate, and two candidates that each land where the other was predicted are relabelled back.

Pure and deterministic: it only looks at the frames it is given, in order.
"""

from __future__ import annotations

import logging
import math
from collections import deque
from dataclasses import dataclass

logger = logging.getLogger(__name__)

Hand = tuple[float, float, float]
Person = tuple[int, float, float, tuple[Hand, ...]]
# A track that missed its prediction: tracker id, where it is, where it was predicted, how far.
Jump = tuple[int, tuple[float, float], tuple[float, float], float]


@dataclass(frozen=True)
class SwapParams:
    # A track this far from where its own motion predicts it is a swap candidate. Frame to
    # frame, position error changes by about 0.05 m (sim/track_noise.py's defaults; a real
    # tracker's box noise is similar), a walking shopper changes speed by a few cm per frame.
    jump_m: float = 0.15
    # The exchanged labels must explain the two positions this much better than the kept ones
    # (ratio of summed squared prediction errors). 0.4 rather than 0.25: frames spent following
    # the wrong person after the busy store's swaps fell from 3.42 % to 3.05 % on seeds 0-2 and
    # from 1.72 % to 1.50 % on held-out seeds 3-5 (true swap log of the simulator, 2026-12-02);
    # the misses left are pairs passing within 0.2-0.35 m, where noise hides the jump.
    ratio: float = 0.4
    velocity_window_s: float = 0.4  # velocity from the track's positions over this long
    max_gap_s: float = 0.5  # a track unseen longer than this is not predicted (no evidence)
    history: int = 8  # positions kept per track


@dataclass
class _Track:
    points: deque[tuple[float, float, float]]  # (t, x, y)

    def predict(self, t: float, params: SwapParams) -> tuple[float, float] | None:
        t1, x1, y1 = self.points[-1]
        if t - t1 > params.max_gap_s:
            return None
        # The oldest point within the velocity window (a loop: this runs per track per frame).
        start = t1 - params.velocity_window_s
        base = self.points[-1]
        for point in self.points:
            if point[0] >= start:
                base = point
                break
        dt = t1 - base[0]
        if dt <= 0:
            return (x1, y1)
        vx, vy = (x1 - base[1]) / dt, (y1 - base[2]) / dt
        return (x1 + vx * (t - t1), y1 + vy * (t - t1))


class SwapRepair:
    """Relabels track frames so that each output id keeps following one person."""

    def __init__(self, params: SwapParams = SwapParams()):
        self.params = params
        self.label: dict[int, int] = {}  # tracker id -> output id
        self.tracks: dict[int, _Track] = {}  # by tracker id: the motion of who it follows now
        self.repaired = 0
        self.repairs: list[tuple[float, int, int]] = []  # (t, output id, output id), recent

    def relabel(self, t: float, people: list[Person]) -> list[Person]:
        p = self.params
        jumped: list[Jump] = []
        for track_id, x, y, _hands in people:
            track = self.tracks.get(track_id)
            pred = track.predict(t, p) if track is not None else None
            if pred is not None:
                miss = math.hypot(x - pred[0], y - pred[1])
                if miss > p.jump_m:
                    jumped.append((track_id, (x, y), pred, miss))
        paired = self._repair(t, jumped) if len(jumped) >= 2 else set()
        unpaired = [j for j in jumped if j[0] not in paired]
        if unpaired:
            self._repair_with_newborn(t, unpaired, people)
        out: list[Person] = []
        for track_id, x, y, hands in people:
            track = self.tracks.get(track_id)
            if track is None:
                track = self.tracks[track_id] = _Track(deque(maxlen=p.history))
                self.label.setdefault(track_id, track_id)
            track.points.append((t, x, y))
            out.append((self.label[track_id], x, y, hands))
        self._forget(t)
        return out

    def exchange_outputs(self, t: float, a: int, b: int) -> None:
        """Exchange output ids `a` and `b` from now on: a swap found late (edge/tracks/
        late_swaps.py). The tracker ids carrying them swap labels; their motion stays, since
        a second after the exchange it is already the motion of whom they follow now."""
        by_label = {label: tid for tid, label in self.label.items()}
        ta, tb = by_label.get(a), by_label.get(b)
        if ta is None or tb is None:
            return
        self.label[ta], self.label[tb] = b, a
        self.repaired += 1
        self.repairs.append((t, a, b))

    def _repair(self, t: float, jumped: list[Jump]) -> set[int]:
        """Pair up jumped tracks whose positions fit each other's predictions, best fit first;
        returns the tracker ids exchanged."""
        options = []
        for i, (a, obs_a, pred_a, miss_a) in enumerate(jumped):
            for b, obs_b, pred_b, miss_b in jumped[i + 1 :]:
                keep = miss_a**2 + miss_b**2
                swap = math.dist(obs_a, pred_b) ** 2 + math.dist(obs_b, pred_a) ** 2
                if swap < self.params.ratio * keep:
                    options.append((swap / keep, a, b))
        used: set[int] = set()
        for _, a, b in sorted(options):
            if a in used or b in used:
                continue
            used.update((a, b))
            # Tracker id a now follows the person b followed: their labels and motion move too.
            self.label[a], self.label[b] = self.label[b], self.label[a]
            self.tracks[a], self.tracks[b] = self.tracks[b], self.tracks[a]
            self.repaired += 1
            self.repairs.append((t, self.label[a], self.label[b]))
            logger.debug("identity swap repaired at %.2f s: tracker ids %d and %d", t, a, b)
        return used

    def _repair_with_newborn(self, t: float, jumped: list[Jump], people: list[Person]) -> None:
        """A track that jumped while a new track was born where it should have been.

        When a person arrives next to another (at the gate, most often), the tracker can give
        the old id to the newcomer's detection and a new id to the person it was following: the
        old track then jumps onto the newcomer and the new track starts on the old path. Pairs
        of jumped tracks cannot show that (the new one has no motion yet), so a jumped track and
        a track first seen in this frame are exchanged when the newcomer sits where the jumped
        one was predicted, as the pair test would (within `jump_m`, `ratio` of the miss).
        """
        p = self.params
        # Never seen before: every tracker id seen gets a label, kept after its motion is gone.
        newborn = [(tid, (x, y)) for tid, x, y, _ in people if tid not in self.label]
        if not newborn:
            return
        options = []
        for a, _obs_a, pred_a, miss_a in jumped:  # each has motion and a label: it was predicted
            for b, obs_b in newborn:
                d = math.dist(obs_b, pred_a)
                if d <= p.jump_m and d * d < p.ratio * miss_a * miss_a:
                    options.append((d / miss_a, a, b))
        used: set[int] = set()
        for _, a, b in sorted(options):
            if a in used or b in used:
                continue
            used.update((a, b))
            # The newcomer's tracker id takes over the old label and motion; the old tracker id
            # now follows a new person: it gets the new id's label and no motion yet.
            self.label[b] = self.label[a]
            self.label[a] = b
            self.tracks[b] = self.tracks.pop(a)
            self.repaired += 1
            self.repairs.append((t, self.label[b], b))
            logger.debug(
                "identity swap at a birth repaired at %.2f s: tracker ids %d and %d", t, a, b
            )

    def _forget(self, t: float) -> None:
        """Drop the motion of tracks unseen for a while and old repair notes.

        Labels are kept: a tracker id that comes back must keep its (possibly exchanged) output
        id, or two tracks could come out under one id.
        """
        stale = [
            tid
            for tid, tr in self.tracks.items()
            if t - tr.points[-1][0] > 5 * self.params.max_gap_s
        ]
        for tid in stale:
            del self.tracks[tid]
        while self.repairs and self.repairs[0][0] < t - 60.0:
            self.repairs.pop(0)
