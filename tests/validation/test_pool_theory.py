"""A small connection pool against the closed-form estimate: 3 connections in front of a
database that never queues (16 or 3 cores, at most 3 queries at once), each query holding its
connection for a gamma CPU time of 5 ms (cv 0.5) and a 1 ms round trip. The estimate
takes the pool as an M/G/3 station (Allen-Cunneen) of those holding times."""

from __future__ import annotations

import math
from typing import Any

import pytest

import simperf
from simperf.estimate import estimate
from tests.validation.agreement import TAIL_WIDTH, agrees, replications

SIZE = 3
HOLD = 0.006  # 5 ms of CPU and the 1 ms round trip (the row's transfer: 0.8 us more)


def pooled(rate: float, duration: float = 500.0) -> dict[str, Any]:
    """Poisson ``rate`` of one 0.5 ms CPU step and one query through the pool."""
    return {
        "name": "pooled",
        "workload": {
            "arrival": {"kind": "poisson", "rate": rate},
            "classes": [{"name": "req", "entry": "app", "endpoint": "serve"}],
        },
        "components": {
            "app": {
                "kind": "app_server",
                "cores": 4,
                "workers": 10_000,
                "pool": {"database": "db", "size": SIZE, "max_wait": 1000},
                "endpoints": {
                    "serve": [
                        {"cpu": {"dist": "exponential", "mean": "0.5ms"}},
                        {"query": "by_id", "database": "db"},
                    ]
                },
            },
            "db": {
                "kind": "database",
                "primary": {
                    "cores": 16,
                    "storage": {"read_latency": 0, "write_latency": 0},
                    "max_connections": 1000,
                },
                "cpu": {
                    "per_query": {"dist": "gamma", "mean": "5ms", "cv": 0.5},
                    "per_row": 0,
                    "per_page": 0,
                    "per_row_written": 0,
                    "per_index_write": 0,
                },
                "rtt": "1ms",
                "tables": {"t": {"rows": 1000, "row_size": 100}},
                "queries": {"by_id": {"table": "t", "where": ["id"]}},
            },
        },
        "run": {"duration": duration, "warmup": 10},
    }


def allen_cunneen_gap(rho: float, c: int, scv: float, wait: float) -> float:
    """How far Allen-Cunneen's M/G/c wait (``wait``, of a service of squared cv ``scv``)
    is from Cosmetatos's: M/M/c's wait interpolated by ``scv`` towards his M/D/c form,
    half of M/M/c's times ``1 + (1 - rho)(c - 1)(sqrt(4 + 5c) - 2) / (16 rho c)``. The
    two standard approximations agree at cv 1 and in heavy traffic; between them lies
    the estimate's stated error."""
    mmc = wait * 2 / (1 + scv)
    mdc = mmc / 2 * (1 + (1 - rho) * (c - 1) * (math.sqrt(4 + 5 * c) - 2) / (16 * rho * c))
    return abs(scv * mmc + (1 - scv) * mdc - wait)


@pytest.mark.validate
@pytest.mark.parametrize("cores", [16, SIZE], ids=["16-cores", "as-many-cores"])
@pytest.mark.parametrize("occupancy", [0.5, 0.85])
def test_a_small_pool_agrees_with_the_estimate(occupancy: float, cores: int) -> None:
    # with as many cores as connections the database never queues either: the estimate
    # solved its cores as if queries came freely (M/G/3 at 71% busy at 85% occupancy),
    # which lengthened the pool's holding time past saturation: no mean, no p99
    spec = pooled(occupancy * SIZE / HOLD)
    spec["components"]["db"]["primary"]["cores"] = cores
    scenario = simperf.from_dict(spec)
    e = estimate(scenario)
    pool = e.stations.set_index(["component", "resource"]).loc[("app", "pool")]
    p99 = float(e.classes.set_index("class").loc["all", "p99"])
    gap = allen_cunneen_gap(pool["utilization"], SIZE, pool["scv"], pool["mean_wait"])
    reps = replications(scenario, 20)  # 10 x 800 s left the p99 at 85% too wide
    checks = [
        agrees(reps, "databases.db.pools.app.utilization", pool["utilization"]),
        agrees(reps, "latency.all.mean", e.mean(), approximation=gap / e.mean()),
        agrees(reps, "latency.all.p99", p99, max_width=TAIL_WIDTH),
    ]
    for run in reps.runs:
        assert run["components"]["db"]["mean_wait"] == 0.0  # the database never queues
    print(*checks, sep="\n")  # the figures docs/estimate.md quotes (pytest -rP)
