"""Arrival-time generators: exact Poisson, time-varying and Markov-modulated streams.

Every generator returns an endless iterator of absolute arrival times (seconds, increasing,
all after ``t = 0``). Times are drawn as numpy batches and handed out as Python floats, so
an arrival loop pays one ``next(it)`` per request and nothing else. Each generator takes the
``numpy.random.Generator`` of its purpose (see :mod:`simperf.rng`) and gives the same times
for the same generator state.

All profiles are exact, not approximations by windows:

- :func:`piecewise_times` maps a unit-rate Poisson process through the inverse of the
  integrated rate (zero-rate segments simply receive no arrivals);
- :func:`diurnal_times` thins a Poisson process at the peak rate (Lewis and Shedler);
- :func:`mmpp2_times` alternates exponential sojourns and draws a Poisson count with
  uniform positions in each one.

A rate of zero everywhere gives an empty iterator, and a non-periodic piecewise profile
whose last rate is zero gives a finite one: arrival loops should use ``next(it, None)``
(or ``for t in it``) rather than assume the stream never ends.

Scaling the load
----------------
Specs keep ``rate`` as the long-run mean of every profile, so a what-if that scales the
load multiplies every rate of the profile by ``target / current_mean``:

- piecewise: :func:`profile_mean_rate` gives the current mean and :func:`scaled_profile`
  returns the rescaled rates;
- diurnal: ``mean_rate`` is already the mean (the cosine averages to zero over a period);
- MMPP-2: multiply both rates by ``target / mmpp2_mean_rate(...)``; the sojourns (the
  burst timing) are unchanged and ``index of dispersion - 1`` scales by the same factor.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from typing import Literal

import numpy as np

from simperf.rng import BATCH

__all__ = [
    "deterministic_times",
    "diurnal_times",
    "mmpp2_index_of_dispersion",
    "mmpp2_mean_rate",
    "mmpp2_times",
    "piecewise_cumulative",
    "piecewise_times",
    "poisson_times",
    "profile_mean_rate",
    "scaled_profile",
]

# A sojourn expected to hold more arrivals than this many batches is streamed in batches
# rather than drawn at once, so memory stays bounded whatever the rates and sojourns.
_BIG_SOJOURN_BATCHES = 16
# Upper bound on sojourns drawn per MMPP batch when sojourns hold very few arrivals.
_MAX_SOJOURNS = 1 << 16


# --------------------------------------------------------------------------- validation


def _finite(value: float, name: str) -> float:
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    return value


def _non_negative(value: float, name: str) -> float:
    value = _finite(value, name)
    if value < 0:
        raise ValueError(f"{name} must be >= 0, got {value}")
    return value


def _positive(value: float, name: str) -> float:
    value = _finite(value, name)
    if value <= 0:
        raise ValueError(f"{name} must be > 0, got {value}")
    return value


def _check_batch(batch: int) -> int:
    if int(batch) != batch or batch < 1:
        raise ValueError(f"batch must be a positive integer, got {batch}")
    return int(batch)


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
        period = _positive(period, "period")
        if period <= s[-1]:
            raise ValueError(f"period ({period}) must exceed the last start ({s[-1]})")
    return s, r, period


def _pair(values: Sequence[float], name: str) -> tuple[float, float]:
    if len(values) != 2:
        raise ValueError(f"{name} must have exactly two values, got {len(values)}")
    return float(values[0]), float(values[1])


def _mmpp2(
    rates: Sequence[float], mean_sojourns: Sequence[float]
) -> tuple[tuple[float, float], tuple[float, float]]:
    l0, l1 = _pair(rates, "rates")
    s0, s1 = _pair(mean_sojourns, "mean_sojourns")
    return (
        (_non_negative(l0, "rates[0]"), _non_negative(l1, "rates[1]")),
        (_positive(s0, "mean_sojourns[0]"), _positive(s1, "mean_sojourns[1]")),
    )


def _monotone(chunks: Iterator[np.ndarray]) -> Iterator[float]:
    """Hand out the times of ``chunks`` as floats, never decreasing.

    Mapping arrivals back to time rounds independently on each side of a segment or
    sojourn boundary, which can reorder two arrivals by one ulp; a running maximum
    removes that without moving any time by more than that ulp.
    """
    last = -math.inf
    for chunk in chunks:
        if chunk.size == 0:
            continue
        chunk = np.maximum.accumulate(chunk)
        if chunk[0] < last:
            chunk = np.maximum(chunk, last)
        last = float(chunk[-1])
        yield from chunk.tolist()


# --------------------------------------------------------------------------- homogeneous


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
    rate = _non_negative(rate, "rate")
    batch = _check_batch(batch)
    if rate == 0:
        return iter(())
    return _poisson(rate, rng, batch)


def _poisson(rate: float, rng: np.random.Generator, batch: int) -> Iterator[float]:
    t = 0.0
    while True:
        # Offsetting a within-batch cumsum keeps the times monotone under rounding.
        times = t + np.cumsum(rng.exponential(1.0 / rate, batch))
        t = float(times[-1])
        yield from times.tolist()


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
    rate = _non_negative(rate, "rate")
    batch = _check_batch(batch)
    if rate == 0:
        return iter(())
    return _deterministic(rate, batch)


def _deterministic(rate: float, batch: int) -> Iterator[float]:
    k = 1
    while True:
        yield from (np.arange(k, k + batch, dtype=float) / rate).tolist()
        k += batch


# --------------------------------------------------------------------------- piecewise


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
        length = _positive(horizon, "horizon")
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
    mean_rate = _non_negative(mean_rate, "mean_rate")
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


# --------------------------------------------------------------------------- diurnal


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
    mean_rate = _non_negative(mean_rate, "mean_rate")
    amplitude = _non_negative(amplitude, "amplitude")
    if amplitude > 1:
        raise ValueError(f"amplitude must be in [0, 1], got {amplitude}")
    period = _positive(period, "period")
    peak_time = _finite(peak_time, "peak_time")
    batch = _check_batch(batch)
    if mean_rate == 0:
        return iter(())
    return _diurnal(mean_rate, amplitude, period, peak_time, rng, batch)


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


# --------------------------------------------------------------------------- MMPP-2


def mmpp2_mean_rate(rates: Sequence[float], mean_sojourns: Sequence[float]) -> float:
    """Stationary mean arrival rate of a two-state MMPP.

    State ``i`` holds for a fraction ``s_i / (s_0 + s_1)`` of the time, so the mean is
    ``(l_0 s_0 + l_1 s_1) / (s_0 + s_1)``.

    Parameters
    ----------
    rates
        Arrivals per second in states 0 and 1 (>= 0).
    mean_sojourns
        Mean time in seconds spent in states 0 and 1 per visit (> 0).

    Returns
    -------
    float
        Mean arrivals per second.

    Examples
    --------
    >>> mmpp2_mean_rate([50.0, 500.0], [2.0, 0.5])
    140.0
    """
    (l0, l1), (s0, s1) = _mmpp2(rates, mean_sojourns)
    return (l0 * s0 + l1 * s1) / (s0 + s1)


def mmpp2_index_of_dispersion(
    rates: Sequence[float], mean_sojourns: Sequence[float], window: float
) -> float:
    """Index of dispersion for counts, ``Var N(t) / E N(t)``, of a stationary MMPP-2.

    With switching rates ``r_i = 1 / s_i``, ``a = r_0 + r_1`` and ``x = a t``::

        IDC(t) = 1 + 2 (l_0 - l_1)^2 r_0 r_1 / (a^2 (l_0 r_1 + l_1 r_0))
                   * (1 - (1 - exp(-x)) / x)

    It follows from ``Var N(t) = m t + 2 int_0^t (t - u) c(u) du`` with the stationary
    rate covariance ``c(u) = pi_0 pi_1 (l_0 - l_1)^2 exp(-a u)``. It is 1 (Poisson) when
    the rates are equal or as ``t -> 0``, and grows to its limit over a few ``1 / a``.

    Parameters
    ----------
    rates
        Arrivals per second in states 0 and 1 (>= 0, not both 0).
    mean_sojourns
        Mean time in seconds spent in states 0 and 1 per visit (> 0).
    window
        Length ``t`` of the counting window in seconds (> 0).

    Returns
    -------
    float
        The index of dispersion (>= 1).

    Examples
    --------
    >>> mmpp2_index_of_dispersion([100.0, 100.0], [1.0, 1.0], 10.0)
    1.0
    >>> round(mmpp2_index_of_dispersion([5.0, 50.0], [2.0, 0.5], 1e6), 3)
    19.514
    """
    (l0, l1), (s0, s1) = _mmpp2(rates, mean_sojourns)
    window = _positive(window, "window")
    r0, r1 = 1.0 / s0, 1.0 / s1
    a = r0 + r1
    weighted = l0 * r1 + l1 * r0
    if weighted == 0:
        raise ValueError("the index of dispersion is undefined when both rates are 0")
    x = a * window
    growth = 1.0 + math.expm1(-x) / x  # 1 - (1 - e^-x) / x without cancellation in e^-x
    return 1.0 + 2.0 * (l0 - l1) ** 2 * r0 * r1 / (a * a * weighted) * growth


def mmpp2_times(
    rates: Sequence[float],
    mean_sojourns: Sequence[float],
    rng: np.random.Generator,
    start_state: int | None = None,
    *,
    method: Literal["auto", "sojourns", "thinning"] = "auto",
    batch: int = BATCH,
) -> Iterator[float]:
    """Arrival times of a two-state Markov-modulated Poisson process (MMPP-2).

    The process alternates between states 0 and 1; a visit to state ``i`` lasts an
    exponential time with mean ``mean_sojourns[i]``, during which arrivals form a Poisson
    process at ``rates[i]``. A typical use is bursts: a quiet state and a short busy one.
    Two exact methods are available, and by default the cheaper one is used:

    - ``"sojourns"`` draws the sojourns, then a Poisson count with uniform positions in
      each (very long sojourns are streamed by exponential gaps, to bound memory); its
      cost is one draw per sojourn and per arrival;
    - ``"thinning"`` draws candidates at ``max(rates)``, samples the state at each from
      the exact two-state transition law ``P(gap) = e^{-a gap} I + (1 - e^{-a gap}) 1 pi``
      and keeps a candidate with probability ``rates[state] / max(rates)``; its cost is
      one draw per candidate, whatever the sojourns.

    ``"auto"`` uses thinning when it wastes fewer than two candidates per cycle of the
    two states, i.e. when sojourns are short next to the gaps between arrivals, where the
    sojourn method would spend most of its time on sojourns without arrivals.

    Parameters
    ----------
    rates
        Arrivals per second in states 0 and 1 (>= 0; both zero gives an empty iterator).
    mean_sojourns
        Mean time in seconds per visit to states 0 and 1 (> 0).
    rng
        The generator to draw from.
    start_state
        0 or 1; by default the state at ``t = 0`` is drawn from the stationary
        distribution, which (the sojourns being memoryless) makes the whole stream
        stationary, with mean rate :func:`mmpp2_mean_rate`.
    method
        ``"auto"``, ``"sojourns"`` or ``"thinning"`` (see above); all give the same law.
    batch
        Approximate number of arrivals (or candidates) drawn per numpy call.

    Returns
    -------
    Iterator[float]
        Endless increasing arrival times, in seconds.

    Examples
    --------
    >>> from itertools import islice
    >>> it = mmpp2_times([5.0, 50.0], [2.0, 0.5], np.random.default_rng(11))
    >>> times = list(islice(it, 1000))
    >>> all(a <= b for a, b in zip(times, times[1:])) and times[0] > 0
    True
    """
    (l0, l1), (s0, s1) = _mmpp2(rates, mean_sojourns)
    batch = _check_batch(batch)
    if start_state is None:
        start_state = 0 if rng.random() < s0 / (s0 + s1) else 1
    elif start_state not in (0, 1):
        raise ValueError(f"start_state must be 0, 1 or None, got {start_state}")
    if method not in ("auto", "sojourns", "thinning"):
        raise ValueError(f"method must be 'auto', 'sojourns' or 'thinning', got {method!r}")
    if l0 == 0 and l1 == 0:
        return iter(())
    rates_, sojourns_ = np.array([l0, l1]), np.array([s0, s1])
    if method == "auto":
        per_cycle = l0 * s0 + l1 * s1
        wasted = max(l0, l1) * (s0 + s1) - per_cycle
        method = "thinning" if wasted < 2.0 else "sojourns"
    if method == "thinning":
        return _monotone(_mmpp2_thinned(rates_, sojourns_, int(start_state), rng, batch))
    return _monotone(_mmpp2_chunks(rates_, sojourns_, int(start_state), rng, batch))


def _mmpp2_thinned(
    rates: np.ndarray, sojourns: np.ndarray, state: int, rng: np.random.Generator, batch: int
) -> Iterator[np.ndarray]:
    peak = float(rates.max())
    a = float(np.sum(1.0 / sojourns))
    pi1 = float(sojourns[1] / sojourns.sum())
    index = np.arange(batch)
    t = 0.0
    while True:
        gaps = rng.exponential(1.0 / peak, batch)
        times = t + np.cumsum(gaps)
        # Over a gap the chain either keeps its state (probability e^{-a gap}) or forgets
        # it and restarts from the stationary law: the exact 2-state transition matrix.
        forget = rng.random(batch) < -np.expm1(-a * gaps)
        fresh = (rng.random(batch) < pi1).astype(np.intp)
        last = np.maximum.accumulate(np.where(forget, index, -1))
        states = np.where(last >= 0, fresh[np.maximum(last, 0)], state)
        keep = rng.random(batch) * peak < rates[states]
        state = int(states[-1])
        t = float(times[-1])
        yield times[keep]


def _mmpp2_chunks(
    rates: np.ndarray, sojourns: np.ndarray, state: int, rng: np.random.Generator, batch: int
) -> Iterator[np.ndarray]:
    per_cycle = float(rates @ sojourns)  # expected arrivals in one visit to each state
    cycles = int(min(max(math.ceil(batch / per_cycle), 1), _MAX_SOJOURNS // 2))
    big = _BIG_SOJOURN_BATCHES * batch
    n = 2 * cycles  # an even count, so every batch starts in the same state
    states = (state + np.arange(n)) % 2
    rate = rates[states]
    t = 0.0
    while True:
        length = rng.standard_exponential(n) * sojourns[states]
        end = t + np.cumsum(length)
        begin = np.concatenate([[t], end[:-1]])
        expected = rate * length
        first = 0
        for k in [*np.flatnonzero(expected > big).tolist(), n]:
            if k > first:
                yield _scatter(begin[first:k], length[first:k], expected[first:k], rng)
            if k < n:
                yield from _stream(float(begin[k]), float(end[k]), float(rate[k]), rng, batch)
            first = k + 1
        t = float(end[-1])


def _scatter(
    begin: np.ndarray, length: np.ndarray, expected: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Poisson arrivals in consecutive sojourns: a Poisson count, uniform positions."""
    counts = rng.poisson(expected)
    which = np.repeat(np.arange(begin.size), counts)
    return np.sort(begin[which] + rng.random(which.size) * length[which])


def _stream(
    begin: float, end: float, rate: float, rng: np.random.Generator, batch: int
) -> Iterator[np.ndarray]:
    """Poisson arrivals in ``[begin, end)`` by exponential gaps, a batch at a time."""
    t = begin
    while True:
        times = t + np.cumsum(rng.exponential(1.0 / rate, batch))
        if times[-1] >= end:
            yield times[times < end]
            return
        yield times
        t = float(times[-1])
