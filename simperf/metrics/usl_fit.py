"""Fit the Universal Scalability Law to measured (concurrency, throughput) points."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from scipy.optimize import least_squares

from simperf.analysis.usl import usl_peak, usl_throughput

MIN_POINTS = 3
"""Points a fit needs at least: three parameters."""


@dataclass(frozen=True)
class UslFit:
    """The fitted ``X(N) = rate N / (1 + alpha (N - 1) + beta N (N - 1))``.

    Attributes
    ----------
    rate, alpha, beta
        Throughput of one, contention and coherency, least-squares estimates.
    rate_se, alpha_se, beta_se
        Their standard errors (from the fit's covariance; ``inf`` with exactly three
        points or where the data do not determine a parameter).
    points
        How many points were fitted.
    """

    rate: float
    alpha: float
    beta: float
    rate_se: float
    alpha_se: float
    beta_se: float
    points: int

    @property
    def peak(self) -> float:
        """Concurrency of greatest throughput, ``sqrt((1 - alpha) / beta)``."""
        return usl_peak(self.alpha, self.beta)

    def throughput(self, n: float) -> float:
        """Fitted throughput at concurrency ``n``."""
        return float(usl_throughput(n, self.rate, self.alpha, self.beta))

    def scaling(self) -> dict[str, float]:
        """The spec block: ``{"alpha": ..., "beta": ...}`` for a component's ``scaling``."""
        return {"alpha": self.alpha, "beta": self.beta}


def fit_usl(points: Iterable[tuple[float, float]]) -> UslFit:
    """Least-squares fit of the USL to ``(N, throughput)`` points.

    Parameters
    ----------
    points
        ``(cores or concurrency, throughput)`` pairs, at least three distinct ``N >= 1``,
        throughputs positive. ``rate`` starts from the throughput at the smallest ``N``
        divided by ``N``; ``alpha`` is kept in ``[0, 1]`` and ``beta`` in ``[0, 1]``.

    Returns
    -------
    UslFit

    Raises
    ------
    ValueError
        Fewer than three points, fewer than three distinct ``N``, ``N < 1`` or a
        throughput that is not positive and finite.

    Examples
    --------
    >>> pts = [(n, 100 * n / (1 + 0.05 * (n - 1) + 0.002 * n * (n - 1))) for n in (1, 2, 4, 8, 16)]
    >>> fit = fit_usl(pts)
    >>> round(fit.rate, 3), round(fit.alpha, 4), round(fit.beta, 5)
    (100.0, 0.05, 0.002)
    """
    data = np.asarray(list(points), dtype=float)
    if data.ndim != 2 or data.shape[1] != 2:
        raise ValueError("points: expected (N, throughput) pairs")
    if len(data) < MIN_POINTS:
        raise ValueError(f"points: a fit needs at least {MIN_POINTS} points, got {len(data)}")
    n, x = data[:, 0], data[:, 1]
    if not np.all(np.isfinite(data)) or np.any(n < 1) or np.any(x <= 0):
        raise ValueError("points: N must be >= 1 and throughputs positive and finite")
    if len(np.unique(n)) < MIN_POINTS:
        raise ValueError(f"points: a fit needs at least {MIN_POINTS} distinct N")
    # The fit is of the curve's shape: throughputs are divided by their largest, so that
    # their unit (requests per second or per hour) and their scale (1e-300 or 1e308)
    # neither stall the optimiser at its start nor overflow it.
    scale = float(x.max())
    x = x / scale
    first = int(np.argmin(n))
    start = (x[first] / n[first], 0.01, 0.0001)

    def residuals(p: np.ndarray) -> np.ndarray:
        return p[0] * n / (1.0 + p[1] * (n - 1.0) + p[2] * n * (n - 1.0)) - x

    try:
        with np.errstate(over="ignore", invalid="ignore"):
            fit = least_squares(
                residuals,
                start,
                bounds=([0.0, 0.0, 0.0], [np.inf, 1.0, 1.0]),
                method="trf",
                max_nfev=20_000,
            )
    except ValueError as exc:  # no finite residuals
        raise ValueError(f"points: the fit failed ({exc})") from None
    if fit.status <= 0:
        raise ValueError(f"points: the fit failed ({fit.message})")
    # The optimiser stays strictly inside its bounds: a parameter it reports at its lower
    # bound (alpha or beta 0: no contention, no coherency cost) ends a step short of
    # it, 1e-15 or so, which would read as a peak at 1e+07 cores and a scaling to
    # simulate. It is the bound.
    params = np.where(fit.active_mask == -1, 0.0, fit.x)
    with np.errstate(over="ignore"):
        errors = _errors(fit.jac, 2 * fit.cost, len(data)) * np.array([scale, 1.0, 1.0])
        rate = float(params[0] * scale)
    if not math.isfinite(rate):
        raise ValueError("points: the fitted throughput of one overflows a float")
    errors = [float(e) if math.isfinite(e) else math.inf for e in errors]
    alpha, beta = float(params[1]), float(params[2])
    return UslFit(rate, alpha, beta, *errors, points=len(data))


def _errors(jac: np.ndarray, sse: float, points: int) -> np.ndarray:
    """Standard errors from the Jacobian at the fit, as ``scipy.optimize.curve_fit``
    computes them (the Moore-Penrose inverse of its square, scaled by the residual
    variance); ``inf`` with as many points as parameters (or where not a number)."""
    _, s, vt = np.linalg.svd(jac, full_matrices=False)
    threshold = np.finfo(float).eps * max(jac.shape) * s[0]
    vt = vt[: int(np.sum(s > threshold))]
    s = s[s > threshold]
    covariance = (vt.T / s**2) @ vt
    if points <= jac.shape[1] or np.isnan(covariance).any():
        return np.full(jac.shape[1], math.inf)
    with np.errstate(invalid="ignore"):
        return np.sqrt(np.diag(covariance * (sse / (points - jac.shape[1]))))
