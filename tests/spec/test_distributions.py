from __future__ import annotations

import math

import numpy as np
import pytest
from pydantic import TypeAdapter, ValidationError

from simperf.spec.distributions import Constant, Distribution

ADAPTER = TypeAdapter(Distribution)


def parse(value: object):
    return ADAPTER.validate_python(value)


@pytest.mark.parametrize(
    ("spec", "mean", "variance"),
    [
        ({"dist": "constant", "value": "4ms"}, 0.004, 0.0),
        ("4ms", 0.004, 0.0),
        (0.004, 0.004, 0.0),
        ({"dist": "exponential", "mean": "10ms"}, 0.01, 1e-4),
        ({"dist": "uniform", "low": 0.0, "high": 0.02}, 0.01, 0.02**2 / 12),
        ({"dist": "gamma", "mean": 0.01, "cv": 0.5}, 0.01, (0.005) ** 2),
        ({"dist": "lognormal", "mean": 0.01, "cv": 2.0}, 0.01, (0.02) ** 2),
        ({"dist": "empirical", "values": [0.001, 0.003]}, 0.002, 1e-6),
        ({"dist": "scipy", "name": "weibull_min", "params": {"c": 1.0, "scale": 0.01}}, 0.01, 1e-4),
    ],
)
def test_sample_mean_and_variance_match_analytic(
    spec: object, mean: float, variance: float
) -> None:
    dist = parse(spec)
    assert dist.mean == pytest.approx(mean, rel=1e-9)
    assert dist.variance == pytest.approx(variance, rel=1e-9, abs=1e-15)
    n = 400_000
    draws = dist.sample_batch(np.random.default_rng(1), n)
    assert draws.shape == (n,)
    assert (draws >= 0).all()
    # 5 standard errors of the sample mean: fails only if the sampler is wrong
    assert abs(draws.mean() - mean) <= 5 * math.sqrt(variance / n) + 1e-15


def test_lognormal_by_median_and_p99_hits_both_quantiles() -> None:
    dist = parse({"dist": "lognormal", "median": "3ms", "p99": "40ms"})
    draws = dist.sample_batch(np.random.default_rng(2), 1_000_000)
    assert np.median(draws) == pytest.approx(0.003, rel=0.01)
    assert np.quantile(draws, 0.99) == pytest.approx(0.040, rel=0.02)


def test_scalar_shorthand_is_a_constant() -> None:
    assert isinstance(parse("5ms"), Constant)


@pytest.mark.parametrize(
    "spec",
    [
        {"dist": "exponential", "mean": -1},
        {"dist": "exponential"},
        {"dist": "poisson_cloud", "mean": 1},
        {"dist": "lognormal", "median": 0.01},
        {"dist": "lognormal", "median": 0.01, "p99": 0.005},
        {"dist": "lognormal", "median": 0.01, "p99": 0.05, "mean": 0.01, "cv": 1},
        {"dist": "uniform", "low": 2, "high": 1},
        {"dist": "empirical", "values": []},
        {"dist": "scipy", "name": "not_a_distribution"},
        {"dist": "scipy", "name": "cauchy"},
        {"dist": "exponential", "mean": 1, "shape": 3},
        "-5ms",
        "5 parsecs",
    ],
)
def test_invalid_distributions_are_refused(spec: object) -> None:
    with pytest.raises(ValidationError):
        parse(spec)


@pytest.mark.parametrize(
    ("spec", "shown"),
    [
        ({"dist": "gamma", "mean": "10ms", "cv": 0.5}, "Gamma(mean=10ms, cv=0.5)"),
        ({"dist": "lognormal", "median": "3ms", "p99": "40ms"}, "Lognormal(median=3ms, p99=40ms)"),
        ({"dist": "constant", "value": "250us"}, "Constant(value=250µs)"),
        ({"dist": "empirical", "values": ["1ms", "2s"]}, "Empirical(values=[1ms, 2s])"),
    ],
)
def test_a_distribution_prints_its_parameters_with_units(spec: dict, shown: str) -> None:
    assert str(TypeAdapter(Distribution).validate_python(spec)) == shown


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        # shape 1/cv^2 underflows or overflows: numpy could not draw from it
        ({"dist": "gamma", "mean": "1ms", "cv": 1e-200}, "too small to draw"),
        ({"dist": "gamma", "mean": "1ms", "cv": 1e-160}, "too small to draw"),
        # exp(sigma^2) overflows
        ({"dist": "lognormal", "median": 1e-300, "p99": 1e7}, "no finite mean and variance"),
        ({"dist": "empirical", "values": [1, 2], "weights": [1, float("nan")]}, "finite"),
        ({"dist": "empirical", "values": [1, 2], "weights": [1e308, 1e308]}, "finite sum"),
    ],
)
def test_parameters_without_finite_moments_are_refused(spec: object, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        parse(spec)


def test_smallest_drawable_gamma_cv_is_accepted() -> None:
    # the boundary: a cv whose 1/cv^2 is still finite draws, with the mean asked for
    gamma = parse({"dist": "gamma", "mean": 2.0, "cv": 1e-150})
    draws = gamma.sample_batch(np.random.default_rng(1), 8)
    assert np.all(np.isfinite(draws)) and np.allclose(draws, 2.0)
