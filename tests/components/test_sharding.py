"""Sharded databases: the shard table agrees with the shard function; keys past it too."""

from __future__ import annotations

import pytest

import simperf
import simperf.components.flat
import simperf.components.sharding
from simperf.build import build
from simperf.dbcost.buffer_pool import shard_of

SPEC = {
    "name": "shards",
    "keyspaces": {"users": {"keys": 5000, "popularity": {"zipf": 0.8}}},
    "workload": {
        "arrival": {"kind": "poisson", "rate": 100},
        "classes": [{"name": "get", "weight": 1, "entry": "api", "endpoint": "get"}],
    },
    "components": {
        "api": {
            "kind": "app_server",
            "pool": {"database": "store", "size": 4},
            "endpoints": {"get": [{"query": "by_id", "database": "store"}]},
        },
        "store": {
            "kind": "sharded_database",
            "shards": 5,
            "primary": {"cores": 2, "memory": "8MiB"},
            "tables": {"users": {"rows": 5000, "row_size": 300, "keyspace": "users"}},
            "queries": {"by_id": {"table": "users", "where": ["id"]}},
        },
    },
    "run": {"duration": 1},
}


@pytest.mark.parametrize("routing", ["hash", "range"])
def test_shard_table_gives_every_key_the_shard_of_the_shard_function(routing: str) -> None:
    spec = {**SPEC, "components": {**SPEC["components"]}}
    spec["components"]["store"] = {**SPEC["components"]["store"], "routing": routing}
    db = build(simperf.from_dict(spec)).components["store"]
    table = db.shard_table(5000)
    assert table is not None and len(table) == 5000
    assert list(table) == [shard_of(key, 5, routing, 5000) for key in range(5000)]
    assert db.shard_table(5000) is table  # built once per key space


def test_no_shard_table_for_a_key_space_too_large(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(simperf.components.sharding, "SHARD_TABLE_KEYS", 4999)
    db = build(simperf.from_dict(SPEC)).components["store"]
    assert db.shard_table(5000) is None
    assert db.shard_table(4999) is not None


def test_keys_beyond_the_table_are_routed_by_the_shard_function(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # the requests carry keys of a key space four times the table's: most are past the
    # shard table, and the flat path must route them as the process path does
    spec = {
        **SPEC,
        "keyspaces": {**SPEC["keyspaces"], "visitors": {"keys": 20000, "popularity": "uniform"}},
    }
    spec["workload"] = {
        **SPEC["workload"],
        "classes": [
            {"name": "get", "weight": 1, "entry": "api", "endpoint": "get", "keyspace": "visitors"}
        ],
    }
    scenario = simperf.from_dict(spec)
    assert all(f is not None for f in build(scenario).clients._flat)
    flat = simperf.run(scenario, seed=3).to_dict()
    monkeypatch.setattr(simperf.components.flat, "flat_query", lambda _: None)
    assert build(scenario).clients._flat == [None]
    processes = simperf.run(scenario, seed=3).to_dict()
    flat.pop("perf", None)
    processes.pop("perf", None)
    assert flat == processes
