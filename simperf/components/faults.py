"""The fault timeline at run time: one process per scheduled fault or random fault unit.

A fault acts on *members* ``(component, instance)`` through the component's own fault
methods (:meth:`~simperf.components.base.Component.fail`, ``slow``, ``inject_errors``), or
on a network path (:meth:`~simperf.components.network.Network.spike`, ``partition``).
A scheduled fault, a ``group`` and a ``region`` act on all their members at once; a random
fault (``mtbf``/``mttr``) on a component fails each of its instances independently, each
on its own streams. Every occurrence is written to the run's :class:`FaultLog`, which
balancers tell when they detect it and the result reads after the run.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from simperf.components.base import Component, Context, Process
from simperf.spec.faults import FaultSpec, parse_member

Member = tuple[Component, int | None]

MARKED = (
    "busy_area",
    "worker_area",
    "pool_area",
    "provisioned_area",
    "served",
    "rejected",
    "shed",
    "expired",
    "storage_expired",
    "pool_expired",
    "pool_timeouts",
    "pool_acquired",
    "pool_unsent",
    "pool_refused",
    "connection_area",
)
"""The counters of every instance marked as a fault starts and ends (NaN where an
instance has none): what its utilisation, occupancies and offered load while the fault
lasted are differences of (see :mod:`simperf.metrics.headroom`)."""


STOPPED = MARKED.index("served")
"""The column of a route's row in the log's marks: the calls its breaker failed fast."""


def marked(counters: dict[str, float]) -> list[float]:
    """An instance snapshot's :data:`MARKED` counters, NaN for those it does not keep."""
    return [counters.get(key, math.nan) for key in MARKED]


class FaultLog:
    """Every fault occurrence of a run, and who detected it when.

    An occurrence is a dict: ``fault`` (its index in ``faults``), ``kind``, ``target``
    (as written), ``instances`` (instance names it hit), ``start``, ``end`` (None while
    it lasts), ``detected`` (when a balancer first took one of its instances out of
    rotation, by health check or outlier ejection, or a database's failover noticed its
    primary down; None if none did) and ``restored``
    (when a balancer put it back after the repair); and ``empty``, only where a crash
    found slots of an autoscaled server holding no instance: their names (it hit nothing
    there).

    ``marks[i]`` holds occurrence ``i``'s counters of every instance (the rows of
    ``instances``, the columns :data:`MARKED`) at its start, at its end (None while it
    lasts) and at its detection (None until then): 96 bytes per instance and mark, taken
    without an event of their own; then a row per call route with a breaker (``routes``),
    its fail-fasts in column :data:`STOPPED` (offered to its callee while it lasted).
    The detection splits the fault's time in two stretches that load the rest
    differently: before it, traffic still goes to the failed instance.
    ``switches[i]`` holds ``(time, counters, out)`` each time occurrence ``i`` went out
    of rotation (the first of its instances taken out) or back in (the last put back)
    while it lasted: a balancer that readmits an instance still failing (an ejection run
    its time, a health check passing) sends it traffic again until it is detected again.
    """

    def __init__(self, instances: Sequence[Any] = (), routes: Sequence[Any] = ()) -> None:
        self.instances = list(instances)
        self.routes = list(routes)
        self.marks: list[list[np.ndarray | None]] = []
        self.switches: list[list[tuple[float, np.ndarray, bool]]] = []
        self._out: dict[int, set[str]] = {}  # id(occurrence) -> its instances out of rotation
        self._index: dict[int, int] = {}  # id(occurrence) -> its index
        self.occurrences: list[dict[str, Any]] = []
        self._open: dict[str, list[dict[str, Any]]] = {}  # instance name -> open occurrences
        self._ended: dict[str, dict[str, Any]] = {}  # instance name -> last ended occurrence
        self._empty: list[str] = []  # slots the fault starting now found empty

    def empty(self, name: str) -> None:
        """The fault starting now found slot ``name`` holding no instance (an autoscaled
        server's slot off at that moment): :meth:`start` notes it on the occurrence."""
        self._empty.append(name)

    def start(self, index: int, fault: FaultSpec, target: str, names: list[str], now: float) -> Any:
        """Record a fault starting now; returns the occurrence to :meth:`end`."""
        occurrence = {
            "fault": index,
            "kind": fault.kind,
            "target": target,
            "instances": names,
            "start": now,
            "end": None,
            "detected": None,
            "restored": None,
        }
        if self._empty:  # only then: every other occurrence reads as it did
            occurrence["empty"], self._empty = self._empty, []
        self._index[id(occurrence)] = len(self.occurrences)
        self.occurrences.append(occurrence)
        self.marks.append([self.mark(now), None, None])
        self.switches.append([])
        for name in names:
            self._open.setdefault(name, []).append(occurrence)
        return occurrence

    def end(self, occurrence: dict[str, Any], now: float) -> None:
        """Record the repair of ``occurrence``."""
        occurrence["end"] = now
        self.marks[self._index[id(occurrence)]][1] = self.mark(now)
        self._out.pop(id(occurrence), None)
        for name in occurrence["instances"]:
            self._open[name].remove(occurrence)
            self._ended[name] = occurrence

    def mark(self, now: float) -> np.ndarray:
        """Every instance's :data:`MARKED` counters at ``now`` (no queue peak reset)."""
        counters = np.array(
            [marked(inst.snapshot(now, window=False)) for inst in self.instances], dtype=float
        ).reshape(len(self.instances), len(MARKED))
        if not self.routes:
            return counters
        stops = np.full((len(self.routes), len(MARKED)), np.nan)
        stops[:, STOPPED] = [route.fail_fast for route in self.routes]
        return np.vstack([counters, stops])

    def detected(self, instance: str, now: float) -> None:
        """A balancer took ``instance`` out of rotation at ``now`` (or a database's
        failover noticed it down): the counters are marked where the first detection of
        each open occurrence splits it."""
        for occurrence in self._open.get(instance, ()):
            index = self._index[id(occurrence)]
            if occurrence["detected"] is None:
                occurrence["detected"] = now
                self.marks[index][2] = self.mark(now)
            out = self._out.setdefault(id(occurrence), set())
            if not out:  # out of rotation from now on
                self.switches[index].append((now, self.mark(now), True))
            out.add(instance)

    def restored(self, instance: str, now: float) -> None:
        """A balancer put ``instance`` back into rotation at ``now``."""
        for occurrence in self._open.get(instance, ()):  # still failing: traffic again
            out = self._out.get(id(occurrence))
            if out and instance in out:
                out.discard(instance)
                if not out:
                    index = self._index[id(occurrence)]
                    self.switches[index].append((now, self.mark(now), False))
        occurrence = self._ended.get(instance)
        if (
            occurrence is not None
            and occurrence["restored"] is None
            and not self._open.get(instance)
        ):
            occurrence["restored"] = now


def schedule_faults(
    ctx: Context,
    components: dict[str, Component],
    faults: Sequence[FaultSpec],
    instances: Sequence[Any] = (),
) -> FaultLog:
    """Start the processes of every fault; returns the run's log (also ``ctx.faults``),
    which marks the counters of ``instances`` as each occurrence starts and ends, and the
    fail-fasts of the call routes with a breaker."""
    routes = [c for c in components.values() if c.kind == "route" and c.breaker is not None]
    log = FaultLog(instances, routes)
    ctx.faults = log
    for index, fault in enumerate(faults):
        own = [] if fault.component is None else _own_instances(components[fault.component])
        if fault.random and own and fault.instance is None:
            # each instance on its own: independent failures
            component = components[fault.component]  # type: ignore[index]
            units = [([(component, k)], inst.name) for k, inst in enumerate(own)]
        else:
            units = [(_members(ctx, components, fault), fault.label)]
        for members, target in units:
            start, end = _actions(ctx, fault, members)
            names = _names(fault, members)
            spells = _random(ctx, index, fault, target) if fault.random else _scheduled(fault)
            ctx.env.process(_outages(ctx, index, fault, target, names, start, end, spells))
    return log


def _own_instances(component: Component) -> list[Any]:
    """Instances that belong to ``component`` (a balancer lists its backends')."""
    return [i for i in getattr(component, "instances", []) if i.component == component.name]


def _members(ctx: Context, components: dict[str, Component], fault: FaultSpec) -> list[Member]:
    if fault.component is not None:
        return [(components[fault.component], fault.instance)]
    if fault.group is not None:
        parsed = [parse_member(m) for m in fault.group]
        return [(components[m[0]], m[1]) for m in parsed if m is not None]
    if fault.region is not None:
        network = ctx.network
        region = network.index[fault.region]
        return [
            (component, None)
            for name, component in components.items()
            if network.region_of.get(name) == region
        ]
    return []


def _names(fault: FaultSpec, members: list[Member]) -> list[str]:
    """Instance names a fault hits (a balancer's own name; a path's label)."""
    if fault.between is not None:
        return [fault.label]
    names = []
    for component, instance in members:
        own = _own_instances(component)
        if not own:
            names.append(component.name)
        else:
            names += [inst.name for inst in (own if instance is None else [own[instance]])]
    return names


def _actions(
    ctx: Context, fault: FaultSpec, members: list[Member]
) -> tuple[Callable[[], None], Callable[[], None]]:
    """(start, end) of the fault on its members."""
    kind = fault.kind
    if fault.between is not None:
        network = ctx.network
        a, b = (network.index[r] for r in fault.between)
        if kind == "latency":
            extra = fault.latency
            return (lambda: network.spike(a, b, extra)), (lambda: network.spike(a, b, -extra))
        timeout = fault.connect_timeout
        return (lambda: network.partition(a, b, timeout)), (lambda: network.heal(a, b))

    def each(act: Callable[[Component, int | None], None]) -> Callable[[], None]:
        def apply() -> None:
            for component, instance in members:
                act(component, instance)

        return apply

    if kind == "crash":
        timeout = fault.connect_timeout
        mode = fault.in_service
        if mode != "complete":  # app servers only (checked with the spec)
            start = each(lambda c, i: c.fail(i, timeout, mode))
        elif timeout:
            start = each(lambda c, i: c.fail(i, timeout))
        else:
            start = each(lambda c, i: c.fail(i))
        return start, each(lambda c, i: c.recover(i))
    if kind == "slow":
        factor = fault.factor
        return each(lambda c, i: c.slow(i, factor)), each(lambda c, i: c.slow(i, 1.0))
    fraction = fault.fraction
    return (
        each(lambda c, i: c.inject_errors(i, fraction)),
        each(lambda c, i: c.inject_errors(i, 0.0)),
    )


def _scheduled(fault: FaultSpec) -> Iterator[tuple[float, float]]:
    """Once: up until ``at``, down ``for``."""
    assert fault.at is not None and fault.for_ is not None
    yield fault.at, fault.for_


def _random(
    ctx: Context, index: int, fault: FaultSpec, target: str
) -> Iterator[tuple[float, float]]:
    """Up for a time to failure, down for a time to repair, over and over (each on its
    own stream)."""
    ttf = ctx.sampler(fault.mtbf, target, f"fault:{index}:ttf")
    ttr = ctx.sampler(fault.mttr, target, f"fault:{index}:ttr")
    while True:
        yield ttf(), ttr()


def _outages(
    ctx: Context,
    index: int,
    fault: FaultSpec,
    target: str,
    names: list[str],
    start: Callable[[], None],
    end: Callable[[], None],
    spells: Iterator[tuple[float, float]],
) -> Process:
    """The fault's process: for each (up, down) spell, wait, start it, wait, end it, and
    log the occurrence."""
    env = ctx.env
    for up, down in spells:
        yield env.timeout(up)
        start()
        occurrence = ctx.faults.start(index, fault, target, names, env.now)
        yield env.timeout(down)
        end()
        ctx.faults.end(occurrence, env.now)
