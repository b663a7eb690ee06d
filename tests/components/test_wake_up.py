"""``wake_up``: extra held time for a request that arrives at an idle instance."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import simperf
from simperf.build import build
from simperf.errors import SpecError


def scenario(
    cpu: str, wake: Any = "3ms", *, after: str | None = None, requests: int = 4, **app: Any
) -> simperf.Scenario:
    server = {"kind": "app_server", "endpoints": {"serve": [{"cpu": cpu}]}, **app}
    if wake is not None:
        server["wake_up"] = {"time": wake, **({} if after is None else {"after": after})}
    return simperf.from_dict(
        {
            "name": "wake",
            "workload": {
                "arrival": {"kind": "deterministic", "rate": 100},
                "classes": [{"name": "req", "entry": "app", "endpoint": "serve"}],
            },
            "components": {"app": server},
            "run": {"requests": requests},
        }
    )


def latencies(result: simperf.Result) -> np.ndarray:
    arrays = result._arrays  # type: ignore[attr-defined]
    return arrays["latency"][np.argsort(arrays["start"])]


def test_only_a_request_that_finds_the_instance_idle_pays_it() -> None:
    # every 10 ms, 8 ms of CPU: an idle arrival takes 3 + 8 and ends at 11 ms, so the
    # next one (at 10 ms) queues 1 ms and pays no wake-up; the one after finds it idle
    result = simperf.run(scenario("8ms"), seed=1)
    assert latencies(result) == pytest.approx([0.011, 0.009, 0.011, 0.009], abs=1e-12)
    app = result.to_dict()["components"]["app"]
    assert app["mean_service"] == pytest.approx(0.0095, abs=1e-12)  # the wake-up is held


def test_only_an_instance_idle_for_after_pays_it() -> None:
    # as above, but the third request comes 1 ms after the second left (under 2 ms):
    # no wake-up; the fourth 2 ms after the third left: a wake-up
    result = simperf.run(scenario("8ms", after="2ms"), seed=1)
    assert latencies(result) == pytest.approx([0.011, 0.009, 0.008, 0.011], abs=1e-12)


def test_an_instance_busy_with_another_request_is_not_idle() -> None:
    # two workers: the second request starts at once on a free worker, but the instance
    # is not idle (the first still holds one), so it pays nothing
    result = simperf.run(scenario("15ms", workers=2, cores=2, requests=2), seed=1)
    assert latencies(result) == pytest.approx([0.018, 0.015], abs=1e-12)


def test_a_server_with_a_wake_up_runs_as_processes_and_without_it_flat() -> None:
    assert build(scenario("8ms")).clients._flat == [None]
    assert build(scenario("8ms", wake=None)).clients._flat != [None]


def test_the_same_seed_gives_the_same_results() -> None:
    wake = {"dist": "exponential", "mean": "2ms"}
    spec = scenario("8ms", wake, requests=200).with_overrides(
        {"workload.arrival": {"kind": "poisson", "rate": 80}}
    )
    first, second = (simperf.run(spec, seed=5).to_dict() for _ in range(2))
    first.pop("perf", None), second.pop("perf", None)
    assert first == second


def test_a_negative_wake_up_is_refused_with_its_path() -> None:
    with pytest.raises(SpecError, match=r"components\.app\.wake_up"):
        scenario("8ms", "-1ms")
    with pytest.raises(SpecError, match=r"components\.app\.wake_up\.after"):
        scenario("8ms", after="-1ms")
