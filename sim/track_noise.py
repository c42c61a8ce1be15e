"""Observation model for person tracks: what an upstream vision tracker would report.

The simulator knows every shopper's true floor position and extended hands. Real overhead
tracking is not that clean, and the fusion stage (who took which item) must cope with its errors,
so recorded sessions carry tracks made by this model instead of the truth:

- position error that wanders slowly (an AR(1) process per person and axis, i.e. a discretised
  Ornstein-Uhlenbeck process) plus a little white jitter, because a detector's box error on a
  person persists over several frames (pose, clothing, partial occlusion) rather than being
  independent per frame;
- hand position error and missed hands (a reaching hand not detected in a frame);
- dropouts: a person not reported for a run of frames; a short one keeps the track id, a long one
  ends the track and a new id is born on reacquisition (fragmentation);
- identity swaps: when two people come close, their track ids may exchange, at most once per
  encounter.

False positives (tracks with no person behind them) are not modelled. docs/track-noise.md
describes each parameter and its default.

Determinism: everything random is drawn from the generator passed in, in an order that depends
only on the inputs (people are processed in person-id order whatever order they are passed in).
"""

from __future__ import annotations

import math
from bisect import bisect_right
from dataclasses import dataclass, fields
from operator import attrgetter

import numpy as np

Hand = tuple[float, float, float]


@dataclass(frozen=True, slots=True)
class TruePerson:
    """A shopper's true state in one frame: floor position (m) and extended hands (x, y, z m).

    `hands` holds 0-2 hands and only those extended or reaching; a hand at rest is not reported.
    """

    person_id: int
    x: float
    y: float
    hands: tuple[Hand, ...] = ()


@dataclass(frozen=True, slots=True)
class ObservedPerson:
    """What the tracker reports for one track in one frame."""

    track_id: int
    x: float
    y: float
    hands: tuple[Hand, ...] = ()


@dataclass(frozen=True, slots=True)
class Assignment:
    """From time `t` on, `track_id` follows `person_id`; `person_id` None: the track ended."""

    t: float
    track_id: int
    person_id: int | None


@dataclass(frozen=True)
class TrackNoiseParams:
    """Error model of the person tracker. Defaults describe a decent overhead multi-camera tracker.

    Standard deviations are per axis. `perfect()` switches every error off.
    """

    # Slowly wandering position error: stationary std (m) of an AR(1) process per axis. Overhead
    # trackers projecting boxes onto the floor are typically a few centimetres to a decimetre off.
    pos_sigma_m: float = 0.06
    # Correlation time (s) of that error: about how long a pose or occlusion bias persists.
    pos_corr_s: float = 0.5
    # Frame-to-frame white jitter (m) on top of the wandering error (box edge noise).
    pos_jitter_m: float = 0.015
    # Hand (keypoint) position error, white, per axis including height (m).
    hand_sigma_m: float = 0.04
    # Probability that a reaching hand is not reported in a frame (occluded wrist, missed keypoint).
    hand_miss_prob: float = 0.1
    # Rate (per second, per visible person) at which a dropout starts (occlusion, tracker loss).
    dropout_rate_hz: float = 0.02
    # Dropout duration is log-normal: median (s) and log-space std; a heavy tail gives the odd
    # several-second loss behind a gondola or a crowd.
    dropout_median_s: float = 0.4
    dropout_log_sigma: float = 0.9
    # A person unseen for longer than this (s) loses their track (the tracker stops coasting it);
    # they get a new track id when seen again.
    reacquire_s: float = 1.0
    # Two people closer than this (m, true centre distance) start a close encounter ...
    swap_distance_m: float = 0.4
    # ... which lasts until they are farther apart than this (hysteresis, so one encounter whose
    # distance hovers around the threshold is not counted many times).
    swap_release_m: float = 0.6
    # Probability that the two track ids exchange during one close encounter.
    swap_prob: float = 0.1

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if not math.isfinite(value) or value < 0:
                raise ValueError(f"TrackNoiseParams.{f.name} must be finite and >= 0, got {value}")
        for name in ("hand_miss_prob", "swap_prob"):
            if getattr(self, name) > 1:
                raise ValueError(
                    f"TrackNoiseParams.{name} must be a probability, got {getattr(self, name)}"
                )
        if self.pos_corr_s <= 0:
            raise ValueError("TrackNoiseParams.pos_corr_s must be > 0")
        if self.swap_release_m < self.swap_distance_m:
            raise ValueError("TrackNoiseParams.swap_release_m must be >= swap_distance_m")

    @classmethod
    def perfect(cls) -> TrackNoiseParams:
        """No errors at all: tracks are the truth, one stable id per visit."""
        return cls(
            pos_sigma_m=0.0,
            pos_jitter_m=0.0,
            hand_sigma_m=0.0,
            hand_miss_prob=0.0,
            dropout_rate_hz=0.0,
            swap_prob=0.0,
        )


class TrackObserver:
    """Turns true per-frame people into observed tracks, frame by frame, in time order.

    State per person: the correlated position error, the current track id, the dropout in
    progress. State per pair: whether they are in a close encounter. Track ids start at 1, are
    issued in order of (re)birth (person-id order within a frame) and are never reused.
    """

    def __init__(self, params: TrackNoiseParams, rng: np.random.Generator) -> None:
        self.params = params
        self.rng = rng
        # Every change of which person a track follows, in time order; evaluations use it to score
        # association errors. Read-only for callers.
        self.assignments: list[Assignment] = []
        self._history: dict[int, tuple[list[float], list[int | None]]] = {}
        self._next_track = 1
        self._last_t: float | None = None
        # Per-person arrays indexed by a slot; slots are never reused (a few thousand visits a day
        # at most, so the arrays stay small).
        self._slot_of: dict[int, int] = {}
        self._next_slot = 0
        self._err = np.zeros((64, 2))
        self._drop_until = np.full(64, -np.inf)
        self._last_seen = np.zeros(64)
        self._track_of: dict[int, int | None] = {}  # None: track ended, waiting for reacquisition
        self._close: set[tuple[int, int]] = set()  # person-id pairs in a close encounter

    # --- queries ------------------------------------------------------------------------------

    def true_id_of_track(self, track_id: int, t: float | None = None) -> int | None:
        """The person `track_id` followed at time `t` (None if the track was not alive then).

        Without `t`: the last person the track followed, even if it has ended since; None for an
        id never issued.
        """
        hist = self._history.get(track_id)
        if hist is None:
            return None
        times, persons = hist
        if t is None:
            return next((p for p in reversed(persons) if p is not None), None)
        k = bisect_right(times, t)
        return persons[k - 1] if k else None

    # --- bookkeeping --------------------------------------------------------------------------

    def _log(self, t: float, track_id: int, person_id: int | None) -> None:
        self.assignments.append(Assignment(t, track_id, person_id))
        times, persons = self._history.setdefault(track_id, ([], []))
        times.append(t)
        persons.append(person_id)

    def _birth(self, t: float, person_id: int) -> None:
        tid = self._next_track
        self._next_track += 1
        self._track_of[person_id] = tid
        self._log(t, tid, person_id)

    def _end_track(self, t: float, person_id: int) -> None:
        tid = self._track_of.get(person_id)
        if tid is not None:
            self._log(t, tid, None)
        self._track_of[person_id] = None

    # --- the model ----------------------------------------------------------------------------

    def observe(self, t: float, people: list[TruePerson]) -> list[ObservedPerson]:
        """Observed tracks for the frame at time `t`, sorted by track id.

        Call once per frame with non-decreasing `t`. A person passed for the first time has
        entered; a person no longer passed has left and their track ends.
        """
        p = self.params
        rng = self.rng
        if self._last_t is not None and t < self._last_t:
            raise ValueError(f"frames must come in time order: {t} after {self._last_t}")
        dt = 0.0 if self._last_t is None else t - self._last_t
        self._last_t = t

        people = sorted(people, key=attrgetter("person_id"))
        ids = [q.person_id for q in people]
        index = {pid: i for i, pid in enumerate(ids)}
        if len(index) != len(ids):
            raise ValueError("a person appears twice in one frame")
        n = len(ids)

        # Departures: the person left the store, their track ends, their encounters are over.
        gone = [pid for pid in self._track_of if pid not in index]
        for pid in gone:
            self._end_track(t, pid)
            del self._track_of[pid]
            del self._slot_of[pid]  # a returning person id is a new visit with fresh state
        if gone:
            gone_set = set(gone)
            self._close = {pr for pr in self._close if gone_set.isdisjoint(pr)}
        new = [pid for pid in ids if pid not in self._slot_of]
        for pid in new:
            self._allocate(pid)
        if n == 0:
            return []
        slots = np.fromiter((self._slot_of[pid] for pid in ids), dtype=np.intp, count=n)
        is_new = np.zeros(n, dtype=bool)
        if new:
            is_new[[index[pid] for pid in new]] = True
        xy = np.array([(q.x, q.y) for q in people], dtype=float)

        # Correlated position error: exact AR(1) discretisation for the real frame gap, so an
        # irregular frame rate keeps the configured std and correlation time.
        if p.pos_sigma_m > 0:
            z = rng.standard_normal((n, 2))
            phi = math.exp(-dt / p.pos_corr_s)
            err = phi * self._err[slots] + (p.pos_sigma_m * math.sqrt(1.0 - phi * phi)) * z
            err[is_new] = p.pos_sigma_m * z[is_new]  # entering: start in the stationary regime
            self._err[slots] = err
            obs = xy + err
        else:
            obs = xy.copy()
        if p.pos_jitter_m > 0:
            obs += p.pos_jitter_m * rng.standard_normal((n, 2))

        # Dropouts. A person entering is always seen in their first frame.
        hidden = self._drop_until[slots] > t
        if p.dropout_rate_hz > 0 and dt > 0:
            u = rng.random(n)
            starts = np.flatnonzero((u < -math.expm1(-p.dropout_rate_hz * dt)) & ~hidden & ~is_new)
            if starts.size:
                dur = p.dropout_median_s * np.exp(
                    p.dropout_log_sigma * rng.standard_normal(starts.size)
                )
                self._drop_until[slots[starts]] = t + dur
                hidden[starts] = True
        # Fragmentation: the tracker coasts an unseen track for reacquire_s, then gives up; the
        # end is logged at that moment. Judged on the time actually unseen, so back-to-back
        # dropouts that add up to a long gap fragment too.
        if hidden.any():
            for i in np.flatnonzero(hidden & (t - self._last_seen[slots] > p.reacquire_s)).tolist():
                if self._track_of[ids[i]] is not None:
                    self._end_track(t, ids[i])
        self._last_seen[slots[~hidden]] = t
        hidden_l = hidden.tolist()

        # Births and rebirths, in person-id order so ids follow order of (re)appearance.
        for i, pid in enumerate(ids):
            if not hidden_l[i] and self._track_of.get(pid) is None:
                self._birth(t, pid)

        if p.swap_prob > 0 and n >= 2:
            self._encounters(t, ids, index, xy, hidden_l)

        return self._emit(people, ids, obs, hidden_l)

    def _allocate(self, person_id: int) -> None:
        """Give an entering person a state slot (never reused, so no stale state can leak)."""
        slot = self._next_slot
        self._next_slot += 1
        if slot >= len(self._drop_until):
            grow = len(self._drop_until)
            self._err = np.concatenate([self._err, np.zeros((grow, 2))])
            self._drop_until = np.concatenate([self._drop_until, np.full(grow, -np.inf)])
            self._last_seen = np.concatenate([self._last_seen, np.zeros(grow)])
        self._slot_of[person_id] = slot
        self._track_of[person_id] = None

    def _encounters(
        self,
        t: float,
        ids: list[int],
        index: dict[int, int],
        xy: np.ndarray,
        hidden: list[bool],
    ) -> None:
        """Track close encounters (true distances) and roll one possible swap at each onset."""
        p = self.params
        diff = xy[:, None, :] - xy[None, :, :]
        d2 = np.einsum("ijk,ijk->ij", diff, diff)
        # End encounters whose pair has moved apart beyond the release distance.
        release2 = p.swap_release_m * p.swap_release_m
        for pair in [pr for pr in self._close if d2[index[pr[0]], index[pr[1]]] > release2]:
            self._close.discard(pair)
        ii, jj = np.nonzero(np.triu(d2 < p.swap_distance_m * p.swap_distance_m, 1))
        for i, j in zip(ii.tolist(), jj.tolist(), strict=True):
            pair = (ids[i], ids[j])
            if pair in self._close:
                continue
            self._close.add(pair)
            # One roll per encounter, drawn even when it cannot apply, so the random stream does
            # not depend on dropout state.
            roll = self.rng.random()
            if roll < p.swap_prob and not hidden[i] and not hidden[j]:
                a, b = pair
                ta, tb = self._track_of[a], self._track_of[b]
                assert ta is not None and tb is not None  # visible people always have a track
                self._track_of[a], self._track_of[b] = tb, ta
                self._log(t, tb, a)
                self._log(t, ta, b)

    def _emit(
        self,
        people: list[TruePerson],
        ids: list[int],
        obs: np.ndarray,
        hidden: list[bool],
    ) -> list[ObservedPerson]:
        p = self.params
        visible = [i for i in range(len(ids)) if not hidden[i]]
        noisy_hands = p.hand_sigma_m > 0 or p.hand_miss_prob > 0
        hands_out: dict[int, tuple[Hand, ...]] = {}
        if noisy_hands:
            owners = [i for i in visible for _ in people[i].hands]
            if owners:
                arr = np.array([h for i in visible for h in people[i].hands], dtype=float)
                if p.hand_sigma_m > 0:
                    arr += p.hand_sigma_m * self.rng.standard_normal(arr.shape)
                keep = (
                    (self.rng.random(len(owners)) >= p.hand_miss_prob).tolist()
                    if p.hand_miss_prob > 0
                    else [True] * len(owners)
                )
                grouped: dict[int, list[Hand]] = {}
                for owner, hand, kept in zip(owners, arr.tolist(), keep, strict=True):
                    if kept:
                        grouped.setdefault(owner, []).append((hand[0], hand[1], hand[2]))
                hands_out = {i: tuple(hs) for i, hs in grouped.items()}
        obs_l = obs.tolist()
        track_of = self._track_of
        out = [
            ObservedPerson(
                track_of[ids[i]],  # type: ignore[arg-type]  # visible => has a track
                obs_l[i][0],
                obs_l[i][1],
                hands_out.get(i, ()) if noisy_hands else tuple(people[i].hands),
            )
            for i in visible
        ]
        out.sort(key=attrgetter("track_id"))
        return out
