"""The stability verdict sees every saturated resource, and errors and outages."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest

import simperf
from simperf.metrics.stability import FAILING_ERROR_RATE, SATURATED_UTILIZATION, SHORT_WINDOW
from tests.components.test_autoscaling import scenario as autoscaled_scenario
from tests.components.test_rate_limit import limited

from conftest import MODELS


def spec(components: dict[str, Any], *, rate: float, duration: float, **run: Any) -> dict[str, Any]:
    return {
        "name": "stability",
        "workload": {
            "arrival": {"kind": "poisson", "rate": rate},
            "classes": [{"name": "req", "entry": "app", "endpoint": "serve"}],
        },
        "components": components,
        "run": {"duration": duration, "warmup": 1, **run},
    }


def delay_server(workers: int, mean: float, **extra: Any) -> dict[str, Any]:
    return {
        "kind": "app_server",
        "cores": workers,
        "workers": workers,
        "endpoints": {"serve": [{"delay": {"dist": "exponential", "mean": mean}}]},
        **extra,
    }


def stability(s: dict[str, Any], seed: int = 1) -> dict[str, Any]:
    return simperf.run(simperf.from_dict(s), seed=seed).to_dict()["stability"]


def test_a_thread_pool_bound_server_is_unstable_on_its_workers() -> None:
    # 60 req/s held 100 ms each: 6 workers' worth of work on 4, cores idle throughout.
    s = spec({"app": delay_server(4, 0.1)}, rate=60, duration=60)
    result = simperf.run(simperf.from_dict(s), seed=1).to_dict()
    assert result["components"]["app"]["utilization"] == 0.0
    assert result["components"]["app"]["worker_occupancy"] > SATURATED_UTILIZATION
    stab = result["stability"]
    assert (stab["status"], stab["instance"], stab["resource"]) == ("unstable", "app[0]", "workers")
    assert "workers" in stab["reason"] and "cores 0.0%" in stab["reason"]


def test_the_callee_holding_its_workers_is_named_not_its_blocked_caller() -> None:
    # The README tour's trap: payments' 2 default workers are held by a 40 ms delay, so
    # the caller's workers fill waiting on it and the caller rejects at its queue limit.
    app = {
        "kind": "app_server",
        "cores": 4,
        "workers": 16,
        "queue_limit": 100,
        "endpoints": {"serve": [{"cpu": "1ms"}, {"call": "payments.charge"}]},
    }
    payments = {
        "kind": "app_server",
        "cores": 2,
        "endpoints": {"charge": [{"delay": {"dist": "exponential", "mean": "40ms"}}]},
    }
    result = simperf.run(
        simperf.from_dict(spec({"app": app, "payments": payments}, rate=100, duration=20)), seed=1
    ).to_dict()
    assert result["components"]["app"]["rejected"] > 0  # the caller does reject
    stab = result["stability"]
    assert stab["status"] == "saturated"
    assert (stab["component"], stab["resource"]) == ("payments", "workers")
    assert result["components"]["payments"]["utilization"] == 0.0


def test_pool_timeouts_saturate_the_pool() -> None:
    db = {
        "kind": "database",
        "primary": {"cores": 8, "memory": "1GiB", "max_connections": 1000},
        "cpu": {"per_query": "1ms"},
        "tables": {"kv": {"rows": 1, "row_size": 100}},
        "queries": {"get": {"table": "kv", "where": ["id"]}},
    }
    app = {
        "kind": "app_server",
        "cores": 4,
        "workers": 64,
        "pool": {"database": "db", "size": 1, "max_wait": "5ms"},
        "endpoints": {"serve": [{"query": "get", "database": "db"}]},
    }
    result = simperf.run(
        simperf.from_dict(spec({"app": app, "db": db}, rate=3000, duration=5)), seed=1
    ).to_dict()
    row = result["components"]["app"]
    assert row["pool_timeouts"] > 0 and row["pool_occupancy"] > SATURATED_UTILIZATION
    stab = result["stability"]
    assert (stab["status"], stab["component"], stab["resource"]) == ("saturated", "app", "pool")


def test_an_instance_down_all_run_is_failing() -> None:
    s = spec({"app": delay_server(4, 0.01)}, rate=50, duration=21)
    s["faults"] = [{"component": "app", "at": 0, "for": 1000}]
    result = simperf.run(simperf.from_dict(s), seed=1).to_dict()
    assert result["error_rate"] > FAILING_ERROR_RATE
    stab = result["stability"]
    assert (stab["status"], stab["component"]) == ("failing", "app")
    assert "instance_down" in stab["reason"]
    assert stab["warnings"] == ["app down 20 s (100% of the measured period)"]


def test_a_failing_run_is_blamed_on_the_outage_that_fails_its_requests() -> None:
    # models/failover.yaml: a cache node down 40 s (misses go to the database, nothing
    # fails), then the primary down 20 s (updates fail as primary_down). The verdict
    # blamed the longer outage: "failing (cache: ... primary_down; cache[1] down 40 s".
    scenario = simperf.load(MODELS / "failover.yaml").with_overrides({"run.duration": 45})
    result = simperf.run(scenario, seed=1)
    stab = result.to_dict()["stability"]
    errors = result.to_dict()["requests"]["errors"]
    assert {cause for cause, count in errors.items() if count} == {"primary_down"}
    assert (stab["status"], stab["component"]) == ("failing", "catalog")
    assert stab["reason"].endswith("; catalog[primary] down 15 s (38% of the measured period)")
    assert "cache[1] down 25 s (62% of the measured period)" in stab["warnings"]
    # the 332 updates failed while both faults lasted: each occurrence counted all of
    # them ("cache[1] crash at 20 s, 332 failed while it lasted", and the same for the
    # primary, of 332 in all); they failed as primary_down, so the primary's crash has them
    faults = result.to_dict()["faults"]
    assert [o["failed"] for o in faults["occurrences"]] == [0, 332] and faults["failed"] == 332
    assert "          cache[1] crash at 20 s, 0 failed, counted to it" in result.summary()


def test_a_failing_run_is_blamed_on_the_group_crash_that_fails_its_requests() -> None:
    # app and a spare crash together (a group) for 1 s of 5: 100 requests fail as
    # instance_down; an errors fault on a server nobody calls lasts 4 s. A group's crash
    # was of no component kind, so it gave no cause: the verdict blamed the longer,
    # unrelated fault ("...; other failing some requests 4 s (80% ...)")
    server = {"kind": "app_server", "workers": 16, "endpoints": {"r": [{"cpu": "1ms"}]}}
    scenario = {
        "name": "rack",
        "workload": {
            "arrival": {"kind": "deterministic", "rate": 100},
            "classes": [{"name": "r", "entry": "app", "endpoint": "r"}],
        },
        "components": {"app": server, "spare": server, "other": server},
        "faults": [
            {"group": ["app", "spare"], "at": 1, "for": 1},
            {"component": "other", "kind": "errors", "fraction": 1, "at": 0.5, "for": 4},
        ],
        "run": {"duration": 5, "warmup": 0},
    }
    result = simperf.run(simperf.from_dict(scenario), seed=1)
    stab = result.to_dict()["stability"]
    assert stab["status"] == "failing"
    assert stab["reason"].endswith("; group app+spare down 1 s (20% of the measured period)")
    # component names a component in every verdict; the group's text is the target's:
    # component was 'group app+spare', and the summary read "group app+spare: 20.0% ..."
    assert (stab["component"], stab["target"]) == (None, "group app+spare")
    assert "stability failing (20.0% of requests failed" in result.summary()


def test_a_run_failing_mostly_by_its_own_rate_limit_is_blamed_on_no_outage() -> None:
    # a global limit refusing half of 100 req/s, an errors fault failing a fifth for 1 s
    # of 2: most failures are the limiter's, which no fault causes. The verdict blamed
    # the fault for them: "failing (app: ... as rate_limited; app failing some requests".
    fault = [{"component": "app", "kind": "errors", "fraction": 0.2, "at": 0.5, "for": 1}]
    arrival = {"kind": "deterministic", "rate": 100}
    data = simperf.run(limited(arrival, rate=50, burst=1, duration=2, faults=fault), seed=1).data
    stab = data["stability"]
    assert (stab["status"], stab["component"]) == ("failing", None)
    assert re.fullmatch(r"[\d.]+% of requests failed, [\d.]+% as rate_limited", stab["reason"])
    assert stab["warnings"] == ["app failing some requests 1 s (50% of the measured period)"]


def test_an_outage_routed_around_is_degraded_not_stable() -> None:
    s = spec({"app": delay_server(4, 0.01, replicas=2)}, rate=50, duration=21)
    s["faults"] = [{"component": "app", "instance": 1, "at": 5, "for": 5}]
    result = simperf.run(simperf.from_dict(s), seed=1).to_dict()
    assert result["requests"]["failed"] == 0  # round robin skips the failed instance
    stab = result["stability"]
    assert (stab["status"], stab["instance"], stab["target"]) == ("degraded", "app[1]", "app[1]")
    assert stab["warnings"] == ["app[1] down 5 s (25% of the measured period)"]


def test_an_outage_of_a_group_of_one_components_instances_names_that_component() -> None:
    # component and instance held the group's text ('group app[1]+app[2]'), neither a
    # component nor an instance; the text is the verdict's target now
    s = spec({"app": delay_server(4, 0.01, replicas=3)}, rate=50, duration=21)
    s["faults"] = [{"group": ["app[1]", "app[2]"], "at": 5, "for": 5}]
    stab = stability(s)
    assert stab["status"] == "degraded"
    assert (stab["component"], stab["instance"]) == ("app", None)
    assert stab["target"] == "group app[1]+app[2]"
    assert stab["warnings"] == ["group app[1]+app[2] down 5 s (25% of the measured period)"]


def test_a_healthy_run_is_stable() -> None:
    s = spec({"app": delay_server(4, 0.01)}, rate=50, duration=21)
    stab = stability(s)
    assert stab["status"] == "stable" and stab["target"] is None


BURSTY = spec(
    {
        "app": {
            "kind": "app_server",
            "cores": 1,
            "endpoints": {"serve": [{"cpu": {"dist": "exponential", "mean": "1ms"}}]},
        }
    },
    rate=410,
    duration=47,
)
# With 1 s of warm-up, 60 windows of 46/60 s: the 60th ends 1e-14 s before the horizon.
BURSTY["run"]["window"] = 46 / 60
BURSTY["workload"]["arrival"] = {
    "kind": "mmpp",
    "rate": 410,
    "relative_rates": [1, 1.5],
    "mean_sojourns": ["200ms", "200ms"],
}


def test_a_sliver_of_a_last_window_does_not_read_saturated() -> None:
    # About 41% busy with mild bursts: no whole window comes near 95%, but the run's last
    # window, a float-rounding sliver, is 100% busy whenever the core is busy at the end.
    s = copy.deepcopy(BURSTY)
    for seed in range(1, 13):
        result = simperf.run(simperf.from_dict(s), seed=seed)
        windows = result.timeseries[["start", "end"]].drop_duplicates()
        spans = (windows["end"] - windows["start"]).to_numpy()
        assert spans[-1] < SHORT_WINDOW * spans.max()  # the sliver is there
        stab = result.to_dict()["stability"]
        assert stab["status"] == "stable", (seed, stab)
        assert stab["peak"]["end"] - stab["peak"]["start"] >= SHORT_WINDOW * spans.max()


def test_shedding_saturates_the_shedding_server() -> None:
    # 90 req/s held 10 ms (exponential) by one worker that sheds waits over 50 ms: about
    # a tenth is shed, which keeps the worker under 95% busy; the server is overloaded.
    s = spec({"app": delay_server(1, 0.01, queue={"shed_after": "50ms"})}, rate=90, duration=21)
    result = simperf.run(simperf.from_dict(s), seed=1).to_dict()
    shed = result["errors"]["shed"] / result["requests"]["measured"]
    assert 0.05 < shed and result["components"]["app"]["worker_occupancy"] < SATURATED_UTILIZATION
    stab = result["stability"]
    assert (stab["status"], stab["instance"], stab["resource"]) == ("saturated", "app[0]", "shed")
    assert (
        stab["reason"].startswith("shedding: ") and "of requests shed at app[0]" in stab["reason"]
    )


def test_requests_a_fallback_answered_are_degraded_not_stable() -> None:
    # Every call to the back (50 ms) times out (10 ms); a fallback answers each request,
    # so nothing fails, no resource is busy and no fault ran, but no answer is the real one.
    call = {"call": "back.get", "timeout": "10ms", "fallback": {"cpu": "1ms"}}
    s = spec(
        {
            "app": {"kind": "app_server", "workers": 16, "endpoints": {"serve": [call]}},
            "back": {
                "kind": "app_server",
                "workers": 16,
                "endpoints": {"get": [{"delay": "50ms"}]},
            },
        },
        rate=50,
        duration=11,
    )
    result = simperf.run(simperf.from_dict(s), seed=1).to_dict()
    assert result["requests"]["failed"] == 0
    assert result["requests"]["degraded"] == result["requests"]["measured"]
    stab = result["stability"]
    assert stab["status"] == "degraded"
    assert stab["reason"] == "100.0% of requests degraded (a fallback answered for a failed call)"


def test_a_full_priority_queue_names_what_it_rejected_and_what_it_shed() -> None:
    # 200 req/s of 10 ms at one worker, a queue of 10 by priority: checkouts (a quarter)
    # push browses out (shed), browses find it full (rejected); half is dropped in all.
    s = spec(
        {
            "app": {
                "kind": "app_server",
                "workers": 1,
                "queue_limit": 10,
                "queue": {"discipline": "priority"},
                "endpoints": {"serve": [{"cpu": "10ms"}]},
            }
        },
        rate=200,
        duration=21,
    )
    s["workload"]["arrival"]["kind"] = "deterministic"
    s["workload"]["classes"] = [
        {"name": "checkout", "entry": "app", "endpoint": "serve", "weight": 1, "priority": 10},
        {"name": "browse", "entry": "app", "endpoint": "serve", "weight": 3},
    ]
    stab = stability(s)
    assert (stab["status"], stab["resource"]) == ("saturated", "queue_limit")
    rejected, shed = (float(x) for x in re.findall(r"([\d.]+)% ", stab["reason"])[:2])
    assert stab["reason"].startswith(
        f"queue limit: {rejected}% of requests rejected and {shed}% shed"
    )
    assert rejected + shed == pytest.approx(50, abs=0.2)


class _CountedFleet(list):  # type: ignore[type-arg]
    """A model's instances, counting the passes over them."""

    passes = 0

    def __iter__(self) -> Any:
        type(self).passes += 1
        return super().__iter__()


def test_the_verdict_passes_over_a_fleet_a_fixed_number_of_times() -> None:
    # each row's safety-cap check scanned the fleet: 20,000 replicas took 4e8 steps
    from simperf.build import build
    from simperf.metrics.summary import Summary

    s = spec({"app": delay_server(4, 0.01, replicas=60)}, rate=600, duration=2)
    model = build(simperf.from_dict(s), seed=1).execute()
    model.instances = _CountedFleet(model.instances)
    summary = Summary(model)
    rows = summary.instance_rows()
    _CountedFleet.passes = 0
    assert summary.stability(rows)["status"] == "stable"
    assert _CountedFleet.passes <= 6  # 60 rows, 9 windows: 110 before


def test_an_instance_provisioned_part_way_through_its_busiest_window_is_judged_on_that_part(
    tmp_path: Path,
) -> None:
    """An autoscaled instance's busiest window is judged over the time it was provisioned
    there, as the time series and the utilisation alert read it: 14/s of 100 ms on two
    instances (70%) makes a step policy add a third at 115 s (no warm-up), just as the
    load jumps to 32/s until 120 s (107% of three), then falls to 6/s. The new instance
    is all but 100% busy over the 5 s of [110, 120] it was provisioned: saturated at its
    peak. Over the whole window it read 50% (and the run stable), its older neighbours
    85% (half of it at 70%)."""
    scaling = {
        "min": 2,
        "max": 5,
        "metric": "cpu_utilization",
        "steps": [{"above": "60%", "change": 1}],
        "evaluation_period": "10s",
        "metric_lag": "5s",
        "warmup": 0,
        "cooldown": "300s",
    }
    segments = ((0.0, 10), (100.0, 14), (115.0, 32), (120.0, 6))
    s = autoscaled_scenario(tmp_path, scaling, segments)
    s["run"]["window"] = 10
    result = simperf.run(simperf.from_dict(s), seed=1)
    assert list(result.scaling_events["time"]) == [115.0]
    busy = result.timeseries.query("component == 'app[2]' and metric == 'utilization'")
    in_window = busy.set_index("start")["value"][110.0]
    assert in_window > 0.98  # as the time series reads it
    stab = result.to_dict()["stability"]
    assert stab["status"] == "saturated"
    assert stab["instance"] == "app[2]"
    assert stab["peak"]["instance"] == "app[2]"
    assert stab["peak"]["utilization"] == pytest.approx(in_window)
    assert (stab["peak"]["start"], stab["peak"]["end"]) == (110.0, 120.0)
