"""Cross-references of key spaces, caches and the steps and classes that use them.

Called from the scenario's validator; every problem is one ``path: message`` line.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from simperf.spec import topology
from simperf.spec.app_server import AppServerSpec
from simperf.spec.base import IDENTIFIER
from simperf.spec.cache import (
    CacheSpec,
    ReadStep,
    WriteSpec,
    WriteStep,
    cache_reference_problems,
)
from simperf.spec.keyspace import TracePopularity

if TYPE_CHECKING:  # pragma: no cover
    from simperf.spec.scenario import Scenario


def cache_problems(scenario: Scenario) -> list[str]:
    """Every problem with key spaces, caches, read/write steps and the classes using them.

    Each is ``path: message``. Checked: key space names and references; each step's
    cache exists and is a cache; writes have somewhere to go (a write_back cache a
    backing store to flush to, the same for all its writes); every class that reaches a
    cache step draws keys from that cache's key space.
    """
    problems: list[str] = []
    components = scenario.components
    keyspaces = scenario.keyspaces
    known_keyspaces = ", ".join(sorted(keyspaces)) or "none defined under keyspaces"
    for name in keyspaces:
        if not _is_identifier(name):
            problems.append(f"keyspaces.{name}: names may use only letters, digits and _")
    problems += _check_trace_arrival(scenario)
    for i, request_class in enumerate(scenario.workload.classes):
        if request_class.keyspace is not None and request_class.keyspace not in keyspaces:
            problems.append(
                f"workload.classes[{i}].keyspace: unknown key space "
                f"{request_class.keyspace!r} (known: {known_keyspaces})"
            )
    flush_targets: dict[str, tuple[str, Any]] = {}
    for name, spec in components.items():
        if not isinstance(spec, AppServerSpec):
            continue
        for endpoint, steps in spec.endpoints.items():
            for index, step in enumerate(steps):
                path = f"components.{name}.endpoints.{endpoint}[{index}]"
                if isinstance(step, ReadStep):
                    problems += cache_reference_problems(
                        scenario, step.read.cache, f"{path}.read.cache"
                    )
                elif isinstance(step, WriteStep):
                    problems += _check_write(scenario, step.write, f"{path}.write", flush_targets)
    if not problems:
        problems += _check_class_keys(scenario)
    return problems


def _check_trace_arrival(scenario: Scenario) -> list[str]:
    arrival = scenario.workload.arrival
    if getattr(arrival, "kind", None) != "trace":
        return []
    path = "workload.arrival.keyspace"
    name = arrival.keyspace  # type: ignore[union-attr]
    spec = scenario.keyspaces.get(name)
    if spec is None:
        known = ", ".join(sorted(scenario.keyspaces)) or "none defined under keyspaces"
        return [f"{path}: unknown key space {name!r} (known: {known})"]
    pop = spec.popularity
    if not isinstance(pop, TracePopularity) or pop.time_column is None:
        return [
            f"{path}: key space {name!r} has no timestamps to drive arrivals (it needs "
            "popularity {model: trace, path: ..., time_column: ...})"
        ]
    return []


def _check_write(
    scenario: Scenario, write: WriteSpec, path: str, flush_targets: dict[str, tuple[str, Any]]
) -> list[str]:
    if write.cache is None:
        if write.backing is None:
            return [f"{path}: give a cache, a backing store or both (it writes nowhere)"]
        return []
    problems = cache_reference_problems(scenario, write.cache, f"{path}.cache")
    if problems:
        return problems
    spec = scenario.components[write.cache]
    assert isinstance(spec, CacheSpec)
    if write.backing is None:
        if spec.write_policy == "write_back":
            return [
                f"{path}.backing: cache {write.cache!r} is write_back and needs a backing "
                "store to flush dirty keys to"
            ]
        return [
            f"{path}.backing: cache {write.cache!r} is {spec.write_policy} and needs the "
            "backing store it writes to"
        ]
    if spec.write_policy == "write_back":
        first = flush_targets.setdefault(write.cache, (path, write.backing))
        if first[1] != write.backing:
            return [
                f"{path}.backing: every write to the write_back cache {write.cache!r} must "
                f"use the backing store its flusher writes to, as {first[0]} does"
            ]
    return []


def _check_class_keys(scenario: Scenario) -> list[str]:
    """Each class reaching a cache or write step has the right key space."""
    problems = []
    for i, request_class in enumerate(scenario.workload.classes):
        path = f"workload.classes[{i}].keyspace"
        for step_path, step in _reachable_key_steps(
            scenario, request_class.entry, request_class.endpoint
        ):
            cache = step.read.cache if isinstance(step, ReadStep) else step.write.cache
            wanted = None
            if cache is not None:
                spec = scenario.components[cache]
                assert isinstance(spec, CacheSpec)
                wanted = spec.keyspace
            if request_class.keyspace is None:
                problems.append(
                    f"{path}: class {request_class.name!r} reaches {step_path}, which needs a "
                    f"key, but has no keyspace"
                    + (f" (the cache {cache!r} holds {wanted!r})" if wanted else "")
                )
                break
            if wanted is not None and request_class.keyspace != wanted:
                problems.append(
                    f"{path}: class {request_class.name!r} draws keys from "
                    f"{request_class.keyspace!r} but reaches {step_path}, whose cache "
                    f"{cache!r} holds {wanted!r}"
                )
                break
    return problems


def _reachable_key_steps(
    scenario: Scenario, component: str, endpoint: str
) -> list[tuple[str, ReadStep | WriteStep]]:
    """Steps acting on the request's key reachable from one endpoint (the topology walk)."""
    return [
        (f"components.{name}.endpoints.{ep}[{index}]", step)
        for name, ep in topology.reachable(scenario, component, endpoint)
        for index, step in enumerate(scenario.components[name].steps(ep))
        if step.keyed
    ]


def _is_identifier(name: str) -> bool:
    return re.match(IDENTIFIER, name) is not None
