"""CDN spec: an edge cache per region, an optional shield tier, and the origin behind them.

A request class enters the CDN (``entry: cdn``, ``endpoint: E``); the client's region
(``workload.clients.regions``) selects the edge, which pays its ``latency`` to the client
there and back. Classes listed in ``cacheable`` look their key up in the edge's cache; on
a miss the edge asks the ``shield`` (if any), which asks the origin on its own miss, and
each tier stores what it fetched. Other classes pass through the edge straight to the
origin. The origin is called as ``origin.E``; trips between the edges, the shield and the
origin pay the network's latency matrix. Bytes are the classes' ``response_size``
(drawn once per key for cacheable classes: an object keeps its size).

Cross-references (regions, classes, key spaces, the origin) are checked by
:meth:`CdnSpec.problems`, called by the topology walker from the scenario's validator.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, ClassVar, Literal

from pydantic import Field, model_validator

from simperf.spec.base import IDENTIFIER, MAX_SIZE, MAX_TIME, Count, Size, SpecModel, Time
from simperf.spec.cache import EvictionPolicy, zero_ttl
from simperf.spec.distributions import Distribution
from simperf.spec.keyspace import MAX_KEYS
from simperf.spec.kind import ORIGIN, ComponentKind, Forward

if TYPE_CHECKING:  # pragma: no cover
    from simperf.spec.scenario import Scenario

Name = Annotated[str, Field(pattern=IDENTIFIER, max_length=64)]


class EdgeSpec(SpecModel):
    """One edge location: what it costs a client of its region to reach it."""

    latency: Time = Field(
        0.0, ge=0, le=MAX_TIME, description="one-way latency client -> edge (paid both ways)"
    )


class ShieldSpec(SpecModel):
    """A mid-tier cache between the edges and the origin (an origin shield)."""

    region: Name = Field(description="region of the shield (a region of network)")
    capacity: Count | None = Field(
        ge=1, le=MAX_KEYS, description="items it holds; null: no item limit"
    )
    capacity_bytes: Size | None = Field(
        None, gt=0, le=MAX_SIZE, description="bytes it holds; null: no byte limit"
    )
    eviction: EvictionPolicy = Field("lru", description="victim when full: lru, lfu, fifo, random")
    ttl: Distribution | None = Field(
        None, description="time to live of an entry from its set; null: the CDN's ttl"
    )

    @model_validator(mode="after")
    def _live_entries(self) -> ShieldSpec:
        if (problem := zero_ttl(self.ttl)) is not None:
            raise ValueError(problem)
        return self


class CdnSpec(ComponentKind):
    """A content delivery network in front of an origin component.

    Each edge (one per region in ``edges``) holds up to ``capacity`` items and
    ``capacity_bytes`` bytes, evicting by ``eviction``; entries expire ``ttl`` after they
    were stored. Edges do not queue (their capacity to serve is taken as ample).
    """

    fault_kinds: ClassVar[frozenset[str]] = frozenset({"crash"})

    kind: Literal["cdn"] = Field("cdn", description="component kind")
    origin: Name = Field(description="component behind the CDN; class endpoints are called on it")
    keyspace: Name = Field(description="key space of the cacheable objects")
    cacheable: list[Name] = Field(
        default_factory=list,
        max_length=1000,
        description="request classes served from the caches; the others pass through",
    )
    edges: dict[Name, EdgeSpec] = Field(
        default_factory=dict, max_length=1000, description="region -> edge location"
    )
    capacity: Count | None = Field(
        ge=1, le=MAX_KEYS, description="items per edge; null: no item limit"
    )
    capacity_bytes: Size | None = Field(
        None, gt=0, le=MAX_SIZE, description="bytes per edge (response sizes); null: no limit"
    )
    eviction: EvictionPolicy = Field("lru", description="victim when full: lru, lfu, fifo, random")
    ttl: Distribution | None = Field(
        None, description="time to live of an edge entry from its set, drawn per set; null: none"
    )
    shield: ShieldSpec | None = Field(
        None, description="shield tier the edges miss to (default: edges miss to the origin)"
    )

    @model_validator(mode="after")
    def _live_entries(self) -> CdnSpec:
        if (problem := zero_ttl(self.ttl)) is not None:
            raise ValueError(problem)
        return self

    @property
    def fault_instances(self) -> int:
        """Its edges, in the order of ``edges``."""
        return len(self.edges)

    @property
    def server_count(self) -> int:
        """Its edges and its shield."""
        return len(self.edges) + (self.shield is not None)

    def endpoint_names(self, scenario: Scenario, seen: frozenset[str] = frozenset()) -> set[str]:
        """Its origin's endpoints (clients' endpoints are called on the origin)."""
        origin = scenario.components.get(self.origin)
        if origin is None or origin.kind == "cdn" or self.origin in seen:
            return set()
        return origin.endpoint_names(scenario, seen | {self.origin})

    def forwards(self, scenario: Scenario, endpoint: str) -> list[Forward]:
        """The origin's endpoint (on misses of the edges and the shield)."""
        return [Forward(self.origin, endpoint, ORIGIN, path="origin")]

    def location(self, regions: list[str]) -> int | None:
        """None: an edge in every client region serves clients where they are."""
        return None

    def problems(self, scenario: Scenario, name: str) -> list[str]:
        """Its problems, each as ``components.<name>...: message``.

        Checked: a network section and known regions for edges and the shield; at least
        one edge (a shield needs edges in front of it); an edge for every client region;
        the origin exists and is no CDN; cacheable classes exist, enter this CDN and draw
        keys from its key space; byte capacities have sizes to count; nothing but clients
        calls a CDN.
        """
        problems: list[str] = []
        spec = self
        components = scenario.components
        network = scenario.network
        regions = network.regions if network is not None else []
        clients = scenario.workload.clients
        client_regions = (
            list(clients.regions) if clients is not None and clients.regions is not None else []
        ) or regions[:1]
        classes = {c.name: c for c in scenario.workload.classes}
        path = f"components.{name}"
        if network is None:
            problems.append(f"{path}: a CDN needs a network section listing the regions")
        for region in spec.edges:
            if network is not None and region not in regions:
                problems.append(
                    f"{path}.edges.{region}: unknown region {region!r} "
                    f"(regions: {', '.join(regions)})"
                )
        if not spec.edges:
            if spec.shield is not None:
                problems.append(f"{path}.shield: a shield needs edges in front of it (edges: none)")
            else:
                problems.append(f"{path}.edges: expected at least one region with an edge")
        elif network is not None:
            for region in client_regions:
                if region in regions and region not in spec.edges:
                    problems.append(
                        f"{path}.edges: no edge in region {region!r}, where clients come from "
                        f"(edges: {', '.join(spec.edges)})"
                    )
        if spec.shield is not None and network is not None and spec.shield.region not in regions:
            problems.append(
                f"{path}.shield.region: unknown region {spec.shield.region!r} "
                f"(regions: {', '.join(regions)})"
            )
        origin = components.get(spec.origin)
        if origin is None:
            problems.append(
                f"{path}.origin: unknown component {spec.origin!r} "
                f"(known: {', '.join(sorted(components))})"
            )
        elif isinstance(origin, CdnSpec):
            problems.append(f"{path}.origin: {spec.origin!r} is a CDN (expected its origin)")
        if spec.keyspace not in scenario.keyspaces:
            known = ", ".join(sorted(scenario.keyspaces)) or "none defined under keyspaces"
            problems.append(
                f"{path}.keyspace: unknown key space {spec.keyspace!r} (known: {known})"
            )
        for i, class_name in enumerate(spec.cacheable):
            cpath = f"{path}.cacheable[{i}]"
            klass = classes.get(class_name)
            if klass is None:
                problems.append(
                    f"{cpath}: unknown request class {class_name!r} (classes: {', '.join(classes)})"
                )
            elif klass.entry != name:
                problems.append(
                    f"{cpath}: class {class_name!r} enters {klass.entry!r}, not this CDN"
                )
            elif klass.keyspace != spec.keyspace:
                draws = (
                    "has no keyspace"
                    if klass.keyspace is None
                    else (f"draws keys from {klass.keyspace!r}")
                )
                problems.append(
                    f"{cpath}: class {class_name!r} {draws}, expected the CDN's key space "
                    f"{spec.keyspace!r}"
                )
            elif klass.response_size is None and (
                spec.capacity_bytes is not None
                or (spec.shield is not None and spec.shield.capacity_bytes is not None)
            ):
                problems.append(
                    f"{cpath}: class {class_name!r} needs a response_size, since the CDN "
                    "limits bytes"
                )
        for caller, caller_spec in components.items():
            for endpoint in sorted(caller_spec.endpoint_names(scenario)):
                if any(
                    f.component == name and f.via in self.checked_calls
                    for f in caller_spec.forwards(scenario, endpoint)
                ):
                    problems.append(
                        f"components.{caller}.endpoints.{endpoint}: calls the CDN {name!r}; "
                        "expected a call to its origin (only clients enter a CDN)"
                    )
        return problems
