"""Random eviction: a victim chosen uniformly, from batched uniforms."""

from __future__ import annotations

from collections.abc import Hashable
from itertools import chain, repeat

import numpy as np

from simperf.components.cache_store.base import CacheStore, Entry


class RandomStore(CacheStore):
    """Evicts an entry chosen uniformly at random.

    Victims are chosen with ``rng`` (uniforms drawn in batches); without one a
    generator seeded with 0 is used, so runs are reproducible either way.
    """

    policy = "random"
    _plain_insert = False

    def __init__(
        self,
        capacity_items: int | None,
        capacity_bytes: float | None = None,
        rng: np.random.Generator | None = None,
        batch: int = 4096,
    ) -> None:
        super().__init__(capacity_items, capacity_bytes, rng)
        self._rng = rng if rng is not None else np.random.default_rng(0)
        draw = self._rng.random
        self._uniform = chain.from_iterable(map(lambda n: draw(n).tolist(), repeat(batch)))

    def _insert(self, entry: Entry) -> None:
        key = entry.key
        self._entries[key] = entry
        self._pos[key] = len(self._keys)
        self._keys.append(key)

    def _remove(self, key: Hashable) -> Entry:
        # Swap-remove: move the last key into the hole.
        i = self._pos.pop(key)
        last = self._keys.pop()
        if last != key:
            self._keys[i] = last
            self._pos[last] = i
        return self._entries.pop(key)

    def _evict(self) -> Entry:
        # _drop(_victim()) inlined.
        keys, pos = self._keys, self._pos
        n = len(keys)
        i = int(next(self._uniform) * n)
        if i >= n:  # float round-off guard
            i = n - 1
        key = keys[i]
        last = keys.pop()
        del pos[key]
        if i < n - 1:
            keys[i] = last
            pos[last] = i
        entry = self._entries.pop(key)
        self.used_bytes -= entry.size
        if entry.dirty:
            del self._dirty[key]
        return entry

    def _on_clear(self) -> None:
        self._keys: list[Hashable] = []  # dense array of keys, for O(1) random choice
        self._pos: dict[Hashable, int] = {}
