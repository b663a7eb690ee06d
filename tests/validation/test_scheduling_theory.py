"""Processor sharing and non-preemptive priorities against their closed forms."""

from __future__ import annotations

from typing import Any

import pytest

from simperf import analysis

from agreement import agrees, conserved_and_little, open_spec, replications, server

pytestmark = pytest.mark.validate

MEAN = 0.01  # 10 ms of CPU on average


def ps_server(endpoints: dict[str, Any]) -> dict[str, Any]:
    # workers far above any queue length reached at these loads: every request shares
    return {
        "kind": "app_server",
        "cores": 1,
        "workers": 1000,
        "cpu_discipline": "ps",
        "endpoints": endpoints,
    }


def test_mm1_ps_mean_sojourn() -> None:
    lam = 60.0
    endpoints = {"serve": [{"cpu": {"dist": "exponential", "mean": MEAN}}]}
    spec = open_spec("mm1_ps", lam, {"app": ps_server(endpoints)}, duration=300, warmup=10)
    reps = replications(spec, 20)
    theory = analysis.mg1_ps(lam, MEAN)
    agrees(reps, "latency.all.mean", theory.mean_sojourn)
    agrees(reps, "components.app.utilization", theory.utilization)
    conserved_and_little(reps)


def test_ps_slowdown_is_the_same_for_every_size() -> None:
    # three job sizes (constant, so each class is a size bin): E[T | x] = x / (1 - rho)
    sizes = {"small": 0.002, "medium": 0.01, "large": 0.03}
    weights = {"small": 5.0, "medium": 3.0, "large": 2.0}
    mean = sum(sizes[k] * weights[k] for k in sizes) / sum(weights.values())
    lam = 0.6 / mean
    endpoints = {k: [{"cpu": v}] for k, v in sizes.items()}
    spec = open_spec("ps_sizes", lam, {"app": ps_server(endpoints)}, duration=300, warmup=10)
    spec["workload"]["classes"] = [
        {"name": k, "entry": "app", "endpoint": k, "weight": weights[k]} for k in sizes
    ]
    reps = replications(spec, 20)
    theory = analysis.mg1_ps(lam, mean)
    for name, size in sizes.items():
        agrees(reps, f"latency.{name}.mean", theory.sojourn_of(size))
    conserved_and_little(reps)


def test_two_priorities_match_cobham() -> None:
    lam = {"checkout": 25.0, "browse": 25.0}
    components = {"app": server(queue={"discipline": "priority"})}
    spec = open_spec("priority_mm1", sum(lam.values()), components, duration=500, warmup=10)
    spec["workload"]["classes"] = [
        {"name": "checkout", "entry": "app", "endpoint": "serve", "priority": 1},
        {"name": "browse", "entry": "app", "endpoint": "serve", "priority": 0},
    ]
    reps = replications(spec, 20)
    waits = analysis.priority_mg1(list(lam.values()), [MEAN, MEAN], [2 * MEAN**2] * 2)
    agrees(reps, "latency.checkout.mean", waits[0] + MEAN)
    agrees(reps, "latency.browse.mean", waits[1] + MEAN)
    conserved_and_little(reps)
