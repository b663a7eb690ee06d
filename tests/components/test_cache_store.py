"""Cache stores: exact agreement with brute-force references, and the shared semantics.

Statistical agreement with the analytic hit-rate models is in
``tests/analysis/test_caching.py``.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Callable, Sequence

import numpy as np
import pytest

from simperf.components.cache_store import (
    EVICTION_POLICIES,
    CacheStore,
    Entry,
    FIFOStore,
    LFUStore,
    LRUStore,
    RandomStore,
    make_store,
)

POLICIES = sorted(EVICTION_POLICIES)


def _zipf_keys(n: int, keys: int, alpha: float, seed: int) -> list[int]:
    """A fixed pseudo-random Zipf-like key sequence (numpy's own sampler, truncated)."""
    rng = np.random.default_rng(seed)
    ranks = 1.0 / np.arange(1, keys + 1) ** alpha
    return rng.choice(keys, size=n, p=ranks / ranks.sum()).tolist()


def _replay(store: CacheStore, keys: Sequence[int], sizes: dict[int, int] | None = None) -> int:
    """Cache-aside: get, and set on a miss. Returns the number of hits."""
    for k in keys:
        if store.get(k, 0.0) is None:
            store.set(k, 0.0, size=1 if sizes is None else sizes[k])
    return store.hits


# -- plain, obviously correct references ---------------------------------------------


def _reference_lru(keys: Sequence[int], capacity: int) -> tuple[int, set[int]]:
    cache: list[int] = []  # least recent first
    hits = 0
    for k in keys:
        if k in cache:
            hits += 1
            cache.remove(k)
        cache.append(k)
        if len(cache) > capacity:
            cache.pop(0)
    return hits, set(cache)


def _reference_lru_bytes(
    keys: Sequence[int], capacity: int, capacity_bytes: int, sizes: dict[int, int]
) -> tuple[int, set[int]]:
    cache: list[int] = []
    hits = 0
    for k in keys:
        if k in cache:
            hits += 1
            cache.remove(k)
            cache.append(k)
            continue
        if sizes[k] > capacity_bytes:
            continue  # never cached
        cache.append(k)
        while len(cache) > capacity or sum(sizes[c] for c in cache) > capacity_bytes:
            cache.pop(0)
    return hits, set(cache)


def _reference_fifo(keys: Sequence[int], capacity: int) -> tuple[int, set[int]]:
    queue: deque[int] = deque()
    cached: set[int] = set()
    hits = 0
    for k in keys:
        if k in cached:
            hits += 1
            continue
        queue.append(k)
        cached.add(k)
        if len(queue) > capacity:
            cached.remove(queue.popleft())
    return hits, cached


def _reference_lfu(keys: Sequence[int], capacity: int) -> tuple[int, set[int]]:
    """Perfect LFU: counts for every key; evict min (count, last hit or insertion time);
    a new key whose count is below the minimum cached count is not admitted."""
    counts: Counter[int] = Counter()
    cached: dict[int, int] = {}  # key -> time of last hit or insertion
    hits = 0
    for t, k in enumerate(keys):
        counts[k] += 1
        if k in cached:
            hits += 1
            cached[k] = t
            continue
        if len(cached) < capacity:
            cached[k] = t
            continue
        victim = min(cached, key=lambda c: (counts[c], cached[c]))
        if counts[k] < counts[victim]:
            continue
        del cached[victim]
        cached[k] = t
    return hits, set(cached)


REFERENCES: dict[str, Callable[[Sequence[int], int], tuple[int, set[int]]]] = {
    "lru": _reference_lru,
    "fifo": _reference_fifo,
    "lfu": _reference_lfu,
}


@pytest.mark.parametrize("policy", sorted(REFERENCES))
@pytest.mark.parametrize(("capacity", "alpha", "seed"), [(50, 0.8, 1), (7, 1.2, 2), (200, 0.5, 3)])
def test_matches_reference_exactly(policy: str, capacity: int, alpha: float, seed: int) -> None:
    keys = _zipf_keys(20_000, 1000, alpha, seed)
    store = make_store(policy, capacity)
    hits = _replay(store, keys)
    ref_hits, ref_contents = REFERENCES[policy](keys, capacity)
    assert hits == ref_hits
    assert set(store) == ref_contents
    assert store.misses == len(keys) - hits
    assert len(store) == capacity


def test_lru_bytes_matches_reference_exactly() -> None:
    keys = _zipf_keys(20_000, 500, 0.9, 4)
    rng = np.random.default_rng(5)
    sizes = {k: int(s) for k, s in enumerate(rng.integers(1, 120, 500))}
    store = LRUStore(80, capacity_bytes=1000)
    hits = _replay(store, keys, sizes)
    ref_hits, ref_contents = _reference_lru_bytes(keys, 80, 1000, sizes)
    assert hits == ref_hits
    assert set(store) == ref_contents
    assert store.used_bytes == sum(sizes[k] for k in store) <= 1000
    assert len(store) <= 80


@pytest.mark.parametrize("policy", POLICIES)
def test_byte_capacity_evicts_by_bytes(policy: str) -> None:
    store = make_store(policy, 100, capacity_bytes=100, rng=np.random.default_rng(0))
    assert store.set("a", 0.0, size=40) == []
    assert store.set("b", 0.0, size=40) == []
    evicted = store.set("c", 0.0, size=40)  # 120 > 100: one must go, items are far from full
    assert len(evicted) == 1 and evicted[0].key in {"a", "b"}
    assert store.used_bytes == 80 and len(store) == 2 and "c" in store
    assert store.evictions == 1
    if policy in ("lru", "fifo"):
        assert evicted[0].key == "a"
    # Larger than the whole cache: not stored, returned so a dirty write is not lost.
    rejected = store.set("huge", 0.0, size=101, dirty=True)
    assert [e.key for e in rejected] == ["huge"] and rejected[0].dirty
    assert "huge" not in store and store.rejections == 1 and store.used_bytes == 80
    # Growing an entry in place evicts others until the bytes fit again.
    evicted = store.set("c", 0.0, size=90)
    assert evicted and "c" in store
    assert store.used_bytes == 90 and len(store) == 1


def test_lru_recency_and_fifo_order() -> None:
    lru, fifo = LRUStore(2), FIFOStore(2)
    for store in (lru, fifo):
        store.set("a", 0.0)
        store.set("b", 0.0)
        assert store.get("a", 1.0) is not None  # LRU: a becomes most recent
    assert [e.key for e in lru.set("c", 2.0)] == ["b"]
    assert [e.key for e in fifo.set("c", 2.0)] == ["a"]


@pytest.mark.parametrize("policy", POLICIES)
def test_ttl_expiry_counts_and_removes(policy: str) -> None:
    store = make_store(policy, 10, rng=np.random.default_rng(0))
    store.set("k", 10.0, ttl=5.0, version=3)
    entry = store.get("k", 14.999)
    assert entry is not None and entry.expires_at == 15.0 and entry.version == 3
    assert entry.stored_at == 10.0
    assert store.get("k", 15.0) is None  # expires_at is the first instant it is gone
    assert store.expirations == 1 and store.misses == 1 and store.hits == 1
    assert "k" not in store and len(store) == 0
    assert store.get("k", 16.0) is None  # now an ordinary miss
    assert store.expirations == 1 and store.misses == 2
    # Without a ttl an entry never expires.
    store.set("forever", 0.0)
    assert store.get("forever", 1e12) is not None


@pytest.mark.parametrize("policy", POLICIES)
def test_expire_sweep_and_dirty_entries_do_not_expire(policy: str) -> None:
    store = make_store(policy, 10, rng=np.random.default_rng(0))
    store.set("clean", 0.0, ttl=1.0)
    store.set("dirty", 0.0, ttl=1.0, dirty=True)
    store.set("later", 0.0, ttl=10.0)
    assert [e.key for e in store.expire(2.0)] == ["clean"]
    assert store.expirations == 1
    assert store.get("dirty", 5.0) is not None  # its data is nowhere else yet
    assert store.mark_clean("dirty")
    assert store.get("dirty", 5.0) is None and store.expirations == 2


@pytest.mark.parametrize("policy", POLICIES)
def test_write_back_bookkeeping(policy: str) -> None:
    store = make_store(policy, 3, rng=np.random.default_rng(0))
    store.set("a", 0.0, dirty=True, version=1)
    store.set("b", 0.0)
    store.set("c", 0.0, dirty=True, version=1)
    assert [e.key for e in store.dirty_entries()] == ["a", "c"]
    # A flush of an older version leaves a newer dirty write dirty.
    store.set("a", 1.0, dirty=True, version=2)
    assert not store.mark_clean("a", version=1)
    assert store.mark_clean("a", version=2)
    assert not store.mark_clean("a")  # already clean
    assert not store.mark_clean("missing")
    assert [e.key for e in store.dirty_entries()] == ["c"]
    # Evicted dirty entries come back to the caller for flushing.
    flushed = []
    for k in ("d", "e", "f", "g"):
        flushed += [e.key for e in store.set(k, 2.0) if e.dirty]
    assert flushed == ["c"] and store.dirty_entries() == []
    # A clean value replacing a dirty one hands the pending write back for flushing.
    store.set("g", 3.0, dirty=True, version=5)
    returned = store.set("g", 3.0, version=4)
    assert [(e.key, e.version, e.dirty) for e in returned] == [("g", 5, True)]
    assert store.dirty_entries() == [] and store.evictions == 4
    # delete is an invalidation, not an eviction.
    evictions = store.evictions
    deleted = store.delete("g")
    assert deleted is not None and deleted.key == "g" and "g" not in store
    assert store.delete("g") is None and store.evictions == evictions


@pytest.mark.parametrize("policy", POLICIES)
def test_clear_returns_lost_dirty_entries(policy: str) -> None:
    store = make_store(policy, 10, capacity_bytes=100, rng=np.random.default_rng(0))
    store.set("a", 0.0, dirty=True, size=10)
    store.set("b", 0.0, size=10)
    store.set("c", 0.0, dirty=True, size=10)
    store.get("b", 1.0)
    lost = store.clear()
    assert sorted(e.key for e in lost) == ["a", "c"] and all(e.dirty for e in lost)
    assert len(store) == 0 and store.used_bytes == 0 and store.dirty_entries() == []
    assert store.hits == 1  # counters survive a restart
    assert store.get("b", 2.0) is None
    # The store works normally afterwards.
    for k in range(25):
        store.set(k, 3.0)
    assert len(store) == 10 and store.evictions == 15


def test_replacing_a_key_is_not_an_eviction() -> None:
    store = LRUStore(2)
    store.set("a", 0.0, version=1)
    assert store.set("a", 1.0, version=2) == []
    entry = store.peek("a")
    assert entry is not None and entry.version == 2 and store.evictions == 0
    assert len(store) == 1 and store.hits == 0 and store.misses == 0


def test_lfu_admission_rule() -> None:
    store = LFUStore(2)
    for k in ("a", "b"):
        for _ in range(3):
            if store.get(k, 0.0) is None:
                store.set(k, 0.0)
    assert store.count("a") == store.count("b") == 3
    # c was requested once: below the lowest cached count (3), so it is not admitted.
    assert store.get("c", 1.0) is None
    refused = store.set("c", 1.0, dirty=True)
    assert [e.key for e in refused] == ["c"] and refused[0].dirty
    assert "c" not in store and store.rejections == 1 and store.evictions == 0
    # Once c is as popular as the least popular cached key it replaces it; between
    # equal counts, the least recently hit (a) goes.
    for _ in range(2):
        assert store.get("c", 2.0) is None
    assert [e.key for e in store.set("c", 2.0)] == ["a"]
    assert set(store) == {"b", "c"}
    # Counts are kept for keys that are not cached.
    assert store.count("a") == 3
    # Not full: any key is admitted.
    store.delete("b")
    assert store.set("z", 3.0) == [] and "z" in store


def test_lfu_converges_to_top_keys() -> None:
    keys = _zipf_keys(60_000, 200, 1.0, 9)
    store = LFUStore(20)
    _replay(store, keys)
    top = {k for k, _ in Counter(keys).most_common(20)}
    assert len(set(store) & top) >= 19


def test_random_store_invariants_and_determinism() -> None:
    keys = _zipf_keys(20_000, 1000, 0.8, 6)

    def run(seed: int) -> tuple[int, list[int]]:
        store = RandomStore(50, rng=np.random.default_rng(seed))
        evicted: list[int] = []
        for i, k in enumerate(keys):
            if store.get(k, 0.0) is None:
                evicted += [e.key for e in store.set(k, 0.0)]
            if i % 997 == 0:
                store.delete(keys[i // 2])  # exercise swap-remove from the middle
            assert len(store) <= 50
        assert sorted(store._keys) == sorted(store)  # dense key list mirrors the dict
        assert all(store._keys[i] == k for k, i in store._pos.items())
        assert set(store) <= set(keys)
        return store.hits, evicted

    hits, evicted = run(1)
    assert run(1) == (hits, evicted)
    assert run(2)[1] != evicted
    # Random eviction keeps popular keys about as long as FIFO does (same IRM hit rate),
    # and both are below LRU.
    fifo_hits, _ = _reference_fifo(keys, 50)
    lru_hits, _ = _reference_lru(keys, 50)
    assert abs(hits - fifo_hits) < 0.05 * len(keys)
    assert hits < lru_hits


def test_random_store_victims_are_uniform() -> None:
    store = RandomStore(10, rng=np.random.default_rng(4))
    for k in range(10):
        store.set(k, 0.0)
    per_key: Counter[int] = Counter()
    for _ in range(20_000):
        (victim,) = store.set(-1, 0.0)
        per_key[victim.key] += 1
        store.delete(-1)
        store.set(victim.key, 0.0)  # put it back: the contents stay 0..9
    expected = 20_000 / 10
    assert set(per_key) == set(range(10))
    assert all(abs(per_key[k] - expected) < 5 * np.sqrt(expected * 0.9) for k in range(10))


def test_unlimited_items_ttl_only() -> None:
    store = make_store("lru", None)
    for k in range(10_000):
        store.set(k, 0.0, ttl=1.0)
    assert len(store) == 10_000 and store.evictions == 0


def test_make_store_and_validation() -> None:
    assert isinstance(make_store("LRU", 5), LRUStore)
    assert isinstance(make_store("fifo", 5), FIFOStore)
    assert isinstance(make_store("random", 5), RandomStore)
    assert isinstance(make_store("lfu", 5), LFUStore)
    with pytest.raises(ValueError, match="eviction"):
        make_store("mru", 5)
    with pytest.raises(ValueError, match="capacity_items"):
        make_store("lru", 0)
    with pytest.raises(ValueError, match="capacity_bytes"):
        make_store("lru", 5, capacity_bytes=0)


def test_entry_and_store_repr() -> None:
    entry = Entry("k", size=3, version=2)
    assert entry.expires_at == float("inf") and not entry.dirty
    assert "version=2" in repr(entry)
    store = make_store("fifo", 4)
    store.set("k", 0.0)
    assert repr(store) == "FIFOStore(capacity_items=4, capacity_bytes=None, len=1)"
    assert store.hit_ratio == 0.0
    store.get("k", 0.0)
    store.get("x", 0.0)
    assert store.hit_ratio == 0.5
    store.reset_counters()
    assert (store.hits, store.misses, store.evictions) == (0, 0, 0)
