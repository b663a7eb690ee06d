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

import numpy as np

from simperf.components.cache_store.base import CacheStore, Entry
from simperf.components.cache_store.lfu import LFUStore
from simperf.components.cache_store.ordered import FIFOStore, LRUStore
from simperf.components.cache_store.random_store import RandomStore

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
