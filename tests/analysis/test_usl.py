"""The USL closed forms and fit, against independent facts."""

from __future__ import annotations

import math

import numpy as np
import pytest

import simperf
from simperf.analysis import mmc, usl_mmc, usl_peak, usl_throughput


def test_linear_scaling_is_proportional_and_mmc_is_the_zero_case() -> None:
    assert usl_throughput(np.arange(1, 65), 50.0, 0, 0).tolist() == [50.0 * n for n in range(1, 65)]
    exact = mmc(300.0, 100.0, 4)
    usl = usl_mmc(300.0, 100.0, 4, 0.0, 0.0)
    assert usl.mean_sojourn == pytest.approx(exact.mean_sojourn, rel=1e-12)
    assert usl.mean_wait == pytest.approx(exact.mean_wait, rel=1e-12)


def test_contention_levels_off_at_rate_over_alpha_and_coherency_peaks_at_n_star() -> None:
    assert usl_throughput(1e9, 100.0, 0.1, 0.0) == pytest.approx(1000.0, rel=1e-6)
    alpha, beta = 0.05, 0.002
    peak = usl_peak(alpha, beta)
    grid = np.linspace(1, 100, 99_001)
    assert grid[np.argmax(usl_throughput(grid, 1.0, alpha, beta))] == pytest.approx(peak, abs=1e-3)


def test_usl_mmc_matches_a_brute_force_birth_death_chain() -> None:
    lam, mu, c, alpha, beta = 420.0, 100.0, 8, 0.03, 0.005
    states = 4000
    k = np.arange(1, states)
    m = np.minimum(k, c)
    death = mu * m / (1 + alpha * (m - 1) + beta * m * (m - 1))
    p = np.concatenate(([1.0], np.cumprod(lam / death)))
    p /= p.sum()
    result = usl_mmc(lam, mu, c, alpha, beta)
    assert result.mean_in_system == pytest.approx((np.arange(states) * p).sum(), rel=1e-9)
    assert result.utilization == pytest.approx(
        (np.minimum(np.arange(states), c) * p).sum() / c, rel=1e-9
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [((1, 1, 1, 1.5, 0), "alpha"), ((1, 1, 1, 0, -1), "beta"), ((300, 100, 2, 0.2, 0), "unstable")],
)
def test_bad_arguments_are_refused(args: tuple[float, ...], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        usl_mmc(*args)  # type: ignore[arg-type]


def test_fit_recovers_parameters_with_standard_errors_from_noisy_points() -> None:
    rng = np.random.default_rng(3)
    n = np.array([1, 2, 4, 8, 16, 32, 48, 64], dtype=float)
    truth = usl_throughput(n, 120.0, 0.04, 0.0008)
    fit = simperf.fit_usl(zip(n, truth * (1 + 0.01 * rng.standard_normal(len(n))), strict=True))
    assert fit.points == 8
    for value, se, true in [
        (fit.rate, fit.rate_se, 120.0),
        (fit.alpha, fit.alpha_se, 0.04),
        (fit.beta, fit.beta_se, 0.0008),
    ]:
        assert 0 < se < math.inf
        assert abs(value - true) <= 4 * se
    assert fit.peak == pytest.approx(usl_peak(fit.alpha, fit.beta))
    assert fit.scaling() == {"alpha": fit.alpha, "beta": fit.beta}


@pytest.mark.parametrize(
    ("points", "message"),
    [
        ([(1, 10), (2, 19)], "at least 3 points"),
        ([(1, 10), (2, 19), (2, 18)], "at least 3 distinct"),
        ([(0, 10), (2, 19), (4, 30)], "N must be >= 1"),
        ([(1, 10), (2, -1), (4, 30)], "positive"),
    ],
)
def test_fit_refuses_too_few_or_bad_points(points: list[tuple[float, float]], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        simperf.fit_usl(points)


@pytest.mark.parametrize("unit", [1e-300, 1e-6, 3600.0, 1e300])
def test_fit_does_not_depend_on_the_throughputs_unit(unit: float) -> None:
    # the same curve in requests per second, per hour, or at the float's ends: alpha and
    # beta are the curve's shape and must not move (1e-300 returned the optimiser's
    # start, alpha 0.01 and beta 1e-4; 1e300 failed)
    n = np.array([1, 2, 4, 8, 16, 32])
    truth = usl_throughput(n, 100.0, 0.05, 0.002)
    fit = simperf.fit_usl(zip(n, truth * unit / 100.0, strict=True))
    assert fit.alpha == pytest.approx(0.05, rel=1e-6)
    assert fit.beta == pytest.approx(0.002, rel=1e-6)
    assert fit.rate == pytest.approx(unit, rel=1e-6)
