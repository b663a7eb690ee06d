"""Load balancers: pick one instance of the backends per request, by policy."""

from __future__ import annotations

from typing import Any

from simperf.components.balancing import (
    Geographic,
    HashRing,
    IpHash,
    PowerOfTwo,
    Random,
    RoundRobin,
    WeightedRoundRobin,
    least_connections,
)
from simperf.components.base import Component, Context, Process, Request, RequestFailed
from simperf.components.health import HealthChecker
from simperf.rng import batched
from simperf.spec.distributions import Constant
from simperf.spec.load_balancer import LoadBalancerSpec


class Route:
    """A balancer's compiled endpoint: per instance, the handler to call and its route.

    A handler is the instance's own ``handle``, or a network hop in front of it when
    reaching the instance crosses regions.
    """

    __slots__ = ("handlers", "routes")

    def __init__(self, handlers: list[Any], routes: list[Any]) -> None:
        self.handlers = handlers
        self.routes = routes


class LoadBalancer(Component):
    """Spreads requests over the instances of its backend components.

    Requests in progress per instance (``open``) are the balancer's own count, from
    dispatch until the response, as real balancers keep it; the policies of
    :mod:`simperf.components.balancing` read it.
    """

    kind = "load_balancer"

    def __init__(self, ctx: Context, name: str, spec: LoadBalancerSpec) -> None:
        super().__init__(ctx, name)
        self.spec = spec
        self.instances: list[Any] = []
        self._backends: list[Component] = []
        overhead = spec.overhead
        self._overhead = (
            None
            if isinstance(overhead, Constant) and overhead.value == 0
            else ctx.sampler(overhead, name, "overhead")
        )
        self.open: list[int] = []
        self.dispatched: list[int] = []
        self._routes: dict[tuple[str, int | None], Route] = {}
        self.policy: Any = None
        self._failover_next = 0  # rotating tie-break when a chosen instance is down
        self.health: HealthChecker | None = None
        self.healthy: list[bool] | None = None  # None: the balancer knows who is up
        self.refused = 0  # requests sent to an instance that was down
        self.retried = 0
        self._outages = 0  # the balancer's own crashes (nested)
        self._error_fraction = 0.0
        self._draw: Any = None
        # Passive outlier ejection: per instance, ejected or not, errors in a row, times
        # ejected (set at wire time when configured; None costs nothing per request).
        self.outliers = spec.outlier_detection
        self.ejected: list[bool] | None = None
        self._streak: list[int] = []
        self._ejections: list[int] = []
        self.ejections = 0
        if spec.retries or self.outliers is not None:
            # set before any caller compiles a call to this balancer
            self.handle = self._handle_retrying  # type: ignore[method-assign]
        if self.outliers is not None:
            self._dispatch = self._dispatch_observed  # type: ignore[method-assign]

    def wire(self, components: dict[str, Component]) -> None:
        self._backends = [components[b] for b in self.spec.backends]
        self.instances = [inst for b in self._backends for inst in b.instances]  # type: ignore[attr-defined]
        n = len(self.instances)
        self.open = [0] * n
        self.dispatched = [0] * n
        self.policy = self._make_policy()
        self.choose = self.policy.choose
        if self.outliers is not None:
            self.ejected = [False] * n
            self._streak = [0] * n
            self._ejections = [0] * n
        check = self.spec.health_check
        if check is not None:
            # Compiled at the first probe: the endpoint may call components wired later.
            endpoint = check.endpoint
            probe_route = None if endpoint is None else lambda: self.probe_route(endpoint)
            self.health = HealthChecker(self, check, probe_route)
            self.healthy = self.health.healthy

    def _make_policy(self) -> Any:
        spec = self.spec
        n = len(self.instances)
        if spec.policy == "round_robin":
            return RoundRobin(n)
        if spec.policy == "least_connections":
            policy = least_connections(n)
            self.open = policy.open  # an indexed policy's counts keep its index current
            return policy
        if spec.policy == "random":
            rng = self.ctx.rng(self.name, "policy")
            return Random(batched(lambda size: rng.integers(0, n, size)))
        if spec.policy == "power_of_two":
            if n == 1:
                return PowerOfTwo(self.open, None)
            rng = self.ctx.rng(self.name, "policy")
            return PowerOfTwo(self.open, batched(lambda size: rng.integers(0, n * (n - 1), size)))
        if spec.policy == "weighted_round_robin":
            weights = spec.weights or {}
            return WeightedRoundRobin(
                [
                    weights.get(b.name, b.spec.cores * b.spec.speed)  # type: ignore[attr-defined]
                    for b in self._backends
                    for _ in b.instances  # type: ignore[attr-defined]
                ]
            )
        if spec.policy == "ip_hash":
            return IpHash(HashRing([inst.name for inst in self.instances], spec.virtual_nodes))
        if spec.policy == "geographic":
            return self._geographic()
        raise AssertionError(f"no runtime for policy {spec.policy!r}")  # pragma: no cover

    def _geographic(self) -> Geographic:
        network = self.ctx.network
        regions = [network.region_of[inst.component] for inst in self.instances]
        group_regions = list(dict.fromkeys(regions))
        groups = [[i for i, r in enumerate(regions) if r == g] for g in group_regions]
        room = [self.spec.spill_over * inst.workers.capacity for inst in self.instances]
        latency = network.latency

        def distance(client: int, g: int) -> tuple[float, int]:
            region = group_regions[g]
            return latency[client][region] + latency[region][client], g

        orders = [
            sorted(range(len(groups)), key=lambda g, c=client: distance(c, g))
            for client in range(len(network.regions))
        ]
        return Geographic(self.open, groups, orders, room, self._usable)

    def resolve(self, endpoint: str) -> Route:
        """The endpoint on every instance, reached from the balancer's own region."""
        network = self.ctx.network
        source = None if network is None else network.region_of[self.name]
        return self.resolve_from(endpoint, source)

    def resolve_from(self, endpoint: str, source: int | None) -> Route:
        """The endpoint on every instance, reached from region ``source``.

        ``source`` None is the client's region when the network is modelled.
        """
        key = (endpoint, source)
        if key not in self._routes:
            self._routes[key] = self._route(endpoint, source, self.ctx.network)
        return self._routes[key]

    def probe_route(self, endpoint: str) -> Route:
        """How health probes reach the endpoint on every instance: as requests do from
        the balancer's region; a balancer without one (it stands for the clients' side)
        probes each instance directly."""
        network = self.ctx.network
        if network is None or network.region_of[self.name] is None:
            return self._route(endpoint, None, None)
        return self.resolve(endpoint)

    def _route(self, endpoint: str, source: int | None, network: Any) -> Route:
        """The endpoint on every instance, behind a network hop from ``source`` where
        ``network`` is given and the hop costs anything."""
        handlers, routes = [], []
        for backend in self._backends:
            route = backend.resolve(endpoint)
            for inst in backend.instances:  # type: ignore[attr-defined]
                handler = inst.handle
                if network is not None:
                    dest = network.region_of[backend.name]
                    handler = network.handler(source, dest, handler)
                handlers.append(handler)
                routes.append(route)
        return Route(handlers, routes)

    def _usable(self, index: int) -> bool:
        """Whether the balancer would send a request to instance ``index``."""
        ejected = self.ejected
        if ejected is not None and ejected[index]:
            return False
        healthy = self.healthy
        return self.instances[index].up if healthy is None else healthy[index]

    def handle(self, request: Request, route: Route) -> Process:
        index = self.choose(request)
        healthy = self.healthy  # _usable inlined: every request pays for this check
        if not (self.instances[index].up if healthy is None else healthy[index]):
            index = self._failover(request, ())
        yield from self._dispatch(request, route, index)

    def _handle_retrying(self, request: Request, route: Route) -> Process:
        """:meth:`handle` that sends a request refused by a down instance elsewhere."""
        index = self.choose(request)
        if not self._usable(index):
            index = self._failover(request, ())
        tried = [index]
        while True:
            try:
                yield from self._dispatch(request, route, index)
                return
            except RequestFailed:
                # Only a refusal by the instance itself is safe to repeat: the request
                # was not served. A failure further down the call chain is not retried.
                if self.instances[index].up or len(tried) > self.spec.retries:
                    raise
            self.retried += 1
            index = self._failover(request, tried)
            tried.append(index)

    def _dispatch(self, request: Request, route: Route, index: int) -> Process:
        self.open[index] += 1
        self.dispatched[index] += 1
        try:
            if self._overhead is not None:
                yield self.env.timeout(self._overhead())
            if not self.instances[index].up:
                self.refused += 1
            yield from route.handlers[index](request, route.routes[index])
        finally:
            self.open[index] -= 1

    def _dispatch_observed(self, request: Request, route: Route, index: int) -> Process:
        """:meth:`_dispatch`, watching the outcome for outlier ejection."""
        env = self.env
        started = env.now
        try:
            yield from LoadBalancer._dispatch(self, request, route, index)
        except RequestFailed:
            self._observe(index, False)
            raise
        bound = self.outliers.latency  # type: ignore[union-attr]
        self._observe(index, bound is None or env.now - started <= bound)

    def _observe(self, index: int, ok: bool) -> None:
        if ok:
            self._streak[index] = 0
            return
        self._streak[index] += 1
        spec = self.outliers
        ejected = self.ejected
        assert spec is not None and ejected is not None
        if self._streak[index] < spec.consecutive_errors or ejected[index]:
            return
        allowed = max(1, int(len(ejected) * spec.max_ejection_percent / 100))
        if sum(ejected) >= allowed:
            return
        ejected[index] = True
        self.ejections += 1
        self._ejections[index] += 1
        name = self.instances[index].name
        if self.ctx.faults is not None:
            self.ctx.faults.detected(name, self.env.now)
        length = min(spec.base_ejection_time * self._ejections[index], spec.max_ejection_time)
        self.env.timeout(length).callbacks.append(lambda _: self._return(index))

    def _return(self, index: int) -> None:
        """An ejection has run its time: the instance takes traffic again."""
        assert self.ejected is not None
        self.ejected[index] = False
        self._streak[index] = 0
        if self.ctx.faults is not None:
            self.ctx.faults.restored(self.instances[index].name, self.env.now)

    # -- the balancer's own faults --------------------------------------------------------

    def fail(self, instance: int | None, connect_timeout: float = 0.0) -> None:
        """The balancer is down: every request through it fails as ``balancer_down``."""
        self._outages += 1
        self._rechoose()

    def recover(self, instance: int | None) -> None:
        """The balancer is back."""
        self._outages -= 1
        self._rechoose()

    def inject_errors(self, instance: int | None, fraction: float) -> None:
        """A ``fraction`` of the requests through the balancer fail as ``injected_error``."""
        self._error_fraction = fraction
        if self._draw is None:
            rng = self.ctx.rng(self.name, "injected_errors")
            self._draw = batched(lambda size: rng.random(size))
        self._rechoose()

    def _rechoose(self) -> None:
        """Swap the choice of instance for one that fails, at fault time (every request
        calls ``choose`` first, so a healthy balancer pays nothing for faults)."""
        choose = self.policy.choose
        if self._outages:
            code = self.ctx.recorder.cause("balancer_down")

            def down(request: Request) -> int:
                raise RequestFailed(code)

            self.choose = down
        elif self._error_fraction:
            code = self.ctx.recorder.cause("injected_error")
            draw, fraction = self._draw, self._error_fraction

            def erring(request: Request) -> int:
                if draw() < fraction:
                    raise RequestFailed(code)
                return choose(request)  # type: ignore[no-any-return]

            self.choose = erring
        else:
            self.choose = choose

    def probe_trips(self) -> list[Any]:
        """Per instance, the (there, back) network paths a probe without an endpoint
        travels from the balancer's region (None: nothing to cross)."""
        network = self.ctx.network
        source = None if network is None else network.region_of[self.name]
        trips: list[Any] = []
        for backend in self._backends:
            for _ in backend.instances:  # type: ignore[attr-defined]
                if source is None:
                    trips.append(None)
                    continue
                dest = network.region_of[backend.name]
                crossing = network.needs_hop(source, dest)
                trips.append(network.paths(source, dest, payload=False) if crossing else None)
        return trips

    def _failover(self, request: Request, tried: Any) -> int:
        """The instance for a request whose chosen instance is out of rotation.

        Sticky (``ip_hash``): the next usable instance along the ring; ``geographic``:
        the nearest region with a usable instance (the next in latency order); otherwise the
        usable instance with the fewest requests in progress, ties going to the first
        after the last one picked (so that a failed instance's share spreads evenly).
        Instances in ``tried`` are skipped. With none left the request fails as
        ``instance_down``.
        """

        def usable(i: int) -> bool:
            return self._usable(i) and i not in tried

        policy = self.policy
        if isinstance(policy, IpHash):
            owner = policy.ring.owner_among(request.client, usable)  # type: ignore[arg-type]
            if owner is not None:
                return owner
        elif isinstance(policy, Geographic):
            nearest = policy.choose_among(request, usable)
            if nearest is not None:
                return nearest
        else:
            n = len(self.instances)
            start = self._failover_next
            open_ = self.open
            best = -1
            for offset in range(n):
                i = (start + offset) % n
                if usable(i) and (best < 0 or open_[i] < open_[best]):
                    best = i
            if best >= 0:
                self._failover_next = (best + 1) % n
                return best
        raise RequestFailed(self.ctx.recorder.cause("instance_down"))

    def snapshot(self, now: float) -> dict[str, Any]:
        """Requests dispatched to each instance so far, and failover counters."""
        counters: dict[str, Any] = {
            "dispatched": list(self.dispatched),
            "refused": self.refused,
            "retried": self.retried,
            "ejections": self.ejections,
        }
        if self.health is not None:
            counters["health"] = self.health.snapshot(now)
        return counters

    def report(
        self, first: dict[str, Any], last: dict[str, Any], span: float
    ) -> tuple[str, dict[str, Any]] | None:
        """The ``load_balancers.<name>`` section, for a balancer with health checks or
        retries: requests refused by down instances, retries, and probe outcomes."""
        if self.health is None and not self.spec.retries and self.outliers is None:
            return None
        report: dict[str, Any] = {
            "refused": last["refused"] - first["refused"],
            "retried": last["retried"] - first["retried"],
        }
        if self.outliers is not None:
            report["ejections"] = last["ejections"] - first["ejections"]
        if self.health is not None:
            report["health_checks"] = self.health.report(first["health"], last["health"], span)
        return "load_balancers", report
