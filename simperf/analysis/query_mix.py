"""Which queries a workload runs, and how often per request, read off the spec.

Used where a rate must be known before anything runs: the buffer pool's page mix
(:mod:`simperf.analysis.buffer_pool`) and the variants EXPLAIN shows. Calls are followed
through app servers, balancers (traffic split by the backends' instance counts),
parallel steps, the backing stores of cache reads and writes, and CDN origins; loops
are impossible (the scenario refuses call cycles).

A cache read or a CDN reaches its backing store or origin on a miss only, so that route
counts at the miss rate :func:`miss_rate` estimates; a write reaches its store once (a
write-back cache that coalesces writes reaches it less often: an upper bound).
"""

from __future__ import annotations

import functools
from collections import defaultdict
from typing import Any, NamedTuple

from simperf.analysis.caching import che_fifo, che_lru, che_random, lfu_static
from simperf.keys import MAX_PROBABILITY_KEYS, popularity_probabilities
from simperf.spec.app_server import AppServerSpec, CallStep, ParallelStep
from simperf.spec.cache import CacheSpec, ReadStep, WriteStep
from simperf.spec.cdn import CdnSpec
from simperf.spec.database import QueryStep
from simperf.spec.database_refs import is_database
from simperf.spec.keyspace import KeyspaceSpec
from simperf.spec.load_balancer import LoadBalancerSpec
from simperf.spec.scenario import Scenario

HIT_RATE = {"lru": che_lru, "fifo": che_fifo, "random": che_random, "lfu": lfu_static}
"""Eviction policy -> its hit-rate model under the independent reference model."""


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
    for request_class in classes:
        walk = _Walk(scenario, request_class.name, rates)
        walk.visit(request_class.entry, request_class.endpoint, request_class.weight / total)
    return {db: dict(variants) for db, variants in rates.items()}


def miss_rate(
    keyspace: KeyspaceSpec,
    *,
    capacity: int | None,
    eviction: str,
    nodes: int = 1,
    ttl: Any = None,
    capacity_bytes: float | None = None,
) -> float:
    """Estimated share of a cache's reads that miss, in steady state.

    Assumptions: requests are independent draws from the key space's popularity (IRM),
    and hashing spreads the keys evenly over ``nodes``, so the nodes together act as one
    cache of ``nodes x capacity`` items (:mod:`simperf.analysis.caching`: Che's
    approximation for LRU, FIFO and RANDOM, the top keys for LFU). A cache with neither
    an item limit nor a ttl ends up holding every key and misses nothing. Where no model
    applies (a ttl, a byte limit, or a key space too large for a probability vector)
    every read is taken to miss: an upper bound on the backing store's load. Writes that
    invalidate entries are not counted.
    """
    if ttl is not None or capacity_bytes is not None or keyspace.keys > MAX_PROBABILITY_KEYS:
        return 1.0
    if capacity is None:
        return 0.0
    return _modelled_miss_rate(keyspace.model_dump_json(), capacity * nodes, eviction)


@functools.lru_cache(maxsize=64)
def _modelled_miss_rate(keyspace: str, capacity: int, eviction: str) -> float:
    """:func:`miss_rate` of a modelled cache, kept per process: every build of a
    scenario with databases asks again, and a key space of millions takes seconds."""
    p = popularity_probabilities(KeyspaceSpec.model_validate_json(keyspace))
    return 1.0 - HIT_RATE[eviction](p, capacity)


class _Walk:
    """Follows one request class through the topology, adding its query rates."""

    def __init__(
        self, scenario: Scenario, klass: str, rates: dict[str, dict[Variant, float]]
    ) -> None:
        self.scenario = scenario
        self.klass = klass
        self.rates = rates

    def visit(self, component: str, endpoint: str, weight: float) -> None:
        spec = self.scenario.components[component]
        if is_database(spec):
            self.rates[component][Variant(endpoint)] += weight
        elif isinstance(spec, LoadBalancerSpec):
            sizes = {b: _instances(self.scenario, b) for b in spec.backends}
            count = sum(sizes.values())
            for backend, size in sizes.items():
                self.visit(backend, endpoint, weight * size / count)
        elif isinstance(spec, CdnSpec):
            # Classes the CDN does not cache pass through to the origin, every request.
            cached = self.klass in spec.cacheable
            misses = self._cdn_miss_rate(spec) if cached else 1.0
            self.visit(spec.origin, endpoint, weight * misses)
        elif isinstance(spec, AppServerSpec):
            for step in spec.endpoints[endpoint]:
                self._step(step, weight)

    def _step(self, step: Any, weight: float) -> None:
        if isinstance(step, CallStep):
            self._call(step.call, weight)
        elif isinstance(step, ParallelStep):
            for call in step.parallel:
                self._call(call, weight)
        elif isinstance(step, QueryStep):
            variant = Variant(step.query, step.limit, step.offset, step.pagination)
            self.rates[step.database][variant] += weight * step.repeat
        elif isinstance(step, ReadStep):
            if isinstance(step.read.backing, str):
                self._call(step.read.backing, weight * self._cache_miss_rate(step.read.cache))
        elif isinstance(step, WriteStep):
            if isinstance(step.write.backing, str):
                self._call(step.write.backing, weight)

    def _call(self, target: str, weight: float) -> None:
        component, endpoint = target.split(".")
        self.visit(component, endpoint, weight)

    def _cache_miss_rate(self, name: str) -> float:
        cache = self.scenario.components[name]
        assert isinstance(cache, CacheSpec)  # checked by the spec
        return miss_rate(
            self.scenario.keyspaces[cache.keyspace],
            capacity=cache.capacity,
            eviction=cache.eviction,
            nodes=cache.nodes,
            ttl=cache.ttl,
            capacity_bytes=cache.capacity_bytes,
        )

    def _cdn_miss_rate(self, cdn: CdnSpec) -> float:
        """Misses of the edges (each sees the whole key popularity); a shield in front
        of the origin is taken to miss too (an upper bound)."""
        return miss_rate(
            self.scenario.keyspaces[cdn.keyspace],
            capacity=cdn.capacity,
            eviction=cdn.eviction,
            ttl=cdn.ttl,
            capacity_bytes=cdn.capacity_bytes,
        )


def _instances(scenario: Scenario, component: str) -> int:
    spec = scenario.components[component]
    return spec.replicas if isinstance(spec, AppServerSpec) else 1
