"""Statistics across replications: confidence intervals, paired comparisons, batch means.

Each replication of a scenario yields one value per metric (mean latency, p99,
throughput, ...). Those values are independent and close to normal, so Student-t
intervals apply to them; paired differences between two scenarios run with common
random numbers (same seeds) are much tighter than two separate intervals. For a single
long run, :func:`batch_means` gives the interval (the warm-up to drop before it is found
by :mod:`simperf.metrics.warmup`).

Outputs are meant for JSON reports, so an undefined quantity is ``None`` (or ``pd.NA`` in
DataFrames), never NaN: with one sample there is no spread, hence no interval.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

__all__ = [
    "NOT_SIGNIFICANT",
    "NO_INTERVAL",
    "SAME_IN_EVERY_REPLICATION",
    "SIGNIFICANT",
    "Difference",
    "Interval",
    "batch_means",
    "paired_difference",
    "replications_for",
    "replications_needed",
    "same_in_every_replication",
    "summarise_replications",
    "t_interval",
]

ArrayLike = Sequence[float] | np.ndarray | pd.Series

SIGNIFICANT = "significant"
NOT_SIGNIFICANT = "not significant"
SAME_IN_EVERY_REPLICATION = "same in every replication"
NO_INTERVAL = "no interval"
"""The verdicts of :class:`Difference`."""


@dataclass(frozen=True, slots=True)
class Interval:
    """A Student-t confidence interval for a mean.

    Attributes
    ----------
    mean
        The sample mean.
    half_width
        Half the width of the interval; ``None`` when there is a single sample.
    low, high
        ``mean -/+ half_width``; ``None`` when there is a single sample.
    n
        The number of samples (of batches, for :func:`batch_means`).
    std
        The sample standard deviation (``ddof=1``); ``None`` when there is one sample.
    confidence
        The confidence level, e.g. 0.95.
    """

    mean: float
    half_width: float | None
    low: float | None
    high: float | None
    n: int
    std: float | None
    confidence: float = 0.95

    def to_dict(self) -> dict[str, float | int | None]:
        """The fields as a JSON-ready dict."""
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Difference:
    """A paired comparison ``b - a`` of two scenarios over the same replications.

    Attributes
    ----------
    mean
        Mean of the per-replication differences ``b - a``.
    half_width, low, high
        The t-interval of the mean difference; ``None`` when ``n == 1``.
    relative
        ``mean / mean(a)``, the relative change from ``a``; ``None`` when ``mean(a) == 0``.
    significant
        Whether the interval excludes 0 with some spread among the differences: always
        ``False`` when ``n == 1``, and when every replication differs by the same amount
        (a zero-width interval tests nothing; see ``verdict``).
    n
        The number of pairs.
    mean_a, mean_b
        The means of ``a`` and of ``b``.
    confidence
        The confidence level, e.g. 0.95.
    verdict
        In words: ``"significant"`` or ``"not significant"`` (the interval excludes 0
        or not), ``"same in every replication"`` (every pair differs by ``mean``, 0
        included: common random numbers give such differences of counts, and a t
        interval of no width is no evidence of a difference that other seeds would
        keep), or ``"no interval"`` (one pair).
    """

    mean: float
    half_width: float | None
    low: float | None
    high: float | None
    relative: float | None
    significant: bool
    n: int
    mean_a: float
    mean_b: float
    confidence: float = 0.95
    verdict: str = NOT_SIGNIFICANT

    def to_dict(self) -> dict[str, float | int | bool | None]:
        """The fields as a JSON-ready dict."""
        return asdict(self)


# --------------------------------------------------------------------------- helpers


def _values(samples: ArrayLike, name: str = "samples") -> np.ndarray:
    x = np.asarray(samples, dtype=float)
    if x.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {x.shape}")
    if x.size == 0:
        raise ValueError(f"{name} must not be empty")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{name} must be finite (no NaN or infinity)")
    return x


def _confidence(confidence: float) -> float:
    confidence = float(confidence)
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    return confidence


ROUNDING = 64 * float(np.finfo(float).eps)
"""Relative spread that floating-point rounding alone can leave among equal values: a
count over the same measured time in every replication, or a difference of two such
ratios, agree to ~1e-16 of their size, not exactly."""


def same_in_every_replication(values: ArrayLike, scale: float | None = None) -> bool:
    """Whether ``values`` are one value, up to floating-point rounding.

    Parameters
    ----------
    values
        One value per replication (finite, at least one).
    scale
        The size the rounding is relative to (default: the largest ``|value|``); for
        differences ``b - a``, the largest ``|a|`` or ``|b|``.

    Examples
    --------
    >>> same_in_every_replication([0.1, 0.1 + 3e-15], scale=319.5)
    True
    >>> same_in_every_replication([2.0, 2.5])
    False
    """
    x = _values(values)
    scale = float(np.max(np.abs(x))) if scale is None else abs(float(scale))
    return float(np.ptp(x)) <= ROUNDING * scale


def _mean(x: np.ndarray) -> float:
    # Equal samples give their value exactly (np.mean could be off by an ulp).
    return float(x[0]) if np.all(x == x[0]) else float(np.mean(x))


# --------------------------------------------------------------------------- intervals


def t_interval(samples: ArrayLike, confidence: float = 0.95) -> Interval:
    """Student-t confidence interval for the mean of independent samples.

    Parameters
    ----------
    samples
        One value per replication (finite, at least one).
    confidence
        The confidence level, in ``(0, 1)``.

    Returns
    -------
    Interval
        With one sample, ``half_width``, ``low``, ``high`` and ``std`` are ``None``: the
        spread is unknown, and ``None`` (unlike NaN) survives a JSON round trip. Equal
        samples give a half-width of exactly 0.

    Raises
    ------
    ValueError
        If ``samples`` is empty or not finite, or ``confidence`` is not in ``(0, 1)``.

    Examples
    --------
    >>> iv = t_interval([10.0, 12.0, 11.0, 13.0])
    >>> iv.mean, round(iv.half_width, 4), iv.n
    (11.5, 2.0543, 4)
    >>> t_interval([3.0]).half_width is None
    True
    """
    x = _values(samples)
    confidence = _confidence(confidence)
    n = int(x.size)
    mean = _mean(x)
    if n == 1:
        return Interval(mean, None, None, None, 1, None, confidence)
    std = 0.0 if np.all(x == x[0]) else float(np.std(x, ddof=1))
    from scipy import stats  # imported here: a single run need not load it

    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1)) * std / math.sqrt(n)
    return Interval(mean, half, mean - half, mean + half, n, std, confidence)


def paired_difference(a: ArrayLike, b: ArrayLike, confidence: float = 0.95) -> Difference:
    """Paired comparison of two scenarios replicated with the same seeds.

    Replication ``i`` of ``a`` and of ``b`` share their random numbers, so the
    differences ``b[i] - a[i]`` cancel most of the noise common to both.

    Parameters
    ----------
    a
        The baseline, one value per replication.
    b
        The alternative, one value per replication, in the same order.
    confidence
        The confidence level, in ``(0, 1)``.

    Returns
    -------
    Difference
        The t-interval of the mean difference ``b - a`` (``n - 1`` degrees of freedom)
        and whether it excludes 0; differences equal in every replication are said to be
        so, not significant.

    Raises
    ------
    ValueError
        If ``a`` and ``b`` differ in length, are empty, or are not finite.

    Examples
    --------
    >>> d = paired_difference([10.0, 12.0, 11.0], [9.0, 11.5, 10.0])
    >>> d.mean, d.significant, round(d.relative, 4)
    (-0.8333333333333334, True, -0.0758)
    >>> paired_difference([1.0, 2.0], [1.0, 2.0]).significant
    False
    >>> paired_difference([6000.0, 6100.0], [5998.0, 6098.0]).verdict
    'same in every replication'
    """
    x = _values(a, "a")
    y = _values(b, "b")
    if x.shape != y.shape:
        raise ValueError(f"a and b must have the same length, got {x.size} and {y.size}")
    iv = t_interval(y - x, confidence)
    mean_a = _mean(x)
    if iv.half_width is None:
        verdict = NO_INTERVAL
    elif same_in_every_replication(y - x, max(float(np.max(np.abs(x))), float(np.max(np.abs(y))))):
        verdict = SAME_IN_EVERY_REPLICATION
    else:
        assert iv.low is not None and iv.high is not None
        verdict = SIGNIFICANT if iv.low > 0 or iv.high < 0 else NOT_SIGNIFICANT
    return Difference(
        mean=iv.mean,
        half_width=iv.half_width,
        low=iv.low,
        high=iv.high,
        relative=iv.mean / mean_a if mean_a != 0 else None,
        significant=verdict == SIGNIFICANT,
        n=iv.n,
        mean_a=mean_a,
        mean_b=_mean(y),
        confidence=iv.confidence,
        verdict=verdict,
    )


def replications_needed(samples: ArrayLike, relative: float, confidence: float = 0.95) -> int:
    """Estimated number of replications for a half-width of ``relative * |mean|``.

    The fewest whose t interval, at their own degrees of freedom, would be that narrow
    if the sample standard deviation held as replications are added
    (:func:`replications_for`); the classic ``n * (half_width / target)^2`` keeps the t
    quantile of the ``n`` run so far and, from few, asks for about twice too many. Use
    it for sequential stopping: run ``n* - n`` more replications, then check again.

    Parameters
    ----------
    samples
        The values of the replications run so far (at least 2).
    relative
        The target relative precision, e.g. 0.05 for a half-width of 5% of the mean.
    confidence
        The confidence level, in ``(0, 1)``.

    Returns
    -------
    int
        The estimated total number of replications (at least 2); a value no larger than
        ``len(samples)`` means the target is already met.

    Raises
    ------
    ValueError
        With fewer than 2 samples, a non-positive ``relative``, or a mean of 0 with a
        positive half-width (a relative precision is then unattainable).

    Examples
    --------
    >>> replications_needed([10.0, 12.0, 11.0, 13.0], relative=0.05)
    22
    """
    iv = t_interval(samples, confidence)
    relative = float(relative)
    if not (math.isfinite(relative) and relative > 0):
        raise ValueError(f"relative must be finite and > 0, got {relative}")
    if iv.half_width is None or iv.std is None:
        raise ValueError("at least 2 samples are needed to estimate the spread")
    if iv.half_width == 0:
        return 2
    target = relative * abs(iv.mean)
    if target == 0:
        raise ValueError("the mean is 0, so a relative half-width cannot be reached")
    return replications_for(iv.std, target, iv.confidence)


def replications_for(std: float, half_width: float, confidence: float, at_least: int = 2) -> int:
    """The fewest replications whose t interval would be at most ``half_width`` wide.

    The smallest ``m >= at_least`` with ``t(m - 1) * std / sqrt(m) <= half_width``, the t
    quantile taken at the ``m - 1`` degrees of freedom of the ``m`` replications asked
    for: a normal quantile in its place asks for too few when few are enough (7 where it
    gave 5, for a spread equal to the half-width wanted at 95%), and the t quantile of
    the replications run so far asks for too many when many are needed.

    Parameters
    ----------
    std
        The standard deviation of one replication's value (``>= 0``).
    half_width
        The half-width wanted (``> 0``).
    confidence
        The confidence level, in ``(0, 1)``.
    at_least
        The fewest to return (``>= 2``).

    Examples
    --------
    >>> replications_for(1.0, 1.0, 0.95)
    7
    >>> replications_for(0.0, 1.0, 0.95, at_least=4)
    4
    """
    from scipy import stats  # imported here: a single run need not load it

    confidence = _confidence(confidence)
    if not (math.isfinite(std) and std >= 0):
        raise ValueError(f"std must be finite and >= 0, got {std}")
    if not half_width > 0:
        raise ValueError(f"half_width must be > 0, got {half_width}")
    at_least = max(int(at_least), 2)
    q = 0.5 + confidence / 2

    def enough(m: int) -> bool:
        return float(stats.t.ppf(q, m - 1)) * std / math.sqrt(m) <= half_width

    # t(m - 1) > z, so the normal quantile's count is a lower bound; the count that t
    # at the lower bound's degrees of freedom asks for is enough (t falls with m)
    low = max(at_least, math.ceil((float(stats.norm.ppf(q)) * std / half_width) ** 2))
    if enough(low):
        return low
    high = max(low + 1, math.ceil((float(stats.t.ppf(q, low - 1)) * std / half_width) ** 2))
    while not enough(high):  # only ceil's rounding could leave it short
        high += 1
    while high - low > 1:  # enough(high), not enough(low)
        mid = (low + high) // 2
        low, high = (low, mid) if enough(mid) else (mid, high)
    return high


# --------------------------------------------------------------------------- single run


def batch_means(series: ArrayLike, batches: int = 20, confidence: float = 0.95) -> Interval:
    """Confidence interval for the mean of one long, autocorrelated run.

    The series is cut into ``batches`` consecutive batches of equal size, whose means are
    nearly independent when a batch is much longer than the correlation time; the
    t-interval is taken over those means. When the length is not a multiple of
    ``batches`` the oldest remainder is dropped (it is the most exposed to warm-up).
    Truncate the warm-up first (see :mod:`simperf.metrics.warmup`).

    Parameters
    ----------
    series
        Observations in time order (finite, at least ``batches``).
    batches
        Number of batches (>= 2); 10 to 30 is the usual range.
    confidence
        The confidence level, in ``(0, 1)``.

    Returns
    -------
    Interval
        The interval; its ``n`` and ``std`` refer to the batch means.

    Examples
    --------
    >>> iv = batch_means(np.arange(100.0), batches=10)
    >>> iv.mean, iv.n
    (49.5, 10)
    """
    x = _values(series, "series")
    if int(batches) != batches or batches < 2:
        raise ValueError(f"batches must be an integer >= 2, got {batches}")
    batches = int(batches)
    size = x.size // batches
    if size == 0:
        raise ValueError(f"series has {x.size} observations, fewer than {batches} batches")
    means = x[x.size - size * batches :].reshape(batches, size).mean(axis=1)
    return t_interval(means, confidence)


# --------------------------------------------------------------------------- tables


_SUMMARY = ["mean", "std", "n", "half_width", "low", "high"]


def summarise_replications(
    df: pd.DataFrame, by: str | Sequence[str] | None = None, confidence: float = 0.95
) -> pd.DataFrame:
    """One t-interval per metric (and group) from a tidy table of replication results.

    Parameters
    ----------
    df
        Columns ``replication``, ``metric``, ``value`` and the ``by`` columns, with at most
        one row per (group, metric, replication). Missing values (NaN, None) are
        dropped: a metric undefined in some replication is summarised over the others.
    by
        Grouping column(s), e.g. ``"scenario"`` or ``["scenario", "endpoint"]``.
    confidence
        The confidence level, in ``(0, 1)``.

    Returns
    -------
    pandas.DataFrame
        One row per (group, metric) in order of first appearance, with the ``by`` columns,
        ``metric``, then ``mean``, ``std``, ``n``, ``half_width``, ``low``, ``high``. The
        numbers use pandas' nullable dtypes (``Float64``, ``Int64``): undefined values
        (the spread of one sample; everything but ``n`` when no value is present) are
        ``pd.NA``, never NaN, and ``DataFrame.to_json`` writes them as ``null``.

    Raises
    ------
    ValueError
        If a column is missing, a (group, metric, replication) repeats, or a value is not
        numeric or is infinite.

    Examples
    --------
    >>> df = pd.DataFrame({
    ...     "replication": [0, 1, 2, 0, 1, 2],
    ...     "metric": ["latency"] * 3 + ["throughput"] * 3,
    ...     "value": [0.10, 0.12, 0.11, 950.0, 1010.0, 990.0],
    ... })
    >>> out = summarise_replications(df)
    >>> out["metric"].tolist(), out["n"].tolist(), round(float(out.loc[1, "mean"]), 2)
    (['latency', 'throughput'], [3, 3], 983.33)
    >>> bool(summarise_replications(df[df.replication == 0])["half_width"].isna().all())
    True
    """
    by_cols = [] if by is None else [by] if isinstance(by, str) else list(by)
    confidence = _confidence(confidence)
    missing = [c for c in ["replication", "metric", "value", *by_cols] if c not in df.columns]
    if missing:
        raise ValueError(f"summarise_replications: missing column(s) {missing}")
    keys = [*by_cols, "metric"]
    repeated = df.duplicated([*keys, "replication"])
    if repeated.any():
        row = df.loc[repeated.idxmax(), [*keys, "replication"]].to_dict()
        raise ValueError(f"summarise_replications: more than one value for {row}")
    try:
        values = pd.to_numeric(df["value"]).astype(float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"summarise_replications: non-numeric value ({exc})") from exc

    rows = []
    for key, group in values.groupby([df[k] for k in keys], sort=False, dropna=False):
        key = key if isinstance(key, tuple) else (key,)
        present = group.to_numpy()[~np.isnan(group.to_numpy())]
        if present.size == 0:
            summary = {"mean": None, "std": None, "n": 0}
            summary |= {"half_width": None, "low": None, "high": None}
        else:
            iv = t_interval(present, confidence)
            summary = {name: getattr(iv, name) for name in _SUMMARY}
        rows.append({**dict(zip(keys, key, strict=True)), **summary})

    out = pd.DataFrame(rows, columns=[*keys, *_SUMMARY])
    return out.astype({name: "Int64" if name == "n" else "Float64" for name in _SUMMARY})
