"""Databases against queueing theory: a database as FIFO servers is M/M/c, a pool in front
of a database that is never the bottleneck is M/M/k on the pool, and scatter-gather over
identical M/M/1 shards obeys Nelson and Tantawi.

The closed forms are computed here (Erlang C, Nelson-Tantawi's two-server fork-join,
maxima of exponentials) rather than taken from ``simperf.analysis.queueing``, which this
branch does not have.
"""

from __future__ import annotations

import math
from typing import Any

import pytest

from agreement import MEAN_WIDTH, agrees, conserved_and_little, replications

MU = 100.0  # exponential query time of mean 10 ms


def erlang_c_wait(lam: float, mu: float, c: int) -> float:
    """Mean wait in queue of M/M/c (Erlang C)."""
    a = lam / mu
    rho = a / c
    below = sum(a**k / math.factorial(k) for k in range(c))
    top = a**c / math.factorial(c) / (1 - rho)
    return top / (below + top) / (c * mu - lam)


def fifo_database(cores: int, **extra: Any) -> dict[str, Any]:
    """A database whose queries are exactly exponential(10 ms) on ``cores`` FIFO servers."""
    return {
        "kind": "database",
        "primary": {
            "cores": cores,
            "storage": {"read_latency": 0, "write_latency": 0},
            "max_connections": 100_000,
        },
        "cpu": {
            "per_query": {"dist": "exponential", "mean": 1 / MU},
            "per_row": 0,
            "per_page": 0,
            "per_row_written": 0,
            "per_index_write": 0,
        },
        "connection": {"handshake": 0, "startup": 0},
        "rtt": 0,
        "tables": {"t": {"rows": 1000, "row_size": 100}},
        "queries": {"by_id": {"table": "t", "where": ["id"]}, "all": {"table": "t", "limit": 1}},
        **extra,
    }


def spec(
    rate: float, components: dict[str, Any], entry: str, endpoint: str, duration: float
) -> dict[str, Any]:
    return {
        "name": "db_theory",
        "workload": {
            "arrival": {"kind": "poisson", "rate": rate},
            "classes": [{"name": "req", "entry": entry, "endpoint": endpoint}],
        },
        "components": components,
        "run": {"duration": duration, "warmup": 10},
    }


def test_database_as_fifo_servers_is_mmc() -> None:
    lam, c = 280.0, 4
    reps = replications(spec(lam, {"db": fifo_database(c)}, "db", "by_id", 250), 10)
    wait = erlang_c_wait(lam, MU, c)
    agrees(reps, "latency.all.mean", wait + 1 / MU)
    agrees(reps, "components.db.mean_wait", wait, max_width=0.08)
    agrees(reps, "components.db.utilization", lam / (c * MU))
    conserved_and_little(reps)


def test_pool_in_front_of_an_idle_database_is_mmk_on_the_pool() -> None:
    lam, k = 280.0, 4
    app = {
        "kind": "app_server",
        "cores": 1,
        "workers": 100_000,
        "pool": {"database": "db", "size": k, "max_wait": 1000},
        "endpoints": {"serve": [{"query": "by_id", "database": "db"}]},
    }
    components = {"app": app, "db": fifo_database(64)}
    reps = replications(spec(lam, components, "app", "serve", 200), 10)
    wait = erlang_c_wait(lam, MU, k)
    agrees(reps, "latency.all.mean", wait + 1 / MU)
    agrees(reps, "databases.db.pools.app.wait.mean", wait, max_width=0.1)
    agrees(reps, "databases.db.pools.app.utilization", lam / (k * MU))
    for run in reps.runs:
        assert run["components"]["db"]["mean_wait"] == 0.0  # the database never queues


def sharded(shards: int) -> dict[str, Any]:
    return {**fifo_database(1), "kind": "sharded_database", "shards": shards}


def test_scatter_gather_over_two_mm1_shards_matches_nelson_tantawi() -> None:
    lam = 60.0
    rho = lam / MU
    reps = replications(spec(lam, {"db": sharded(2)}, "db", "all", 400), 10)
    agrees(reps, "latency.all.mean", (12 - rho) / 8 / (MU - lam), max_width=MEAN_WIDTH)
    for run in reps.runs:
        assert run["databases"]["db"]["shards"]["fanout_queries"] > 0


def test_scatter_gather_tail_lies_between_one_shard_and_independent_maxima() -> None:
    # The shards' sojourns are positively associated (they share arrivals), so the p99 of
    # their maximum is at most that of independent maxima, and far above one shard's.
    lam, n = 80.0, 8
    reps = replications(spec(lam, {"db": sharded(n)}, "db", "all", 250), 6)
    p99 = reps.interval("latency.all.p99", 0.999)
    single = math.log(100) / (MU - lam)  # p99 of one M/M/1 sojourn
    independent = -math.log(1 - 0.99 ** (1 / n)) / (MU - lam)  # p99 of 8 independent ones
    assert single < p99.low, (single, p99)
    assert p99.mean < independent, (p99, independent)


def pool_timeout_share(lam: float, mu: float, k: int, patience: float) -> tuple[float, float]:
    """M/M/k with a constant patience (a pool's ``max_wait``): the share of queries that
    time out, and the mean wait of those served.

    The offered wait ``V`` has, with ``p_n = a^n / n!`` (``n < k``, unnormalised), the
    density ``lam p_{k-1} exp(-(k mu - lam) x)`` below the patience and
    ``lam p_{k-1} exp(-(k mu - lam) patience) exp(-k mu (x - patience))`` above it (those
    who would wait longer leave and change nothing); a query times out when
    ``V > patience``.
    """
    a = lam / mu
    p = [a**n / math.factorial(n) for n in range(k)]
    c = lam * p[-1]
    r = k * mu - lam
    tail = c * math.exp(-r * patience) / (k * mu)
    z = sum(p) + c * (1 - math.exp(-r * patience)) / r + tail
    waited = c * (1 - math.exp(-r * patience) * (1 + r * patience)) / r**2
    share = tail / z
    return share, waited / z / (1 - share)


@pytest.mark.validate
def test_a_pool_with_max_wait_is_mmk_with_constant_patience() -> None:
    # 360 queries/s of exponential 10 ms on a pool of 4 (offered 0.9), max_wait 10 ms
    lam, k, patience = 360.0, 4, 0.01
    app = {
        "kind": "app_server",
        "cores": 1,
        "workers": 100_000,
        "pool": {"database": "db", "size": k, "max_wait": patience},
        "endpoints": {"serve": [{"query": "by_id", "database": "db"}]},
    }
    reps = replications(spec(lam, {"app": app, "db": fifo_database(64)}, "app", "serve", 200), 10)
    share, wait = pool_timeout_share(lam, MU, k, patience)  # 0.1006, 2.568 ms
    agrees(reps, "error_rate", share, max_width=0.05)
    agrees(reps, "databases.db.pools.app.wait.mean", wait)
    agrees(reps, "databases.db.pools.app.utilization", (1 - share) * lam / (k * MU))


@pytest.mark.validate
def test_stale_replica_reads_under_a_constant_lag_are_one_minus_exp() -> None:
    # 200 writes/s and 800 reads/s of uniform keys among 100, a replica 50 ms behind: a
    # read is stale when its key was written within the lag, 1 - exp(-w L / K)
    db = fifo_database(64, read_replicas=1, replication_lag=0.05)
    db["cpu"]["per_query"] = 1e-4
    db["tables"]["t"] = {"rows": 100, "row_size": 100, "keyspace": "k"}
    db["queries"]["upd"] = {"table": "t", "op": "update", "where": ["id"]}
    scenario = spec(1000.0, {"db": db}, "db", "by_id", 100)
    scenario["keyspaces"] = {"k": {"keys": 100, "popularity": "uniform"}}
    scenario["workload"]["classes"] = [
        {"name": "read", "weight": 0.8, "entry": "db", "endpoint": "by_id"},
        {"name": "write", "weight": 0.2, "entry": "db", "endpoint": "upd"},
    ]
    reps = replications(scenario, 6)
    agrees(reps, "databases.db.replication.stale_read_rate", 1 - math.exp(-200 * 0.05 / 100))
