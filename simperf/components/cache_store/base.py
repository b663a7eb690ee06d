"""The entry and the store every eviction policy shares (get, set, TTL, dirty entries)."""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterator
from dataclasses import dataclass

import numpy as np

_INF = math.inf


@dataclass(slots=True, eq=False)  # eq=False: entries compare by identity
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

    key: Hashable
    size: float = 1
    expires_at: float = _INF
    version: int = 0
    dirty: bool = False
    stored_at: float = 0.0


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
        self._on_clear()  # the policy's own structures start as a cleared store's

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
        """Set the policy's structures up empty (at creation and on :meth:`clear`)."""

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
