"""What a component costs to run: a price per instance and per core, per hour.

Prices are currency-neutral plain numbers per hour (``0.20/h``, ``146/month``). A
component's cost follows from its configured size, not from what the run measured:
each instance costs ``per_instance + per_core x cores ** size_exponent`` (its cores),
so what-ifs on ``replicas``, ``cores`` or ``read_replicas`` change it and sweeps can
report it as the metric ``cost.total_per_hour``. With ``size_exponent`` 1 (the default)
the price is linear in cores; above 1, large instances cost more per core, as the
largest instance sizes of cloud providers tend to.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from simperf.spec.base import Price, SpecModel

MAX_PRICE = 1e6
"""Upper bound on a price per hour."""


class CostSpec(SpecModel):
    """Price of a component per hour: per instance plus per core of every instance."""

    per_instance: Price = Field(
        0.0, ge=0, le=MAX_PRICE, description="price of one instance per hour (0.20/h)"
    )
    per_core: Price = Field(
        0.0, ge=0, le=MAX_PRICE, description="price of one core per hour, on top (0.05/h)"
    )
    size_exponent: float = Field(
        1.0,
        ge=1,
        le=3,
        description="an instance's cores cost per_core x cores ** size_exponent (1: linear)",
    )

    def per_hour(self, groups: list[tuple[int, int]]) -> float:
        """Price per hour of ``(instances, cores per instance)`` groups."""
        return sum(
            count * (self.per_instance + self.per_core * cores**self.size_exponent)
            for count, cores in groups
        )


def size(component: Any) -> list[tuple[int, int]]:
    """(instances, cores per instance) groups of a component spec, as its price counts them."""
    kind = component.kind
    if kind == "app_server":
        return [(component.replicas, component.cores)]
    if kind == "cache":
        return [(component.nodes, component.cores)]
    if kind in ("database", "sharded_database"):
        shards = component.shards if kind == "sharded_database" else 1
        return [
            (shards, component.primary.cores),
            (shards * component.read_replicas, component.replica_spec.cores),
        ]
    return [(1, 0)]  # a balancer: one instance, no cores modelled


def scenario_cost(scenario: Any) -> dict[str, Any]:
    """The price per hour of a scenario's components that declare a ``cost``.

    Returns
    -------
    dict
        ``{"total_per_hour": float, "components": {name: price per hour}}``; a total of
        0 when no component has a cost.
    """
    components: dict[str, float] = {}
    for name, component in scenario.components.items():
        cost = getattr(component, "cost", None)
        if cost is not None:
            components[name] = cost.per_hour(size(component))
    return {"total_per_hour": float(sum(components.values())), "components": components}
