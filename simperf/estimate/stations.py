"""Stations of the closed-form estimate: the queues a request visits, their solution, and
the mean time of a route through them (:class:`Time`).

A station is one resource of one component (an app server's cores or workers, a cache
node's cores, a database server's CPU), ``instances`` identical copies of it sharing its
traffic evenly (but a sharded database's queries routed by key, which go to each shard in
proportion to the popularity of the keys it owns: the busiest instance is solved), each
with ``servers`` servers. Open workloads solve each station alone
(the network is taken as a product form, as in a Jackson network): an M/M/c queue
(:func:`simperf.analysis.queueing.mmc`) whose mean wait is scaled by ``(1 + cs^2) / 2``
for a service time of squared coefficient of variation ``cs^2`` (the Allen-Cunneen
approximation for M/G/c with Poisson arrivals: exact for M/M/c, and for one server
the Pollaczek-Khinchine formula of M/G/1). Closed workloads are solved by exact MVA
(:func:`simperf.analysis.networks.mva`) on the stations' demands.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from simperf.analysis.queueing import mmc


@dataclass
class Station:
    """One queueing resource and the traffic the routes put on it.

    Attributes
    ----------
    component, resource
        Where it is: ``("app", "cores")``, ``("app", "workers")``, ``("db", "cpu")`` ...
    servers, instances
        Servers per instance and identical instances sharing the traffic.
    rate
        Visits per second to all instances together.
    work, second
        Sums over visits per second of the service time's mean and second moment.
    """

    component: str
    resource: str
    servers: int
    instances: int = 1
    rate: float = 0.0
    work: float = 0.0
    second: float = 0.0
    notes: list[str] = field(default_factory=list)
    routed: list[list[float]] | None = None
    """Of the visits not spread evenly: each instance's rate, work and second moment per
    second (None: every visit is spread evenly)."""

    def add(
        self, rate: float, mean: float, variance: float, shares: Sequence[float] | None = None
    ) -> None:
        """Add ``rate`` visits per second of a service time with this mean and variance,
        spread evenly over the instances or, with ``shares``, in those proportions (a
        sharded database's queries routed by key)."""
        moments = (rate, rate * mean, rate * (variance + mean * mean))
        self.rate += moments[0]
        self.work += moments[1]
        self.second += moments[2]
        if shares is not None:
            if self.routed is None:
                self.routed = [[0.0, 0.0, 0.0] for _ in range(self.instances)]
            for sums, share in zip(self.routed, shares, strict=True):
                for k in range(3):
                    sums[k] += moments[k] * share

    def scale(self, factor: float) -> None:
        """Multiply its traffic by ``factor`` (a closed workload's throughput)."""
        self.rate, self.work, self.second = (
            self.rate * factor,
            self.work * factor,
            self.second * factor,
        )
        if self.routed is not None:
            self.routed = [[value * factor for value in sums] for sums in self.routed]

    def instance_work(self) -> list[float]:
        """Work per second of each instance."""
        n = self.instances
        if self.routed is None:
            return [self.work / n] * n
        even = (self.work - sum(sums[1] for sums in self.routed)) / n
        return [even + sums[1] for sums in self.routed]

    def _busiest(self) -> tuple[float, float, float]:
        """Visits, work and second moment per second of the busiest instance."""
        n = self.instances
        if self.routed is None:
            return self.rate / n, self.work / n, self.second / n
        routed = [sum(sums[k] for sums in self.routed) for k in range(3)]
        even = [
            (total - r) / n
            for total, r in zip((self.rate, self.work, self.second), routed, strict=True)
        ]
        top = max(self.routed, key=lambda sums: sums[1])
        return even[0] + top[0], even[1] + top[1], even[2] + top[2]

    @property
    def mean_service(self) -> float:
        """Mean service time per visit (0 with no traffic)."""
        return self.work / self.rate if self.rate > 0 else 0.0

    @property
    def scv(self) -> float:
        """Squared coefficient of variation of the service time of the visits' mixture."""
        return _scv(self.rate, self.work, self.second)

    @property
    def utilization(self) -> float:
        """Busy fraction of each server of the busiest instance: ``lambda E[S] / (c n)``
        when the traffic is spread evenly."""
        if self.routed is None:  # the even spread, in the same operations as always
            return self.work / (self.servers * self.instances)
        return self._busiest()[1] / self.servers

    def wait(self, utilization: float | None = None) -> float:
        """Mean wait before service at this station (inf when it is saturated).

        ``utilization`` (default: its own) lets a closed workload's solution ask at the
        throughput MVA found.
        """
        # the visits of the busiest instance (of any, when they are spread evenly)
        rate, work, second = self._busiest() if self.routed else (self.rate, self.work, self.second)
        mean = work / rate if rate > 0 else 0.0
        if mean <= 0:
            return 0.0
        rho = self.utilization if utilization is None else utilization
        if rho >= 1.0:
            return math.inf
        per_instance = rho * self.servers / mean
        queue = mmc(per_instance, 1.0 / mean, self.servers)
        return queue.mean_wait * (1.0 + _scv(rate, work, second)) / 2.0

    @property
    def label(self) -> str:
        """``component cores``: how the estimate names it."""
        return f"{self.component} {self.resource}"


def _scv(rate: float, work: float, second: float) -> float:
    """Squared coefficient of variation of a service time from its sums per second."""
    if rate <= 0 or work <= 0:
        return 1.0
    mean = work / rate
    return max(second / rate / (mean * mean) - 1.0, 0.0)


class Time(NamedTuple):
    """Mean time of a route: ``queued`` at stations (service and wait), ``fixed`` delays."""

    queued: float = 0.0
    fixed: float = 0.0

    def __add__(self, other: Any) -> Time:  # type: ignore[override]
        return Time(self.queued + other.queued, self.fixed + other.fixed)

    def scaled(self, factor: float) -> Time:
        """The time of ``factor`` such routes per call (a miss ratio, a repeat)."""
        return Time(self.queued * factor, self.fixed * factor)

    @property
    def total(self) -> float:
        """Mean time in all."""
        return self.queued + self.fixed
