"""Streaming quantiles with a stated relative error: a log-bucketed histogram.

A value ``x`` goes to bucket ``i = ceil(log_gamma(x))``, which holds ``(gamma^(i-1),
gamma^i]``; with ``gamma = (1 + alpha) / (1 - alpha)`` the bucket's representative
``2 gamma^i / (gamma + 1)`` lies within ``alpha`` (relative) of every value in it, as in
DDSketch (Masson et al., VLDB 2019). The map from a value to its representative never
decreases, so the k-th smallest representative is within ``alpha`` of the k-th smallest
value, and so is any percentile interpolated between two ranks (a convex combination of
positive values each within ``alpha``). Counts add, so histograms of windows, classes or
replications merge exactly.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

RELATIVE_ERROR = 0.01
"""Default stated relative error of a percentile (1%)."""
SMALLEST = 1e-7
"""Values below this (0.1 us) count as 0 (their own bucket, represented by 0)."""
LARGEST = 1e7
"""Values above this (the longest simulated time) count as this."""


class LogBuckets:
    """The value <-> bucket map of a log-bucketed histogram.

    Parameters
    ----------
    relative_error
        ``alpha``: every value in a bucket is within this fraction of its representative.
    smallest, largest
        The range of values kept to ``alpha``; bucket 0 holds ``[0, smallest)`` as 0.

    Examples
    --------
    >>> b = LogBuckets(0.01)
    >>> x = np.array([0.0, 1e-3, 0.25, 7.0])
    >>> bool(np.all(np.abs(b.value(b.index(x)) - x) <= 0.01 * x))
    True
    """

    def __init__(
        self,
        relative_error: float = RELATIVE_ERROR,
        smallest: float = SMALLEST,
        largest: float = LARGEST,
    ) -> None:
        if not 0 < relative_error < 1:
            raise ValueError(f"relative_error: {relative_error} must be in (0, 1)")
        self.relative_error = relative_error
        self.gamma = (1 + relative_error) / (1 - relative_error)
        self._log_gamma = math.log(self.gamma)
        self.smallest, self.largest = smallest, largest
        # bucket 1 holds smallest itself; the last one holds largest
        self._lowest = math.ceil(math.log(smallest) / self._log_gamma)
        self.size = math.ceil(math.log(largest) / self._log_gamma) - self._lowest + 2

    def index(self, values: np.ndarray) -> np.ndarray:
        """Bucket of each value (int64, 0 for values below ``smallest``)."""
        values = np.asarray(values, dtype=float)
        index = np.zeros(values.shape, dtype=np.int64)
        positive = values >= self.smallest
        clipped = np.minimum(values[positive], self.largest)
        index[positive] = np.ceil(np.log(clipped) / self._log_gamma) - self._lowest + 1
        return np.clip(index, 0, self.size - 1)

    def value(self, index: np.ndarray) -> np.ndarray:
        """The representative value of each bucket."""
        index = np.asarray(index, dtype=np.int64)
        upper = np.exp((index + self._lowest - 1) * self._log_gamma)
        return np.where(index > 0, 2 * upper / (self.gamma + 1), 0.0)


def weighted_percentiles(
    values: np.ndarray, weights: np.ndarray, percentiles: Sequence[float]
) -> np.ndarray:
    """Percentiles of a sample given as distinct values with counts.

    Interpolates linearly between the two ranks around ``q (n - 1)`` as
    :func:`numpy.percentile` does, so that with unit weights both agree.

    Parameters
    ----------
    values
        The values (any order).
    weights
        How many times each value occurs (non-negative integers).
    percentiles
        In ``[0, 100]``.

    Returns
    -------
    numpy.ndarray
        One value per percentile; NaN when the weights sum to 0.
    """
    weights = np.asarray(weights)
    order = np.argsort(values, kind="stable")
    ordered = np.asarray(values, dtype=float)[order]
    cumulative = np.cumsum(weights[order])
    n = int(cumulative[-1]) if cumulative.size else 0
    if n == 0:
        return np.full(len(percentiles), np.nan)
    rank = np.asarray(percentiles, dtype=float) / 100.0 * (n - 1)
    below, above = np.floor(rank), np.ceil(rank)
    # the value at 0-based rank r: the first whose cumulative count exceeds r
    low = ordered[np.searchsorted(cumulative, below, side="right")]
    high = ordered[np.searchsorted(cumulative, above, side="right")]
    return low + (high - low) * (rank - below)


class StreamingQuantiles:
    """Percentiles of a stream in constant memory, within a stated relative error.

    Parameters
    ----------
    buckets
        The bucket map (default: :data:`RELATIVE_ERROR`, 0.1 us to 10^7 s).

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> x = rng.exponential(0.1, 100_000)
    >>> sketch = StreamingQuantiles()
    >>> sketch.add(x[:50_000]); sketch.add(x[50_000:])
    >>> exact, approx = np.percentile(x, 99), sketch.percentiles([99])[0]
    >>> bool(abs(approx - exact) <= sketch.relative_error * exact)
    True
    """

    def __init__(self, buckets: LogBuckets | None = None) -> None:
        self.buckets = buckets or LogBuckets()
        self.counts = np.zeros(self.buckets.size, dtype=np.int64)

    @property
    def relative_error(self) -> float:
        """The stated relative error of every percentile."""
        return self.buckets.relative_error

    @property
    def count(self) -> int:
        """Values added so far."""
        return int(self.counts.sum())

    def add(self, values: np.ndarray) -> None:
        """Add a batch of non-negative values."""
        self.counts += np.bincount(self.buckets.index(values), minlength=self.buckets.size)

    def merge(self, other: StreamingQuantiles) -> None:
        """Add another histogram's values (same bucket map): exact, counts add."""
        if other.buckets.size != self.buckets.size or other.relative_error != self.relative_error:
            raise ValueError("histograms with different buckets cannot merge")
        self.counts += other.counts

    def percentiles(self, percentiles: Sequence[float]) -> np.ndarray:
        """The percentiles of the values added, each within :attr:`relative_error`."""
        held = np.flatnonzero(self.counts)
        return weighted_percentiles(self.buckets.value(held), self.counts[held], percentiles)
