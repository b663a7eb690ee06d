from __future__ import annotations

import plotly.graph_objects as go
import pytest

import simperf
from simperf import plots

from conftest import MODELS


@pytest.fixture(scope="module")
def result() -> simperf.Result:
    s = simperf.load(MODELS / "web_tier.yaml").with_overrides({"run.duration": 6, "run.warmup": 1})
    return simperf.run(s, seed=1)


def test_latency_percentiles(result: simperf.Result) -> None:
    fig = plots.latency_percentiles(result)
    assert isinstance(fig, go.Figure)
    assert [t.name for t in fig.data] == ["mean", "p50", "p95", "p99"]
    p99 = fig.data[3].y
    assert p99[-1] == pytest.approx(result.metric("latency.all.p99") * 1000)


def test_timeseries_and_utilization(result: simperf.Result) -> None:
    assert len(plots.timeseries(result).data) == 3
    util = plots.utilization(result)
    assert len(util.data) == 8  # six app instances and two search instances
    assert all(0 <= v <= 1 for trace in util.data for v in trace.y)
