"""Caches on a consistent-hash ring: which keys move when a node fails, and the misses
that follow."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

import simperf
from simperf.build import build
from simperf.components.cache import Cache

KEYS = 4_000
VIRTUAL = 160


def scenario(nodes: int, faults: list[dict[str, Any]], keys: Any, **cache: Any) -> simperf.Scenario:
    return simperf.from_dict(
        {
            "name": "cache_ring",
            "keyspaces": {"items": keys},
            "workload": {
                "arrival": {"kind": "deterministic", "rate": 100},
                "classes": [
                    {"name": "read", "entry": "app", "endpoint": "get", "keyspace": "items"}
                ],
            },
            "components": {
                "app": {
                    "kind": "app_server",
                    "workers": 1000,
                    "endpoints": {
                        "get": [{"read": {"cache": "cache", "backing": {"delay": 1e-3}}}]
                    },
                },
                "cache": {
                    "kind": "cache",
                    "keyspace": "items",
                    "capacity": None,
                    "latency": 1e-5,
                    "nodes": nodes,
                    "sharding": "ring",
                    "virtual_nodes": VIRTUAL,
                    **cache,
                },
            },
            "faults": faults,
            "run": {"duration": 4, "warmup": 0},
        }
    )


@pytest.mark.parametrize("n", [2, 5])
def test_losing_one_of_n_nodes_moves_its_share_of_the_keys(n: int) -> None:
    """Only the lost node's keys move, and they are 1/n of all within the bound.

    The lost node's share of the ring is the sum of the ``v`` arcs in front of its points;
    with ``n v`` points spread uniformly each arc is about exponential with mean 1/(n v),
    so the share has mean 1/n and variance 1/(n^2 v). Given the share p, the moved keys
    among K are Binomial(K, p). The moved fraction therefore has variance about
    1/(n^2 v) + p (1 - p) / K; each node's loss is checked at 4 standard deviations.
    """
    model = build(scenario(n, [], {"keys": KEYS, "popularity": "uniform"}), seed=1)
    cache = model.components["cache"]
    assert isinstance(cache, Cache)
    before = [cache.node_of(k).index for k in range(KEYS)]
    p = 1 / n
    bound = 4 * math.sqrt(1 / (n * n * VIRTUAL) + p * (1 - p) / KEYS)
    for lost in range(n):
        cache.fail(lost)
        after = [cache.node_of(k).index for k in range(KEYS)]
        moved = [k for k in range(KEYS) if after[k] != before[k]]
        assert all(before[k] == lost for k in moved)  # nobody else's keys move
        assert moved == [k for k in range(KEYS) if before[k] == lost]  # all of its keys do
        assert len(moved) / KEYS == pytest.approx(p, abs=bound)
        cache.recover(lost)
        assert [cache.node_of(k).index for k in range(KEYS)] == before  # and come back


def test_a_lost_nodes_keys_are_missed_once_on_the_next_node(tmp_path: Path) -> None:
    """Ten keys read in turn (one every 10 ms); node 0 fails at 1.0005 s. Its keys miss
    once more each, on the node after it on the ring, and are hits after that: no read
    falls through to the store and none fails, though on_down is fail."""
    path = tmp_path / "keys.csv"
    path.write_text("key\n" + "\n".join(str(k % 10) for k in range(400)) + "\n")
    keys = {"keys": 10, "popularity": {"model": "trace", "path": str(path)}}
    fault = [{"component": "cache", "instance": 0, "at": 1.0005, "for": 10}]
    s = scenario(2, fault, keys, on_down="fail")
    cache = build(s, seed=1).components["cache"]
    assert isinstance(cache, Cache)
    on_lost = sum(1 for k in range(10) if cache.node_of(k).index == 0)
    assert 0 < on_lost < 10
    result = simperf.run(s, seed=1).to_dict()
    assert result["requests"]["failed"] == 0
    c = result["caches"]["cache"]
    assert c["misses"] == 10 + on_lost
    assert c["fallthrough_reads"] == 0
    assert c["nodes"]["cache[1]"]["misses"] == (10 - on_lost) + on_lost
