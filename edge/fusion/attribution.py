"""Fusion: which visit caused a shelf event, and what went into or out of its cart.

Pure logic over a shelf event, the recent person tracks, the visits and their carts. The main
evidence is a hand at the front edge of the changed plates while the weight was changing; a body
standing close is weaker evidence (hands are missed in some frames). A put-back also needs the
shopper to hold something of that weight. Every decision carries its evidence and a confidence;
a decision below the review threshold flags the visit with the competing hypotheses.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from edge.carts.cart import Cart
from edge.config.layout import PlateRef, StoreLayout, gondola_to_floor
from edge.tracks.store import TrackStore, segment_distance
from edge.visits.manager import VisitManager


@dataclass(frozen=True)
class FusionParams:
    # Hand distance at which its evidence has fallen to 1/e: three times the hand position error
    # (4 cm per axis). 0.22 m gave the same decisions but vaguer confidences: review 19.5 %
    # instead of 12.1 % of visits on the crowded scenarios with perfect tracks.
    hand_scale_m: float = 0.12
    body_scale_m: float = 0.7
    body_weight: float = 0.25  # a body nearby is this much weaker evidence than a hand
    height_tolerance_m: float = 0.2  # shelves are ~0.4 m apart: half of that tells them apart
    lead_s: float = 1.0  # look this long before the disturbance started (hands go in first)
    lag_s: float = 0.4
    # The taker's hand is in the shelf while its weight changes: a hand seen at the plates before
    # the disturbance began (more than `core_lead_s`) or after it settled counts less, falling to
    # 1/e `time_scale_s` outside that core. A neighbour reaching for the next plate a moment
    # later is then told apart from the taker. A huge scale restores the flat window. On seeds
    # 0-2 of every scenario, 0.3 s took the review rate from 5.2 % to 4.4 % of visits with
    # perfect tracks and from 8.5 % to 6.9 % with realistic ones, F1 +0.1 point (0.6 s: alike).
    core_lead_s: float = 0.2
    time_scale_s: float = 0.3
    # The taker's hand stays in the shelf from the first touch until just before the weight
    # settles (`settle_s`): a hand's score is scaled by 1 - w + w * coverage, coverage being
    # the share of that span's frames with this track's hand at the plates (w =
    # `coverage_weight`). A neighbour who reaches in for part of it loses to the taker. On seeds
    # 0-2 of every scenario, w = 0.5 took the review rate from 3.9 % to 2.7 % of visits with
    # perfect tracks (F1 +0.04 point) and from 6.6 % to 4.9 % with realistic ones (F1 -0.17
    # point: missed hands make coverage noisy); w = 0.3 gave 2.8 % and 5.4 %, F1 -0.06.
    settle_s: float = 0.3
    coverage_weight: float = 0.5
    min_score: float = 0.02  # below this nobody was near: the event is not attributed
    review_confidence: float = 0.6  # a decision less confident than this flags the visit
    # A visit's confidence is its share of score**share_power. Scores near a tie still pick the
    # right shopper more often than their plain share says (perfect tracks, seeds 0-2: shares
    # of 0.45-0.55 were right 89 % of the time); 2 maximised the likelihood of the measured
    # right/wrong outcomes over 1, 1.5, 3, 4, 6 and 8. An exact tie stays 0.5 and is reviewed.
    share_power: float = 2.0
    weight_tolerance: float = 0.08  # relative tolerance against the catalogue unit weight
    # Against the weight measured when it was taken: the same unit comes back, so only the
    # shelf's noise separates them (3 % gave 4.4 % review with perfect tracks on seeds 0-2, 1 %
    # 3.9 %, 0.5 % 4.1 %).
    measured_weight_tolerance: float = 0.01
    # Several units leaving while several shoppers' hands were on those plates: one each.
    shared_grab_hand_m: float = 0.1
    shared_grab_min_frames: int = 2
    shared_grab_confidence: float = 0.75
    # ... and each of them scored at least this share of the best (timing and coverage
    # included): a neighbour's hand that only brushed the plates does not take a unit (seeds
    # 6-8 of the put-back, fidget, same-moment, three-at-shelf and multi-unit scenarios with
    # perfect tracks: F1 0.963 without, 0.966 with; seeds 0-2 of every scenario: 0.9756 and
    # 0.9759).
    shared_grab_min_ratio: float = 0.5
    weight_floor_g: float = 4.0  # the fit's sigma never goes below this (shelf noise)


@dataclass
class Decision:
    """What fusion decided for one shelf event."""

    visit_id: str | None
    product_id: str | None
    quantity: int  # signed: negative = removed from the cart (put back)
    confidence: float
    evidence: dict[str, Any]
    hypotheses: list[dict[str, Any]] = field(default_factory=list)
    review_reason: str | None = None


class Fusion:
    def __init__(self, layout: StoreLayout, params: FusionParams = FusionParams()):
        self.layout = layout
        self.params = params

    def front_segment(
        self, gondola: int, shelf: int, plates: list[int]
    ) -> tuple[tuple[float, float], tuple[float, float]]:
        geos = [self.layout.plate_geometry[PlateRef(gondola, shelf, p)] for p in plates]
        g = self.layout.gondolas[gondola]
        u0 = min(geo.u_start_m for geo in geos)
        u1 = max(geo.u_end_m for geo in geos)
        return gondola_to_floor(g, u0, 0.0), gondola_to_floor(g, u1, 0.0)

    def visit_scores(
        self, event: Any, tracks: TrackStore, visits: VisitManager
    ) -> dict[str, dict[str, Any]]:
        """Evidence per open visit: best hand and body distance to the plates' front edge."""
        p = self.params
        a, b = self.front_segment(event.gondola, event.shelf, list(event.plates))
        distance = segment_distance(a, b)
        height = self.layout.shelves[(event.gondola, event.shelf)].height_m
        t0, t1 = event.t_start - p.lead_s, event.t_end + p.lag_s
        core0, core1 = event.t_start - p.core_lead_s, event.t_end
        span0, span1 = event.t_start, max(event.t_start, event.t_end - p.settle_s)
        result: dict[str, dict[str, Any]] = {}
        for history in tracks.recent():
            visit = visits.visit_of_track(history.track_id)
            if visit is None:
                continue
            if visit.closed_t is not None and visit.closed_t < event.t_start:
                continue
            best_hand = math.inf
            best_body = math.inf
            hand_score = 0.0
            hand_frames = 0
            close_frames = 0
            span_frames = span_covered = 0
            for point in history.window(t0, t1):
                best_body = min(best_body, distance(point.x, point.y))
                outside = max(core0 - point.t, point.t - core1, 0.0)
                in_time = math.exp(-((outside / p.time_scale_s) ** 2))
                in_span = span0 <= point.t <= span1
                span_frames += in_span
                covered = False
                for hx, hy, hz in point.hands:
                    if abs(hz - height) > p.height_tolerance_m:
                        continue
                    d = distance(hx, hy)
                    best_hand = min(best_hand, d)
                    hand_score = max(hand_score, math.exp(-((d / p.hand_scale_m) ** 2)) * in_time)
                    if d < 2 * p.hand_scale_m:
                        hand_frames += 1
                        covered = True
                    if d <= p.shared_grab_hand_m:
                        close_frames += 1
                span_covered += in_span and covered
            coverage = span_covered / span_frames if span_frames else 1.0
            hand_score *= 1.0 - p.coverage_weight + p.coverage_weight * coverage
            body_score = (
                p.body_weight * math.exp(-((best_body / p.body_scale_m) ** 2))
                if best_body < math.inf
                else 0.0
            )
            score = max(hand_score * (1 + 0.1 * min(hand_frames, 5)), body_score)
            entry = result.get(visit.visit_id)
            if entry is None or score > entry["score"]:
                result[visit.visit_id] = {
                    "score": score,
                    "track_id": history.track_id,
                    "hand_distance_m": None if best_hand == math.inf else round(best_hand, 3),
                    "body_distance_m": None if best_body == math.inf else round(best_body, 3),
                    "close_frames": close_frames,
                }
        return result

    def decide(
        self,
        event: Any,
        tracks: TrackStore,
        visits: VisitManager,
        carts: dict[str, Cart],
        scores: dict[str, dict[str, Any]] | None = None,
    ) -> Decision:
        """The decision for one shelf event; `scores` are `visit_scores` when already known."""
        p = self.params
        if scores is None:
            scores = self.visit_scores(event, tracks, visits)
        base_evidence = {
            "shelf_event_id": event.event_id,
            "gondola": event.gondola,
            "shelf": event.shelf,
            "plates": list(event.plates),
            "delta_grams": round(float(event.delta_grams), 2),
        }
        if event.delta_grams > 0:
            return self._decide_put(event, scores, carts, base_evidence)
        # A pick: the product comes from the weight change and the planogram.
        if not event.candidates:
            return Decision(
                None,
                None,
                0,
                0.0,
                base_evidence,
                review_reason="no product matches the weight change",
            )
        top = event.candidates[0]
        ranked = sorted(scores.items(), key=lambda kv: (-kv[1]["score"], kv[0]))
        total = sum(s["score"] for _, s in ranked)
        if not ranked or ranked[0][1]["score"] < p.min_score:
            return Decision(
                None,
                top.product_id,
                top.quantity,
                0.0,
                base_evidence,
                review_reason="nobody was near the shelf",
            )
        visit_id, best = ranked[0]
        k = p.share_power
        total = sum(sc["score"] ** k for _, sc in ranked)
        visit_conf = best["score"] ** k / total if total > 0 else 0.0
        confidence = visit_conf * float(top.likelihood)
        evidence = _evidence(base_evidence, best) | {
            "visit_confidence": round(visit_conf, 4),
            "product_likelihood": round(float(top.likelihood), 4),
            "confidence": round(confidence, 4),
        }
        hypotheses = self._hypotheses(ranked, total, event.candidates, k)
        reason = None
        if confidence < p.review_confidence:
            reason = (
                "ambiguous shopper" if visit_conf < p.review_confidence else "ambiguous product"
            )
        return Decision(
            visit_id, top.product_id, top.quantity, confidence, evidence, hypotheses, reason
        )

    def decide_all(
        self, event: Any, tracks: TrackStore, visits: VisitManager, carts: dict[str, Cart]
    ) -> list[Decision]:
        """Like decide, but a multi-unit pick with several hands on the plates is shared out, and
        a put-back that two such shoppers made at once is taken from both carts."""
        scores = self.visit_scores(event, tracks, visits)
        decision = self.decide(event, tracks, visits, carts, scores)
        if event.delta_grams > 0:
            return self._shared_put(event, decision, scores, carts)
        if decision.visit_id is None or decision.quantity < 2:
            return [decision]
        p = self.params
        hands = self._hands_on_plates(scores)
        if len(hands) < 2:
            return [decision]
        top = hands[0][1]["score"]
        hands = [h for h in hands if h[1]["score"] >= p.shared_grab_min_ratio * top]
        if len(hands) < 2:
            return [decision]
        takers = hands[: decision.quantity]
        share, extra = divmod(decision.quantity, len(takers))
        confidence = p.shared_grab_confidence * decision.evidence.get("product_likelihood", 1.0)
        result = []
        for i, (vid, s) in enumerate(takers):
            evidence = decision.evidence | {
                "track_id": s["track_id"],
                "distance_m": s["hand_distance_m"],
                "shared_grab": len(takers),
                # delta_grams is the whole grab's: the unit weight a put-back is matched on
                "unit_grams": round(abs(float(event.delta_grams)) / decision.quantity, 2),
                "confidence": round(confidence, 4),
            }
            quantity = share + (1 if i < extra else 0)
            result.append(
                Decision(
                    vid,
                    decision.product_id,
                    quantity,
                    confidence,
                    evidence,
                    decision.hypotheses,
                    None,
                )
            )
        return result

    def _hands_on_plates(
        self, scores: dict[str, dict[str, Any]]
    ) -> list[tuple[str, dict[str, Any]]]:
        """Visits with a hand on the event's plates for a few frames, strongest first."""
        p = self.params
        return sorted(
            (
                (vid, s)
                for vid, s in scores.items()
                if s["hand_distance_m"] is not None
                and s["hand_distance_m"] <= p.shared_grab_hand_m
                and s["close_frames"] >= p.shared_grab_min_frames
            ),
            key=lambda kv: (-kv[1]["score"], kv[0]),
        )

    def _shared_put(
        self,
        event: Any,
        decision: Decision,
        scores: dict[str, dict[str, Any]],
        carts: dict[str, Cart],
    ) -> list[Decision]:
        """Two shoppers at one plate put a unit back each, seen as one weight increase.

        Taken when the sum of one held unit from each of two carts fits the increase clearly
        better than anything one shopper holds (`decision`'s weight fit).
        """
        p = self.params
        hands = self._hands_on_plates(scores)[:3]
        if len(hands) < 2:
            return [decision]
        delta = float(event.delta_grams)
        home = {c.product_id for c in event.candidates}
        # One held unit per product of each cart: its weight and sigma in grams.
        units = [
            {
                product: (weight, max(tolerance * weight, p.weight_floor_g))
                for product, (_held, weight, tolerance) in self._held_units(carts.get(vid)).items()
            }
            for vid, _ in hands
        ]
        # (fit x place, fit, -first, -second): the best fit, then the strongest hands.
        best: tuple[float, float, int, int] | None = None
        chosen: tuple[int, str, int, str] | None = None
        for i in range(len(hands)):
            for j in range(i + 1, len(hands)):
                for pa, (wa, sa) in units[i].items():
                    for pb, (wb, sb) in units[j].items():
                        sigma = math.hypot(sa, sb)
                        fit = math.exp(-0.5 * ((delta - wa - wb) / sigma) ** 2)
                        place = (1.0 if pa in home else 0.5) * (1.0 if pb in home else 0.5)
                        key = (fit * place, fit, -i, -j)
                        if best is None or key > best:
                            best, chosen = key, (i, pa, j, pb)
        if best is None or chosen is None:
            return [decision]
        fit = best[1]
        i, pa, j, pb = chosen
        single = float(decision.evidence.get("weight_fit", 0.0)) if decision.visit_id else 0.0
        if fit < 0.5 or fit < 4 * single:
            return [decision]
        base = {k: v for k, v in decision.evidence.items() if k in _EVENT_KEYS}
        out = []
        for (vid, s), product in ((hands[i], pa), (hands[j], pb)):
            evidence = _evidence(base, s) | {
                "weight_fit": round(fit, 4),
                "shared_put": 2,
                "confidence": p.shared_grab_confidence,
            }
            out.append(
                Decision(vid, product, -1, p.shared_grab_confidence, evidence, decision.hypotheses)
            )
        return out

    def _held_units(self, cart: Cart | None) -> dict[str, tuple[int, float, float]]:
        """Held products of a cart, in product order: units held, unit weight (grams) and its
        relative tolerance (`_held_unit_weight`)."""
        if cart is None:
            return {}
        return {
            product_id: (held, *self._held_unit_weight(cart, product_id))
            for product_id, held in sorted(cart.quantities().items())
            if held > 0
        }

    def _decide_put(
        self,
        event: Any,
        scores: dict[str, dict[str, Any]],
        carts: dict[str, Cart],
        base_evidence: dict[str, Any],
    ) -> Decision:
        """Weight came back: whose cart holds an item of that weight, nearest hand first."""
        p = self.params
        delta = float(event.delta_grams)
        options = []
        planogram_products = {c.product_id: float(c.likelihood) for c in event.candidates}
        for visit_id, s in scores.items():
            if s["score"] < p.min_score:
                continue
            for product_id, (held, weight, tolerance) in self._held_units(
                carts.get(visit_id)
            ).items():
                for q in range(1, held + 1):
                    sigma = max(tolerance * weight * q, p.weight_floor_g)
                    fit = math.exp(-0.5 * ((delta - q * weight) / sigma) ** 2)
                    if fit < 1e-3:
                        continue
                    # Put back where it belongs is more likely than on another product's plate.
                    place = 1.0 if product_id in planogram_products else 0.5
                    options.append((s["score"] * fit * place, visit_id, product_id, q, s, fit))
        if not options:
            return Decision(
                None,
                None,
                0,
                0.0,
                base_evidence,
                review_reason="weight came back that no nearby shopper was holding",
            )
        options.sort(key=lambda o: (-o[0], o[1], o[2], o[3]))
        total = sum(o[0] for o in options)
        score, visit_id, product_id, q, s, fit = options[0]
        confidence = score / total if total > 0 else 0.0
        evidence = _evidence(base_evidence, s) | {
            "weight_fit": round(fit, 4),
            "confidence": round(confidence, 4),
        }
        hypotheses = [
            {
                "visit_id": o[1],
                "product_id": o[2],
                "quantity": -o[3],
                "score": round(o[0] / total, 4),
            }
            for o in options[:4]
        ]
        reason = "ambiguous put-back" if confidence < p.review_confidence else None
        return Decision(visit_id, product_id, -q, confidence, evidence, hypotheses, reason)

    def _held_unit_weight(self, cart: Cart, product_id: str) -> tuple[float, float]:
        """Unit weight of a held product and its relative tolerance.

        The weight the shelf lost when the shopper took it is the best reference (real units
        differ from the catalogue by a few percent); the catalogue weight is the fallback.
        """
        measured = [
            float(e.evidence["unit_grams"])
            if "unit_grams" in e.evidence
            else abs(float(e.evidence["delta_grams"])) / e.quantity
            for e in cart.events
            if e.product_id == product_id and e.quantity > 0 and "delta_grams" in e.evidence
        ]
        if measured:
            return sum(measured) / len(measured), self.params.measured_weight_tolerance
        return self.layout.products[product_id].weight_g, self.params.weight_tolerance

    @staticmethod
    def _hypotheses(
        ranked: list[tuple[str, dict[str, Any]]], total: float, candidates: Any, power: float
    ) -> list[dict[str, Any]]:
        out = []
        for visit_id, s in ranked[:3]:
            for c in list(candidates)[:2]:
                out.append(
                    {
                        "visit_id": visit_id,
                        "product_id": c.product_id,
                        "quantity": c.quantity,
                        "score": round(
                            (s["score"] ** power / total if total else 0.0) * float(c.likelihood),
                            4,
                        ),
                    }
                )
        return out


_EVENT_KEYS = ("shelf_event_id", "gondola", "shelf", "plates", "delta_grams")


def _evidence(base: dict[str, Any], score: dict[str, Any]) -> dict[str, Any]:
    """Evidence of a visit's presence: its track and the hand (else body) distance."""
    hand = score["hand_distance_m"]
    return base | {
        "track_id": score["track_id"],
        "distance_m": hand if hand is not None else score["body_distance_m"],
    }
