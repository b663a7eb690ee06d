"""The network at run time: trips between regions, payload transfers, shared links.

Regions are small integers (their order in the spec). A call that crosses regions is
wrapped, once at build time, in a :class:`Hop`: the request travels there (one-way
latency and jitter, and on the client's own hop the transfer of its payload), the
callee serves it, and the response travels back. A call within a region, or with
nothing to pay, is not wrapped at all, and a model without a network section has no
:class:`Network`: no events and no per-request work.

A shared link direction is a :class:`Channel`, a FIFO single server whose service time
is size / bandwidth, reported like an instance (utilisation, queue, wait) under the
component name ``"from->to"``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import simpy

from simperf.components.base import Component, Context, Process, Request, RequestFailed
from simperf.components.server import Server
from simperf.spec.network import NetworkSpec
from simperf.spec.workload import RequestClass

NETWORK = "network"  # stream owner name for jitter and payload sizes
Sampler = Callable[[], float]
Handler = Callable[[Request, Any], Process]


class Channel(Server):
    """One direction of a shared link: transfers take turns at the full bandwidth."""

    kind = "link"

    def __init__(self, env: simpy.Environment, name: str) -> None:
        super().__init__(env, name, name, 1)


class Link(Component):
    """A shared link direction as a component, so that results report its load."""

    kind = "link"

    def __init__(self, ctx: Context, name: str) -> None:
        super().__init__(ctx, name)
        self.instances = [Channel(ctx.env, name)]


class Path:
    """What a one-way trip from one region to another costs.

    ``travel`` is the plain trip, or, while a partition cuts the path, a wait of the
    connect timeout and a failure (swapped at fault time, no check per trip).
    """

    __slots__ = ("bandwidth", "channel", "env", "free", "jitter", "latency", "travel")

    def __init__(
        self,
        env: simpy.Environment,
        latency: float,
        jitter: Sampler | None,
        bandwidth: float | None,
        channel: Channel | None,
    ) -> None:
        self.env = env
        self.latency = latency
        self.jitter = jitter
        self.bandwidth = bandwidth
        self.channel = channel
        self.free = latency == 0 and jitter is None and bandwidth is None
        self.travel: Callable[[Request, list[Sampler | None]], Process] = self._travel

    def cut(self, connect_timeout: float, code: int) -> None:
        """Partition the path: a trip fails as ``code`` after ``connect_timeout``."""

        def partitioned(request: Request, sizes: list[Sampler | None]) -> Process:
            if connect_timeout:
                yield self.env.timeout(connect_timeout)
            raise RequestFailed(code)

        self.travel = partitioned

    def heal(self) -> None:
        """End a partition."""
        self.travel = self._travel

    def _travel(self, request: Request, sizes: list[Sampler | None]) -> Process:
        """Carry ``request``'s payload (size drawn from ``sizes[class]``) across."""
        delay = self.latency
        if self.jitter is not None:
            delay += self.jitter()
        if self.bandwidth is not None:
            size = sizes[request.klass]
            if size is not None:
                seconds = size() / self.bandwidth
                if self.channel is not None:
                    yield from self.channel.serve(seconds)
                else:
                    delay += seconds
        if delay > 0:
            yield self.env.timeout(delay)


class Hop:
    """A call across regions: travel there, be served, travel back.

    ``source`` None means the client's region (``request.region``), known per request:
    only such a hop carries the request class's payloads over links; calls between
    components pay latency and jitter. A failure's response travels back without one.
    """

    __slots__ = ("by_region", "network", "paths", "target")

    def __init__(self, network: Network, source: int | None, dest: int, target: Handler) -> None:
        self.network = network
        self.target = target
        self.paths = None if source is None else network.paths(source, dest, payload=False)
        self.by_region: list[tuple[Path, Path] | None] = []
        if source is None:
            self.by_region = [
                network.paths(r, dest, payload=True) if r in network.client_regions else None
                for r in range(len(network.regions))
            ]

    def handle(self, request: Request, route: Any) -> Process:
        there, back = self.paths or self.by_region[request.region]  # type: ignore[index,misc]
        network = self.network
        yield from there.travel(request, network.request_sizes)
        try:
            yield from self.target(request, route)
        except RequestFailed:
            yield from back.travel(request, network.no_sizes)
            raise
        yield from back.travel(request, network.response_sizes)


class Network:
    """Regions, latencies, links and payload sizes of one run."""

    def __init__(
        self,
        ctx: Context,
        spec: NetworkSpec,
        classes: list[RequestClass],
        client_regions: list[int],
    ) -> None:
        self.ctx = ctx
        self.spec = spec
        self.regions = list(spec.regions)
        self.index = {name: i for i, name in enumerate(self.regions)}
        self.latency = [[spec.latency_between(a, b) for b in self.regions] for a in self.regions]
        self.links: dict[str, Link] = {}
        self._paths: dict[tuple[int, int, bool], Path] = {}
        self._jitter: dict[tuple[int, int], Sampler | None] = {}
        self.request_sizes = self._sizes(classes, "request_size")
        self.response_sizes = self._sizes(classes, "response_size")
        self.no_sizes: list[Sampler | None] = [None] * len(classes)
        self.region_of: dict[str, int | None] = {}
        self.client_regions = client_regions
        # Region pairs a latency or partition fault acts on: their calls go through a
        # hop even where it would cost nothing, so that the fault has a path to act on.
        self.faulty: set[frozenset[int]] = set()

    def _sizes(self, classes: list[RequestClass], field: str) -> list[Sampler | None]:
        samplers: list[Sampler | None] = []
        for c in classes:
            dist = getattr(c, field)
            samplers.append(
                None if dist is None else self.ctx.sampler(dist, NETWORK, f"{field}:{c.name}")
            )
        return samplers

    def path(self, source: int, dest: int, *, payload: bool) -> Path:
        """The one-way path from ``source`` to ``dest``, with or without the links.

        A shared link direction becomes a :class:`Link` component the first time a
        payload path uses it; jitter has one stream per direction.
        """
        key = (source, dest, payload)
        if key not in self._paths:
            a, b = self.regions[source], self.regions[dest]
            if (source, dest) not in self._jitter:
                jitter = None
                if source != dest and self.spec.jitter is not None:
                    jitter = self.ctx.sampler(self.spec.jitter, NETWORK, f"jitter:{a}->{b}")
                self._jitter[source, dest] = jitter
            link = self.spec.link_between(a, b) if payload else None
            channel = None
            if link is not None and link.shared:
                name = f"{a}->{b}"
                self.links[name] = Link(self.ctx, name)
                channel = self.links[name].instances[0]
            path = self._paths[key] = Path(
                self.ctx.env,
                self.latency[source][dest],
                self._jitter[source, dest],
                None if link is None else link.bandwidth,
                channel,
            )
            if frozenset((source, dest)) in self.faulty:
                path.free = False
        return self._paths[key]

    def _between(self, a: int, b: int) -> list[Path]:
        return [p for (s, d, _), p in self._paths.items() if {s, d} == {a, b}]

    def spike(self, a: int, b: int, extra: float) -> None:
        """Add ``extra`` (negative: remove it) to every one-way trip between ``a`` and ``b``."""
        for path in self._between(a, b):
            path.latency += extra

    def partition(self, a: int, b: int, connect_timeout: float) -> None:
        """Cut the paths between ``a`` and ``b``: calls across fail as ``partitioned``."""
        code = self.ctx.recorder.cause("partitioned")
        for path in self._between(a, b):
            path.cut(connect_timeout, code)

    def heal(self, a: int, b: int) -> None:
        """End a partition between ``a`` and ``b``."""
        for path in self._between(a, b):
            path.heal()

    def paths(self, source: int, dest: int, *, payload: bool) -> tuple[Path, Path]:
        """The paths there and back."""
        return self.path(source, dest, payload=payload), self.path(dest, source, payload=payload)

    def needs_hop(self, source: int | None, dest: int) -> bool:
        """Whether a call from ``source`` (None: the client's region) to ``dest`` costs anything."""
        if source is None:
            trips = [self.paths(s, dest, payload=True) for s in self.client_regions]
        else:
            trips = [self.paths(source, dest, payload=False)]
        return not all(p.free for trip in trips for p in trip)

    def handler(self, source: int | None, dest: int, target: Handler) -> Handler:
        """``target``, behind a hop when the call from ``source`` to ``dest`` costs anything."""
        return Hop(self, source, dest, target).handle if self.needs_hop(source, dest) else target

    def connect(self, source: int | None, target: Component, endpoint: str) -> tuple[Any, Any]:
        """(object with ``handle``, route) for a call from ``source`` to ``target``.

        A balancer without a region is resolved from ``source`` itself, so that its
        requests go from the caller straight to the instance it picks.
        """
        dest = self.region_of[target.name]
        if dest is None:
            return target, target.resolve_from(endpoint, source)  # type: ignore[attr-defined]
        route = target.resolve(endpoint)
        if self.needs_hop(source, dest):
            return Hop(self, source, dest, target.handle), route
        return target, route
