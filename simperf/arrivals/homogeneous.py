"""Constant-rate arrivals: exact Poisson and evenly spaced (deterministic) times."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import chain, count

import numpy as np

from simperf.arrivals._checks import _check_batch
from simperf.checks import nonnegative
from simperf.rng import BATCH, exponential


def poisson_times(rate: float, rng: np.random.Generator, *, batch: int = BATCH) -> Iterator[float]:
    """Arrival times of a Poisson process with constant ``rate``.

    Parameters
    ----------
    rate
        Arrivals per second (>= 0; zero gives an empty iterator).
    rng
        The generator to draw from.
    batch
        Inter-arrival gaps drawn per numpy call.

    Returns
    -------
    Iterator[float]
        Endless increasing arrival times, in seconds.

    Examples
    --------
    >>> from itertools import islice
    >>> it = poisson_times(100.0, np.random.default_rng(1))
    >>> times = list(islice(it, 3))
    >>> len(times), 0 < times[0] < times[1] < times[2]
    (3, True)
    """
    rate = nonnegative("rate", rate)
    batch = _check_batch(batch)
    if rate == 0:
        return iter(())
    return _poisson(rate, rng, batch)


def _poisson(rate: float, rng: np.random.Generator, batch: int) -> Iterator[float]:
    # a chain over the batches' lists: no Python frame per time, as in rng.batched
    return chain.from_iterable(map(np.ndarray.tolist, poisson_batches(rate, rng, batch)))


def poisson_batches(rate: float, rng: np.random.Generator, batch: int) -> Iterator[np.ndarray]:
    """The times of :func:`poisson_times` (``rate > 0``) as arrays of ``batch`` times.

    Used whole by the vectorised fast path (:mod:`simperf.fastpath`), which must see
    exactly the times the event engine sees.
    """
    t = 0.0
    while True:
        # Offsetting a within-batch cumsum keeps the times monotone under rounding.
        times = t + np.cumsum(exponential(rng, 1.0 / rate, batch))
        t = float(times[-1])
        yield times


def deterministic_times(rate: float, *, batch: int = BATCH) -> Iterator[float]:
    """Evenly spaced arrival times ``k / rate`` for ``k = 1, 2, ...``.

    Each time is computed from its index, so there is no accumulated rounding drift.

    Parameters
    ----------
    rate
        Arrivals per second (>= 0; zero gives an empty iterator).
    batch
        Times computed per numpy call.

    Returns
    -------
    Iterator[float]
        Endless increasing arrival times, in seconds.

    Examples
    --------
    >>> from itertools import islice
    >>> list(islice(deterministic_times(4.0), 3))
    [0.25, 0.5, 0.75]
    """
    rate = nonnegative("rate", rate)
    batch = _check_batch(batch)
    if rate == 0:
        return iter(())
    return _deterministic(rate, batch)


def _deterministic(rate: float, batch: int) -> Iterator[float]:
    def times(k: int) -> list[float]:
        return (np.arange(k, k + batch, dtype=float) / rate).tolist()

    return chain.from_iterable(map(times, count(1, batch)))
