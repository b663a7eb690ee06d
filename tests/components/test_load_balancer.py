"""Balancing policies: exact shares with constant times, and least-connections behaviour."""

from __future__ import annotations

import math

import pytest

import simperf


def balanced(policy: str, *, requests: int = 600, rate: float = 1000.0, speeds=(1.0, 1.0, 1.0)):
    backends = {
        f"app{i}": {
            "kind": "app_server",
            "cores": 1,
            "speed": speed,
            "endpoints": {"serve": [{"cpu": "2ms"}]},
        }
        for i, speed in enumerate(speeds)
    }
    return simperf.from_dict(
        {
            "name": f"lb_{policy}",
            "workload": {
                "arrival": {"kind": "poisson", "rate": rate},
                "classes": [{"name": "req", "entry": "lb", "endpoint": "serve"}],
            },
            "components": {
                "lb": {"kind": "load_balancer", "policy": policy, "backends": sorted(backends)},
                **backends,
            },
            "run": {"requests": requests},
        }
    )


def served(result: simperf.Result) -> list[int]:
    comps = result.to_dict()["components"]
    return [comps[f"app{i}"]["served"] for i in range(len(comps) - 1)]


def test_round_robin_gives_exactly_equal_shares() -> None:
    result = simperf.run(balanced("round_robin"), seed=3)
    assert served(result) == [200, 200, 200]
    assert result.to_dict()["components"]["lb"]["imbalance"] == 1.0


def test_random_shares_are_binomial() -> None:
    n = 6000
    result = simperf.run(balanced("random", requests=n), seed=3)
    shares = served(result)
    sd = math.sqrt(n * (1 / 3) * (2 / 3))
    assert sum(shares) == n
    assert all(abs(s - n / 3) <= 4 * sd for s in shares)
    assert shares != [2000, 2000, 2000]  # not secretly round robin


def test_least_connections_favours_the_faster_instance() -> None:
    speeds = (1.0, 1.0, 4.0)
    rr = served(
        simperf.run(balanced("round_robin", requests=6000, rate=900, speeds=speeds), seed=1)
    )
    lc = served(
        simperf.run(balanced("least_connections", requests=6000, rate=900, speeds=speeds), seed=1)
    )
    assert rr == [2000, 2000, 2000]
    assert lc[2] > 1.15 * max(lc[0], lc[1])


def test_least_connections_counts_requests_in_progress() -> None:
    # One long request occupies app0; the next ones must avoid it while it is open.
    spec = {
        "name": "lc_open",
        "workload": {
            "arrival": {"kind": "deterministic", "rate": 1000},
            "classes": [{"name": "req", "entry": "lb", "endpoint": "serve"}],
        },
        "components": {
            "lb": {"kind": "load_balancer", "policy": "least_connections", "backends": ["a", "b"]},
            "a": {"kind": "app_server", "workers": 10, "endpoints": {"serve": [{"delay": "10ms"}]}},
            "b": {"kind": "app_server", "workers": 10, "endpoints": {"serve": [{"delay": "10ms"}]}},
        },
        "run": {"requests": 40},
    }
    result = simperf.run(simperf.from_dict(spec), seed=1)
    a, b = (result.to_dict()["components"][k]["served"] for k in ("a", "b"))
    # each request lasts 10 ms and arrives every 1 ms: open counts stay within one
    assert (a, b) == (20, 20)


def test_overhead_adds_to_latency() -> None:
    spec = balanced("round_robin", requests=3, rate=10).model_dump(by_alias=True)
    spec["components"]["lb"]["overhead"] = {"dist": "constant", "value": 0.001}
    result = simperf.run(simperf.from_dict(spec), seed=1)
    assert result.to_dict()["latency"]["all"]["max"] == pytest.approx(0.003, abs=1e-12)
