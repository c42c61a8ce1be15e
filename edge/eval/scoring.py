"""Score a replay run against a session's ground truth (rules in docs/scoring.md).

Pure functions over plain data: the truth (`GroundTruth`), true positions (`TrackFrame`s), the
store's plate front edges and catalogue weights (`StoreFacts`), and the run (`RunData`). No file
I/O here, so every rule is table-testable; `edge.eval.evaluate` does the reading.

The result is a JSON-ready dict built in two layers: *raw* fields (unit counts, event counts, raw
samples, the per-visit list) that add up across sessions, and *derived* fields (ratios,
percentiles) recomputed from them by `_derive`. `combine` adds the raw fields of many results and
derives again, so scoring a set of sessions one by one and combining equals scoring them at once.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from edge.eval.run_reader import RunCartLine, RunData, RunReceipt, RunShelfEvent
from edge.session.model import GroundTruth, TrackFrame, TruthAction, TruthVisit

if TYPE_CHECKING:
    from edge.config.layout import StoreLayout

__all__ = [
    "ANCHORS",
    "BUCKETS",
    "MATCH_AFTER_S",
    "MATCH_BEFORE_S",
    "PLATE_MISS_COST_S",
    "REACH_M",
    "ShelfMatch",
    "StoreFacts",
    "bucket_name",
    "combine",
    "crowding",
    "line_counts",
    "match_receipts",
    "match_shelf_events",
    "payers",
    "percentiles",
    "ratios",
    "score_run",
    "store_facts",
]

FORMAT = "walkout-eval"
VERSION = 1

REACH_M = 1.2  # a body this close to a plate's front edge could have reached into it
MATCH_BEFORE_S = 0.5  # a shelf event may start this long before the hand went in ...
MATCH_AFTER_S = 1.0  # ... and end this long after the plates settled
# A candidate event on none of the action's plates costs this much more (in seconds of timing
# difference): two shoppers at one shelf at once each match the event on their own plates.
PLATE_MISS_COST_S = 5.0
BUCKETS = ("1", "2", "3", "4+")
# AutoCheckout 2020 competition winner's F1 by shoppers at one shelf: the public reference.
ANCHORS: dict[str, float | None] = {"1": 0.95, "2": 0.83, "3": 0.64, "4+": None}
SHELF_KINDS = ("pick", "put")

Point = tuple[float, float]
Segment = tuple[Point, Point]


# --- store facts ------------------------------------------------------------------------------


@dataclass(frozen=True)
class StoreFacts:
    """What scoring needs from the store config: each plate's front edge (floor segment, keyed
    by "g.s.p") and each product's catalogue unit weight in grams."""

    plate_edges: Mapping[str, Segment] = field(default_factory=dict)
    unit_weights: Mapping[str, float] = field(default_factory=dict)


def store_facts(layout: StoreLayout) -> StoreFacts:
    """Front edges and unit weights of a store layout."""
    from edge.config.layout import gondola_to_floor

    edges: dict[str, Segment] = {}
    for ref, geo in layout.plate_geometry.items():
        gondola = layout.gondolas[ref.gondola]
        edges[str(ref)] = (
            gondola_to_floor(gondola, geo.u_start_m, 0.0),
            gondola_to_floor(gondola, geo.u_end_m, 0.0),
        )
    weights = {pid: p.weight_g for pid, p in layout.products.items()}
    return StoreFacts(edges, weights)


# --- small rules ------------------------------------------------------------------------------


def line_counts(true: Mapping[str, int], run: Mapping[str, int]) -> tuple[int, int, int]:
    """(TP, FP, FN) in units for one visit: per product min / excess run / missing run."""
    tp = fp = fn = 0
    for product in set(true) | set(run):
        q_true, q_run = true.get(product, 0), run.get(product, 0)
        tp += min(q_run, q_true)
        fp += max(0, q_run - q_true)
        fn += max(0, q_true - q_run)
    return tp, fp, fn


def ratios(tp: int, fp: int, fn: int) -> dict[str, Any]:
    """Counts with precision, recall and F1. Empty denominators count as perfect (nothing was
    claimed, so nothing was wrong; nothing was there, so nothing was missed): a visit with no
    true and no run lines has F1 = 1, and one with only misses or only false lines F1 = 0."""
    return {
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "precision": tp / (tp + fp) if tp + fp else 1.0,
        "recall": tp / (tp + fn) if tp + fn else 1.0,
        "f1": 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 1.0,
    }


def bucket_name(shoppers: int) -> str:
    """The crowding bucket of a number of shoppers at one shelf ("1", "2", "3", "4+")."""
    return "4+" if shoppers >= 4 else str(max(1, shoppers))


def percentiles(samples: Sequence[float]) -> dict[str, Any]:
    """n, median, p95, p99 and max of samples (linear interpolation, as numpy's default);
    None for each statistic when there are no samples."""
    xs = sorted(samples)
    if not xs:
        return {"n": 0, "median": None, "p95": None, "p99": None, "max": None}
    return {
        "n": len(xs),
        "median": _percentile(xs, 50),
        "p95": _percentile(xs, 95),
        "p99": _percentile(xs, 99),
        "max": xs[-1],
    }


def _percentile(xs: Sequence[float], q: float) -> float:
    pos = (len(xs) - 1) * q / 100
    lo = math.floor(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def payers(visits: Iterable[TruthVisit]) -> dict[str, str]:
    """Visit id -> the visit id that pays for it (itself, or its group's tapping member).

    Chains are followed to the end; a `group_of` naming an unknown visit (inconsistent truth)
    stops there, leaving the last known visit as the payer, and a cycle stops where it closes.
    """
    by_id = {v.visit_id: v for v in visits}
    result: dict[str, str] = {}
    for vid in by_id:
        seen = {vid}
        cur = vid
        while (nxt := by_id[cur].group_of) is not None and nxt in by_id and nxt not in seen:
            seen.add(nxt)
            cur = nxt
        result[vid] = cur
    return result


def _plates_by_shelf(plates: Iterable[str]) -> dict[tuple[int, int], set[int]]:
    result: dict[tuple[int, int], set[int]] = {}
    for ref in plates:
        parts = ref.split(".")
        if len(parts) == 3 and all(p.isdigit() for p in parts):
            result.setdefault((int(parts[0]), int(parts[1])), set()).add(int(parts[2]))
    return result


def _is_shelf_action(action: TruthAction) -> bool:
    return action.kind in SHELF_KINDS and bool(action.plates)


# --- receipts to visits -----------------------------------------------------------------------


def match_receipts(
    paying: Sequence[TruthVisit], receipts: Sequence[RunReceipt]
) -> tuple[dict[str, int], list[int]]:
    """Pair truth paying visits with run receipts by card UID.

    Returns (truth visit id -> receipt index, unmatched receipt indices). A card used for several
    visits in one session pairs its visits and receipts in order of entry time (a receipt without
    `entry_t` sorts by `settled_t`); surplus on either side stays unmatched. Receipts without a
    card UID cannot be matched.
    """
    truth_by_card: dict[str, list[TruthVisit]] = {}
    for visit in paying:
        if visit.card_uid is not None:
            truth_by_card.setdefault(visit.card_uid, []).append(visit)
    run_by_card: dict[str, list[int]] = {}
    unmatched: list[int] = []
    for i, receipt in enumerate(receipts):
        if receipt.card_uid is None:
            unmatched.append(i)
        else:
            run_by_card.setdefault(receipt.card_uid, []).append(i)
    matched: dict[str, int] = {}
    for card, indices in run_by_card.items():
        visits = sorted(truth_by_card.get(card, []), key=lambda v: (v.entry_t, v.visit_id))

        def when(i: int) -> tuple[float, int]:
            r = receipts[i]
            return (r.entry_t if r.entry_t is not None else r.settled_t, i)

        indices = sorted(indices, key=when)
        for visit, i in zip(visits, indices, strict=False):
            matched[visit.visit_id] = i
        unmatched.extend(indices[len(visits) :])
    return matched, sorted(unmatched)


# --- crowding ---------------------------------------------------------------------------------


def _distance_to_segment(x: float, y: float, seg: Segment) -> float:
    (ax, ay), (bx, by) = seg
    dx, dy = bx - ax, by - ay
    length2 = dx * dx + dy * dy
    u = 0.0 if length2 == 0 else max(0.0, min(1.0, ((x - ax) * dx + (y - ay) * dy) / length2))
    return math.hypot(x - (ax + u * dx), y - (ay + u * dy))


def crowding(
    actions: Sequence[TruthAction],
    frames: Iterable[TrackFrame],
    plate_edges: Mapping[str, Segment],
    reach_m: float = REACH_M,
) -> list[int]:
    """Per action, the most distinct people within reach of its plates in one frame.

    Within reach: body (x, y) within `reach_m` of the front edge of any of the action's plates,
    in a frame with t_start <= t <= t_end. The actor always counts (they are at the shelf, even
    when positions are missing). Hand-overs and actions without plates get 0. Frames are read
    once, in order, with a sweep over the actions active at each frame.
    """
    result = [0] * len(actions)
    edges: dict[int, list[Segment]] = {}
    for i, action in enumerate(actions):
        if _is_shelf_action(action):
            result[i] = 1
            edges[i] = [plate_edges[p] for p in action.plates if p in plate_edges]
    order = sorted(edges, key=lambda i: (actions[i].t_start, i))
    nxt = 0
    active: list[int] = []
    for frame in frames:
        t = frame.t
        while nxt < len(order) and actions[order[nxt]].t_start <= t:
            active.append(order[nxt])
            nxt += 1
        active = [i for i in active if actions[i].t_end >= t]
        for i in active:
            near = {actions[i].person_id}
            segs = edges[i]
            for person in frame.people:
                if any(_distance_to_segment(person.x, person.y, s) <= reach_m for s in segs):
                    near.add(person.id)
            result[i] = max(result[i], len(near))
        if nxt >= len(order) and not active:
            break  # no action left to measure: skip the rest of the positions
    return result


# --- shelf events -----------------------------------------------------------------------------


@dataclass
class ShelfMatch:
    """Which run shelf event each true pick/put matched.

    `action_event` maps action index -> event index; `merged` holds the actions that joined an
    event already matched to another action (simultaneous actions on one shelf that the
    detector saw as one weight change); `event_actions` is the inverse mapping.
    """

    action_event: dict[int, int] = field(default_factory=dict)
    merged: set[int] = field(default_factory=set)
    event_actions: dict[int, list[int]] = field(default_factory=dict)


def match_shelf_events(
    actions: Sequence[TruthAction],
    events: Sequence[RunShelfEvent],
    before_s: float = MATCH_BEFORE_S,
    after_s: float = MATCH_AFTER_S,
) -> ShelfMatch:
    """Match true picks/puts to run shelf events on the same gondola and shelf.

    An event is a candidate for an action if [event.t_start, event.t_end] overlaps
    [action.t_start - before_s, action.t_settled + after_s]. Pass 1, one-to-one: actions in
    order of t_start each take the closest unused candidate (|start difference| + |end
    difference vs t_settled|, plus `PLATE_MISS_COST_S` when the event names its plates and
    none is one of the action's, then event order). Pass 2: an action still unmatched joins the
    closest candidate that pass 1 already took, and counts as merged.
    """
    by_shelf: dict[tuple[int, int], list[int]] = {}
    for j, event in enumerate(events):
        by_shelf.setdefault((event.gondola, event.shelf), []).append(j)
    candidates: dict[int, list[tuple[float, int]]] = {}
    for i, action in enumerate(actions):
        if not _is_shelf_action(action):
            continue
        lo, hi = action.t_start - before_s, action.t_settled + after_s
        found: list[tuple[float, int]] = []
        own = _plates_by_shelf(action.plates)
        for shelf in sorted(own):
            for j in by_shelf.get(shelf, ()):
                ev = events[j]
                if ev.t_start <= hi and ev.t_end >= lo:
                    cost = abs(ev.t_start - action.t_start) + abs(ev.t_end - action.t_settled)
                    if ev.plates and not own.get(shelf, set()) & set(ev.plates):
                        cost += PLATE_MISS_COST_S
                    found.append((cost, j))
        candidates[i] = sorted(found)
    order = sorted(candidates, key=lambda i: (actions[i].t_start, i))
    match = ShelfMatch()
    for i in order:  # pass 1: one-to-one
        for _cost, j in candidates[i]:
            if j not in match.event_actions:
                match.action_event[i] = j
                match.event_actions[j] = [i]
                break
    for i in order:  # pass 2: merges into events pass 1 took
        if i in match.action_event:
            continue
        for _cost, j in candidates[i]:
            if j in match.event_actions:
                match.action_event[i] = j
                match.event_actions[j].append(i)
                match.merged.add(i)
                break
    return match


# --- the score --------------------------------------------------------------------------------


def score_run(
    truth: GroundTruth,
    run: RunData,
    *,
    facts: StoreFacts,
    positions: Iterable[TrackFrame] = (),
    session_id: str = "",
) -> dict[str, Any]:
    """Score one run against its session's ground truth; see docs/scoring.md for every rule."""
    payer = payers(truth.visits)
    paying = [v for v in truth.visits if payer[v.visit_id] == v.visit_id]
    members: dict[str, list[TruthVisit]] = {v.visit_id: [] for v in paying}
    for v in truth.visits:
        members[payer[v.visit_id]].append(v)
    true_lines: dict[str, Counter[str]] = {v.visit_id: Counter() for v in paying}
    for true_receipt in truth.receipts:
        pays = payer.get(true_receipt.visit_id, true_receipt.visit_id)
        lines = true_lines.setdefault(pays, Counter())
        for line in true_receipt.lines:
            lines[line.product_id] += line.quantity

    receipts = run.receipts
    matched, unmatched = match_receipts(paying, receipts)

    # Crowding bucket of each paying visit: the most shoppers at one shelf during its actions.
    actions = truth.actions
    crowd = crowding(actions, positions, facts.plate_edges)
    most: dict[str, int] = {}
    for i, action in enumerate(actions):
        if crowd[i]:
            p = payer.get(action.visit_id, action.visit_id)
            most[p] = max(most.get(p, 0), crowd[i])

    buckets = {b: {"tp": 0, "fp": 0, "fn": 0, "visits": 0} for b in BUCKETS}
    per_visit: list[dict[str, Any]] = []
    receipt_latency: list[float] = []
    for visit in paying:
        vid = visit.visit_id
        near = most.get(vid, 1)
        bucket = bucket_name(near)
        ri = matched.get(vid)
        receipt = receipts[ri] if ri is not None else None
        run_lines = receipt.lines if receipt is not None else {}
        tp, fp, fn = line_counts(true_lines.get(vid, {}), run_lines)
        b = buckets[bucket]
        b["tp"] += tp
        b["fp"] += fp
        b["fn"] += fn
        b["visits"] += 1
        latency = None
        exits = [m.exit_t for m in members[vid]]
        if receipt is not None and all(e is not None for e in exits):
            latency = round(receipt.settled_t - max(e for e in exits if e is not None), 4)
            receipt_latency.append(latency)
        per_visit.append(
            _visit_entry(
                session_id,
                vid,
                [m.visit_id for m in members[vid]],
                visit.card_uid,
                receipt,
                bucket,
                near,
                true_lines.get(vid, {}),
                run_lines,
                latency,
            )
        )
    unmatched_fp = 0
    for ri in unmatched:
        receipt = receipts[ri]
        units = sum(receipt.lines.values())
        unmatched_fp += units
        per_visit.append(
            _visit_entry(
                session_id,
                None,
                [],
                receipt.card_uid,
                receipt,
                None,
                None,
                {},
                receipt.lines,
                None,
            )
        )

    shelf = _score_shelf(truth, run, facts, payer, {v: receipts[i] for v, i in matched.items()})
    raw: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "sessions": [session_id] if session_id else [],
        "visits": len(paying),
        "matched_visits": len(matched),
        "missing_receipts": len(paying) - len(matched),
        "unmatched_receipts": len(unmatched),
        "unmatched_receipt_units": unmatched_fp,
        "receipts": len(receipts),
        "reviewed": sum(1 for r in receipts if r.needs_review),
        "buckets": buckets,
        "shelf_events": shelf["shelf_events"],
        "association": shelf["association"],
        "weight_error_samples": shelf["weight_error_samples"],
        "latency_samples_s": {
            "cart_line": shelf["cart_line_latency"],
            "receipt": receipt_latency,
        },
        "per_visit": per_visit,
    }
    return _derive(raw)


def _visit_entry(
    session_id: str,
    visit_id: str | None,
    member_ids: list[str],
    card_uid: str | None,
    receipt: RunReceipt | None,
    bucket: str | None,
    near: int | None,
    true: Mapping[str, int],
    run: Mapping[str, int],
    latency: float | None,
) -> dict[str, Any]:
    tp, fp, fn = line_counts(true, run)
    return {
        "session_id": session_id,
        "visit_id": visit_id,
        "members": member_ids,
        "card_uid": card_uid,
        "run_visit_id": receipt.visit_id if receipt else None,
        "receipt_id": receipt.receipt_id if receipt else None,
        "bucket": bucket,
        "shoppers_near": near,
        **ratios(tp, fp, fn),
        "needs_review": receipt.needs_review if receipt else None,
        "receipt_latency_s": latency,
        "lines": [
            {"product_id": p, "true": true.get(p, 0), "run": run.get(p, 0)}
            for p in sorted(set(true) | set(run))
        ],
    }


def _score_shelf(
    truth: GroundTruth,
    run: RunData,
    facts: StoreFacts,
    payer: Mapping[str, str],
    receipt_of: Mapping[str, RunReceipt],
) -> dict[str, Any]:
    """Shelf-event matching, weight error, association accuracy and cart-line latency."""
    actions = truth.actions
    events = run.shelf_events
    match = match_shelf_events(actions, events)
    lines_of: dict[str, list[RunCartLine]] = {}
    for line in run.cart_lines:
        if line.shelf_event_id is not None:
            lines_of.setdefault(line.shelf_event_id, []).append(line)

    weight_g: list[float] = []
    weight_rel: list[float] = []
    for j, owners in match.event_actions.items():
        if len(owners) != 1:
            continue  # a merged event's weight is the sum of several actions: not comparable
        action = actions[owners[0]]
        unit = facts.unit_weights.get(action.product_id)
        if unit is None:
            continue
        expected = (-1 if action.kind == "pick" else 1) * action.quantity * unit
        error = abs(events[j].delta_grams - expected)
        weight_g.append(round(error, 3))
        weight_rel.append(round(error / abs(expected), 6))

    correct = 0
    cart_latency: list[float] = []
    for i, j in sorted(match.action_event.items()):
        action = actions[i]
        receipt = receipt_of.get(payer.get(action.visit_id, action.visit_id))
        lines = lines_of.get(events[j].event_id, [])
        right = [
            line
            for line in lines
            if receipt is not None
            and line.visit_id == receipt.visit_id
            and line.product_id == action.product_id
            and line.added == (action.kind == "pick")
        ]
        if right:
            correct += 1
        # Latency of the line this action caused: the right one, else the first line the event
        # produced (a misattributed line still measures how fast the pipeline reacted).
        chosen = right or sorted(lines, key=lambda line: line.t)
        if chosen:
            cart_latency.append(round(chosen[0].t - action.t_settled, 4))

    n_actions = sum(1 for a in actions if _is_shelf_action(a))
    merged_events = sum(1 for owners in match.event_actions.values() if len(owners) > 1)
    merged_actions = sum(len(o) for o in match.event_actions.values() if len(o) > 1)
    return {
        "shelf_events": {
            "events": len(events),
            "actions": n_actions,
            "matched_events": len(match.event_actions),
            "matched_actions": len(match.action_event),
            "merged": merged_events,
            "merged_actions": merged_actions,
        },
        "association": {"actions": len(match.action_event), "correct": correct},
        "weight_error_samples": {"g": weight_g, "rel": weight_rel},
        "cart_line_latency": cart_latency,
    }


# --- derived fields and combining -------------------------------------------------------------

_SHELF_COUNTS = (
    "events",
    "actions",
    "matched_events",
    "matched_actions",
    "merged",
    "merged_actions",
)
_TOP_COUNTS = (
    "visits",
    "matched_visits",
    "missing_receipts",
    "unmatched_receipts",
    "unmatched_receipt_units",
    "receipts",
    "reviewed",
)


def _derive(raw: dict[str, Any]) -> dict[str, Any]:
    """Fill in every ratio and percentile from the raw fields (counts, samples, per_visit)."""
    out = dict(raw)
    visits = raw["visits"]
    buckets: dict[str, dict[str, Any]] = {}
    tp = fp = fn = 0
    for name in BUCKETS:
        b = raw["buckets"][name]
        buckets[name] = {**ratios(b["tp"], b["fp"], b["fn"]), "visits": b["visits"]}
        tp, fp, fn = tp + b["tp"], fp + b["fp"], fn + b["fn"]
    fp += raw["unmatched_receipt_units"]  # charges to nobody's visit are false charges too
    out["buckets"] = buckets
    out["overall"] = {**ratios(tp, fp, fn), "visits": visits}
    out["false_charges"] = fp
    out["false_charges_per_1000_visits"] = 1000 * fp / visits if visits else None
    out["review_rate"] = raw["reviewed"] / visits if visits else None
    # Mean per-visit F1 over true paying visits, plus unmatched receipts that charged something
    # (each F1 = 0); an empty unmatched receipt charged no one and is left out.
    scored = [v["f1"] for v in raw["per_visit"] if v["visit_id"] is not None or v["fp"] > 0]
    out["mean_visit_f1"] = math.fsum(scored) / len(scored) if scored else 1.0

    se = raw["shelf_events"]
    counts = {k: se[k] for k in _SHELF_COUNTS}
    samples = raw["weight_error_samples"]
    wg, wr = percentiles(samples["g"]), percentiles(samples["rel"])
    out["shelf_events"] = {
        **counts,
        "precision": se["matched_events"] / se["events"] if se["events"] else 1.0,
        "recall": se["matched_actions"] / se["actions"] if se["actions"] else 1.0,
        "weight_error_g": {"n": wg["n"], "median": wg["median"], "p95": wg["p95"]},
        "weight_error_rel": {"n": wr["n"], "median": wr["median"], "p95": wr["p95"]},
    }
    assoc = raw["association"]
    out["association_accuracy"] = assoc["correct"] / assoc["actions"] if assoc["actions"] else 1.0
    lat = raw["latency_samples_s"]
    out["latency_s"] = {
        "cart_line": percentiles(lat["cart_line"]),
        "receipt": percentiles(lat["receipt"]),
    }
    # Headline figures first, raw samples and the per-visit list last (easier to read).
    return {key: out[key] for key in _KEY_ORDER}


_KEY_ORDER = (
    "format",
    "version",
    "sessions",
    "visits",
    "matched_visits",
    "missing_receipts",
    "unmatched_receipts",
    "unmatched_receipt_units",
    "receipts",
    "reviewed",
    "review_rate",
    "false_charges",
    "false_charges_per_1000_visits",
    "overall",
    "mean_visit_f1",
    "buckets",
    "shelf_events",
    "association",
    "association_accuracy",
    "latency_s",
    "latency_samples_s",
    "weight_error_samples",
    "per_visit",
)


def combine(results: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Add up results of several runs (sessions): counts are summed, samples and per-visit
    entries concatenated, and every ratio and percentile recomputed from them."""
    raw: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "sessions": [s for r in results for s in r.get("sessions", [])],
        **{k: sum(r[k] for r in results) for k in _TOP_COUNTS},
        "buckets": {
            b: {k: sum(r["buckets"][b][k] for r in results) for k in ("tp", "fp", "fn", "visits")}
            for b in BUCKETS
        },
        "shelf_events": {k: sum(r["shelf_events"][k] for r in results) for k in _SHELF_COUNTS},
        "association": {
            k: sum(r["association"][k] for r in results) for k in ("actions", "correct")
        },
        "weight_error_samples": {
            k: [x for r in results for x in r["weight_error_samples"][k]] for k in ("g", "rel")
        },
        "latency_samples_s": {
            k: [x for r in results for x in r["latency_samples_s"][k]]
            for k in ("cart_line", "receipt")
        },
        "per_visit": [v for r in results for v in r["per_visit"]],
    }
    return _derive(raw)
