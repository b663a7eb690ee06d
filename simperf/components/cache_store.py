"""Key-level cache state with eviction policies (no simulation engine here).

A store holds :class:`Entry` objects by key and decides which to evict; the SimPy cache
component asks it ``get``/``set`` on each request and models the time these take. Every
operation is O(1) (LFU: O(log n)) in plain dicts, with no numpy call per operation.

Semantics shared by all policies
--------------------------------
* ``get(key, now)`` is one request: a hit returns the entry and updates the policy's
  recency (LRU) or frequency (LFU); a miss returns ``None``. An entry whose TTL has
  passed (``now >= expires_at``) is removed and counted as an expiration *and* a miss.
  Expiry is lazy, as in Redis: an expired entry holds its slot until it is requested,
  evicted or removed by :meth:`CacheStore.expire`.
* A dirty entry (write-back data not yet in the database) never expires: its data
  exists nowhere else. Once :meth:`CacheStore.mark_clean` is called it expires as usual.
* ``set`` replaces any previous entry of the key (the write is treated as a new
  insertion: LRU makes it most recent, FIFO moves it to the back). It returns the
  entries that left the cache because of it, *plus the new entry itself if it could not
  be stored* (larger than ``capacity_bytes``, or refused by LFU admission), and the
  replaced entry if it was dirty and the new one is not; flushing every dirty entry of
  the returned list therefore never loses a write.
* ``capacity_items=None`` means no item limit (a TTL-only cache); ``capacity_bytes=None``
  means no byte limit. When both are set, entries are evicted until both hold.
"""

from __future__ import annotations

import heapq
import math
from collections import OrderedDict
from collections.abc import Hashable, Iterator
from itertools import chain, repeat

import numpy as np

__all__ = [
    "EVICTION_POLICIES",
    "CacheStore",
    "Entry",
    "FIFOStore",
    "LFUStore",
    "LRUStore",
    "RandomStore",
    "make_store",
]

_INF = math.inf


class Entry:
    """One cached object.

    Attributes
    ----------
    key
        The key.
    size
        Size in bytes (or any unit consistent with ``capacity_bytes``).
    expires_at
        Simulation time at which the entry expires (``inf`` without a TTL).
    version
        Version of the data, for the caller's consistency checks.
    dirty
        True while the entry holds a write not yet flushed to the database.
    stored_at
        Simulation time of the ``set`` that stored it.
    """

    __slots__ = ("dirty", "expires_at", "key", "size", "stored_at", "version")

    def __init__(
        self,
        key: Hashable,
        size: float = 1,
        expires_at: float = _INF,
        version: int = 0,
        dirty: bool = False,
        stored_at: float = 0.0,
    ) -> None:
        self.key = key
        self.size = size
        self.expires_at = expires_at
        self.version = version
        self.dirty = dirty
        self.stored_at = stored_at

    def __repr__(self) -> str:
        return (
            f"Entry(key={self.key!r}, size={self.size}, expires_at={self.expires_at}, "
            f"version={self.version}, dirty={self.dirty}, stored_at={self.stored_at})"
        )


class CacheStore:
    """Common state and operations; subclasses choose the eviction victim.

    Parameters
    ----------
    capacity_items
        Maximum number of entries (``None``: unlimited).
    capacity_bytes
        Maximum total ``size`` of the entries (``None``: unlimited).
    rng
        Generator for random choices (only :class:`RandomStore` uses one).

    Attributes
    ----------
    hits, misses, evictions, expirations
        Counters since creation or :meth:`reset_counters`. ``evictions`` counts entries
        removed to make room; ``expirations`` counts entries found or purged expired.
    rejections
        ``set`` calls whose entry was not stored (too large, or refused by admission).
    """

    policy = "base"
    _admission = False  # whether _admit must be asked (LFU)
    _plain_insert = True  # whether _insert is just ``_entries[key] = entry``

    def __init__(
        self,
        capacity_items: int | None,
        capacity_bytes: float | None = None,
        rng: np.random.Generator | None = None,
    ) -> None:
        if capacity_items is not None and capacity_items < 1:
            raise ValueError("capacity_items: must be >= 1 (or None for no item limit)")
        if capacity_bytes is not None and capacity_bytes <= 0:
            raise ValueError("capacity_bytes: must be > 0 (or None for no byte limit)")
        self.capacity_items = capacity_items
        self.capacity_bytes = capacity_bytes
        self._max_items: float = _INF if capacity_items is None else capacity_items
        self._max_bytes: float = _INF if capacity_bytes is None else capacity_bytes
        self._entries: dict[Hashable, Entry] = self._new_index()
        self._dirty: dict[Hashable, None] = {}  # insertion-ordered set of dirty keys
        self.used_bytes: float = 0
        self.hits = 0
        self.misses = 0
        self.evictions = 0
        self.expirations = 0
        self.rejections = 0

    # -- policy hooks ------------------------------------------------------------------

    def _new_index(self) -> dict[Hashable, Entry]:
        return {}

    def _insert(self, entry: Entry) -> None:
        """Add a new entry (room has been made)."""
        self._entries[entry.key] = entry

    def _remove(self, key: Hashable) -> Entry:
        """Remove ``key`` from the policy's structures and return its entry."""
        return self._entries.pop(key)

    def _victim(self) -> Hashable:  # pragma: no cover - overridden
        """The key to evict next (the store is not empty); or override ``_evict``."""
        raise NotImplementedError

    def _admit(self, key: Hashable, size: float) -> bool:
        """Whether a new key may displace cached ones (LFU refuses unpopular keys)."""
        return True

    def _evict(self) -> Entry:
        """Remove the policy's victim (the store is not empty) and return it."""
        return self._drop(self._victim())

    def _on_clear(self) -> None:
        """Reset policy state on :meth:`clear`."""

    # -- operations --------------------------------------------------------------------

    def get(self, key: Hashable, now: float) -> Entry | None:
        """Look ``key`` up as a request at time ``now``.

        Returns
        -------
        Entry or None
            The entry on a hit; ``None`` on a miss (absent or expired).
        """
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
        return entry

    def peek(self, key: Hashable) -> Entry | None:
        """The entry of ``key`` if present (even if expired), without counting a request."""
        return self._entries.get(key)

    def set(
        self,
        key: Hashable,
        now: float,
        ttl: float | None = None,
        size: float = 1,
        version: int = 0,
        dirty: bool = False,
    ) -> list[Entry]:
        """Store ``key`` at time ``now``, evicting as needed.

        Parameters
        ----------
        key
            The key.
        now
            Current simulation time.
        ttl
            Time to live in seconds (``None``: never expires).
        size
            Size of the object, in the unit of ``capacity_bytes``.
        version
            Version of the data.
        dirty
            Whether the write still has to be flushed to the database (write-back).

        Returns
        -------
        list of Entry
            The entries that left: the evicted ones, the replaced entry if it was dirty
            and the new one is not, and the new entry itself if it was not stored
            (``key in store`` tells). Flush the dirty ones.
        """
        entry = Entry(key, size, _INF if ttl is None else now + ttl, version, dirty, now)
        entries = self._entries
        evicted: list[Entry] = []
        if key in entries:
            # Superseded by the new write: neither an eviction nor an expiration.
            old = self._drop(key)
            if old.dirty and not dirty:
                evicted.append(old)  # a clean value must not silently drop a pending write
            admitted = True
        else:
            admitted = not self._admission or self._admit(key, size)
        if size > self._max_bytes or not admitted:
            self.rejections += 1
            evicted.append(entry)
            return evicted
        if len(entries) >= self._max_items or self.used_bytes + size > self._max_bytes:
            max_items = self._max_items
            max_bytes = self._max_bytes - size
            before = len(evicted)
            while len(entries) >= max_items or self.used_bytes > max_bytes:
                evicted.append(self._evict())
            self.evictions += len(evicted) - before
        if self._plain_insert:
            entries[key] = entry  # the common case, without a method call
        else:
            self._insert(entry)
        self.used_bytes += size
        if dirty:
            self._dirty[key] = None
        return evicted

    def delete(self, key: Hashable) -> Entry | None:
        """Remove ``key`` (an invalidation); returns its entry or ``None``."""
        if key not in self._entries:
            return None
        return self._drop(key)

    def mark_clean(self, key: Hashable, version: int | None = None) -> bool:
        """Record that ``key``'s data reached the database.

        Parameters
        ----------
        key
            The key.
        version
            The version that was flushed; if given and the cached entry has another
            (newer) version, the entry stays dirty.

        Returns
        -------
        bool
            Whether a dirty entry became clean.
        """
        entry = self._entries.get(key)
        if entry is None or not entry.dirty:
            return False
        if version is not None and entry.version != version:
            return False
        entry.dirty = False
        del self._dirty[key]
        return True

    def dirty_entries(self) -> list[Entry]:
        """The dirty entries, oldest first-dirtied first."""
        entries = self._entries
        return [entries[k] for k in self._dirty]

    def expire(self, now: float) -> list[Entry]:
        """Remove every clean entry expired at ``now`` (an O(n) sweep, like active expiry).

        Returns
        -------
        list of Entry
            The removed entries (counted as expirations).
        """
        dead = [k for k, e in self._entries.items() if now >= e.expires_at and not e.dirty]
        removed = [self._drop(k) for k in dead]
        self.expirations += len(removed)
        return removed

    def clear(self) -> list[Entry]:
        """Lose all contents (a node failure or restart), keeping the counters.

        Returns
        -------
        list of Entry
            The dirty entries, whose writes are lost.
        """
        lost = self.dirty_entries()
        self._entries = self._new_index()
        self._dirty = {}
        self.used_bytes = 0
        self._on_clear()
        return lost

    def reset_counters(self) -> None:
        """Zero the hit, miss, eviction, expiration and rejection counters (end of warm-up)."""
        self.hits = self.misses = self.evictions = self.expirations = self.rejections = 0

    @property
    def hit_ratio(self) -> float:
        """``hits / (hits + misses)`` (0 before any request)."""
        total = self.hits + self.misses
        return self.hits / total if total else 0.0

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: object) -> bool:
        """Whether ``key`` is stored (expired or not)."""
        return key in self._entries

    def __iter__(self) -> Iterator[Hashable]:
        return iter(self._entries)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(capacity_items={self.capacity_items}, "
            f"capacity_bytes={self.capacity_bytes}, len={len(self)})"
        )

    def _drop(self, key: Hashable) -> Entry:
        entry = self._remove(key)
        self.used_bytes -= entry.size
        if entry.dirty:
            del self._dirty[key]
        return entry


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
        self._keys: list[Hashable] = []  # dense array of keys, for O(1) random choice
        self._pos: dict[Hashable, int] = {}

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
        self._keys = []
        self._pos = {}


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

    def __init__(
        self,
        capacity_items: int | None,
        capacity_bytes: float | None = None,
        rng: np.random.Generator | None = None,
    ) -> None:
        super().__init__(capacity_items, capacity_bytes, rng)
        self.counts: dict[Hashable, int] = {}
        self._tick: dict[Hashable, int] = {}  # cached key -> tick of its live heap item
        self._heap: list[tuple[int, int, Hashable]] = []
        self._clock = 0

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
        self.counts = {}
        self._tick = {}
        self._heap = []


EVICTION_POLICIES: dict[str, type[CacheStore]] = {
    "lru": LRUStore,
    "fifo": FIFOStore,
    "random": RandomStore,
    "lfu": LFUStore,
}
"""Store class by eviction policy name."""


def make_store(
    eviction: str,
    capacity_items: int | None,
    capacity_bytes: float | None = None,
    rng: np.random.Generator | None = None,
) -> CacheStore:
    """Create a store for the eviction policy ``eviction`` (lru, fifo, random or lfu).

    Parameters
    ----------
    eviction
        Policy name, case-insensitive.
    capacity_items
        Maximum number of entries (``None``: unlimited).
    capacity_bytes
        Maximum total size (``None``: unlimited).
    rng
        Generator for the random policy's choices.
    """
    try:
        cls = EVICTION_POLICIES[eviction.lower()]
    except KeyError:
        raise ValueError(
            f"eviction: expected one of {', '.join(EVICTION_POLICIES)}, not {eviction!r}"
        ) from None
    return cls(capacity_items, capacity_bytes, rng)
