"""The fault timeline: scheduled down times of components.

``faults: [{component: cache, at: 30s, for: 10s}]`` takes every node of ``cache`` down at
t = 30 s for 10 s; ``instance: 1`` takes only its second node down. While down a cache
node has lost its contents (and, under write-back, its unflushed writes) and serves
nothing; what callers do then is the component's choice (``on_down``). A failed app
instance refuses new requests (balancers send them to the instances that are up), fails
those still queued for a worker as ``instance_down``, and loses the sessions it held in
memory; requests it was already serving complete. A balancer with a ``health_check``
notices the failure only when its probes do (see
:class:`simperf.spec.load_balancer.HealthCheckSpec`).

A database's servers are numbered per shard, its primary then its replicas; a failed
replica's reads go to the others, a failed primary's writes fail until ``failover``
promotes a replica (:mod:`simperf.components.db_failover`). A CDN's instances are its
edges, in the order of ``edges``; a down edge's clients go to the shield or the origin.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import Field

from simperf.spec.base import MAX_COUNT, MAX_TIME, SpecModel, Time

if TYPE_CHECKING:  # pragma: no cover
    from simperf.spec.scenario import Scenario

FAULTABLE_KINDS = frozenset({"app_server", "cache", "cdn", "database", "sharded_database"})
"""Component kinds that support faults."""


class FaultSpec(SpecModel):
    """One outage: ``component`` (or one of its instances) is down from ``at`` for ``for``."""

    component: str = Field(min_length=1, max_length=64, description="name of the component")
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
    at: Time = Field(ge=0, le=MAX_TIME, description="when the outage starts (simulated time)")
    for_: Time = Field(alias="for", gt=0, le=MAX_TIME, description="how long it lasts")


def fault_problems(scenario: Scenario) -> list[str]:
    """Every problem with ``faults`` references, each as ``path: message``."""
    problems = []
    components = scenario.components
    for i, fault in enumerate(scenario.faults):
        path = f"faults[{i}]"
        spec = components.get(fault.component)
        if spec is None:
            known = ", ".join(sorted(components))
            problems.append(f"{path}.component: unknown component {fault.component!r} ({known})")
        elif spec.kind not in FAULTABLE_KINDS:
            problems.append(
                f"{path}.component: {fault.component!r} cannot fail (its kind is {spec.kind}); "
                f"only {', '.join(sorted(FAULTABLE_KINDS))} components can fail so far"
            )
        elif fault.instance is not None and fault.instance >= _instances(spec):
            problems.append(
                f"{path}.instance: {fault.component!r} has {_instances(spec)} instance(s), "
                f"numbered from 0"
            )
    return problems


def _instances(spec: Any) -> int:
    """Instances a fault can name: a database's servers (per shard its primary, then its
    replicas), a CDN's edges, a cache's nodes, an app server's replicas."""
    if spec.kind in ("database", "sharded_database"):
        return int(spec.shard_count * (1 + spec.read_replicas))
    if spec.kind == "cdn":
        return len(spec.edges)
    return int(getattr(spec, "nodes", getattr(spec, "replicas", 1)))
