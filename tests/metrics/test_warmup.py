"""Warm-up detection: MSER, autocorrelation times and the combined detector."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.signal import lfilter

from simperf.metrics.warmup import (
    autocorrelation,
    detect_warmup,
    integrated_autocorrelation_time,
    mser,
    mser5,
)


def ar1(phi: float, n: int, rng: np.random.Generator, replications: int = 1) -> np.ndarray:
    """Stationary AR(1) series with unit innovations: tau = (1 + phi) / (1 - phi)."""
    noise = rng.normal(size=(replications, n))
    noise[:, 0] /= math.sqrt(1 - phi**2)  # start in the stationary distribution
    return lfilter([1.0], [1.0, -phi], noise, axis=1)


def mser_brute_force(x: np.ndarray, batch: int) -> int:
    k = x.size // batch
    z = x[: k * batch].reshape(k, batch).mean(axis=1)
    scores = [np.sum((z[d:] - z[d:].mean()) ** 2) / (k - d) ** 2 for d in range(k // 2 + 1)]
    return batch * int(np.argmin(scores))


def test_mser_matches_its_definition() -> None:
    rng = np.random.default_rng(4)
    for trial in range(20):
        n = int(rng.integers(30, 400))
        x = rng.normal(size=n) + 3 * np.exp(-np.arange(n) / rng.uniform(1, 40))
        for batch in (1, 5):
            assert mser(x, batch) == mser_brute_force(x, batch), (trial, batch)


def test_mser5_cuts_an_initial_transient() -> None:
    rng = np.random.default_rng(5)
    t = np.arange(5000)
    x = 10 * np.exp(-t / 100) + rng.normal(size=t.size)  # at noise level by t ~ 230
    cut = mser5(x)
    assert cut % 5 == 0
    assert 150 <= cut <= 800
    assert cut == mser(x, batch=5)


def test_mser5_cuts_little_from_a_stationary_series() -> None:
    rng = np.random.default_rng(6)
    assert mser5(rng.normal(size=5000)) <= 250
    assert mser5(np.full(1000, 3.0)) == 0
    assert mser5([1.0, 2.0, 3.0, 4.0, 5.0, 6.0]) == 0  # too short to judge
    with pytest.raises(ValueError):
        mser([1.0, 2.0], batch=0)


# --------------------------------------------------------------------------- autocorrelation


def test_autocorrelation_of_short_and_constant_series() -> None:
    rho = autocorrelation([1.0, 2.0, 1.0, 2.0])
    # biased estimator: lag k sums n - k products, all divided by n
    assert rho.tolist() == pytest.approx([1.0, -0.75, 0.5, -0.25])
    assert autocorrelation(np.full(5, 2.0)).tolist() == [1.0, 0.0, 0.0, 0.0, 0.0]


@pytest.mark.parametrize("phi", [0.0, 0.5, 0.9])
def test_integrated_autocorrelation_time_of_ar1(phi: float) -> None:
    rng = np.random.default_rng(int(phi * 10))
    series = ar1(phi, 4000, rng, replications=10)
    tau = integrated_autocorrelation_time(list(series))
    exact = (1 + phi) / (1 - phi)
    # Sokal's window estimate has relative sd ~ sqrt(2 (2M + 1) / n / R) with M ~ 5 tau,
    # at most 0.10 here; the estimated means bias it by -(2M + 1) / n, at most -5%, and the
    # truncation at M by rho^M, negligible
    assert tau == pytest.approx(exact, rel=0.3)
    one = integrated_autocorrelation_time(series[0])
    assert one == integrated_autocorrelation_time(list(series[:1]))
    assert math.isnan(integrated_autocorrelation_time([[1.0]]))


# --------------------------------------------------------------------------- detector


def test_detector_cuts_a_transient_that_stands_out() -> None:
    rng = np.random.default_rng(7)
    t = np.arange(2000)
    counts = np.full(t.size, 10)
    sums = counts * (1 + 5 * np.exp(-t / 50) + rng.normal(0, 0.3, t.size))
    cut = detect_warmup(sums, counts)
    assert cut.mser_significant
    assert cut.index == cut.mser_index
    assert 150 <= cut.index <= 400  # 5 e^(-t/50) falls to the noise (0.3) by t ~ 140
    assert 1 <= cut.relaxation < 2  # nearly independent noise after it (a faint tail)


def test_detector_cuts_one_relaxation_time_from_a_stationary_autocorrelated_run() -> None:
    # AR(1) with phi = 0.95: tau = 39 windows. MSER alone often cuts far more from such
    # a series; the significance test keeps it to the relaxation time.
    rng = np.random.default_rng(8)
    exact = 1.95 / 0.05
    cuts = []
    for series in ar1(0.95, 1000, rng, replications=20):
        cut = detect_warmup(10 + series, np.ones(series.size))
        cuts.append(cut)
        assert cut.index >= math.ceil(cut.relaxation)
    long_mser = sum(c.mser_index > 2 * exact for c in cuts)
    wrong = sum(c.index > 2 * exact for c in cuts)
    assert wrong <= 2 and wrong < max(long_mser, 1), (wrong, long_mser)
    # Over 40 replications of 2,000 (M ~ 5 tau = 195 lags summed): subtracting the means
    # biases the estimate by -(2M + 1) / n = -20%, and its relative sd is about
    # sqrt(2 (2M + 1) / (n R)) = 0.10, so 3.5 sd around the biased value is 0.35
    ensemble = detect_warmup(10 + ar1(0.95, 2000, rng, replications=40), np.ones((40, 2000)))
    assert exact / 2 <= ensemble.index <= 2 * exact
    expected = exact * (1 - (2 * 5 * exact + 1) / 2000)
    assert ensemble.relaxation == pytest.approx(expected, rel=0.35)


def test_detector_skips_empty_windows_and_judges_nothing_too_short() -> None:
    counts = np.array([0, 0, 5, 5, 0, 5] * 100)
    sums = counts * 1.0
    cut = detect_warmup(sums, counts)
    assert counts[cut.index] > 0  # the cut lands on a window with requests
    assert detect_warmup(np.ones(5), np.ones(5)).index == 0
    with pytest.raises(ValueError, match="shape"):
        detect_warmup(np.ones(20), np.ones(21))
