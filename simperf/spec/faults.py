"""The fault timeline: what fails, how, and when.

A fault has a **target**, a **kind** and a **timing**.

Targets: ``component`` (every instance, or ``instance: 1`` only), ``group`` (a list of
``component`` or ``component[i]`` that fail together, a rack), ``region`` (every instance of
every component located there), or, for link faults, ``between: [eu, us]`` (the network
path between two regions, both ways).

Kinds (a component kind lists those it supports in its spec's ``fault_kinds``):

- ``crash`` (default): the instance stops answering. New requests are refused, after
  ``connect_timeout`` where the kind models connection attempts (app servers); requests
  queued for a worker fail as ``instance_down``; those in service complete, or, on app
  servers, with ``in_service: fail`` fail at once as ``instance_down`` (a connection
  reset), with ``in_service: hang`` never get an answer (they end at the caller's
  timeout, if any). A cache node loses its contents; an app instance loses the sessions
  it held in memory.
- ``slow``: service takes ``factor`` times longer (CPU and delay steps): the gray failure
  that a liveness probe does not see.
- ``errors``: a ``fraction`` of the requests fail fast as ``injected_error``.
- ``latency``: every one-way trip on the path ``between`` two regions takes ``latency``
  longer.
- ``partition``: calls across the path ``between`` two regions fail as ``partitioned``
  after ``connect_timeout``.

Timings: scheduled (``at``, ``for``), or random and repeating (``mtbf`` and ``mttr``, the
distributions of the time to failure and the time to repair): each targeted instance fails
independently, on its own random stream, unless the target is a ``group`` or a ``region``,
which fails as one. A balancer with a ``health_check`` or ``outlier_detection`` notices
only when its probes or its traffic do (see :mod:`simperf.spec.load_balancer`).

A database's servers are numbered per shard, its primary then its replicas; a failed
replica's reads go to the others, a failed primary's writes fail until ``failover``
promotes a replica (:mod:`simperf.components.db_failover`). A CDN's instances are its
edges, in the order of ``edges``; a down edge's clients go to the shield or the origin.
An autoscaled app server's instances are its slots, up to ``autoscaling.max`` (one only
autoscaling fills included): a crash of a slot that holds no instance at that moment hits
nothing (its occurrence lists the slot under ``empty``), and a ``slow`` or ``errors``
fault acts on whatever instance the slot holds while it lasts.
"""

from __future__ import annotations

import re
import warnings
from itertools import combinations
from typing import TYPE_CHECKING, Literal

from pydantic import Field, model_validator

from simperf.errors import SimperfWarning
from simperf.spec.base import MAX_COUNT, MAX_TIME, SpecModel, Time
from simperf.spec.distributions import Distribution
from simperf.units import format_time

if TYPE_CHECKING:  # pragma: no cover
    from simperf.spec.scenario import Scenario

FaultKind = Literal["crash", "slow", "errors", "latency", "partition"]
InService = Literal["complete", "fail", "hang"]
LINK_KINDS = frozenset({"latency", "partition"})
"""Fault kinds of a network path (target ``between``), not of a component."""

_MEMBER = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)(?:\[(\d+)\])?$")


class FaultSpec(SpecModel):
    """One fault: a target, a kind, and a schedule (``at``/``for``) or ``mtbf``/``mttr``."""

    kind: FaultKind = Field("crash", description="what goes wrong")
    component: str | None = Field(
        None, min_length=1, max_length=64, description="name of the component that fails"
    )
    instance: int | None = Field(
        None,
        ge=0,
        lt=MAX_COUNT,
        description=(
            "index of the instance that fails (cache node, app instance, CDN edge in the "
            "order of edges, database server: per shard its primary, then its replicas); "
            "null: all"
        ),
    )
    group: list[str] | None = Field(
        None,
        min_length=1,
        max_length=1000,
        description="components or instances (component[i]) that fail together",
    )
    region: str | None = Field(
        None, min_length=1, max_length=64, description="every instance located there fails"
    )
    between: list[str] | None = Field(
        None,
        min_length=2,
        max_length=2,
        description="latency, partition: the two regions whose path is affected",
    )
    at: Time | None = Field(
        None, ge=0, le=MAX_TIME, description="when the fault starts (simulated time)"
    )
    for_: Time | None = Field(None, alias="for", gt=0, le=MAX_TIME, description="how long it lasts")
    mtbf: Distribution | None = Field(
        None, description="time to failure, drawn anew after each repair (random faults)"
    )
    mttr: Distribution | None = Field(None, description="time to repair (random faults)")
    factor: float | None = Field(
        None, gt=1, le=1e6, description="slow: service takes this many times longer"
    )
    fraction: float | None = Field(
        None, gt=0, le=1, description="errors: share of requests that fail fast"
    )
    latency: Time | None = Field(
        None, gt=0, le=MAX_TIME, description="latency: extra delay of each one-way trip"
    )
    connect_timeout: Time = Field(
        0.0,
        ge=0,
        le=MAX_TIME,
        description="crash, partition: how long a caller waits before the call fails "
        "(0: refused at once)",
    )

    in_service: InService = Field(
        "complete",
        description="crash of app servers: what happens to the requests in service "
        "(holding a worker): complete, fail as instance_down at the crash, or hang "
        "unanswered until the caller's timeout",
    )

    @model_validator(mode="after")
    def _consistent(self) -> FaultSpec:
        targets = [
            name
            for name, value in (
                ("component", self.component),
                ("group", self.group),
                ("region", self.region),
                ("between", self.between),
            )
            if value is not None
        ]
        if len(targets) != 1:
            raise ValueError(
                "give exactly one target: component, group, region or between "
                f"(got {', '.join(targets) or 'none'})"
            )
        if self.instance is not None and self.component is None:
            raise ValueError("instance: needs component")
        link = self.kind in LINK_KINDS
        if link != (self.between is not None):
            raise ValueError(
                f"between: {self.kind} faults need between: [region, region]"
                if link
                else f"between: only latency and partition faults act on a path, not {self.kind}"
            )
        if self.between is not None and self.between[0] == self.between[1]:
            raise ValueError("between: two different regions")
        required = {"slow": "factor", "errors": "fraction", "latency": "latency"}
        for kind, name in required.items():
            given = getattr(self, name) is not None
            if self.kind == kind and not given:
                raise ValueError(f"{name}: a {kind} fault needs it")
            if self.kind != kind and given:
                raise ValueError(f"{name}: only for {kind} faults")
        if self.connect_timeout and self.kind not in ("crash", "partition"):
            raise ValueError("connect_timeout: only for crash and partition faults")
        if self.in_service != "complete" and self.kind != "crash":
            raise ValueError("in_service: only for crash faults")
        if self.mttr is not None and self.mtbf is None:
            raise ValueError("mttr: needs mtbf (a repair time without a failure time)")
        if self.mtbf is not None:
            if self.mttr is None:
                raise ValueError("mtbf: needs mttr (how long each failure lasts)")
            if self.at is not None or self.for_ is not None:
                raise ValueError(
                    f"{'at' if self.at is not None else 'for'}: give either at and for, "
                    "or mtbf and mttr"
                )
            if self.mtbf.mean <= 0:
                raise ValueError("mtbf: its mean must be > 0")
        elif self.at is None or self.for_ is None:
            missing = "at" if self.at is None else "for"
            raise ValueError(f"{missing}: a fault needs at and for (or mtbf and mttr)")
        return self

    @property
    def random(self) -> bool:
        """Whether it repeats at random (``mtbf``/``mttr``) rather than at ``at``."""
        return self.mtbf is not None

    @property
    def label(self) -> str:
        """Its target as written: ``app[1]``, ``group app[0]+cache``, ``region eu``."""
        if self.component is not None:
            return self.component + ("" if self.instance is None else f"[{self.instance}]")
        if self.group is not None:
            return "group " + "+".join(self.group)
        if self.region is not None:
            return f"region {self.region}"
        assert self.between is not None
        return f"{self.between[0]}<->{self.between[1]}"


def parse_member(member: str) -> tuple[str, int | None] | None:
    """``"app[1]"`` -> ``("app", 1)``, ``"app"`` -> ``("app", None)``; None if malformed."""
    match = _MEMBER.match(member)
    if match is None:
        return None
    return match.group(1), None if match.group(2) is None else int(match.group(2))


def fault_problems(scenario: Scenario) -> list[str]:
    """Every problem with ``faults`` references, each as ``path: message``."""
    problems: list[str] = []
    regions = list(scenario.network.regions) if scenario.network is not None else []
    for i, fault in enumerate(scenario.faults):
        path = f"faults[{i}]"
        if fault.component is not None:
            problems += _member_problems(
                scenario, fault, fault.component, fault.instance, path, grouped=False
            )
        elif fault.group is not None:
            for j, member in enumerate(fault.group):
                parsed = parse_member(member)
                if parsed is None:
                    problems.append(
                        f"{path}.group[{j}]: {member!r} is not component or component[index]"
                    )
                else:
                    problems += _member_problems(
                        scenario, fault, *parsed, f"{path}.group[{j}]", grouped=True
                    )
        elif fault.region is not None:
            problems += _region_problems(scenario, fault, regions, f"{path}.region")
        else:
            assert fault.between is not None
            for j, region in enumerate(fault.between):
                if region not in regions:
                    problems.append(f"{path}.between[{j}]: {_unknown_region(region, regions)}")
    problems += _overlap_problems(scenario)
    return problems


def _member_problems(
    scenario: Scenario,
    fault: FaultSpec,
    component: str,
    instance: int | None,
    path: str,
    *,
    grouped: bool,
) -> list[str]:
    """Problems of one member; ``path`` is the group item's, or the fault's (grouped False)."""
    components = scenario.components
    spec = components.get(component)
    where = path if grouped else f"{path}.component"
    if spec is None:
        known = ", ".join(sorted(components))
        return [f"{where}: unknown component {component!r} ({known})"]
    kinds = type(spec).fault_kinds
    if fault.kind not in kinds:
        can = ", ".join(sorted(kinds)) or "none"
        return [
            f"{where}: {component!r} cannot take a {fault.kind} fault (its kind is "
            f"{spec.kind}; it supports: {can})"
        ]
    if fault.connect_timeout and not type(spec).connect_timeouts:
        return [f"{path}.connect_timeout: a {spec.kind} does not model connection attempts"]
    if fault.in_service != "complete" and spec.kind != "app_server":
        return [f"{path}.in_service: only app servers, not a {spec.kind} ({component!r})"]
    count = spec.fault_instances
    if instance is not None and instance >= count:
        where = path if grouped else f"{path}.instance"
        # an autoscaled server's slots: those it may provision, whatever it starts with
        has = (
            f"at most {count} instances (autoscaling.max)"
            if getattr(spec, "autoscaling", None) is not None
            else f"{count} instance(s)"
        )
        return [f"{where}: {component!r} has {has}, numbered from 0"]
    return []


def _region_problems(
    scenario: Scenario, fault: FaultSpec, regions: list[str], path: str
) -> list[str]:
    region = fault.region
    assert region is not None
    if region not in regions:
        return [f"{path}: {_unknown_region(region, regions)}"]
    index = regions.index(region)
    problems = []
    for name, spec in scenario.components.items():
        if spec.location(regions) != index:
            continue
        if fault.kind not in type(spec).fault_kinds:
            problems.append(
                f"{path}: {name!r} is located in {region} but cannot take a {fault.kind} "
                f"fault (its kind is {spec.kind})"
            )
        elif fault.in_service != "complete" and spec.kind != "app_server":
            problems.append(
                f"{path.rsplit('.', 1)[0]}.in_service: only app servers, but {name!r} "
                f"(a {spec.kind}) is located in {region}"
            )
    return problems


def _unknown_region(region: str, regions: list[str]) -> str:
    if not regions:
        return f"unknown region {region!r} (the scenario has no network regions)"
    return f"unknown region {region!r} (regions: {', '.join(regions)})"


def warn_about_late(scenario: Scenario) -> None:
    """Issue a :class:`SimperfWarning` for each scheduled fault that starts at or after the
    end of a fixed ``run.duration``: it never happens (a run shortened with ``--duration``
    may cut it off on purpose, so it is not refused)."""
    duration = scenario.run.duration
    if duration is None:  # a request budget or a trace: the end is known only after the run
        return
    for i, fault in enumerate(scenario.faults):
        if fault.at is not None and fault.at >= duration:
            warnings.warn(
                f"faults[{i}].at: {format_time(fault.at)} is not before the end of the run "
                f"(run.duration {format_time(duration)}): the fault never happens",
                SimperfWarning,
                stacklevel=2,
            )


def _overlap_problems(scenario: Scenario) -> list[str]:
    """Scheduled faults of one instance must not overlap (its state would be ambiguous)."""
    windows: dict[tuple[str, int], list[tuple[float, float, int]]] = {}
    regions = list(scenario.network.regions) if scenario.network is not None else []
    for i, fault in enumerate(scenario.faults):
        if fault.random or fault.at is None or fault.for_ is None:
            continue
        for key in instances_hit(scenario, fault, regions):
            windows.setdefault(key, []).append((fault.at, fault.at + fault.for_, i))
    problems = []
    reported: set[tuple[int, int]] = set()
    for (component, instance), spans in windows.items():
        for (_, a1, i), (b0, _, j) in combinations(sorted(spans), 2):
            if b0 < a1 and (i, j) not in reported:
                reported.add((i, j))
                problems.append(
                    f"faults[{j}]: overlaps faults[{i}] on {component}[{instance}] "
                    "(scheduled faults of one instance must not overlap)"
                )
    return problems


def instances_hit(
    scenario: Scenario, fault: FaultSpec, regions: list[str]
) -> list[tuple[str, int]]:
    """(component, instance) pairs a component, group or region fault takes."""
    members: list[tuple[str, int | None]] = []
    if fault.component is not None:
        members = [(fault.component, fault.instance)]
    elif fault.group is not None:
        members = [m for m in map(parse_member, fault.group) if m is not None]
    elif fault.region is not None and fault.region in regions:
        index = regions.index(fault.region)
        members = [
            (name, None)
            for name, spec in scenario.components.items()
            if spec.location(regions) == index
        ]
    out = []
    for name, instance in members:
        spec = scenario.components.get(name)
        if spec is None:
            continue
        count = spec.fault_instances
        out += [(name, k) for k in (range(count) if instance is None else [instance]) if k < count]
    return out
