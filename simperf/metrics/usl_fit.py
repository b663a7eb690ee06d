"""Fit the Universal Scalability Law to measured (concurrency, throughput) points."""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from scipy.optimize import OptimizeWarning, curve_fit

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

    def model(n: np.ndarray, rate: float, alpha: float, beta: float) -> np.ndarray:
        return rate * n / (1.0 + alpha * (n - 1.0) + beta * n * (n - 1.0))

    with warnings.catch_warnings():  # three points: no covariance, reported as inf
        warnings.simplefilter("ignore", OptimizeWarning)
        try:
            with np.errstate(over="ignore", invalid="ignore"):
                params, covariance = curve_fit(
                    model,
                    n,
                    x,
                    p0=start,
                    bounds=([0.0, 0.0, 0.0], [np.inf, 1.0, 1.0]),
                    maxfev=20_000,
                )
        except (ValueError, RuntimeError) as exc:  # no finite residuals, or no convergence
            raise ValueError(f"points: the fit failed ({exc})") from None
    with np.errstate(invalid="ignore", over="ignore"):
        errors = np.sqrt(np.diag(covariance)) * np.array([scale, 1.0, 1.0])
        rate = float(params[0] * scale)
    if not math.isfinite(rate):
        raise ValueError("points: the fitted throughput of one overflows a float")
    errors = [float(e) if math.isfinite(e) else math.inf for e in errors]
    alpha, beta = float(params[1]), float(params[2])
    return UslFit(rate, alpha, beta, *errors, points=len(data))
