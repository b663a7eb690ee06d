"""A dark region behind geographic balancing: its clients go to the next region in
latency order and pay the matrix latency there and back."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import simperf


def spec(faults: list[dict[str, Any]], replicas: int = 2) -> simperf.Scenario:
    backends = {
        f"app_{region}": {
            "kind": "app_server",
            "region": region,
            "replicas": replicas,
            "workers": 10,
            "endpoints": {"serve": [{"delay": "10ms"}]},
        }
        for region in ("eu", "us", "ap")
    }
    return simperf.from_dict(
        {
            "name": "dark_region",
            "workload": {
                "arrival": {"kind": "deterministic", "rate": 20},
                "classes": [{"name": "req", "entry": "lb", "endpoint": "serve"}],
                "clients": {"regions": {"eu": 1}},
            },
            "network": {
                "regions": ["eu", "us", "ap"],
                "latency": {
                    "eu": {"us": "40ms", "ap": "120ms"},
                    "us": {"eu": "30ms", "ap": "90ms"},
                },
            },
            "components": {
                "lb": {
                    "kind": "load_balancer",
                    "policy": "geographic",
                    "backends": sorted(backends),
                },
                **backends,
            },
            "faults": faults,
            "run": {"requests": 10},
        }
    )


def test_a_dark_regions_clients_go_to_the_next_region_in_latency_order() -> None:
    """eu clients every 50 ms; eu is dark from 0.1205 s for 0.2 s: the requests of 0.15,
    0.20, 0.25 and 0.30 s are served in us (40 + 30 ms away), none in ap."""
    result = simperf.run(spec([{"component": "app_eu", "at": 0.1205, "for": 0.2}]), seed=1)
    data = result._arrays  # type: ignore[attr-defined]
    latencies = data["latency"][np.argsort(data["start"])]
    home, away = 0.010, 0.010 + 0.040 + 0.030
    assert latencies == pytest.approx([home] * 2 + [away] * 4 + [home] * 4, abs=1e-12)
    components = result.to_dict()["components"]
    assert [components[c]["served"] for c in ("app_eu", "app_us", "app_ap")] == [6, 4, 0]


def test_one_instance_down_keeps_the_region_home() -> None:
    result = simperf.run(
        spec([{"component": "app_eu", "instance": 0, "at": 0.1, "for": 1}]), seed=1
    )
    components = result.to_dict()["components"]
    assert [components[c]["served"] for c in ("app_eu", "app_us", "app_ap")] == [10, 0, 0]


def test_a_group_is_full_at_the_workers_of_its_instances_up() -> None:
    """eu has 2 instances of 1 worker (spill_over 1: full at 2 in progress) and eu[0] is
    down throughout: its worker is not there to take requests, so the group is full at 1.
    A request every 50 ms holds eu[1]'s worker 90 ms: every second one finds it busy and
    goes to us, instead of queueing behind it at home."""
    scenario = spec([{"component": "app_eu", "instance": 0, "at": 0.01, "for": 10}]).with_overrides(
        {
            "components.app_eu.workers": 1,
            "components.app_eu.endpoints.serve": [{"delay": "90ms"}],
        }
    )
    result = simperf.run(scenario, seed=1)
    data = result._arrays  # type: ignore[attr-defined]
    latencies = data["latency"][np.argsort(data["start"])]
    home, away = 0.090, 0.010 + 0.040 + 0.030
    assert latencies == pytest.approx([home, away] * 5, abs=1e-12)
    components = result.to_dict()["components"]
    assert [components[c]["served"] for c in ("app_eu", "app_us", "app_ap")] == [5, 5, 0]
