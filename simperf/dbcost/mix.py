"""Which queries a workload runs, and how often per request, read off the spec.

Used where a rate must be known before anything runs: the buffer pool's page mix
(:mod:`simperf.dbcost.buffer_pool`) and the variants EXPLAIN shows. The traffic is
followed by the topology walker (:func:`simperf.spec.topology.walk`) through app servers,
balancers (split by the backends' instance counts), parallel arms, query steps, the
backing stores of cache reads and writes, and CDN origins; loops are impossible (the
scenario refuses call cycles).

A cache read or a CDN reaches its backing store or origin on a miss only, so that route
counts at the miss rate :func:`miss_rate` estimates (a CDN's at each edge's own request
rate, :func:`cdn_miss_rate`, which the estimate takes too), with the cache's writes per read
(a write-around write deletes its key, so the key's next read misses and reaches the
store; a write-through or write-back write sets it); a write reaches its store once (a
write-back cache that coalesces writes reaches it less often: an upper bound). The
delete itself is a cache command, not a query.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Iterator
from typing import Any, NamedTuple

from simperf.analysis.caching import (
    che_fifo,
    che_invalidated,
    che_lru,
    che_random,
    che_written,
    fixed_ttl_hit_rate,
    lfu_invalidated,
    lfu_static,
    lfu_ttl_hit_rate,
    lru_ttl_hit_rate,
    refreshed_ttl_hit_rate,
    ttl_hit_rate,
)
from simperf.keys import MAX_PROBABILITY_KEYS, popularity_probabilities
from simperf.spec.database_refs import is_database
from simperf.spec.keyspace import KeyspaceSpec
from simperf.spec.kind import BACKING, ORIGIN, Forward
from simperf.spec.scenario import Scenario
from simperf.spec.topology import walk

HIT_RATE = {"lru": che_lru, "fifo": che_fifo, "random": che_random, "lfu": lfu_static}
"""Eviction policy -> its hit-rate model under the independent reference model."""


class Variant(NamedTuple):
    """A query as a step runs it: its name and the step's page options."""

    query: str
    limit: int | None = None
    offset: int = 0
    pagination: str = "offset"


def offered_rate(scenario: Scenario) -> float | None:
    """Requests per second of an open workload with a rate (None: a closed workload, or
    arrivals without one, such as a replayed trace)."""
    workload = scenario.workload
    if workload.users is not None or workload.arrival is None:
        return None
    rate = getattr(workload.arrival, "rate", None)
    return None if rate is None else float(rate)


def _walk_classes(
    scenario: Scenario,
    written: dict[str, float] | None = None,
    read: dict[str, float] | None = None,
) -> Iterator[tuple[str, str, float, Forward | None]]:
    """Every (component, endpoint, calls per request, forward reaching it) of every
    request class, a route taken on misses only counting at the miss rate (a cache's at
    ``written``'s writes per read and ``read``'s reads per request, which its ttl's
    closed forms need: :func:`cache_loads` unless given)."""
    if written is None or read is None:
        written, read = cache_loads(scenario)
    offered = offered_rate(scenario)
    edges: dict[str, float] = {}  # CDN -> its cacheable requests' share reaching the origin
    classes = scenario.workload.classes
    total = sum(c.weight for c in classes)
    for request_class in classes:
        klass = request_class.name

        def scale(source: str, f: Forward, klass: str = klass) -> float:
            """A miss rate where the route is taken on misses only."""
            if f.via == BACKING:
                assert f.cache is not None
                cache = scenario.components[f.cache]
                rate = None if offered is None else offered * read.get(f.cache, 0.0)
                return _store_miss_rate(scenario, cache, written.get(f.cache, 0.0), rate)
            if f.via == ORIGIN:  # classes the CDN does not cache pass through, every one
                if klass not in scenario.components[source].cacheable:
                    return 1.0
                if source not in edges:
                    edges[source] = _cdn_origin_share(scenario, source, offered)
                return edges[source]
            return 1.0

        share = request_class.weight / total
        yield from walk(scenario, request_class.entry, request_class.endpoint, share, scale)


def query_rates(scenario: Scenario) -> dict[str, dict[Variant, float]]:
    """database -> variant -> expected executions per request of the workload."""
    rates: dict[str, dict[Variant, float]] = defaultdict(lambda: defaultdict(float))
    for component, endpoint, weight, via in _walk_classes(scenario):
        if is_database(scenario.components[component]):
            options = via.variant if via is not None else ()
            rates[component][Variant(endpoint, *options)] += weight
    return {db: dict(variants) for db, variants in rates.items()}


def cache_read_rates(scenario: Scenario) -> dict[str, float]:
    """cache -> reads (``read`` steps) per request of the workload (a cache reached
    behind another cache's misses counted at that cache's modelled miss rate)."""
    return cache_step_rates(scenario)[0]


def cache_step_rates(scenario: Scenario) -> tuple[dict[str, float], dict[str, float]]:
    """cache -> reads per request, and cache -> writes per request (``write`` steps
    through it, whatever its write policy), counted as :func:`cache_read_rates` counts."""
    return _step_rates(scenario, *cache_loads(scenario))


def writes_per_read(scenario: Scenario) -> dict[str, float]:
    """cache -> its writes per read, for the caches that are both read and written."""
    return cache_loads(scenario)[0]


def cache_loads(scenario: Scenario) -> tuple[dict[str, float], dict[str, float]]:
    """cache -> its writes per read (the caches both read and written), and cache -> its
    reads per request.

    A cache's reads may be reached behind another cache's misses, whose rate depends on
    that cache's writes per read and, with a ttl, its reads per second: solved from the
    caches nearest the clients inwards, one pass per level of caches behind caches (the
    call graph has no cycles, so the passes end, each pass's figures exact for one more
    level).
    """
    ratios: dict[str, float] = {}
    reads: dict[str, float] = {}
    for _ in range(sum(1 for c in scenario.components.values() if c.kind == "cache") + 1):
        found_reads, writes = _step_rates(scenario, ratios, reads)
        found = {c: w / found_reads[c] for c, w in writes.items() if found_reads.get(c, 0.0) > 0}
        if found == ratios and found_reads == reads:
            break
        ratios, reads = found, found_reads
    return ratios, reads


def _step_rates(
    scenario: Scenario, written: dict[str, float], read: dict[str, float]
) -> tuple[dict[str, float], dict[str, float]]:
    reads: dict[str, float] = defaultdict(float)
    writes: dict[str, float] = defaultdict(float)
    for component, endpoint, weight, _ in _walk_classes(scenario, written, read):
        spec = scenario.components[component]
        if spec.kind != "app_server":
            continue
        for step in spec.steps(endpoint):
            read = getattr(step, "read", None)
            if read is not None:
                reads[read.cache] += weight
            write = getattr(step, "write", None)
            if write is not None and write.cache is not None:
                writes[write.cache] += weight
    return dict(reads), dict(writes)


def miss_rate(
    keyspace: KeyspaceSpec,
    *,
    capacity: int | None,
    eviction: str,
    nodes: int = 1,
    ttl: Any = None,
    capacity_bytes: float | None = None,
    writes: float = 0.0,
    on_write: str = "delete",
    ttl_refresh: bool = False,
    rate: float | None = None,
) -> float:
    """Estimated share of a cache's reads that miss, in steady state.

    Assumptions: requests are independent draws from the key space's popularity (IRM),
    and hashing spreads the keys evenly over ``nodes``, so the nodes together act as one
    cache of ``nodes x capacity`` items (:mod:`simperf.analysis.caching`: Che's
    approximation for LRU, FIFO and RANDOM, the top keys for LFU). A cache with neither
    an item limit nor a ttl ends up holding every key and misses nothing. A ttl (at its
    mean, ``ttl_refresh`` if hits restart it) needs the cache's reads per second,
    ``rate``, and takes the form :func:`ttl_form` names. Where no model applies (a ttl
    without a rate, a byte limit, or a key space too large for a probability vector) every read
    is taken to miss: an upper bound on the backing store's load. ``writes``
    per read, spread over the keys as the reads are, either delete their key
    (``on_write="delete"``, write-around: :func:`~simperf.analysis.caching.che_invalidated`)
    or set it (``"set"``, write-through and write-back: the writes count as references,
    :func:`~simperf.analysis.caching.che_written`). Under LFU deletes leave its top keys
    each hit unless written since their previous read (a lower bound,
    :func:`~simperf.analysis.caching.lfu_invalidated`), and writes that set keys as
    popular as the reads leave its top keys as they are.
    """
    if capacity_bytes is not None or keyspace.keys > MAX_PROBABILITY_KEYS:
        return 1.0
    if ttl is not None:
        form = ttl_form(capacity, eviction, ttl_refresh)
        if rate is None or rate <= 0:
            return 1.0
        size = 0.0 if capacity is None else float(capacity * nodes)
        args = (form, size, eviction, ttl_refresh, rate, ttl.mean, writes, on_write)
        return _ttl_miss_rate(keyspace.model_dump_json(), *args)
    if capacity is None and not (writes and on_write == "delete"):
        return 0.0
    # no item limit: the cache never fills, and only deleting writes make it miss
    size = float(keyspace.keys) if capacity is None else float(capacity * nodes)
    return _modelled_miss_rate(keyspace.model_dump_json(), size, eviction, writes, on_write)


@functools.lru_cache(maxsize=64)
def _modelled_miss_rate(
    keyspace: str, capacity: float, eviction: str, writes: float, on_write: str
) -> float:
    """:func:`miss_rate` of a modelled cache, kept per process: every build of a
    scenario with databases asks again, and a key space of millions takes seconds."""
    p = popularity_probabilities(KeyspaceSpec.model_validate_json(keyspace))
    if writes > 0 and on_write == "delete":
        if eviction == "lfu":
            return 1.0 - lfu_invalidated(p, capacity, writes)
        return 1.0 - che_invalidated(p, capacity, writes, eviction)  # type: ignore[arg-type]
    if writes > 0 and eviction != "lfu":
        return 1.0 - che_written(p, capacity, writes, eviction)  # type: ignore[arg-type]
    return 1.0 - HIT_RATE[eviction](p, capacity)


def ttl_form(capacity: int | None, eviction: str, ttl_refresh: bool) -> str:
    """Which closed form a cache with a ttl takes (each with the cache's writes).

    ``"ttl"``: no item limit (:func:`~simperf.analysis.caching.ttl_hit_rate`, with the
    writes); ``"refreshed"``: LRU whose hits restart the ttl
    (:func:`~simperf.analysis.caching.lru_ttl_hit_rate`, with the writes), or FIFO and
    RANDOM whose hits restart it, with the writes
    (:func:`~simperf.analysis.caching.refreshed_ttl_hit_rate`); ``"fixed"``: LRU, FIFO
    or RANDOM with the ttl counted from the set, with the writes
    (:func:`~simperf.analysis.caching.fixed_ttl_hit_rate`); ``"lfu"``: LFU with an item
    limit, its top keys each a ttl-only cache, with the writes
    (:func:`~simperf.analysis.caching.lfu_ttl_hit_rate`).
    """
    if capacity is None:
        return "ttl"
    if eviction == "lfu":
        return "lfu"
    return "refreshed" if ttl_refresh else "fixed"


@functools.lru_cache(maxsize=64)
def _ttl_miss_rate(
    keyspace: str,
    form: str,
    capacity: float,
    eviction: str,
    ttl_refresh: bool,
    rate: float,
    ttl: float,
    writes: float,
    on_write: str,
) -> float:
    """:func:`miss_rate` of a cache with a ttl, by ``form`` (:func:`ttl_form`)."""
    p = popularity_probabilities(KeyspaceSpec.model_validate_json(keyspace))
    mode: Any = on_write
    if form == "ttl":
        return 1.0 - ttl_hit_rate(p, rate, ttl, ttl_refresh, writes, on_write=mode)
    if form == "lfu":
        return 1.0 - lfu_ttl_hit_rate(p, capacity, rate, ttl, ttl_refresh, writes, on_write=mode)
    if form == "refreshed" and eviction == "lru":
        return 1.0 - lru_ttl_hit_rate(p, capacity, rate, ttl, writes, on_write=mode)
    policy: Any = eviction
    if form == "refreshed":
        return 1.0 - refreshed_ttl_hit_rate(p, capacity, rate, ttl, policy, writes, on_write=mode)
    return 1.0 - fixed_ttl_hit_rate(p, capacity, rate, ttl, policy, writes, on_write=mode)


ON_WRITE = {"write_around": "delete", "write_through": "set", "write_back": "set"}
"""A cache's write policy -> what its writes do to their key."""


def _store_miss_rate(
    scenario: Scenario, store: Any, writes: float = 0.0, rate: float | None = None
) -> float:
    """Misses of a cache (its nodes together, ``writes`` per read through it, ``rate``
    reads per second)."""
    return miss_rate(
        scenario.keyspaces[store.keyspace],
        capacity=store.capacity,
        eviction=store.eviction,
        nodes=store.nodes,
        ttl=store.ttl,
        capacity_bytes=store.capacity_bytes,
        writes=writes,
        on_write=ON_WRITE[store.write_policy],
        ttl_refresh=store.ttl_refresh,
        rate=rate,
    )


def client_region_shares(scenario: Scenario) -> dict[int, float]:
    """Region index -> share of the requests whose clients are there, as the workload
    draws them (``{eu: 2, us: 1}`` is two thirds in eu; without client regions, all in
    the first region)."""
    clients = scenario.workload.clients
    network = scenario.network
    if clients is None or not clients.regions or network is None:
        return {0: 1.0}
    regions = list(network.regions)
    weights = sum(clients.regions.values())
    return {regions.index(r): share / weights for r, share in clients.regions.items()}


def cdn_edge_shares(scenario: Scenario, cdn: str) -> dict[int, float]:
    """Region index -> share of all the requests that are ``cdn``'s cacheable requests
    at the edge of that region (times the offered rate: the edge's lookups per second)."""
    spec = scenario.components[cdn]
    classes = scenario.workload.classes
    total = sum(c.weight for c in classes)
    mine = sum(c.weight for c in classes if c.entry == cdn and c.name in spec.cacheable) / total
    return {region: share * mine for region, share in client_region_shares(scenario).items()}


def cdn_miss_rate(scenario: Scenario, cdn: str, rate: float | None) -> float | None:
    """Share of a CDN edge's cacheable lookups that miss, at ``rate`` lookups per second
    (None: no closed form here).

    Each edge sees the whole key popularity. Without a ttl: Che's approximation on its
    item capacity; with one (from the set, hits leaving it alone), the form
    :func:`ttl_form` names at the edge's rate (``"ttl"`` without an item limit,
    ``"fixed"`` with one, ``"lfu"`` under LFU). None for a byte limit, a key space too
    large for a probability vector, or a ttl without a rate. A shield behind the
    edges is not modelled: taking the origin to see every edge miss is an upper bound.
    """
    spec = scenario.components[cdn]
    keyspace = scenario.keyspaces[spec.keyspace]
    if spec.capacity_bytes is not None or keyspace.keys > MAX_PROBABILITY_KEYS:
        return None
    if spec.ttl is not None and (rate is None or rate <= 0):
        return None
    return miss_rate(
        keyspace, capacity=spec.capacity, eviction=spec.eviction, ttl=spec.ttl, rate=rate
    )


def _cdn_origin_share(scenario: Scenario, cdn: str, offered: float | None) -> float:
    """Share of ``cdn``'s cacheable requests that reach its origin: each edge's
    :func:`cdn_miss_rate` at its own lookup rate, weighted by its clients' share (every
    request where no form applies: an upper bound on the origin's load)."""
    edges = cdn_edge_shares(scenario, cdn)
    reached = 0.0
    for region, share in client_region_shares(scenario).items():
        rate = None if offered is None else offered * edges[region]
        miss = cdn_miss_rate(scenario, cdn, rate)
        reached += share * (1.0 if miss is None else miss)
    return reached
