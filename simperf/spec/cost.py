"""What a component costs to run: a price per instance and per core, per hour.

Prices are currency-neutral plain numbers per hour (``0.20/h``, ``146/month``). A
component's cost follows from its configured size, not from what the run measured:
``per_instance x instances + per_core x cores`` (every core of every instance), so
what-ifs on ``replicas``, ``cores`` or ``read_replicas`` change it and sweeps can
report it as the metric ``cost.total_per_hour``.
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

    def per_hour(self, instances: int, cores: int) -> float:
        """Price per hour of ``instances`` instances with ``cores`` cores in all."""
        return self.per_instance * instances + self.per_core * cores


def size(component: Any) -> tuple[int, int]:
    """(instances, cores in all) of a component spec, as its price counts them."""
    kind = component.kind
    if kind == "app_server":
        return component.replicas, component.replicas * component.cores
    if kind == "cache":
        return component.nodes, component.nodes * component.cores
    if kind in ("database", "sharded_database"):
        shards = component.shards if kind == "sharded_database" else 1
        instances = 1 + component.read_replicas
        cores = component.primary.cores + component.read_replicas * component.replica_spec.cores
        return shards * instances, shards * cores
    return 1, 0


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
            components[name] = cost.per_hour(*size(component))
    return {"total_per_hour": float(sum(components.values())), "components": components}
