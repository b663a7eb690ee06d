"""A big fleet's run and summary hold memory in proportion to what changes, not more."""

from __future__ import annotations

import tracemalloc

import pandas as pd
import pytest

import simperf
from simperf.build import build
from simperf.metrics import summary as summary_module
from simperf.model import Model

from conftest import MODELS


@pytest.fixture(scope="module")
def fleet() -> Model:
    # 200 replicas at 1,500 req/s: each serves a request every 0.13 s, about a window
    scenario = simperf.load(MODELS / "web_tier.yaml").with_overrides(
        {"run.duration": None, "run.requests": 14000, "components.app.replicas": 200}
    )
    return build(scenario, seed=1).execute()


def test_an_instance_unchanged_since_the_last_snapshot_keeps_its_counters() -> None:
    # one dict an instance and window held 1 GB of the run's 1.2 GB at 20,000 replicas
    scenario = simperf.load(MODELS / "web_tier.yaml").with_overrides(
        {
            "run.duration": None,
            "run.warmup": 0,
            "run.requests": 3000,
            "components.app.replicas": 1000,
        }
    )
    idle = build(scenario, seed=1).execute()  # 3 requests an instance in 40 windows: 12%
    held = {id(s.instances[inst.name]) for s in idle.snapshots for inst in idle.instances}
    assert len(held) < 0.2 * len(idle.snapshots) * len(idle.instances)
    for before, after in zip(idle.snapshots, idle.snapshots[1:], strict=False):
        for name, counters in after.instances.items():
            if counters is before.instances[name]:
                continue
            assert counters != before.instances[name]


def test_the_time_series_is_gathered_in_chunks(
    fleet: Model, monkeypatch: pytest.MonkeyPatch
) -> None:
    whole = summary_module.Summary(fleet).timeseries()
    monkeypatch.setattr(summary_module, "TIMESERIES_CHUNK", 4096, raising=False)
    summary = summary_module.Summary(fleet)
    summary.data  # noqa: B018  (the records, read before the measurement)
    tracemalloc.start()
    try:
        chunked = summary.timeseries()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    pd.testing.assert_frame_equal(chunked, whole, check_exact=True)
    # every row's tuple held at once: 216 bytes a row at the peak; in chunks, 142
    assert len(chunked) > 6 * 4096
    assert peak / len(chunked) < 180
