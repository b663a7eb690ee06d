"""Regions on the estimate's routes: where a component runs, the round trips between
regions, and how geographic balancers split their clients' traffic (spill-over)."""

from __future__ import annotations

from typing import Any

from simperf.analysis.spillover import spill_over_full
from simperf.estimate.stations import Time, served
from simperf.spec.kind import Forward


class RegionRoutes:
    """The geographic part of :class:`simperf.estimate.routes.Routes` (a mixin: it uses the
    routes' components, notes, loads and holding times)."""

    components: Any
    scenario: Any
    regions: list[str]
    idle: bool
    _pending: dict[tuple[str, str], dict[int, float]]
    _shares: dict[tuple[str, str], list[list[float]]]
    # an app server behind a spilling balancer whose limit is within its workers: the
    # calls per second the balancer sends it, and the share of them sent over the limit
    _capped: dict[str, tuple[float, float]]
    calls: dict[tuple[str, str], float]
    # geographic balancers' held-back rates by region, then by (class, a client's call)
    _pending_parts: dict[tuple[str, str], dict[int, dict[tuple[str, bool], float]]]

    def located(self, component: str, region: int) -> int:
        """The region ``component`` runs in when called from ``region``."""
        if not self.regions:
            return 0
        where = self.components[component].location(self.regions)
        return region if where is None else where

    def hop(self, source: int, target: int) -> float:
        """Mean round trip between two regions: the latency both ways, plus jitter."""
        network = self.scenario.network
        if network is None or source == target:
            return 0.0
        a, b = self.regions[source], self.regions[target]
        jitter = network.jitter.mean if network.jitter is not None else 0.0
        return network.latency_between(a, b) + network.latency_between(b, a) + 2 * jitter

    def transfers(self, source: int, target: int, klass: str) -> list[tuple[Any, Any, str]]:
        """The payloads a client's call from ``source`` to a component in ``target``
        carries over links, as the runtime's hop does: (link, size distribution, the
        direction's name ``from->to``) for the request there and the response back, each
        direction of a shared link its own single server (a failure's response, which
        carries nothing back, is not counted)."""
        network = self.scenario.network
        if network is None or not klass:
            return []
        spec = next(c for c in self.scenario.workload.classes if c.name == klass)
        a, b = self.regions[source], self.regions[target]
        found = []
        for there, back, size in ((a, b, spec.request_size), (b, a, spec.response_size)):
            link = network.link_between(there, back)
            if link is not None and size is not None:
                found.append((link, size, f"{there}->{back}"))
        return found

    def load_links(self, source: int, target: int, klass: str, rate: float) -> None:
        """Put ``rate`` client calls per second from ``source`` to ``target`` on the shared
        links they cross: service ``size / bandwidth``."""
        for link, size, name in self.transfers(source, target, klass):
            if link.shared:
                bandwidth = link.bandwidth
                station = self.link_station(name)
                station.add(rate, size.mean / bandwidth, size.variance / bandwidth**2)

    def link_time(self, source: int, target: int, klass: str) -> Time:
        """Mean transfer time of a client's call from ``source`` to ``target``: at a shared
        link its M/G/1 wait and service, over a link of its own the transfer alone."""
        total = Time()
        for link, size, name in self.transfers(source, target, klass):
            seconds = size.mean / link.bandwidth
            if link.shared:
                transfer = served(seconds, size.variance / link.bandwidth**2)
                total = total + (transfer + self.wait_time(self.link_station(name)))
            else:
                total = total + Time(0.0, seconds)
        return total

    @property
    def spilled(self) -> bool:
        """Whether a geographic balancer's spill-over was solved: its groups' loads do not
        grow in proportion to the offered load."""
        return bool(self._shares)

    def _backends(self, spec: Any, endpoint: str, region: int) -> list[Forward]:
        forwards = spec.forwards(self.scenario, endpoint)
        if spec.policy != "geographic" or not self.regions:
            return forwards
        name = next(n for n, s in self.components.items() if s is spec)
        shares = self._shares.get((name, endpoint))
        groups = self._groups(forwards)
        if shares is None or groups is None:
            self.note(name, "geographic: each client served in its own region (no spill-over)")
            local = [f for f in forwards if self.located(f.component, region) == region]
            return [f._replace(weight=1.0 / len(local)) for f in local] if local else forwards
        result = []
        for g, members in enumerate(groups.values()):
            total = sum(f.weight for f in members)
            result += [f._replace(weight=shares[region][g] * f.weight / total) for f in members]
        return [f for f in result if f.weight > 0]

    def _groups(self, forwards: list[Forward]) -> dict[int, list[Forward]] | None:
        """A geographic balancer's backends by region (None: one has no region)."""
        groups: dict[int, list[Forward]] = {}
        for f in forwards:
            where = self.components[f.component].location(self.regions)
            if where is None or self.components[f.component].kind != "app_server":
                return None
            groups.setdefault(where, []).append(f)
        return groups

    def spill(self) -> None:
        """Split the held-back traffic of geographic balancers and load their backends.

        Each region's group of backends is an Erlang loss system of ``spill_over`` times
        its workers (:func:`simperf.analysis.spillover.spill_over`), a request staying in
        progress there for the round trip from its client's region and the endpoint's
        holding time without queueing; what it refuses tries the next nearest group.
        """
        while self._pending:
            (name, endpoint), rates = next(iter(self._pending.items()))
            del self._pending[(name, endpoint)]
            parts = self._pending_parts.pop((name, endpoint), {})
            spec = self.components[name]
            forwards = spec.forwards(self.scenario, endpoint)
            groups = self._groups(forwards)
            if self.scenario.workload.users is not None:  # the load is not known yet
                self.note(name, "geographic: spill-over of a closed workload not estimated")
            elif groups is not None:
                shares, over = self._solve_spill(spec, groups, rates, parts)
                self._shares[(name, endpoint)] = shares
                if spec.spill_over <= 1.0:
                    self._cap(groups, rates, shares, over)
                self.note(
                    name,
                    "geographic: spill-over as Erlang loss per region's group (overflow "
                    "taken as Poisson; holding times without queueing)",
                )
            for region in rates:
                for f in self._backends(spec, endpoint, region):
                    # a client's own calls carry their class's payloads over links
                    for (klass, client), part in parts[region].items():
                        self.load(f.component, f.endpoint, part * f.weight, region, klass, client)
        self.reset()

    def _cap(
        self,
        groups: dict[int, list[Forward]],
        rates: dict[int, float],
        shares: list[list[float]],
        over: list[float],
    ) -> None:
        """Note the groups' members as capped: the requests a group admits within its
        limit (at most its workers) find a worker free; only those it takes when every
        group is full (``over``) may queue for one."""
        for g, members in enumerate(groups.values()):
            taken = sum(rate * shares[r][g] for r, rate in rates.items())
            extra = sum(rate * over[r][g] for r, rate in rates.items())
            total = sum(f.weight for f in members)
            for f in members:
                sent, beyond = self._capped.get(f.component, (0.0, 0.0))
                self._capped[f.component] = (
                    sent + taken * f.weight / total,
                    beyond + extra * f.weight / total,
                )

    def worker_wait_share(self, component: str) -> float:
        """The share of an app server's worker wait its requests pay: 1, but behind a
        spilling geographic balancer that sends it every call (see :meth:`_cap`)."""
        capped = self._capped.get(component)
        if capped is None:
            return 1.0
        sent, beyond = capped
        calls = sum(rate for (c, _), rate in self.calls.items() if c == component)
        if sent <= 0 or calls > sent * (1 + 1e-9):  # called from elsewhere too
            return 1.0
        return beyond / sent

    def _transfer(self, source: int, target: int, parts: dict[tuple[str, bool], float]) -> float:
        """Mean payload transfer time, without waits, of the calls from ``source`` to a
        group in ``target`` (their mix of classes), held like the round trip."""
        total = sum(parts.values())
        if total <= 0:
            return 0.0
        idle, self.idle = self.idle, True
        seconds = sum(
            rate * self.link_time(source, target, klass).total
            for (klass, client), rate in parts.items()
            if client
        )
        self.idle = idle
        return seconds / total

    def _solve_spill(
        self,
        spec: Any,
        groups: dict[int, list[Forward]],
        rates: dict[int, float],
        parts: dict[int, dict[tuple[str, bool], float]],
    ) -> tuple[list[list[float]], list[list[float]]]:
        idle, self.idle = self.idle, True
        self.reset()
        where = list(groups)
        holds, capacities = [], []
        for members in groups.values():
            total = sum(f.weight for f in members)
            holds.append(
                sum(self.hold(f.component, f.endpoint).total * f.weight for f in members) / total
            )
            capacities.append(
                spec.spill_over
                * sum(
                    self.components[f.component].worker_count
                    * self.components[f.component].replicas
                    for f in members
                )
            )
        self.idle = idle
        self.reset()
        network = self.scenario.network
        assert network is not None
        sources = range(len(self.regions))

        def distance(r: int, g: int) -> tuple[float, int]:
            a, b = self.regions[r], self.regions[where[g]]
            return network.latency_between(a, b) + network.latency_between(b, a), g

        orders = [sorted(range(len(where)), key=lambda g, r=r: distance(r, g)) for r in sources]
        times = [
            [
                self.hop(r, where[g]) + holds[g] + self._transfer(r, where[g], parts.get(r, {}))
                for g in range(len(where))
            ]
            for r in sources
        ]
        shares, full = spill_over_full(
            [rates.get(r, 0.0) for r in sources], orders, times, capacities
        )
        # per source and group, the share taken over the limit: every group full
        over = [[full[r] if g == orders[r][0] else 0.0 for g in range(len(where))] for r in sources]
        return shares, over
