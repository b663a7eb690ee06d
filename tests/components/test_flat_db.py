"""Flat pooled queries: chosen only for plain databases, identical to the process path."""

from __future__ import annotations

import copy
from typing import Any

import pytest

import simperf
import simperf.components.flat
from simperf.build import build

GAMMA = {"dist": "gamma", "mean": "1ms", "cv": 0.5}

TABLES = {
    "items": {
        "rows": 20000,
        "row_size": 800,
        "keyspace": "items",
        "columns": {"group": 50, "stock": 1000},
        "indexes": {"by_group": ["group"]},
    }
}
QUERIES = {
    "by_id": {"table": "items", "where": ["id"]},
    "by_group": {"table": "items", "where": ["group"]},
    "restock": {"table": "items", "op": "update", "where": ["id"], "updates": ["stock"]},
}
# Small pools, few database cores and slow storage, so that every queue on the way fills:
# pool waits and timeouts, database core and storage waits, app cores for the rows' CPU.
SERVER = {
    "cores": 1,
    "memory": "4MiB",
    "storage": {"read_latency": "400us", "write_latency": "600us", "iops": "5k/s"},
    "max_connections": 100,
}
REPLICAS: dict[str, Any] = {
    "name": "replicas",
    "keyspaces": {"items": {"keys": 20000, "popularity": {"zipf": 0.9}}},
    "workload": {
        "arrival": {"kind": "poisson", "rate": 900},
        "classes": [
            {"name": "view", "weight": 0.8, "entry": "app", "endpoint": "view"},
            {"name": "restock", "weight": 0.2, "entry": "app", "endpoint": "restock"},
        ],
    },
    "components": {
        "app": {
            "kind": "app_server",
            "replicas": 2,
            "cores": 1,
            "workers": 8,
            "pool": {"database": "db", "size": 2, "max_wait": "5ms"},
            "endpoints": {
                "view": [
                    {"cpu": GAMMA},
                    {"query": "by_id", "database": "db"},
                    {"query": "by_group", "database": "db", "limit": 5, "repeat": 2},
                ],
                "restock": [
                    {"query": "restock", "database": "db"},
                    {"query": "by_id", "database": "db"},
                ],
            },
        },
        "db": {
            "kind": "database",
            "primary": SERVER,
            "read_replicas": 2,
            "read_policy": "least_loaded",
            "replication_lag": {"dist": "lognormal", "median": "5ms", "p99": "50ms"},
            "read_your_writes": "20ms",
            "client_cpu_per_row": "50us",
            "tables": TABLES,
            "queries": QUERIES,
        },
    },
    "run": {"duration": 4, "warmup": 0.5},
}


def _sharded() -> dict[str, Any]:
    spec = copy.deepcopy(REPLICAS)
    spec["name"] = "shards"
    spec["components"]["app"]["pool"] = {"database": "db", "size": 1, "max_wait": "3ms"}
    spec["components"]["db"] = {
        "kind": "sharded_database",
        "shards": 3,
        "primary": SERVER,
        "client_cpu_per_row": "50us",
        "tables": TABLES,
        "queries": QUERIES,
    }
    return spec


def _result(spec: dict[str, Any]) -> dict[str, Any]:
    data = simperf.run(simperf.from_dict(spec), seed=5).to_dict()
    data.pop("perf", None)  # wall time
    return data


@pytest.mark.parametrize("spec", [REPLICAS, _sharded()], ids=["replicas", "shards"])
def test_flat_queries_give_the_same_results_as_processes(
    spec: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert all(f is not None for f in build(simperf.from_dict(spec)).clients._flat)
    flat = _result(spec)
    app = flat["components"]["app"]
    assert flat["requests"]["errors"]["pool_timeout"] > 0
    assert app["max_queue_length"] > 0 and app["pool_wait"] > 0
    assert flat["components"]["db"]["max_queue_length"] > 0
    if spec is REPLICAS:
        assert flat["requests"]["stale"] > 0
    monkeypatch.setattr(simperf.components.flat, "flat_query", lambda _: None)
    assert build(simperf.from_dict(spec)).clients._flat == [None, None]
    assert _result(spec) == flat


@pytest.mark.parametrize(
    "change",
    [
        {"faults": [{"kind": "crash", "component": "db", "at": 1, "for": 1}]},
        {"components.db.primary.scaling": {"alpha": 0.05, "beta": 0.001}},
        pytest.param(  # pools refused connections (which the spec warns of)
            {"components.db.primary.max_connections": 3},
            marks=pytest.mark.filterwarnings("ignore:components.db. connection pools hold"),
        ),
        {"components.app.pool": None},  # a connection opened per query
    ],
)
def test_queries_beyond_the_plain_path_run_as_processes(change: dict[str, Any]) -> None:
    scenario = simperf.from_dict(REPLICAS).with_overrides(change)
    assert build(scenario).clients._flat == [None, None]


def _dropping(spec: dict[str, Any]) -> dict[str, Any]:
    """``spec`` with a third class, behind a front, whose calls to app are hedged (the
    losing copies are cancelled) and time out after 20 ms, and a database and pools that
    drop what nobody waits for."""
    spec = copy.deepcopy(spec)
    spec["name"] += "-dropping"
    spec["workload"]["classes"].append(
        {"name": "hedged", "weight": 0.3, "entry": "front", "endpoint": "view"}
    )
    spec["components"]["front"] = {
        "kind": "app_server",
        "workers": 64,
        "endpoints": {"view": [{"call": "app.view", "hedge": {"after": "2ms"}, "timeout": "20ms"}]},
    }
    # connections enough, and query CPU, for queries to queue at the database's cores too
    spec["components"]["app"]["pool"].update(size=6, drop_expired=True)
    spec["components"]["db"]["cpu"] = {"per_query": {"dist": "exponential", "mean": "300us"}}
    spec["components"]["db"]["drop_expired"] = True
    return spec


@pytest.mark.parametrize("spec", [REPLICAS, _sharded()], ids=["replicas", "shards"])
def test_queries_of_a_database_or_pool_that_drops_run_as_processes(spec: dict[str, Any]) -> None:
    # the plain classes run flat beside the hedged one's processes, until the database or
    # the pool drops what nobody waits for: then every query is a process, so that one
    # engine's order of hand-overs in an instant decides who is served (see flat_db.py)
    spec = _dropping(spec)
    for db, pool in [(False, False), (True, False), (False, True), (True, True)]:
        spec["components"]["db"]["drop_expired"] = db
        spec["components"]["app"]["pool"]["drop_expired"] = pool
        flat = build(simperf.from_dict(spec)).clients._flat
        assert (flat == [None, None, None]) == (db or pool)
    result = _result(spec)["databases"]["db"]
    pool = result["pools"]["app"]
    assert pool["expired"] > 0
    # some dropped at a core too
    assert result["cancelled"] > pool["cancelled"] and result["expired"] > pool["expired"]
