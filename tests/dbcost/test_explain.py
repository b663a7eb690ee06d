"""EXPLAIN's words about what a query costs its caller beyond the plan."""

from __future__ import annotations

import pytest

import simperf
from simperf.dbcost.explain import explain_text, unpooled_callers
from tests.estimate.test_estimate import one_query


def test_a_caller_without_a_pool_is_told_it_pays_a_connection_per_query() -> None:
    bare = simperf.from_dict(one_query(pool=False))
    assert unpooled_callers(bare, "db") == ["app"]
    assert (
        "  no pool at app: each query also opens a connection, 1.5 ms handshake + 1 ms "
        "start-up on a database core"
    ) in explain_text(bare).splitlines()
    pooled = simperf.from_dict(one_query(pool=True))
    assert unpooled_callers(pooled, "db") == []
    assert "no pool" not in explain_text(pooled)


def test_a_shard_pool_sees_only_the_key_reads_of_the_keys_it_owns() -> None:
    # Two range shards of 1,000 keys each, Zipf(1) popularity: a primary-key read goes to
    # the shard owning its key (the hot half's 0.91 of them to shard 0, 0.09 to shard 1),
    # a scan to both. Each shard's pool must be modelled with its share of the key reads
    # and all of the scans' pages (each was given all the key reads).
    from simperf.dbcost.buffer_pool import pool_model
    from simperf.dbcost.explain import layout_of, plan_variant, pool_models
    from simperf.dbcost.mix import Variant
    from simperf.keys import popularity_probabilities

    scenario = simperf.from_dict(
        {
            "name": "shards",
            "keyspaces": {"k": {"keys": 2000, "popularity": {"zipf": 1.0}}},
            "workload": {
                "arrival": {"kind": "poisson", "rate": 100},
                "classes": [
                    {"name": "get", "weight": 0.9, "entry": "db", "endpoint": "by_id"},
                    {"name": "scan", "weight": 0.1, "entry": "db", "endpoint": "by_c"},
                ],
            },
            "components": {
                "db": {
                    "kind": "sharded_database",
                    "shards": 2,
                    "routing": "range",
                    "primary": {"memory": "1600KiB"},
                    "tables": {
                        "t": {"rows": 2000, "row_size": 4096, "keyspace": "k", "columns": {"c": 4}}
                    },
                    "queries": {
                        "by_id": {"table": "t", "where": ["id"]},
                        "by_c": {"table": "t", "where": ["c"], "limit": 10},
                    },
                }
            },
        }
    )
    spec = scenario.components["db"]
    scan_pages = plan_variant(spec, Variant("by_c")).heap_pages
    keys = popularity_probabilities(scenario.keyspaces["k"])
    for shard, (primary, _) in enumerate(pool_models(scenario, "db")):
        owned = float(keys[1000 * shard : 1000 * (shard + 1)].sum())
        rates = {("t", "point"): 0.9 * owned, ("t", "uniform"): 0.1 * scan_pages}
        expected = pool_model(
            spec.tables,
            scenario.keyspaces,
            layout_of(spec),
            spec.primary.memory,
            rates,
            shard=shard,
            shards=2,
            routing="range",
        )
        assert primary.hit == pytest.approx(expected.hit, rel=1e-9)
