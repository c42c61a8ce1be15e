"""Compare the load-cell noise model with real store readings: statistics, table and figure.

    python -m sim.noise_report [--real DIR] [--out-dir docs/img] [--seed N]

Loads the real noise-only recording (12 plates of one shelf, 60 Hz; see
../shared/data/loadcell-noise-aifi/README.md), simulates the same 12 plates for the same
duration with `sim.loadcell` (parameters drawn by `sample_plate_params` with a fixed seed, two
stuck plates like the real shelf, two spells of handling on a neighbouring shelf like the two
vibration bursts in the recording), prints a markdown comparison table and the parameters fitted
to the real plates, and saves `loadcell-noise-real-vs-sim.png`.

The statistics are pure functions over arrays of shape (n_samples, n_plates) so tests can use
them; `compare()` holds the tolerance bands that docs/sensor-noise.md states.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from sim.loadcell import REAL_QUANTISATION_G, ShelfSensorModel, sample_plate_params

REPO_ROOT = Path(__file__).resolve().parents[1]
REAL_DIR = Path(__file__).resolve().parents[2] / "shared" / "data" / "loadcell-noise-aifi"
RATE_HZ = 60.0
DEFAULT_SEED = 7
# The real shelf's frozen channels are plates 10 and 12 (1-based).
REAL_STUCK_PLATES = (10, 12)
# Handling on a neighbouring shelf in the simulated recording: (start s, end s, level). The real
# recording has two vibration bursts, around 7.9-10 s and 19.7-22 s; we do not know what caused
# them, so the comparison assumes "someone handled an adjacent shelf" (level 1) at those times.
REPORT_DISTURBANCE = ((7.8, 9.8, 1.0), (19.6, 21.6, 1.0))

# --- loading ----------------------------------------------------------------------------------


def load_real(directory: Path = REAL_DIR) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """Read `gondola_*_plate_<P>.csv` files: (times (n,), grams (n, plates), plate numbers).

    Plates are sorted by number; all files share the same timestamps in this data set, and rows
    are truncated to the shortest file otherwise.
    """
    files = sorted(
        directory.glob("gondola_*_plate_*.csv"), key=lambda f: int(f.stem.rsplit("_", 1)[1])
    )
    if not files:
        raise FileNotFoundError(f"no gondola_*_plate_*.csv files in {directory}")
    arrays = [np.loadtxt(f, delimiter=",", ndmin=2) for f in files]
    n = min(len(a) for a in arrays)
    times = arrays[0][:n, 0]
    grams = np.stack([a[:n, 1] for a in arrays], axis=1)
    return times, grams, [int(f.stem.rsplit("_", 1)[1]) for f in files]


# --- statistics (pure functions over (n_samples, n_plates) arrays) ---------------------------


def stuck_mask(x: np.ndarray) -> np.ndarray:
    """Plates whose readings never change (dead or frozen channels)."""
    return np.all(x == x[:1], axis=0)


def frozen_mask(x: np.ndarray, threshold: float = 0.9) -> np.ndarray:
    """Plates that (almost) never change: stuck, or updating only a few times a minute.

    Real plate 11 repeats its previous reading 99.8 % of the time (5 changes in 34 s): not noise
    but a degraded channel, so noise statistics leave such plates out.
    """
    return (np.mean(np.diff(x, axis=0) == 0, axis=0) > threshold) | stuck_mask(x)


def per_second_std(x: np.ndarray, rate_hz: float = RATE_HZ) -> np.ndarray:
    """Std within consecutive 1 s windows: (n_seconds, n_plates)."""
    w = round(rate_hz)
    k = x.shape[0] // w
    return x[: k * w].reshape(k, w, x.shape[1]).std(axis=1)


def abs_diff_quantiles(x: np.ndarray, qs: tuple[float, ...]) -> np.ndarray:
    """Quantiles of |sample-to-sample difference| per plate: (len(qs), n_plates)."""
    return np.quantile(np.abs(np.diff(x, axis=0)), qs, axis=0)


def identical_fraction(x: np.ndarray) -> np.ndarray:
    """Fraction of samples identical to the previous one, per plate."""
    return np.mean(np.diff(x, axis=0) == 0, axis=0)


def excess_identical_fraction(x: np.ndarray, step: float = REAL_QUANTISATION_G) -> np.ndarray:
    """P(diff == 0) minus the mean of P(diff == +step) and P(diff == -step), per plate.

    With quantisation alone the difference distribution is smooth across zero, so the excess at
    exactly zero estimates the fraction of samples held (repeated by a slow ADC).
    """
    k = np.rint(np.diff(x, axis=0) / step)
    return np.mean(k == 0, axis=0) - 0.5 * (np.mean(k == 1, axis=0) + np.mean(k == -1, axis=0))


def quantisation_step(x: np.ndarray) -> float:
    """Smallest step between readings, from the differences of all non-frozen plates (g)."""
    d = np.abs(np.diff(x, axis=0))
    d = d[d > 1e-9]
    if d.size == 0:
        return 0.0
    smallest = float(np.min(d))
    # Refine with the mean of all differences within 2 % of the smallest (float32 storage noise).
    return float(np.mean(d[d < smallest * 1.02]))


def high_pass(x: np.ndarray, rate_hz: float = RATE_HZ, window_s: float = 0.5) -> np.ndarray:
    """Remove a centred moving mean (edges trimmed): the fast part of the noise."""
    w = max(3, round(window_s * rate_hz) | 1)
    c = np.cumsum(np.vstack([np.zeros((1, x.shape[1])), x]), axis=0)
    mean = (c[w:] - c[:-w]) / w
    h = w // 2
    return x[h : h + mean.shape[0]] - mean


def autocorrelation(x: np.ndarray, lags: tuple[int, ...], rate_hz: float = RATE_HZ) -> np.ndarray:
    """Autocorrelation of the high-passed signal at `lags` (samples): (len(lags), n_plates)."""
    h = high_pass(x, rate_hz)
    h = h - h.mean(axis=0)
    var = np.sum(h * h, axis=0)
    var = np.where(var > 0, var, 1.0)
    return np.array([np.sum(h[:-lag] * h[lag:], axis=0) / var for lag in lags])


def wander_std(x: np.ndarray, rate_hz: float = RATE_HZ) -> np.ndarray:
    """Std of 1 s means after removing a straight line: low-frequency wander per plate (g)."""
    w = round(rate_hz)
    k = x.shape[0] // w
    means = x[: k * w].reshape(k, w, x.shape[1]).mean(axis=1)
    t = np.arange(k)
    coef = np.polyfit(t, means, 1)
    return (means - (np.outer(t, coef[0]) + coef[1])).std(axis=0)


def drift_g_per_h(x: np.ndarray, rate_hz: float = RATE_HZ) -> np.ndarray:
    """Least-squares slope per plate in g/h (on a short recording dominated by wander)."""
    t = np.arange(x.shape[0]) / rate_hz / 3600.0
    return np.polyfit(t, x, 1)[0]


def max_excursion(x: np.ndarray) -> np.ndarray:
    """Largest |reading - median| per plate (g)."""
    return np.max(np.abs(x - np.median(x, axis=0)), axis=0)


def loud_second_coincidence(x: np.ndarray, rate_hz: float = RATE_HZ, factor: float = 2.0) -> float:
    """Are vibration excursions shared across plates in time?

    A plate-second is loud when its 1 s std exceeds `factor` times the plate's median. Returns
    the mean, over loud plate-seconds, of the fraction of the other plates loud in that second
    (1.0: every burst shakes the whole shelf; about the loud rate: independent per plate).
    """
    s = per_second_std(x, rate_hz)
    loud = s > factor * np.median(s, axis=0)
    if x.shape[1] < 2 or not loud.any():
        return float("nan")
    others = (loud.sum(axis=1, keepdims=True) - loud) / (x.shape[1] - 1)
    return float(others[loud].mean())


def diff_correlation(x: np.ndarray) -> float:
    """Mean pairwise correlation of sample-to-sample differences between plates."""
    d = np.diff(x, axis=0)
    if d.shape[1] < 2:
        return float("nan")
    c = np.corrcoef(d.T)
    return float(c[np.triu_indices_from(c, 1)].mean())


def envelope_correlation(x: np.ndarray, rate_hz: float = RATE_HZ) -> float:
    """Mean pairwise correlation of log 1 s std between plates: a shared vibration envelope."""
    s = np.log(per_second_std(x, rate_hz) + 1e-6)
    if s.shape[1] < 2:
        return float("nan")
    c = np.corrcoef(s.T)
    return float(c[np.triu_indices_from(c, 1)].mean())


def pair_hold_coincidence(x: np.ndarray) -> float:
    """P(both plates of an ADC pair repeat at once) / (P(first repeats) * P(second repeats)).

    Plates (1, 2), (3, 4), ... share an ADC in the real store; their holds coincide. Pairs with a
    stuck plate are skipped. Independent repeats give about 1.
    """
    z = np.diff(x, axis=0) == 0
    stuck = stuck_mask(x)
    ratios = []
    for a in range(0, x.shape[1] - 1, 2):
        if stuck[a] or stuck[a + 1]:
            continue
        pa, pb = z[:, a].mean(), z[:, a + 1].mean()
        if pa > 0 and pb > 0:
            ratios.append(np.mean(z[:, a] & z[:, a + 1]) / (pa * pb))
    return float(np.mean(ratios)) if ratios else float("nan")


# --- fitting the model's parameters to real plates -------------------------------------------


@dataclass(frozen=True)
class PlateFit:
    """Model parameters estimated from one real plate (see docs/sensor-noise.md)."""

    plate: int
    white_std_g: float
    vibration_gain_g: float
    ambient_vibration_g: float
    wander_std_g: float
    wander_tau_s: float
    hold_fraction: float


def fit_plates(
    x: np.ndarray,
    plates: list[int],
    rate_hz: float = RATE_HZ,
    burst_seconds: tuple[tuple[float, float], ...] = ((8.0, 10.0), (20.0, 22.0)),
) -> list[PlateFit]:
    """Estimate the model's per-plate parameters from noise-only readings.

    Per-second variance is modelled as floor + gain^2 * E(second), E the shelf's vibration
    envelope: the floor is a low quantile of the per-second variance; the vibration gain is the
    excess std in the burst seconds (envelope 1 by definition); the ambient vibration the median
    excess in the other seconds. Wander: std of 1 s means less the share the fast noise
    contributes; its time constant from the lag-0.5 s autocorrelation of 0.5 s means. Hold
    fraction: the excess of identical consecutive readings. Frozen plates are skipped.
    """
    fits = []
    s = per_second_std(x, rate_hz)
    sec = np.arange(s.shape[0]) + 0.5
    in_burst = np.zeros(s.shape[0], dtype=bool)
    for a, b in burst_seconds:
        in_burst |= (sec >= a) & (sec < b)
    frozen = frozen_mask(x)
    excess = excess_identical_fraction(x)
    half = round(rate_hz / 2)
    for i, plate in enumerate(plates):
        if frozen[i]:
            continue
        v = s[:, i] ** 2
        floor = float(np.quantile(v, 0.05))
        gain = math.sqrt(max(0.0, float(np.mean(v[in_burst])) - floor))
        ambient = math.sqrt(max(0.0, float(np.median(v[~in_burst])) - floor))
        fast_share = float(np.median(v)) / rate_hz
        wander = math.sqrt(
            max(0.0, float(wander_std(x[:, i : i + 1], rate_hz)[0]) ** 2 - fast_share)
        )
        k = x.shape[0] // half
        m = x[: k * half, i].reshape(k, half).mean(axis=1)
        m = m - m.mean()
        r = float(np.dot(m[:-1], m[1:]) / np.dot(m, m)) if np.dot(m, m) > 0 else 0.0
        tau = -0.5 / math.log(r) if 0.0 < r < 1.0 else float("nan")
        fits.append(
            PlateFit(
                plate=plate,
                white_std_g=math.sqrt(floor),
                vibration_gain_g=gain,
                ambient_vibration_g=ambient,
                wander_std_g=wander,
                wander_tau_s=tau,
                hold_fraction=float(excess[i]),
            )
        )
    return fits


# --- simulation like the real recording --------------------------------------------------------


def report_disturbance(n: int, rate_hz: float = RATE_HZ) -> np.ndarray:
    """The disturbance input used for the simulated recording (see REPORT_DISTURBANCE)."""
    t = np.arange(n) / rate_hz
    d = np.zeros(n)
    for a, b, level in REPORT_DISTURBANCE:
        d[(t >= a) & (t <= b)] += level
    return d


def simulate_like_real(
    n_samples: int,
    n_plates: int = 12,
    *,
    seed: int = DEFAULT_SEED,
    stuck_plates: tuple[int, ...] = REAL_STUCK_PLATES,
    rate_hz: float = RATE_HZ,
    chunk: int = 60,
    base_grams: np.ndarray | None = None,
) -> np.ndarray:
    """Simulate a noise-only recording of one shelf, chunk by chunk as the simulator does.

    `stuck_plates` are 1-based plate numbers forced stuck. `base_grams` (n_plates,) is the
    constant true load (default 500 g on every plate; only changes matter).
    """
    params = sample_plate_params(np.random.default_rng([seed, 1]), n_plates)
    params = [replace(p, stuck=(i + 1) in stuck_plates) for i, p in enumerate(params)]
    model = ShelfSensorModel(params, rate_hz, np.random.default_rng([seed, 2]))
    base = np.full(n_plates, 500.0) if base_grams is None else np.asarray(base_grams, float)
    disturbance = report_disturbance(n_samples, rate_hz)
    out = np.empty((n_samples, n_plates))
    for start in range(0, n_samples, chunk):
        stop = min(n_samples, start + chunk)
        true = np.broadcast_to(base, (stop - start, n_plates))
        out[start:stop] = model.observe(true, disturbance[start:stop])
    return out


# --- comparison --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """One line of the comparison table."""

    name: str
    real: float
    sim: float
    band: Band
    ok: bool
    real_range: str = ""
    sim_range: str = ""


@dataclass(frozen=True)
class Band:
    """A tolerance: simulated within a factor (`ratio`) or an absolute distance (`abs`) of real."""

    kind: str  # "ratio" or "abs"
    value: float

    @property
    def label(self) -> str:
        return f"x{self.value:g}" if self.kind == "ratio" else f"±{self.value:g}"

    def ok(self, real: float, sim: float) -> bool:
        if self.kind == "ratio":
            return real > 0 and sim > 0 and 1 / self.value <= sim / real <= self.value
        return abs(sim - real) <= self.value


def _ratio_band(factor: float) -> Band:
    return Band("ratio", factor)


def _abs_band(tol: float) -> Band:
    return Band("abs", tol)


def compare(real: np.ndarray, sim: np.ndarray, rate_hz: float = RATE_HZ) -> list[Row]:
    """Statistics of the real and simulated recordings side by side, with tolerance bands.

    Per-plate statistics are summarised by their median over the non-frozen plates (the plates of
    the two shelves are different plates, so only the distributions can agree); the range
    (min-max over plates) is shown for information.
    """
    live_r, live_s = ~frozen_mask(real), ~frozen_mask(sim)
    r, s = real[:, live_r], sim[:, live_s]
    rows: list[Row] = []

    def per_plate(
        name: str, f: Callable[[np.ndarray], np.ndarray], band: Band, fmt: str = ".2f"
    ) -> None:
        vr, vs = f(r), f(s)
        mr, ms = float(np.median(vr)), float(np.median(vs))
        rows.append(
            Row(
                name,
                mr,
                ms,
                band,
                band.ok(mr, ms),
                f"{np.min(vr):{fmt}}-{np.max(vr):{fmt}}",
                f"{np.min(vs):{fmt}}-{np.max(vs):{fmt}}",
            )
        )

    def scalar(name: str, vr: float, vs: float, band: Band) -> None:
        rows.append(Row(name, vr, vs, band, band.ok(vr, vs)))

    def pooled(name: str, f: Callable[[np.ndarray], float], band: Band) -> None:
        scalar(name, f(r), f(s), band)

    n_stuck = float(stuck_mask(real).sum()), float(stuck_mask(sim).sum())
    scalar("stuck plates (constant)", *n_stuck, _abs_band(0))
    n_frozen = float(frozen_mask(real).sum()), float(frozen_mask(sim).sum())
    scalar("frozen plates (>90 % repeats, incl. stuck)", *n_frozen, _abs_band(1))
    scalar("quantisation step g", quantisation_step(r), quantisation_step(s), _abs_band(0.005))
    pss = lambda a: np.median(per_second_std(a, rate_hz), axis=0)  # noqa: E731
    per_plate("median 1 s std g", pss, _ratio_band(2.0))
    pooled(
        "1 s std q10 g (all plate-seconds)",
        lambda a: np.quantile(per_second_std(a, rate_hz), 0.1),
        _ratio_band(2.0),
    )
    pooled(
        "1 s std q90 g (all plate-seconds)",
        lambda a: np.quantile(per_second_std(a, rate_hz), 0.9),
        _ratio_band(2.0),
    )
    pooled(
        "plate spread: max/min median 1 s std",
        lambda a: float(np.max(pss(a)) / np.min(pss(a))),
        _ratio_band(2.0),
    )
    for q, factor in ((0.5, 2.0), (0.9, 2.0), (0.99, 2.5), (0.999, 3.0)):
        pooled(
            f"abs diff q{q * 100:g} g (pooled)",
            lambda a, q=q: float(np.quantile(np.abs(np.diff(a, axis=0)), q)),
            _ratio_band(factor),
        )
    per_plate("identical consecutive fraction", identical_fraction, _abs_band(0.05), ".3f")
    per_plate("excess identical (hold) fraction", excess_identical_fraction, _abs_band(0.04), ".3f")
    pooled("ADC-pair hold coincidence ratio", pair_hold_coincidence, _ratio_band(2.0))
    per_plate(
        "autocorrelation lag 1", lambda a: autocorrelation(a, (1,), rate_hz)[0], _abs_band(0.2)
    )
    per_plate(
        "autocorrelation lag 3", lambda a: autocorrelation(a, (3,), rate_hz)[0], _abs_band(0.2)
    )
    per_plate("wander: std of 1 s means g", lambda a: wander_std(a, rate_hz), _ratio_band(2.5))
    per_plate("max excursion g", max_excursion, _ratio_band(2.5), ".1f")
    pooled("diff correlation between plates", diff_correlation, _abs_band(0.2))
    pooled(
        "1 s std envelope correlation", lambda a: envelope_correlation(a, rate_hz), _abs_band(0.2)
    )
    pooled(
        "loud-second coincidence", lambda a: loud_second_coincidence(a, rate_hz), _abs_band(0.25)
    )
    return rows


def table_markdown(rows: list[Row]) -> str:
    """The comparison as a markdown table."""
    lines = [
        "| statistic | real | sim | band | ok |",
        "|---|---|---|---|---|",
    ]
    for row in rows:
        real = f"{row.real:.3g}" + (f" ({row.real_range})" if row.real_range else "")
        sim = f"{row.sim:.3g}" + (f" ({row.sim_range})" if row.sim_range else "")
        lines.append(
            f"| {row.name} | {real} | {sim} | {row.band.label} | {'yes' if row.ok else 'NO'} |"
        )
    return "\n".join(lines)


def fits_markdown(fits: list[PlateFit]) -> str:
    """Fitted per-plate parameters as a markdown table."""
    lines = [
        "| plate | white floor g | vibration gain g | ambient vibration g | wander std g "
        "| wander tau s | hold fraction |",
        "|---|---|---|---|---|---|---|",
    ]
    for f in fits:
        tau = "-" if math.isnan(f.wander_tau_s) else f"{f.wander_tau_s:.2f}"
        lines.append(
            f"| {f.plate} | {f.white_std_g:.2f} | {f.vibration_gain_g:.2f} "
            f"| {f.ambient_vibration_g:.2f} | {f.wander_std_g:.2f} | {tau} "
            f"| {f.hold_fraction:.3f} |"
        )
    return "\n".join(lines)


# --- figure ------------------------------------------------------------------------------------


def save_figure(
    real: np.ndarray, sim: np.ndarray, plates: list[int], path: Path, rate_hz: float = RATE_HZ
) -> None:
    """Traces (mean removed) of a few plates, real vs simulated, and the two histograms."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    live_r = np.flatnonzero(~frozen_mask(real))
    live_s = np.flatnonzero(~frozen_mask(sim))
    # Show a quiet, a middling and the noisiest real plate; simulated plates in the same rank.
    order_r = live_r[np.argsort(np.median(per_second_std(real[:, live_r], rate_hz), axis=0))]
    order_s = live_s[np.argsort(np.median(per_second_std(sim[:, live_s], rate_hz), axis=0))]
    picks = [0, len(order_r) // 2, len(order_r) - 1]
    t = np.arange(real.shape[0]) / rate_hz
    ts = np.arange(sim.shape[0]) / rate_hz
    fig = plt.figure(figsize=(14, 11), constrained_layout=True)
    fig.suptitle(
        "Load-cell noise with nobody touching the shelf: real store (left) vs model (right)\n"
        "quietest, middle and noisiest plate of each shelf; median removed"
    )
    grid = fig.add_gridspec(4, 2)
    lim = 0.0
    axes = []
    for k, rank in enumerate(picks):
        ir = order_r[min(rank, len(order_r) - 1)]
        js = order_s[min(rank, len(order_s) - 1)]
        yr = real[:, ir] - np.median(real[:, ir])
        ys = sim[:, js] - np.median(sim[:, js])
        lim = max(lim, float(np.max(np.abs(yr))), float(np.max(np.abs(ys))))
        for c, (tt, y, label, color) in enumerate(
            (
                (t, yr, f"real plate {plates[ir]}", "tab:blue"),
                (ts, ys, f"simulated plate {js + 1}", "tab:orange"),
            )
        ):
            ax = fig.add_subplot(grid[k, c])
            ax.plot(tt, y, lw=0.5, color=color)
            ax.set_title(label, fontsize=9, loc="left")
            if c == 0:
                ax.set_ylabel("g")
            if k == len(picks) - 1:
                ax.set_xlabel("s")
            axes.append(ax)
    for ax in axes:
        ax.set_ylim(-lim * 1.05, lim * 1.05)

    r, s = real[:, live_r], sim[:, live_s]
    ax = fig.add_subplot(grid[3, 0])
    dr, ds = np.diff(r, axis=0).ravel(), np.diff(s, axis=0).ravel()
    # Bins two quantisation steps wide, centred on whole steps, so no bin gets more steps.
    edges = (np.arange(-62, 63, 2) + 0.5) * REAL_QUANTISATION_G
    ax.hist(dr, bins=edges, histtype="step", density=True, label="real", color="tab:blue")
    ax.hist(ds, bins=edges, histtype="step", density=True, label="sim", color="tab:orange")
    ax.set_yscale("log")
    ax.set_xlabel("sample-to-sample difference g (all non-frozen plates)")
    ax.legend(fontsize=8)
    ax = fig.add_subplot(grid[3, 1])
    sr, ss = per_second_std(r, rate_hz).ravel(), per_second_std(s, rate_hz).ravel()
    edges = np.geomspace(0.1, 10.0, 40)
    ax.hist(sr, bins=edges, histtype="step", density=True, label="real", color="tab:blue")
    ax.hist(ss, bins=edges, histtype="step", density=True, label="sim", color="tab:orange")
    ax.set_xscale("log")
    ax.set_xlabel("std over 1 s windows g (all non-frozen plates)")
    ax.legend(fontsize=8)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)


# --- command line ------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    """Print the comparison table and fitted parameters, save the figure."""
    ap = argparse.ArgumentParser(
        prog="python -m sim.noise_report", description=__doc__.split("\n")[0]
    )
    ap.add_argument(
        "--real", type=Path, default=REAL_DIR, help="folder with the real plate CSV files"
    )
    ap.add_argument(
        "--out-dir", type=Path, default=REPO_ROOT / "docs" / "img", help="where the figure goes"
    )
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED, help="seed of the simulated shelf")
    args = ap.parse_args(argv)
    if not args.real.is_dir():
        print(f"real data folder not found: {args.real}", file=sys.stderr)
        return 2
    _, real, plates = load_real(args.real)
    sim = simulate_like_real(real.shape[0], real.shape[1], seed=args.seed)
    rows = compare(real, sim)
    n, p = real.shape
    print(f"Real: {args.real} ({n} samples x {p} plates, {n / RATE_HZ:.1f} s)")
    print(f"Simulated: seed {args.seed}, plates {REAL_STUCK_PLATES} stuck,")
    print(f"disturbance (start s, end s, level) {REPORT_DISTURBANCE}\n")
    print(table_markdown(rows))
    print("\nParameters fitted to the real plates:\n")
    print(fits_markdown(fit_plates(real, plates)))
    out = args.out_dir / "loadcell-noise-real-vs-sim.png"
    save_figure(real, sim, plates, out)
    print(f"\nfigure: {out}")
    failed = [row.name for row in rows if not row.ok]
    if failed:
        print(f"outside band: {', '.join(failed)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
