"""Alerts evaluated on the time series: exact firing intervals, `for`, windows, metrics."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import simperf
from simperf.experiment.metrics import known_metrics

TOL = 1e-6


def burst_scenario(tmp_path: Path, alerts: list[dict[str, Any]]) -> simperf.Scenario:
    """A trace that overloads one single-core server (10 ms per request) from 10 s to 20 s.

    Arrivals come every 100 ms, except every 5 ms from 10 s to 20 s: the server is busy
    without a break from 10 s until 31.12 s (20 s of work, plus 10 ms for each of the
    112 arrivals from 20 s to 31.1 s), 10% busy elsewhere, 20% from 31 s to 32 s.
    """
    times = (
        [0.1 * k for k in range(100)]
        + [10 + 0.005 * k for k in range(2000)]
        + [20 + 0.1 * k for k in range(200)]
    )
    path = tmp_path / "burst.csv"
    path.write_text("key,t\n" + "\n".join(f"k,{t!r}" for t in times) + "\n")
    return simperf.from_dict(
        {
            "name": "burst",
            "keyspaces": {
                "trace": {
                    "keys": 1,
                    "popularity": {"model": "trace", "path": str(path), "time_column": "t"},
                }
            },
            "workload": {
                "arrival": {"kind": "trace", "keyspace": "trace"},
                "classes": [{"name": "req", "entry": "app", "endpoint": "serve"}],
            },
            "components": {
                "app": {"kind": "app_server", "cores": 1, "endpoints": {"serve": [{"cpu": "10ms"}]}}
            },
            "run": {"duration": 40, "window": 1},
            "alerts": alerts,
        }
    )


def spans(report: dict[str, Any]) -> list[float]:
    """Firing intervals flattened: start, end, start, end ..."""
    return [t for i in report["intervals"] for t in (i["start"], i["end"])]


def test_utilization_alert_fires_after_for_until_the_backlog_clears(tmp_path: Path) -> None:
    alerts = [
        {"name": "busy", "metric": "utilization", "component": "app", "above": "90%", "for": 5},
        {"name": "busy20", "metric": "utilization", "component": "app", "above": 0.9, "for": 20},
        {"name": "busy21", "metric": "utilization", "component": "app", "above": 0.9, "for": 21},
        {
            "name": "busy_3s",
            "metric": "utilization",
            "component": "app",
            "instance": 0,
            "above": 0.9,
            "window": 3,
        },
    ]
    result = simperf.run(burst_scenario(tmp_path, alerts))
    a = result.to_dict()["alerts"]
    busy = a["busy"]
    # held over the windows from 10 s to 31 s (utilisation 1), fires 5 s later
    assert spans(busy) == pytest.approx([15.0, 31.0], abs=TOL)
    assert busy["firings"] == 1 and busy["time_firing"] == pytest.approx(16.0, abs=TOL)
    assert busy["time_to_first_firing"] == pytest.approx(15.0, abs=TOL)
    assert busy["intervals"][0]["peak"] == pytest.approx(1.0)
    assert (busy["target"], busy["threshold"], busy["window"]) == ("app", 0.9, 1.0)
    assert not busy["firing_at_end"]
    # held exactly 21 s: a `for` of 20 s fires for the last second, one of 21 s never does
    assert spans(a["busy20"]) == pytest.approx([30.0, 31.0], abs=TOL)
    assert a["busy21"]["firings"] == 0 and a["busy21"]["time_firing"] == 0
    assert a["busy21"]["time_to_first_firing"] is None and a["busy21"]["intervals"] == []
    # over the last 3 s: 0.7 at 12 s, 1.0 from 13 s to 31 s, (1 + 1 + 0.2) / 3 at 32 s
    rolling = a["busy_3s"]
    assert rolling["target"] == "app[0]" and rolling["window"] == pytest.approx(3.0)
    assert spans(rolling) == pytest.approx([12.0, 31.0], abs=TOL)


def test_alert_that_never_triggers_and_repeated_firings(tmp_path: Path) -> None:
    alerts = [
        {"name": "never", "metric": "utilization", "component": "app", "below": "5%"},
        {"name": "errors", "metric": "error_rate", "above": "1%"},
        {"name": "idle", "metric": "throughput", "class": "req", "below": "15/s"},
    ]
    result = simperf.run(burst_scenario(tmp_path, alerts))
    a = result.to_dict()["alerts"]
    for name in ("never", "errors"):
        assert a[name]["firings"] == 0 and a[name]["time_firing"] == 0.0
        assert a[name]["intervals"] == [] and a[name]["time_to_first_firing"] is None
    # 10 completions a second before the burst and after 32 s (20 from 31 s to 32 s)
    idle = a["idle"]
    assert spans(idle) == pytest.approx([0.0, 10.0, 32.0, 40.0], abs=TOL)
    assert idle["firings"] == 2 and idle["time_firing"] == pytest.approx(18.0, abs=TOL)
    assert idle["firing_at_end"] and idle["intervals"][0]["peak"] == pytest.approx(10.0)
    frame = result.alerts
    assert list(frame.columns) == ["alert", "start", "end", "peak", "duration"]
    assert frame["alert"].tolist() == ["idle", "idle"]
    assert frame["duration"].tolist() == pytest.approx([10.0, 8.0], abs=TOL)
    per_alert = result.frame("alerts").set_index("component")
    assert per_alert.loc["never", "firings"] == 0 and per_alert.loc["idle", "firings"] == 2
    text = result.summary()
    assert "alert never (utilization of app below 5% for" not in text
    assert "alert never (utilization of app below 5%): never fired" in text
    assert "alert idle (throughput of req below 15/s): fired 2x, 18 s in all" in text
    json.dumps(result.to_dict(), allow_nan=False)


def crossings(
    ts: pd.DataFrame, component: str, metric: str, threshold: float, hold: float
) -> list[tuple[float, float]]:
    """Firing intervals read off ``Result.timeseries`` directly (the alert's definition)."""
    rows = ts[(ts.component == component) & (ts.metric == metric)].sort_values("start")
    out: list[tuple[float, float]] = []
    run: list[float] | None = None
    for start, end, value in zip(rows.start, rows.end, rows.value, strict=True):
        if not math.isnan(value) and value > threshold:
            run = [start, end] if run is None else [run[0], end]
            continue
        if run is not None and run[1] - run[0] > hold:
            out.append((run[0] + hold, run[1]))
        run = None
    if run is not None and run[1] - run[0] > hold:
        out.append((run[0] + hold, run[1]))
    return out


PIECEWISE: dict[str, Any] = {
    "name": "evening",
    "workload": {
        # 30 req/s, 150 req/s from 20 s to 40 s (load 1.5), then 30 req/s again
        "arrival": {
            "kind": "piecewise",
            "rate": 70,
            "profile": [[0, 1], [20, 5], [40, 1]],
            "period": 60,
        },
        "classes": [{"name": "req", "entry": "app", "endpoint": "serve"}],
    },
    "components": {
        "app": {
            "kind": "app_server",
            "cores": 1,
            "endpoints": {"serve": [{"cpu": {"dist": "exponential", "mean": "10ms"}}]},
        }
    },
    "run": {"duration": 60, "window": 1, "warmup": 2},
    "alerts": [
        {"name": "slow", "metric": "p99", "above": "500ms", "for": 3},
        {"name": "slow_now", "metric": "p99", "class": "req", "above": "500ms"},
        {"name": "queue", "metric": "queue_length", "component": "app", "above": 20, "for": 2},
        {"name": "crowded", "metric": "in_system", "above": 20},
    ],
}


def test_alerts_fire_exactly_where_the_time_series_crosses() -> None:
    result = simperf.run(simperf.from_dict(PIECEWISE), seed=3)
    a = result.to_dict()["alerts"]
    ts = result.timeseries
    expected = {
        "slow": crossings(ts, "all", "p99", 0.5, 3),
        "slow_now": crossings(ts, "all", "p99", 0.5, 0),
        "queue": crossings(ts, "app[0]", "queue_length", 20, 2),
        "crowded": crossings(ts, "all", "in_system", 20, 0),
    }
    for name, intervals in expected.items():
        assert spans(a[name]) == pytest.approx([t for i in intervals for t in i]), name
        assert a[name]["firings"] == len(intervals)
    # the overload starts at 20 s: the p99 crosses 500 ms within it and stays up after
    assert a["slow"]["firings"] >= 1
    first = a["slow"]["intervals"][0]
    assert 20 < first["start"] < 40 < first["end"]
    assert first["peak"] > 0.5
    assert a["slow"]["time_to_first_firing"] == pytest.approx(first["start"] - 2)


def test_alert_metrics_are_experiment_metrics() -> None:
    scenario = simperf.from_dict(PIECEWISE)
    metrics = known_metrics(scenario)
    for name in ("slow", "queue"):
        for key in ("firings", "time_firing", "time_to_first_firing"):
            assert f"alerts.{name}.{key}" in metrics
    reps = simperf.replicate(scenario.with_overrides({"alerts": PIECEWISE["alerts"][:1]}), 2)
    assert reps.interval("alerts.slow.time_firing").mean > 0
    assert reps.interval("alerts.slow.firings").n == 2
    assert "alerts.slow.firings" in set(reps.summary().metric)


def test_no_alerts_no_section(minimal_scenario: simperf.Scenario) -> None:
    result = simperf.run(minimal_scenario.with_overrides({"run.duration": 5}))
    assert "alerts" not in result.to_dict()
    assert result.alerts.empty and result.frame("alerts").empty
    assert np.isfinite(result.to_dict()["throughput"])


def dropping(queue: dict[str, Any], alerts: list[dict[str, Any]], **klass: Any) -> dict[str, Any]:
    """A request every 100 ms to a front hedging its call to app after 20 ms: app's two
    instances of one worker take 150 ms a request (app[1] six times that), so both queue;
    app's ``queue`` sheds or drops."""
    call = {"call": "app.serve", "hedge": {"after": "20ms"}}
    slow = {"component": "app", "instance": 1, "kind": "slow", "factor": 6, "at": 0, "for": 10}
    return {
        "name": "dropping",
        "workload": {
            "arrival": {"kind": "deterministic", "rate": 10},
            "classes": [{"name": "req", "entry": "front", "endpoint": "serve", **klass}],
        },
        "components": {
            "front": {"kind": "app_server", "workers": 1000, "endpoints": {"serve": [call]}},
            "app": {
                "kind": "app_server",
                "replicas": 2,
                "queue": queue,
                "endpoints": {"serve": [{"cpu": "150ms"}]},
            },
        },
        "faults": [slow],
        "run": {"duration": 6, "window": 0.5, "warmup": 0},
        "alerts": alerts,
    }


@pytest.mark.parametrize(
    ("metric", "queue", "klass"),
    [
        ("shed", {"shed_after": "100ms"}, {}),
        ("expired", {"drop_expired": True}, {"timeout": "400ms"}),
        ("cancelled", {"drop_expired": True}, {}),
    ],
)
def test_an_app_servers_shed_expired_and_cancelled_can_be_watched(
    metric: str, queue: dict[str, Any], klass: dict[str, Any]
) -> None:
    # counted per window as the time series counts them, for the server (its instances
    # together) or one instance; alerts could watch none of them
    alerts = [
        {"name": "many", "metric": metric, "component": "app", "above": 1},
        {"name": "slow", "metric": metric, "component": "app", "instance": 1, "above": 0},
    ]
    result = simperf.run(simperf.from_dict(dropping(queue, alerts, **klass)))
    a, ts = result.to_dict()["alerts"], result.timeseries
    assert result.to_dict()["components"]["app"][metric] > 0
    assert a["slow"]["firings"] >= 1 and a["slow"]["target"] == "app[1]"
    assert spans(a["slow"]) == pytest.approx(
        [t for i in crossings(ts, "app[1]", metric, 0, 0) for t in i]
    )
    rows = ts[(ts.metric == metric) & ts.component.isin(["app[0]", "app[1]"])]
    per_window = rows.groupby("end").value.sum()
    assert a["many"]["time_firing"] == pytest.approx(0.5 * int((per_window > 1).sum()))
    assert f"alert many ({metric} of app above 1)" in result.summary()


def test_counter_alerts_name_a_server_that_counts_them() -> None:
    def problem(metric: str, queue: dict[str, Any] | None) -> str:
        data = dropping(
            queue or {}, [{"name": "a", "metric": metric, "component": "app", "above": 0}]
        )
        if queue is None:
            del data["components"]["app"]["queue"]
        with pytest.raises(simperf.SpecError) as error:
            simperf.from_dict(data)
        return str(error.value)

    assert "alerts[0].metric: 'app' sheds nothing (no queue or concurrency_limit)" in problem(
        "shed", None
    )
    assert "'app' drops nothing expired (no queue.drop_expired)" in problem("expired", None)
    assert "'app' drops nothing cancelled" in problem("cancelled", {"lifo_over": 5})
    with pytest.raises(simperf.SpecError, match="component: required for shed"):
        simperf.from_dict(dropping({}, [{"name": "a", "metric": "shed", "above": 0}]))
