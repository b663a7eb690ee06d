"""Two-state Markov-modulated Poisson processes: mean rate, index of dispersion, times."""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from typing import Literal

import numpy as np

from simperf.arrivals._checks import _check_batch, _monotone
from simperf.checks import nonnegative, positive
from simperf.rng import BATCH

# A sojourn expected to hold more arrivals than this many batches is streamed in batches
# rather than drawn at once, so memory stays bounded whatever the rates and sojourns.
_BIG_SOJOURN_BATCHES = 16
# Upper bound on sojourns drawn per MMPP batch when sojourns hold very few arrivals.
_MAX_SOJOURNS = 1 << 16


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
        (nonnegative("rates[0]", l0), nonnegative("rates[1]", l1)),
        (positive("mean_sojourns[0]", s0), positive("mean_sojourns[1]", s1)),
    )


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
    window = positive("window", window)
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
