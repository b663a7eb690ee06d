"""Where the initial transient ends: MSER-5, checked against the output's relaxation time.

A run starts from an empty, idle system, so its first observations are biased. The
detector works on mean response time per arrival window (one series per replication, on
a common window grid) and combines two estimates of how long the start is remembered:

* **MSER-5** on the mean over replications: the truncation that minimises the standard
  error of the remaining mean. It finds transients that stand out of the noise, but on a
  single heavily autocorrelated run it also "finds" ordinary excursions (an M/M/1 at load
  0.9 run for 1,000 s is cut by hundreds of seconds in about half of the seeds), so a cut
  beyond the relaxation time is kept only when the dropped part's mean differs from the
  rest significantly (standard errors computed with the autocorrelation, not as if the
  windows were independent, and the level shared among all the cuts MSER chose from).
* **The integrated autocorrelation time** ``tau = 1 + 2 sum_k rho_k`` of the series,
  estimated after MSER's proposal in each replication (averaging the autocorrelation
  functions over replications, with Sokal's self-consistent window ``M >= 5 tau``). It is
  the time over which the output remembers any state, the initial one included, and the
  cut is never shorter: the same rule as discarding a few autocorrelation times as
  burn-in in Markov chain Monte Carlo. For an M/M/1 queue in heavy traffic it equals the
  relaxation time ``1 / (mu (1 - sqrt(rho))^2)`` (3.8 s at load 0.9 and 10 ms service).
  It is measured in windows, so it is never reported below one window (1/1000 of the
  run, or coarser for a big fleet: :meth:`simperf.model.Model.auto_grid`), and it reads
  low on short runs: subtracting each series' estimated mean biases
  the sum of ``2M + 1`` autocorrelations down by about ``(2M + 1) / n`` of ``tau``
  (``M ~ 5 tau``, ``n`` windows). 10 pilot runs of an M/M/1 at load 0.9 give 2.2-3.4 s
  from 200 s runs and 2.8-4.1 s from 400 s runs, over 8 seeds each.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from simperf.metrics.stats import ArrayLike, _values

__all__ = [
    "WarmupCut",
    "autocorrelation",
    "detect_warmup",
    "integrated_autocorrelation_time",
    "mser",
    "mser5",
    "warmup_report",
]

SOKAL_WINDOW = 5.0
"""Sum the autocorrelations up to the first lag ``M >= SOKAL_WINDOW * tau(M)``."""
FALSE_CUT = 0.001
"""Chance that a stationary run has a cut longer than its relaxation time (two-sided,
shared among MSER's candidate cuts)."""
MIN_WINDOWS = 10
"""Fewer filled windows than this are too few to judge: nothing is cut."""


@dataclass(frozen=True, slots=True)
class WarmupCut:
    """The detector's verdict, in windows of the grid it was given.

    Attributes
    ----------
    index
        Windows to drop: the warm-up ends at the start of window ``index``.
    mser_index
        MSER-5's proposal.
    relaxation
        Integrated autocorrelation time, in windows (``nan`` when it could not be
        estimated).
    mser_significant
        Whether MSER's proposal was longer than the relaxation time and significant, so it
        decided the cut.
    """

    index: int
    mser_index: int
    relaxation: float
    mser_significant: bool


# --------------------------------------------------------------------------- MSER


def mser(series: ArrayLike, batch: int = 5) -> int:
    """MSER truncation point: how many initial observations to drop as warm-up.

    The series is cut into consecutive means of ``batch`` observations ``Z_1..Z_k`` (a
    trailing partial batch is ignored). For each truncation ``d`` the statistic is
    ``sum_{j > d} (Z_j - mean(Z_{d+1..k}))^2 / (k - d)^2``, the squared standard error of
    the truncated mean; the first ``d`` minimising it is chosen, among ``d`` up to ``k / 2``
    (the standard rule: a larger optimum would mean the run is too short) and leaving at
    least two batches.

    Parameters
    ----------
    series
        Observations in time order (finite).
    batch
        Observations per batch; 5 gives MSER-5, 1 the original MSER.

    Returns
    -------
    int
        The number of original observations to drop (``batch * d``); 0 for a series too
        short to judge (fewer than 3 batches).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = 20 * np.exp(-np.arange(2000) / 50) + rng.normal(size=2000)
    >>> 100 <= mser(x, batch=5) <= 400
    True
    """
    x = _values(series, "series")
    if int(batch) != batch or batch < 1:
        raise ValueError(f"batch must be a positive integer, got {batch}")
    batch = int(batch)
    k = x.size // batch
    if k < 3 or np.all(x == x[0]):
        return 0
    z = x[: k * batch].reshape(k, batch).mean(axis=1)
    z = z - z.mean()  # centring limits cancellation in the sum-of-squares identity
    tail_sum = np.cumsum(z[::-1])[::-1]
    tail_sq = np.cumsum((z * z)[::-1])[::-1]
    d = np.arange(min(k // 2, k - 2) + 1)
    remaining = k - d
    squares = np.maximum(tail_sq[d] - tail_sum[d] ** 2 / remaining, 0.0)
    return batch * int(np.argmin(squares / remaining**2))


def mser5(series: ArrayLike) -> int:
    """MSER-5 truncation point: :func:`mser` with batches of 5 observations.

    Parameters
    ----------
    series
        Observations in time order (finite).

    Returns
    -------
    int
        The number of original observations to drop (a multiple of 5).

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> mser5(rng.normal(size=5000)) < 500
    True
    """
    return mser(series, batch=5)


# --------------------------------------------------------------------------- autocorrelation


def autocorrelation(series: ArrayLike) -> np.ndarray:
    """Sample autocorrelation function ``rho_0 .. rho_{n-1}`` (``rho_0 = 1``), by FFT.

    Uses the biased estimator (divided by ``n`` at every lag), which keeps the sequence
    positive semi-definite. A constant series has no autocorrelation: all zeros but
    ``rho_0``.

    Examples
    --------
    >>> rho = autocorrelation([1.0, 2.0, 1.0, 2.0])
    >>> float(rho[0]), float(rho[1])
    (1.0, -0.75)
    """
    x = _values(series, "series")
    x = x - x.mean()
    n = x.size
    spectrum = np.fft.rfft(x, 2 * n)
    acov = np.fft.irfft(spectrum * np.conj(spectrum))[:n]
    rho = np.zeros(n)
    rho[0] = 1.0
    if acov[0] > 0:
        rho = acov / acov[0]
    return rho


def integrated_autocorrelation_time(series: list[ArrayLike] | ArrayLike) -> float:
    """Integrated autocorrelation time ``tau = 1 + 2 sum_{k>=1} rho_k``, in observations.

    ``tau`` is how many observations are worth one independent one: the variance of a
    mean of ``n`` autocorrelated observations is ``tau`` times that of ``n`` independent
    ones. Several series (replications of the same process) have their autocorrelation
    functions averaged before summing, which is much less noisy than averaging their
    ``tau``. The sum stops at the first lag ``M >= 5 tau(M)`` (Sokal's window), which
    keeps the noise of the far lags out.

    Parameters
    ----------
    series
        One series, or a list of series of the same process (lengths may differ; the
        common lags are used).

    Returns
    -------
    float
        ``tau`` (1 for independent observations); ``nan`` if no series has two values.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = np.zeros(20000)
    >>> for i in range(1, x.size):  # AR(1) with phi = 0.8: tau = (1 + phi) / (1 - phi) = 9
    ...     x[i] = 0.8 * x[i - 1] + rng.normal()
    >>> 7.5 < integrated_autocorrelation_time(x) < 10.5
    True
    """
    if isinstance(series, np.ndarray) and series.ndim == 1:
        series = [series]
    elif not isinstance(series, list) or (series and np.isscalar(series[0])):
        series = [np.asarray(series, dtype=float)]
    curves = [autocorrelation(s) for s in series if np.asarray(s).size >= 2]
    if not curves:
        return math.nan
    lags = min(c.size for c in curves)
    rho = np.mean([c[:lags] for c in curves], axis=0)
    taus = 2.0 * np.cumsum(rho) - 1.0  # tau(M) = 1 + 2 sum_{k=1..M} rho_k
    window = np.flatnonzero(np.arange(lags) >= SOKAL_WINDOW * taus)
    return float(max(taus[window[0]] if window.size else taus[-1], 1.0))


# --------------------------------------------------------------------------- detector


def detect_warmup(sums: ArrayLike, counts: ArrayLike) -> WarmupCut:
    """Warm-up of response times recorded per arrival window, over one or more runs.

    Parameters
    ----------
    sums, counts
        Sum and number of response times per window, shape ``(windows,)`` for one run or
        ``(replications, windows)`` for several on the same window grid.

    Returns
    -------
    WarmupCut
        ``index`` is at most half the windows with a sample (a longer transient means the
        run is too short to measure anything after it).

    Examples
    --------
    >>> rng = np.random.default_rng(2)
    >>> t = np.arange(2000)
    >>> counts = np.full(t.size, 10)
    >>> sums = counts * (1 + 5 * np.exp(-t / 50) + rng.normal(0, 0.3, t.size))
    >>> cut = detect_warmup(sums, counts)
    >>> 150 <= cut.index <= 400 and cut.mser_significant
    True
    """
    sums = np.atleast_2d(np.asarray(sums, dtype=float))
    counts = np.atleast_2d(np.asarray(counts, dtype=float))
    if sums.shape != counts.shape:
        raise ValueError(f"sums and counts differ in shape: {sums.shape} vs {counts.shape}")
    filled = np.flatnonzero(counts.sum(axis=0) > 0)
    if filled.size < MIN_WINDOWS:
        return WarmupCut(0, 0, math.nan, False)
    ensemble = sums[:, filled].sum(axis=0) / counts[:, filled].sum(axis=0)
    proposal = mser5(ensemble)
    start = min(proposal, filled.size // 2)
    tau = integrated_autocorrelation_time(
        [_replication_series(s, c, filled)[start:] for s, c in zip(sums, counts, strict=True)]
    )
    floor = math.ceil(tau) if tau == tau else 0
    candidates = filled.size // 5 // 2 + 1  # the cuts MSER-5 chose among
    significant = proposal > floor and _differs(ensemble, proposal, tau, candidates)
    cut = min(proposal if significant else floor, filled.size // 2)
    return WarmupCut(int(filled[cut]), int(filled[proposal]), tau, bool(significant))


def _replication_series(sums: np.ndarray, counts: np.ndarray, filled: np.ndarray) -> np.ndarray:
    """One run's mean per window on the ensemble's filled windows; a window this run left
    empty gets the run's overall mean (it adds nothing to the autocovariance)."""
    sums, counts = sums[filled], counts[filled]
    has = counts > 0
    series = np.full(filled.size, sums[has].sum() / counts[has].sum() if has.any() else 0.0)
    series[has] = sums[has] / counts[has]
    return series


def _differs(series: np.ndarray, cut: int, tau: float, candidates: int) -> bool:
    """Whether the first ``cut`` values' mean differs from the rest's significantly.

    The standard errors are inflated by the autocorrelation time, and the level is
    :data:`FALSE_CUT` divided among the ``candidates`` cuts MSER chose from (Bonferroni):
    MSER picks the cut that looks most different, so one plain test would be fooled.
    """
    head, tail = series[:cut], series[cut:]
    if tail.size < 2:
        return False
    variance = float(np.var(tail, ddof=1)) * (tau if tau == tau else 1.0)
    error = math.sqrt(variance / head.size + variance / tail.size)
    gap = abs(float(head.mean() - tail.mean()))
    from scipy import stats  # imported here: a run without auto warm-up need not load it

    z = float(stats.norm.isf(FALSE_CUT / (2 * candidates)))
    return gap > z * error if error > 0 else gap > 0


WARMUP_METHOD = "MSER-5, at least one relaxation time"
"""How results name the detector."""


def warmup_report(cut: WarmupCut, times: np.ndarray, end: float) -> dict[str, Any]:
    """What an automatic warm-up cut, in seconds, for results.

    Parameters
    ----------
    cut
        The detector's verdict, in windows.
    times
        Start time of each window.
    end
        End of the run (the width of a single window).
    """
    width = float(times[1] - times[0]) if times.size > 1 else max(end, 0.0)
    return {
        "method": WARMUP_METHOD,
        "cut_time": float(times[cut.index]) if times.size else 0.0,
        "mser_time": float(times[cut.mser_index]) if times.size else 0.0,
        "relaxation_time": cut.relaxation * width if cut.relaxation == cut.relaxation else None,
        "decided_by": "mser" if cut.mser_significant else "relaxation",
    }
