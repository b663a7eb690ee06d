"""Buffer-pool hit ratios reduce to known cases; shard routing is the same in numpy."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import stats

from simperf.analysis.caching import che_lru
from simperf.dbcost.buffer_pool import point_popularity, pool_model, shard_of, shards_of
from simperf.dbcost.query_cost import Layout
from simperf.keys import popularity_probabilities
from simperf.spec.database import TableSpec
from simperf.spec.keyspace import KeyspaceSpec

LAYOUT = Layout(8192, 32)
ZIPF = KeyspaceSpec(keys=20_000, popularity={"zipf": 0.9})


def test_uniform_pages_hit_in_proportion_to_the_pool() -> None:
    table = TableSpec(rows=400_000, row_size=200)  # 10,000 pages
    model = pool_model({"t": table}, {}, LAYOUT, 2500 * 8192, {("t", "uniform"): 1.0})
    assert model.capacity == 2500
    assert model.ratio("t", "uniform") == pytest.approx(0.25, abs=1e-9)
    assert model.fill == pytest.approx(1.0)


def test_one_row_per_page_is_che_over_the_keys() -> None:
    table = TableSpec(rows=20_000, row_size=8192, keyspace="k")
    model = pool_model({"t": table}, {"k": ZIPF}, LAYOUT, 1000 * 8192, {("t", "point"): 1.0})
    expected = che_lru(popularity_probabilities(ZIPF), 1000)
    assert model.ratio("t", "point") == pytest.approx(expected, rel=1e-9)


def test_more_memory_more_hits_and_everything_fits() -> None:
    table = TableSpec(rows=20_000, row_size=400, keyspace="k")  # 1,000 pages
    rates = {("t", "point"): 1.0, ("t", "uniform"): 0.5}
    hits = [
        pool_model({"t": table}, {"k": ZIPF}, LAYOUT, pages * 8192, rates).ratio("t", "point")
        for pages in (0, 50, 200, 800, 1000, 5000)
    ]
    assert hits[0] == 0.0
    assert all(a < b for a, b in itertools.pairwise(hits[:5]))
    # Every page resident: the ratio is the sum of the 1,000 pages' probabilities, which
    # were normalised by a sum of as many terms; each sum rounds by at most n * eps / 2.
    pages = 1000
    rounding = 2 * pages * np.finfo(float).eps
    assert hits[-2] == pytest.approx(1.0, abs=rounding)
    assert hits[-1] == pytest.approx(1.0, abs=rounding)
    big = pool_model({"t": table}, {"k": ZIPF}, LAYOUT, 5000 * 8192, rates)
    assert big.fill == pytest.approx(1000 / 5000)


def test_tables_compete_for_one_pool() -> None:
    small = TableSpec(rows=4000, row_size=200)  # 100 pages
    large = TableSpec(rows=400_000, row_size=200)  # 10,000 pages
    alone = pool_model({"a": small}, {}, LAYOUT, 100 * 8192, {("a", "uniform"): 1.0})
    shared = pool_model(
        {"a": small, "b": large},
        {},
        LAYOUT,
        100 * 8192,
        {("a", "uniform"): 1.0, ("b", "uniform"): 1.0},
    )
    assert alone.ratio("a", "uniform") == 1.0
    assert shared.ratio("a", "uniform") < 0.9
    assert shared.ratio("a", "uniform") > shared.ratio("b", "uniform")


def test_point_popularity_is_a_distribution_over_pages() -> None:
    table = TableSpec(rows=50_000, row_size=200, keyspace="k")  # 1,250 pages, 20,000 keys
    groups = point_popularity(table, ZIPF, LAYOUT)
    assert groups.pages == 1250
    assert float(np.dot(groups.values, groups.counts)) == pytest.approx(1.0)
    big = TableSpec(rows=10_000_000, row_size=200)
    uniform = point_popularity(big, None, LAYOUT)
    assert uniform.pages == 250_000 and uniform.values.size == 1  # one group
    sparse = point_popularity(big, ZIPF, LAYOUT)  # 20,000 keys on their own pages, the rest cold
    assert sparse.values.size == 20_001 and sparse.counts[-1] == 230_000
    shard = point_popularity(table, ZIPF, LAYOUT, shard=3, shards=8, routing="hash")
    assert shard.pages == LAYOUT.pages(table, 6250)
    assert float(np.dot(shard.values, shard.counts)) == pytest.approx(1.0)


@pytest.mark.parametrize("shards", [2, 3, 4, 5, 8, 12])
def test_hash_routing_places_keys_as_independent_uniform_draws(shards: int) -> None:
    # 20,000 keys drawn uniformly from a million: under a good hash each lands on each
    # shard with probability 1/N, whatever its neighbours' shards, so the keys on each
    # shard, and the keys whose neighbour k + 1 (k + 2) is on their shard, are each
    # Binomial(20,000, 1/N): every count within its two-sided interval at 1 - 0.001 /
    # checks. The multiplicative hash with a 32-bit fold used before put k + 2 on k's
    # shard 0.55% of the time with 2 shards (not 50%), 0.3% with 8 (not 12.5%).
    keys = np.random.default_rng(5).integers(0, 1_000_000, 20_000)
    mine = shards_of(keys, shards, "hash", 1_000_000)
    counts = np.bincount(mine, minlength=shards)
    neighbours = [
        int((shards_of(keys + d, shards, "hash", 1_000_000) == mine).sum()) for d in (1, 2)
    ]
    low, high = stats.binom.interval(1 - 0.001 / (shards + 2), keys.size, 1 / shards)
    assert low <= counts.min() and counts.max() <= high, (counts, low, high)
    assert all(low <= n <= high for n in neighbours), (neighbours, low, high)
    assert shard_of(0, shards, "hash", 1) == 0  # the hottest key on shard 0, as explain says


def test_shard_routing_scalar_and_vector_agree() -> None:
    keys = np.arange(50_000)
    for routing in ("hash", "range"):
        vector = shards_of(keys, 8, routing, 50_000)
        assert [shard_of(int(k), 8, routing, 50_000) for k in keys[:3000]] == vector[:3000].tolist()
    hashed = np.bincount(shards_of(keys, 8, "hash", 50_000), minlength=8)
    assert hashed.min() > 0.97 * 50_000 / 8
    ranged = shards_of(keys, 8, "range", 50_000)
    assert (np.diff(ranged) >= 0).all() and np.bincount(ranged).tolist() == [6250] * 8
