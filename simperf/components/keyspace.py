"""Runtime state of a key space: which version of each key the application last wrote
and which version the backing store holds, to judge whether a read is stale.

Versions are numbered per key space in commit order. A key that was never written has
version 0 everywhere. ``latest`` is the version the application last had acknowledged
(by the store, or by a write-back cache); ``durable`` is the version the backing store
holds. They differ only under write-back, between a write and its flush.
"""

from __future__ import annotations

from simperf.spec.keyspace import KeyspaceSpec


class KeyspaceState:
    """Version tables of one key space, shared by every cache and class that uses it.

    Attributes
    ----------
    latest
        key -> the newest acknowledged version (absent: 0).
    durable
        key -> the version in the backing store (absent: 0).
    """

    __slots__ = ("_version", "durable", "latest", "name", "spec")

    def __init__(self, name: str, spec: KeyspaceSpec) -> None:
        self.name = name
        self.spec = spec
        self.latest: dict[int, int] = {}
        self.durable: dict[int, int] = {}
        self._version = 0

    def commit(self, key: int) -> int:
        """A write reached the backing store: a new version, latest and durable at once."""
        self._version += 1
        version = self._version
        self.latest[key] = version
        self.durable[key] = version
        return version

    def write_back(self, key: int) -> int:
        """A write was acknowledged by a write-back cache: a new latest version only."""
        self._version += 1
        version = self._version
        self.latest[key] = version
        return version

    def flushed(self, key: int, version: int) -> None:
        """A flushed write reached the store (flushes may finish out of order)."""
        if version > self.durable.get(key, 0):
            self.durable[key] = version
        if version > self.latest.get(key, 0):
            self.latest[key] = version

    def lost(self, key: int, version: int) -> None:
        """A write-back write was lost: unless overwritten since, the store's copy is the
        latest again (readers are then not stale; the loss is counted as a lost write)."""
        if self.latest.get(key) == version:
            self.latest[key] = self.durable.get(key, 0)
