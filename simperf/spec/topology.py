"""The one walker over a scenario's topology, through the kind protocol.

Every question about who reaches whom is answered here, from each component spec's
answers (:mod:`simperf.spec.kind`): the endpoints a component answers, the references
to check, call cycles, the traffic an entry point sends on (weighted), and where each
component runs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from simperf.spec.kind import Forward, StepKind

if TYPE_CHECKING:  # pragma: no cover
    from simperf.spec.scenario import Scenario

Scale = Callable[[str, Forward], "float | None"]
"""A caller's factor for a forward from a component that the spec cannot weigh alone (a
cache's miss ratio for its backing reads); None: do not follow it."""


def endpoints_of(scenario: Scenario, component: str) -> set[str]:
    """Endpoint names ``component`` answers (a balancer: its backends' common ones)."""
    return scenario.components[component].endpoint_names(scenario, frozenset({component}))


def reference_problems(scenario: Scenario) -> list[str]:
    """Each kind's own problems, then every checked forward to an unknown target."""
    components = scenario.components
    known = ", ".join(sorted(components))
    problems: list[str] = []
    for name, spec in components.items():
        problems += spec.problems(scenario, name)
        for endpoint in sorted(spec.endpoint_names(scenario)):
            for f in spec.forwards(scenario, endpoint):
                if f.via not in spec.checked_calls:
                    continue
                path = f"components.{name}.{f.path}"
                if f.component not in components:
                    problems.append(
                        f"{path}: calls unknown component {f.component!r} (known: {known})"
                    )
                    continue
                have = endpoints_of(scenario, f.component)
                if f.endpoint not in have:
                    problems.append(
                        f"{path}: {f.component!r} has no endpoint {f.endpoint!r} "
                        f"(it has: {', '.join(sorted(have)) or 'none'})"
                    )
    return problems


def call_graph(scenario: Scenario) -> dict[str, list[str]]:
    """``component.endpoint`` -> the endpoints it calls (balancers resolved to backends)."""
    graph: dict[str, list[str]] = {}
    for name, spec in scenario.components.items():
        for endpoint in spec.endpoint_names(scenario):
            for f in spec.forwards(scenario, endpoint):
                if f.via in spec.checked_calls:
                    graph.setdefault(f"{name}.{endpoint}", []).extend(
                        f"{g.component}.{g.endpoint}" for g in _through_balancers(scenario, f)
                    )
    return graph


def served_by(scenario: Scenario, component: str) -> list[str]:
    """The components that serve what is sent to ``component``: itself, or a balancer's
    backends (through balancers in front of balancers)."""
    return [f.component for f in _through_balancers(scenario, Forward(component, ""))]


def _through_balancers(scenario: Scenario, f: Forward) -> Iterator[Forward]:
    target = scenario.components[f.component]
    if target.kind == "load_balancer":
        for backend in target.forwards(scenario, f.endpoint):
            yield from _through_balancers(scenario, backend)
    else:
        yield f


def call_cycle(scenario: Scenario) -> list[str] | None:
    """A cycle of endpoint calls (which would recurse forever), or None.

    Depth-first with an explicit stack: a chain of thousands of calls must not exhaust
    Python's recursion limit.
    """
    graph = call_graph(scenario)
    state: dict[str, int] = {}
    for root in graph:
        if root in state:
            continue
        state[root] = 1
        path = [root]
        iterators = [iter(graph.get(root, []))]
        while iterators:
            nxt = next(iterators[-1], None)
            if nxt is None:
                state[path.pop()] = 2
                iterators.pop()
            elif state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            elif nxt not in state:
                state[nxt] = 1
                path.append(nxt)
                iterators.append(iter(graph.get(nxt, [])))
    return None


def longest_call_chain(scenario: Scenario) -> list[str]:
    """The longest chain of nested endpoint calls (the call graph has no cycle)."""
    graph = call_graph(scenario)
    longest: dict[str, int] = {}
    following: dict[str, str | None] = {}
    for root in graph:
        stack = [root]
        while stack:
            node = stack[-1]
            if node in longest:
                stack.pop()
                continue
            pending = [n for n in graph.get(node, []) if n not in longest]
            if pending:
                stack.extend(pending)
                continue
            stack.pop()
            best = max(graph.get(node, []), key=lambda n: longest[n], default=None)
            longest[node] = 1 + (longest[best] if best is not None else 0)
            following[node] = best
    start = max(longest, key=lambda n: longest[n], default=None)
    chain = []
    while start is not None:
        chain.append(start)
        start = following.get(start)
    return chain


def walk(
    scenario: Scenario,
    component: str,
    endpoint: str,
    weight: float,
    scale: Scale,
    via: Forward | None = None,
) -> Iterator[tuple[str, str, float, Forward | None]]:
    """Every (component, endpoint, calls per request, forward reaching it) from an entry.

    ``weight`` is the entry's share of requests; each forward multiplies it by its own
    weight and by ``scale(component, forward)``. Loops are impossible (the scenario refuses them).
    """
    yield component, endpoint, weight, via
    spec = scenario.components[component]
    for f in spec.forwards(scenario, endpoint):
        factor = scale(component, f)
        if factor is not None:
            yield from walk(scenario, f.component, f.endpoint, weight * f.weight * factor, scale, f)


def reachable(scenario: Scenario, component: str, endpoint: str) -> list[tuple[str, str]]:
    """Every (component, endpoint) a call to ``component.endpoint`` may reach, itself first.

    Forwards to unknown components are skipped (the reference checks report them).
    """
    found: list[tuple[str, str]] = []
    seen: set[tuple[str, str]] = set()
    pending = [(component, endpoint)]
    while pending:
        node = pending.pop()
        if node in seen or node[0] not in scenario.components:
            continue
        seen.add(node)
        found.append(node)
        spec = scenario.components[node[0]]
        pending += [(f.component, f.endpoint) for f in spec.forwards(scenario, node[1])]
    return found


def served_endpoints(scenario: Scenario) -> set[tuple[str, str]]:
    """Every (component, endpoint) something may call: the request classes' entries, the
    balancers' health-check endpoints, the session re-authentications and all they reach
    (:func:`reachable`). An endpoint outside it is never compiled, nor run."""
    roots = [(c.entry, c.endpoint) for c in scenario.workload.classes]
    for name, spec in scenario.components.items():
        check = getattr(spec, "health_check", None)
        if check is not None and check.endpoint is not None:
            roots.append((name, check.endpoint))
        sessions = getattr(spec, "sessions", None)
        if sessions is not None and sessions.reauth is not None:
            roots.append((name, sessions.reauth))
    return {node for root in roots for node in reachable(scenario, *root)}


def all_steps(scenario: Scenario) -> Iterator[tuple[str, str, str, StepKind]]:
    """Every step of every component as (path, component, endpoint, step), in the order
    they are written; ``path`` is ``components.<component>.endpoints.<endpoint>[<i>]``."""
    for name, spec in scenario.components.items():
        for endpoint, steps in spec.endpoint_steps().items():
            for index, step in enumerate(steps):
                yield f"components.{name}.endpoints.{endpoint}[{index}]", name, endpoint, step


def locate(scenario: Scenario) -> dict[str, int | None]:
    """Component -> index of its region (None: where its caller or client is)."""
    assert scenario.network is not None
    regions = list(scenario.network.regions)
    return {name: spec.location(regions) for name, spec in scenario.components.items()}
