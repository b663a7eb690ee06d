"""Headroom by operational laws: 1/utilisation of the binding resource, and the first
component to saturate is the one that does when the load is raised."""

from __future__ import annotations

import math
from typing import Any

import pytest

import simperf
from simperf.metrics.headroom import headroom
from tests.conftest import MODELS
from tests.presentation.test_summary_text import twice_capacity


def test_headroom_on_an_mmc_is_one_over_rho() -> None:
    scenario = simperf.load(MODELS / "mmc.yaml").with_overrides(
        {"run.duration": "60s", "run.warmup": "2s"}
    )
    d = simperf.run(scenario, seed=3).to_dict()
    first = d["headroom"]["first"]
    rho = d["components"]["app"]["utilization"]
    assert first["component"] == "app" and first["resource"] == "cores"
    assert first["headroom"] == pytest.approx(1 / rho, rel=1e-12)  # the operational law
    # Against theory (rho = 0.8): the measured busy time is a sum of n exponential
    # services over a Poisson count of them, relative s.d. about sqrt(2 / n); 4 s.d.
    n = d["components"]["app"]["served"]
    assert first["headroom"] == pytest.approx(1 / 0.8, rel=4 * math.sqrt(2 / n))


def test_binding_resource_is_the_busiest_and_storage_is_named() -> None:
    rows: list[dict[str, Any]] = [
        {"component": "app", "instance": "app[0]", "kind": "app_server", "utilization": 0.2,
         "worker_occupancy": 0.5},
        {"component": "app", "instance": "app[1]", "kind": "app_server", "utilization": 0.25,
         "worker_occupancy": 0.4},
        {"component": "db", "instance": "db[primary]/storage", "kind": "storage",
         "utilization": 0.1},
        {"component": "idle", "instance": "idle[0]", "kind": "app_server", "utilization": 0.0},
    ]  # fmt: skip
    found = headroom(rows)
    app = found["components"]["app"]
    assert (app["instance"], app["resource"], app["headroom"]) == ("app[0]", "workers", 2.0)
    assert found["components"]["db"]["resource"] == "storage"
    assert found["components"]["idle"]["headroom"] is None
    assert found["first"]["component"] == "app"


def two_tier(rate: float) -> simperf.Scenario:
    exp = {"dist": "exponential"}
    return simperf.from_dict(
        {
            "name": "two_tier",
            "workload": {
                "arrival": {"kind": "poisson", "rate": rate},
                "classes": [{"name": "req", "entry": "web", "endpoint": "serve"}],
            },
            "components": {
                "web": {
                    "kind": "app_server",
                    "cores": 2,
                    "workers": 1000,
                    "endpoints": {"serve": [{"cpu": {**exp, "mean": "10ms"}}, {"call": "db.q"}]},
                },
                "db": {"kind": "app_server", "endpoints": {"q": [{"cpu": {**exp, "mean": "6ms"}}]}},
            },
            "run": {"duration": "60s", "warmup": "2s"},
        }
    )


def test_the_named_bottleneck_is_the_first_to_saturate_when_load_rises() -> None:
    # web: 2 cores at 10 ms (rho 0.5 at 100/s, headroom 2); db: 1 core at 6 ms (0.6, 1.67)
    base = simperf.run(two_tier(100), seed=1).to_dict()
    first = base["headroom"]["first"]
    assert first["component"] == "db"
    assert base["estimate"]["bottleneck"]["component"] == "db"
    assert base["headroom"]["components"]["web"]["headroom"] > first["headroom"]
    # 10% past db's headroom db goes unstable while web (at 0.92) still copes
    past = simperf.run(two_tier(100 * first["headroom"] * 1.1), seed=1).to_dict()["stability"]
    assert past["status"] in ("saturated", "unstable") and past["component"] == "db"
    below = simperf.run(two_tier(100 * first["headroom"] * 0.9), seed=1).to_dict()["stability"]
    assert below["status"] == "stable"


def test_a_server_rejecting_half_its_load_saturates_at_half_of_it() -> None:
    # 200 req/s of exactly 10 ms at one worker with a queue limit: it serves 100/s at
    # 100% busy and rejects the rest; the load it saturates at is half the offered one.
    spec = {**twice_capacity(1.0), "run": {"duration": 20, "warmup": 1}}
    scenario = simperf.from_dict(spec)
    d = simperf.run(scenario, seed=1).to_dict()
    first = d["headroom"]["first"]
    assert first["utilization"] == pytest.approx(1.0, rel=1e-9)
    assert first["headroom"] == pytest.approx(0.5, rel=2e-3)
    assert first["headroom"] == pytest.approx(d["estimate"]["bottleneck"]["headroom"], rel=2e-3)
