"""Policies whose victim is the oldest item of an ordered dict: LRU and FIFO."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable

from simperf.components.cache_store.base import _INF, CacheStore, Entry


class _OrderedStore(CacheStore):
    """Stores whose victim is the oldest item of an OrderedDict (LRU, FIFO)."""

    _entries: OrderedDict[Hashable, Entry]

    def _new_index(self) -> OrderedDict[Hashable, Entry]:
        # OrderedDict, not dict: popping a plain dict's oldest key is O(n) after many
        # deletions at its front.
        return OrderedDict()

    def _evict(self) -> Entry:
        key, entry = self._entries.popitem(last=False)
        self.used_bytes -= entry.size
        if entry.dirty:
            del self._dirty[key]
        return entry

    def set(
        self,
        key: Hashable,
        now: float,
        ttl: float | None = None,
        size: float = 1,
        version: int = 0,
        dirty: bool = False,
    ) -> list[Entry]:
        """Store ``key`` at time ``now``, evicting as needed; see :meth:`CacheStore.set`."""
        # CacheStore.set with the hooks inlined: a miss costs a set, so this is hot too.
        entries = self._entries
        evicted: list[Entry] = []
        if key in entries:
            old = self._drop(key)
            if old.dirty and not dirty:
                evicted.append(old)
        entry = Entry(key, size, _INF if ttl is None else now + ttl, version, dirty, now)
        if size > self._max_bytes:
            self.rejections += 1
            evicted.append(entry)
            return evicted
        used = self.used_bytes + size
        max_items = self._max_items
        max_bytes = self._max_bytes
        if len(entries) >= max_items or used > max_bytes:
            popitem = entries.popitem
            before = len(evicted)
            while len(entries) >= max_items or used > max_bytes:
                old_key, old = popitem(False)
                used -= old.size
                if old.dirty:
                    del self._dirty[old_key]
                evicted.append(old)
            self.evictions += len(evicted) - before
        entries[key] = entry
        self.used_bytes = used
        if dirty:
            self._dirty[key] = None
        return evicted


class LRUStore(_OrderedStore):
    """Least recently used: evicts the entry whose last hit or write is oldest."""

    policy = "lru"

    def get(self, key: Hashable, now: float) -> Entry | None:
        """Look ``key`` up at time ``now``; a hit makes it most recent (see ``CacheStore.get``)."""
        # Inlined rather than a hook: this is the hot path of every simulated request.
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
        self._entries.move_to_end(key)
        return entry


class FIFOStore(_OrderedStore):
    """First in, first out: evicts the entry stored longest ago; hits change nothing."""

    policy = "fifo"
