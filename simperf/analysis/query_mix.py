"""Which queries a workload runs, and how often per request, read off the spec.

Used where a rate must be known before anything runs: the buffer pool's page mix
(:mod:`simperf.analysis.buffer_pool`) and the variants EXPLAIN shows. Calls are followed
through app servers, balancers (traffic split by the backends' instance counts) and
parallel steps; loops are impossible (the scenario refuses call cycles).
"""

from __future__ import annotations

from collections import defaultdict
from typing import NamedTuple

from simperf.spec.app_server import AppServerSpec, CallStep, ParallelStep
from simperf.spec.database import QueryStep
from simperf.spec.database_refs import is_database
from simperf.spec.load_balancer import LoadBalancerSpec
from simperf.spec.scenario import Scenario


class Variant(NamedTuple):
    """A query as a step runs it: its name and the step's page options."""

    query: str
    limit: int | None = None
    offset: int = 0
    pagination: str = "offset"


def query_rates(scenario: Scenario) -> dict[str, dict[Variant, float]]:
    """database -> variant -> expected executions per request of the workload."""
    rates: dict[str, dict[Variant, float]] = defaultdict(lambda: defaultdict(float))
    classes = scenario.workload.classes
    total = sum(c.weight for c in classes)
    for request_class in classes:
        _visit(
            scenario,
            request_class.entry,
            request_class.endpoint,
            request_class.weight / total,
            rates,
        )
    return {db: dict(variants) for db, variants in rates.items()}


def _visit(
    scenario: Scenario,
    component: str,
    endpoint: str,
    weight: float,
    rates: dict[str, dict[Variant, float]],
) -> None:
    spec = scenario.components[component]
    if is_database(spec):
        rates[component][Variant(endpoint)] += weight
    elif isinstance(spec, LoadBalancerSpec):
        sizes = {b: _instances(scenario, b) for b in spec.backends}
        count = sum(sizes.values())
        for backend, size in sizes.items():
            _visit(scenario, backend, endpoint, weight * size / count, rates)
    elif isinstance(spec, AppServerSpec):
        for step in spec.endpoints[endpoint]:
            if isinstance(step, CallStep):
                target, target_endpoint = step.call.split(".")
                _visit(scenario, target, target_endpoint, weight, rates)
            elif isinstance(step, ParallelStep):
                for call in step.parallel:
                    target, target_endpoint = call.split(".")
                    _visit(scenario, target, target_endpoint, weight, rates)
            elif isinstance(step, QueryStep):
                variant = Variant(step.query, step.limit, step.offset, step.pagination)
                rates[step.database][variant] += weight * step.repeat


def _instances(scenario: Scenario, component: str) -> int:
    spec = scenario.components[component]
    return spec.replicas if isinstance(spec, AppServerSpec) else 1
