"""Query rates read off the spec, through every way a request reaches a database."""

from __future__ import annotations

from typing import Any

import pytest

import simperf
from simperf.analysis.query_mix import Variant, query_rates

KEYS, CAPACITY = 100, 25
# Under uniform popularity every eviction policy holds CAPACITY of the KEYS keys, so a
# read hits with probability CAPACITY / KEYS (Che's approximation is exact here).
MISS = 1 - CAPACITY / KEYS
# The characteristic time is solved by brentq to rtol 1e-13; 1e-12 bounds its effect.
SOLVER = 1e-12


def scenario(eviction: str) -> simperf.Scenario:
    """Half the requests read through a cache backed by ``db.get``, half call ``db.other``."""
    app: dict[str, Any] = {
        "kind": "app_server",
        "endpoints": {
            "read": [{"read": {"cache": "cache", "backing": "db.get"}}],
            "other": [{"call": "db.other"}],
        },
    }
    return simperf.from_dict(
        {
            "name": "mix",
            "keyspaces": {"items": {"keys": KEYS, "popularity": "uniform"}},
            "workload": {
                "arrival": {"kind": "poisson", "rate": 10},
                "classes": [
                    {"name": "r", "entry": "app", "endpoint": "read", "keyspace": "items"},
                    {"name": "o", "entry": "app", "endpoint": "other"},
                ],
            },
            "components": {
                "app": app,
                "cache": {
                    "kind": "cache",
                    "keyspace": "items",
                    "capacity": CAPACITY,
                    "eviction": eviction,
                },
                "db": {
                    "kind": "database",
                    "tables": {"kv": {"rows": KEYS, "row_size": 100, "keyspace": "items"}},
                    "queries": {
                        "get": {"table": "kv", "where": ["id"]},
                        "other": {"table": "kv", "where": ["id"]},
                    },
                },
            },
            "run": {"requests": 10},
        }
    )


@pytest.mark.parametrize("eviction", ["lru", "fifo", "random", "lfu"])
def test_a_query_reached_through_a_cache_backing_read_runs_once_per_miss(eviction: str) -> None:
    rates = query_rates(scenario(eviction))["db"]
    assert rates[Variant("get")] == pytest.approx(0.5 * MISS, rel=SOLVER)
    assert rates[Variant("other")] == 0.5
