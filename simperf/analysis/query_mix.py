"""Which queries a workload runs, and how often per request, read off the spec.

Used where a rate must be known before anything runs: the buffer pool's page mix
(:mod:`simperf.analysis.buffer_pool`) and the variants EXPLAIN shows. The traffic is
followed by the topology walker (:func:`simperf.spec.topology.walk`) through app servers,
balancers (split by the backends' instance counts), parallel arms, query steps and cache
backing reads; a backing read runs on a miss, so it is weighed by the cache's miss ratio
(:func:`cache_miss_ratio`). CDN origins and backing writes are not followed.
"""

from __future__ import annotations

from collections import defaultdict
from typing import NamedTuple

from simperf.analysis.caching import che_fifo, che_lru, che_random, lfu_static
from simperf.keys import popularity_probabilities
from simperf.spec.database_refs import is_database
from simperf.spec.kind import BACKING, ORIGIN, WRITE, Forward
from simperf.spec.scenario import Scenario
from simperf.spec.topology import walk

HIT_RATIO = {"lru": che_lru, "fifo": che_fifo, "random": che_random, "lfu": lfu_static}
"""Eviction policy -> steady-state hit ratio under independent requests."""


class Variant(NamedTuple):
    """A query as a step runs it: its name and the step's page options."""

    query: str
    limit: int | None = None
    offset: int = 0
    pagination: str = "offset"


def query_rates(scenario: Scenario) -> dict[str, dict[Variant, float]]:
    """database -> variant -> expected executions per request of the workload."""
    rates: dict[str, dict[Variant, float]] = defaultdict(lambda: defaultdict(float))
    classes = scenario.workload.classes
    total = sum(c.weight for c in classes)
    misses: dict[str, float] = {}

    def scale(f: Forward) -> float | None:
        if f.via in (ORIGIN, WRITE):
            return None
        if f.via == BACKING:
            assert f.cache is not None
            if f.cache not in misses:
                misses[f.cache] = cache_miss_ratio(scenario, f.cache)
            return misses[f.cache]
        return 1.0

    for request_class in classes:
        share = request_class.weight / total
        for component, endpoint, weight, via in walk(
            scenario, request_class.entry, request_class.endpoint, share, scale
        ):
            if is_database(scenario.components[component]):
                options = via.variant if via is not None else ()
                rates[component][Variant(endpoint, *options)] += weight
    return {db: dict(variants) for db, variants in rates.items()}


def cache_miss_ratio(scenario: Scenario, cache: str) -> float:
    """Steady-state share of a cache's reads that miss, by its eviction policy.

    Keys are spread evenly over the nodes, so the cache holds ``capacity x nodes``
    items (a byte capacity counts as that many mean-sized objects). Expiry (``ttl``) is
    not counted; a cache without a limit misses only each key's first read, which is
    no share of a steady state.
    """
    spec = scenario.components[cache]
    capacity = spec.capacity
    if capacity is None and spec.capacity_bytes is not None and spec.object_size is not None:
        capacity = spec.capacity_bytes / spec.object_size.mean
    if capacity is None:
        return 0.0
    p = popularity_probabilities(scenario.keyspaces[spec.keyspace])
    return 1.0 - HIT_RATIO[spec.eviction](p, capacity * spec.nodes)
