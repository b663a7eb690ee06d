"""Whole runs: determinism, conservation, Little's law, warm-up, overload."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import tracemalloc
from typing import Any

import numpy as np
import pytest

import simperf
from simperf.build import build
from simperf.experiment.run import summarise
from simperf.presentation.summary_text import performance
from simperf.spec.run import DEFAULT_WINDOWS, readable_window

from conftest import MODELS


def test_same_seed_gives_identical_results() -> None:
    s = simperf.load(MODELS / "web_tier.yaml").with_overrides({"run.duration": 10, "run.warmup": 1})
    a, b = simperf.run(s, seed=11), simperf.run(s, seed=11)
    assert a.to_dict() == b.to_dict()
    assert a.timeseries.equals(b.timeseries)
    c = simperf.run(s, seed=12)
    assert c.to_dict()["latency"]["all"]["mean"] != a.to_dict()["latency"]["all"]["mean"]


def test_replications_are_independent_streams() -> None:
    s = simperf.load(MODELS / "mm1.yaml").with_overrides({"run.duration": 60, "run.warmup": 0})
    a = simperf.run(s, seed=1, replication=0).to_dict()
    b = simperf.run(s, seed=1, replication=1).to_dict()
    assert a["requests"]["generated"] != b["requests"]["generated"]


def test_added_component_does_not_change_the_others_draws() -> None:
    s = simperf.load(MODELS / "mm1.yaml").with_overrides({"run.duration": 30, "run.warmup": 0})
    data = s.model_dump(by_alias=True)
    data["components"]["spare"] = {"kind": "app_server", "endpoints": {"x": [{"cpu": "1ms"}]}}
    with_spare = simperf.from_dict(data)
    a, b = simperf.run(s, seed=5).to_dict(), simperf.run(with_spare, seed=5).to_dict()
    assert a["latency"] == b["latency"]


@pytest.mark.parametrize("model", ["mm1", "mmc", "tandem", "closed", "web_tier"])
def test_conservation_and_littles_law(model: str) -> None:
    s = simperf.load(MODELS / f"{model}.yaml").with_overrides(
        {"run.duration": 200, "run.warmup": 10}
    )
    d = simperf.run(s, seed=2).to_dict()
    req = d["requests"]
    assert req["generated"] == req["ok"] + sum(req["errors"].values()) + req["in_flight"]
    assert req["failed"] == sum(req["errors"].values())
    checks = d["checks"]
    little = checks["arrival_rate"] * checks["mean_time_in_system"]
    # L and lambda*W over the same finite window differ only by edge effects
    assert little == pytest.approx(checks["mean_in_system"], rel=0.02)


def test_warmup_requests_are_not_measured() -> None:
    s = simperf.load(MODELS / "mm1.yaml").with_overrides({"run.duration": 100, "run.warmup": 40})
    result = simperf.run(s, seed=1)
    starts = result._arrays["start"]
    counted = result.to_dict()["latency"]["all"]["count"]
    ok = result._arrays["outcome"] == 0
    assert counted == int(np.count_nonzero((starts >= 40) & ok))
    assert counted < result.to_dict()["requests"]["ok"]


def test_metric_without_samples_is_null() -> None:
    s = simperf.load(MODELS / "mm1.yaml").with_overrides(
        {"run.duration": None, "run.requests": 10, "run.warmup": 1000}
    )
    d = simperf.run(s, seed=1).to_dict()
    assert d["latency"]["all"]["p99"] is None
    assert d["throughput"] is None


def test_timeseries_is_tidy_and_covers_the_measured_period() -> None:
    s = simperf.load(MODELS / "web_tier.yaml").with_overrides({"run.duration": 12, "run.warmup": 2})
    ts = simperf.run(s, seed=1).timeseries
    assert list(ts.columns) == ["start", "end", "component", "metric", "value"]
    assert ts["start"].min() == pytest.approx(2.0)
    assert ts["end"].max() == pytest.approx(12.0)
    metrics = set(ts["metric"])
    assert {"throughput", "errors", "p50", "p95", "p99", "utilization"} <= metrics
    total = ts[(ts.metric == "throughput") & (ts.component == "all")]
    assert (total["end"] - total["start"]).sum() == pytest.approx(10.0)


def test_result_frames() -> None:
    result = simperf.run(
        simperf.load(MODELS / "web_tier.yaml").with_overrides({"run.duration": 5, "run.warmup": 1})
    )
    assert set(result.latency["class"]) == {"page", "search", "all"}
    comps = result.components
    assert {"app", "app[0]", "app[5]", "search[1]", "lb"} <= set(comps["instance"]) | set(
        comps["component"]
    )
    assert result.perf["wall_time"] > 0 and "wall_time" not in result.to_dict()


def test_overload_finishes_unstable_with_bounded_memory() -> None:
    # 10x capacity, no queue limit: the safety cap bounds what waits, and the run says so.
    code = textwrap.dedent(
        f"""
        import resource, json, simperf
        s = simperf.load({str(MODELS / "mm1.yaml")!r}).with_overrides(
            {{"workload.arrival.rate": 1000, "run.duration": 300, "run.warmup": 10}})
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        d = simperf.run(s, seed=1).to_dict()
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(json.dumps({{"stability": d["stability"], "grown_kib": after - before,
                          "errors": d["errors"], "generated": d["requests"]["generated"]}}))
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    report = json.loads(out.stdout)
    assert report["stability"]["status"] == "unstable"
    assert report["stability"]["component"] == "app"
    assert report["errors"]["safety_cap"] > 0
    assert report["generated"] > 250_000
    # documented bound (README): records 24 B (44 B measured) per request, waiting capped
    assert report["grown_kib"] < 64 * 1024, report["grown_kib"]


def test_saturated_when_queue_limit_rejects() -> None:
    s = simperf.load(MODELS / "mm1.yaml").with_overrides(
        {"workload.arrival.rate": 150, "components.app.queue_limit": 5, "run.duration": 100}
    )
    d = simperf.run(s, seed=1).to_dict()
    assert d["stability"]["status"] == "saturated"
    assert d["errors"]["rejected"] > 0


def test_a_saturated_peak_is_named_even_when_the_run_average_is_comfortable() -> None:
    # rate 25/s for 100 s, then 98/s for 50 s (mean 49.3/s): 10 ms service is 49% busy
    # over the run but 98% in the busy phase
    profile = {"kind": "piecewise", "rate": 49.333, "profile": [[0, 25], [100, 98]]}
    base = simperf.load(MODELS / "mm1.yaml").with_overrides(
        {"run.duration": 150, "run.window": 10, "run.warmup": 0}
    )
    d = simperf.run(base.with_overrides({"workload.arrival": profile}), seed=2).to_dict()
    stability = d["stability"]
    assert d["components"]["app"]["utilization"] < 0.6
    assert stability["status"] == "saturated"
    assert stability["instance"] == "app[0]"
    assert stability["peak"]["start"] >= 100
    assert stability["peak"]["utilization"] >= 0.95
    assert "busiest window" in stability["reason"]
    # the same mean rate, steady: stable, its busiest window no worse than ~0.6
    steady = simperf.run(base.with_overrides({"workload.arrival.rate": 49.333}), seed=2)
    assert steady.to_dict()["stability"]["status"] == "stable"
    assert steady.to_dict()["stability"]["peak"]["utilization"] < 0.7


def _windows(result: simperf.Result) -> int:
    return int(result.timeseries["start"].nunique())


def test_a_request_budget_at_a_slow_rate_runs_in_bounded_windows() -> None:
    # 2,000 requests at 0.001/s span about 2e6 s: one window per simulated second made
    # 2e6 snapshots (3.9 GB); windows now follow the expected length, about 60 of them
    s = simperf.load(MODELS / "mm1.yaml").with_overrides(
        {"workload.arrival.rate": "0.001/s", "run.requests": 2000, "run.duration": None}
    )
    result = simperf.run(s, seed=1)
    assert result.to_dict()["requests"]["ok"] == 2000
    assert DEFAULT_WINDOWS / 2 <= _windows(result) <= 2 * DEFAULT_WINDOWS


def test_a_run_far_longer_than_expected_merges_windows_in_pairs() -> None:
    # 500 requests at 1/s are expected to take 500 s, but a 10 s service drains them at
    # 0.1/s: the run lasts about 5,000 s, ten times longer than its windows were set for
    s = simperf.load(MODELS / "mm1.yaml").with_overrides(
        {
            "workload.arrival.rate": "1/s",
            "components.app.endpoints.serve": [{"cpu": "10s"}],
            "run.requests": 500,
            "run.duration": None,
            "run.warmup": 0,
        }
    )
    result = simperf.run(s, seed=1)
    assert result.to_dict()["end_time"] > 10 * 500 * 0.9
    windows = result.timeseries.drop_duplicates("start")
    # merged whenever 2 x 60 windows are reached: between 60 and 120 remain
    assert DEFAULT_WINDOWS <= len(windows) <= 2 * DEFAULT_WINDOWS + 1
    widths = (windows["end"] - windows["start"]).to_numpy()[:-1]  # the last one is cut short
    base = readable_window(500.0)
    assert set(np.round(widths / base).astype(int)) <= {2**k for k in range(12)}
    assert np.allclose(widths, widths[0])  # merged pairs are all of one width


def test_summary_adds_less_than_one_copy_of_the_records() -> None:
    # records are 24 B per request (two float64, two int32) plus the latency (8 B); the
    # summary needs one masked copy of the latencies (8 B) and a few boolean masks, never
    # a sort order (8 B) and sorted copies of every column (20 B) on top
    s = simperf.load(MODELS / "mm1.yaml").with_overrides(
        {"run.requests": 200_000, "run.duration": None, "run.warmup": 0}
    )
    model = build(s, seed=1).execute()
    n = model.ctx.recorder.finished
    tracemalloc.start()
    try:
        summarise(model)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak / n < 24 + 8, peak / n  # measured 58.8 B before, see the README


def test_the_busiest_window_is_written_in_one_unit() -> None:
    # 98/s from 90 s to 120 s, 25/s around it: the window [90, 120] read "90 s to 2 min"
    profile = {"kind": "piecewise", "rate": 39.6, "profile": [[0, 25], [90, 98], [120, 25]]}
    base = simperf.load(MODELS / "mm1.yaml").with_overrides(
        {"run.duration": 150, "run.window": 30, "run.warmup": 0, "workload.arrival": profile}
    )
    stability = simperf.run(base, seed=2).to_dict()["stability"]
    assert stability["status"] == "saturated"
    assert "from 1.5 min to 2 min (busiest window" in stability["reason"]


def test_wall_time_shows_the_build_beside_the_simulation() -> None:
    # 2,000 replicas take longer to build than 2 s of traffic takes to run: the wall time
    # the summary prints is the build's, the simulation's and the summary's together.
    s = simperf.load(MODELS / "mm1.yaml").with_overrides(
        {"components.app.replicas": 2000, "run.duration": 2, "run.warmup": 0}
    )
    perf = simperf.run(s, seed=1).perf
    assert perf["build_time"] > 0 and perf["summary_time"] > 0 and perf["wall_time"] > 0
    total = perf["build_time"] + perf["wall_time"] + perf["summary_time"]

    (line,) = [line for line in performance(perf) if line.startswith("wall time")]
    assert line.startswith(f"wall time {total:.3g} s: build {perf['build_time']:.3g} s, ")
    assert f"simulation {perf['wall_time']:.3g} s (" in line
    assert line.endswith(f"summary {perf['summary_time']:.3g} s")


@pytest.mark.parametrize(
    "horizon",
    [{"run.duration": "300s"}, {"run.duration": None, "run.requests": 27000}],
    ids=["duration", "requests"],
)
def test_an_automatic_warm_up_keeps_the_window_asked_for(horizon: dict[str, Any]) -> None:
    # with a duration the window was ignored: 4.8 s windows (the 1,000-window grid in
    # strides of 16) where 5 s were asked; with requests, 4.35 and 4.5 s
    scenario = simperf.load(MODELS / "mm1.yaml").with_overrides(
        {"run.warmup": "auto", "run.window": "5s", **horizon}
    )
    result = simperf.run(scenario, seed=1)
    ts = result.timeseries
    spans = np.unique(ts["end"] - ts["start"])
    whole = ts[np.isclose(ts["end"] - ts["start"], 5.0)]
    assert np.isclose(spans, 5.0).sum() == 1  # every window but the last, cut short at the end
    assert ts["start"].min() == pytest.approx(result.data["warmup"])
    assert len(whole["start"].unique()) == len(ts["start"].unique()) - 1
