"""Warnings a planner sees first: instability, SLOs, failed requests, the bottleneck."""

from __future__ import annotations

import pytest

import simperf
from simperf.presentation.findings import bottleneck, slo_verdicts, warnings

from conftest import MODELS


@pytest.fixture(scope="module")
def overloaded() -> simperf.Result:
    # Three times the flagship's load: the app tier rejects, both SLOs are missed.
    scenario = simperf.load(MODELS / "web_stack.yaml").with_overrides(
        {"run.duration": 5, "run.warmup": 1, "workload.arrival.rate": "6000/s"}
    )
    return simperf.run(scenario, seed=1)


def test_overload_is_reported_in_order_of_severity(overloaded: simperf.Result) -> None:
    found = warnings(overloaded)
    levels = [level for level, _ in found]
    assert levels[0] == "warning" and found[0][1].startswith("saturated: app")
    assert levels == sorted(levels, key=["error", "warning", "info"].index)
    texts = [text for _, text in found]
    p99 = overloaded.metric("latency.all.p99")
    assert f"SLO latency.all.p99 < 200 ms missed: {simperf.units.format_time(p99)}" in texts
    rejected = overloaded.to_dict()["requests"]["errors"]["rejected"]
    assert f"failed requests: rejected {rejected}" in texts


def test_bottleneck_is_the_busiest_instance(overloaded: simperf.Result) -> None:
    top = bottleneck(overloaded)
    rows = overloaded.components
    rows = rows[rows.instance != "all"]
    assert top is not None
    # every app instance is saturated: the one of least headroom (served share over
    # utilisation) is named, its cores busy to within rounding of the busiest's
    assert top["utilization"] == pytest.approx(rows["utilization"].max(), rel=1e-12)
    assert top["component"] == "app"


def test_slos_met_at_nominal_load() -> None:
    scenario = simperf.load(MODELS / "web_stack.yaml").with_overrides(
        {"run.duration": 5, "run.warmup": 1}
    )
    verdicts = slo_verdicts(simperf.run(scenario, seed=1))
    assert [met for met, _ in verdicts] == [True, True]


def test_a_verdict_with_no_component_names_none() -> None:
    # Requests time out at the client (5 ms) at a lightly loaded server: failing, no
    # resource and no fault to blame.
    scenario = simperf.from_dict(
        {
            "name": "impatient",
            "workload": {
                "arrival": {"kind": "poisson", "rate": 10},
                "classes": [{"name": "r", "entry": "app", "endpoint": "r", "timeout": "5ms"}],
            },
            "components": {"app": {"kind": "app_server", "endpoints": {"r": [{"delay": "10ms"}]}}},
            "run": {"duration": 10, "warmup": 0},
        }
    )
    result = simperf.run(scenario, seed=1)
    stab = result.to_dict()["stability"]
    assert (stab["status"], stab["component"]) == ("failing", None)
    line = next(text for _, text in warnings(result) if text.startswith("failing"))
    assert line == f"failing: {stab['reason']}"
    assert f"stability failing ({stab['reason']})" in result.summary()


def test_the_bottleneck_is_the_first_to_saturate_whatever_its_resource() -> None:
    # web_ap's workers, held ~190 ms a request on the trip to the database, saturate
    # first (the headroom line); the warning named web_eu[1] at 14% busy, the busiest
    # CPUs, while web_ap's were 9% busy
    scenario = simperf.load(MODELS / "multi_region.yaml").with_overrides(
        {"run.duration": 10, "run.warmup": 2}
    )
    result = simperf.run(scenario, seed=1)
    first = result.metric("headroom.first")
    assert (first["instance"], first["resource"]) == ("web_ap[0]", "workers")
    top = bottleneck(result)
    assert top is not None
    assert (top["instance"], top["resource"]) == ("web_ap[0]", "workers")
    assert top["utilization"] == first["utilization"]
    texts = [text for _, text in warnings(result)]
    busy = f"{first['utilization']:.0%}"
    said = f"bottleneck: web_ap[0] workers at {busy} busy"
    assert f"{said} (the first to queue as load grows, by the estimate)" in texts


def test_a_storage_bottleneck_is_named_once() -> None:
    scenario = simperf.load(MODELS / "read_replicas.yaml").with_overrides(
        {"run.duration": 3, "run.warmup": 1}
    )
    texts = [text for _, text in warnings(simperf.run(scenario, seed=1))]
    (said,) = [text for text in texts if text.startswith("bottleneck")]
    assert said.startswith("bottleneck: catalog[replica") and "/storage at " in said
