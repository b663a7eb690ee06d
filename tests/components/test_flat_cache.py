"""Flat cache-aside reads: chosen only for the common path, identical to the process path."""

from __future__ import annotations

from typing import Any

import pytest

import simperf
import simperf.components.flat
from simperf.build import build
from tests.conftest import edited

GAMMA = {"dist": "gamma", "mean": "1ms", "cv": 0.5}
# A small cache on one slow single-threaded node and a backing endpoint with a short
# queue limit, so that the node's core queue, misses, evictions and refused backing
# reads all happen in a short run.
ASIDE: dict[str, Any] = {
    "name": "aside",
    "keyspaces": {"items": {"keys": 2000, "popularity": {"zipf": 0.9}}},
    "workload": {
        "arrival": {"kind": "poisson", "rate": 1500},
        "classes": [
            {"name": "view", "weight": 0.9, "entry": "app", "endpoint": "get", "keyspace": "items"},
            {"name": "put", "weight": 0.1, "entry": "app", "endpoint": "put", "keyspace": "items"},
        ],
    },
    "components": {
        "app": {
            "kind": "app_server",
            "replicas": 2,
            "cores": 2,
            "workers": 16,
            "endpoints": {
                "get": [{"cpu": GAMMA}, {"read": {"cache": "cache", "backing": "db.get"}}],
                "put": [{"cpu": GAMMA}, {"write": {"cache": "cache", "backing": "db.put"}}],
            },
        },
        "cache": {
            "kind": "cache",
            "keyspace": "items",
            "capacity": 300,
            "eviction": "lru",
            "ttl": {"dist": "uniform", "low": "0.5s", "high": "1s"},
            "latency": "400us",
            "network": "250us",
            "write_policy": "write_around",
        },
        "db": {
            "kind": "app_server",
            "cores": 2,
            "workers": 2,
            "queue_limit": 3,
            "endpoints": {
                "get": [{"cpu": {"dist": "lognormal", "median": "2ms", "p99": "10ms"}}],
                "put": [{"cpu": "3ms"}],
            },
        },
    },
    "run": {"duration": 3, "warmup": 0.5},
}


def _variant(**changes: Any) -> dict[str, Any]:
    return edited(ASIDE, **changes)


def _result(spec: dict[str, Any]) -> dict[str, Any]:
    data = simperf.run(simperf.from_dict(spec), seed=3).to_dict()
    data.pop("perf", None)  # wall time
    return data


SPECS = {
    "call": ASIDE,
    "delay": _variant(  # a backing delay instead of a call
        components__app__endpoints__get=[
            {"cpu": GAMMA},
            {"read": {"cache": "cache", "backing": {"delay": "3ms"}}},
        ]
    ),
    "ring": _variant(  # several nodes on a ring, read-through, TTL refreshed on a hit
        components__cache__nodes=3,
        components__cache__sharding="ring",
        components__cache__ttl_refresh=True,
        components__app__endpoints__get=[
            {"cpu": GAMMA},
            {"read": {"cache": "cache", "backing": "db.get", "mode": "read_through"}},
        ],
    ),
}


@pytest.mark.parametrize("name", list(SPECS))
def test_flat_cache_reads_give_the_same_results_as_processes(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = SPECS[name]
    assert build(simperf.from_dict(spec)).clients._flat[0] is not None  # the reads
    flat = _result(spec)
    cache = flat["caches"]["cache"] if "caches" in flat else flat["components"]["cache"]
    assert cache["hit_rate"] < 0.9 and flat["components"]["cache"]["max_queue_length"] > 0
    if name == "call":
        assert sum(flat["requests"]["errors"].values()) > 0  # refused backing reads
    monkeypatch.setattr(simperf.components.flat, "flat_read", lambda _: None)
    assert build(simperf.from_dict(spec)).clients._flat[0] is None
    assert _result(spec) == flat


@pytest.mark.parametrize(
    "change",
    [
        {"components.cache.coalesce": True},
        {"run.trace": {"sample": 1.0}},
        {"faults": [{"kind": "crash", "component": "cache", "at": 1, "for": 0.5}]},
    ],
)
def test_cache_reads_beyond_the_common_path_run_as_processes(change: dict[str, Any]) -> None:
    scenario = simperf.from_dict(ASIDE).with_overrides(change)
    assert build(scenario).clients._flat[0] is None
