"""Load balancers: pick one instance of the backends per request, by policy."""

from __future__ import annotations

from typing import Any

from simperf.components.base import Component, Context, Process, Request
from simperf.rng import batched
from simperf.spec.distributions import Constant
from simperf.spec.load_balancer import LoadBalancerSpec


class LoadBalancer(Component):
    """Spreads requests over the instances of its backend components.

    ``least_connections`` uses the balancer's own count of open requests per instance
    (from dispatch until the response), as real balancers do; ties go to the first
    instance at or after a rotating start, so equal instances share evenly.
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
        self._next = 0
        self.open: list[int] = []
        self.dispatched: list[int] = []
        self._random: Any = None

    def wire(self, components: dict[str, Component]) -> None:
        self._backends = [components[b] for b in self.spec.backends]
        self.instances = [inst for b in self._backends for inst in b.instances]  # type: ignore[attr-defined]
        n = len(self.instances)
        self.open = [0] * n
        self.dispatched = [0] * n
        if self.spec.policy == "random":
            rng = self.ctx.rng(self.name, "policy")
            self._random = batched(lambda size: rng.integers(0, n, size))

    def resolve(self, endpoint: str) -> list[Any]:
        """One route per instance, in instance order."""
        routes = []
        for backend in self._backends:
            route = backend.resolve(endpoint)
            routes.extend([route] * len(backend.instances))  # type: ignore[attr-defined]
        return routes

    def _choose(self) -> int:
        policy = self.spec.policy
        n = len(self.instances)
        if policy == "round_robin":
            index = self._next
            self._next = (index + 1) % n
            return index
        if policy == "random":
            return int(self._random())
        start = self._next
        self._next = (start + 1) % n
        open_ = self.open
        best = start
        best_open = open_[start]
        for offset in range(1, n):
            i = (start + offset) % n
            if open_[i] < best_open:
                best, best_open = i, open_[i]
        return best

    def handle(self, request: Request, routes: list[Any]) -> Process:
        index = self._choose()
        self.open[index] += 1
        self.dispatched[index] += 1
        try:
            if self._overhead is not None:
                yield self.env.timeout(self._overhead())
            yield from self.instances[index].handle(request, routes[index])
        finally:
            self.open[index] -= 1
