"""Fault kinds on the timeline: crash with connect timeout, slow, errors, balancer crash,
link latency and partition, groups and regions, detection, and conservation."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import simperf
from simperf.build import build
from simperf.experiment.run import summarise

RATE = 200  # deterministic arrivals: one every 5 ms, alternating between two instances


def scenario(
    faults: list[dict[str, Any]],
    *,
    lb: dict[str, Any] | None = None,
    network: bool = False,
    duration: float = 10,
    replicas: int = 2,
    cpu: Any = "1ms",
) -> simperf.Scenario:
    data: dict[str, Any] = {
        "name": "fault_kinds",
        "workload": {
            "arrival": {"kind": "deterministic", "rate": RATE},
            "classes": [{"name": "req", "entry": "lb", "endpoint": "serve"}],
        },
        "components": {
            "lb": {
                "kind": "load_balancer",
                "policy": "round_robin",
                "backends": "app",
                **(lb or {}),
            },
            "app": {
                "kind": "app_server",
                "replicas": replicas,
                "endpoints": {"serve": [{"cpu": cpu}]},
            },
        },
        "faults": faults,
        "run": {"duration": duration, "warmup": 0},
    }
    if network:
        data["network"] = {"regions": ["eu", "us"], "latency": {"eu": {"us": "40ms"}}}
        data["components"]["app"]["region"] = "us"
    return simperf.from_dict(data)


def conserved(result: simperf.Result) -> None:
    req = result.to_dict()["requests"]
    assert req["generated"] == req["ok"] + sum(req["errors"].values()) + req["in_flight"]


def test_a_slow_instance_serves_factor_times_slower_while_the_fault_lasts() -> None:
    result = simperf.run(
        scenario(
            [{"component": "app", "instance": 0, "kind": "slow", "factor": 5, "at": 2, "for": 3}]
        ),
        seed=1,
    )
    latency = result._arrays["latency"]
    # 3 s x 100/s to app[0]: each takes 5 ms instead of 1 ms; nobody else is slowed
    assert np.count_nonzero(latency > 0.004) == pytest.approx(300, abs=1)
    assert latency.max() == pytest.approx(0.005)
    assert result.to_dict()["requests"]["failed"] == 0
    faults = result.to_dict()["faults"]
    assert faults["occurrences"][0]["kind"] == "slow"
    # a slow instance is up: time availability is untouched
    assert faults["availability"]["time"]["instances"]["app[0]"] == 1.0


def test_injected_errors_fail_fast_in_their_fraction() -> None:
    result = simperf.run(
        scenario([{"component": "app", "kind": "errors", "fraction": 0.25, "at": 1, "for": 8}]),
        seed=1,
    )
    errors = result.to_dict()["requests"]["errors"]
    n, p = 8 * RATE, 0.25
    assert abs(errors["injected_error"] - n * p) < 4 * (n * p * (1 - p)) ** 0.5
    failed = result._arrays["outcome"] != 0
    assert np.all(result._arrays["latency"][failed] == 0)  # fail fast: no service
    conserved(result)


def test_a_crashed_instance_makes_callers_wait_the_connect_timeout() -> None:
    """A balancer whose probes have not noticed yet (every 10 s, three failures) keeps
    sending app[0] half the traffic for the whole second it is down."""
    fault = {"component": "app", "instance": 0, "at": 2, "for": 1, "connect_timeout": "300ms"}
    lb = {"health_check": {"interval": "10s", "timeout": "1s"}}
    result = simperf.run(scenario([fault], lb=lb), seed=1)
    data = result._arrays
    failed = data["outcome"] != 0
    assert np.count_nonzero(failed) == pytest.approx(RATE / 2, abs=1)
    assert data["latency"][failed] == pytest.approx(0.3)
    # and once it is back, it is not checked for any more: the plain interpreter
    model = build(scenario([fault], lb=lb), seed=1).execute()
    assert all("steps" not in inst.__dict__ for inst in model.components["app"].instances)


def test_a_crashed_balancer_fails_every_request_through_it() -> None:
    result = simperf.run(scenario([{"component": "lb", "at": 2, "for": 3}]), seed=1).to_dict()
    assert result["requests"]["errors"]["balancer_down"] == pytest.approx(3 * RATE, abs=1)
    assert result["requests"]["failed"] == result["requests"]["errors"]["balancer_down"]


def test_a_latency_spike_adds_to_every_trip_while_it_lasts() -> None:
    spike = {"kind": "latency", "between": ["eu", "us"], "latency": "100ms", "at": 2, "for": 2}
    result = simperf.run(scenario([spike], network=True), seed=1)
    data = result._arrays
    during = (data["start"] >= 2.0) & (data["start"] < 4.0 - 0.2)
    after = data["start"] >= 4.2  # past the trips still on the slow path at 4 s
    assert data["latency"][during] == pytest.approx(2 * 0.140 + 0.001)
    assert data["latency"][after] == pytest.approx(2 * 0.040 + 0.001)


def test_a_partition_fails_calls_across_after_the_connect_timeout() -> None:
    cut = {"kind": "partition", "between": ["eu", "us"], "connect_timeout": "1s", "at": 2, "for": 2}
    result = simperf.run(scenario([cut], network=True), seed=1)
    data = result._arrays
    failed = data["outcome"] != 0
    assert result.to_dict()["requests"]["errors"]["partitioned"] == np.count_nonzero(failed)
    assert np.count_nonzero(failed) == pytest.approx(
        2 * RATE, abs=9
    )  # trips under way at the edges
    assert data["latency"][failed & (data["start"] > 2.1)] == pytest.approx(1.0)
    conserved(result)


@pytest.mark.parametrize(
    "fault",
    [
        {"region": "us", "at": 2, "for": 1},
        {"group": ["app[0]", "app[1]"], "at": 2, "for": 1},
    ],
)
def test_a_region_or_group_fails_as_one(fault: dict[str, Any]) -> None:
    result = simperf.run(scenario([fault], network=True), seed=1).to_dict()
    assert result["requests"]["errors"]["instance_down"] == pytest.approx(RATE, abs=9)
    occurrence = result["faults"]["occurrences"][0]
    assert occurrence["instances"] == ["app[0]", "app[1]"]
    assert result["faults"]["availability"]["time"]["components"]["app"]["any_up"] == pytest.approx(
        0.9
    )


@pytest.mark.parametrize("connect_timeout", [0, 0.25])
def test_errors_before_detection_are_the_requests_sent_to_the_dead_instance(
    connect_timeout: float,
) -> None:
    """Crash at 2 s; probes every 1 s from a random phase, removal after one failed probe
    (0.5 s timeout): until then round robin sends app[0] every other request (100/s),
    and each of those fails; after it, none does."""
    fault = {
        "component": "app",
        "instance": 0,
        "at": 2,
        "for": 4,
        "connect_timeout": connect_timeout,
    }
    check = {"interval": "1s", "timeout": "500ms", "unhealthy_threshold": 1, "healthy_threshold": 1}
    result = simperf.run(scenario([fault], lb={"health_check": check}), seed=3).to_dict()
    occurrence = result["faults"]["occurrences"][0]
    detect = occurrence["time_to_detect"]
    assert 0.5 <= detect < 1.5
    failed = result["requests"]["failed"]
    assert failed == result["load_balancers"]["lb"]["refused"] == occurrence["failed"]
    assert abs(failed - detect * RATE / 2) <= 1
    assert occurrence["restored"] is not None and occurrence["time_to_restore"] <= 1.0
    assert result["faults"]["mean_time_to_detect"] == detect


def test_outlier_ejection_finds_a_slow_instance_that_probes_miss() -> None:
    faults = [{"component": "app", "instance": 1, "kind": "slow", "factor": 20, "at": 2, "for": 6}]
    lb = {
        "health_check": {"interval": "1s", "timeout": "500ms"},
        "outlier_detection": {
            "consecutive_errors": 3,
            "latency": "10ms",
            "base_ejection_time": "10s",
        },
    }
    result = simperf.run(scenario(faults, lb=lb), seed=1).to_dict()
    occurrence = result["faults"]["occurrences"][0]
    assert result["load_balancers"]["lb"]["ejections"] == 1
    assert result["load_balancers"]["lb"]["health_checks"]["removals"] == 0
    # it serves a request every 20 ms, and the third slow response ejects it
    assert occurrence["time_to_detect"] == pytest.approx(0.06, abs=0.011)
    assert result["requests"]["failed"] == 0


def test_probes_across_the_network_see_a_partition() -> None:
    data = scenario(
        [{"kind": "partition", "between": ["eu", "us"], "at": 2, "for": 5}],
        lb={
            "region": "eu",
            "health_check": {"interval": "1s", "timeout": "500ms", "unhealthy_threshold": 1},
        },
        network=True,
    )
    result = simperf.run(data, seed=1).to_dict()
    health = result["load_balancers"]["lb"]["health_checks"]
    assert health["removals"] == 2 and health["restorations"] == 2


@pytest.mark.parametrize("seed", range(6))
def test_conservation_is_exact_under_random_fault_schedules(seed: int) -> None:
    rng = np.random.default_rng(seed)
    kinds = [
        {"kind": "crash", "connect_timeout": float(rng.choice([0, 0.05]))},
        {"kind": "slow", "factor": float(rng.uniform(2, 10))},
        {"kind": "errors", "fraction": float(rng.uniform(0.05, 1))},
    ]
    faults = []
    for i in range(3):
        kind = kinds[int(rng.integers(3))]
        target = {"component": "app", "instance": i} if rng.random() < 0.7 else {"component": "app"}
        mean = float(rng.uniform(0.2, 2))
        faults.append(
            {**target, **kind, "mtbf": {"dist": "exponential", "mean": mean}, "mttr": mean / 3}
        )
    faults.append({"component": "lb", "mtbf": {"dist": "exponential", "mean": 2}, "mttr": 0.1})
    lb = {
        "policy": str(rng.choice(["round_robin", "least_connections", "power_of_two"])),
        "retries": int(rng.integers(0, 2)),
        "health_check": {"interval": "200ms", "timeout": "50ms", "unhealthy_threshold": 1},
        "outlier_detection": {
            "consecutive_errors": 2,
            "latency": "20ms",
            "base_ejection_time": "300ms",
        },
    }
    model = build(
        scenario(faults, lb=lb, duration=4, replicas=3, cpu={"dist": "exponential", "mean": "3ms"}),
        seed=seed,
    )
    result = summarise(model.execute())
    conserved(result)
    recorder = model.ctx.recorder
    assert recorder.generated == recorder.finished + recorder.in_flight
    assert result.to_dict()["faults"]["count"] > 0


def test_a_random_balancer_fault_fails_its_traffic_while_it_lasts() -> None:
    """A component without instances of its own (a balancer) fails as one, at random:
    each 100 ms outage fails the 20 requests arriving in it."""
    fault = {"component": "lb", "mtbf": {"dist": "exponential", "mean": 2}, "mttr": 0.1}
    result = simperf.run(scenario([fault]), seed=1).to_dict()
    count = result["faults"]["count"]
    assert count >= 1
    assert abs(result["requests"]["errors"]["balancer_down"] - count * 0.1 * RATE) <= count
    assert result["faults"]["availability"]["time"]["instances"]["lb"] == pytest.approx(
        1 - count * 0.1 / 10
    )
