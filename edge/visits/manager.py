"""Visits: an entry tap opens one, person tracks are bound to it, leaving through the exit ends it.

Binding rules (all in session time, no wall clock):
- A tap at an entry reader opens a visit and claims the earliest unclaimed track standing in (or
  near) the entry zone; if none is there yet, the next track born there within `claim_wait_s`.
- A track born at the entry that nobody's tap claims before it walks out of the entry zone joins a
  visit opened within `group_window_s` before it (a group entering on one tap, if
  `group_shares_cart`): the one whose tapper stood nearest to where it appeared (group members pass
  the gate in their tapper's lane), the most recent on a tie; else it is an unpaid track and counted
  as a fault.
- A track born away from the entry is a fragment of a track that was lost: it is stitched to the
  visit whose track ended most recently nearby. One born while that track was still reported
  (it matches no visit then) is an orphan: the visit adopts it when its last track ends within
  `stitch_radius_m` of where the orphan was at that moment.
- A visit ends when its last track disappears inside the exit zone; one whose tracks are all lost
  elsewhere ends after `lost_timeout_s`, flagged for review.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from edge.config.layout import StoreLayout, point_in_polygon
from edge.tracks.store import TrackHistory, TrackStore, distance_to_segment


@dataclass(frozen=True)
class VisitParams:
    entry_margin_m: float = 0.6  # how far outside the entry polygon still counts as "at the gate"
    exit_margin_m: float = 0.6
    claim_wait_s: float = 6.0
    group_window_s: float = 12.0
    group_shares_cart: bool = True
    group_lane_m_per_s: float = 0.15  # trades lane distance against time since the tap
    # How long before their tap a shopper appears at the gate: learned from taps with a single
    # candidate (the median of the last `tap_delay_samples`), this prior until there are any.
    tap_delay_s: float = 0.5
    walking_mps: float = 0.6  # faster than this over the last 0.6 s: walking away from the gate
    # ... and further than position noise moves a standing shopper's track (two positions each
    # about 6 cm off per axis differ by up to about 0.2 m).
    walking_noise_m: float = 0.2
    # A tapper stands in the entry zone; position error (about 6 cm) can put one standing at its
    # edge just outside, so "in the zone" for a tap allows this much.
    zone_tolerance_m: float = 0.2
    tap_delay_samples: int = 50
    # Where group members stand relative to their tapper: an offset covariance learned from
    # joins with a single candidate visit, shrunk towards an isotropic prior of this spread
    # worth `lane_prior_weight` joins (a gate with lanes makes it long and thin).
    lane_prior_m: float = 0.5
    lane_prior_weight: float = 2.0
    member_lead_s: float = 0.3  # a group member appears at most this long before their tapper
    stitch_radius_m: float = 1.0  # plus walking distance over the gap (stitch_speed_mps x gap)
    stitch_speed_mps: float = 1.5
    stitch_window_s: float = 8.0
    # A fragment is scored against where each lost track was heading (its velocity over the
    # last `stitch_velocity_window_s`, carried for at most `stitch_coast_s`: shoppers stop at
    # shelves) under a spread that grows with the gap: a Gaussian negative log-likelihood, so
    # a person lost for long but still near is not beaten by one lost briefly but far off.
    stitch_sigma_m: float = 0.25
    stitch_sigma_mps: float = 0.5
    stitch_velocity_window_s: float = 0.5
    stitch_coast_s: float = 1.0
    exit_gone_s: float = 0.25  # a track last seen in the exit zone and missing this long has left
    lost_timeout_s: float = 45.0


@dataclass
class Visit:
    visit_id: str
    card_uid: str
    reader: str
    opened_t: float
    track_ids: set[int] = field(default_factory=set)
    live_tracks: set[int] = field(default_factory=set)
    members: int = 0
    closed_t: float | None = None
    close_reason: str | None = None
    last_lost_t: float | None = None
    exit_tapped: bool = False
    announced: bool = False  # visit_ended emitted
    gate_xy: tuple[float, float] | None = None  # where the tapper stood when the tap claimed them
    gate_t: float | None = None  # when the tapper's track appeared


def _walking(
    history: TrackHistory, speed_mps: float, noise_m: float, window_s: float = 0.6
) -> bool:
    """Whether a track moved faster than `speed_mps` over its last `window_s`, by more than
    position noise alone moves it (`noise_m`).

    A young track has only a few tenths of a second of history: over 0.2 s, a standing shopper's
    position error alone reads as 0.6 m/s, so a tapper who had just appeared at the reader was
    taken for a group member walking away, and the next shopper got their tap (busy store,
    seed 0: two shoppers tapping 0.19 s apart were bound to each other's cards).
    """
    last = history.last
    first = next((p for p in history.points if p.t >= last.t - window_s), last)
    moved = math.hypot(last.x - first.x, last.y - first.y)
    return moved > max(speed_mps * (last.t - first.t), noise_m)


class VisitManager:
    """Opens, binds and closes visits from reads and track updates; emits event dicts."""

    def __init__(self, layout: StoreLayout, params: VisitParams = VisitParams()):
        self.layout = layout
        self.params = params
        self.entry_zones = [g.zone for g in layout.config.gates if g.kind in ("entry", "both")]
        self.exit_zones = [g.zone for g in layout.config.gates if g.kind in ("exit", "both")]
        self.entry_readers = {
            r for g in layout.config.gates if g.kind in ("entry", "both") for r in g.readers
        }
        self.exit_readers = {
            r for g in layout.config.gates if g.kind in ("exit", "both") for r in g.readers
        }
        self.visits: dict[str, Visit] = {}
        self.by_track: dict[int, str] = {}
        self.waiting: list[str] = []  # visits opened with no track yet
        self.unclaimed: dict[int, float] = {}  # entrant track id -> birth time
        self.exited_tracks: set[int] = set()
        self.retired: set[int] = set()  # lost tracks whose visit continued on a stitched track
        self.orphans: set[int] = set()  # live tracks born away from the entry, matching no visit
        self.faults: dict[str, int] = {}
        self._next = 0
        self._tap_delays: deque[float] = deque(maxlen=params.tap_delay_samples)
        self._lane_n = 0
        self._lane_sums = [0.0, 0.0, 0.0]  # sum of dx*dx, dx*dy, dy*dy over learned joins

    # --- geometry -----------------------------------------------------------------------------

    def _near(
        self, zones: list[list[tuple[float, float]]], x: float, y: float, margin: float
    ) -> bool:
        for zone in zones:
            if point_in_polygon((x, y), zone):
                return True
            xs = [p[0] for p in zone]
            ys = [p[1] for p in zone]
            if (
                min(xs) - margin <= x <= max(xs) + margin
                and min(ys) - margin <= y <= max(ys) + margin
            ):
                return True
        return False

    def _in_entry_zone(self, x: float, y: float, tolerance_m: float) -> bool:
        """Inside an entry polygon or within `tolerance_m` of one's edge."""
        for zone in self.entry_zones:
            if point_in_polygon((x, y), zone):
                return True
            edges = zip(zone, zone[1:] + zone[:1], strict=True)
            if any(distance_to_segment(x, y, a, b) <= tolerance_m for a, b in edges):
                return True
        return False

    def at_entry(self, x: float, y: float) -> bool:
        return self._near(self.entry_zones, x, y, self.params.entry_margin_m)

    def at_exit(self, x: float, y: float) -> bool:
        return self._near(self.exit_zones, x, y, self.params.exit_margin_m)

    # --- inputs -------------------------------------------------------------------------------

    def on_read(
        self, t: float, reader: str, kind: str, uid: str, event: str, tracks: TrackStore
    ) -> list[dict[str, Any]]:
        if kind != "card" or event != "insert":
            return []
        if reader in self.exit_readers:
            for visit in self.visits.values():
                if visit.card_uid == uid and visit.closed_t is None:
                    visit.exit_tapped = True
            return []
        if reader not in self.entry_readers:
            self._fault("read from a reader that belongs to no gate")
            return []
        self._next += 1
        visit = Visit(visit_id=f"v{self._next:04d}", card_uid=uid, reader=reader, opened_t=t)
        self.visits[visit.visit_id] = visit
        events: list[dict[str, Any]] = []
        track = self._claimable(t, tracks)
        if track is not None:
            self._bind(visit, track.track_id, tracks=tracks)
        else:
            self.waiting.append(visit.visit_id)
        events.append(
            {
                "type": "visit_started",
                "t": t,
                "visit_id": visit.visit_id,
                "card_uid": uid,
                "reader": reader,
                "track_id": track.track_id if track else None,
            }
        )
        return events

    def tap_delay(self) -> float:
        """Typical time from appearing at the gate to tapping, seconds (median of those learned)."""
        if not self._tap_delays:
            return self.params.tap_delay_s
        ordered = sorted(self._tap_delays)
        mid = len(ordered) // 2
        return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2

    def _claimable(self, t: float, tracks: TrackStore) -> TrackHistory | None:
        candidates = [
            tracks.tracks[tid]
            for tid in sorted(self.unclaimed)
            if tid in tracks.tracks
            and self.at_entry(tracks.tracks[tid].last.x, tracks.tracks[tid].last.y)
        ]
        if not candidates:
            return None
        if len(candidates) == 1:
            delay = t - candidates[0].first_t
            if 0.0 <= delay <= self.params.claim_wait_s:
                self._tap_delays.append(delay)
        delay = self.tap_delay()

        def rank(h: TrackHistory) -> tuple[bool, bool, float, float, int]:
            # The tapper stands at the reader: inside the zone, not walking away (a group member
            # who came in without a tap is already leaving the gate); then the one who arrived
            # the usual time before a tap. "First come" instead gave a waiting group member the
            # tap of the shopper behind them (busy store, perfect tracks: 8 of 445 taps bound to
            # the wrong person, 4 with the tap delay).
            inside = self._in_entry_zone(h.last.x, h.last.y, self.params.zone_tolerance_m)
            # Walking, not merely noisy: position error alone reads as 0.1-0.5 m/s over 0.6 s.
            walking = _walking(h, self.params.walking_mps, self.params.walking_noise_m)
            early = round(abs(t - h.first_t - delay), 1)
            return (not inside, walking, early, h.first_t, h.track_id)

        return min(candidates, key=rank)

    def _bind(
        self, visit: Visit, track_id: int, *, member: bool = True, tracks: TrackStore | None = None
    ) -> None:
        if visit.gate_xy is None and tracks is not None and track_id in tracks.tracks:
            first = tracks.tracks[track_id].points[0]
            visit.gate_xy = (first.x, first.y)
            visit.gate_t = tracks.tracks[track_id].first_t
        visit.track_ids.add(track_id)
        visit.live_tracks.add(track_id)
        if member:
            visit.members += 1
        self.by_track[track_id] = visit.visit_id
        self.unclaimed.pop(track_id, None)

    def on_tracks(
        self, t: float, born: list[TrackHistory], ended: list[TrackHistory], tracks: TrackStore
    ) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = []
        for history in born:
            p = history.last
            near_gate = self.at_entry(p.x, p.y)
            # Born near the gate but clearly outside its zone (beyond the position error a
            # tapper at its edge may show), where nobody enters: a fragment of a shopper lost
            # there a moment ago first (put-back-same-plate, seed 1: a tapper lost 1.6 s at the
            # gate came back 0.3 m outside its zone and joined the previous tapper as a group
            # member, with all their picks).
            in_zone = self._in_entry_zone(p.x, p.y, self.params.zone_tolerance_m)
            if near_gate and self.waiting:
                visit = self.visits[self.waiting.pop(0)]
                self._bind(visit, history.track_id, tracks=tracks)
                joined: str | None = visit.visit_id
            elif near_gate and in_zone:
                joined = None
            else:
                joined = self._stitch(history, tracks)
            if joined is not None:
                events.append(_visit_track(t, joined, history.track_id))
            elif near_gate:
                self.unclaimed[history.track_id] = t
            else:
                self._fault("track appeared away from the entry and matched no visit")
                if history.track_id not in self.by_track:
                    self.orphans.add(history.track_id)
        # Entrants that walked into the store without a tap join the latest visit (a group).
        for tid in sorted(self.unclaimed):
            history = tracks.tracks.get(tid)
            if history is None:
                continue
            if (
                not self.at_entry(history.last.x, history.last.y)
                or t - self.unclaimed[tid] > self.params.claim_wait_s
            ):
                first = history.points[0]
                visit = self._group_visit(self.unclaimed[tid], (first.x, first.y))
                if visit is not None and self.params.group_shares_cart:
                    self._bind(visit, tid)
                    events.append(_visit_track(t, visit.visit_id, tid, group_member=True))
                else:
                    del self.unclaimed[tid]
                    self._fault("a person entered without a tap")
        # Waiting visits whose tap found nobody give up after a while.
        for vid in list(self.waiting):
            if t - self.visits[vid].opened_t > self.params.claim_wait_s:
                self.waiting.remove(vid)
                self._fault("an entry tap with no person at the gate")
        for history in ended:
            self._track_gone(history, history.last.t)
            adopted = self._adopt_orphan(history, tracks)
            if adopted is not None:
                events.append(_visit_track(t, *adopted))
        # Fast exit: a bound track last seen at the exit and missing for a moment has left.
        for tid, history in sorted(tracks.tracks.items()):
            if tid in self.by_track and tid not in self.exited_tracks:
                p = history.last
                if t - p.t >= self.params.exit_gone_s and self.at_exit(p.x, p.y):
                    self.exited_tracks.add(tid)
                    self._track_gone(history, p.t)
        events.extend(self._close_due(t))
        return events

    def lane_distance(self, offset: tuple[float, float]) -> float:
        """How far a member's offset from its tapper is, in metres of the isotropic prior.

        A Mahalanobis distance under the offset covariance learned from unambiguous joins: at
        a gate with lanes members stand behind their tapper, so an offset along the lane is
        cheap and one across it is dear; with no data (or no lanes) it is plain distance.
        """
        p = self.params
        prior = p.lane_prior_weight * p.lane_prior_m**2
        n = p.lane_prior_weight + self._lane_n
        sxx = (prior + self._lane_sums[0]) / n
        sxy = self._lane_sums[1] / n
        syy = (prior + self._lane_sums[2]) / n
        det = sxx * syy - sxy * sxy
        dx, dy = offset
        q = (syy * dx * dx - 2 * sxy * dx * dy + sxx * dy * dy) / det
        return p.lane_prior_m * math.sqrt(max(q, 0.0))

    def _group_visit(self, born_t: float, born_xy: tuple[float, float]) -> Visit | None:
        """The visit a group member belongs to: of those opened shortly before they arrived, the
        one whose tapper stood nearest in lane terms (`lane_distance`) and tapped most recently:
        each second since the tap counts like `group_lane_m_per_s` metres of distance."""
        recent = [
            v
            for v in self.visits.values()
            if v.closed_t is None
            and v.track_ids
            and 0 <= born_t - v.opened_t + 1.0 <= self.params.group_window_s
            # A member comes through with or after their tapper, not well before them.
            and (v.gate_t is None or v.gate_t <= born_t + self.params.member_lead_s)
        ]

        def offset(v: Visit) -> tuple[float, float]:
            assert v.gate_xy is not None
            return (born_xy[0] - v.gate_xy[0], born_xy[1] - v.gate_xy[1])

        def rank(v: Visit) -> tuple[float, float, str]:
            gap = self.lane_distance(offset(v)) if v.gate_xy is not None else math.inf
            cost = gap + self.params.group_lane_m_per_s * max(0.0, born_t - v.opened_t)
            return (round(cost, 2), -v.opened_t, v.visit_id)

        if not recent:
            return None
        best = min(recent, key=rank)
        if best.gate_xy is not None:
            # Learn the lane shape from every join (hard EM): the few wrong joins add roughly
            # isotropic offsets, the right ones the gate's lane structure.
            dx, dy = offset(best)
            self._lane_n += 1
            self._lane_sums[0] += dx * dx
            self._lane_sums[1] += dx * dy
            self._lane_sums[2] += dy * dy
        return best

    def _stitch(self, history: TrackHistory, tracks: TrackStore) -> str | None:
        """Bind a track born away from the entry to the visit whose track vanished nearby.

        The old track may not be declared ended yet (the vision system gives up on a person
        sooner than we do), so live-but-stale tracks count too; the old track is retired.
        Each candidate is scored by `_stitch_cost`; the cheapest within reach wins.
        """
        p = history.last
        best: tuple[float, float, int, str] | None = None
        for old in tracks.recent():
            vid = self.by_track.get(old.track_id)
            if vid is None or old.track_id == history.track_id:
                continue
            visit = self.visits[vid]
            if (
                visit.closed_t is not None
                or old.track_id in self.exited_tracks
                or old.track_id in self.retired
            ):
                continue
            gap = history.first_t - old.last.t
            if not 0.05 <= gap <= self.params.stitch_window_s:
                continue
            d = math.hypot(old.last.x - p.x, old.last.y - p.y)
            if d <= self.params.stitch_radius_m + self.params.stitch_speed_mps * gap:
                key = (self._stitch_cost(old, p.x, p.y, gap), gap, old.track_id, vid)
                if best is None or key < best:
                    best = key
        if best is None:
            return None
        _, _, old_id, vid = best
        visit = self.visits[vid]
        visit.live_tracks.discard(old_id)
        self.retired.add(old_id)
        self._bind(visit, history.track_id, member=False)
        return vid

    def _adopt_orphan(self, lost: TrackHistory, tracks: TrackStore) -> tuple[str, int] | None:
        """When a visit's last track ends away from the exit, bind it to the live orphan (a
        track born away from the entry that matched no visit) that was nearest to the lost
        track's last position at that moment, within `stitch_radius_m`; (visit id, track id).

        Stitching binds a fragment when it is born, to a track that has already gone. A tracker
        that reports a lost track at its prediction for a few steps, or a second view of a
        person that became a track of its own and then took the person over, gives the new
        track first and ends the old one after: on the simulator's true camera boxes
        (three-at-shelf seed 2) two visits lost their shopper that way and every pick after."""
        vid = self.by_track.get(lost.track_id)
        if vid is None or not self.orphans:
            return None
        visit = self.visits[vid]
        if visit.closed_t is not None or visit.live_tracks:
            return None
        best: tuple[float, int] | None = None
        for tid in sorted(self.orphans):
            history = tracks.tracks.get(tid)
            if history is None or history.ended_t is not None:
                continue
            then = history.window(lost.last.t - 1.0, lost.last.t)
            if not then:
                continue
            q = then[-1]
            d = math.hypot(q.x - lost.last.x, q.y - lost.last.y)
            if d <= self.params.stitch_radius_m and (best is None or (d, tid) < best):
                best = (d, tid)
        if best is None:
            return None
        tid = best[1]
        self.orphans.discard(tid)
        self.retired.add(lost.track_id)
        visit.last_lost_t = None
        self._bind(visit, tid, member=False)
        return vid, tid

    def _stitch_cost(self, old: TrackHistory, x: float, y: float, gap: float) -> float:
        """Negative log-likelihood (up to a constant) that the person of `old`, lost `gap`
        seconds ago, reappears at (x, y): Gaussian around where their last motion led, with a
        spread growing with the gap.

        The earlier score (distance from the last position + 0.5 x gap) gave a fragment to a
        track lost briefly nearby instead of the one walking towards it, or lost longer but
        standing still: whole carts exchanged (busy store, realistic tracks, seed 0: 10 wrong
        stitches).
        """
        prm = self.params
        last = old.last
        base = next((q for q in old.points if q.t >= last.t - prm.stitch_velocity_window_s), last)
        dt = last.t - base.t
        coast = min(gap, prm.stitch_coast_s)
        px = last.x + ((last.x - base.x) / dt * coast if dt > 0 else 0.0)
        py = last.y + ((last.y - base.y) / dt * coast if dt > 0 else 0.0)
        sigma = prm.stitch_sigma_m + prm.stitch_sigma_mps * gap
        d2 = (x - px) ** 2 + (y - py) ** 2
        return d2 / (2 * sigma * sigma) + 2 * math.log(sigma)

    def _track_gone(self, history: TrackHistory, t_last: float) -> None:
        vid = self.by_track.get(history.track_id)
        if vid is None:
            self.unclaimed.pop(history.track_id, None)
            self.orphans.discard(history.track_id)
            return
        visit = self.visits[vid]
        if history.track_id not in visit.live_tracks:
            return
        visit.live_tracks.discard(history.track_id)
        if self.at_exit(history.last.x, history.last.y):
            self.exited_tracks.add(history.track_id)
            visit.last_lost_t = None if not visit.live_tracks else visit.last_lost_t
            if not visit.live_tracks:
                visit.closed_t = t_last
                visit.close_reason = "exit"
        else:
            visit.last_lost_t = t_last

    def _close_due(self, t: float) -> list[dict[str, Any]]:
        events = []
        for visit in sorted(self.visits.values(), key=lambda v: v.visit_id):
            if visit.closed_t is None and not visit.live_tracks and visit.track_ids:
                lost = visit.last_lost_t
                if lost is not None and t - lost > self.params.lost_timeout_s:
                    visit.closed_t = t
                    visit.close_reason = "lost"
            if visit.closed_t is not None and visit.close_reason and not visit.announced:
                visit.announced = True
                events.append(
                    {
                        "type": "visit_ended",
                        "t": t,
                        "visit_id": visit.visit_id,
                        "reason": visit.close_reason,
                    }
                )
        return events

    def _fault(self, message: str) -> None:
        self.faults[message] = self.faults.get(message, 0) + 1

    def visit_of_track(self, track_id: int) -> Visit | None:
        vid = self.by_track.get(track_id)
        return self.visits.get(vid) if vid else None

    def close_all(self, t: float) -> list[dict[str, Any]]:
        """End of input: every open visit is closed (replay only; live stores keep them)."""
        for visit in self.visits.values():
            if visit.closed_t is None:
                visit.closed_t = t
                visit.close_reason = "end_of_session"
        return self._close_due(t)


def _visit_track(t: float, visit_id: str, track_id: int, **extra: Any) -> dict[str, Any]:
    """The event binding a track to a visit after the visit opened (stitch, group, adoption)."""
    return {"type": "visit_track", "t": t, "visit_id": visit_id, "track_id": track_id, **extra}
