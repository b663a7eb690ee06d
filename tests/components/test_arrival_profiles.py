"""Time-varying and bursty arrivals from specs: scaled to ``rate``, exact window counts.

Statistical bounds fail a correct generator with probability at most about 1e-4
(Bonferroni across windows); seeds are fixed, so outcomes are deterministic.
"""

from __future__ import annotations

import math
from itertools import takewhile
from typing import Any

import numpy as np
import pytest
from scipy import stats

import simperf
from simperf.arrivals import mmpp2_index_of_dispersion, mmpp2_mean_rate, profile_mean_rate
from simperf.components.workload import arrival_times, mmpp_rates, profile_rates

ALPHA = 1e-4


def arrival_spec(arrival: dict[str, Any], duration: float = 200.0) -> simperf.Scenario:
    return simperf.from_dict(
        {
            "name": "arrivals",
            "workload": {
                "arrival": arrival,
                "classes": [{"name": "req", "entry": "app", "endpoint": "serve"}],
            },
            "components": {
                "app": {
                    "kind": "app_server",
                    "workers": 10_000,
                    "endpoints": {"serve": [{"delay": 0}]},
                }
            },
            "run": {"duration": duration},
        }
    )


def times_until(
    arrival: Any, horizon: float, seed: int, run_horizon: float | None = None
) -> np.ndarray:
    it = arrival_times(arrival, np.random.default_rng(seed), run_horizon)
    return np.fromiter(takewhile(lambda t: t < horizon, it), dtype=float)


def assert_counts(times: np.ndarray, edges: np.ndarray, expected: np.ndarray) -> None:
    """Every window's count and the total within Bonferroni-corrected Poisson bounds."""
    counts, _ = np.histogram(times, bins=edges)
    assert_poisson(counts, expected)


def assert_poisson(counts: np.ndarray, expected: np.ndarray) -> None:
    alpha = ALPHA / (len(expected) + 1)
    lo, hi = stats.poisson.ppf(alpha / 2, expected), stats.poisson.isf(alpha / 2, expected)
    bad = np.flatnonzero((counts < lo) | (counts > hi))
    assert bad.size == 0, f"window {bad[0]}: {counts[bad[0]]}, expected {expected[bad[0]]}"
    total = expected.sum()
    assert (
        stats.poisson.ppf(alpha / 2, total) <= counts.sum() <= stats.poisson.isf(alpha / 2, total)
    )


PIECEWISE = {
    "kind": "piecewise",
    "rate": 50,
    "profile": [[0, 1], [2, 4], [5, 0], [7, 2]],
    "period": 10,
}


def test_piecewise_profile_is_scaled_to_the_mean_rate() -> None:
    arrival = arrival_spec(PIECEWISE).workload.arrival
    # shape mean over the period: (1*2 + 4*3 + 0*2 + 2*3) / 10 = 2, so the factor is 25
    assert profile_rates(arrival, None) == [25.0, 100.0, 0.0, 50.0]


def test_piecewise_run_delivers_the_integrated_count_in_every_window() -> None:
    duration = 400.0
    result = simperf.run(arrival_spec(PIECEWISE, duration), seed=5)
    starts = result._arrays["start"]  # type: ignore[attr-defined]
    edges = np.array([p * 10 + s for p in range(40) for s in (0, 2, 5, 7)] + [duration])
    segment_rate = np.tile([25.0, 100.0, 0.0, 50.0], 40)
    expected = segment_rate * np.diff(edges)
    silent = expected == 0
    counts, _ = np.histogram(starts, bins=edges)
    assert np.all(counts[silent] == 0)
    assert_poisson(counts[~silent], expected[~silent])
    req = result.to_dict()["requests"]
    assert req["generated"] == req["ok"] + req["failed"] + req["in_flight"]


def test_profile_that_does_not_repeat_has_its_mean_over_the_run() -> None:
    arrival = {"kind": "piecewise", "rate": 30, "profile": [[0, 1], [10, 3]]}
    scenario = arrival_spec(arrival, duration=20)
    spec = scenario.workload.arrival
    rates = profile_rates(spec, scenario.run.horizon)
    assert rates == pytest.approx([15.0, 45.0], rel=1e-12)  # (10 * 1 + 10 * 3) / 20 = 2
    times = np.concatenate([times_until(spec, 20.0, seed, 20.0) for seed in range(50)])
    assert_counts(times, np.array([0.0, 10.0, 20.0]), np.array([150.0, 450.0]) * 50)


def test_diurnal_delivers_the_integrated_count_in_every_window() -> None:
    rate, amplitude, period, peak, horizon = 100.0, 0.8, 20.0, 5.0, 400.0
    arrival = arrival_spec(
        {"kind": "diurnal", "rate": rate, "amplitude": amplitude, "period": period, "peak": peak}
    ).workload.arrival
    times = times_until(arrival, horizon, seed=2)
    edges = np.arange(0.0, horizon + 0.5, 1.0)
    phase = 2 * math.pi * (edges - peak) / period
    cumulative = rate * (edges + amplitude * period / (2 * math.pi) * np.sin(phase))
    assert_counts(times, edges, np.diff(cumulative))


MMPP = {"kind": "mmpp", "rate": 100, "relative_rates": [1, 9], "mean_sojourns": ["450ms", "50ms"]}


def test_mmpp_is_scaled_to_the_mean_rate() -> None:
    arrival = arrival_spec(MMPP).workload.arrival
    rates = mmpp_rates(arrival)
    assert rates == pytest.approx([100 / 1.8, 900 / 1.8], rel=1e-12)
    assert mmpp2_mean_rate(rates, arrival.mean_sojourns) == pytest.approx(100.0, rel=1e-12)


def test_mmpp_delivers_its_mean_rate_and_index_of_dispersion() -> None:
    arrival = arrival_spec(MMPP).workload.arrival
    horizon, window, replications = 2000.0, 2.0, 12
    theory_idc = mmpp2_index_of_dispersion(mmpp_rates(arrival), arrival.mean_sojourns, window)
    assert theory_idc > 5  # bursty enough that a Poisson stream (IDC 1) would fail
    edges = np.arange(0.0, horizon + window / 2, window)
    rate_estimates, idc_estimates = [], []
    for seed in range(replications):
        counts, _ = np.histogram(times_until(arrival, horizon, seed), bins=edges)
        rate_estimates.append(counts.mean() / window)
        idc_estimates.append(counts.var(ddof=1) / counts.mean())
    for estimates, theory in ((rate_estimates, 100.0), (idc_estimates, theory_idc)):
        x = np.asarray(estimates)
        half = stats.t.ppf(0.9995, x.size - 1) * x.std(ddof=1) / math.sqrt(x.size)
        assert half <= 0.05 * theory, f"interval too wide: ±{half:.3g} for {theory:.3g}"
        assert abs(x.mean() - theory) <= half, f"{x.mean():.4g} ± {half:.3g} vs {theory:.4g}"


@pytest.mark.parametrize(
    "arrival",
    [
        {"kind": "poisson", "rate": 40},
        {**PIECEWISE, "rate": 40},
        {"kind": "diurnal", "rate": 40, "amplitude": 1.0, "period": 7, "peak": 2},
        {**MMPP, "rate": 40},
    ],
    ids=["poisson", "piecewise", "diurnal", "mmpp"],
)
def test_every_kind_keeps_rate_as_its_long_run_mean(arrival: dict[str, Any]) -> None:
    spec = arrival_spec(arrival).workload.arrival
    if spec.kind == "piecewise":
        starts = [s for s, _ in spec.profile]
        assert profile_mean_rate(starts, profile_rates(spec, None), spec.period) == pytest.approx(
            40.0
        )
    if spec.kind == "mmpp":
        assert mmpp2_mean_rate(mmpp_rates(spec), spec.mean_sojourns) == pytest.approx(40.0)
    horizon = 7000.0  # a whole number of periods of every profile above
    count = times_until(spec, horizon, seed=11).size
    # The count's variance is the mean times the index of dispersion (1 except for MMPP).
    idc = 1.0
    if spec.kind == "mmpp":
        idc = mmpp2_index_of_dispersion(mmpp_rates(spec), spec.mean_sojourns, horizon)
    z = stats.norm.isf(ALPHA / 2)
    assert abs(count - 40.0 * horizon) <= z * math.sqrt(idc * 40.0 * horizon)


def test_scaling_the_rate_scales_the_whole_profile() -> None:
    scenario = arrival_spec(PIECEWISE)
    doubled = scenario.with_overrides({"workload.arrival.rate": 100})
    assert profile_rates(doubled.workload.arrival, None) == [50.0, 200.0, 0.0, 100.0]
    mmpp = arrival_spec(MMPP).with_overrides({"workload.arrival.rate": "300/s"})
    assert mmpp_rates(mmpp.workload.arrival) == pytest.approx([500 / 3, 1500.0], rel=1e-12)
