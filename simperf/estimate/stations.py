"""Stations of the closed-form estimate: the queues a request visits, their solution, and
the mean time of a route through them (:class:`Time`).

A station is one resource of one component (an app server's cores or workers, a cache
node's cores, a database server's CPU), ``instances`` identical copies of it sharing its
traffic evenly, each with ``servers`` servers. Open workloads solve each station alone
(the network is taken as a product form, as in a Jackson network): an M/M/c queue
(:func:`simperf.analysis.queueing.mmc`) whose mean wait is scaled by ``(1 + cs^2) / 2``
for a service time of squared coefficient of variation ``cs^2`` (the Allen-Cunneen
approximation for M/G/c with Poisson arrivals: exact for M/M/c, and for one server
the Pollaczek-Khinchine formula of M/G/1). Closed workloads are solved by exact MVA
(:func:`simperf.analysis.networks.mva`) on the stations' demands.
"""

from __future__ import annotations

import math
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

    def add(self, rate: float, mean: float, variance: float) -> None:
        """Add ``rate`` visits per second of a service time with this mean and variance."""
        self.rate += rate
        self.work += rate * mean
        self.second += rate * (variance + mean * mean)

    @property
    def mean_service(self) -> float:
        """Mean service time per visit (0 with no traffic)."""
        return self.work / self.rate if self.rate > 0 else 0.0

    @property
    def scv(self) -> float:
        """Squared coefficient of variation of the service time of the visits' mixture."""
        if self.rate <= 0 or self.work <= 0:
            return 1.0
        mean = self.mean_service
        return max(self.second / self.rate / (mean * mean) - 1.0, 0.0)

    @property
    def utilization(self) -> float:
        """Busy fraction of each server: ``lambda E[S] / (c n)``."""
        return self.work / (self.servers * self.instances)

    def wait(self, utilization: float | None = None) -> float:
        """Mean wait before service at this station (inf when it is saturated).

        ``utilization`` (default: its own) lets a closed workload's solution ask at the
        throughput MVA found.
        """
        mean = self.mean_service
        if mean <= 0:
            return 0.0
        rho = self.utilization if utilization is None else utilization
        if rho >= 1.0:
            return math.inf
        per_instance = rho * self.servers / mean
        queue = mmc(per_instance, 1.0 / mean, self.servers)
        return queue.mean_wait * (1.0 + self.scv) / 2.0

    @property
    def label(self) -> str:
        """``component cores``: how the estimate names it."""
        return f"{self.component} {self.resource}"


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
