"""Diurnal (cosine) rate profiles: exact times by thinning at the peak rate."""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np

from simperf.arrivals._checks import _check_batch
from simperf.checks import finite, nonnegative, positive
from simperf.rng import BATCH


def diurnal_times(
    mean_rate: float,
    amplitude: float,
    period: float,
    peak_time: float,
    rng: np.random.Generator,
    *,
    batch: int = BATCH,
) -> Iterator[float]:
    """Arrival times of a Poisson process with a sinusoidal (diurnal) rate.

    The rate is ``mean_rate * (1 + amplitude * cos(2 pi (t - peak_time) / period))``,
    whose average over a period is ``mean_rate``. Times are exact: candidates from a
    Poisson process at the peak rate ``mean_rate * (1 + amplitude)`` are each kept with
    probability ``rate(t) / peak rate`` (Lewis-Shedler thinning), so at least half of the
    candidates are kept.

    Parameters
    ----------
    mean_rate
        Mean arrivals per second (>= 0; zero gives an empty iterator).
    amplitude
        Relative amplitude, in ``[0, 1]`` (1 makes the trough rate zero).
    period
        Period of the cycle in seconds (e.g. 86400 for a day).
    peak_time
        A time of peak rate, in seconds.
    rng
        The generator to draw from.
    batch
        Candidates drawn per numpy call.

    Returns
    -------
    Iterator[float]
        Endless increasing arrival times, in seconds.

    Examples
    --------
    >>> from itertools import islice
    >>> it = diurnal_times(100.0, 0.5, 60.0, 15.0, np.random.default_rng(3))
    >>> times = list(islice(it, 1000))
    >>> all(a < b for a, b in zip(times, times[1:]))
    True
    """
    mean_rate = nonnegative("mean_rate", mean_rate)
    amplitude = nonnegative("amplitude", amplitude)
    if amplitude > 1:
        raise ValueError(f"amplitude must be in [0, 1], got {amplitude}")
    period = positive("period", period)
    peak_time = finite("peak_time", peak_time)
    batch = _check_batch(batch)
    if mean_rate == 0:
        return iter(())
    return _diurnal(mean_rate, amplitude, period, peak_time, rng, batch)


def diurnal_cumulative(
    t: float, mean_rate: float, amplitude: float, period: float, peak_time: float
) -> float:
    """Integrated rate (expected number of arrivals in ``[0, t]``) of a diurnal profile.

    Parameters
    ----------
    t
        Time in seconds (>= 0).
    mean_rate, amplitude, period, peak_time
        The profile, as in :func:`diurnal_times`.

    Returns
    -------
    float
        ``mean_rate * t`` plus the cosine's integral, which is zero over whole periods.

    Examples
    --------
    >>> diurnal_cumulative(60.0, 100.0, 0.5, 60.0, 15.0)
    6000.0
    >>> round(diurnal_cumulative(30.0, 100.0, 0.5, 60.0, 0.0), 6)
    3000.0
    >>> round(diurnal_cumulative(15.0, 100.0, 0.5, 60.0, 0.0), 3)  # 1500 + 50 * 60 / (2 pi)
    1977.465
    """
    t = nonnegative("t", t)
    scale = 2.0 * math.pi / period
    # sin of the phase reduced modulo the period first: sin of a huge argument loses digits
    swing = math.sin(math.fmod(t - peak_time, period) * scale) + math.sin(peak_time * scale)
    return mean_rate * (t + amplitude * swing / scale)


def _diurnal(
    mean_rate: float,
    amplitude: float,
    period: float,
    peak_time: float,
    rng: np.random.Generator,
    batch: int,
) -> Iterator[float]:
    peak_rate = mean_rate * (1.0 + amplitude)
    t = 0.0
    while True:
        candidates = t + np.cumsum(rng.exponential(1.0 / peak_rate, batch))
        t = float(candidates[-1])
        u = rng.random(batch)
        # Reduce the phase modulo the period first: cos of a huge argument loses digits.
        phase = np.mod(candidates - peak_time, period) * (2.0 * math.pi / period)
        keep = u * (1.0 + amplitude) < 1.0 + amplitude * np.cos(phase)
        yield from candidates[keep].tolist()
