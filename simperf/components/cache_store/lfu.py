"""Perfect LFU eviction with optional admission."""

from __future__ import annotations

import heapq
from collections.abc import Hashable

from simperf.components.cache_store.base import CacheStore, Entry


class LFUStore(CacheStore):
    """Perfect LFU: evicts the cached key requested least often since the store started.

    Counts are kept for every key ever requested, cached or not (``get`` increments the
    count; ``set`` does not). Ties between equal counts go to the least recently hit or
    inserted key. Victims come from a heap of ``(count, tick, key)`` with lazy deletion,
    rebuilt when stale items outnumber live ones three to one: O(log n) per operation.

    Admission rule: when the store is full, a new key is stored only if its count is
    at least the lowest count among the cached keys; otherwise ``set`` refuses it
    (counted in ``rejections``, returned in the result list). Without this rule each
    miss would evict a popular key for a one-off one; with it, under stable popularity,
    the cache converges to the ``capacity`` most popular keys. Replacing a cached key
    is always allowed. With a byte limit, an object that needs several evictions is
    compared with the lowest count only. :meth:`clear` forgets the counts (a restarted
    node starts cold). The counts take memory for every distinct key requested.
    """

    policy = "lfu"
    _admission = True
    _plain_insert = False
    _clock = 0  # ticks go on counting across a clear: only their order matters

    def get(self, key: Hashable, now: float) -> Entry | None:
        counts = self.counts
        count = counts.get(key, 0) + 1
        counts[key] = count
        entry = self._entries.get(key)
        if entry is None:
            self.misses += 1
            return None
        if now >= entry.expires_at and not entry.dirty:
            self._drop(key)
            self.expirations += 1
            self.misses += 1
            return None
        self.hits += 1
        self._clock += 1
        self._tick[key] = self._clock
        heapq.heappush(self._heap, (count, self._clock, key))
        if len(self._heap) > 4 * len(self._entries) + 1024:
            self._rebuild()
        return entry

    def count(self, key: Hashable) -> int:
        """Number of ``get`` calls for ``key`` so far."""
        return self.counts.get(key, 0)

    def _insert(self, entry: Entry) -> None:
        key = entry.key
        self._entries[key] = entry
        self._clock += 1
        self._tick[key] = self._clock
        heapq.heappush(self._heap, (self.counts.get(key, 0), self._clock, key))
        if len(self._heap) > 4 * len(self._entries) + 1024:
            self._rebuild()

    def _remove(self, key: Hashable) -> Entry:
        del self._tick[key]  # its heap items become stale
        return self._entries.pop(key)

    def _min_item(self) -> tuple[int, int, Hashable]:
        heap, tick = self._heap, self._tick
        while True:
            item = heap[0]
            if tick.get(item[2]) == item[1]:
                return item
            heapq.heappop(heap)

    def _victim(self) -> Hashable:
        return self._min_item()[2]

    def _admit(self, key: Hashable, size: float) -> bool:
        full = len(self._entries) >= self._max_items or self.used_bytes + size > self._max_bytes
        if not full or not self._entries:
            return True
        return self.counts.get(key, 0) >= self._min_item()[0]

    def _rebuild(self) -> None:
        counts = self.counts
        self._heap = [(counts.get(k, 0), t, k) for k, t in self._tick.items()]
        heapq.heapify(self._heap)

    def _on_clear(self) -> None:
        self.counts: dict[Hashable, int] = {}
        self._tick: dict[Hashable, int] = {}  # cached key -> tick of its live heap item
        self._heap: list[tuple[int, int, Hashable]] = []
