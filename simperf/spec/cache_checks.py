"""Scenario-wide checks of key spaces: their names, the trace that drives arrivals, the
classes that draw keys, and what several write steps must agree on.

A step's own references (the cache it names) are its :meth:`StepKind.problems`; these
are the checks no single component can make. Every problem is one ``path: message`` line.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from simperf.spec import topology
from simperf.spec.base import IDENTIFIER
from simperf.spec.cache import CacheSpec, ReadStep, WriteStep
from simperf.spec.keyspace import TracePopularity

if TYPE_CHECKING:  # pragma: no cover
    from simperf.spec.scenario import Scenario


def cache_problems(scenario: Scenario) -> list[str]:
    """Every scenario-wide problem with key spaces and the writes to caches.

    Each is ``path: message``. Checked: key space names; the trace arrival's key space;
    each class's key space exists; every write to one write_back cache uses the backing
    store its flusher writes to.
    """
    keyspaces = scenario.keyspaces
    known_keyspaces = ", ".join(sorted(keyspaces)) or "none defined under keyspaces"
    problems = [
        f"keyspaces.{name}: names may use only letters, digits and _"
        for name in keyspaces
        if re.match(IDENTIFIER, name) is None
    ]
    problems += _check_trace_arrival(scenario)
    for i, request_class in enumerate(scenario.workload.classes):
        if request_class.keyspace is not None and request_class.keyspace not in keyspaces:
            problems.append(
                f"workload.classes[{i}].keyspace: unknown key space "
                f"{request_class.keyspace!r} (known: {known_keyspaces})"
            )
    return problems + _check_flush_targets(scenario)


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


def _check_flush_targets(scenario: Scenario) -> list[str]:
    """One write_back cache flushes to one store: every write to it names that store."""
    problems = []
    first: dict[str, tuple[str, Any]] = {}
    for path, _, _, step in topology.all_steps(scenario):
        if not isinstance(step, WriteStep) or step.write.backing is None:
            continue
        cache = scenario.components.get(step.write.cache or "")
        if not isinstance(cache, CacheSpec) or cache.write_policy != "write_back":
            continue
        name, backing = step.write.cache, step.write.backing
        earlier = first.setdefault(name, (f"{path}.write", backing))
        if earlier[1] != backing:
            problems.append(
                f"{path}.write.backing: every write to the write_back cache {name!r} must "
                f"use the backing store its flusher writes to, as {earlier[0]} does"
            )
    return problems


def class_key_problems(scenario: Scenario) -> list[str]:
    """Each class reaching a cache or write step has the right key space.

    Run on a scenario whose references are all sound (it walks the topology).
    """
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
