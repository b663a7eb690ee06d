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
:func:`cache_problems`, called from the scenario's validator.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Annotated, Any, Literal

import numpy as np
from pydantic import AfterValidator, Discriminator, Field, Tag, model_validator

from simperf.spec.base import CALL_TARGET, IDENTIFIER, MAX_COUNT, MAX_TIME, Bytes, SpecModel, Time
from simperf.spec.distributions import Constant, Distribution
from simperf.spec.keyspace import MAX_KEYS

if TYPE_CHECKING:  # pragma: no cover
    from simperf.spec.scenario import Scenario

MAX_BYTES = 1e15
"""Upper bound on sizes and byte capacities (a petabyte)."""
_Z99 = 2.3263478740408408  # standard normal 0.99 quantile

EvictionPolicy = Literal["lru", "lfu", "fifo", "random"]
WritePolicy = Literal["write_through", "write_back", "write_around"]


# -- object sizes ----------------------------------------------------------------------


class ConstantSize(SpecModel):
    """Every object has the same size."""

    dist: Literal["constant"] = Field("constant", description="distribution family")
    value: Bytes = Field(gt=0, le=MAX_BYTES, description="size (bytes)")

    @property
    def mean(self) -> float:
        return self.value

    def sample_batch(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return np.full(n, self.value)


class UniformSize(SpecModel):
    """Sizes uniform between ``low`` and ``high``."""

    dist: Literal["uniform"] = Field("uniform", description="distribution family")
    low: Bytes = Field(gt=0, le=MAX_BYTES, description="smallest size (bytes)")
    high: Bytes = Field(gt=0, le=MAX_BYTES, description="largest size (bytes)")

    @model_validator(mode="after")
    def _ordered(self) -> UniformSize:
        if self.high < self.low:
            raise ValueError("high: must be >= low")
        return self

    @property
    def mean(self) -> float:
        return (self.low + self.high) / 2

    def sample_batch(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.uniform(self.low, self.high, n)


class LognormalSize(SpecModel):
    """Lognormal sizes given by their ``median`` and ``p99`` (object sizes are long-tailed)."""

    dist: Literal["lognormal"] = Field("lognormal", description="distribution family")
    median: Bytes = Field(gt=0, le=MAX_BYTES, description="median size (bytes)")
    p99: Bytes = Field(gt=0, le=MAX_BYTES, description="99th percentile (bytes)")

    @model_validator(mode="after")
    def _ordered(self) -> LognormalSize:
        if self.p99 <= self.median:
            raise ValueError("p99: must be greater than median")
        return self

    @property
    def mean(self) -> float:
        sigma = math.log(self.p99 / self.median) / _Z99
        return self.median * math.exp(sigma**2 / 2)

    def sample_batch(self, rng: np.random.Generator, n: int) -> np.ndarray:
        sigma = math.log(self.p99 / self.median) / _Z99
        return rng.lognormal(math.log(self.median), sigma, n)


def _size_tag(value: Any) -> str | None:
    if isinstance(value, dict):
        return value.get("dist")
    if isinstance(value, ConstantSize | UniformSize | LognormalSize):
        return value.dist
    if isinstance(value, int | float | str) and not isinstance(value, bool):
        return "scalar"
    return None


def _scalar_size(value: float) -> ConstantSize:
    return ConstantSize(value=value)


ObjectSize = Annotated[
    Annotated[ConstantSize, Tag("constant")]
    | Annotated[UniformSize, Tag("uniform")]
    | Annotated[LognormalSize, Tag("lognormal")]
    | Annotated[
        Annotated[Bytes, Field(gt=0, le=MAX_BYTES)], AfterValidator(_scalar_size), Tag("scalar")
    ],
    Discriminator(
        _size_tag,
        custom_error_type="object_size",
        custom_error_message=(
            "expected a size (4KB) or {dist: constant|uniform|lognormal, ...} in bytes"
        ),
    ),
]
"""An object-size distribution in bytes; a bare size is a constant."""

SIZE_TAGS = frozenset({"constant", "uniform", "lognormal", "scalar"})


# -- the component ---------------------------------------------------------------------


class CacheSpec(SpecModel):
    """A key-value cache (Redis- or Memcached-like) on ``nodes`` nodes.

    Each node stores up to ``capacity`` items (and ``capacity_bytes``), evicting by
    ``eviction``; entries may also expire after ``ttl``. A node executes one command per
    core at a time (Redis: ``cores: 1``), each holding a core for a ``latency`` draw after
    a ``network`` round trip, so a hot node queues. Keys are spread over the nodes by a
    hash of the key.
    """

    kind: Literal["cache"] = Field("cache", description="component kind")
    keyspace: str = Field(
        pattern=IDENTIFIER, max_length=64, description="name of the key space whose keys it holds"
    )
    capacity: int | None = Field(
        ge=1,
        le=MAX_KEYS,
        description="items per node (like one Redis instance's maxmemory); null: no item limit",
    )
    capacity_bytes: Bytes | None = Field(
        None, gt=0, le=MAX_BYTES, description="bytes per node (needs object_size); null: no limit"
    )
    object_size: ObjectSize | None = Field(
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
        return self


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


Backing = Annotated[
    Annotated[Annotated[str, Field(pattern=CALL_TARGET)], Tag("call")]
    | Annotated[BackingDelay, Tag("delay")],
    Discriminator(
        _backing_tag,
        custom_error_type="backing",
        custom_error_message="expected component.endpoint or {delay: DIST}",
    ),
]
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


class ReadStep(SpecModel):
    """Read the request's key through a cache (``{read: {cache, backing, mode}}``)."""

    read: ReadSpec = Field(description="the read")

    def calls(self) -> list[str]:
        """Targets this step calls (for cross-checks and cycle detection)."""
        return [self.read.backing] if isinstance(self.read.backing, str) else []


class WriteSpec(SpecModel):
    """A write of the request's key, handled by the cache's ``write_policy``."""

    cache: str | None = Field(
        None,
        pattern=IDENTIFIER,
        max_length=64,
        description="name of the cache; omit for a write to the store alone",
    )
    backing: Backing | None = Field(None, description="the store's write")


class WriteStep(SpecModel):
    """Write the request's key (``{write: {cache, backing}}``)."""

    write: WriteSpec = Field(description="the write")

    def calls(self) -> list[str]:
        """Targets this step calls (for cross-checks and cycle detection)."""
        return [self.write.backing] if isinstance(self.write.backing, str) else []


# -- cross-references --------------------------------------------------------------------


def cache_problems(scenario: Scenario) -> list[str]:
    """Every problem with key spaces, caches, read/write steps and the classes using them.

    Each is ``path: message``. Checked: key space names and references; each step's
    cache exists and is a cache; writes have somewhere to go (a write_back cache a
    backing store to flush to, the same for all its writes); every class that reaches a
    cache step draws keys from that cache's key space.
    """
    from simperf.spec.app_server import AppServerSpec

    problems: list[str] = []
    components = scenario.components
    keyspaces = scenario.keyspaces
    known_keyspaces = ", ".join(sorted(keyspaces)) or "none defined under keyspaces"
    for name in keyspaces:
        if not _is_identifier(name):
            problems.append(f"keyspaces.{name}: names may use only letters, digits and _")
    for name, spec in components.items():
        if isinstance(spec, CacheSpec) and spec.keyspace not in keyspaces:
            problems.append(
                f"components.{name}.keyspace: unknown key space {spec.keyspace!r} "
                f"(known: {known_keyspaces})"
            )
    problems += _check_trace_arrival(scenario)
    for i, request_class in enumerate(scenario.workload.classes):
        if request_class.keyspace is not None and request_class.keyspace not in keyspaces:
            problems.append(
                f"workload.classes[{i}].keyspace: unknown key space "
                f"{request_class.keyspace!r} (known: {known_keyspaces})"
            )
    flush_targets: dict[str, tuple[str, Any]] = {}
    for name, spec in components.items():
        if not isinstance(spec, AppServerSpec):
            continue
        for endpoint, steps in spec.endpoints.items():
            for index, step in enumerate(steps):
                path = f"components.{name}.endpoints.{endpoint}[{index}]"
                if isinstance(step, ReadStep):
                    problems += _check_cache(scenario, step.read.cache, f"{path}.read.cache")
                elif isinstance(step, WriteStep):
                    problems += _check_write(scenario, step.write, f"{path}.write", flush_targets)
    if not problems:
        problems += _check_class_keys(scenario)
    return problems


def _check_trace_arrival(scenario: Scenario) -> list[str]:
    from simperf.spec.keyspace import TracePopularity

    arrival = scenario.workload.arrival
    if getattr(arrival, "kind", None) != "trace":
        return []
    path = "workload.arrival.keyspace"
    name = arrival.keyspace  # type: ignore[union-attr]
    spec = scenario.keyspaces.get(name)
    if spec is None:
        known = ", ".join(sorted(scenario.keyspaces)) or "none defined under keyspaces"
        return [f"{path}: unknown key space {name!r} (known: {known})"]
    pop = spec.popularity
    if not isinstance(pop, TracePopularity) or pop.time_column is None:
        return [
            f"{path}: key space {name!r} has no timestamps to drive arrivals (it needs "
            "popularity {model: trace, path: ..., time_column: ...})"
        ]
    return []


def _check_cache(scenario: Scenario, cache: str, path: str) -> list[str]:
    spec = scenario.components.get(cache)
    if spec is None:
        caches = sorted(n for n, s in scenario.components.items() if isinstance(s, CacheSpec))
        return [f"{path}: unknown cache {cache!r} (caches: {', '.join(caches) or 'none'})"]
    if not isinstance(spec, CacheSpec):
        return [f"{path}: {cache!r} is not a cache (its kind is {spec.kind})"]
    return []


def _check_write(
    scenario: Scenario, write: WriteSpec, path: str, flush_targets: dict[str, tuple[str, Any]]
) -> list[str]:
    if write.cache is None:
        if write.backing is None:
            return [f"{path}: give a cache, a backing store or both (it writes nowhere)"]
        return []
    problems = _check_cache(scenario, write.cache, f"{path}.cache")
    if problems:
        return problems
    spec = scenario.components[write.cache]
    assert isinstance(spec, CacheSpec)
    if write.backing is None:
        if spec.write_policy == "write_back":
            return [
                f"{path}.backing: cache {write.cache!r} is write_back and needs a backing "
                "store to flush dirty keys to"
            ]
        return [
            f"{path}.backing: cache {write.cache!r} is {spec.write_policy} and needs the "
            "backing store it writes to"
        ]
    if spec.write_policy == "write_back":
        first = flush_targets.setdefault(write.cache, (path, write.backing))
        if first[1] != write.backing:
            return [
                f"{path}.backing: every write to the write_back cache {write.cache!r} must "
                f"use the backing store its flusher writes to, as {first[0]} does"
            ]
    return []


def _check_class_keys(scenario: Scenario) -> list[str]:
    """Each class reaching a cache or write step has the right key space."""
    problems = []
    for i, request_class in enumerate(scenario.workload.classes):
        path = f"workload.classes[{i}].keyspace"
        for step_path, step in _reachable_key_steps(
            scenario, request_class.entry, request_class.endpoint
        ):
            cache = step.read.cache if isinstance(step, ReadStep) else step.write.cache
            wanted = None
            if cache is not None:
                spec = scenario.components[cache]
                assert isinstance(spec, CacheSpec)
                wanted = spec.keyspace
            if request_class.keyspace is None:
                problems.append(
                    f"{path}: class {request_class.name!r} reaches {step_path}, which needs a "
                    f"key, but has no keyspace"
                    + (f" (the cache {cache!r} holds {wanted!r})" if wanted else "")
                )
                break
            if wanted is not None and request_class.keyspace != wanted:
                problems.append(
                    f"{path}: class {request_class.name!r} draws keys from "
                    f"{request_class.keyspace!r} but reaches {step_path}, whose cache "
                    f"{cache!r} holds {wanted!r}"
                )
                break
    return problems


def _reachable_key_steps(
    scenario: Scenario, component: str, endpoint: str
) -> list[tuple[str, ReadStep | WriteStep]]:
    """Read and write steps reachable from one endpoint (through calls and balancers)."""
    from simperf.spec.app_server import AppServerSpec
    from simperf.spec.load_balancer import LoadBalancerSpec

    found: list[tuple[str, ReadStep | WriteStep]] = []
    seen: set[tuple[str, str]] = set()
    pending = [(component, endpoint)]
    while pending:
        name, ep = pending.pop()
        if (name, ep) in seen or name not in scenario.components:
            continue
        seen.add((name, ep))
        spec = scenario.components[name]
        if isinstance(spec, LoadBalancerSpec):
            pending += [(backend, ep) for backend in spec.backends]
            continue
        if not isinstance(spec, AppServerSpec) or ep not in spec.endpoints:
            continue
        for index, step in enumerate(spec.endpoints[ep]):
            if isinstance(step, ReadStep | WriteStep):
                found.append((f"components.{name}.endpoints.{ep}[{index}]", step))
            for target in step.calls():
                pending.append(tuple(target.split(".")))  # type: ignore[arg-type]
    return found


def _is_identifier(name: str) -> bool:
    import re

    return re.match(IDENTIFIER, name) is not None


__all__ = [
    "Backing",
    "BackingDelay",
    "CacheSpec",
    "ConstantSize",
    "LognormalSize",
    "ObjectSize",
    "ReadSpec",
    "ReadStep",
    "UniformSize",
    "WriteSpec",
    "WriteStep",
    "cache_problems",
]
