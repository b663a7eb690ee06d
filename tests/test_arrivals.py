"""Arrival-time generators: exact rates, profiles and burstiness, checked statistically.

Every statistical bound is set so that a correct generator fails with probability at most
about 1e-4 (two-sided, Bonferroni-corrected across windows), and the seeds are fixed, so
the outcomes are deterministic.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from itertools import islice, pairwise, takewhile

import numpy as np
import pytest
from scipy import integrate, stats

from simperf import arrivals
from simperf.arrivals import (
    deterministic_times,
    diurnal_times,
    mmpp2_index_of_dispersion,
    mmpp2_mean_rate,
    mmpp2_times,
    piecewise_cumulative,
    piecewise_times,
    poisson_times,
    profile_mean_rate,
    scaled_profile,
)

ALPHA = 1e-4  # family-wise false-failure probability of each statistical test


def rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def until(it: Iterator[float], horizon: float) -> np.ndarray:
    """The arrival times before ``horizon``."""
    return np.fromiter(takewhile(lambda t: t < horizon, it), dtype=float)


def poisson_bounds(mu: np.ndarray | float, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """Two-sided bounds that a Poisson(mu) count leaves with probability <= alpha."""
    return stats.poisson.ppf(alpha / 2, mu), stats.poisson.isf(alpha / 2, mu)


def assert_windows_consistent(times: np.ndarray, edges: np.ndarray, expected: np.ndarray) -> None:
    """Each window count, and the total, is within Bonferroni-corrected Poisson bounds."""
    counts, _ = np.histogram(times, bins=edges)
    lo, hi = poisson_bounds(expected, ALPHA / (len(expected) + 1))
    bad = np.flatnonzero((counts < lo) | (counts > hi))
    assert bad.size == 0, (
        f"{bad.size} windows out of bounds, e.g. [{edges[bad[0]]}, {edges[bad[0] + 1]}): "
        f"{counts[bad[0]]} arrivals, expected {expected[bad[0]]:.1f}"
    )
    lo, hi = poisson_bounds(expected.sum(), ALPHA / (len(expected) + 1))
    assert lo <= counts.sum() <= hi


def t_half_width(x: np.ndarray, confidence: float) -> float:
    return float(stats.t.ppf(0.5 + confidence / 2, x.size - 1) * x.std(ddof=1) / math.sqrt(x.size))


# --------------------------------------------------------------------------- generic


GENERATORS: dict[str, Callable[[np.random.Generator], Iterator[float]]] = {
    "poisson": lambda g: poisson_times(250.0, g),
    "piecewise": lambda g: piecewise_times([0, 1, 3], [400.0, 0.0, 100.0], g, period=4),
    "piecewise-once": lambda g: piecewise_times([0, 1, 3], [400.0, 0.0, 100.0], g),
    "diurnal": lambda g: diurnal_times(200.0, 0.9, 10.0, 2.5, g),
    "mmpp2-sojourns": lambda g: mmpp2_times([10.0, 400.0], [1.0, 0.2], g),
    "mmpp2-thinning": lambda g: mmpp2_times([10.0, 400.0], [0.001, 0.002], g),
}


@pytest.mark.parametrize("name", GENERATORS)
def test_times_increase_after_zero_and_repeat_for_a_seed(name: str) -> None:
    make = GENERATORS[name]
    first = list(islice(make(rng(42)), 20_000))
    again = list(islice(make(rng(42)), 20_000))
    other = list(islice(make(rng(43)), 20_000))
    assert all(isinstance(t, float) for t in first[:10])
    assert first == again
    assert first != other
    x = np.array(first)
    assert x[0] > 0
    assert np.all(np.diff(x) > 0)


def test_zero_rates_give_empty_streams() -> None:
    assert list(poisson_times(0.0, rng(0))) == []
    assert list(deterministic_times(0.0)) == []
    assert list(diurnal_times(0.0, 0.5, 10.0, 0.0, rng(0))) == []
    assert list(mmpp2_times([0.0, 0.0], [1.0, 1.0], rng(0))) == []
    assert list(piecewise_times([0, 5], [0.0, 0.0], rng(0), period=10)) == []


@pytest.mark.parametrize(
    "call",
    [
        lambda: poisson_times(-1.0, rng(0)),
        lambda: poisson_times(math.inf, rng(0)),
        lambda: deterministic_times(math.nan),
        lambda: piecewise_times([1, 2], [1.0, 1.0], rng(0)),
        lambda: piecewise_times([0, 2, 2], [1.0, 1.0, 1.0], rng(0)),
        lambda: piecewise_times([0, 2], [1.0], rng(0)),
        lambda: piecewise_times([0, 2], [1.0, -1.0], rng(0)),
        lambda: piecewise_times([0, 2], [1.0, 1.0], rng(0), period=2),
        lambda: diurnal_times(1.0, 1.5, 10.0, 0.0, rng(0)),
        lambda: diurnal_times(1.0, 0.5, 0.0, 0.0, rng(0)),
        lambda: mmpp2_times([1.0, 2.0], [1.0, 0.0], rng(0)),
        lambda: mmpp2_times([1.0, 2.0, 3.0], [1.0, 1.0], rng(0)),
        lambda: mmpp2_times([1.0, 2.0], [1.0, 1.0], rng(0), start_state=2),
        lambda: mmpp2_times([1.0, 2.0], [1.0, 1.0], rng(0), method="exact"),
        lambda: poisson_times(1.0, rng(0), batch=0),
        lambda: mmpp2_index_of_dispersion([0.0, 0.0], [1.0, 1.0], 1.0),
        lambda: mmpp2_index_of_dispersion([1.0, 2.0], [1.0, 1.0], 0.0),
        lambda: profile_mean_rate([0, 5], [1.0, 2.0]),
        lambda: scaled_profile([0, 5], [0.0, 0.0], 10.0, period=10),
    ],
)
def test_invalid_arguments_raise_eagerly(call: Callable[[], object]) -> None:
    with pytest.raises(ValueError):
        call()


# --------------------------------------------------------------------------- homogeneous


def test_poisson_keeps_its_rate_and_exponential_gaps() -> None:
    rate, horizon = 1000.0, 1000.0
    times = until(poisson_times(rate, rng(1)), horizon)
    lo, hi = poisson_bounds(rate * horizon, ALPHA)
    assert lo <= times.size <= hi
    gaps = np.diff(times[:100_000]) * rate
    assert stats.kstest(gaps, "expon").pvalue > ALPHA


def test_deterministic_times_are_exact_multiples() -> None:
    times = list(islice(deterministic_times(3.0, batch=4), 10))
    assert times == [k / 3.0 for k in range(1, 11)]
    long = list(islice(deterministic_times(1000.0), 10_000))
    assert long[-1] == 10.0
    assert long[4095:4097] == [4096 / 1000.0, 4097 / 1000.0]


# --------------------------------------------------------------------------- piecewise


def expected_piecewise(
    edges: np.ndarray, starts: list[float], rates: list[float], period: float | None
) -> np.ndarray:
    """Expected counts per window, by direct overlap of windows and segments."""
    ends = [*starts[1:], period if period is not None else math.inf]
    out = []
    for a, b in pairwise(edges):
        cycles = range(int(a // period), int(b // period) + 1) if period else [0]
        total = 0.0
        for c in cycles:
            offset = c * period if period else 0.0
            for s, e, r in zip(starts, ends, rates, strict=True):
                overlap = min(b, offset + e) - max(a, offset + s)
                total += r * max(overlap, 0.0)
        out.append(total)
    return np.array(out)


PIECEWISE = {
    "periodic": ([0.0, 10.0, 25.0, 40.0], [200.0, 0.0, 500.0, 50.0], 60.0, 3000.0),
    "once": ([0.0, 30.0, 50.0, 80.0], [100.0, 0.0, 2000.0, 300.0], None, 600.0),
}


@pytest.mark.parametrize("case", PIECEWISE)
def test_piecewise_delivers_the_integrated_rate_in_every_window(case: str) -> None:
    starts, rates, period, horizon = PIECEWISE[case]
    times = until(piecewise_times(starts, rates, rng(2), period=period), horizon)
    edges = np.arange(0.0, horizon + 1e-9, 3.5)  # windows straddle segment boundaries
    expected = expected_piecewise(edges, starts, rates, period)
    assert_windows_consistent(times, edges, expected)
    # the cumulative intensity agrees with the independent overlap computation
    assert np.allclose(piecewise_cumulative(edges[1:], starts, rates, period), np.cumsum(expected))


def test_piecewise_zero_segments_get_no_arrivals() -> None:
    times = until(piecewise_times([0, 10, 25, 40], [200.0, 0.0, 500.0, 0.0], rng(3), 60), 6000)
    phase = times % 60
    assert times.size > 0
    assert not np.any((phase > 10) & (phase < 25))
    assert not np.any(phase > 40)
    # a profile starting silent: nothing before its first busy segment
    first = next(piecewise_times([0, 50], [0.0, 10.0], rng(4), period=60))
    assert 50 <= first <= 60


def test_piecewise_ending_at_zero_is_finite() -> None:
    times = np.array(list(piecewise_times([0, 10, 20], [100.0, 300.0, 0.0], rng(5))))
    assert times.max() < 20
    lo, hi = poisson_bounds(4000.0, ALPHA)
    assert lo <= times.size <= hi


def test_profile_mean_rate_and_scaling() -> None:
    starts, rates = [0, 10, 25, 40], [200.0, 0.0, 500.0, 50.0]
    assert profile_mean_rate(starts, rates, period=60) == pytest.approx(10500 / 60)
    # horizon is ignored for a periodic profile: its long-run mean is per period
    assert profile_mean_rate(starts, rates, period=60, horizon=7) == pytest.approx(10500 / 60)
    assert profile_mean_rate(starts, rates, horizon=50) == pytest.approx(10000 / 50)
    new = scaled_profile(starts, rates, 350.0, period=60)
    assert new == pytest.approx([400.0, 0.0, 1000.0, 100.0])
    assert profile_mean_rate(starts, new, period=60) == pytest.approx(350.0)
    new = scaled_profile(starts, rates, 19.0, horizon=50)
    assert profile_mean_rate(starts, new, horizon=50) == pytest.approx(19.0)
    assert scaled_profile([0, 5], [0.0, 0.0], 0.0, period=10) == [0.0, 0.0]


# --------------------------------------------------------------------------- diurnal


def diurnal_cumulative(
    t: np.ndarray, mean: float, amplitude: float, period: float, peak: float
) -> np.ndarray:
    w = 2 * math.pi / period
    return mean * (t + amplitude / w * (np.sin(w * (t - peak)) + math.sin(w * peak)))


@pytest.mark.parametrize("amplitude", [0.8, 1.0])
def test_diurnal_delivers_the_integrated_rate_in_every_window(amplitude: float) -> None:
    mean, period, peak, horizon = 300.0, 100.0, 30.0, 3000.0
    times = until(diurnal_times(mean, amplitude, period, peak, rng(6)), horizon)
    edges = np.arange(0.0, horizon + 1e-9, 5.0)
    expected = np.diff(diurnal_cumulative(edges, mean, amplitude, period, peak))
    # the closed form integral matches quadrature of the rate
    rate = lambda t: mean * (1 + amplitude * math.cos(2 * math.pi * (t - peak) / period))  # noqa: E731
    for i in (0, 7, 13):
        assert expected[i] == pytest.approx(integrate.quad(rate, edges[i], edges[i + 1])[0])
    assert_windows_consistent(times, edges, expected)


def test_the_packaged_diurnal_integral_is_the_closed_form_and_keeps_its_digits() -> None:
    mean, amplitude, period, peak = 300.0, 0.8, 100.0, 30.0
    t = np.array([0.0, 0.5, 17.0, 99.0, 1234.5])
    expected = diurnal_cumulative(t, mean, amplitude, period, peak)
    got = [arrivals.diurnal_cumulative(x, mean, amplitude, period, peak) for x in t]
    assert got == pytest.approx(expected, rel=1e-12)
    # a year of seconds in: whole periods add exactly the mean's count
    year = 365 * 86400.0
    at = arrivals.diurnal_cumulative(year + 1800, 10.0, 0.6, 86400.0, 72000.0)
    assert at - 10.0 * year == pytest.approx(
        arrivals.diurnal_cumulative(1800, 10.0, 0.6, 86400.0, 72000.0), rel=1e-9
    )


# --------------------------------------------------------------------------- MMPP-2


def test_mmpp2_formulas() -> None:
    assert mmpp2_mean_rate([50.0, 500.0], [2.0, 0.5]) == pytest.approx(140.0)
    assert mmpp2_index_of_dispersion([7.0, 7.0], [1.0, 3.0], 5.0) == 1.0
    assert mmpp2_index_of_dispersion([5.0, 50.0], [2.0, 0.5], 1e-9) == pytest.approx(1.0)
    # against the defining integral Var N(t) = m t + 2 int_0^t (t - u) c(u) du
    l0, l1, s0, s1, t = 5.0, 50.0, 2.0, 0.5, 1.7
    pi0, pi1, a = s0 / (s0 + s1), s1 / (s0 + s1), 1 / s0 + 1 / s1
    m = pi0 * l0 + pi1 * l1
    cov = lambda u: pi0 * pi1 * (l0 - l1) ** 2 * math.exp(-a * u)  # noqa: E731
    var = m * t + 2 * integrate.quad(lambda u: (t - u) * cov(u), 0, t)[0]
    assert mmpp2_index_of_dispersion([l0, l1], [s0, s1], t) == pytest.approx(var / (m * t))


MMPP = {
    # long sojourns, strongly bursty (IDC about 12 at 1 s, 17 at 5 s)
    "bursty": ([5.0, 50.0], [2.0, 0.5], 2000.0, (1.0, 5.0)),
    # sojourns shorter than the gaps between arrivals (IDC about 1.45 at 0.05 s)
    "flicker": ([0.0, 100.0], [0.01, 0.01], 200.0, (0.05,)),
}


@pytest.mark.parametrize("method", ["sojourns", "thinning"])
@pytest.mark.parametrize("case", MMPP)
def test_mmpp2_mean_rate_and_index_of_dispersion(case: str, method: str) -> None:
    rates, sojourns, horizon, windows = MMPP[case]
    streams = [
        until(mmpp2_times(rates, sojourns, rng(1000 + r), method=method), horizon)
        for r in range(30)
    ]
    # mean rate: per-stream rates are independent, so a t-interval applies
    per_stream = np.array([s.size / horizon for s in streams])
    mean = mmpp2_mean_rate(rates, sojourns)
    assert abs(per_stream.mean() - mean) <= t_half_width(per_stream, 0.99)
    for window in windows:
        idc = []
        for s in streams:
            counts, _ = np.histogram(s, bins=np.arange(0.0, horizon + 1e-9, window))
            idc.append(counts.var(ddof=1) / counts.mean())
        idc = np.array(idc)
        theory = mmpp2_index_of_dispersion(rates, sojourns, window)
        half = t_half_width(idc, 0.99)
        assert abs(idc.mean() - theory) <= half, (window, idc.mean(), theory, half)
        assert half < 0.15 * theory


def test_mmpp2_starts_stationary() -> None:
    # the count in [0, 1] averaged over many fresh streams is the stationary mean
    rates, sojourns = [5.0, 50.0], [2.0, 0.5]
    counts = np.array(
        [until(mmpp2_times(rates, sojourns, rng(5000 + r)), 1.0).size for r in range(1000)]
    )
    assert abs(counts.mean() - mmpp2_mean_rate(rates, sojourns)) <= t_half_width(counts, 0.999)


def test_mmpp2_start_state_and_long_sojourns() -> None:
    # state 1 for a very long visit: a plain Poisson(100) stream (streamed sojourn path)
    times = until(mmpp2_times([0.0, 100.0], [1e6, 1e6], rng(7), start_state=1), 500.0)
    lo, hi = poisson_bounds(50_000, ALPHA)
    assert lo <= times.size <= hi
    # state 0 is silent and long: nothing for a long time
    first = next(mmpp2_times([0.0, 100.0], [1e6, 1e6], rng(7), start_state=0))
    assert first > 1000.0
