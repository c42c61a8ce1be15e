"""Load-cell sensor model: what a shelf's plates report for a given true load.

Fitted to real noise-only readings from a working autonomous store (12 plates of one shelf,
60 Hz, AiFi Nanostore 2020; see docs/sensor-noise.md for the analysis and the comparison).
What the real readings showed, and how each part is modelled:

- **White floor** (`white_std_g`, about 0.3 g): broadband electronic noise, independent per plate.
- **Vibration** (`vibration_gain_g`): most of the noise is the shelf shaking. It is shared by
  all plates of a shelf in time (one envelope per shelf) and partly in waveform (coherence about
  0.6), concentrated around a structural resonance near 23 Hz, and its level fluctuates second
  by second even when nobody is near (ambient knocks: footsteps, carts, a door). When someone
  handles the same or a neighbouring shelf (the `disturbance` input), knocks become frequent and
  strong: the real bursts reach 6 to 19 g. A plate's gain says how strongly the shelf's shaking
  couples into it (the real plates differed by a factor of 3).
- **Wander** (`wander_std_g`, `wander_tau_s`): a slow random wander (an Ornstein-Uhlenbeck
  process) of a few tenths of a gram over seconds.
- **Drift** (`drift_g_per_h`): a linear zero drift over hours (temperature, creep). The 34 s
  recording cannot measure it; the range is a prior, see the doc.
- **Sample-and-hold** (`hold_*`): the real ADCs serve two plates each and now and then, for a
  second or so every few seconds, fail to deliver a fresh conversion for every third read, so
  the previous value is repeated on both plates of the pair.
- **Quantisation** (`quantisation_g`, 0.241 g in the real store): readings are multiples of it.
- **Stuck channel** (`stuck`): a dead or frozen channel repeats one constant value forever.

The observed value is `quantise(hold(true + drift + wander + white + vibration))`.

All stochastic processes are first-order linear recursions (real or complex AR(1)); they are
evaluated a whole chunk at a time with a closed form (powers and a cumulative sum) rather than a
Python loop, so a (60, 12) chunk costs well under 100 microseconds. The model is stateful, so
consecutive chunks form one continuous signal, and deterministic for a given generator and the
same sequence of chunk lengths.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

# Quantisation step of the real store's readings: every reading in the recording is an integer
# multiple of 0.2410 g (to 1e-4 g). A property of the board hardware, so the same for all plates.
REAL_QUANTISATION_G = 0.2410

# Signed 24-bit ADC range (the shelf protocol carries 24-bit counts).
COUNTS_MIN = -(1 << 23)
COUNTS_MAX = (1 << 23) - 1

# --- shelf-level vibration constants (fitted, see docs/sensor-noise.md) ---------------------
# Fraction of vibration variance that is common to all plates of a shelf (the rest is
# per-plate): the real diff correlation between plates is 0.1-0.7 when quiet, 0.2-0.9 in bursts
# (mean 0.47 over the recording).
VIBRATION_COHERENCE = 0.6
# Fraction of vibration variance in the structural resonance (the rest is broadband). In the
# real quiet spectrum the 19-27 Hz band holds 40-60 % of all variance.
RESONANT_FRACTION = 0.85
# Resonance frequency range (Hz) and decay time (s): the real autocorrelation (lags 1-8) fits a
# damped oscillation at 22.5-23 Hz decaying in 0.07 s (quiet) to 0.14 s (bursts).
RESONANCE_HZ_RANGE = (22.5, 24.0)
RESONANCE_TAU_S = 0.15
# Envelope: a floor, plus knocks that decay exponentially. Units: 1.0 is the mean envelope while
# someone handles an adjacent shelf (disturbance = 1), the level of the two real bursts.
ENVELOPE_FLOOR = 0.08
KNOCK_TAU_S = 0.4
AMBIENT_KNOCK_HZ = 1.5  # knocks per second with nobody near
AMBIENT_KNOCK_MEAN = 0.25  # mean knock size, ambient (envelope units)
HANDLING_KNOCK_HZ = 5.0  # knocks per second while the disturbance input is > 0
KNOCK_LOG_SIGMA = 0.6  # lognormal spread of knock sizes: a few big thumps among many taps
# A knock shakes plates unequally (where on the gondola it lands): a per-plate lognormal factor.
KNOCK_PLATE_LOG_SIGMA = 0.3
# The wander's random drive is drawn once per WANDER_STEP samples (see ShelfSensorModel).
WANDER_STEP = 6
# Mean knock size per unit of disturbance, chosen so the mean envelope is about 1.0 while
# disturbance == 1: floor + ambient + rate * tau * size = 1.
HANDLING_KNOCK_MEAN = (
    1.0 - ENVELOPE_FLOOR - AMBIENT_KNOCK_HZ * KNOCK_TAU_S * AMBIENT_KNOCK_MEAN
) / (HANDLING_KNOCK_HZ * KNOCK_TAU_S)


@dataclass(frozen=True)
class PlateNoiseParams:
    """Noise behaviour of one plate's load cell (all masses in grams).

    The observed reading is `quantise(hold(true + drift + wander + white + vibration))`.
    """

    white_std_g: float
    """Std of the broadband, per-plate electronic noise floor."""
    vibration_gain_g: float
    """Vibration std (g) at envelope 1.0, i.e. while someone handles an adjacent shelf. With
    nobody near the envelope averages about 0.23, so the quiet vibration is about a quarter."""
    wander_std_g: float
    """Stationary std of the slow wander (Ornstein-Uhlenbeck process)."""
    wander_tau_s: float
    """Correlation time of the wander."""
    drift_g_per_h: float
    """Linear zero drift."""
    hold_every: int
    """During a hold episode, every `hold_every`-th sample repeats the previous one; 0 = never."""
    hold_period_s: float
    """Hold episodes recur with this period."""
    hold_duration_s: float
    """Length of one hold episode."""
    hold_phase_s: float
    """Where in its period the schedule starts (0 <= phase < period)."""
    quantisation_g: float = REAL_QUANTISATION_G
    """Readings are integer multiples of this (0 = no quantisation)."""
    resonance_hz: float = 23.0
    """Frequency of the shelf resonance that carries most of the vibration."""
    stuck: bool = False
    """A dead or frozen channel: reports one constant value forever."""

    @property
    def hold_fraction(self) -> float:
        """Long-run fraction of samples that repeat the previous one because of holds."""
        if self.hold_every <= 0 or self.hold_period_s <= 0:
            return 0.0
        return min(1.0, self.hold_duration_s / self.hold_period_s) / self.hold_every


def sample_plate_params(
    rng: np.random.Generator,
    n_plates: int,
    *,
    stuck_probability: float = 0.0,
    channels_per_adc: int = 2,
) -> list[PlateNoiseParams]:
    """Draw realistic, varied noise parameters for the `n_plates` plates of one shelf.

    Ranges are centred on the values fitted to the real shelf (docs/sensor-noise.md). Noise varies
    a lot between shelves (competition FAQ), so a shelf-level scale factor (lognormal, about x0.6
    to x1.6 for 90 % of shelves) multiplies the vibration; within a shelf plates differ by their
    coupling (the real shelf: a factor of 3). Plates sharing an ADC (`channels_per_adc`
    consecutive plates) share the hold schedule, as in the real data.
    """
    if n_plates < 0:
        raise ValueError("n_plates must be >= 0")
    if not 0.0 <= stuck_probability <= 1.0:
        raise ValueError("stuck_probability must be in [0, 1]")
    channels_per_adc = max(1, channels_per_adc)
    shelf_scale = float(rng.lognormal(0.0, 0.3))
    resonance_hz = float(rng.uniform(*RESONANCE_HZ_RANGE))
    # Real per-plate vibration gains (fitted as the RMS over the bursts): 1.6 to 4.8 g, median
    # 2.3 g. The RMS of the knocky envelope is about 1.15x its mean, hence median 2.0 here.
    log_gain = rng.normal(math.log(2.0), 0.35, size=n_plates)
    white = rng.uniform(0.22, 0.32, size=n_plates)
    wander_std = rng.lognormal(math.log(0.14), 0.5, size=n_plates)
    wander_tau = rng.uniform(0.4, 2.0, size=n_plates)
    drift = rng.normal(0.0, 1.5, size=n_plates)
    stuck = rng.random(n_plates) < stuck_probability
    n_adc = -(-n_plates // channels_per_adc)
    # Real pairs: every 3rd sample held, in episodes of 0.5-1.3 s recurring every 3-6.5 s.
    has_hold = rng.random(n_adc) < 0.9
    hold_period = rng.uniform(3.0, 7.0, size=n_adc)
    hold_duration = rng.uniform(0.5, 1.2, size=n_adc)
    hold_phase = rng.uniform(0.0, 1.0, size=n_adc) * hold_period
    params = []
    for i in range(n_plates):
        a = i // channels_per_adc
        params.append(
            PlateNoiseParams(
                white_std_g=float(white[i]),
                vibration_gain_g=float(math.exp(log_gain[i]) * shelf_scale),
                wander_std_g=float(wander_std[i]),
                wander_tau_s=float(wander_tau[i]),
                drift_g_per_h=float(drift[i]),
                hold_every=3 if has_hold[a] else 0,
                hold_period_s=float(hold_period[a]),
                hold_duration_s=float(hold_duration[a]),
                hold_phase_s=float(hold_phase[a]),
                quantisation_g=REAL_QUANTISATION_G,
                resonance_hz=resonance_hz,
                stuck=bool(stuck[i]),
            )
        )
    return params


class _Ar1:
    """y[k] = pole * y[k-1] + drive[k] over a chunk, vectorised (no Python loop per sample).

    Closed form: y[k] = pole^(k+1) * (y[-1] + sum_{j<=k} drive[j] * pole^-(j+1)). The negative
    powers grow like |pole|^-n, so long chunks are split into blocks short enough never to
    overflow; precision is unaffected because each partial sum is dominated by its newest terms.
    Powers are cached per block length: the simulator calls with the same chunk length again
    and again, and the complex exponentials would otherwise be a large part of the cost.
    """

    def __init__(self, log_pole: np.ndarray):
        self.log_pole = np.asarray(log_pole)
        decay = float(np.max(-np.real(self.log_pole))) if self.log_pole.size else 0.0
        self.block = 1 << 30 if decay <= 0 else max(1, int(300.0 / decay))
        self._cache: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def _powers(self, m: int) -> tuple[np.ndarray, np.ndarray]:
        hit = self._cache.get(m)
        if hit is None:
            powers = np.exp(np.arange(1, m + 1)[:, None] * self.log_pole)
            hit = (powers, 1.0 / powers)
            if len(self._cache) < 8:
                self._cache[m] = hit
        return hit

    def run(self, state: np.ndarray, drive: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Filter `drive` (n, m) starting from `state` (m,); returns (y, new state)."""
        n = drive.shape[0]
        if n <= self.block:
            powers, inverse = self._powers(n)
            acc = np.cumsum(drive * inverse, axis=0)
            acc += state
            y = powers * acc
            # A copy: callers modify y in place, which must not leak into the carried state.
            return y, y[-1].copy()
        parts = []
        for start in range(0, n, self.block):
            seg, state = self.run(state, drive[start : start + self.block])
            parts.append(seg)
        return np.concatenate(parts), state


class ShelfSensorModel:
    """Stateful noise model for the plates of one shelf (one load-cell board).

    Call `observe` on consecutive chunks; drift, wander, vibration, hold and stuck state carry
    over. Deterministic for a given generator and chunk sequence.
    """

    def __init__(self, params: list[PlateNoiseParams], rate_hz: float, rng: np.random.Generator):
        if rate_hz <= 0:
            raise ValueError("rate_hz must be > 0")
        self.params = list(params)
        self.rate_hz = float(rate_hz)
        self._rng = rng
        p = len(self.params)
        self.n_plates = p
        dt = 1.0 / self.rate_hz

        def col(name: str) -> np.ndarray:
            return np.array([getattr(x, name) for x in self.params], dtype=np.float64)

        self._white_var = col("white_std_g") ** 2
        self._gain = col("vibration_gain_g")
        # Own broadband vibration is white like the floor, so the two are drawn as one Gaussian
        # with the combined (time-varying) std; this saves a third of the random draws.
        self._broad_own_gain2 = (
            (1.0 - VIBRATION_COHERENCE) * (1.0 - RESONANT_FRACTION) * self._gain**2
        )
        self._res_own_gain = math.sqrt((1.0 - VIBRATION_COHERENCE) * RESONANT_FRACTION) * self._gain
        self._common_gain = math.sqrt(VIBRATION_COHERENCE) * self._gain
        self._w_res = math.sqrt(RESONANT_FRACTION)
        self._w_broad = math.sqrt(1.0 - RESONANT_FRACTION)
        self._drift_per_sample = col("drift_g_per_h") / 3600.0 * dt
        quant = col("quantisation_g")
        self._quantise = bool((quant > 0).all())
        self._quant = np.where(quant > 0, quant, 1.0)
        self._quant_mask = quant > 0
        self._stuck = np.array([x.stuck for x in self.params], dtype=bool)
        self._any_stuck = bool(self._stuck.any())
        self._stuck_value: np.ndarray | None = None

        # Wander: real OU with pole exp(-dt/tau). Its drive is held constant over
        # WANDER_STEP samples (the wander has no power at those frequencies), which cuts the
        # random draws; the drive std is scaled so the stationary std is still wander_std_g.
        tau = np.maximum(col("wander_tau_s"), dt)
        log_pole = -dt / tau
        pole = np.exp(log_pole)
        # With a unit drive held for L samples, the values at block ends follow
        # Y' = pole^L Y + S_L, S_k = (1 - pole^k) / (1 - pole), stationary variance
        # V = S_L^2 / (1 - pole^2L); k samples into a block the variance is pole^2k V + S_k^2.
        # Scale the drive so the variance averaged over the block is wander_std_g^2.
        k = np.arange(1, WANDER_STEP + 1)[:, None]
        s_k = (1.0 - pole**k) / (1.0 - pole)
        v_end = s_k[-1] ** 2 / (1.0 - pole ** (2 * WANDER_STEP))
        v_mean = np.mean(pole ** (2 * k) * v_end + s_k**2, axis=0)
        self._wander_drive = col("wander_std_g") / np.sqrt(v_mean)
        wander0 = rng.standard_normal(p) * col("wander_std_g")

        # Vibration resonance: Re(z) with z a complex AR(1) whose pole sits at the resonance
        # frequency; driven by real white noise it is a resonant ARMA(2,1) process, normalised
        # here to unit variance. Columns 0..p-1 per plate, column p the shelf-common part.
        res_hz = np.append(col("resonance_hz"), col("resonance_hz").mean() if p else 23.0)
        res_logpole = -dt / RESONANCE_TAU_S + 2j * np.pi * res_hz * dt
        self._res_filter = _Ar1(res_logpole)
        pole_r = np.exp(res_logpole)
        var_re = 0.5 * (1.0 / (1.0 - np.abs(pole_r) ** 2) + np.real(1.0 / (1.0 - pole_r**2)))
        self._res_norm = 1.0 / np.sqrt(var_re)
        # Start in (approximately) the stationary state so the first samples are not too quiet.
        self._res = (rng.standard_normal(p + 1) + 1j * rng.standard_normal(p + 1)) * np.sqrt(
            0.5 / (1.0 - np.abs(pole_r) ** 2)
        )
        # Knock envelope (per plate, decaying with KNOCK_TAU_S) and wander share one filter.
        self._slow_filter = _Ar1(np.concatenate([np.full(p, -dt / KNOCK_TAU_S), log_pole]))
        env0 = np.full(p, AMBIENT_KNOCK_HZ * KNOCK_TAU_S * AMBIENT_KNOCK_MEAN)
        self._slow = np.concatenate([env0, wander0])
        # Lognormal knock sizes with the configured mean: mu = ln(mean) - sigma^2/2.
        self._knock_mu_shift = -0.5 * KNOCK_LOG_SIGMA**2
        self._plate_mu_shift = -0.5 * KNOCK_PLATE_LOG_SIGMA**2

        # Hold schedule per plate.
        every = np.array([x.hold_every for x in self.params], dtype=np.int64)
        period = col("hold_period_s")
        duration = col("hold_duration_s")
        self._hold_on = (every > 0) & (period > 0) & (duration > 0)
        self._hold_every = np.where(every > 0, every, 1)
        self._hold_period = np.where(period > 0, period, 1.0)
        self._hold_duration = duration
        self._hold_phase = col("hold_phase_s")
        self._any_hold = bool(self._hold_on.any())
        self._holds_isolated = bool(np.all(self._hold_every[self._hold_on] >= 2))

        self._n = 0  # samples produced so far (drift, hold schedule)
        self._last: np.ndarray | None = None  # last output (a hold repeats it)

    def observe(self, true_grams: np.ndarray, disturbance: np.ndarray) -> np.ndarray:
        """Observed grams (n_samples, n_plates) for the true loads and the shelf's vibration level.

        `true_grams` (n_samples, n_plates): true load per plate. `disturbance` (n_samples,) >= 0:
        0 = quiet, 1 = someone handling an adjacent shelf now (levels add up).
        """
        x = np.asarray(true_grams, dtype=np.float64)
        d = np.asarray(disturbance, dtype=np.float64)
        p = self.n_plates
        if x.ndim != 2 or x.shape[1] != p:
            raise ValueError(f"true_grams must have shape (n_samples, {p}), got {x.shape}")
        n = x.shape[0]
        if d.shape != (n,):
            raise ValueError(f"disturbance must have shape ({n},), got {d.shape}")
        if n == 0:
            return np.empty((0, p))
        rng = self._rng
        n_w = -(-n // WANDER_STEP)
        # One draw for the per-sample Gaussian inputs; columns: white floor + own broadband
        # vibration (p) | resonance drive, own (p) + common (1) | common broadband (1).
        z = rng.standard_normal((n, 2 * p + 2))
        drive_w = rng.standard_normal((n_w, p))

        # Shelf envelope: floor + exponentially decaying knocks (ambient, and frequent strong
        # ones while someone handles a shelf nearby).
        handling = d > 0
        rate = np.where(handling, AMBIENT_KNOCK_HZ + HANDLING_KNOCK_HZ, AMBIENT_KNOCK_HZ)
        hits = np.flatnonzero(rng.random(n) < rate / self.rate_hz)
        # The envelope (knocks decaying) and the wander (OU) are both real AR(1) processes, run
        # as one filter over 2p columns: [envelope drive | wander drive].
        slow = np.empty((n, 2 * p))
        slow[:, :p] = 0.0
        slow[:, p:] = np.repeat(drive_w * self._wander_drive, WANDER_STEP, axis=0)[:n]
        if hits.size:
            mean = np.where(handling[hits], HANDLING_KNOCK_MEAN * d[hits], AMBIENT_KNOCK_MEAN)
            size = mean * np.exp(
                self._knock_mu_shift + KNOCK_LOG_SIGMA * rng.standard_normal(hits.size)
            )
            share = np.exp(
                self._plate_mu_shift + KNOCK_PLATE_LOG_SIGMA * rng.standard_normal((hits.size, p))
            )
            slow[hits, :p] = size[:, None] * share
        slow, self._slow = self._slow_filter.run(self._slow, slow)
        env = slow[:, :p]
        env += ENVELOPE_FLOOR
        wander = slow[:, p:]

        # Vibration: resonant own + resonant/broadband common, scaled by envelope and gain.
        res, self._res = self._res_filter.run(self._res, z[:, p : 2 * p + 1])
        res = res.real * self._res_norm  # (n, p+1), unit variance
        common = self._w_res * res[:, p:] + self._w_broad * z[:, 2 * p + 1 :]  # (n, 1)
        vib = res[:, :p] * self._res_own_gain
        vib += common * self._common_gain
        vib *= env
        # White floor and own broadband vibration: one Gaussian with the combined std.
        white = z[:, :p] * np.sqrt(self._white_var + (env * env) * self._broad_own_gain2)

        # Linear drift.
        drift = (self._n + np.arange(1, n + 1))[:, None] * self._drift_per_sample

        y = x + drift
        y += wander
        y += white
        y += vib
        if self._any_hold:
            y = self._apply_hold(y)
        if self._quantise:
            y = np.round(y / self._quant) * self._quant
        else:
            y = np.where(self._quant_mask, np.round(y / self._quant) * self._quant, y)
        if self._any_stuck:
            if self._stuck_value is None:
                self._stuck_value = y[0].copy()
            y[:, self._stuck] = self._stuck_value[self._stuck]
        self._last = y[-1].copy()
        self._n += n
        return y

    def _apply_hold(self, y: np.ndarray) -> np.ndarray:
        """Repeat the previous sample where the plate's ADC delivered no fresh conversion."""
        n = y.shape[0]
        k = self._n + np.arange(n)[:, None]  # global sample index
        t = k / self.rate_hz + self._hold_phase
        held = self._hold_on & (np.mod(t, self._hold_period) < self._hold_duration)
        held &= k % self._hold_every == 0
        if not held.any():
            return y
        prev = self._last if self._last is not None else y[0]
        if self._holds_isolated:
            # Held samples are never adjacent (hold_every >= 2), so each repeats a fresh one.
            shifted = np.empty_like(y)
            shifted[0] = prev
            shifted[1:] = y[:-1]
            np.copyto(y, shifted, where=held)
            return y
        # General case (hold_every == 1: runs of holds): forward fill from the latest fresh one.
        ext = np.vstack([prev[None, :], y])
        idx = np.broadcast_to(np.arange(n + 1)[:, None], ext.shape).copy()
        idx[1:][held] = 0
        np.maximum.accumulate(idx, axis=0, out=idx)
        return np.take_along_axis(ext, idx, axis=0)[1:]


def grams_to_counts(
    grams: np.ndarray, offset_counts: np.ndarray, grams_per_count: np.ndarray
) -> np.ndarray:
    """Raw signed 24-bit ADC counts for `grams`: the inverse of the edge's calibration.

    The edge computes `grams = (counts - offset_counts) * grams_per_count`, so
    `counts = round(grams / grams_per_count + offset_counts)`, clipped to [-2^23, 2^23 - 1]
    (a saturated ADC reads its rail). Arrays broadcast (e.g. (n, plates) with (plates,)).
    """
    g = np.asarray(grams, dtype=np.float64)
    off = np.asarray(offset_counts, dtype=np.float64)
    span = np.asarray(grams_per_count, dtype=np.float64)
    counts = np.rint(g / span + off)
    return np.clip(counts, COUNTS_MIN, COUNTS_MAX).astype(np.int32)
