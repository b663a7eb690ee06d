"""A big fleet's run and summary hold memory in proportion to what changes, not more."""

from __future__ import annotations

import copy
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import simperf
from simperf import plots
from simperf.build import build
from simperf.metrics import summary as summary_module
from simperf.model import (
    AUTO_WARMUP_GRID,
    AUTO_WARMUP_INSTANCE_SNAPSHOTS,
    MIN_AUTO_WARMUP_GRID,
    Model,
)
from simperf.spec.run import DEFAULT_PER_INSTANCE
from tests.components import test_autoscaling as autoscaling

from conftest import MODELS


@pytest.fixture(scope="module")
def fleet() -> Model:
    # 200 replicas at 1,500 req/s: each serves a request every 0.13 s, about a window
    scenario = simperf.load(MODELS / "web_tier.yaml").with_overrides(
        {
            "run.duration": None,
            "run.requests": 14000,
            "components.app.replicas": 200,
            "run.per_instance": "all",
        }
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


@pytest.fixture(scope="module")
def listed() -> tuple[simperf.Result, simperf.Result]:
    """150 app replicas reported with the default run.per_instance (100), and in full."""
    scenario = simperf.load(MODELS / "web_tier.yaml").with_overrides(
        {
            "run.duration": None,
            "run.warmup": 0,
            "run.requests": 1500,
            "components.app.replicas": 150,
        }
    )
    every = scenario.with_overrides({"run.per_instance": "all"})
    return simperf.run(scenario, seed=1), simperf.run(every, seed=1)


def test_a_fleet_past_run_per_instance_lists_its_first_instances(
    listed: tuple[simperf.Result, simperf.Result],
) -> None:
    # 20,000 instances gave 6.5 MB of JSON and 3.7M time-series rows, nearly all per instance
    capped, every = listed
    first = [f"app[{i}]" for i in range(DEFAULT_PER_INSTANCE)]
    app = capped.data["components"]["app"]
    assert app["instances"] == 150
    assert list(app["per_instance"]) == first
    assert app["per_instance_listed"] == DEFAULT_PER_INSTANCE
    lb = capped.data["components"]["lb"]  # the balancer's dispatched, per backend
    assert list(lb["per_instance"]) == first and lb["per_instance_listed"] == 100
    assert "per_instance_listed" not in every.data["components"]["app"]
    assert len(every.data["components"]["app"]["per_instance"]) == 150
    # the listing is all that differs: every figure still counts every instance
    unlisted = [copy.deepcopy(result.to_dict()) for result in (capped, every)]
    for data in unlisted:
        for entry in data["components"].values():
            entry.pop("per_instance")
            entry.pop("per_instance_listed", None)
    assert unlisted[0] == unlisted[1]
    instances = capped.components[capped.components["component"] == "app"]["instance"]
    assert list(instances) == ["all", *first]


def test_a_fleet_past_run_per_instance_keeps_its_whole_rows_in_the_time_series(
    listed: tuple[simperf.Result, simperf.Result],
) -> None:
    capped, every = listed
    ts, full = capped.timeseries, every.timeseries
    named = set(ts["component"])
    assert {f"app[{i}]" for i in range(100)} <= named
    assert not {f"app[{i}]" for i in range(100, 150)} & named
    # every row of the capped series is the full series' own
    key = ["start", "end", "component", "metric"]
    both = ts.merge(full, on=key, how="left", suffixes=("", "_full"), validate="1:1")
    extra = (both["component"] == "app") & both["metric"].isin(["queue_length", "worker_occupancy"])
    pd.testing.assert_series_equal(
        both.loc[~extra, "value"],
        both.loc[~extra, "value_full"],
        check_names=False,
        check_exact=True,
    )
    # and the component's queue and workers as a whole: what its instances' rows add up to
    app = full[full["component"].str.startswith("app[")]
    queues = app[app["metric"] == "queue_length"].groupby("end")["value"].sum()
    mine = ts[(ts["component"] == "app") & (ts["metric"] == "queue_length")]
    assert np.allclose(mine.set_index("end")["value"].loc[queues.index], queues, rtol=1e-12)
    held = ts[(ts["component"] == "app") & (ts["metric"] == "worker_occupancy")]["value"]
    occupancy = app[app["metric"] == "worker_occupancy"].groupby("end")["value"].mean()
    assert np.allclose(held.to_numpy(), occupancy.to_numpy(), rtol=1e-9)  # equal workers each
    assert len(ts) < 0.75 * len(full)
    # a figure of instances says it shows the first ones
    heatmap = plots.utilization_heatmap(capped)
    assert list(heatmap.data[0].y[:2]) == ["app[0]", "app[1]"] and len(heatmap.data[0].y) == 102
    assert "(the first 100 of each component: run.per_instance)" in heatmap.layout.title.text
    assert "run.per_instance" not in plots.utilization_heatmap(every).layout.title.text


def test_auto_warmup_takes_fewer_windows_over_a_big_fleet() -> None:
    # 1,000 windows over 2,000 instances: 2M snapshots, 90% of the run's time (the
    # balancer is no instance: 4,998 app and 2 search replicas)
    scenario = simperf.load(MODELS / "web_tier.yaml").with_overrides(
        {"run.warmup": "auto", "components.app.replicas": 4998}
    )
    model = build(scenario, seed=1)
    assert len(model.instances) == 5000
    assert model.auto_grid() == AUTO_WARMUP_INSTANCE_SNAPSHOTS // 5000 == 200
    assert model.window() == pytest.approx(60.0 / 200)
    assert model.window_limit(model.window()) == 400  # merged in pairs past it, as before
    small = build(scenario.with_overrides({"components.app.replicas": 6}), seed=1)
    assert small.auto_grid() == AUTO_WARMUP_GRID and small.window() == pytest.approx(0.06)
    huge = build(scenario.with_overrides({"components.app.replicas": 19997}), seed=1)
    assert huge.auto_grid() == MIN_AUTO_WARMUP_GRID


def _whole_rows(result: simperf.Result) -> pd.DataFrame:
    """The time series' rows of whole components, less those a partial listing adds."""
    ts = result.timeseries
    added = ts["metric"].isin(["queue_length", "worker_occupancy"])
    return ts[~ts["component"].str.contains("[", regex=False) & ~added].reset_index(drop=True)


def test_instances_not_listed_add_up_to_the_same_rows_as_listed_ones(tmp_path: Path) -> None:
    # those past run.per_instance are added in runs, as numpy columns: the same floats
    shedding = simperf.load(MODELS / "web_tier.yaml").with_overrides(
        {
            "run.duration": None,
            "run.warmup": 0,
            "run.requests": 3000,
            "workload.arrival.rate": "3000/s",
            "components.app.workers": 2,
            "components.app.queue": {"shed_after": "20ms", "drop_expired": True},
            "workload.classes": [
                {"name": "page", "weight": 0.8, "entry": "lb", "endpoint": "page"},
                {"name": "search", "entry": "lb", "endpoint": "search", "timeout": "30ms"},
            ],
        }
    )
    scaled = simperf.from_dict(autoscaling.scenario(tmp_path, autoscaling.TRACKING))
    for scenario in (shedding, scaled):
        one = simperf.run(scenario.with_overrides({"run.per_instance": 1}), seed=1)
        every = simperf.run(scenario.with_overrides({"run.per_instance": "all"}), seed=1)
        assert one.data["components"]["app"]["per_instance_listed"] == 1
        whole = _whole_rows(one)
        pd.testing.assert_frame_equal(whole, _whole_rows(every), check_exact=True)
        counted = {"shed", "expired", "cancelled"} & set(whole["metric"])
        assert counted == (set() if scenario is scaled else {"shed", "expired", "cancelled"})


def test_a_shared_link_is_listed_as_its_component_whatever_run_per_instance() -> None:
    # its one instance is named as its component: its rows are the component's own
    scenario = simperf.load(MODELS / "multi_region.yaml").with_overrides(
        {"run.duration": "10s", "run.warmup": "1s"}
    )
    none = simperf.run(scenario.with_overrides({"run.per_instance": 0}), seed=1)
    every = simperf.run(scenario.with_overrides({"run.per_instance": "all"}), seed=1)
    pd.testing.assert_frame_equal(_whole_rows(none), _whole_rows(every), check_exact=True)
    assert {"ap->us", "us->ap"} <= set(none.timeseries["component"])
    components = none.data["components"]
    assert components["web_us"]["per_instance"] == {}
    assert components["web_us"]["per_instance_listed"] == 0
    assert list(components["ap->us"]["per_instance"]) == ["ap->us"]
