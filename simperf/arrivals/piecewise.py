"""Piecewise-constant rate profiles: exact times by inverting the integrated rate,
the profile's mean rate and its rescaling to a target mean."""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence

import numpy as np

from simperf.arrivals._checks import _check_batch, _monotone
from simperf.checks import nonnegative, positive
from simperf.rng import BATCH


def _profile(
    starts: Sequence[float], rates: Sequence[float], period: float | None
) -> tuple[np.ndarray, np.ndarray, float | None]:
    """Validate a piecewise profile and return it as float arrays."""
    s = np.asarray(starts, dtype=float)
    r = np.asarray(rates, dtype=float)
    if s.ndim != 1 or s.size == 0 or s.shape != r.shape:
        raise ValueError("starts and rates must be non-empty sequences of the same length")
    if not (np.all(np.isfinite(s)) and np.all(np.isfinite(r))):
        raise ValueError("starts and rates must be finite")
    if s[0] != 0:
        raise ValueError(f"the first segment must start at 0, got {s[0]}")
    if np.any(np.diff(s) <= 0):
        raise ValueError("starts must be strictly increasing")
    if np.any(r < 0):
        raise ValueError("rates must be >= 0")
    if period is not None:
        period = positive("period", period)
        if period <= s[-1]:
            raise ValueError(f"period ({period}) must exceed the last start ({s[-1]})")
    return s, r, period


def piecewise_cumulative(
    t: float | np.ndarray,
    starts: Sequence[float],
    rates: Sequence[float],
    period: float | None = None,
) -> float | np.ndarray:
    """Integrated rate (expected number of arrivals in ``[0, t]``) of a piecewise profile.

    Parameters
    ----------
    t
        Time or array of times (>= 0), in seconds.
    starts, rates, period
        The profile, as in :func:`piecewise_times`.

    Returns
    -------
    float or numpy.ndarray
        The expected count at each ``t`` (a float for a scalar ``t``).

    Examples
    --------
    >>> piecewise_cumulative(15.0, [0, 10], [2.0, 5.0])
    45.0
    >>> piecewise_cumulative(25.0, [0, 10], [2.0, 5.0], period=20)
    80.0
    """
    s, r, period = _profile(starts, rates, period)
    tt = np.asarray(t, dtype=float)
    if np.any(~np.isfinite(tt)) or np.any(tt < 0):
        raise ValueError("t must be finite and >= 0")
    at_start = np.concatenate([[0.0], np.cumsum(r[:-1] * np.diff(s))])
    if period is None:
        cycles, within, per_period = np.zeros_like(tt), tt, 0.0
    else:
        per_period = float(at_start[-1] + r[-1] * (period - s[-1]))
        cycles = np.floor(tt / period)
        within = np.clip(tt - cycles * period, 0.0, period)
    j = np.searchsorted(s, within, side="right") - 1
    out = cycles * per_period + at_start[j] + r[j] * (within - s[j])
    return float(out) if out.ndim == 0 else out


def profile_mean_rate(
    starts: Sequence[float],
    rates: Sequence[float],
    period: float | None = None,
    horizon: float | None = None,
) -> float:
    """The mean rate of a piecewise profile: what a spec's ``rate`` denotes.

    A periodic profile's mean is its time average over one period, which is also its
    long-run mean; ``horizon`` is then ignored. A non-periodic profile's long-run mean
    would be its last rate alone, which says nothing about a ramp or a spike, so its mean
    is defined over the run instead: the expected count in ``[0, horizon]`` divided by
    ``horizon``, and ``horizon`` is required.

    Parameters
    ----------
    starts, rates, period
        The profile, as in :func:`piecewise_times`.
    horizon
        The run length in seconds; required (and used) only when ``period`` is None.

    Returns
    -------
    float
        Mean arrivals per second.

    Raises
    ------
    ValueError
        If the profile is invalid, or it is not periodic and no ``horizon`` is given.

    Examples
    --------
    >>> profile_mean_rate([0, 10], [100.0, 400.0], period=40)
    325.0
    >>> profile_mean_rate([0, 10], [100.0, 400.0], horizon=20)
    250.0
    """
    s, r, period = _profile(starts, rates, period)
    if period is None:
        if horizon is None:
            raise ValueError("a non-periodic profile needs a horizon to define its mean rate")
        length = positive("horizon", horizon)
    else:
        length = period
    return float(piecewise_cumulative(length, s, r, period)) / length


def scaled_profile(
    starts: Sequence[float],
    rates: Sequence[float],
    mean_rate: float,
    period: float | None = None,
    horizon: float | None = None,
) -> list[float]:
    """Rates of the same profile shape rescaled so that its mean is ``mean_rate``.

    The mean is defined as in :func:`profile_mean_rate`; every rate is multiplied by the
    same factor, so zero segments stay zero and the shape is kept.

    Parameters
    ----------
    starts, rates, period, horizon
        The profile, as in :func:`profile_mean_rate`.
    mean_rate
        The requested mean arrivals per second (>= 0).

    Returns
    -------
    list[float]
        The new rates, one per segment.

    Raises
    ------
    ValueError
        If the profile is all zero and ``mean_rate`` is not.

    Examples
    --------
    >>> scaled_profile([0, 10], [100.0, 400.0], 650.0, period=40)
    [200.0, 800.0]
    """
    mean_rate = nonnegative("mean_rate", mean_rate)
    current = profile_mean_rate(starts, rates, period, horizon)
    if current == 0:
        if mean_rate == 0:
            return [0.0] * len(rates)
        raise ValueError("cannot scale an all-zero rate profile to a positive mean")
    factor = mean_rate / current
    return [float(x) * factor for x in rates]


def piecewise_times(
    starts: Sequence[float],
    rates: Sequence[float],
    rng: np.random.Generator,
    period: float | None = None,
    *,
    batch: int = BATCH,
) -> Iterator[float]:
    """Arrival times of a Poisson process with a piecewise-constant rate.

    Segment ``i`` runs from ``starts[i]`` to ``starts[i + 1]`` at ``rates[i]``. Without a
    ``period`` the last rate continues forever (if it is zero the iterator ends after the
    last arrival); with one, the profile repeats every ``period`` seconds.

    Times are exact: the arrival times ``E_1 < E_2 < ...`` of a unit-rate Poisson process
    are mapped through the inverse of the integrated rate ``Lambda(t)``, which is linear on
    every segment. Zero-rate segments take no room in ``E`` and get no arrivals.

    Parameters
    ----------
    starts
        Segment start times in seconds, strictly increasing, the first 0.
    rates
        Arrivals per second in each segment (>= 0).
    rng
        The generator to draw from.
    period
        If given, the profile repeats with this period, which must exceed the last start.
    batch
        Unit-rate arrivals drawn per numpy call.

    Returns
    -------
    Iterator[float]
        Increasing arrival times, in seconds.

    Examples
    --------
    Busy for 10 s, silent for 20 s, repeating every 30 s:

    >>> from itertools import islice
    >>> it = piecewise_times([0, 10], [50.0, 0.0], np.random.default_rng(7), period=30)
    >>> times = np.array(list(islice(it, 2000)))
    >>> bool(np.all(times % 30 < 10))
    True
    """
    s, r, period = _profile(starts, rates, period)
    batch = _check_batch(batch)
    ends = np.append(s[1:], math.inf if period is None else period)
    busy = r > 0
    if not np.any(busy):
        return iter(())
    # Only positive-rate segments need inverting: they tile the unit-rate axis.
    seg_start, seg_end, seg_rate = s[busy], ends[busy], r[busy]
    mass = seg_rate * (seg_end - seg_start)  # infinite for an endless last segment
    at_start = np.concatenate([[0.0], np.cumsum(mass[:-1])])
    total = float(at_start[-1] + mass[-1])
    segments = (seg_start, seg_end, seg_rate, at_start)
    if period is None:
        return _monotone(_piecewise_once(segments, total, rng, batch))
    return _monotone(_piecewise_periodic(segments, total, period, rng, batch))


def _invert(segments: tuple[np.ndarray, ...], e: np.ndarray) -> np.ndarray:
    """Map unit-rate times ``e`` (within one profile pass) to real times."""
    seg_start, seg_end, seg_rate, at_start = segments
    j = np.searchsorted(at_start, e, side="right") - 1
    # Clipping keeps rounding from pushing an arrival past its segment's end.
    return np.minimum(seg_start[j] + (e - at_start[j]) / seg_rate[j], seg_end[j])


def _piecewise_once(
    segments: tuple[np.ndarray, ...], total: float, rng: np.random.Generator, batch: int
) -> Iterator[np.ndarray]:
    e0 = 0.0
    while True:
        e = e0 + np.cumsum(rng.standard_exponential(batch))
        e0 = float(e[-1])
        if e0 >= total:  # only when the last rate is zero: the stream ends
            yield _invert(segments, e[e < total])
            return
        yield _invert(segments, e)


def _piecewise_periodic(
    segments: tuple[np.ndarray, ...],
    per_period: float,
    period: float,
    rng: np.random.Generator,
    batch: int,
) -> Iterator[np.ndarray]:
    # Carry the unit-rate time as (whole periods, remainder) so it never grows large.
    cycles0, rem0 = 0.0, 0.0
    while True:
        e = rem0 + np.cumsum(rng.standard_exponential(batch))
        cycles = np.floor(e / per_period)
        rem = np.clip(e - cycles * per_period, 0.0, per_period)
        yield (cycles0 + cycles) * period + _invert(segments, rem)
        cycles0 += float(cycles[-1])
        rem0 = float(rem[-1])
