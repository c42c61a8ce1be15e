"""The simulator's load-cell model (sim/loadcell.py) and its comparison with real readings.

The statistical tests compare the model with the real noise-only recording in
../shared/data/loadcell-noise-aifi (read in place, never copied into the repo) using the bands
stated in docs/sensor-noise.md (held in `sim.noise_report.compare`); they are skipped when that
folder is absent.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from shared_data import AIFI_DIR

from sim.loadcell import (
    COUNTS_MAX,
    COUNTS_MIN,
    REAL_QUANTISATION_G,
    PlateNoiseParams,
    ShelfSensorModel,
    grams_to_counts,
    sample_plate_params,
)
from sim.noise_report import (
    DEFAULT_SEED,
    compare,
    fit_plates,
    frozen_mask,
    identical_fraction,
    load_real,
    per_second_std,
    simulate_like_real,
    stuck_mask,
    table_markdown,
)

DATA = AIFI_DIR
needs_real = pytest.mark.skipif(
    not DATA.is_dir(), reason=f"real load-cell recording not available at {DATA}"
)
RATE = 60.0


def _run(
    model: ShelfSensorModel, true: np.ndarray, disturbance: np.ndarray, chunk: int
) -> np.ndarray:
    parts = [
        model.observe(true[i : i + chunk], disturbance[i : i + chunk])
        for i in range(0, true.shape[0], chunk)
    ]
    return np.vstack(parts)


def _model(seed: int, n_plates: int = 12, **kw: object) -> ShelfSensorModel:
    params = sample_plate_params(np.random.default_rng([seed, 1]), n_plates, **kw)  # type: ignore[arg-type]
    return ShelfSensorModel(params, RATE, np.random.default_rng([seed, 2]))


def _quiet_inputs(n: int, plates: int = 12) -> tuple[np.ndarray, np.ndarray]:
    true = np.tile(np.linspace(100.0, 1200.0, plates), (n, 1))
    disturbance = np.zeros(n)
    disturbance[n // 3 : n // 3 + 120] = 1.0
    return true, disturbance


# --- determinism and state ----------------------------------------------------------------------


def test_same_seed_same_output() -> None:
    true, dist = _quiet_inputs(600)
    a = _run(_model(3), true, dist, 60)
    b = _run(_model(3), true, dist, 60)
    assert np.array_equal(a, b)
    c = _run(_model(4), true, dist, 60)
    assert not np.array_equal(a, c)


def test_same_chunk_sequence_same_output_with_uneven_chunks() -> None:
    true, dist = _quiet_inputs(700)
    a = _run(_model(5), true, dist, 42)
    b = _run(_model(5), true, dist, 42)
    assert np.array_equal(a, b)
    assert a.shape == (700, 12) and a.dtype == np.float64


def test_sample_plate_params_deterministic_and_valid() -> None:
    a = sample_plate_params(np.random.default_rng(9), 12)
    b = sample_plate_params(np.random.default_rng(9), 12)
    assert a == b
    assert len(a) == 12
    for p in a:
        assert isinstance(p, PlateNoiseParams)
        assert p.white_std_g > 0 and p.vibration_gain_g > 0 and p.wander_std_g > 0
        assert p.wander_tau_s > 0 and 0 <= p.hold_phase_s < p.hold_period_s
        assert p.quantisation_g == REAL_QUANTISATION_G
        assert not p.stuck
    # Plates sharing an ADC (pairs) share the hold schedule, as in the real store.
    for i in range(0, 12, 2):
        assert (a[i].hold_every, a[i].hold_period_s, a[i].hold_phase_s) == (
            a[i + 1].hold_every,
            a[i + 1].hold_period_s,
            a[i + 1].hold_phase_s,
        )
    assert all(
        p.stuck for p in sample_plate_params(np.random.default_rng(1), 5, stuck_probability=1.0)
    )


def test_noise_varies_between_shelves() -> None:
    gains = [
        np.median([p.vibration_gain_g for p in sample_plate_params(np.random.default_rng(s), 12)])
        for s in range(40)
    ]
    assert max(gains) / min(gains) > 1.8


def test_chunked_signal_is_continuous() -> None:
    # Drift alone (everything else off): chunk by chunk it must be one straight ramp.
    params = [
        PlateNoiseParams(
            white_std_g=0.0,
            vibration_gain_g=0.0,
            wander_std_g=0.0,
            wander_tau_s=1.0,
            drift_g_per_h=3600.0 * (i + 1),  # (i + 1) g per second
            hold_every=0,
            hold_period_s=5.0,
            hold_duration_s=1.0,
            hold_phase_s=0.0,
            quantisation_g=0.0,
        )
        for i in range(3)
    ]
    model = ShelfSensorModel(params, RATE, np.random.default_rng(0))
    n = 300
    out = _run(model, np.full((n, 3), 50.0), np.zeros(n), 37)
    expected = 50.0 + np.arange(1, n + 1)[:, None] / RATE * np.array([1.0, 2.0, 3.0])
    assert np.allclose(out, expected, atol=1e-9)


def test_chunking_does_not_change_statistics() -> None:
    # Not identical (the draws are ordered differently), but the same process.
    n = 60 * 120
    true, dist = _quiet_inputs(n)
    whole = _model(11).observe(true, dist)
    chunked = _run(_model(11), true, dist, 60)
    ratio = np.median(per_second_std(chunked)) / np.median(per_second_std(whole))
    assert 0.85 < ratio < 1.15


def test_quiet_and_disturbed_levels() -> None:
    n = 60 * 60
    true = np.full((n, 12), 300.0)
    quiet = _model(2).observe(true, np.zeros(n))
    busy = _model(2).observe(true, np.ones(n))
    q, b = np.median(per_second_std(quiet)), np.median(per_second_std(busy))
    # Real shelf: about 0.5 g quiet, 1.5-4.5 g std while a neighbouring shelf is handled.
    assert 0.3 < q < 1.0
    assert 2.0 < b / q < 8.0


def test_readings_are_quantised() -> None:
    true, dist = _quiet_inputs(600)
    out = _run(_model(1), true + 0.1234, dist, 60)
    steps = out / REAL_QUANTISATION_G
    assert np.allclose(steps, np.rint(steps), atol=1e-6)


def test_hold_repeats_on_both_plates_of_an_adc_pair() -> None:
    params = [
        replace(p, hold_every=3, hold_period_s=2.0, hold_duration_s=1.0, hold_phase_s=0.0)
        for p in sample_plate_params(np.random.default_rng(0), 2)
    ]
    model = ShelfSensorModel(params, RATE, np.random.default_rng(1))
    out = _run(model, np.full((600, 2), 400.0), np.ones(600), 60)
    same = np.diff(out, axis=0) == 0
    # Every third sample in the first second of every 2 s is held: on both plates at once.
    k = np.arange(1, 600)
    held = ((k / RATE) % 2.0 < 1.0) & (k % 3 == 0)
    assert same[held].all()
    assert same[~held, 0].mean() < 0.3


def test_input_shapes_are_checked() -> None:
    model = _model(0, n_plates=4)
    with pytest.raises(ValueError):
        model.observe(np.zeros((10, 3)), np.zeros(10))
    with pytest.raises(ValueError):
        model.observe(np.zeros((10, 4)), np.zeros(9))
    assert model.observe(np.zeros((0, 4)), np.zeros(0)).shape == (0, 4)


# --- stuck plates -------------------------------------------------------------------------------


def test_stuck_plates_constant_forever() -> None:
    params = sample_plate_params(np.random.default_rng(4), 6)
    params = [replace(p, stuck=i in (1, 4)) for i, p in enumerate(params)]
    model = ShelfSensorModel(params, RATE, np.random.default_rng(5))
    n = 1200
    true = np.full((n, 6), 250.0)
    true[600:, :] += 500.0  # someone puts a heavy item on every plate: a dead channel ignores it
    dist = np.ones(n)
    out = _run(model, true, dist, 60)
    assert list(np.flatnonzero(stuck_mask(out))) == [1, 4]
    assert np.all(out[:, 1] == out[0, 1]) and np.all(out[:, 4] == out[0, 4])
    assert not np.any(stuck_mask(out[:, [0, 2, 3, 5]]))


# --- grams to counts -----------------------------------------------------------------------------


def test_grams_to_counts_inverts_calibration_within_half_a_count() -> None:
    rng = np.random.default_rng(0)
    grams = rng.uniform(-2000.0, 25000.0, size=(500, 8))
    offsets = rng.integers(-150_000, 150_000, size=8).astype(np.float64)
    spans = rng.uniform(0.0035, 0.0045, size=8)
    counts = grams_to_counts(grams, offsets, spans)
    assert counts.dtype == np.int32 and counts.shape == grams.shape
    back = (counts - offsets) * spans
    assert np.all(np.abs(back - grams) <= 0.5 * spans + 1e-9)


def test_grams_to_counts_clips_to_24_bit() -> None:
    offsets = np.array([0.0, 1000.0])
    spans = np.array([0.004, 0.004])
    grams = np.array([[1e9, -1e9], [-1e9, 1e9]])
    counts = grams_to_counts(grams, offsets, spans)
    assert counts.tolist() == [[COUNTS_MAX, COUNTS_MIN], [COUNTS_MIN, COUNTS_MAX]]
    assert COUNTS_MAX == 2**23 - 1 and COUNTS_MIN == -(2**23)


# --- against the real recording -----------------------------------------------------------------


@pytest.fixture(scope="module")
def real() -> np.ndarray:
    return load_real(DATA)[1]


@needs_real
def test_real_data_facts(real: np.ndarray) -> None:
    # The facts the model is built on (docs/sensor-noise.md): if these fail, the data changed.
    assert real.shape == (2016, 12)
    assert list(np.flatnonzero(stuck_mask(real)) + 1) == [10, 12]
    assert list(np.flatnonzero(frozen_mask(real)) + 1) == [10, 11, 12]
    live = real[:, ~frozen_mask(real)]
    steps = live / REAL_QUANTISATION_G
    assert np.allclose(steps, np.rint(steps), atol=2e-3)
    frac = identical_fraction(live)
    assert np.all((frac > 0.10) & (frac < 0.20))


@needs_real
def test_model_matches_real_statistics(real: np.ndarray) -> None:
    sim = simulate_like_real(real.shape[0], real.shape[1], seed=DEFAULT_SEED)
    rows = compare(real, sim)
    failed = [r for r in rows if not r.ok]
    assert not failed, "outside band:\n" + table_markdown(failed)


@needs_real
def test_model_distribution_centred_on_real(real: np.ndarray) -> None:
    # Over many simulated shelves the median of each statistic must be within its band: the model
    # is centred on the real shelf, not just lucky with one seed.
    tables = [compare(real, simulate_like_real(real.shape[0], 12, seed=s)) for s in range(12)]
    for k, row in enumerate(tables[0]):
        sim_median = float(np.median([t[k].sim for t in tables]))
        assert row.band.ok(row.real, sim_median), (
            f"{row.name}: real {row.real:.3g}, median over seeds {sim_median:.3g}, {row.band.label}"
        )


@needs_real
def test_fitted_real_parameters_inside_sampled_ranges(real: np.ndarray) -> None:
    fits = fit_plates(real, list(range(1, 13)))
    assert len(fits) == 9  # plates 10-12 are frozen
    gains = sorted(f.vibration_gain_g for f in fits)
    sampled = sorted(
        p.vibration_gain_g
        for s in range(50)
        for p in sample_plate_params(np.random.default_rng(s), 12)
    )
    lo, hi = np.quantile(sampled, [0.02, 0.98])
    assert lo <= gains[0] and gains[-1] <= hi
    holds = [f.hold_fraction for f in fits]
    assert 0.03 < np.median(holds) < 0.09
