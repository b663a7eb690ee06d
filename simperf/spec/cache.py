"""Cache specs: the cache component, object sizes, and the ``read`` and ``write`` steps.

A cache holds keys of one key space (``keyspace:``); requests carry a key drawn from their
class's key space. Endpoint steps use it:

* ``{read: {cache: NAME, backing: TARGET, mode: cache_aside}}`` -- look the key up; on a
  miss the backing read runs, then the value is stored (``read_through``: the cache
  loads it itself, saving the application's second round trip).
* ``{write: {cache: NAME, backing: TARGET}}`` -- a write, handled by the cache's
  ``write_policy``; without ``cache`` the write goes to the backing store alone (another
  service updating the database behind the cache's back).

``TARGET`` is ``component.endpoint`` (a call) or ``{delay: DIST}`` (a stand-in for a
database query). Cross-references (caches, key spaces, targets) are checked by
:func:`simperf.spec.cache_checks.cache_problems`, called from the scenario's validator.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal

from pydantic import Field, model_validator

from simperf.spec.base import (
    CALL_TARGET,
    IDENTIFIER,
    MAX_COUNT,
    MAX_SIZE,
    MAX_TIME,
    Count,
    Size,
    SpecModel,
    Time,
    tagged_union,
)
from simperf.spec.cost import CostSpec
from simperf.spec.distributions import Constant, Distribution
from simperf.spec.keyspace import MAX_KEYS
from simperf.spec.kind import BACKING, WRITE, ComponentKind, Forward, StepKind
from simperf.spec.sizes import SizeDistribution

if TYPE_CHECKING:
    from simperf.spec.scenario import Scenario

EvictionPolicy = Literal["lru", "lfu", "fifo", "random"]
WritePolicy = Literal["write_through", "write_back", "write_around"]


# -- the component ---------------------------------------------------------------------


def zero_ttl(ttl: Distribution | None) -> str | None:
    """Why ``ttl`` cannot be a time to live (None: it can): one that always draws 0.

    Such an entry expires as it is stored, so every lookup misses: almost surely a
    mistake for ``null`` (no expiry) or a missing unit.

    Examples
    --------
    >>> zero_ttl(Constant(value=0.0)) is not None, zero_ttl(Constant(value=1.0))
    (True, None)
    """
    if ttl is not None and ttl.mean == 0:
        return (
            "ttl: a ttl of 0 expires every entry as it is stored (every lookup would miss); "
            "expected > 0, or null for entries that never expire"
        )
    return None


class CacheSpec(ComponentKind):
    """A key-value cache (Redis- or Memcached-like) on ``nodes`` nodes.

    Each node stores up to ``capacity`` items (and ``capacity_bytes``), evicting by
    ``eviction``; entries may also expire after ``ttl``. A node executes one command per
    core at a time (Redis: ``cores: 1``), each holding a core for a ``latency`` draw after
    a ``network`` round trip, so a hot node queues. Keys are spread over the nodes by a
    hash of the key (``sharding``); with ``sharding: ring`` a node that is down hands its
    keys to the next node up on the ring, and ``on_down`` applies only when all are down.
    """

    fault_kinds: ClassVar[frozenset[str]] = frozenset({"crash"})

    kind: Literal["cache"] = Field("cache", description="component kind")
    keyspace: str = Field(
        pattern=IDENTIFIER, max_length=64, description="name of the key space whose keys it holds"
    )
    capacity: Count | None = Field(
        ge=1,
        le=MAX_KEYS,
        description="items per node (like one Redis instance's maxmemory); null: no item limit",
    )
    capacity_bytes: Size | None = Field(
        None, gt=0, le=MAX_SIZE, description="bytes per node (needs object_size); null: no limit"
    )
    object_size: SizeDistribution | None = Field(
        None, description="size of each key's object, drawn once per key (bytes)"
    )
    eviction: EvictionPolicy = Field(
        "lru",
        description=(
            "victim when full: lru, lfu (counts kept for every key seen; a new key is "
            "admitted only if requested at least as often as the least popular cached key), "
            "fifo or random"
        ),
    )
    ttl: Distribution | None = Field(
        None, description="time to live of an entry from its set, drawn per set; null: none"
    )
    ttl_refresh: bool = Field(
        False,
        description="restart the TTL on every hit (Redis GETEX); default: it runs from the set",
    )
    latency: Distribution = Field(
        default_factory=lambda: Constant(value=10e-6),
        description="time one command holds a core of the node (service time)",
    )
    network: Distribution = Field(
        default_factory=lambda: Constant(value=0.0),
        description="round trip between caller and node per command, holding no core",
    )
    cores: int = Field(1, ge=1, le=1024, description="commands a node executes at once (Redis: 1)")
    nodes: int = Field(1, ge=1, le=MAX_COUNT, description="nodes; keys are hashed across them")
    sharding: Literal["modulo", "ring"] = Field(
        "modulo",
        description=(
            "how keys map to nodes: modulo (a hash scaled to the node count), or ring "
            "(consistent hashing: a down node's keys move to the next node up on the ring)"
        ),
    )
    virtual_nodes: int = Field(
        160, ge=1, le=4096, description="ring: points per node on the ring (more: evener shares)"
    )
    cost: CostSpec | None = Field(
        None, description="price per instance and per core per hour (cost.total_per_hour)"
    )
    write_policy: WritePolicy = Field(
        "write_around",
        description=(
            "write_through: store written, then cache set, both in the request path; "
            "write_back: cache set (dirty), store written later by the flusher; "
            "write_around: store written, then the cache key deleted"
        ),
    )
    flush_interval: Time = Field(
        1.0,
        gt=0,
        le=MAX_TIME,
        description="write_back: how often dirty keys are handed to the flusher",
    )
    flush_concurrency: int = Field(
        4, ge=1, le=MAX_COUNT, description="write_back: store writes the flusher runs at once"
    )
    coalesce: bool = Field(
        False,
        description=(
            "single flight: concurrent misses on one key share one backing read "
            "(the others wait for it); default: each miss reads the store"
        ),
    )
    on_down: Literal["fall_through", "fail"] = Field(
        "fall_through",
        description="while a node is down: go straight to the store, or fail as cache_down",
    )

    @model_validator(mode="after")
    def _consistent(self) -> CacheSpec:
        if self.capacity_bytes is not None and self.object_size is None:
            raise ValueError("object_size: required with capacity_bytes (how big is an object?)")
        if self.ttl_refresh and self.ttl is None:
            raise ValueError("ttl_refresh: needs a ttl")
        if (problem := zero_ttl(self.ttl)) is not None:
            raise ValueError(problem)
        return self

    @property
    def priced_groups(self) -> list[tuple[int, int, str | None]]:
        """Its nodes (no instance types)."""
        return [(self.nodes, self.cores, None)]

    @property
    def instance_count(self) -> int:
        """Its nodes."""
        return self.nodes

    def problems(self, scenario: Scenario, name: str) -> list[str]:
        """Its problems, each as ``components.<name>...: message``: its key space is defined."""
        keyspaces = scenario.keyspaces
        if self.keyspace in keyspaces:
            return []
        known = ", ".join(sorted(keyspaces)) or "none defined under keyspaces"
        return [f"components.{name}.keyspace: unknown key space {self.keyspace!r} (known: {known})"]


# -- steps -----------------------------------------------------------------------------


class BackingDelay(SpecModel):
    """A wait standing in for the backing store's operation (a database query)."""

    delay: Distribution = Field(description="time the store takes")


def _backing_tag(value: Any) -> str | None:
    if isinstance(value, str):
        return "call"
    if isinstance(value, dict | BackingDelay):
        return "delay"
    return None


Backing = tagged_union(
    {"call": Annotated[str, Field(pattern=CALL_TARGET)], "delay": BackingDelay},
    _backing_tag,
    "backing",
    "expected component.endpoint or {delay: DIST}",
)
"""The backing store's operation: a call ``component.endpoint`` or ``{delay: DIST}``."""


class ReadSpec(SpecModel):
    """A read of the request's key through a cache."""

    cache: str = Field(pattern=IDENTIFIER, max_length=64, description="name of the cache")
    backing: Backing = Field(description="the store's read on a miss")
    mode: Literal["cache_aside", "read_through"] = Field(
        "cache_aside",
        description=(
            "cache_aside: get, on a miss the caller reads the store and sets the key "
            "(two cache round trips); read_through: the cache loads the key itself (one)"
        ),
    )


class ReadStep(StepKind):
    """Read the request's key through a cache (``{read: {cache, backing, mode}}``)."""

    keyed: ClassVar[bool] = True
    read: ReadSpec = Field(description="the read")

    def forwards(self) -> list[Forward]:
        """The backing read (made on a miss of the cache), unless it is a delay."""
        return _backing_forwards(self.read.backing, BACKING, self.read.cache)

    def problems(self, scenario: Scenario, path: str) -> list[str]:
        """Its cache exists and is a cache."""
        return cache_reference_problems(scenario, self.read.cache, f"{path}.read.cache")


class WriteSpec(SpecModel):
    """A write of the request's key, handled by the cache's ``write_policy``."""

    cache: str | None = Field(
        None,
        pattern=IDENTIFIER,
        max_length=64,
        description="name of the cache; omit for a write to the store alone",
    )
    backing: Backing | None = Field(None, description="the store's write")


class WriteStep(StepKind):
    """Write the request's key (``{write: {cache, backing}}``)."""

    keyed: ClassVar[bool] = True
    write: WriteSpec = Field(description="the write")

    def forwards(self) -> list[Forward]:
        """The backing write, unless it is a delay."""
        return _backing_forwards(self.write.backing, WRITE, self.write.cache)

    def problems(self, scenario: Scenario, path: str) -> list[str]:
        """It writes somewhere: to a cache that exists, with the backing store its write
        policy needs, or to a backing store alone (that every write to one write_back
        cache uses the same store is checked across steps, in
        :func:`simperf.spec.cache_checks.cache_problems`)."""
        write, path = self.write, f"{path}.write"
        if write.cache is None:
            if write.backing is None:
                return [f"{path}: give a cache, a backing store or both (it writes nowhere)"]
            return []
        problems = cache_reference_problems(scenario, write.cache, f"{path}.cache")
        if problems or write.backing is not None:
            return problems
        policy = scenario.components[write.cache].write_policy
        if policy == "write_back":
            return [
                f"{path}.backing: cache {write.cache!r} is write_back and needs a backing "
                "store to flush dirty keys to"
            ]
        return [
            f"{path}.backing: cache {write.cache!r} is {policy} and needs the "
            "backing store it writes to"
        ]


__all__ = [
    "Backing",
    "BackingDelay",
    "CacheSpec",
    "ReadSpec",
    "ReadStep",
    "WriteSpec",
    "WriteStep",
    "zero_ttl",
]


def _backing_forwards(backing: Any, via: str, cache: str | None) -> list[Forward]:
    """The call to a backing store ``component.endpoint`` (none for a delay or no store)."""
    if not isinstance(backing, str):
        return []
    component, endpoint = backing.split(".")
    return [Forward(component, endpoint, via, cache=cache)]


def cache_reference_problems(scenario: Scenario, cache: str, path: str) -> list[str]:
    """``path: message`` if ``cache`` names no component, or one that is not a cache."""
    spec = scenario.components.get(cache)
    if spec is None:
        caches = sorted(n for n, s in scenario.components.items() if isinstance(s, CacheSpec))
        return [f"{path}: unknown cache {cache!r} (caches: {', '.join(caches) or 'none'})"]
    if not isinstance(spec, CacheSpec):
        return [f"{path}: {cache!r} is not a cache (its kind is {spec.kind})"]
    return []
