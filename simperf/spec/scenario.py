"""The scenario: workload, components and run settings, with cross-references checked."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import Field, model_validator

from simperf.spec import database_refs, instances, topology
from simperf.spec.alerts import AlertSpec, alert_problems
from simperf.spec.base import IDENTIFIER, SpecModel
from simperf.spec.cache_checks import cache_problems, class_key_problems
from simperf.spec.cache_ops_checks import cache_ops_problems
from simperf.spec.closed_loop import closed_loop_problems
from simperf.spec.components import ComponentSpec
from simperf.spec.faults import FaultSpec, fault_problems, warn_about_late
from simperf.spec.keyspace import KeyspaceSpec
from simperf.spec.load_balancer import LoadBalancerSpec
from simperf.spec.network import NetworkSpec
from simperf.spec.overrides import apply_overrides
from simperf.spec.run import RunSettings
from simperf.spec.slo import SloSpec, slo_problems
from simperf.spec.workload import PiecewiseArrival, Workload

RESERVED_NAMES = frozenset({"all"})
MAX_CALL_DEPTH = 100
"""Longest chain of nested endpoint calls (each hop nests one generator in the runtime)."""


class Scenario(SpecModel):
    """A complete, validated scenario: what to simulate and how to run it.

    Examples
    --------
    >>> from simperf.spec.io import from_dict
    >>> s = from_dict({
    ...     "name": "mm1",
    ...     "workload": {"arrival": {"kind": "poisson", "rate": "90/s"},
    ...                  "classes": [{"name": "req", "entry": "app", "endpoint": "serve"}]},
    ...     "components": {"app": {"kind": "app_server",
    ...                            "endpoints": {"serve": [{"cpu": {"dist": "exponential",
    ...                                                             "mean": "10ms"}}]}}},
    ... })
    >>> s.with_overrides({"components.app.cores": 2}).components["app"].cores
    2
    """

    name: str = Field(min_length=1, max_length=200, description="scenario name")
    description: str = Field("", max_length=100_000, description="free text")
    workload: Workload = Field(description="how requests arrive and what they ask for")
    components: dict[str, ComponentSpec] = Field(
        min_length=1, max_length=10_000, description="component name -> component spec"
    )
    network: NetworkSpec | None = Field(
        None, description="regions, latencies and links (default: everything co-located)"
    )
    keyspaces: dict[str, KeyspaceSpec] = Field(
        default_factory=dict,
        max_length=10_000,
        description="key space name -> key space, shared by request classes, caches and tables",
    )
    faults: list[FaultSpec] = Field(
        default_factory=list,
        max_length=10_000,
        description="faults of components, regions and network paths: crashes, slowdowns, "
        "errors, latency spikes, partitions (scheduled or random)",
    )
    run: RunSettings = Field(default_factory=RunSettings, description="run settings")
    alerts: list[AlertSpec] = Field(
        default_factory=list,
        max_length=1000,
        description="alerts on the time series, evaluated after the run",
    )
    slo: list[SloSpec] = Field(
        default_factory=list,
        max_length=100,
        description="service-level objectives judged over replications (simperf capacity)",
    )
    catalogue: str | None = Field(
        None,
        min_length=1,
        max_length=4096,
        description="file of instance types components pick with instance_type "
        "(default: the built-in one, illustrative list prices)",
    )

    @model_validator(mode="before")
    @classmethod
    def _instance_types(cls, data: Any) -> Any:
        # what an instance_type sets (cores, memory) is filled in before fields are checked
        return instances.fill_from_types(data)

    @model_validator(mode="after")
    def _cross_references(self) -> Scenario:
        problems = list(_check_references(self))
        if problems:
            raise ValueError("\n".join(problems))
        database_refs.warn_about(self)
        warn_about_late(self)
        return self

    def with_overrides(
        self,
        overrides: dict[str, Any],
        *,
        flag: str | Mapping[str, str] = "--set",
        argument: str = "overrides",
    ) -> Scenario:
        """A new validated scenario with dotted-path overrides applied.

        Parameters
        ----------
        overrides
            ``{"components.app.replicas": 8, "workload.arrival.rate": "5000/s"}``.
        flag
            The option the command line's wording of an error (its ``command_line``)
            names as having given an override (``--grid``), or a mapping of paths to
            theirs (:func:`~simperf.spec.overrides.apply_overrides`).
        argument
            The Python argument an error names as having given it:
            ``overrides components.app.cores=0: components.app.cores: must be >= 1``.

        Raises
        ------
        SpecError
            If a path does not exist or the result is invalid.
        """
        return apply_overrides(self, overrides, flag=flag, argument=argument)

    def endpoints_of(self, component: str) -> set[str]:
        """Endpoint names a component answers (a balancer answers its backends' common ones)."""
        return topology.endpoints_of(self, component)


def _check_references(scenario: Scenario) -> list[str]:
    """Every cross-reference problem, each as ``path: message``."""
    problems: list[str] = []
    components = scenario.components
    known = ", ".join(sorted(components))
    for name in components:
        path = f"components.{name}"
        if not _is_identifier(name):
            problems.append(f"{path}: component names may use only letters, digits and _")
        if name in RESERVED_NAMES:
            problems.append(f"{path}: the name {name!r} is reserved")
    broken = topology.reference_problems(scenario)
    problems += broken
    for i, request_class in enumerate(scenario.workload.classes):
        path = f"workload.classes[{i}]"
        if request_class.entry not in components:
            problems.append(
                f"{path}.entry: unknown component {request_class.entry!r} (known: {known})"
            )
            continue
        endpoints = scenario.endpoints_of(request_class.entry)
        if not endpoints and broken:
            continue  # a balancer or CDN whose backend is wrong: named above, not again
        if request_class.endpoint not in endpoints:
            have = ", ".join(sorted(endpoints)) or "none"
            problems.append(
                f"{path}.endpoint: {request_class.entry!r} has no endpoint "
                f"{request_class.endpoint!r} (it has: {have})"
            )
    problems.extend(_check_traffic(scenario))
    problems += cache_problems(scenario)
    problems += cache_ops_problems(scenario)
    problems += fault_problems(scenario)
    problems += alert_problems(scenario)
    problems += slo_problems(scenario)
    if not problems:
        problems += class_key_problems(scenario)
    if not problems:
        cycle = topology.call_cycle(scenario)
        if cycle:
            problems.append(f"components: calls form a cycle: {' -> '.join(cycle)}")
        else:
            chain = topology.longest_call_chain(scenario)
            if len(chain) > MAX_CALL_DEPTH:
                shown = " -> ".join([*chain[:3], "...", *chain[-2:]])
                problems.append(
                    f"components.{chain[0].replace('.', '.endpoints.', 1)}: calls nest "
                    f"{len(chain)} deep ({shown}); at most {MAX_CALL_DEPTH} are allowed"
                )
            problems += closed_loop_problems(scenario)
    return problems


def _check_traffic(scenario: Scenario) -> list[str]:
    """Regions, client populations, balancing policies and arrival profiles."""
    problems: list[str] = []
    network = scenario.network
    regions = network.regions if network is not None else []
    known = ", ".join(regions)
    clients = scenario.workload.clients

    def check_region(path: str, region: str) -> None:
        if network is None:
            problems.append(f"{path}: {region!r} needs a network section listing the regions")
        elif region not in regions:
            problems.append(f"{path}: unknown region {region!r} (regions: {known})")

    for name, spec in scenario.components.items():
        region = getattr(spec, "region", None)  # databases run in the first region
        if region is not None:
            check_region(f"components.{name}.region", region)
        if not isinstance(spec, LoadBalancerSpec):
            continue
        path = f"components.{name}"
        if spec.policy == "geographic" and network is None:
            problems.append(f"{path}.policy: geographic needs a network section with regions")
        if spec.policy == "ip_hash" and (clients is None or clients.addresses is None):
            problems.append(f"{path}.policy: ip_hash needs workload.clients.addresses")
        check = spec.health_check
        if check is not None and check.endpoint is not None:
            answered = scenario.endpoints_of(name)
            if check.endpoint not in answered:
                problems.append(
                    f"{path}.health_check.endpoint: {check.endpoint!r} is not an endpoint of "
                    f"every backend (common endpoints: {', '.join(sorted(answered)) or 'none'})"
                )
        for backend in spec.weights or {}:
            if backend not in spec.backends:
                problems.append(
                    f"{path}.weights.{backend}: not a backend (backends: "
                    f"{', '.join(spec.backends)})"
                )
    if clients is not None and clients.regions is not None:
        for region in clients.regions:
            check_region(f"workload.clients.regions.{region}", region)
    arrival = scenario.workload.arrival
    if isinstance(arrival, PiecewiseArrival) and arrival.period is None:
        horizon = scenario.run.horizon
        if horizon is None:
            problems.append(
                "workload.arrival.period: a profile that does not repeat needs run.duration "
                "(its rate is the mean over the run)"
            )
        elif not any(rate > 0 and start < horizon for start, rate in arrival.profile):
            problems.append("workload.arrival.profile: no arrivals before the end of the run")
    return problems


def _is_identifier(name: str) -> bool:
    import re

    return re.match(IDENTIFIER, name) is not None
