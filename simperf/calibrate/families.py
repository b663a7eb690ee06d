"""Service-time families fitted by maximum likelihood and chosen by AIC.

Each fit carries its parameters in the spec's own terms (``mean``, ``cv``; a shifted
exponential's ``shift``), a confidence interval for each, the log-likelihood, AIC and the
Kolmogorov-Smirnov distance to the data. The KS p-value is computed as if the parameters
were known, so it is optimistic (Lilliefors); it is a goodness-of-fit indication, the
choice itself is by AIC.

Right-censored values (a timed-out request's time, known only to exceed a point) enter
the likelihood by their survival terms (:func:`fit_censored`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import integrate, special, stats

# Below this coefficient of variation a sample is called deterministic: a gamma with
# cv 0.01 is indistinguishable from a constant in any latency percentile.
CONSTANT_CV = 0.01
AIC_EQUIVALENT = 2.0
# A best family whose KS p-value is below this is rejected: the component is resampled
# from EMPIRICAL_POINTS quantiles of its sample instead (a contended machine's service
# times are often no textbook family, and a wrong tail misplaces every percentile).
REJECT = 0.01
EMPIRICAL_POINTS = 500
_PARAMETERS = {
    "constant": 1,
    "exponential": 1,
    "gamma": 2,
    "lognormal": 2,
    "shifted_exponential": 2,
}


@dataclass(frozen=True)
class FamilyFit:
    """One family fitted to one sample.

    Attributes
    ----------
    family
        ``constant``, ``exponential``, ``gamma``, ``lognormal`` or ``shifted_exponential``.
    params
        Parameters in spec terms (seconds; ``cv`` dimensionless).
    ci
        ``name -> (low, high)`` confidence interval of each parameter.
    loglik, aic
        Log-likelihood at the fit and Akaike's criterion (lower is better).
    ks, ks_p
        Kolmogorov-Smirnov distance between the fit and the sample, and its p-value.
    n
        Sample size (complete values).
    censored
        Right-censored values fitted besides them (their survival terms).
    """

    family: str
    params: dict[str, float]
    ci: dict[str, tuple[float, float]]
    loglik: float
    aic: float
    ks: float
    ks_p: float
    n: int
    frozen: Any = field(repr=False, compare=False, default=None)
    values: tuple[float, ...] = field(repr=False, default=())
    censored: int = 0

    def steps(self) -> list[dict[str, Any]]:
        """The distribution(s) this fit becomes in a spec: a shifted exponential is a
        constant followed by an exponential."""
        p = self.params
        if self.family == "empirical":
            return [{"dist": "empirical", "values": [_time(v) for v in self.values]}]
        if self.family == "constant":
            return [{"dist": "constant", "value": _time(p["mean"])}]
        if self.family == "exponential":
            return [{"dist": "exponential", "mean": _time(p["mean"])}]
        if self.family in ("gamma", "lognormal"):
            return [{"dist": self.family, "mean": _time(p["mean"]), "cv": float(f"{p['cv']:.4g}")}]
        return [
            {"dist": "constant", "value": _time(p["shift"])},
            {"dist": "exponential", "mean": _time(p["mean"] - p["shift"])},
        ]

    def quantile(self, q: float | np.ndarray) -> np.ndarray:
        """Quantiles of the fitted distribution (for Q-Q figures)."""
        if self.frozen is None:
            return np.full_like(np.asarray(q, dtype=float), self.params["mean"])
        return np.asarray(self.frozen.ppf(q))


def _time(seconds: float) -> str:
    """A time with a unit, as a spec is written (bare numbers are seconds and warn)."""
    return f"{seconds * 1e3:.6g}ms"


def _ks(x: np.ndarray, dist: Any) -> tuple[float, float]:
    result = stats.kstest(x, dist.cdf)
    return float(result.statistic), float(result.pvalue)


def _fit(
    family: str,
    params: dict[str, float],
    ci: dict[str, tuple[float, float]],
    loglik: float,
    k: int,
    x: np.ndarray,
    dist: Any,
) -> FamilyFit:
    ks, ks_p = _ks(x, dist)
    return FamilyFit(family, params, ci, loglik, 2 * k - 2 * loglik, ks, ks_p, x.size, dist)


def fit_exponential(x: np.ndarray, confidence: float = 0.95) -> FamilyFit:
    """Exponential: the mean is the sample mean; its interval is exact (chi-square, 2n)."""
    n, mean = x.size, float(x.mean())
    a = 1 - confidence
    low = 2 * n * mean / stats.chi2.ppf(1 - a / 2, 2 * n)
    high = 2 * n * mean / stats.chi2.ppf(a / 2, 2 * n)
    dist = stats.expon(scale=mean)
    loglik = -n * math.log(mean) - n
    return _fit("exponential", {"mean": mean}, {"mean": (low, high)}, loglik, 1, x, dist)


def fit_gamma(x: np.ndarray, confidence: float = 0.95) -> FamilyFit:
    """Gamma by maximum likelihood; intervals from the Fisher information.

    The mean's MLE is the sample mean; the shape's asymptotic variance is
    ``1 / (n (trigamma(a) - 1/a))``, and the cv is ``1/sqrt(a)`` (monotone, so its
    interval is the shape's, mapped).
    """
    n, mean = x.size, float(x.mean())
    shape, _, scale = stats.gamma.fit(x, floc=0)
    z = stats.norm.ppf(0.5 + confidence / 2)
    se_shape = 1 / math.sqrt(n * (special.polygamma(1, shape) - 1 / shape))
    lo_shape, hi_shape = max(shape - z * se_shape, 1e-9), shape + z * se_shape
    se_mean = mean / math.sqrt(n * shape)
    dist = stats.gamma(shape, scale=scale)
    loglik = float(dist.logpdf(x).sum())
    cv = 1 / math.sqrt(shape)
    ci = {
        "mean": (mean - z * se_mean, mean + z * se_mean),
        "cv": (1 / math.sqrt(hi_shape), 1 / math.sqrt(lo_shape)),
    }
    return _fit("gamma", {"mean": float(shape * scale), "cv": cv}, ci, loglik, 2, x, dist)


def fit_lognormal(x: np.ndarray, confidence: float = 0.95) -> FamilyFit:
    """Lognormal: the log's mean and deviation; the cv's interval from sigma's
    (chi-square), the mean's by Cox's method."""
    n = x.size
    logs = np.log(x)
    mu, sigma = float(logs.mean()), float(logs.std())
    a = 1 - confidence
    s2 = float(logs.var(ddof=1))
    lo_s2 = (n - 1) * s2 / stats.chi2.ppf(1 - a / 2, n - 1)
    hi_s2 = (n - 1) * s2 / stats.chi2.ppf(a / 2, n - 1)
    z = stats.norm.ppf(0.5 + confidence / 2)
    centre = mu + s2 / 2
    half = z * math.sqrt(s2 / n + s2**2 / (2 * (n - 1)))
    dist = stats.lognorm(sigma, scale=math.exp(mu))
    loglik = float(dist.logpdf(x).sum())
    params = {"mean": math.exp(mu + sigma**2 / 2), "cv": math.sqrt(math.expm1(sigma**2))}
    ci = {
        "mean": (math.exp(centre - half), math.exp(centre + half)),
        "cv": (math.sqrt(math.expm1(lo_s2)), math.sqrt(math.expm1(hi_s2))),
    }
    return _fit("lognormal", params, ci, loglik, 2, x, dist)


def fit_shifted_exponential(x: np.ndarray, confidence: float = 0.95) -> FamilyFit | None:
    """A constant plus an exponential (a fixed cost and a memoryless rest).

    The shift is the unbiased estimate ``min - (mean - min) / (n - 1)`` rather than the
    MLE (the minimum), whose upward bias would let this family beat a plain exponential
    on exponential data whenever the smallest value happens to be large; ``None`` when
    that estimate is not positive (the sample is exponential). The interval of the rest's
    mean is the exponential's, with 2(n-1) degrees of freedom.
    """
    n = x.size
    low_value, mean = float(x.min()), float(x.mean())
    shift = low_value - (mean - low_value) / (n - 1)
    if shift <= 0:
        return None
    rest = mean - shift
    a = 1 - confidence
    low = 2 * (n - 1) * rest / stats.chi2.ppf(1 - a / 2, 2 * (n - 1))
    high = 2 * (n - 1) * rest / stats.chi2.ppf(a / 2, 2 * (n - 1))
    # the minimum of n exponentials exceeds the true shift by Exp(rest / n)
    lo_shift = max(low_value - rest / n * math.log(2 / a), 0.0)
    hi_shift = low_value - rest / n * math.log(1 / (1 - a / 2))
    dist = stats.expon(loc=shift, scale=rest)
    loglik = float(dist.logpdf(x).sum())
    params = {"mean": mean, "shift": shift}
    ci = {"mean": (shift + low, shift + high), "shift": (lo_shift, hi_shift)}
    return _fit("shifted_exponential", params, ci, loglik, 2, x, dist)


def fit_empirical(x: np.ndarray, confidence: float = 0.95) -> FamilyFit:
    """The sample itself, as ``EMPIRICAL_POINTS`` evenly spaced quantiles (mid-points, so
    the mean and the tails are kept); the mean's interval is Student's t."""
    n = x.size
    points = min(n, EMPIRICAL_POINTS)
    values = np.quantile(x, (np.arange(points) + 0.5) / points)
    mean = float(values.mean())
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1) * x.std(ddof=1) / math.sqrt(n))
    ks = float(
        np.max(
            np.abs(
                np.searchsorted(values, np.sort(x), side="right") / points - (np.arange(n) + 1) / n
            )
        )
    )
    return FamilyFit(
        "empirical",
        {"mean": mean},
        {"mean": (mean - half, mean + half)},
        math.nan,
        math.nan,
        ks,
        math.nan,
        n,
        values=tuple(float(v) for v in values),
    )


def fit_constant(x: np.ndarray) -> FamilyFit:
    """A constant at the sample mean (chosen only for a near-constant sample)."""
    mean = float(x.mean())
    return FamilyFit("constant", {"mean": mean}, {"mean": (mean, mean)}, 0.0, 2.0, 0.0, 1.0, x.size)


def fit_families(
    x: np.ndarray, confidence: float = 0.95, censored: np.ndarray | None = None
) -> list[FamilyFit]:
    """Every family that applies to ``x``, the chosen one first: the fewest parameters
    among the plausible ones within ``AIC_EQUIVALENT`` of their lowest AIC, then by AIC.
    Plausible is not rejected by its KS test (p below ``REJECT``) and with a mean inside
    the sample mean's 99.9% interval; when no family is, the empirical fit goes first.

    A sample with a coefficient of variation under ``CONSTANT_CV`` is a constant;
    gamma and lognormal need every value positive. With ``censored`` values (right-
    censoring points, seconds), the fits are :func:`fit_censored`'s.

    Examples
    --------
    >>> x = np.random.default_rng(1).gamma(4.0, 0.0025, 2000)
    >>> fit_families(x)[0].family
    'gamma'
    """
    x = np.asarray(x, dtype=float)
    if censored is not None and len(censored) and x.size >= 2 and x.mean() > 0:
        return fit_censored(x, np.asarray(censored, dtype=float), confidence)
    if x.size < 2 or x.mean() <= 0 or x.std() / x.mean() < CONSTANT_CV:
        return [fit_constant(x)]
    fits = [fit_exponential(x, confidence)]
    if x.min() > 0:
        fits += [fit_gamma(x, confidence), fit_lognormal(x, confidence)]
    shifted = fit_shifted_exponential(x, confidence)
    if shifted is not None:
        fits.append(shifted)
    # Plausible: not rejected by KS, and a mean within the sample mean's 99.9% interval
    # (a lognormal fitted to a few long values can put its mean far beyond the data).
    half = stats.t.ppf(0.9995, x.size - 1) * x.std(ddof=1) / math.sqrt(x.size)
    plausible = [f for f in fits if f.ks_p >= REJECT and abs(f.params["mean"] - x.mean()) <= half]
    if not plausible:
        return [fit_empirical(x, confidence), *sorted(fits, key=lambda f: f.aic)]
    return _ranked(fits, plausible)


def fit_censored(x: np.ndarray, c: np.ndarray, confidence: float = 0.95) -> list[FamilyFit]:
    """Every family fitted to complete values ``x`` and values right-censored at ``c``
    (each known only to exceed its point), the chosen one first.

    Maximum likelihood with each censored value's survival term: the exponential's
    mean is the total time over the complete count (its interval chi-square with twice
    that count, exact for a fixed number of complete values); gamma and lognormal are
    fitted on :class:`scipy.stats.CensoredData`, their intervals from the observed
    information of (log mean, log cv); the shifted exponential's shift is the smallest
    value less the rest's mean over the count, as :func:`fit_shifted_exponential`'s.

    The checks compare each fit with the Kaplan-Meier estimate of the distribution up
    to the median censoring point ``tau`` (with one timeout and no waits, the sample's
    own CDF below it): the KS distance is the largest gap between the two there (its
    p-value the uncensored KS's of the whole sample, an indication), and a family is
    plausible when that passes (p at least ``REJECT``) and its mean of ``min(S, tau)``
    is within the estimate's at 99.9% (the spread of the values cut at ``tau`` as the
    error). The empirical resampling is not offered (the tail past the timeout is what
    is unknown); with no family plausible, the lowest AIC goes first.
    """
    tau = float(np.median(c))
    steps, cdf = _kaplan_meier(x, c)
    below = steps <= tau
    steps, cdf = steps[below], cdf[below]
    n = x.size + c.size

    def ks(dist: Any) -> tuple[float, float]:
        # the estimate is a step function: compare the fit with it on both sides of
        # each step, and at tau
        fitted = dist.cdf(np.concatenate([steps, [tau]]))
        after = np.concatenate([cdf, cdf[-1:] if cdf.size else [0.0]])
        before = np.concatenate([[0.0], cdf])
        distance = float(np.max(np.maximum(np.abs(after - fitted), np.abs(before - fitted))))
        return distance, float(stats.kstwo.sf(distance, n))

    fits: list[FamilyFit] = [_censored_exponential(x, c, confidence, ks)]
    if x.min() > 0:
        fits += [_censored_two(family, x, c, confidence, ks) for family in ("gamma", "lognormal")]
    shifted = _censored_shifted(x, c, confidence, ks)
    if shifted is not None:
        fits.append(shifted)
    # the estimate's mean of min(S, tau): the area under its survival curve up to tau
    edges = np.concatenate([[0.0], steps, [tau]])
    rmst = float(np.sum((1 - np.concatenate([[0.0], cdf])) * np.diff(edges)))
    cut = np.minimum(np.concatenate([x, c]), tau)
    half = stats.t.ppf(0.9995, n - 1) * cut.std(ddof=1) / math.sqrt(n)

    def restricted(f: FamilyFit) -> float:
        return float(integrate.quad(f.frozen.sf, 0.0, tau, limit=200)[0])

    plausible = [f for f in fits if f.ks_p >= REJECT and abs(restricted(f) - rmst) <= half]
    if not plausible:
        return sorted(fits, key=lambda f: f.aic)
    return _ranked(fits, plausible)


def _ranked(fits: list[FamilyFit], plausible: list[FamilyFit]) -> list[FamilyFit]:
    """``fits`` in order of preference: the plausible first; within AIC_EQUIVALENT of the
    best plausible AIC models are equally supported, and the one with fewer parameters is
    preferred (an exponential sample otherwise picks a gamma with cv 1 or a shift of 0
    about one time in four); then by AIC."""
    best = min(f.aic for f in plausible)
    return sorted(
        fits,
        key=lambda f: (
            f not in plausible,
            f.aic > best + AIC_EQUIVALENT,
            _PARAMETERS[f.family],
            f.aic,
        ),
    )


def _kaplan_meier(x: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The Kaplan-Meier estimate of the CDF from complete ``x`` and right-censored
    ``c``: the complete values in order, and the estimate at each."""
    values = np.concatenate([x, c])
    event = np.concatenate([np.ones(x.size), np.zeros(c.size)])
    # at a tie a complete value comes first: the censored one was still at risk
    order = np.lexsort((1 - event, values))
    at_risk = values.size - np.arange(values.size)
    survival = np.cumprod(1 - event[order] / at_risk)
    return values[order][event[order] == 1], 1 - survival[event[order] == 1]


def kaplan_meier_quantiles(x: np.ndarray, c: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Quantiles of the Kaplan-Meier estimate from complete ``x`` and right-censored
    ``c`` (the estimate :func:`fit_censored` checks its fits against).

    Parameters
    ----------
    x, c
        Complete values and censoring points.
    q
        Probabilities in (0, 1).

    Returns
    -------
    numpy.ndarray
        The smallest complete value at which the estimated CDF reaches each ``q``; NaN
        past the estimate's last step, where the values left are censored and their
        quantiles unknown.
    """
    steps, cdf = _kaplan_meier(np.asarray(x, dtype=float), np.asarray(c, dtype=float))
    q = np.asarray(q, dtype=float)
    if not cdf.size:
        return np.full(q.shape, np.nan)
    at = np.searchsorted(cdf, q)  # the first step reaching q (the CDF never falls)
    return np.where(at < cdf.size, steps[np.minimum(at, cdf.size - 1)], np.nan)


def _censored_fit(
    family: str,
    params: dict[str, float],
    ci: dict[str, tuple[float, float]],
    k: int,
    x: np.ndarray,
    c: np.ndarray,
    dist: Any,
    ks: Callable[[Any], tuple[float, float]],
) -> FamilyFit:
    loglik = float(dist.logpdf(x).sum() + dist.logsf(c).sum())
    distance, p = ks(dist)
    return FamilyFit(
        family, params, ci, loglik, 2 * k - 2 * loglik, distance, p, x.size, dist, censored=c.size
    )


def _censored_exponential(
    x: np.ndarray, c: np.ndarray, confidence: float, ks: Callable[[Any], tuple[float, float]]
) -> FamilyFit:
    d, total = x.size, float(x.sum() + c.sum())
    mean = total / d
    a = 1 - confidence
    low = 2 * total / stats.chi2.ppf(1 - a / 2, 2 * d)
    high = 2 * total / stats.chi2.ppf(a / 2, 2 * d)
    dist = stats.expon(scale=mean)
    return _censored_fit("exponential", {"mean": mean}, {"mean": (low, high)}, 1, x, c, dist, ks)


def _two(family: str, mean: float, cv: float) -> Any:
    """The frozen gamma or lognormal of that mean and cv."""
    if family == "gamma":
        return stats.gamma(1 / cv**2, scale=mean * cv**2)
    sigma2 = math.log1p(cv**2)
    return stats.lognorm(math.sqrt(sigma2), scale=mean * math.exp(-sigma2 / 2))


def _censored_two(
    family: str,
    x: np.ndarray,
    c: np.ndarray,
    confidence: float,
    ks: Callable[[Any], tuple[float, float]],
) -> FamilyFit:
    """Gamma or lognormal by censored maximum likelihood, Wald intervals on the logs of
    mean and cv from the observed information (a central-difference Hessian)."""
    data = stats.CensoredData(uncensored=x, right=c)
    if family == "gamma":
        shape, _, scale = stats.gamma.fit(data, floc=0)
        mean, cv = shape * scale, 1 / math.sqrt(shape)
    else:
        sigma, _, scale = stats.lognorm.fit(data, floc=0)
        mean, cv = scale * math.exp(sigma**2 / 2), math.sqrt(math.expm1(sigma**2))

    def loglik(theta: np.ndarray) -> float:
        dist = _two(family, math.exp(theta[0]), math.exp(theta[1]))
        return float(dist.logpdf(x).sum() + dist.logsf(c).sum())

    theta = np.log([mean, cv])
    h = 1e-4
    hessian = np.empty((2, 2))
    for i in range(2):
        for j in range(2):
            ei, ej = np.eye(2)[i] * h, np.eye(2)[j] * h
            hessian[i, j] = (
                loglik(theta + ei + ej)
                - loglik(theta + ei - ej)
                - loglik(theta - ei + ej)
                + loglik(theta - ei - ej)
            ) / (4 * h * h)
    z = stats.norm.ppf(0.5 + confidence / 2)
    try:
        se = np.sqrt(np.diag(np.linalg.inv(-hessian)))
    except np.linalg.LinAlgError:
        se = np.full(2, math.inf)
    se = np.where(np.isfinite(se), se, math.inf)
    ci = {
        "mean": (mean * math.exp(-z * se[0]), mean * math.exp(z * se[0])),
        "cv": (cv * math.exp(-z * se[1]), cv * math.exp(z * se[1])),
    }
    params = {"mean": float(mean), "cv": float(cv)}
    return _censored_fit(family, params, ci, 2, x, c, _two(family, mean, cv), ks)


def _censored_shifted(
    x: np.ndarray, c: np.ndarray, confidence: float, ks: Callable[[Any], tuple[float, float]]
) -> FamilyFit | None:
    n, d = x.size + c.size, x.size
    low_value = float(x.min())
    # the minimum of n exponentials exceeds the shift by Exp(rest / n): take it off
    first = float((x - low_value).sum() + np.clip(c - low_value, 0, None).sum()) / d
    shift = low_value - first / n
    if shift <= 0:
        return None
    total = float((x - shift).sum() + np.clip(c - shift, 0, None).sum())
    rest = total / d
    a = 1 - confidence
    low = 2 * total / stats.chi2.ppf(1 - a / 2, 2 * d)
    high = 2 * total / stats.chi2.ppf(a / 2, 2 * d)
    lo_shift = max(low_value - rest / n * math.log(2 / a), 0.0)
    hi_shift = low_value - rest / n * math.log(1 / (1 - a / 2))
    dist = stats.expon(loc=shift, scale=rest)
    params = {"mean": shift + rest, "shift": shift}
    ci = {"mean": (shift + low, shift + high), "shift": (lo_shift, hi_shift)}
    return _censored_fit("shifted_exponential", params, ci, 2, x, c, dist, ks)
