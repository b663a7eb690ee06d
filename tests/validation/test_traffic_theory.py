"""Balancing and network links against exact queueing results.

Power of two choices: n = 4 exponential servers (mean 5 ms) at load 0.75 behind a
balancer that picks the less loaded of two random instances. Its exact mean sojourn
comes from the Markov chain on the sorted queue lengths
(:func:`simperf.analysis.power_of_two`: 10.0866 ms).

Shared link: Poisson requests whose payload transfers queue FIFO on one link direction
are an M/G/1 queue with service size / bandwidth; the mean sojourn is the
Pollaczek-Khinchine value ``E[S] + lambda E[S^2] / (2 (1 - rho))``.
"""

from __future__ import annotations

from typing import Any

import pytest

from simperf import analysis

from agreement import CONFIDENCE, agrees, conserved_and_little, replications


def balanced(policy: str, duration: float) -> dict[str, Any]:
    return {
        "name": f"four_servers_{policy}",
        "workload": {
            "arrival": {"kind": "poisson", "rate": 600},  # 0.75 * 4 / 5 ms
            "classes": [{"name": "req", "entry": "lb", "endpoint": "serve"}],
        },
        "components": {
            "lb": {"kind": "load_balancer", "policy": policy, "backends": "app"},
            "app": {
                "kind": "app_server",
                "replicas": 4,
                "endpoints": {"serve": [{"cpu": {"dist": "exponential", "mean": "5ms"}}]},
            },
        },
        "run": {"duration": duration, "warmup": 5},
    }


def test_power_of_two_matches_the_exact_markov_chain() -> None:
    reps = replications(balanced("power_of_two", 120), 10)
    exact = analysis.power_of_two(600.0, 200.0, 4).mean_sojourn
    check = agrees(reps, "latency.all.mean", exact)
    conserved_and_little(reps)
    # Round robin gives each server Erlang-4 arrivals (E4/M/1: 13.24 ms) and random
    # four independent M/M/1 queues (20 ms): both clearly slower.
    upper = check.mean + check.half_width
    for policy in ("round_robin", "random"):
        other = replications(balanced(policy, 60), 5).interval("latency.all.mean", CONFIDENCE)
        assert other.low > upper, f"{policy}: {other.mean:.5f} ± {other.half_width:.2g}"


def shared_link(rate: float, duration: float) -> dict[str, Any]:
    return {
        "name": "shared_link",
        "workload": {
            "arrival": {"kind": "poisson", "rate": rate},
            "classes": [
                {
                    "name": "upload",
                    "entry": "app",
                    "endpoint": "serve",
                    # 1 ms on average at 10 MB/s, coefficient of variation 0.5
                    "request_size": {"dist": "gamma", "mean": "10kB", "cv": 0.5},
                }
            ],
            "clients": {"regions": {"edge": 1}},
        },
        "network": {
            "regions": ["edge", "dc"],
            "links": {"edge": {"dc": {"bandwidth": "10MB/s", "shared": True}}},
        },
        "components": {
            "app": {
                "kind": "app_server",
                "region": "dc",
                "workers": 100_000,
                "endpoints": {"serve": [{"delay": 0}]},
            }
        },
        "run": {"duration": duration, "warmup": 10},
    }


def pollaczek_khinchine(rate: float, mean: float, cv: float) -> float:
    rho = rate * mean
    return mean + rate * mean**2 * (1 + cv**2) / (2 * (1 - rho))


def check_link(rate: float, duration: float, n: int) -> None:
    reps = replications(shared_link(rate, duration), n)
    agrees(reps, "latency.all.mean", pollaczek_khinchine(rate, 0.001, 0.5))
    agrees(reps, "components.edge->dc.utilization", rate * 0.001)
    conserved_and_little(reps)


def test_a_shared_link_queues_like_an_mg1() -> None:
    check_link(600.0, 80.0, 10)  # load 0.6 here; 0.9 under make validate


@pytest.mark.validate
def test_a_shared_link_at_90_percent_queues_like_an_mg1() -> None:
    check_link(900.0, 800.0, 15)
