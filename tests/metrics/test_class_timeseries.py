"""Per-class time series: each class's requests in windows, beside all of them."""

from __future__ import annotations

import numpy as np

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
