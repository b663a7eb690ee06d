"""App-server behaviour with constant times: exact event times and counts."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import simperf


def scenario(endpoints: dict[str, Any], *, rate: float = 100.0, requests: int = 4, **app: Any):
    extra = app.pop("extra_components", {})
    components = {"app": {"kind": "app_server", "endpoints": endpoints, **app}, **extra}
    return simperf.from_dict(
        {
            "name": "exact",
            "workload": {
                "arrival": {"kind": "deterministic", "rate": rate},
                "classes": [{"name": "req", "entry": "app", "endpoint": "serve"}],
            },
            "components": components,
            "run": {"requests": requests},
        }
    )


def latencies(result: simperf.Result) -> np.ndarray:
    model_data = result._arrays  # type: ignore[attr-defined]
    return model_data["latency"][np.argsort(model_data["start"])]


def run(s) -> simperf.Result:
    return simperf.run(s, seed=1)


def test_no_queueing_gives_the_service_time() -> None:
    result = run(scenario({"serve": [{"cpu": "4ms"}]}, requests=50))
    assert result.to_dict()["latency"]["all"]["max"] == pytest.approx(0.004, abs=1e-12)
    assert result.to_dict()["latency"]["all"]["p50"] == pytest.approx(0.004, abs=1e-12)


def test_fifo_queue_exact_latencies() -> None:
    # arrivals every 10 ms, 15 ms of CPU on one core: each waits 5 ms more than the last
    result = run(scenario({"serve": [{"cpu": "15ms"}]}, requests=4))
    assert latencies(result) == pytest.approx([0.015, 0.020, 0.025, 0.030], abs=1e-12)


def test_queue_limit_rejects_when_full() -> None:
    result = run(scenario({"serve": [{"cpu": "15ms"}]}, requests=4, queue_limit=0))
    d = result.to_dict()
    assert d["requests"]["ok"] == 2
    assert d["errors"] == {"rejected": 2}
    assert d["requests"]["generated"] == 4


def test_delay_holds_no_core() -> None:
    both_at_once = {"serve": [{"delay": "100ms"}]}
    result = run(scenario(both_at_once, rate=1000, requests=2, cores=1, workers=10))
    assert latencies(result) == pytest.approx([0.1, 0.1], abs=1e-12)
    cpu = {"serve": [{"cpu": "100ms"}]}
    result = run(scenario(cpu, rate=1000, requests=2, cores=1, workers=10))
    assert latencies(result) == pytest.approx([0.1, 0.199], abs=1e-12)


def test_workers_bound_concurrency_even_for_delays() -> None:
    result = run(scenario({"serve": [{"delay": "100ms"}]}, rate=1000, requests=2, workers=1))
    assert latencies(result) == pytest.approx([0.1, 0.199], abs=1e-12)


def test_speed_divides_cpu_time() -> None:
    result = run(scenario({"serve": [{"cpu": "10ms"}]}, requests=3, speed=2.5))
    assert latencies(result) == pytest.approx([0.004] * 3, abs=1e-12)


def test_sequential_calls_add_and_parallel_calls_take_the_slowest() -> None:
    services = {
        "a": {"kind": "app_server", "cores": 4, "endpoints": {"x": [{"cpu": "10ms"}]}},
        "b": {"kind": "app_server", "cores": 4, "endpoints": {"y": [{"cpu": "30ms"}]}},
    }
    sequential = scenario(
        {"serve": [{"call": "a.x"}, {"call": "b.y"}]},
        requests=3,
        workers=8,
        extra_components=services,
    )
    parallel = scenario(
        {"serve": [{"parallel": ["a.x", "b.y"]}]},
        requests=3,
        workers=8,
        extra_components=services,
    )
    assert latencies(run(sequential)) == pytest.approx([0.040] * 3, abs=1e-12)
    assert latencies(run(parallel)) == pytest.approx([0.030] * 3, abs=1e-12)


def test_failure_in_a_parallel_branch_fails_the_request() -> None:
    services = {
        "a": {"kind": "app_server", "queue_limit": 0, "endpoints": {"x": [{"cpu": "50ms"}]}},
        "b": {"kind": "app_server", "cores": 4, "endpoints": {"y": [{"cpu": "1ms"}]}},
    }
    s = scenario(
        {"serve": [{"parallel": ["a.x", "b.y"]}]},
        rate=1000,
        requests=2,
        workers=8,
        extra_components=services,
    )
    d = run(s).to_dict()
    assert d["requests"]["ok"] == 1
    assert d["errors"]["rejected"] == 1


def test_utilization_of_constant_load_is_exact() -> None:
    s = simperf.from_dict(
        {
            "name": "util",
            "workload": {
                "arrival": {"kind": "deterministic", "rate": 100},
                "classes": [{"name": "req", "entry": "app", "endpoint": "serve"}],
            },
            "components": {
                "app": {"kind": "app_server", "cores": 2, "endpoints": {"serve": [{"cpu": "5ms"}]}}
            },
            "run": {"duration": 10.0075, "warmup": 0.0075, "window": 1},
        }
    )
    d = simperf.run(s).to_dict()
    # 100 req/s x 5 ms over 2 cores: 25%, measured over whole 10 ms periods
    assert d["components"]["app"]["utilization"] == pytest.approx(0.25, abs=1e-9)
    assert d["components"]["app"]["mean_wait"] == 0.0


def test_replicas_rotate_without_a_balancer() -> None:
    result = run(scenario({"serve": [{"cpu": "15ms"}]}, requests=4, replicas=2))
    # two instances alternate: each sees a request every 20 ms, so nobody waits
    assert latencies(result) == pytest.approx([0.015] * 4, abs=1e-12)
    per_instance = result.to_dict()["components"]["app"]["per_instance"]
    assert {k: v["served"] for k, v in per_instance.items()} == {"app[0]": 2, "app[1]": 2}


def test_worker_occupancy_counts_workers_held_by_delays_and_calls() -> None:
    # 100 req/s from t = 10 ms, each holding a worker 5 ms of cpu + 10 ms of delay + a
    # 5 ms call, on 4 workers: from 20 ms on, 2 are held at every instant (50%), while
    # cores are busy only for the cpu.
    s = simperf.from_dict(
        {
            "name": "held",
            "workload": {
                "arrival": {"kind": "deterministic", "rate": 100},
                "classes": [{"name": "req", "entry": "app", "endpoint": "serve"}],
            },
            "components": {
                "app": {
                    "kind": "app_server",
                    "cores": 2,
                    "workers": 4,
                    "endpoints": {
                        "serve": [{"cpu": "5ms"}, {"delay": "10ms"}, {"call": "svc.work"}]
                    },
                },
                "svc": {
                    "kind": "app_server",
                    "cores": 1,
                    "endpoints": {"work": [{"delay": "5ms"}]},
                },
            },
            "run": {"duration": 10.0275, "warmup": 0.0275, "window": 1},
        }
    )
    result = simperf.run(s)
    d = result.to_dict()["components"]
    assert d["app"]["worker_occupancy"] == pytest.approx(0.5, abs=1e-9)
    assert d["app"]["per_instance"]["app[0]"]["worker_occupancy"] == pytest.approx(0.5, abs=1e-9)
    assert d["app"]["utilization"] == pytest.approx(0.25, abs=1e-9)
    assert d["svc"]["worker_occupancy"] == pytest.approx(0.5, abs=1e-9)  # 100 x 5 ms on 1
    assert d["svc"]["utilization"] == 0.0
    frame = result.components.set_index(["component", "instance"])
    assert frame.loc[("app", "app[0]"), "worker_occupancy"] == pytest.approx(0.5, abs=1e-9)
    assert frame.loc[("app", "app[0]"), "workers"] == 4
    lines = result.summary().splitlines()
    header = next(line for line in lines if line.startswith("component"))
    assert header.split()[:5] == ["component", "kind", "util", "workers", "pool"]
    assert next(line for line in lines if line.startswith("app ")).split()[2:4] == [
        "25.0%",
        "50.0%",
    ]
