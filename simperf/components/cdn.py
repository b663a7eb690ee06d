"""The CDN at run time: an edge cache per region, an optional shield, the origin behind.

A request enters at the edge of its client's region, paying the edge's ``latency`` there
and back. A cacheable request looks its key up in the edge's
:class:`~simperf.components.cache_store.CacheStore`; on a miss the edge fetches the
object from the shield (a trip over the network's latency matrix), which fetches it from
the origin on its own miss, or straight from the origin without a shield, and every tier
stores what it fetched when the response reaches it. Other requests pass through the
edge to the origin. Calls to the origin go through
:meth:`~simperf.components.network.Network.connect`, so they pay the latency matrix (and
jitter) from the calling tier's region like any call between components.

An edge on the fault timeline (``faults`` ``instance`` i: the i-th edge of ``edges``)
leaves the route table while down: its region's clients go around it, over the latency
matrix from their region, to the shield (or, without one, to the origin), which is what
a CDN's DNS steering does. Those requests are the edge's ``bypassed`` ones; the origin
sees the ones the shield misses. The edge comes back empty.

Every request's bytes (its class's ``response_size``; for cacheable classes one draw per
key) are counted where they were served, and :meth:`Cdn.report` adds the
``cdns.<name>`` section: per edge and in all, hit rates and the origin offload, the
fraction of requests and of bytes the origin never saw.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from simperf.components.base import Component, Context, Process, Request, RequestFailed
from simperf.components.cache_store import make_store
from simperf.errors import BuildError
from simperf.spec.cdn import CdnSpec, ShieldSpec
from simperf.spec.distributions import Distribution

Sampler = Callable[[], float]

COUNTERS = (
    "requests",
    "passthrough",
    "hits",
    "misses",
    "evictions",
    "expirations",
    "rejections",
    "bytes",
    "cacheable_bytes",
    "hit_bytes",
    "origin_requests",
    "origin_bytes",
)
"""Cumulative counters of a tier, differenced between the warm-up and the end."""
LEVELS = ("items", "used_bytes")
"""Levels of a tier, reported as they are at the end of the run."""


class Tier:
    """One cache location of the CDN (an edge or the shield): a store and its counters.

    ``requests`` counts every request the tier handled (for the shield: the edges'
    misses), ``passthrough`` those that were not cacheable; ``origin_requests`` and
    ``origin_bytes`` what the origin served on the tier's behalf (for an edge: its
    clients' requests that reached the origin, through the shield or not). An edge
    counts a request (and its bytes) once it is known whether the origin sees it: on
    arrival, or for a miss sent to the shield, at the shield's lookup, with its origin
    request; so in every window an edge's origin requests are among its requests.
    """

    __slots__ = (
        "bytes",
        "cacheable_bytes",
        "hit_bytes",
        "latency",
        "name",
        "origin_bytes",
        "origin_requests",
        "passthrough",
        "region",
        "requests",
        "store",
        "ttl",
    )

    def __init__(
        self,
        ctx: Context,
        cdn: str,
        name: str,
        region: int,
        settings: CdnSpec | ShieldSpec,
        latency: float = 0.0,
        ttl: Distribution | None = None,
    ) -> None:
        """A tier ``name`` of the CDN ``cdn`` in region ``region`` (an index).

        Parameters
        ----------
        ctx
            The run context (its streams are named after ``cdn`` and ``name``).
        cdn, name
            Names of the CDN and of the tier (an edge's region, or ``shield``).
        region
            Index of the tier's region in the network.
        settings
            The spec holding capacity, byte capacity and eviction.
        latency
            One-way latency between the tier and its clients (edges only).
        ttl
            Time to live of the entries it stores (None: they do not expire).
        """
        self.name = name
        self.region = region
        self.latency = latency
        self.store = make_store(
            settings.eviction,
            settings.capacity,
            settings.capacity_bytes,
            rng=ctx.rng(cdn, f"eviction:{name}"),
        )
        self.ttl: Sampler | None = None if ttl is None else ctx.sampler(ttl, cdn, f"ttl:{name}")
        self.requests = self.passthrough = self.origin_requests = 0
        self.bytes = self.cacheable_bytes = self.hit_bytes = self.origin_bytes = 0.0

    def store_response(self, key: int, now: float, size: float) -> None:
        """Keep what the next tier sent back, with a fresh TTL draw."""
        ttl = self.ttl
        self.store.set(key, now, None if ttl is None else ttl(), size)

    def counters(self) -> dict[str, float]:
        """Counters (cumulative) and levels (now), for :meth:`Cdn.snapshot`."""
        store = self.store
        return {
            "requests": self.requests,
            "passthrough": self.passthrough,
            "hits": store.hits,
            "misses": store.misses,
            "evictions": store.evictions,
            "expirations": store.expirations,
            "rejections": store.rejections,
            "bytes": self.bytes,
            "cacheable_bytes": self.cacheable_bytes,
            "hit_bytes": self.hit_bytes,
            "origin_requests": self.origin_requests,
            "origin_bytes": self.origin_bytes,
            "items": len(store),
            "used_bytes": store.used_bytes,
        }


class EdgeRoute:
    """What an edge needs to serve one endpoint: its tier and its calls onward."""

    __slots__ = ("back", "edge", "origin", "origin_route", "shield_origin", "shield_route", "there")

    def __init__(self, cdn: Cdn, edge: Tier, endpoint: str) -> None:
        network = cdn.ctx.network
        self.edge = edge
        self.origin, self.origin_route = _call(network, edge.region, cdn.origin, endpoint)
        self.there = self.back = self.shield_origin = self.shield_route = None
        shield = cdn.shield
        if shield is not None:
            self.there, self.back = network.paths(edge.region, shield.region, payload=False)
            self.shield_origin, self.shield_route = _call(
                network, shield.region, cdn.origin, endpoint
            )


def _call(network: Any, source: int, target: Component, endpoint: str) -> tuple[Any, Any]:
    """(handle function, route) of a call from region ``source`` to ``target.endpoint``."""
    handler, route = network.connect(source, target, endpoint)
    return handler.handle, route


class Cdn(Component):
    """Edges per region and an optional shield in front of an origin component."""

    kind = "cdn"

    def __init__(self, ctx: Context, name: str, spec: CdnSpec) -> None:
        super().__init__(ctx, name)
        self.spec = spec
        network = ctx.network
        if network is None:  # pragma: no cover - checked by the spec
            raise BuildError(f"components.{name}: a CDN needs a network section")
        self.edges = {
            region: Tier(ctx, name, region, network.index[region], spec, edge.latency, spec.ttl)
            for region, edge in spec.edges.items()
        }
        shield = spec.shield
        self.shield = (
            None
            if shield is None
            else Tier(
                ctx,
                name,
                "shield",
                network.index[shield.region],
                shield,
                ttl=shield.ttl if shield.ttl is not None else spec.ttl,
            )
        )
        classes = ctx.scenario.workload.classes
        cacheable = set(spec.cacheable)
        self.cacheable = [c.name in cacheable for c in classes]
        # Cacheable objects keep one size (drawn at their first request); pass-through
        # responses draw one per request. Streams per class: other classes' draws stay put.
        self.sizes: dict[int, float] = {}
        self.draw_size: list[Sampler | None] = [
            None
            if c.response_size is None
            else ctx.sampler(
                c.response_size,
                name,
                f"{'size' if c.name in cacheable else 'passthrough'}:{c.name}",
            )
            for c in classes
        ]
        self.origin: Component | None = None
        self._routes: dict[str, list[EdgeRoute | None]] = {}
        # the fault timeline: per edge (in spec order) the tier its clients use while it
        # is down, a tier that keeps nothing; made only for a CDN a fault names
        self.bypass: dict[str, Tier] = {}
        if any(f.component == name for f in getattr(ctx.scenario, "faults", ())):
            for region in self.edges:
                tier = Tier(ctx, name, f"{region}:bypass", self.edges[region].region, spec)
                tier.store = _NoStore()  # type: ignore[assignment]
                self.bypass[region] = tier
        self._outages = dict.fromkeys(self.edges, 0)

    def wire(self, components: dict[str, Component]) -> None:
        self.origin = components[self.spec.origin]

    def resolve(self, endpoint: str) -> Any:  # pragma: no cover - checked by the spec
        raise BuildError(f"components.{self.name}: a CDN needs a network section")

    def resolve_from(self, endpoint: str, source: int | None) -> list[EdgeRoute | None]:
        """Per client region, the edge serving it and its calls onward for ``endpoint``."""
        routes = self._routes.get(endpoint)
        if routes is None:
            network = self.ctx.network
            by_region: dict[int, EdgeRoute] = {
                edge.region: EdgeRoute(self, edge, endpoint) for edge in self.edges.values()
            }
            regions = range(len(network.regions))
            routes = self._routes[endpoint] = [by_region.get(r) for r in regions]
        return routes

    def fail(self, instance: int | None) -> None:
        """Take one edge (or every edge) down: its clients go to the shield or origin."""
        for region in self._named(instance):
            self._outages[region] += 1
            if self._outages[region] == 1:
                edge = self.edges[region]
                edge.store.clear()  # it comes back empty
                self._reroute(edge.region, self.bypass[region])

    def recover(self, instance: int | None) -> None:
        """Bring one edge (or every edge) back into the route table."""
        for region in self._named(instance):
            self._outages[region] -= 1
            if self._outages[region] == 0:
                edge = self.edges[region]
                self._reroute(edge.region, edge)

    def _named(self, instance: int | None) -> list[str]:
        regions = list(self.edges)
        return regions if instance is None else [regions[instance]]

    def _reroute(self, region: int, tier: Tier) -> None:
        """Send the clients of region ``region`` to ``tier``, for every endpoint."""
        for endpoint, routes in self._routes.items():
            routes[region] = EdgeRoute(self, tier, endpoint)

    def size_of(self, key: int, klass: int) -> float:
        """The bytes of ``key``'s object: drawn at its first request, then fixed."""
        size = self.sizes.get(key)
        if size is None:
            draw = self.draw_size[klass]
            size = self.sizes[key] = 0.0 if draw is None else draw()
        return size

    def handle(self, request: Request, route: list[EdgeRoute | None]) -> Process:
        at = route[request.region]  # type: ignore[index]
        assert at is not None  # every client region has an edge (checked by the spec)
        edge = at.edge
        env = self.env
        latency = edge.latency
        if latency:
            yield env.timeout(latency)
        try:
            if self.cacheable[request.klass]:
                yield from self._cached(request, at, edge)
            else:
                draw = self.draw_size[request.klass]
                size = 0.0 if draw is None else draw()
                edge.requests += 1
                edge.passthrough += 1
                edge.bytes += size
                edge.origin_requests += 1
                edge.origin_bytes += size
                yield from at.origin(request, at.origin_route)
        except RequestFailed:
            if latency:
                yield env.timeout(latency)
            raise
        if latency:
            yield env.timeout(latency)

    def _cached(self, request: Request, at: EdgeRoute, edge: Tier) -> Process:
        env = self.env
        key = request.key
        size = self.size_of(key, request.klass)  # type: ignore[arg-type]
        edge.cacheable_bytes += size
        if edge.store.get(key, env.now) is not None:
            edge.requests += 1
            edge.bytes += size
            edge.hit_bytes += size
            return
        shield = self.shield
        if shield is None:
            edge.requests += 1
            edge.bytes += size
            edge.origin_requests += 1
            edge.origin_bytes += size
            yield from at.origin(request, at.origin_route)
        else:
            # A miss sent to the shield counts as the edge's request when the shield
            # decides whether the origin sees it, in the same instant as its origin
            # request: counted apart, a snapshot between them (the warm-up's end, the
            # run's) put one in the window and not the other, and the offload went
            # negative near a zero hit rate. Its arrival could not carry the count: at
            # the run's end, a trip still under way has no origin outcome yet.
            no_sizes = self.ctx.network.no_sizes
            try:
                yield from at.there.travel(request, no_sizes)  # type: ignore[union-attr]
            except RequestFailed:
                edge.requests += 1
                edge.bytes += size
                raise
            edge.requests += 1
            edge.bytes += size
            shield.requests += 1
            shield.bytes += size
            shield.cacheable_bytes += size
            try:
                if shield.store.get(key, env.now) is None:
                    edge.origin_requests += 1
                    edge.origin_bytes += size
                    shield.origin_requests += 1
                    shield.origin_bytes += size
                    yield from at.shield_origin(request, at.shield_route)  # type: ignore[misc]
                    shield.store_response(key, env.now, size)  # type: ignore[arg-type]
                else:
                    shield.hit_bytes += size
            except RequestFailed:
                yield from at.back.travel(request, no_sizes)  # type: ignore[union-attr]
                raise
            yield from at.back.travel(request, no_sizes)  # type: ignore[union-attr]
        edge.store_response(key, env.now, size)  # type: ignore[arg-type]

    def snapshot(self, now: float) -> dict[str, Any]:
        tiers = {f"edge:{region}": edge.counters() for region, edge in self.edges.items()}
        for region, tier in self.bypass.items():
            tiers[f"bypass:{region}"] = tier.counters()
        if self.shield is not None:
            tiers["shield"] = self.shield.counters()
        return tiers

    def report(
        self, first: dict[str, Any], last: dict[str, Any], span: float
    ) -> tuple[str, dict[str, Any]]:
        """The ``cdns.<name>`` section over the measured period (levels at its end).

        ``offload`` and ``byte_offload`` are the fractions of the requests and bytes
        entering the edges that the origin never saw; ``edges.<region>`` gives the same
        per edge, whose counts add up to the totals.
        """
        edges = {
            region: _tier_report(first[f"edge:{region}"], last[f"edge:{region}"])
            for region in self.edges
        }
        total: dict[str, Any] = {
            key: sum(edge[key] for edge in edges.values()) for key in (*COUNTERS, *LEVELS)
        }
        _derived(total)
        total["origin_requests_per_second"] = total["origin_requests"] / span if span > 0 else None
        total["edges"] = edges
        if self.bypass:
            bypassed = {
                region: _tier_report(first[f"bypass:{region}"], last[f"bypass:{region}"])
                for region in self.bypass
            }
            for region, b in bypassed.items():
                edges[region]["bypassed"] = b["requests"]
                edges[region]["bypassed_origin_requests"] = b["origin_requests"]
            # what the clients asked for counts whether an edge served it or was bypassed
            for key in ("requests", "bytes", "origin_requests", "origin_bytes"):
                total[key] += sum(b[key] for b in bypassed.values())
            total["bypassed"] = sum(b["requests"] for b in bypassed.values())
            _derived(total)
            total["origin_requests_per_second"] = (
                total["origin_requests"] / span if span > 0 else None
            )
        if self.shield is not None:
            total["shield"] = _tier_report(first["shield"], last["shield"])
        return "cdns", total


def _tier_report(first: dict[str, Any], last: dict[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {key: last[key] - first[key] for key in COUNTERS}
    values.update({key: last[key] for key in LEVELS})
    _derived(values)
    return values


def _derived(values: dict[str, Any]) -> None:
    """Ratios from the counts (None where there is nothing to divide by)."""
    lookups = values["hits"] + values["misses"]
    values["hit_rate"] = values["hits"] / lookups if lookups else None
    cacheable = values["cacheable_bytes"]
    values["byte_hit_rate"] = values["hit_bytes"] / cacheable if cacheable else None
    requests, size = values["requests"], values["bytes"]
    values["offload"] = 1 - values["origin_requests"] / requests if requests else None
    values["byte_offload"] = 1 - values["origin_bytes"] / size if size else None


class _NoStore:
    """The store of a bypass tier: it holds nothing, so every lookup goes on."""

    hits = misses = evictions = expirations = rejections = 0
    used_bytes = 0.0

    def get(self, key: Any, now: float) -> None:
        return None

    def set(self, *args: Any, **kwargs: Any) -> list[Any]:
        return []

    def __len__(self) -> int:
        return 0
