"""Per-class time series: each class's requests in windows, beside all of them."""

from __future__ import annotations

import numpy as np
import pytest

import simperf

from conftest import two_tier


def test_each_class_has_its_windows_and_they_add_up_to_all() -> None:
    spec = two_tier({"kind": "poisson", "rate": "200/s"}, None, duration=10, window=1)
    spec["workload"]["classes"] = [
        {"name": "get", "entry": "front", "endpoint": "page", "weight": 3},
        {"name": "put", "entry": "back", "endpoint": "data", "weight": 1},
    ]
    result = simperf.run(simperf.from_dict(spec))
    series = result.timeseries
    wide = series[series["metric"] == "throughput"].pivot(
        index="start", columns="component", values="value"
    )
    assert len(wide) == 10
    np.testing.assert_allclose(wide["get"] + wide["put"], wide["all"], rtol=1e-12)
    requests = result.requests
    for name in ("get", "put"):
        p99 = series[(series["metric"] == "p99") & (series["component"] == name)]
        first = requests[(requests["class"] == name) & (requests["end"] < 1.0)]
        assert p99["value"].iloc[0] == np.percentile(first["latency"], 99)
    # one class: its series is all's, not repeated
    single = simperf.run(simperf.from_dict(two_tier({"kind": "poisson", "rate": "20/s"}, None)))
    assert set(single.timeseries["component"]) & {"get"} == set()


def test_the_offered_load_per_window_beside_the_throughput() -> None:
    # 20/s, one every 50 ms from 50 ms, on one core of exactly 100 ms: 20 arrive and 10
    # finish a second in every window (the first window's arrival at 5 s falls after its
    # snapshot; its first request finishes at 0.15 s).
    spec = {
        "name": "overload",
        "workload": {
            "arrival": {"kind": "deterministic", "rate": 20},
            "classes": [{"name": "r", "entry": "app", "endpoint": "s"}],
        },
        "components": {
            "app": {
                "kind": "app_server",
                "endpoints": {"s": [{"cpu": {"dist": "constant", "value": 0.1}}]},
            }
        },
        "run": {"duration": 20, "warmup": 0, "window": 5},
    }
    result = simperf.run(simperf.from_dict(spec), seed=1)
    series = result.timeseries
    wide = series[series["component"] == "all"].pivot(
        index="start", columns="metric", values="value"
    )
    assert wide["arrival_rate"].tolist() == [19.8, 20.0, 20.0, 20.0]
    assert wide["throughput"].tolist() == [9.8, 10.0, 10.0, 10.0]
    generated = result.to_dict()["requests"]["generated"]
    assert (wide["arrival_rate"] * 5).sum() == pytest.approx(generated)
