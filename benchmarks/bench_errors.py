"""Why receipt lines go wrong: every true pick or put-back that did not reach its payer's cart,
sorted by cause.

Generates and replays each scenario/seed like `bench_accuracy.py`, then walks the true shelf
actions. For each one it finds the run's shelf event (the scorer's own matching), the cart lines
fusion made for that event, and which true person the credited track was following at that moment
(the nearest true position, after the same swap repair the edge runs). Causes:

- `no event`: the shelf detector saw nothing the action could match;
- `not attributed`: an event, but no cart line (nobody near, or no held item fits a put-back);
- `wrong product`: the right visit, another product;
- `wrong person`: the credited track followed someone other than the actor: fusion's choice;
- `gate binding`: the credited track followed the actor and is the track the visit's tap was
  bound to, and that track followed someone of another payer from the start: the card was
  given to the wrong person at the gate;
- `group join`: the credited track followed the actor and joined the visit at the gate (within
  12 s of its tap) as a group member: it joined the wrong tapper;
- `track identity`: the credited track followed the actor, but the visit it belongs to was
  someone else's at the tap: a fragment stitched to the wrong visit later, or a swap the repair
  missed;
- `merged`: two actions the detector saw as one weight change, one of them credited;
- `hand-over`: a hand-over between two shoppers that the run got wrong, one row per miss: a true
  hand-over the run did not make (or made between other visits or with another product), or a
  hand-over the run made that never happened (it moved an item out of the cart it belonged in;
  the pick itself is not counted again).

Usage:
    python benchmarks/bench_errors.py [--seeds 3] [--first-seed 0] [--scenario NAME ...]
        [--tracks realistic|no-swaps|perfect] [--jobs 2] [--show 10]
"""

from __future__ import annotations

import argparse
import bisect
import json
import math
from collections import Counter
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from _scenarios import add_scenario_options, on_replay, scenario_jobs

from edge.eval import evaluate
from edge.eval.run_reader import read_run
from edge.eval.scoring import combine, match_receipts, match_shelf_events, payers
from edge.session.model import TrackFrame, TruthAction
from edge.session.reader import Session, track_rows
from edge.tracks.swaps import SwapRepair

CAUSES = (
    "no event",
    "not attributed",
    "wrong product",
    "wrong person",
    "gate binding",
    "group join",
    "track identity",
    "merged",
    "hand-over",
)
FOLLOW_M = 0.5  # a track within this of a true person follows them


class _Frames:
    """Time-indexed positions: output-labelled tracks and true people."""

    def __init__(self) -> None:
        self.times: list[float] = []
        self.rows: list[dict[int, tuple[float, float]]] = []
        self.born: dict[int, float] = {}

    def add(self, t: float, people: dict[int, tuple[float, float]]) -> None:
        self.times.append(t)
        self.rows.append(people)
        for pid in people:
            self.born.setdefault(pid, t)

    def exchange_since(self, a: int, b: int, t: float) -> None:
        """Ids `a` and `b` trade positions in every frame from `t` on."""
        for row in self.rows[bisect.bisect_left(self.times, t) :]:
            pa, pb = row.pop(a, None), row.pop(b, None)
            if pa is not None:
                row[b] = pa
            if pb is not None:
                row[a] = pb

    def at(self, t: float) -> dict[int, tuple[float, float]]:
        i = bisect.bisect_right(self.times, t) - 1
        return self.rows[i] if i >= 0 else {}

    def span(self, t0: float, t1: float) -> list[dict[int, tuple[float, float]]]:
        i = bisect.bisect_left(self.times, t0)
        j = bisect.bisect_right(self.times, t1)
        return self.rows[i:j]


def _followed(track: int, t0: float, t1: float, tracks: _Frames, truth: _Frames) -> int | None:
    """The true person a track followed most often in [t0, t1] (None if it was not seen)."""
    votes: Counter[int] = Counter()
    for a, b in zip(tracks.span(t0, t1), truth.span(t0, t1), strict=False):
        if track not in a:
            continue
        x, y = a[track]
        best = min(b.items(), key=lambda kv: math.dist((x, y), kv[1]), default=None)
        if best is not None and math.dist((x, y), best[1]) <= FOLLOW_M:
            votes[best[0]] += 1
    return votes.most_common(1)[0][0] if votes else None


def _run_tracks(session: Session, run_dir: Path) -> Iterator[TrackFrame]:
    """The person tracks the run consumed: the session's, or those it computed from the
    cameras (`--tracks cameras` or `true-boxes`: camera_tracks.jsonl beside its events)."""
    computed = run_dir / "camera_tracks.jsonl"
    return track_rows(computed) if computed.exists() else session.iter_tracks()


def analyse(session_dir: Path, run_dir: Path) -> list[dict[str, Any]]:
    """One row per true shelf action that did not reach its payer's cart."""
    session = Session.open(session_dir)
    truth = session.truth()
    assert truth is not None
    run = read_run(run_dir)
    payer = payers(truth.visits)
    person_payer = {v.person_id: payer[v.visit_id] for v in truth.visits}
    paying = [v for v in truth.visits if payer[v.visit_id] == v.visit_id]
    matched, _ = match_receipts(paying, run.receipts)
    run_to_truth = {run.receipts[i].visit_id: vid for vid, i in matched.items()}

    events = [json.loads(raw) for raw in (run_dir / "events.jsonl").read_text().splitlines()]
    # The edge's own identity repairs, replayed: the one-frame repair, then the late ones the
    # run logged (edge/tracks/late_swaps.py), which relabel the frames since the exchange.
    late = {}
    for e in events:
        if e["type"] == "track_swap_repaired":
            late.setdefault(e["t"], []).append(e)
    tracks, true_pos = _Frames(), _Frames()
    repair = SwapRepair()
    for frame in _run_tracks(session, run_dir):
        people = [(p.id, p.x, p.y, tuple(p.hands)) for p in frame.people]
        out = repair.relabel(frame.t, people)
        tracks.add(frame.t, {tid: (x, y) for tid, x, y, _ in out})
        for e in late.get(frame.t, []):
            a, b = e["tracks"]
            repair.exchange_outputs(frame.t, a, b)
            tracks.exchange_since(a, b, e["since"])
    for frame in session.iter_true_positions():
        true_pos.add(frame.t, {p.id: (p.x, p.y) for p in frame.people})

    lines_by_event: dict[str, list[dict[str, Any]]] = {}
    tap_track: dict[str, tuple[float, int]] = {}
    for e in events:
        if e["type"] in ("cart_line_added", "cart_line_removed") and e.get("shelf_event_id"):
            lines_by_event.setdefault(e["shelf_event_id"], []).append(e)
        elif e["type"] == "visit_started" and e.get("track_id") is not None:
            tap_track[e["visit_id"]] = (e["t"], e["track_id"])

    match = match_shelf_events(truth.actions, run.shelf_events)
    rows = []
    for i, action in enumerate(truth.actions):
        if action.kind not in ("pick", "put") or not action.plates:
            continue
        want = payer[action.visit_id]
        sign = 1 if action.kind == "pick" else -1
        j = match.action_event.get(i)
        where = {"t": round(action.t_start, 2), "kind": action.kind, "visit": action.visit_id}
        if j is None:
            rows.append(where | {"cause": "no event"})
            continue
        event = run.shelf_events[j]
        lines = [
            ln
            for ln in lines_by_event.get(event.event_id, [])
            if (ln["type"] == "cart_line_added") == (sign > 0)
        ]
        credited = [(run_to_truth.get(ln["visit_id"]), ln) for ln in lines]
        if any(v == want and ln["product_id"] == action.product_id for v, ln in credited):
            continue
        if not lines:
            rows.append(where | {"cause": "not attributed"})
            continue
        if any(v == want for v, _ in credited):
            rows.append(where | {"cause": "wrong product"})
            continue
        if i in match.merged or len(match.event_actions.get(j, [])) > 1:
            others = [truth.actions[k].visit_id for k in match.event_actions[j] if k != i]
            if any(payer[o] in {v for v, _ in credited} for o in others):
                rows.append(where | {"cause": "merged"})
                continue
        ln = lines[0]
        track = ln["evidence"].get("track_id")
        who = _followed(track, event.t_start - 0.5, event.t_end, tracks, true_pos)
        if who is None or person_payer.get(who) != want:
            rows.append(where | {"cause": "wrong person", "track": track, "followed": who})
            continue
        owner = run_to_truth.get(ln["visit_id"])
        tap_t, tapped = tap_track.get(ln["visit_id"], (math.inf, None))
        if track != tapped and tracks.born.get(track, -math.inf) <= tap_t + 12.0:
            rows.append(where | {"cause": "group join", "track": track, "owner": owner})
            continue
        first = (
            _followed(tapped, 0.0, tap_t + 5.0, tracks, true_pos) if tapped is not None else None
        )
        bound_right = first is not None and person_payer.get(first) == owner
        cause = "track identity" if bound_right else "gate binding"
        rows.append(where | {"cause": cause, "track": track, "owner": owner})
    return rows + _hand_overs(truth.actions, payer, events, run_to_truth)


def _hand_overs(
    actions: Sequence[TruthAction],
    payer: dict[str, str],
    events: list[dict[str, Any]],
    run_to_truth: dict[str, str],
) -> list[dict[str, Any]]:
    """Rows for hand-overs the run missed and hand-overs it made that never happened."""
    # (giver's payer, taker's payer, product) -> start times of the true hand-overs not yet made
    pending: dict[tuple[str | None, str | None, str], list[float]] = {}
    for a in actions:
        if a.kind == "handoff" and a.to_visit_id is not None:
            key = (payer[a.visit_id], payer[a.to_visit_id], a.product_id)
            pending.setdefault(key, []).append(a.t_start)
    rows = []
    for e in events:
        ev = e.get("evidence", {})
        if e["type"] != "cart_line_added" or "handoff_from_visit" not in ev:
            continue
        giver = run_to_truth.get(ev["handoff_from_visit"])
        key = (giver, run_to_truth.get(ev["handoff_to_visit"]), e["product_id"])
        if pending.get(key):
            pending[key].pop(0)
        else:
            rows.append({"t": round(e["t"], 2), "kind": "handoff", "visit": giver})
    for (giver, _, _), times in pending.items():
        rows += [{"t": round(t, 2), "kind": "handoff", "visit": giver} for t in times]
    return [row | {"cause": "hand-over"} for row in rows]


def _measure(session: Path, run: Path) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    return analyse(session, run), evaluate(session, run)


def run_one(job: tuple[str, int, str]) -> tuple[str, int, list[dict[str, Any]], dict[str, Any]]:
    rows, score = on_replay(job, _measure)
    return job[0], job[1], rows, score


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    add_scenario_options(parser, first_seed=0)
    parser.add_argument("--show", type=int, default=0, help="print this many rows per cause")
    args = parser.parse_args()
    names, jobs = scenario_jobs(args)
    by_scenario: dict[str, Counter[str]] = {}
    examples: dict[str, list[str]] = {}
    scores = []
    with ProcessPoolExecutor(args.jobs) as pool:
        for scenario, seed, rows, score in pool.map(run_one, jobs):
            scores.append(score)
            counts = by_scenario.setdefault(scenario, Counter())
            for row in rows:
                counts[row["cause"]] += 1
                examples.setdefault(row["cause"], []).append(f"{scenario} seed {seed}: {row}")
    width = max(len(c) for c in CAUSES)
    print(f"{'scenario':26s} " + " ".join(f"{c[:width]:>{len(c)}s}" for c in CAUSES))
    total: Counter[str] = Counter()
    for name in names:
        counts = by_scenario.get(name, Counter())
        total.update(counts)
        print(f"{name:26s} " + " ".join(f"{counts[c]:>{len(c)}d}" for c in CAUSES))
    print(f"{'all':26s} " + " ".join(f"{total[c]:>{len(c)}d}" for c in CAUSES))
    total_score = combine(scores)
    f1 = {b: v["f1"] for b, v in total_score["buckets"].items()}
    print(
        f"F1 by bucket {f1}, all {total_score['overall']['f1']:.3f}, "
        f"review rate {total_score['review_rate']:.3f}"
    )
    for cause in CAUSES:
        for line in examples.get(cause, [])[: args.show]:
            print(f"[{cause}] {line}")


if __name__ == "__main__":
    main()
