"""Service-time families: the right one is chosen and its intervals hold the truth."""

from __future__ import annotations

import numpy as np
import pytest

from simperf.calibrate.families import fit_families, kaplan_meier_quantiles
from simperf.spec.distributions import Empirical, Gamma, Lognormal


def _sample(seed: int = 7) -> np.random.Generator:
    return np.random.default_rng(seed)


@pytest.mark.parametrize(
    ("draw", "family"),
    [
        (lambda r: r.exponential(0.005, 1000), "exponential"),
        (lambda r: r.gamma(4.0, 0.002, 1000), "gamma"),
        (lambda r: r.lognormal(-5.0, 0.8, 1000), "lognormal"),
        (lambda r: 0.003 + r.exponential(0.002, 1000), "shifted_exponential"),
        (lambda r: np.full(1000, 0.004), "constant"),
    ],
)
def test_family_is_chosen_by_aic(draw, family: str) -> None:
    """The generating family is chosen in at least 16 of 20 samples: a nested family with
    one more parameter wins by chance about 1 time in 20 (chi-square, 1 dof, above 4)."""
    chosen = [fit_families(draw(_sample(seed)))[0] for seed in range(20)]
    assert sum(f.family == family for f in chosen) >= 16, [f.family for f in chosen]


def test_fits_become_spec_distributions_with_the_fitted_moments() -> None:
    x = _sample().gamma(4.0, 0.002, 3000)
    fits = {f.family: f for f in fit_families(x, confidence=0.999)}
    gamma = Gamma.model_validate(fits["gamma"].steps()[0])
    lognormal = Lognormal.model_validate(fits["lognormal"].steps()[0])
    low, high = fits["gamma"].ci["mean"]
    assert low <= 0.008 <= high
    assert gamma.mean == pytest.approx(fits["gamma"].params["mean"], rel=1e-5)
    assert lognormal.cv == pytest.approx(fits["lognormal"].params["cv"], rel=1e-3)
    shifted = fits["shifted_exponential"].steps()
    assert [s["dist"] for s in shifted] == ["constant", "exponential"]


def test_a_sample_no_family_fits_is_resampled() -> None:
    """Bimodal (a fast path and a slow one): every family is rejected by KS, so the
    empirical quantiles go first, and keep the sample's mean and p99."""
    rng = _sample()
    x = np.concatenate([rng.gamma(20.0, 0.0001, 1500), rng.gamma(20.0, 0.001, 500)])
    fit = fit_families(x)[0]
    assert fit.family == "empirical"
    spec = Empirical.model_validate(fit.steps()[0])
    assert len(spec.values) == 500
    assert spec.mean == pytest.approx(x.mean(), rel=0.01)
    assert np.percentile(spec.values, 99) == pytest.approx(np.percentile(x, 99), rel=0.02)


def test_kaplan_meier_quantiles_are_scipys_and_unknown_past_the_last_step() -> None:
    """Censoring points spread among the values (waits before a timeout), ties rounded
    in: the same quantiles as scipy.stats.ecdf's estimate, NaN where it stops short."""
    from scipy import stats

    rng = np.random.default_rng(2)
    values = np.round(rng.exponential(1.0, 300), 2)
    points = np.round(rng.uniform(0.5, 2.0, 300), 2)
    x, c = values[values <= points], points[values > points]
    km = stats.ecdf(stats.CensoredData(uncensored=x, right=c))
    q = (np.arange(99) + 0.5) / 99
    found = kaplan_meier_quantiles(x, c, q)
    reached = q <= km.cdf.probabilities[-1]
    assert 0 < reached.sum() < q.size
    at = np.searchsorted(km.cdf.probabilities, q[reached])
    np.testing.assert_array_equal(found[reached], km.cdf.quantiles[at])
    assert np.isnan(found[~reached]).all()
