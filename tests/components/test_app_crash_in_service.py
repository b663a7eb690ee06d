"""A crashed app instance's requests in service: complete, fail at the crash, or hang.

Constant times throughout: 10 requests/s arrive at k/10 s and alternate between app[0]
and app[1] (app[0] takes those at 0.1, 0.3, ...); each holds a worker for 0.55 s. app[0]
crashes at 2.02 s, when exactly three of its requests are in service (started at 1.5,
1.7 and 1.9 s); its new requests go to app[1], which has workers to spare.
"""

from __future__ import annotations

from typing import Any

import pytest

import simperf

CRASH = 2.02
IN_SERVICE = 3


def scenario(
    in_service: str, *, timeout: str | None = None, call_timeout: str | None = None
) -> simperf.Scenario:
    klass: dict[str, Any] = {"name": "req", "entry": "app", "endpoint": "serve"}
    if timeout is not None:
        klass["timeout"] = timeout
    components: dict[str, Any] = {
        "app": {
            "kind": "app_server",
            "replicas": 2,
            "workers": 8,
            "cores": 8,
            "endpoints": {"serve": [{"cpu": "550ms"}]},
        }
    }
    if call_timeout is not None:  # a front tier calls app with a timeout
        klass["entry"] = "front"
        call = {"call": "app.serve", "timeout": call_timeout}
        components["front"] = {
            "kind": "app_server",
            "workers": 64,
            "endpoints": {"serve": [call]},
        }
    return simperf.from_dict(
        {
            "name": "crash_in_service",
            "workload": {"arrival": {"kind": "deterministic", "rate": 10}, "classes": [klass]},
            "components": components,
            "faults": [
                {"component": "app", "instance": 0, "at": CRASH, "for": 1, "in_service": in_service}
            ],
            "run": {"duration": 5, "warmup": 0},
        }
    )


def run(scenario: simperf.Scenario) -> tuple[dict[str, Any], Any]:
    result = simperf.run(scenario, seed=1)
    requests = result.to_dict()["requests"]
    assert requests["generated"] == requests["ok"] + requests["failed"] + requests["in_flight"]
    return requests, result.requests


def test_by_default_requests_in_service_complete() -> None:
    requests, _ = run(scenario("complete"))
    assert requests["failed"] == 0


def test_with_fail_the_requests_in_service_fail_at_the_crash() -> None:
    requests, table = run(scenario("fail"))
    assert requests["failed"] == IN_SERVICE
    assert requests["errors"]["instance_down"] == IN_SERVICE
    failed = table[table["outcome"] == "instance_down"]
    assert failed["end"].tolist() == pytest.approx([CRASH] * IN_SERVICE)
    assert failed["start"].tolist() == pytest.approx([1.5, 1.7, 1.9])
    assert requests["in_flight"] == run(scenario("complete"))[0]["in_flight"]


def test_with_hang_and_a_class_timeout_they_end_at_their_timeout() -> None:
    requests, table = run(scenario("hang", timeout="1s"))
    assert requests["failed"] == requests["errors"]["timeout"] == IN_SERVICE
    timed_out = table[table["outcome"] == "timeout"]
    assert timed_out["latency"].tolist() == pytest.approx([1.0] * IN_SERVICE)
    assert timed_out["start"].tolist() == pytest.approx([1.5, 1.7, 1.9])


def test_with_hang_and_a_call_timeout_the_caller_times_out() -> None:
    requests, table = run(scenario("hang", call_timeout="800ms"))
    assert requests["failed"] == requests["errors"]["timeout"] == IN_SERVICE
    timed_out = table[table["outcome"] == "timeout"]
    assert timed_out["latency"].tolist() == pytest.approx([0.8] * IN_SERVICE)


def test_with_hang_and_no_timeout_they_stay_in_flight() -> None:
    requests, _ = run(scenario("hang"))
    assert requests["failed"] == 0
    assert requests["in_flight"] == run(scenario("complete"))[0]["in_flight"] + IN_SERVICE


@pytest.mark.parametrize("in_service", ["fail", "hang"])
def test_the_crash_frees_the_workers_and_the_cpu_burst_runs_on(in_service: str) -> None:
    """The three requests would have held their workers 0.03 + 0.23 + 0.43 = 0.69 s more
    (of 8 workers x 5 s); the CPU bursts under way run to their end (docs/resilience.md:
    abandoned work goes on), so core use is unchanged, and they are not counted served."""
    per_instance = {
        mode: simperf.run(scenario(mode), seed=1).to_dict()["components"]["app"]["per_instance"][
            "app[0]"
        ]
        for mode in ("complete", in_service)
    }
    complete, crashed = per_instance["complete"], per_instance[in_service]
    freed = (complete["worker_occupancy"] - crashed["worker_occupancy"]) * 8 * 5
    assert freed == pytest.approx(0.69)
    assert crashed["utilization"] == pytest.approx(complete["utilization"])
    assert crashed["served"] == complete["served"] - IN_SERVICE


@pytest.mark.parametrize("in_service", ["fail", "hang"])
def test_repeated_crashes_under_a_closed_loop_keep_every_request_accounted(
    in_service: str,
) -> None:
    """Random crashes of a tier that queues for its core and calls another inline: the
    interrupted requests leave no worker, core or queue place behind (the tier serves on
    after each repair) and every request is counted once."""
    data: dict[str, Any] = {
        "name": "closed_crashes",
        "workload": {
            "users": 20,
            "think_time": "10ms",
            "classes": [{"name": "req", "entry": "app", "endpoint": "serve", "timeout": "1s"}],
        },
        "components": {
            "app": {
                "kind": "app_server",
                "replicas": 2,
                "workers": 6,
                "cores": 1,
                "endpoints": {
                    "serve": [
                        {"cpu": {"dist": "exponential", "mean": "2ms"}},
                        {"call": "back.serve"},
                        {"delay": "1ms"},
                    ]
                },
            },
            "back": {"kind": "app_server", "cores": 2, "endpoints": {"serve": [{"cpu": "1ms"}]}},
        },
        "faults": [
            {
                "component": "app",
                "mtbf": {"dist": "exponential", "mean": "500ms"},
                "mttr": "50ms",
                "in_service": in_service,
            }
        ],
        "run": {"duration": 10, "warmup": 0},
    }
    result = simperf.run(simperf.from_dict(data), seed=3).to_dict()
    requests = result["requests"]
    assert requests["generated"] == requests["ok"] + requests["failed"] + requests["in_flight"]
    assert requests["in_flight"] <= 20
    assert requests["errors"]["instance_down" if in_service == "fail" else "timeout"] > 0
    served = result["components"]["app"]["per_instance"]
    assert all(s["served"] > 1000 for s in served.values())
