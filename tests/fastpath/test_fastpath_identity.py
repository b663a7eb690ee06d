"""The fast path against the event engine on common random numbers: the same run.

Both engines draw the same arrivals and service times in the same order, so every
request's latency agrees to rounding (1e-9 s) and so does everything the result
reports: the latency table, the component table, the time series and the JSON.
These tests fail when either engine changes its draw order or a metric's meaning.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pytest

import simperf
from tests.conftest import MINIMAL, MODELS

TOLERANCE = 1e-9


def both(scenario: Any, seed: int = 3) -> tuple[simperf.Result, simperf.Result]:
    events = simperf.run(scenario.with_overrides({"run.engine": "events"}), seed=seed)
    fast = simperf.run(scenario.with_overrides({"run.engine": "fast"}), seed=seed)
    assert events.perf["engine"] == "events"
    assert fast.perf["engine"] == "fast"
    return events, fast


def assert_close(a: Any, b: Any, path: str = "") -> None:
    """Nested dicts and lists equal, floats to TOLERANCE (relative above 1)."""
    if isinstance(a, dict):
        assert set(a) == set(b), path
        for key in a:
            assert_close(a[key], b[key], f"{path}.{key}")
    elif isinstance(a, list):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_close(x, y, f"{path}[{i}]")
    elif isinstance(a, float) and isinstance(b, float):
        assert abs(a - b) <= TOLERANCE * max(1.0, abs(a)), (path, a, b)
    else:
        assert a == b, (path, a, b)


def assert_same_run(events: simperf.Result, fast: simperf.Result) -> None:
    a, b = events._arrays, fast._arrays
    assert a["start"].size == b["start"].size > 0
    ia, ib = np.argsort(a["start"], kind="stable"), np.argsort(b["start"], kind="stable")
    np.testing.assert_array_equal(a["start"][ia], b["start"][ib])
    np.testing.assert_allclose(a["latency"][ia], b["latency"][ib], rtol=0, atol=TOLERANCE)
    assert_close(events.to_dict(), fast.to_dict())
    np.testing.assert_allclose(
        events.latency.select_dtypes("number").to_numpy(float),
        fast.latency.select_dtypes("number").to_numpy(float),
        rtol=TOLERANCE,
    )
    frames = events.timeseries, fast.timeseries
    assert frames[0][["start", "component", "metric"]].equals(
        frames[1][["start", "component", "metric"]]
    )
    np.testing.assert_allclose(
        frames[0]["value"], frames[1]["value"], rtol=TOLERANCE, atol=TOLERANCE
    )


@pytest.mark.usefixtures("recursion_mode")
@pytest.mark.parametrize("model", ["mm1", "mmc", "tandem"])
def test_request_budget_runs_are_identical(model: str) -> None:
    scenario = simperf.load(MODELS / f"{model}.yaml").with_overrides(
        {"run.duration": None, "run.warmup": 1, "run.requests": 3000}
    )
    assert_same_run(*both(scenario))


def test_horizon_run_with_warmup_leaves_the_same_requests_in_flight() -> None:
    scenario = simperf.load(MODELS / "tandem.yaml").with_overrides(
        {"run.duration": 12, "run.warmup": 2, "run.window": 0.5}
    )
    events, fast = both(scenario, seed=5)
    assert_same_run(events, fast)
    assert fast.to_dict()["requests"]["in_flight"] == events.to_dict()["requests"]["in_flight"]


@pytest.mark.parametrize(
    "arrival",
    [
        {"kind": "piecewise", "rate": 50, "profile": [[0, 25], [10, 98]]},
        {"kind": "diurnal", "rate": 60, "amplitude": 0.5, "period": 8},
    ],
)
def test_time_varying_arrivals_are_identical(arrival: dict[str, Any]) -> None:
    scenario = simperf.load(MODELS / "mm1.yaml").with_overrides(
        {"workload.arrival": arrival, "run.duration": 15, "run.warmup": 1, "run.window": 1}
    )
    assert_same_run(*both(scenario))


def test_automatic_warmup_cuts_at_the_same_snapshot() -> None:
    scenario = simperf.load(MODELS / "mm1.yaml").with_overrides(
        {"run.duration": 30, "run.warmup": "auto"}
    )
    events, fast = both(scenario)
    assert_same_run(events, fast)
    assert fast.to_dict()["warmup"] == events.to_dict()["warmup"]


@pytest.mark.usefixtures("recursion_mode")
def test_chain_with_delays_speed_and_idle_workers_is_identical() -> None:
    spec: dict[str, Any] = copy.deepcopy(MINIMAL)
    spec["workload"]["arrival"] = {"kind": "poisson", "rate": 120}
    spec["components"] = {
        "app": {
            "kind": "app_server",
            "cores": 2,
            "workers": 40,
            "speed": 2.0,
            "endpoints": {
                "serve": [
                    {"delay": {"dist": "uniform", "low": "1ms", "high": "3ms"}},
                    {"cpu": {"dist": "lognormal", "mean": "12ms", "cv": 1.5}},
                    {"call": "db.get"},
                    {"delay": "2ms"},
                ]
            },
        },
        "db": {
            "kind": "app_server",
            "cores": 1,
            "endpoints": {"get": [{"cpu": {"dist": "exponential", "mean": "4ms"}}]},
        },
        "unused": {
            "kind": "app_server",
            "endpoints": {"get": [{"cpu": "1ms"}]},
        },
    }
    spec["run"] = {"duration": 15, "warmup": 1}
    assert_same_run(*both(simperf.from_dict(spec)))


def test_auto_picks_the_fast_path_where_it_is_exact(minimal_scenario: Any) -> None:
    result = simperf.run(minimal_scenario)
    assert result.perf["engine"] == "fast"
    assert "fast_path_refused" not in result.perf
    assert "exact fast path" in result.summary()
