"""Buffer-pool hit ratios: Che's approximation over table pages.

Model (stated in ``docs/databases.md``):

* Rows are spread over a table's ``P`` heap pages independently of popularity: the key of
  popularity rank ``k`` lives on page ``k mod P`` (the hottest ``P`` keys on distinct
  pages: the least locality a table can have, so hit ratios are not flattered). Rows
  beyond the key space's size are never looked up by key.
* A primary-key access (``pattern: point``) reads the page of a key drawn from the key
  space; every other access (scans, secondary indexes) reads pages uniformly.
* Page requests are independent (IRM) with page ``j`` of table ``t`` requested at rate
  ``a_t q_tj + b_t / P_t``, where ``a_t`` and ``b_t`` are the table's point and uniform
  page-read rates (from the query mix, :mod:`simperf.dbcost.mix`) and ``q_tj``
  the point popularity of the page. All tables share one LRU pool of
  ``memory // page_size`` pages, so Che's approximation (as in
  :func:`simperf.analysis.caching.che_lru`) applies to the union: ``h_j = 1 - exp(-v_j T)``
  with ``sum_j (1 - exp(-v_j T)) = capacity``.
* Index pages are assumed resident and are not part of the pool's competition.

Popularity vectors are handled as (value, count) groups, so a uniform table of any size
costs one group.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass

import numpy as np

from simperf.dbcost.query_cost import Layout
from simperf.keys import popularity_probabilities
from simperf.spec.keyspace import KeyspaceSpec
from simperf.spec.tables import TableSpec

_MASK64 = (1 << 64) - 1
# SplitMix64's finaliser (Steele, Lea and Flood, "Fast splittable pseudorandom number
# generators", OOPSLA 2014; Stafford's variant 13): every output bit depends on every
# input bit, so neighbouring keys -- popularity ranks, the hottest next to each other --
# land on shards as independent draws would. (The multiplicative hash with a 32-bit fold
# used before 5 December 2026 left neighbours dependent: with 2 shards keys k and k + 2
# shared a shard 0.55% of the time, not 50%, and the 10 hottest keys of 3 shards sat
# 2, 0 and 8 to a shard.) It maps 0 to 0: the hottest key is on shard 0.
_MIX_1 = 0xBF58476D1CE4E5B9
_MIX_2 = 0x94D049BB133111EB


def shard_of(key: int, shards: int, routing: str, space: int) -> int:
    """Shard of a key: a 64-bit mix of the key modulo ``shards``, or contiguous ranges of
    the key space."""
    if routing == "range":
        return min(shards - 1, key * shards // space)
    z = key & _MASK64
    z = ((z ^ (z >> 30)) * _MIX_1) & _MASK64
    z = ((z ^ (z >> 27)) * _MIX_2) & _MASK64
    return (z ^ (z >> 31)) % shards


def shards_of(keys: np.ndarray, shards: int, routing: str, space: int) -> np.ndarray:
    """:func:`shard_of` for an array of keys (identical results)."""
    keys = np.asarray(keys, dtype=np.uint64)
    if routing == "range":
        return np.minimum(shards - 1, (keys * np.uint64(shards)) // np.uint64(space)).astype(
            np.int64
        )
    with np.errstate(over="ignore"):  # products wrap modulo 2^64, as intended
        z = (keys ^ (keys >> np.uint64(30))) * np.uint64(_MIX_1)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(_MIX_2)
    return ((z ^ (z >> np.uint64(31))) % np.uint64(shards)).astype(np.int64)


@dataclass(frozen=True)
class Groups:
    """Page popularity as groups of ``counts`` pages with probability ``values`` each."""

    values: np.ndarray
    counts: np.ndarray

    @property
    def pages(self) -> int:
        return int(self.counts.sum())


def point_popularity(
    table: TableSpec,
    keyspace: KeyspaceSpec | None,
    layout: Layout,
    *,
    shard: int = 0,
    shards: int = 1,
    routing: str = "hash",
) -> Groups:
    """Probability that a point access reads each heap page (of one shard's share)."""
    rows = -(-table.rows // shards)
    pages = layout.pages(table, rows)
    if keyspace is None:
        return Groups(np.array([1.0 / pages]), np.array([pages]))
    p = popularity_probabilities(keyspace)
    if shards > 1:
        mine = shards_of(np.arange(p.size), shards, routing, keyspace.keys) == shard
        p = p[mine]
        total = p.sum()
        if p.size == 0 or total <= 0:
            return Groups(np.array([0.0]), np.array([pages]))
        p = p / total
    if p.size >= pages:
        values = np.bincount(np.arange(p.size) % pages, weights=p, minlength=pages)
        return Groups(values, np.ones(pages, dtype=np.int64))
    return Groups(
        np.concatenate([p, [0.0]]),
        np.concatenate([np.ones(p.size, dtype=np.int64), [pages - p.size]]),
    )


@dataclass(frozen=True)
class PoolModel:
    """Hit ratio per (table, pattern) of one buffer pool, and how full it is."""

    capacity: int
    hit: dict[tuple[str, str], float]
    fill: float

    def ratio(self, table: str, pattern: str) -> float:
        return self.hit.get((table, pattern), 1.0)


def _occupancy(values: np.ndarray, counts: np.ndarray, t: float) -> float:
    return float(np.dot(counts, -np.expm1(-values * t)))


def characteristic_time(values: np.ndarray, counts: np.ndarray, capacity: float) -> float:
    """``T`` with ``sum counts (1 - exp(-values T)) = capacity`` (inf if all pages fit)."""
    if capacity <= 0:
        return 0.0
    if capacity >= counts[values > 0].sum():
        return float("inf")
    low, high = 0.0, float(capacity)
    while _occupancy(values, counts, high) < capacity:
        low, high = high, 2.0 * high
    from scipy.optimize import brentq  # imported here: only a run with a buffer pool needs it

    return float(
        brentq(
            lambda t: _occupancy(values, counts, t) - capacity,
            low,
            high,
            xtol=1e-12,
            rtol=1e-12,
            maxiter=500,
        )
    )


def pool_model(
    tables: dict[str, TableSpec],
    keyspaces: dict[str, KeyspaceSpec],
    layout: Layout,
    memory: int,
    rates: dict[tuple[str, str], float],
    *,
    shard: int = 0,
    shards: int = 1,
    routing: str = "hash",
) -> PoolModel:
    """Hit ratios of a pool of ``memory`` bytes under page-read ``rates``.

    ``rates`` maps (table, ``point`` | ``uniform``) to heap pages read per unit time
    (any unit: only proportions matter). Tables not read do not compete for the pool.
    """
    key = json.dumps(
        {
            "tables": {n: t.model_dump(mode="json") for n, t in tables.items()},
            "keyspaces": {n: k.model_dump(mode="json") for n, k in keyspaces.items()},
            "rates": sorted([[*k, v] for k, v in rates.items()]),
        },
        sort_keys=True,
    )
    return _pool_model(key, layout, memory, shard, shards, routing)


@functools.lru_cache(maxsize=64)
def _pool_model(
    key: str, layout: Layout, memory: int, shard: int, shards: int, routing: str
) -> PoolModel:
    data = json.loads(key)
    tables = {n: TableSpec.model_validate(t) for n, t in data["tables"].items()}
    keyspaces = {n: KeyspaceSpec.model_validate(k) for n, k in data["keyspaces"].items()}
    rates = {(t, p): v for t, p, v in data["rates"]}
    capacity = memory // layout.page_size
    parts = []
    for name, table in tables.items():
        point = rates.get((name, "point"), 0.0)
        uniform = rates.get((name, "uniform"), 0.0)
        if point + uniform <= 0:
            continue
        keyspace = keyspaces.get(table.keyspace) if table.keyspace else None
        groups = point_popularity(
            table, keyspace, layout, shard=shard, shards=shards, routing=routing
        )
        pages = groups.pages
        values = point * groups.values + uniform / pages
        parts.append((name, groups, pages, values))
    if not parts:
        return PoolModel(capacity, {}, 0.0)
    all_values = np.concatenate([v for _, _, _, v in parts])
    all_counts = np.concatenate([g.counts for _, g, _, _ in parts])
    all_values = all_values / float(np.dot(all_values, all_counts))
    t = characteristic_time(all_values, all_counts, capacity)
    hit: dict[tuple[str, str], float] = {}
    start = 0
    for name, groups, pages, _ in parts:
        n = groups.values.size
        values = all_values[start : start + n]
        start += n
        if np.isinf(t):
            h = (values > 0).astype(float)
        else:
            h = -np.expm1(-values * t)
        hit[(name, "point")] = min(1.0, float(np.dot(groups.counts * groups.values, h)))
        hit[(name, "uniform")] = min(1.0, float(np.dot(groups.counts, h) / pages))
    if np.isinf(t):
        used = float(all_counts[all_values > 0].sum())
        fill = used / capacity if capacity else 1.0
    else:
        fill = _occupancy(all_values, all_counts, t) / capacity if capacity else 1.0
    return PoolModel(capacity, hit, min(fill, 1.0))
