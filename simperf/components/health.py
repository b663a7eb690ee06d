"""Active health checks: a balancer's view of which instances can take traffic.

Each instance is probed every ``interval`` from a random phase (balancers do not probe
all their instances at the same instant). A probe of a down instance fails after the
``timeout``, as a connection to a dead host does; with an ``endpoint`` the probe is a
request to that endpoint, queued and served like any other, and fails if it has not
answered within the ``timeout``. A probe takes the path the balancer's requests take
to the instance (:meth:`LoadBalancer.probe_route`) and carries key 0 of any key space it
reads, as a health URL always asks for the same thing. Without an endpoint a probe is a
connection check: from a balancer in one region to an instance in another it travels the
network there and back (:meth:`LoadBalancer.probe_trips`), so it pays the round trip and
fails across a partition. ``unhealthy_threshold`` failures
in a row take the instance out of the balancer's rotation, ``healthy_threshold``
successes in a row put it back. The gap between an instance failing and its removal is
the *detection time*: requests the balancer sends it meanwhile are refused.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from simperf.components.base import Process, Request, RequestFailed
from simperf.spec.load_balancer import HealthCheckSpec

COUNTERS = ("probes", "failed_probes", "removals", "restorations", "detections")
"""Cumulative counts, differenced over the measured period."""


class HealthChecker:
    """Probes a balancer's instances and keeps ``healthy``, one flag per instance.

    Parameters
    ----------
    balancer
        The load balancer (its ``ctx``, ``name`` and wired ``instances``).
    spec
        The health-check settings.
    probe_route
        Compiles the route of ``spec.endpoint`` on every instance (None without an
        endpoint); called at the first probe, once every component is wired.
    """

    def __init__(
        self, balancer: Any, spec: HealthCheckSpec, probe_route: Callable[[], Any] | None
    ) -> None:
        ctx = balancer.ctx
        self.env = ctx.env
        self.spec = spec
        self.instances = balancer.instances
        self._probe_route = probe_route
        self._route: Any = None
        self._trips = balancer.probe_trips()
        self._ctx = ctx  # its fault log is made after the balancers are wired
        self._no_sizes = None if ctx.network is None else ctx.network.no_sizes
        self.healthy = [True] * len(self.instances)
        self.counts = dict.fromkeys(COUNTERS, 0)
        self.detection_sum = 0.0
        self.removed_area = 0.0  # instance-seconds out of rotation, up to ``_since``
        self._removed_since: dict[int, float] = {}
        phases = ctx.rng(balancer.name, "health_check").uniform(
            0.0, spec.interval, len(self.instances)
        )
        for index, phase in enumerate(phases):
            self.env.process(self._probe_loop(index, float(phase)))

    def _probe_loop(self, index: int, phase: float) -> Process:
        env = self.env
        spec = self.spec
        yield env.timeout(phase)
        failures = successes = 0
        while True:
            started = env.now
            ok = yield from self._probe(index)
            self.counts["probes"] += 1
            if ok:
                successes, failures = successes + 1, 0
                if not self.healthy[index] and successes >= spec.healthy_threshold:
                    self._restore(index)
            else:
                self.counts["failed_probes"] += 1
                failures, successes = failures + 1, 0
                if self.healthy[index] and failures >= spec.unhealthy_threshold:
                    self._remove(index)
            yield env.timeout(max(started + spec.interval - env.now, 0.0))

    def _probe(self, index: int) -> Process:
        """One probe; returns whether it passed."""
        env = self.env
        instance = self.instances[index]
        if not instance.up:
            yield env.timeout(self.spec.timeout)
            return False
        if self._probe_route is None:
            trip = self._trips[index]
            if trip is None:
                return True
            answer = env.process(_ping(trip, self._no_sizes, env.now))
        else:
            route = self._route
            if route is None:
                route = self._route = self._probe_route()
            answer = env.process(_call(route.handlers[index], route.routes[index], env.now))
        deadline = env.timeout(self.spec.timeout)
        yield answer | deadline
        return bool(answer.triggered and answer.value)

    def _remove(self, index: int) -> None:
        self.healthy[index] = False
        self.counts["removals"] += 1
        self._removed_since[index] = self.env.now
        instance = self.instances[index]
        if not instance.up:
            self.counts["detections"] += 1
            self.detection_sum += self.env.now - instance.down_since
        if self._ctx.faults is not None:
            self._ctx.faults.detected(instance.name, self.env.now)

    def _restore(self, index: int) -> None:
        self.healthy[index] = True
        self.counts["restorations"] += 1
        self.removed_area += self.env.now - self._removed_since.pop(index)
        if self._ctx.faults is not None:
            self._ctx.faults.restored(self.instances[index].name, self.env.now)

    def snapshot(self, now: float) -> dict[str, Any]:
        """Cumulative counters at ``now``."""
        removed = self.removed_area + sum(now - t for t in self._removed_since.values())
        return {**self.counts, "detection_sum": self.detection_sum, "removed_area": removed}

    @staticmethod
    def report(first: dict[str, Any], last: dict[str, Any], span: float) -> dict[str, Any]:
        """Measured-period figures: probes, removals, mean detection time, time removed."""
        diff = {k: last[k] - first[k] for k in (*COUNTERS, "detection_sum", "removed_area")}
        detections = diff["detections"]
        return {
            **{k: int(diff[k]) for k in COUNTERS},
            "mean_detection_time": diff["detection_sum"] / detections if detections else None,
            "instance_time_removed": diff["removed_area"],
        }


PROBE_KEY = 0
"""The key a probe reads or writes: one fixed item, the most popular of its key space."""


def _call(handler: Any, route: Any, now: float) -> Process:
    """A probe request through ``handler``; returns whether it succeeded."""
    probe = Request(0, -1, now)
    probe.key = PROBE_KEY
    try:
        yield from handler(probe, route)
    except RequestFailed:
        return False
    return True


def _ping(trip: tuple[Any, Any], sizes: Any, now: float) -> Process:
    """A connection check across the network: there and back; returns whether it got through."""
    there, back = trip
    probe = Request(0, -1, now)
    try:
        yield from there.travel(probe, sizes)
        yield from back.travel(probe, sizes)
    except RequestFailed:
        return False
    return True
