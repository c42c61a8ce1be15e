"""Per-shelf events from calibrated plate samples: what weight changed, where, and what it may be.

One :class:`ShelfEventDetector` watches one shelf. It is fed the :class:`PlateBlock` stream of
that shelf (edge.shelf.decode) and returns :class:`ShelfEvent` (a stable weight change after a
disturbance, with product candidates) and :class:`PlateFault` (a plate's channel went stuck,
dead, saturated, noisy or drifting, or recovered). Pure and deterministic: output depends only
on the blocks fed, in order; there is no clock but the sample times.

How it works (docs/shelf-events.md has the full story and the measured figures):

1. **Quiet path.** Each plate has a baseline (an exponential average of its readings while
   quiet: it follows drift and re-zeroes the plate) and a noise estimate. A block in which no
   sample leaves ``max(dev_abs_g, dev_sigma * noise)`` of any baseline costs a handful of
   vectorised numpy operations and nothing else.
2. **Disturbance.** A plate whose reading leaves its band becomes *involved*: its baseline is
   frozen (the "before" level) and the time of the first outlying sample is the event's start.
3. **Settling.** An involved plate is *settled* once its last ``settle_samples`` readings lie
   within a band (absolute, noise-scaled, or relative to the change so that heavy items with a
   long wobble settle too); its level is the mean of its stable stretch.
4. **Grouping.** Involved plates that touch form a component. Within each run of settled plates
   the change is partitioned into events by dynamic programming over product-group boundaries
   (the planogram's plates of one product stay together): a partition scores how well each part
   is explained by k units of a nearby product, so one item straddling plates is one event, and
   two items taken at once from neighbouring products are two.
5. **Emitting.** A part is emitted when its plates are settled and it cannot still grow: no
   touching plate is still moving, or the part is already well explained by a product that does
   not sit on the moving neighbour. A weight *increase* is emitted at once only if it matches a
   recent removal from the same plates (a put-back); otherwise it may be a hand resting on the
   shelf, and it is held until it has been stable for ``put_hold_samples`` or it changes again
   (a resting hand then lifting an item gives one event: the net change). So is a removal that
   fits nothing with one of its plates up (a second shopper's hand on the same product).
6. **Faults.** Bit-identical readings for ``stuck_samples`` (a channel that was moving like a
   live one) or ``stuck_quiet_samples`` (a channel never seen moving), readings at the ADC rail,
   a board-reported plate fault, or a plate that never settles raise a :class:`PlateFault`; the
   plate is ignored for events until it recovers, when the fault is cleared and it re-zeroes.
7. **Drift.** A plate whose quiet baseline (movement attributed to shelf events and re-zeroing
   excluded) moved by more than ``max(drift_abs_g, drift_capacity_frac * capacity)`` within
   ``drift_window_samples`` raises a "drifting" fault: a degradation, not an outage; the plate
   keeps weighing and producing events.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from edge.config.layout import StoreLayout
from edge.shelf.decode import PlateBlock
from edge.shelf.protocol import ADC_MAX, ADC_MIN, PlateStatus

__all__ = [
    "DetectorParams",
    "PlateFault",
    "ProductCandidate",
    "ShelfEvent",
    "ShelfEventDetector",
    "to_json",
]

FloatArray = npt.NDArray[np.float64]

_sum0 = np.add.reduce
_any0 = np.logical_or.reduce


def _std0(x: FloatArray) -> FloatArray:
    """``x.std(axis=0)`` of a 2-d array, by the same ufunc steps as numpy's own (mean, squared
    deviations, their mean, square root) without its Python-level wrapper: once per check."""
    rows = x.shape[0]
    dev = x - _sum0(x, axis=0, keepdims=True) / rows
    np.square(dev, out=dev)
    out = _sum0(dev, axis=0) / rows
    return np.sqrt(out, out=out)


def _some(mask: npt.NDArray[np.bool_]) -> bool:
    """``mask.any()`` for a bool vector of a shelf's plates, on the per-block paths: a search of
    its bytes costs a fifth of the ndarray method or the ufunc reduction on a dozen values."""
    return b"\x01" in mask.tobytes()


# --------------------------------------------------------------------------------------------
# Parameters
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DetectorParams:
    """Tuning of :class:`ShelfEventDetector`. Durations are in samples (60 Hz boards: 60 = 1 s).

    The defaults were tuned on the simulator (whose noise model is fitted to real store data)
    and checked on the real AiFi noise recording; see docs/shelf-events.md for the figures.
    """

    dev_abs_g: float = 6.0
    """A plate is disturbed when a reading leaves its baseline by more than this (grams) ...
    Lower catches lighter items earlier but wakes the slow path on more vibration."""
    dev_sigma: float = 6.0
    """... or by this many noise standard deviations, whichever is larger (noisy plates)."""
    smooth_samples: int = 6
    """Readings averaged before the disturbance and settling tests (0.1 s): shelf vibration
    (a resonance near 22 Hz, knocks of 6-19 g on real shelves) averages out, a weight change
    does not. Longer rejects more vibration but blurs the start and end of an event."""
    settle_samples: int = 18
    """Readings whose running mean must stay within the band before a plate counts as settled
    (0.3 s). The main latency term: shorter reports sooner but may take a wobble's turning
    point as stable."""
    band_abs_g: float = 5.0
    """Settling band (max - min over the settle window), grams; at least this ..."""
    band_sigma: float = 5.0
    """... or this many noise standard deviations ..."""
    band_rel: float = 0.02
    """... or this fraction of the plate's current change (a 3 kg grab wobbles for longer)."""
    history_samples: int = 90
    """Readings kept per plate for the settling test and the level estimate (1.5 s)."""
    baseline_tau_samples: int = 120
    """Time constant of the quiet baseline (2 s): shorter follows drift faster, longer is less
    pulled by the first sub-threshold samples of a slow press."""
    noise_tau_checks: int = 10
    """Time constant of the noise estimate, in checks (one check per ``check_blocks``)."""
    noise_init_g: float = 1.0
    """Noise standard deviation assumed before the first estimate, grams."""
    check_blocks: int = 10
    """Blocks between the slower bookkeeping (noise estimate, stuck-channel test)."""
    plate_min_g: float = 3.0
    """A plate whose settled change is smaller than this is not listed among an event's plates
    and may be re-zeroed at once."""
    min_event_g: float = 10.0
    """Smallest net change that can be an event, grams ..."""
    min_event_frac: float = 0.0
    """... and at least this fraction of the lightest product of these plates. Raising it
    ignores small shifts on plates of heavy products, but also misses a light item left there."""
    null_scale_g: float = 25.0
    """How strongly a part with no net change but large opposite plate changes (an item slid
    from one plate to its neighbour) resists being called "no event", grams per nat."""
    null_release_samples: int = 90
    """A settled part with no net change but a clear offset (a light hand resting) waits this
    long before its plates re-zero, in case the item is lifted after all."""
    weight_rel_sigma: float = 0.03
    """Relative standard deviation of a product's real unit weight from the catalogue (real
    stores: 4-5 % differences seen); wider accepts more mismatched weights as that product."""
    meas_sigma_g: float = 1.5
    """Measurement noise of a settled change per plate, grams (noise, wander, baseline error)."""
    hidden_rel_sigma: float = 0.35
    """Relative uncertainty of the share of a product's weight on its faulted (unseen) plates."""
    foreign_prior: float = 0.3
    """Prior of an increase being an item of another shelf's product (a shopper leaving it
    here) relative to this shelf's products; such items are looked up in the whole catalogue."""
    max_quantity: int = 6
    """Most units one event may be explained by."""
    quantity_prior: tuple[float, ...] = (1.0, 0.5, 0.35, 0.15, 0.1, 0.08)
    """Prior weight of 1, 2, 3, ... units: single units are the common case."""
    plate_sigma: float = 0.15
    """Tolerance of the share of an event's change that lies on the candidate's own plates: the
    per-plate consistency term is exp(-((1 - share) / plate_sigma)^2 / 2)."""
    plate_floor: float = 0.01
    """Floor of the per-plate consistency term (an item lying off its planogram plates)."""
    unexplained_logp: float = -7.0
    """Log-score of calling a part of one product group "unexplained" (an item from elsewhere,
    a partial view); a part spanning several groups pays this per group, so unexplained
    changes split along product boundaries rather than merge."""
    event_cost: float = 1.0
    """Log-score cost of each extra event in a partition: avoids splitting one well-explained
    change into two."""
    split_cost: float = 0.5
    """Extra log-score cost of explaining a held plateau and what followed as two events rather
    than one net change: the hand may never have left, so one action is the default."""
    press_max_samples: int = 90
    """A hand pressing while it sets an item down, or touching without taking, lets go within
    about this long (1.5 s). A held plateau that lasted longer, followed by a net change of
    zero or a smaller increase, is more likely an item left there and then something taken:
    the one-net-change reading then costs ``long_press_cost`` extra. (A hand resting before it
    lifts an item, a net decrease, pays nothing: slow picks rest for seconds.)"""
    long_press_cost: float = 4.0
    early_fit: float = 0.05
    """A settled part next to a plate that is still moving is emitted early only if its best
    candidate's fit (0..1) reaches this and the candidate does not sit on the moving plate."""
    put_hold_samples: int = 480
    """An increase that matches no recent removal is held this long (8 s) before it is reported:
    a hand resting on the shelf looks like a put until it lifts. Longer rejects longer rests and
    delays unmatched puts (an item from another shelf) by as much."""
    max_holds: int = 8
    """Plateaus remembered per shelf while increases are held (split points to try)."""
    put_confirm_samples: int = 36
    # An increase matching what a shopper reaching into these plates carries (see
    # `carried_weights`) is reported once stable this long (1.2 s), not after put_hold_samples.
    carried_confirm_samples: int = 72
    """Even an increase matching a recent removal must have been stable this long (0.6 s): a
    hand touching an item before lifting it presses with tens of grams, which can match a light
    item by chance; a touch ends within about a second, a put-back stays. Adds about 0.1 s to
    the latency of put-backs."""
    put_memory_samples: int = 3600
    """How long a removal is remembered for matching a put-back (60 s)."""
    put_match_abs_g: float = 3.0
    """An increase matches a remembered removal if the weights agree within this, grams ..."""
    put_match_rel: float = 0.03
    """... or this fraction (measured weight against measured weight: no catalogue error)."""
    stuck_samples: int = 300
    """Bit-identical readings for this long (5 s) on a channel that was moving like a live one
    (see ``live_move_rate``) raise a "stuck" fault."""
    stuck_quiet_samples: int = 1200
    """The same for a channel never seen moving (20 s): a very quiet live channel with a coarse
    ADC step can hold one value for over ten seconds (real data: 13.8 s)."""
    live_move_rate: float = 0.5
    """A channel counts as visibly live when its value changed in at least this fraction of
    recent blocks."""
    saturated_samples: int = 30
    """Readings at the ADC rail for this long raise a "saturated" fault."""
    noisy_samples: int = 1800
    """A plate that does not settle for this long (30 s) raises a "noisy" fault."""
    drift_abs_g: float = 10.0
    """A plate whose quiet baseline moved by more than this (grams) within the drift window,
    with no shelf event explaining it, raises a "drifting" fault ... Above ``dev_abs_g``: an
    item lighter than the disturbance threshold is absorbed by the baseline as one step of at
    most that much. Far above what the data show: the simulator's drift prior is N(0, 1.5) g/h
    (0.25 g per 10 min at one sigma) and the real AiFi recording's quiet baseline wanders by
    under a gram (docs/shelf-events.md)."""
    drift_capacity_frac: float = 0.0005
    """... or by this fraction of the plate's rated capacity (``capacity_g``), whichever is
    larger: 0.05 % of full scale (10 g on a 20 kg cell) in 10 min is several times a load
    cell's specified creep (typically 0.02-0.03 % FS over 30 min)."""
    drift_window_samples: int = 36000
    """Window of the drift test (10 min at 60 Hz)."""
    drift_step_samples: int = 600
    """The quiet baseline is sampled for the drift test every this many samples (10 s)."""
    drift_settle_samples: int = 600
    """After a plate re-zeroes (an event released, a fault cleared) the baseline's catching up
    with the true level for this long (10 s, 5 baseline time constants) is the event's too:
    a settled level estimated 0.5-0.8 g off would otherwise leak into the drift sum per event."""
    drift_clear_frac: float = 0.5
    """A drifting fault clears once the movement within the window is below this fraction of
    the threshold (hysteresis: a plate at the limit does not flap)."""
    max_candidates: int = 5
    """Candidates kept per event (best first)."""
    min_likelihood: float = 0.001
    """Candidates below this normalised likelihood are dropped."""


# --------------------------------------------------------------------------------------------
# Outputs
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ProductCandidate:
    """One explanation of a weight change: ``quantity`` units of a product; ``likelihood`` is
    normalised over the event's candidates."""

    product_id: str
    name: str
    quantity: int
    likelihood: float


@dataclass(frozen=True, slots=True)
class ShelfEvent:
    """A stable weight change on one shelf.

    ``t_start``: the disturbance began (first reading out of band); ``t_end``: the plates were
    stable again; ``t_detected``: the sample time at which the detector emitted it. ``plates``
    are plate ids (1-based, left to right) whose weight changed, ``plate_deltas`` their changes
    (grams), ``delta_grams`` the sum (negative: weight removed). ``fit`` (0..1) says how well
    the best candidate explains the change (weight and plates), before normalisation.
    """

    event_id: str
    gondola: int
    shelf: int
    t_start: float
    t_end: float
    t_detected: float
    plates: tuple[int, ...]
    plate_deltas: tuple[float, ...]
    delta_grams: float
    candidates: tuple[ProductCandidate, ...]
    fit: float = 0.0


@dataclass(frozen=True, slots=True)
class PlateFault:
    """A plate's channel became faulty (``active`` True) or recovered (False) at sample time
    ``t``. ``kind``: "stuck" (bit-identical readings), "dead" (the board reports it
    disconnected or timing out), "saturated" (at the ADC rail or reported so), "noisy" (never
    settles), "drifting" (the quiet baseline walks away without shelf events; the plate still
    weighs, so this one does not stop events)."""

    t: float
    gondola: int
    shelf: int
    plate: int
    kind: str
    active: bool
    message: str


def to_json(event: ShelfEvent) -> dict[str, Any]:
    """The event as one JSON object (``walkout edge replay --events-out`` writes one per line)."""
    return {
        "event_id": event.event_id,
        "t_start": round(event.t_start, 4),
        "t_end": round(event.t_end, 4),
        "t_detected": round(event.t_detected, 4),
        "gondola": event.gondola,
        "shelf": event.shelf,
        "plates": list(event.plates),
        "plate_deltas": [round(d, 2) for d in event.plate_deltas],
        "delta_grams": round(event.delta_grams, 2),
        "candidates": [
            {
                "product_id": c.product_id,
                "name": c.name,
                "quantity": c.quantity,
                "likelihood": round(c.likelihood, 4),
            }
            for c in event.candidates
        ],
    }


# --------------------------------------------------------------------------------------------
# Internals
# --------------------------------------------------------------------------------------------

_FAULT_KINDS = ("stuck", "dead", "saturated", "noisy")
# Degradations: raised and cleared like faults, but the plate keeps taking part in events.
_DEGRADED_KINDS = ("drifting",)


@dataclass(slots=True)
class _Removal:
    """A remembered removal, for matching put-backs."""

    k: int  # sample index when it was reported
    lo: int  # plate index range (inclusive)
    hi: int
    unit_g: float  # measured grams per unit
    remaining: int  # units not yet put back


@dataclass(slots=True)
class _Part:
    """One part of a partition: plates lo..hi (indices), its change and best explanation."""

    lo: int
    hi: int
    d: FloatArray  # change per plate, grams
    delta: float
    null: bool
    score: float
    fit: float = 0.0
    best: int = -1  # product index of the best local candidate, -1 if none
    candidates: list[tuple[float, str, int]] = field(default_factory=list)  # (g, product id, k)
    t_span: tuple[float | None, float | None] = (None, None)  # overrides of t_start, t_end


@dataclass(slots=True)
class _Hold:
    """A plateau of a held increase: plates lo..hi at ``level`` from ``t_from`` to ``t_last``."""

    lo: int
    hi: int
    level: FloatArray
    t_from: float
    t_last: float
    k_from: int  # the same two times as sample indices
    k_last: int


class ShelfEventDetector:
    """Shelf events and plate faults for one shelf; see the module docstring."""

    def __init__(
        self,
        layout: StoreLayout,
        gondola: int,
        shelf: int,
        params: DetectorParams = DetectorParams(),
    ) -> None:
        self.gondola = gondola
        self.shelf = shelf
        self.params = p = params
        # Optional hint: unit weights (grams) carried by shoppers reaching into this shelf at a
        # given time. Set by the pipeline; None keeps the detector purely weight-based.
        self.carried_weights: Callable[[float, list[int]], Sequence[float]] | None = None
        cfg = layout.shelves[(gondola, shelf)]
        refs = layout.shelf_plate_refs(gondola, shelf)
        self.plate_ids: list[int] = [r.plate for r in refs]
        n_plates = len(refs)
        self.n_plates = n_plates
        self._faulted = np.zeros(n_plates, bool)
        self.set_planogram(layout)
        # Rails of each plate in grams: a reading there is a saturated ADC.
        off = np.array([pl.calibration.offset_counts for pl in cfg.plates], np.float64)
        gpc = np.array([pl.calibration.grams_per_count for pl in cfg.plates], np.float64)
        self._rail_hi = (ADC_MAX - off) * gpc - 0.5 * gpc
        self._rail_lo = (ADC_MIN - off) * gpc + 0.5 * gpc
        self._rail_hi_min = float(self._rail_hi.min())
        self._rail_lo_max = float(self._rail_lo.max())

        self._alphas: dict[int, float] = {}  # baseline smoothing per block length
        self._smooth = max(1, min(p.smooth_samples, p.settle_samples, p.history_samples))
        self._qprior = np.array(
            [p.quantity_prior[min(k, len(p.quantity_prior) - 1)] for k in range(p.max_quantity)],
            np.float64,
        )
        self._kvec = np.arange(1, p.max_quantity + 1, dtype=np.float64)

        # Ring buffer of recent readings (rows) and their times.
        self._cap = max(p.history_samples * 4, 256)
        self._buf = np.zeros((self._cap, n_plates), np.float64)
        self._tbuf = np.zeros(self._cap, np.float64)
        self._pos = 0  # rows written (next row index)
        self._filled = 0
        self._k = 0  # samples seen in total
        self._started = False

        z = np.zeros(n_plates, np.float64)
        self._b = z.copy()  # baseline
        self._sigma = np.full(n_plates, p.noise_init_g)
        self._thr = np.full(n_plates, max(p.dev_abs_g, p.dev_sigma * p.noise_init_g))
        self._inv = np.zeros(n_plates, bool)  # involved in a disturbance
        self._n_inv = 0
        self._base = z.copy()  # frozen baseline at disturbance start
        self._t0 = z.copy()  # disturbance start time
        self._last_settled_k = np.zeros(n_plates, np.int64)  # for the "noisy" fault
        self._settled = np.zeros(n_plates, bool)
        self._stable_from = np.full(n_plates, -1, np.int64)  # sample index the stable stretch began
        self._t_stable = z.copy()
        self._level = z.copy()
        self._last_inv_k = np.zeros(n_plates, np.int64)  # last sample index while involved
        # Plateaus of held increases (maybe a resting hand, maybe a put): lo, hi, levels,
        # time stable from, time last seen stable. Kept until their plates are released.
        self._holds: list[_Hold] = []

        # Faults.
        self._fault = {kind: np.zeros(n_plates, bool) for kind in _FAULT_KINDS + _DEGRADED_KINDS}
        # Drift: baseline movement attributed to events and re-zeroing is summed in `_ev`, so
        # `_b - _ev` moves only with the quiet exponential average. It is sampled every
        # `drift_step_samples` into a ring covering `drift_window_samples`.
        cap_g = np.array([pl.capacity_g for pl in cfg.plates], np.float64)
        self._drift_thr = np.maximum(p.drift_abs_g, p.drift_capacity_frac * cap_g)
        self._ev = np.zeros(n_plates, np.float64)
        slots = max(1, p.drift_window_samples // max(1, p.drift_step_samples))
        self._dq = np.zeros((slots, n_plates), np.float64)
        self._dq_n = 0  # slots filled
        self._dq_pos = 0  # next slot
        self._drift_next_k = 0
        self._pin_q = np.zeros(n_plates, np.float64)  # drift sum held while re-zeroing
        self._pin_until = np.zeros(n_plates, np.int64)  # 0: not held
        self._last_row = np.full(n_plates, np.nan)
        # Sample count at the end of the last block in which the value changed: the samples
        # since then (`_k - _moved_k`) is the run of bit-identical readings.
        self._moved_k = np.zeros(n_plates, np.int64)
        self._move_blocks: list[int] = []  # lengths of the blocks not yet in _account_moves
        self._move_ref = self._last_row  # the reading before the first of them
        self._moved_blocks = np.zeros(n_plates, np.int64)
        self._move_rate = np.zeros(n_plates, np.float64)
        self._live_rate = np.zeros(n_plates, np.float64)  # move rate while it was last moving
        self._sat_run = np.zeros(n_plates, np.int64)
        self._sat_watch = False  # some plate at the rail or saturated: check every block
        self._board_saturated = np.zeros(n_plates, bool)
        self._board_status: tuple[int, ...] | None = None
        self._blocks = 0
        self._period_samples = 0

        self._memory: list[_Removal] = []
        self._used_ids: dict[str, int] = {}
        self._partition_cache: dict[tuple[int, ...], list[_Part]] = {}
        self.stats: dict[str, int] = {"blocks": 0, "slow_blocks": 0, "events": 0, "faults": 0}

    # --- public API -------------------------------------------------------------------------

    def set_planogram(self, layout: StoreLayout) -> None:
        """Take the products of this shelf (candidates, unit weights, names) from `layout`.

        Called once at start and again when a pushed planogram takes effect (edge/push/): the
        weight state (baselines, disturbances, held plateaus, remembered removals) stays, so a
        change in progress is explained with the planogram in force when it settles.
        """
        refs = layout.shelf_plate_refs(self.gondola, self.shelf)
        n_plates = len(refs)
        # Products on this shelf, their plates as a mask, and each plate's product group.
        pids = sorted({layout.plate_product[r] for r in refs if r in layout.plate_product})
        self._pid = pids
        self._pw = np.array([layout.products[pid].weight_g for pid in pids], np.float64)
        self._pspread = np.array([layout.products[pid].weight_spread_g for pid in pids], np.float64)
        self._pmask = np.zeros((len(pids), n_plates), bool)
        index = {pid: i for i, pid in enumerate(pids)}
        self._group = np.full(n_plates, -1, np.int64)
        for i, ref in enumerate(refs):
            pid = layout.plate_product.get(ref)
            if pid is not None:
                self._pmask[index[pid], i] = True
                self._group[i] = index[pid]
        # Plates without a product are groups of their own.
        for i in range(n_plates):
            if self._group[i] < 0:
                self._group[i] = len(pids) + i
        self._pnplates = self._pmask.sum(axis=1).astype(np.float64)
        # The whole catalogue, for increases that no product of this shelf explains.
        self._cat_id = [pr.id for pr in layout.config.products]
        self._cat_w = np.array([pr.weight_g for pr in layout.config.products], np.float64)
        self._cat_spread = np.array(
            [pr.weight_spread_g for pr in layout.config.products], np.float64
        )
        self._names = {pr.id: pr.name for pr in layout.config.products}
        # A product whose plates are partly faulted shows only part of its weight.
        live = (~self._faulted)[None, :] & self._pmask
        self._pvis = live.sum(axis=1) / np.maximum(self._pnplates, 1.0)
        self._partition_cache = {}

    def feed(self, block: PlateBlock) -> list[ShelfEvent | PlateFault]:
        """Process one block of this shelf's readings; return events and faults it completed."""
        x = block.grams
        t = block.times
        n = x.shape[0]
        if x.shape[1] != self.n_plates:
            raise ValueError(
                f"shelf {self.gondola}.{self.shelf} has {self.n_plates} plates, "
                f"block has {x.shape[1]}"
            )
        if n == 0:
            return []
        self.stats["blocks"] += 1
        if not self._started:
            self._start(x)
        # --- cheap fault bookkeeping ----------------------------------------------------------
        # Which channels changed value in this block is worked out for a whole check period at
        # once (`_account_moves`, from the ring buffer): per block it is only noted here. A block
        # too long for the buffer to keep whole is worked out at once.
        long_block = n > self._cap - self.params.history_samples
        if long_block:
            self._account_moves()
            moved = _any0(x != self._last_row, axis=0)
            np.putmask(self._moved_k, moved, self._k + n)
            self._moved_blocks += moved
        pos = self._pos
        if pos + n <= self._cap:
            # The common case of _push, inline: this runs for every block of every shelf.
            self._buf[pos : pos + n] = x
            self._tbuf[pos : pos + n] = t
            self._pos = pos + n
            filled = self._filled + n
            self._filled = filled if filled < self._cap else self._cap
        else:
            self._push(x, t)
        self._k += n
        out: list[ShelfEvent | PlateFault] = []
        if not long_block:
            if not self._move_blocks:
                self._move_ref = self._last_row.copy()  # (a caller may reuse its arrays)
            self._move_blocks.append(n)
        self._last_row = x[-1]
        self._blocks += 1
        self._period_samples += n
        if block.plate_status is not self._board_status and block.plate_status is not None:
            self._board_status = block.plate_status
            out += self._status_faults(float(t[-1]))

        # --- disturbance test -----------------------------------------------------------------
        # On the mean of the last `smooth_samples` readings: shelf vibration (a resonance near
        # 22 Hz, knocks of up to ~20 g) averages out, a weight change does not.
        S = self._smooth
        mean = _sum0(x, axis=0) * (1.0 / n)
        if n == S:
            m = mean
        elif n > S:
            m = _sum0(x[-S:], axis=0) * (1.0 / S)
        elif self._pos >= S:
            m = _sum0(self._buf[self._pos - S : self._pos], axis=0) * (1.0 / S)
        else:
            m = mean
        d = mean - self._b
        exceed = np.abs(d if m is mean else m - self._b) > self._thr
        if self._n_inv == 0 and not self._sat_watch and not _some(exceed):
            # Quiet: follow drift (the baseline is an exponential average of quiet readings).
            alpha = self._alphas.get(n)
            if alpha is None:
                alpha = self._alpha_for(n)
            self._b += alpha * d
            if self._blocks >= self.params.check_blocks:
                out += self._check(float(t[-1]))
            return out
        self.stats["slow_blocks"] += 1
        if self._sat_watch or x.max() >= self._rail_hi_min or x.min() <= self._rail_lo_max:
            out += self._saturation(x, float(t[-1]))
            exceed &= ~self._faulted
        new = exceed & ~self._inv
        if _some(new):
            idx = np.flatnonzero(new)
            self._inv[idx] = True
            self._base[idx] = self._b[idx]
            self._t0[idx] = self._start_times(idx, n)
            self._last_settled_k[idx] = self._k
            self._settled[idx] = False
            self._stable_from[idx] = -1
            self._n_inv = int(self._inv.sum())
        quiet = ~self._inv
        self._b = np.where(quiet, self._b + self._alpha_for(n) * (mean - self._b), self._b)
        self._last_inv_k[self._inv] = self._k
        self._stability()
        out += self._resolve(float(t[-1]), final=False)
        if self._blocks >= self.params.check_blocks:
            out += self._check(float(t[-1]))
        return out

    def _start_times(self, idx: npt.NDArray[np.intp], n: int) -> FloatArray:
        """When did the disturbance of plates `idx` begin? The first of the latest readings
        (this block and the smoothing window before it) out of half the threshold."""
        rows = min(self._pos, n + self._smooth - 1)
        recent = self._buf[self._pos - rows : self._pos, idx]
        out_of_band = np.abs(recent - self._b[idx]) > 0.5 * self._thr[idx]
        first = np.where(out_of_band.any(axis=0), out_of_band.argmax(axis=0), rows - 1)
        return self._tbuf[self._pos - rows + first]

    def _alpha_for(self, n: int) -> float:
        a = self._alphas.get(n)
        if a is None:
            a = self._alphas[n] = 1.0 - math.exp(-n / self.params.baseline_tau_samples)
        return a

    def flush(self) -> list[ShelfEvent | PlateFault]:
        """End of input: report settled changes still waiting (held increases included)."""
        if not self._started or self._n_inv == 0:
            return []
        return self._resolve(float(self._tbuf[(self._pos - 1) % self._cap]), final=True)

    # --- buffer -----------------------------------------------------------------------------

    def _start(self, x: FloatArray) -> None:
        self._started = True
        self._b = x.mean(axis=0).astype(np.float64)
        self._ev = self._b.copy()
        self._last_row = x[0].copy()

    def _push(self, x: FloatArray, t: FloatArray) -> None:
        n = x.shape[0]
        h = self.params.history_samples
        if self._pos + n > self._cap:
            self._account_moves()  # before the rows it reads move
            keep = min(self._filled, h)
            self._buf[:keep] = self._buf[self._pos - keep : self._pos]
            self._tbuf[:keep] = self._tbuf[self._pos - keep : self._pos]
            self._pos = keep
        if n > self._cap - self._pos:  # a huge block: keep its tail only
            x, t = x[-(self._cap - self._pos) :], t[-(self._cap - self._pos) :]
            n = x.shape[0]
        self._buf[self._pos : self._pos + n] = x
        self._tbuf[self._pos : self._pos + n] = t
        self._pos += n
        self._filled = min(self._filled + n, self._cap)

    def _account_moves(self) -> None:
        """Channel movement of the blocks noted since the last call, from the ring buffer.

        A channel moved in a block when one of its readings differs from the last reading of the
        block before (`_move_ref` for the first noted block). Per channel this counts the blocks
        it moved in (`_moved_blocks`) and keeps the sample count at the end of the last one
        (`_moved_k`): what the stuck-channel test needs, with a few array operations per check
        period rather than per block.
        """
        ns = self._move_blocks
        if not ns:
            return
        nb = len(ns)
        total = sum(ns)
        rows = self._buf[self._pos - total : self._pos]
        ref = np.empty((nb, self.n_plates), np.float64)  # the reading before each block
        ref[0] = self._move_ref
        if ns.count(ns[0]) == nb:
            # Blocks of one length (a board sends a fixed number of samples per frame): a
            # (block, sample, plate) view, no index arithmetic.
            size = ns[0]
            by_block = rows.reshape(nb, size, self.n_plates)
            ref[1:] = by_block[:-1, -1]
            moved = _any0(by_block != ref[:, None, :], axis=1)
            ends = np.arange(size, total + 1, size)
        else:
            ends = np.cumsum(np.array(ns, np.int64))
            ref[1:] = rows[ends[:-1] - 1]
            changed = rows != np.repeat(ref, ns, axis=0)
            moved = np.logical_or.reduceat(changed, ends - ns, axis=0)
        self._moved_blocks += _sum0(moved, axis=0)
        last = (nb - 1) - moved[::-1].argmax(axis=0)  # the last block each channel moved in
        np.putmask(self._moved_k, _any0(moved, axis=0), (self._k - total) + ends[last])
        ns.clear()

    # --- settling ---------------------------------------------------------------------------

    def _stability(self) -> None:
        """For involved plates: length of the stable tail, settled flag, level, stable-from.

        Stability is judged on the running mean of ``smooth_samples`` readings (vibration
        averages out): the tail is stable while that mean stays within the band.
        """
        p = self.params
        idx = np.flatnonzero(self._inv)
        if idx.size == 0:
            return
        S = self._smooth
        m = min(self._filled, p.history_samples, self._pos)
        if m < S:
            return
        tail = self._buf[self._pos - m : self._pos, idx]
        csum = np.cumsum(tail, axis=0)
        smooth = np.empty((m - S + 1, idx.size))
        smooth[0] = csum[S - 1]
        smooth[1:] = csum[S:] - csum[:-S]
        smooth *= 1.0 / S
        rev = smooth[::-1]
        span = np.maximum.accumulate(rev, axis=0) - np.minimum.accumulate(rev, axis=0)
        base = self._base[idx]
        band = np.maximum(
            np.maximum(p.band_abs_g, p.band_sigma * self._sigma[idx]),
            p.band_rel * np.abs(smooth[-1] - base),
        )
        ok = span <= band
        rows = smooth.shape[0]
        good = np.where(ok.all(axis=0), rows, ok.argmin(axis=0))  # stable smoothed rows
        length = np.where(good > 0, good + S - 1, 0)  # in readings
        settled = length >= p.settle_samples
        lc = np.maximum(length, 1)
        level = (
            csum[-1] - np.where(lc < m, csum[np.maximum(m - lc - 1, 0), np.arange(idx.size)], 0.0)
        ) / lc
        level = np.where(lc < m, level, csum[-1] / m)
        prev_settled = self._settled[idx]
        prev_from = self._stable_from[idx]
        keep = prev_settled & settled & (length >= m) & (prev_from >= 0)
        stable_from = np.where(settled, np.where(keep, prev_from, self._k - length), -1)
        t_new = self._tbuf[self._pos - lc]
        self._t_stable[idx] = np.where(keep, self._t_stable[idx], t_new)
        self._stable_from[idx] = stable_from
        self._settled[idx] = settled
        self._last_settled_k[idx[settled]] = self._k
        self._level[idx] = level

    # --- grouping, partition, emission ----------------------------------------------------------

    def _components(self) -> list[tuple[int, int]]:
        idx = np.flatnonzero(self._inv)
        if idx.size == 0:
            return []
        cuts = np.flatnonzero(np.diff(idx) > 1)
        starts = np.concatenate(([0], cuts + 1))
        ends = np.concatenate((cuts, [idx.size - 1]))
        return [(int(idx[s]), int(idx[e])) for s, e in zip(starts, ends, strict=True)]

    def _resolve(self, t_now: float, *, final: bool) -> list[ShelfEvent | PlateFault]:
        p = self.params
        out: list[ShelfEvent | PlateFault] = []
        # Plates that never settle: a fault, not a shelf event.
        if not final:
            restless = self._inv & (self._k - self._last_settled_k > p.noisy_samples)
            if _some(restless):
                out += self._set_faults(
                    "noisy",
                    restless,
                    True,
                    t_now,
                    f"readings have not settled for {p.noisy_samples} samples",
                )
        if self._memory:
            horizon = self._k - p.put_memory_samples
            self._memory = [m for m in self._memory if m.k >= horizon and m.remaining > 0]
        for lo, hi in self._components():
            settled = self._settled[lo : hi + 1]
            if not settled.any():
                continue
            # Maximal runs of settled plates inside the component.
            i = lo
            while i <= hi:
                if not self._settled[i]:
                    i += 1
                    continue
                j = i
                while j + 1 <= hi and self._settled[j + 1]:
                    j += 1
                left_moving = i > lo  # the plate left of the run is involved and moving
                right_moving = j < hi
                out += self._resolve_run(i, j, left_moving, right_moving, t_now, final)
                i = j + 1
        return out

    def _resolve_run(
        self, lo: int, hi: int, left_moving: bool, right_moving: bool, t_now: float, final: bool
    ) -> list[ShelfEvent | PlateFault]:
        p = self.params
        out: list[ShelfEvent | PlateFault] = []
        for part in self._partition(lo, hi):
            touches = (left_moving and part.lo == lo) or (right_moving and part.hi == hi)
            plates = range(part.lo, part.hi + 1)
            stable_for = self._k - int(self._stable_from[part.lo : part.hi + 1].max())
            if touches and not final:
                # Next to a plate that is still moving: the part may still grow. Wait, unless it
                # is already well explained by a product that does not reach the moving plate.
                if part.null or part.fit < p.early_fit:
                    continue
                moving = [
                    m
                    for m, cond in (
                        (lo - 1, left_moving and part.lo == lo),
                        (hi + 1, right_moving and part.hi == hi),
                    )
                    if cond
                ]
                if part.best >= 0 and any(self._pmask[part.best, m] for m in moving):
                    continue
            split = self._split_held(part)
            if (
                not final
                and stable_for < p.put_hold_samples
                and self._hand_inside(part if split is None else split[-1])
            ):
                # A plate of this removal is up: maybe a hand still resting there (another
                # shopper's, reaching into the same product). Hold, remembering the plateau.
                self._remember_hold(part, t_now)
                continue
            if split is not None:
                # A held increase, then another change: a put followed by a pick explains it
                # better than one net change (a resting hand) does.
                out += [self._emit(q, t_now) for q in split]
                self._release(plates)
                continue
            if part.null:
                d = self._delta(part.lo, part.hi)
                if final or np.abs(d).max() < p.plate_min_g or stable_for >= p.null_release_samples:
                    self._release(plates)
                continue
            if (
                part.delta > 0
                and not final
                and stable_for < p.put_hold_samples
                and not (
                    stable_for >= p.put_confirm_samples
                    and (self._match_put(part) or self._match_carried(part, t_now, stable_for))
                )
            ):
                # Maybe a hand resting on the shelf: hold, remembering the plateau.
                self._remember_hold(part, t_now)
                continue
            if part.delta > 0:
                # Candidates for an increase include items from elsewhere in the store.
                part = self._evaluate(part.lo, part.hi, part.d, upward_catalogue=True)
            out.append(self._emit(part, t_now))
            self._release(plates)
        return out

    def _hand_inside(self, part: _Part) -> bool:
        """Is this removal poorly explained and is one of its plates up by an event's worth?

        The settling test cannot tell a hand held still from a new level. A part whose net
        change is an increase is held for that reason (below); but when two shoppers reach into
        one product at once, one lifting a unit while the other presses on a neighbouring plate
        of the same product, the press is netted against the removal (the plates are one group,
        one part) and the part looks like a removal of the wrong weight. Emitting it would
        re-zero the pressed plate at the hand's level, so the lift that follows reads as hand
        plus item: two events of wrong weights. A unit taken does not make one of its plates
        heavier; a hand does. So such a part waits like a held increase: until the plate
        changes again (the hand lifts: the net change, or a split at the remembered plateau,
        is then reported) or it has been stable for ``put_hold_samples`` (weight shifted
        between plates for good). A part already well explained (``fit >= early_fit``, as for
        emitting next to a moving plate) is reported at once: an item shifting onto its
        neighbour as a unit is lifted does not delay a pick that weighs right.
        """
        p = self.params
        return (
            not part.null
            and part.delta < 0
            and part.fit < p.early_fit
            and float(part.d.max()) >= p.min_event_g
        )

    def _delta(self, lo: int, hi: int) -> FloatArray:
        return self._level[lo : hi + 1] - self._base[lo : hi + 1]

    def _remember_hold(self, part: _Part, t_now: float) -> None:
        level = self._level[part.lo : part.hi + 1].copy()
        t_from = float(self._t_stable[part.lo : part.hi + 1].max())
        k_from = int(self._stable_from[part.lo : part.hi + 1].max())
        for hold in self._holds:
            if hold.lo == part.lo and hold.hi == part.hi and hold.k_from == k_from:
                hold.t_last, hold.k_last = t_now, self._k  # the same plateau, still there
                hold.level = level
                return
        self._holds.append(_Hold(part.lo, part.hi, level, t_from, t_now, k_from, self._k))
        del self._holds[: -self.params.max_holds]

    def _split_held(self, part: _Part) -> list[_Part] | None:
        """A part that was held as a possible resting hand and has changed since: is it better
        explained as two events (an increase, then what followed) than as one net change?

        Each remembered plateau inside the part is tried as the split point: a put of an item
        followed by a pick explains put-then-pick; a resting hand's plateau explains nothing and
        the net change (the item lifted) wins.
        """
        p = self.params
        lo, hi = part.lo, part.hi
        level = self._level[lo : hi + 1]
        base = self._base[lo : hi + 1]
        floor = p.unexplained_logp
        if part.null:
            best_score = -abs(part.delta) / p.null_scale_g
        elif part.delta > 0:
            best_score = self._evaluate(lo, hi, part.d, upward_catalogue=True).score
        else:
            best_score = part.score
        # One net change means the plateau was a hand pressing; a hand that then leaves without
        # taking anything does not press for seconds.
        long_press = any(
            h.k_last - h.k_from >= p.press_max_samples
            for h in self._holds
            if lo <= h.lo and h.hi <= hi
        )
        if (part.null or part.delta > 0) and long_press:
            best_score -= p.long_press_cost
        best: list[_Part] | None = None
        for hold in self._holds:
            if hold.lo < lo or hold.hi > hi:
                continue
            if abs(float((self._level[hold.lo : hold.hi + 1] - hold.level).sum())) < p.min_event_g:
                continue  # still at that plateau
            mid = base.copy()
            mid[hold.lo - lo : hold.hi - lo + 1] = hold.level
            second = self._evaluate(lo, hi, level - mid)
            if second.null or second.delta > 0:
                continue  # a further increase may itself be a hand: keep holding
            first = self._evaluate(lo, hi, mid - base, upward_catalogue=True)
            if first.null:
                continue
            score = (
                max(math.log(max(first.fit, 1e-300)), floor)
                + max(math.log(max(second.fit, 1e-300)), floor)
                - 2 * p.event_cost
                - p.split_cost
            )
            if score > best_score:
                best_score = score
                first.t_span = (None, hold.t_from)
                second.t_span = (hold.t_last, None)
                best = [first, second]
        return best

    def _release(self, plates: range) -> None:
        """Plates leave the disturbance: they re-zero at their settled level."""
        for i in plates:
            if self._inv[i]:
                self._inv[i] = False
                self._ev[i] += self._level[i] - self._b[i]  # moved by the event, not drift
                self._b[i] = self._level[i]
                self._pin_q[i] = self._b[i] - self._ev[i]
                self._pin_until[i] = self._k + self.params.drift_settle_samples
                self._settled[i] = False
                self._stable_from[i] = -1
        self._n_inv = int(self._inv.sum())
        if self._holds:
            self._holds = [h for h in self._holds if self._inv[h.lo : h.hi + 1].all()]

    def _partition(self, lo: int, hi: int) -> list[_Part]:
        """Best split of settled plates lo..hi into parts, cutting only between product groups."""
        holds = [(h.lo, h.hi) for h in self._holds if lo <= h.lo and h.hi <= hi]
        key = (lo, hi, *self._stable_from[lo : hi + 1].tolist(), *[x for h in holds for x in h])
        cached = self._partition_cache.get(key)
        if cached is not None:
            # Same plates, same stable stretches: only the levels moved (by noise). Refresh the
            # deltas, keep the decisions.
            for part in cached:
                part.d = self._delta(part.lo, part.hi)
                part.delta = float(part.d.sum())
            return cached
        if len(self._partition_cache) > 64:
            self._partition_cache.clear()
        # Cut points: where the product group changes, and around held plateaus (a hand resting
        # on part of a wide product while units are taken from its other end).
        cuts = {i for i in range(lo + 1, hi + 1) if self._group[i] != self._group[i - 1]}
        for h_lo, h_hi in holds:
            cuts.update(c for c in (h_lo, h_hi + 1) if lo < c <= hi)
        starts = [lo, *sorted(cuts)]
        bounds = [*starts, hi + 1]
        g = len(starts)
        best = [0.0] + [-math.inf] * g
        back = [0] * (g + 1)
        parts: dict[tuple[int, int], _Part] = {}
        for b in range(1, g + 1):
            for a in range(b):
                part = parts.get((a, b))
                if part is None:
                    part = self._evaluate(bounds[a], bounds[b] - 1)
                    parts[(a, b)] = part
                score = best[a] + part.score
                if score > best[b] + 1e-12:
                    best[b] = score
                    back[b] = a
        result: list[_Part] = []
        b = g
        while b > 0:
            a = back[b]
            result.append(parts[(a, b)])
            b = a
        result.reverse()
        self._partition_cache[key] = result
        return result

    def _evaluate(
        self, lo: int, hi: int, d: FloatArray | None = None, *, upward_catalogue: bool = False
    ) -> _Part:
        """Score plates lo..hi as one part: no event, or an event explained by a product.

        ``d`` is the change per plate (default: settled level minus the frozen baseline). With
        ``upward_catalogue`` an increase may also be an item of any product in the store (a
        shopper leaving something from another shelf), at a lower prior.
        """
        p = self.params
        if d is None:
            d = self._delta(lo, hi)
        delta = float(d.sum())
        mag = abs(delta)
        # Candidate products: on these plates or on a neighbouring plate (items straddle).
        a, b = max(lo - 1, 0), min(hi + 1, self.n_plates - 1)
        cand = (
            np.flatnonzero(self._pmask[:, a : b + 1].any(axis=1))
            if self._pid
            else np.zeros(0, np.int64)
        )
        lightest = float(self._pw[cand].min()) if cand.size else 0.0
        if mag < max(p.min_event_g, p.min_event_frac * lightest):
            excess = np.maximum(np.abs(d) - p.plate_min_g, 0.0).sum()
            return _Part(lo, hi, d, delta, True, -float(excess) / p.null_scale_g)
        significant = np.abs(d) >= p.plate_min_g
        groups = len(set(self._group[lo : hi + 1][significant].tolist())) or 1
        unexplained = groups * (p.unexplained_logp - p.event_cost) - 1e-6 * (groups - 1)
        part = _Part(lo, hi, d, delta, False, unexplained)
        scored: list[tuple[float, str, int]] = []
        if cand.size:
            own = (self._pmask[cand, lo : hi + 1] * d).sum(axis=1)
            share = np.clip(own / delta, 0.0, 1.0)
            plate_term = np.maximum(
                np.exp(-0.5 * ((1.0 - share) / p.plate_sigma) ** 2), p.plate_floor
            )
            good = self._weight_fit(
                mag, self._pw[cand], self._pspread[cand], self._pvis[cand], hi - lo + 1
            )
            good *= plate_term[:, None] * self._qprior[None, :]
            kq = self._kvec.size
            flat = good.ravel()
            order = np.argsort(-flat, kind="stable")[: max(p.max_candidates * 3, 10)]
            top = float(flat[order[0]])
            if top > 0:
                part.fit = top
                part.best = int(cand[order[0] // kq])
                part.score = max(part.score, math.log(top) - p.event_cost)
                scored = [
                    (float(flat[o]), self._pid[int(cand[o // kq])], int(o % kq) + 1)
                    for o in order
                    if flat[o] > 0
                ]
        if upward_catalogue and delta > 0 and self._cat_w.size:
            good = self._weight_fit(mag, self._cat_w, self._cat_spread, None, hi - lo + 1)
            good *= p.foreign_prior * self._qprior[None, :]
            kq = self._kvec.size
            flat = good.ravel()
            order = np.argsort(-flat, kind="stable")[: max(p.max_candidates * 3, 10)]
            top = float(flat[order[0]])
            if top > part.fit:
                part.fit = top
                part.score = max(part.score, math.log(top) - p.event_cost)
            have = {(pid, k) for _, pid, k in scored}
            scored += [
                (float(flat[o]), self._cat_id[int(o // kq)], int(o % kq) + 1)
                for o in order
                if flat[o] > 0 and (self._cat_id[int(o // kq)], int(o % kq) + 1) not in have
            ]
        scored.sort(key=lambda c: (-c[0], c[1], c[2]))
        part.candidates = scored
        return part

    def _weight_fit(
        self, mag: float, w: FloatArray, spread: FloatArray, vis: FloatArray | None, n_plates: int
    ) -> FloatArray:
        """Fit (0..1) of a change of ``mag`` grams to k = 1..max units of each product."""
        p = self.params
        units = w[:, None] * self._kvec[None, :]
        v = np.ones_like(units) if vis is None else vis[:, None]
        expected = units * v
        var = (
            (p.weight_rel_sigma * units) ** 2
            + self._kvec[None, :] * spread[:, None] ** 2
            + (p.meas_sigma_g**2) * n_plates
            + (p.hidden_rel_sigma * units * (1.0 - v)) ** 2
        )
        return np.exp(-0.5 * (mag - expected) ** 2 / var)

    def _match_carried(self, part: _Part, t_now: float, stable_for: int) -> bool:
        """Does this increase weigh what a shopper reaching into this shelf is carrying?

        The hint comes from outside (the carts of visits with a hand at this shelf, see
        `carried_weights`): an item taken elsewhere and left here is then reported after
        `put_confirm_samples` instead of `put_hold_samples`.
        """
        p = self.params
        if self.carried_weights is None or stable_for < p.carried_confirm_samples:
            return False
        tol = max(p.put_match_abs_g, p.put_match_rel * part.delta)
        plates = [self.plate_ids[i] for i in range(part.lo, part.hi + 1)]
        return any(abs(part.delta - w) <= tol for w in self.carried_weights(t_now, plates))

    def _match_put(self, part: _Part) -> bool:
        """Does this increase return units of a recent removal from the same plates?"""
        p = self.params
        best: tuple[float, int, int] | None = None
        tol = max(p.put_match_abs_g, p.put_match_rel * part.delta)
        for n, mem in enumerate(self._memory):
            if mem.hi < part.lo - 1 or mem.lo > part.hi + 1:
                continue
            for units in range(1, mem.remaining + 1):
                err = abs(part.delta - units * mem.unit_g)
                if err <= tol and (best is None or err < best[0]):
                    best = (err, n, units)
        if best is None:
            return False
        self._memory[best[1]].remaining -= best[2]
        return True

    def _emit(self, part: _Part, t_now: float) -> ShelfEvent:
        p = self.params
        lo = part.lo
        d = part.d
        sig = np.abs(d) >= p.plate_min_g
        if not sig.any():
            sig = np.abs(d) == np.abs(d).max()
        idx = np.flatnonzero(sig) + lo
        t_start = float(self._t0[idx].min()) if part.t_span[0] is None else part.t_span[0]
        t_end = float(self._t_stable[idx].max()) if part.t_span[1] is None else part.t_span[1]
        # Likelihoods normalised over all explanations, the unlikely ones dropped, and the kept
        # ones normalised again so that they sum to 1.
        total = sum(c[0] for c in part.candidates)
        kept = [
            c
            for c in part.candidates[: p.max_candidates]
            if total > 0 and c[0] / total >= p.min_likelihood
        ]
        norm = sum(c[0] for c in kept)
        cands = [ProductCandidate(pid, self._names[pid], k, g / norm) for g, pid, k in kept]
        delta = float(d.sum())
        if delta < 0:
            qty = cands[0].quantity if cands else 1
            self._memory.append(_Removal(self._k, part.lo, part.hi, -delta / qty, qty))
        base_id = f"se-{self.gondola}.{self.shelf}-{round(t_start * 1000)}"
        seen = self._used_ids.get(base_id, 0)
        self._used_ids[base_id] = seen + 1
        if len(self._used_ids) > 256:
            for key in list(self._used_ids)[:128]:
                del self._used_ids[key]
        event_id = base_id if seen == 0 else f"{base_id}-{seen + 1}"
        self.stats["events"] += 1
        return ShelfEvent(
            event_id=event_id,
            gondola=self.gondola,
            shelf=self.shelf,
            t_start=t_start,
            t_end=max(t_end, t_start),
            t_detected=t_now,
            plates=tuple(self.plate_ids[i] for i in idx),
            plate_deltas=tuple(float(d[i - lo]) for i in idx),
            delta_grams=delta,
            candidates=tuple(cands),
            fit=part.fit,
        )

    # --- faults -----------------------------------------------------------------------------

    def _set_faults(
        self, kind: str, mask: npt.NDArray[np.bool_], active: bool, t: float, why: str
    ) -> list[ShelfEvent | PlateFault]:
        flags = self._fault[kind]
        change = mask & (flags != active)
        if not change.any():
            return []
        out: list[ShelfEvent | PlateFault] = []
        for i in np.flatnonzero(change).tolist():
            flags[i] = active
            plate = self.plate_ids[i]
            ref = f"{self.gondola}.{self.shelf}.{plate}"
            message = (
                f"plate {ref}: {why}" if active else f"plate {ref}: {kind} fault cleared: {why}"
            )
            out.append(PlateFault(t, self.gondola, self.shelf, plate, kind, active, message))
            self.stats["faults"] += 1
        was = self._faulted
        self._faulted = np.logical_or.reduce([self._fault[k] for k in _FAULT_KINDS])
        newly = self._faulted & ~was
        if newly.any():
            # A faulted plate takes no part in events: drop it from any disturbance.
            for i in np.flatnonzero(newly & self._inv).tolist():
                self._inv[i] = False
                self._settled[i] = False
                self._stable_from[i] = -1
            self._n_inv = int(self._inv.sum())
            self._holds = [h for h in self._holds if self._inv[h.lo : h.hi + 1].all()]
        recovered = was & ~self._faulted
        if recovered.any():
            # Back: re-zero at the current reading (the next quiet blocks refine it).
            self._ev = np.where(recovered, self._ev + (self._last_row - self._b), self._ev)
            self._b = np.where(recovered, self._last_row, self._b)
            self._pin_q = np.where(recovered, self._b - self._ev, self._pin_q)
            self._pin_until[recovered] = self._k + self.params.drift_settle_samples
        self._update_thresholds()
        # A product whose plates are partly faulted shows only part of its weight.
        if self._pid:
            live = (~self._faulted)[None, :] & self._pmask
            self._pvis = live.sum(axis=1) / np.maximum(self._pnplates, 1.0)
        self._partition_cache.clear()
        return out

    def _update_thresholds(self) -> None:
        p = self.params
        thr = np.maximum(p.dev_abs_g, p.dev_sigma * self._sigma)
        self._thr = np.where(self._faulted, np.inf, thr)

    def _status_faults(self, t: float) -> list[ShelfEvent | PlateFault]:
        status = self._board_status
        if status is None or len(status) != self.n_plates:
            return []
        codes = np.array(status, np.int64)
        out: list[ShelfEvent | PlateFault] = []
        dead = (codes != int(PlateStatus.OK)) & (codes != int(PlateStatus.SATURATED))
        out += self._set_faults(
            "dead", dead, True, t, "the board reports the channel disconnected or not converting"
        )
        out += self._set_faults("dead", ~dead, False, t, "the board reports it OK")
        self._board_saturated = codes == int(PlateStatus.SATURATED)
        if self._board_saturated.any() or self._fault["saturated"].any():
            self._sat_watch = True
        return out

    def _saturation(self, x: FloatArray, t: float) -> list[ShelfEvent | PlateFault]:
        p = self.params
        at_rail = ((x >= self._rail_hi) | (x <= self._rail_lo)).any(axis=0)
        self._sat_run = np.where(at_rail, self._sat_run + x.shape[0], 0)
        sat = (self._sat_run >= p.saturated_samples) | self._board_saturated
        out = self._set_faults(
            "saturated", sat, True, t, "readings at the ADC rail (overload or wiring fault)"
        )
        out += self._set_faults("saturated", ~sat & ~at_rail, False, t, "readings back in range")
        self._sat_watch = bool(at_rail.any() or self._fault["saturated"].any())
        return out

    def _check(self, t: float) -> list[ShelfEvent | PlateFault]:
        """Every ``check_blocks`` blocks: noise estimate, stuck channels, noisy recovery."""
        p = self.params
        blocks, period = self._blocks, self._period_samples
        self._blocks = self._period_samples = 0
        self._account_moves()
        out: list[ShelfEvent | PlateFault] = []
        rate = self._moved_blocks / blocks
        self._moved_blocks[:] = 0
        run = self._k - self._moved_k  # samples since the value last changed
        moving = run < period  # changed value during this period
        # How lively the channel was while it last moved: a channel that moved in most blocks
        # and then stops is frozen after a few seconds; one that only ever moves now and then
        # (very quiet, coarse ADC step) gets the long limit. (The rate before this period
        # counts too: the period in which a channel freezes has few moving blocks.)
        self._live_rate = np.where(moving, np.maximum(self._move_rate, rate), self._live_rate)
        self._move_rate += 0.3 * (rate - self._move_rate)
        limit = np.where(
            self._live_rate >= p.live_move_rate, p.stuck_samples, p.stuck_quiet_samples
        )
        stuck = run >= limit
        if _some(stuck) or _some(self._fault["stuck"]):
            out += self._set_faults(
                "stuck",
                stuck,
                True,
                t,
                "readings bit-identical for too long (a frozen or dead channel)",
            )
            out += self._set_faults("stuck", moving, False, t, "readings moving again")
        samples = min(self._filled, self._pos, 60)
        if samples >= 30:
            recent = self._buf[self._pos - samples : self._pos]
            # Noise: std over the last second, for plates quiet all that time and not faulted.
            quiet = self._k - self._last_inv_k >= samples
            if self._n_inv:
                quiet &= ~self._inv
            quiet &= ~self._faulted
            if _some(quiet):
                S = self._smooth
                csum = np.cumsum(recent, axis=0)
                std = _std0((csum[S:] - csum[:-S]) * (1.0 / S))
                a = 1.0 / p.noise_tau_checks
                self._sigma = np.where(quiet, self._sigma + a * (std - self._sigma), self._sigma)
                self._update_thresholds()
            if _some(self._fault["noisy"]):
                # A noisy plate recovers when its last second is within the settling band.
                w = recent[-p.settle_samples * 2 :]
                span = w.max(axis=0) - w.min(axis=0)
                calm = self._fault["noisy"] & (
                    span <= np.maximum(p.band_abs_g, p.band_sigma * self._sigma)
                )
                if calm.any():
                    self._last_row = recent[-1]
                    out += self._set_faults("noisy", calm, False, t, "readings settled")
        held = self._pin_until > 0
        if _some(held):
            # Re-zeroing plates: the baseline's catching up is not drift (see _release).
            self._ev = np.where(held, self._b - self._pin_q, self._ev)
            self._pin_until[held & (self._k >= self._pin_until)] = 0
        if self._k >= self._drift_next_k:
            self._drift_next_k = self._k + p.drift_step_samples
            out += self._drift(t)
        return out

    def _drift(self, t: float) -> list[ShelfEvent | PlateFault]:
        """Has a plate's quiet baseline walked away within the drift window?"""
        p = self.params
        q = self._b - self._ev  # quiet movement only (events and re-zeroing excluded)
        # A faulted plate's readings say nothing about its zero: its window restarts.
        faulted = self._faulted
        if self._dq_n and faulted.any():
            self._dq[: self._dq_n, faulted] = q[faulted]
        if self._dq_n:
            hist = self._dq[: self._dq_n]
            moved = np.abs(q[None, :] - hist).max(axis=0)
        else:
            moved = np.zeros(self.n_plates)
        self._dq[self._dq_pos] = q
        self._dq_pos = (self._dq_pos + 1) % self._dq.shape[0]
        self._dq_n = min(self._dq_n + 1, self._dq.shape[0])
        out: list[ShelfEvent | PlateFault] = []
        flags = self._fault["drifting"]
        raise_ = (moved > self._drift_thr) & ~faulted & ~flags
        for i in np.flatnonzero(raise_).tolist():
            mask = np.zeros(self.n_plates, bool)
            mask[i] = True
            out += self._set_faults(
                "drifting",
                mask,
                True,
                t,
                f"quiet baseline moved {moved[i]:.1f} g within {p.drift_window_samples} samples "
                f"with no shelf event explaining it (limit {self._drift_thr[i]:.1f} g)",
            )
        calm = flags & (moved <= p.drift_clear_frac * self._drift_thr)
        if calm.any():
            out += self._set_faults(
                "drifting", calm, False, t, "quiet baseline steady within the drift window"
            )
        return out
