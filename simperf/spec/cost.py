"""What a component costs to run: a price per instance and per core, per hour.

Prices are currency-neutral plain numbers per hour (``0.20/h``, ``146/month``). A
component's cost follows from its configured size, not from what the run measured:
each instance costs ``per_instance + per_core x cores ** size_exponent`` (its cores),
so what-ifs on ``replicas``, ``cores`` or ``read_replicas`` change it and sweeps can
report it as the metric ``cost.total_per_hour``. With ``size_exponent`` 1 (the default)
the price is linear in cores; above 1, large instances cost more per core, as the
largest instance sizes of cloud providers tend to. An instance of an ``instance_type``
costs the type's price per hour instead (:mod:`simperf.spec.instances`; ``per_instance``
still adds to it), whether or not the component has a ``cost``.

No price is invented: a ``per_core`` left out counts as 0 (an explicit ``0`` says the
same on purpose). Comparing designs whose cores differ then ranks them as if cores were
free, which :func:`free_cores` detects, so that the comparison can say so.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import Field

from simperf.spec import instances
from simperf.spec.base import Price, SpecModel

MAX_PRICE = 1e6
"""Upper bound on a price per hour."""


class CostSpec(SpecModel):
    """Price of a component per hour: per instance plus per core of every instance."""

    per_instance: Price = Field(
        0.0, ge=0, le=MAX_PRICE, description="price of one instance per hour (0.20/h)"
    )
    per_core: Price | None = Field(
        None,
        ge=0,
        le=MAX_PRICE,
        description="price of one core per hour, on top (0.05/h); not given: cores are "
        "priced 0 and comparisons of designs differing in cores warn",
    )
    size_exponent: float = Field(
        1.0,
        ge=1,
        le=3,
        description="an instance's cores cost per_core x cores ** size_exponent (1: linear)",
    )

    def per_hour(self, groups: list[tuple[int, int]]) -> float:
        """Price per hour of ``(instances, cores per instance)`` groups."""
        per_core = self.per_core or 0.0
        return sum(
            count * (self.per_instance + per_core * cores**self.size_exponent)
            for count, cores in groups
        )


def typed_groups(component: Any) -> list[tuple[int, str | None]]:
    """(instances, instance type or None) groups of a component, as :func:`size` counts them."""
    return [(count, type_) for count, _, type_ in component.priced_groups]


def size(component: Any) -> list[tuple[int, int]]:
    """(instances, cores per instance) groups of a component spec, as its price counts them."""
    return [(count, cores) for count, cores, _ in component.priced_groups]


def group_price(
    scenario: Any, cost: CostSpec | None, count: int, cores: int, instance_type: str | None
) -> float | None:
    """The price per hour of ``count`` instances of ``cores`` (or of ``instance_type``).

    An instance of a type costs the type's price plus ``cost.per_instance``; one without
    costs what ``cost`` says; None when neither prices it.
    """
    if instance_type is not None:
        extra = 0.0 if cost is None else cost.per_instance
        return count * (instances.price_per_hour(scenario, instance_type) + extra)
    return None if cost is None else cost.per_hour([(count, cores)])


def scenario_cost(scenario: Any) -> dict[str, Any]:
    """The price per hour of a scenario's components that declare a ``cost``.

    Returns
    -------
    dict
        ``{"total_per_hour": float, "components": {name: price per hour}, "unpriced":
        [name, ...]}``; a total of 0 when no component has a cost or an instance type.
        ``unpriced`` names the components that could carry a price (their kind has a
        ``cost``) but have none, so the total leaves them out: a reader must not take it
        for the whole bill. An explicit ``cost: {per_instance: 0}`` prices one at 0.
    """
    components: dict[str, float] = {}
    unpriced: list[str] = []
    for name, component in scenario.components.items():
        cost = getattr(component, "cost", None)
        prices = [
            group_price(scenario, cost, count, cores, type_)
            for count, cores, type_ in component.priced_groups
        ]
        if any(price is not None for price in prices):
            components[name] = float(sum(price or 0.0 for price in prices))
        elif "cost" in type(component).model_fields:
            unpriced.append(name)
    return {
        "total_per_hour": float(sum(components.values())),
        "components": components,
        "unpriced": unpriced,
    }


def with_autoscaling(cost: dict[str, Any], autoscaling: dict[str, Any]) -> dict[str, Any]:
    """``cost`` (from :func:`scenario_cost`) with autoscaled components priced as measured.

    An autoscaled component's price per hour is its mean instances provisioned over the
    measured period times its price per instance-hour, not its starting ``replicas``;
    its names are listed under ``"autoscaled"``.
    """
    components = dict(cost["components"])
    scaled = []
    for name, report in autoscaling.items():
        if name in components and report["mean_instances"] is not None:
            components[name] = report["mean_instances"] * report["per_instance_hour"]
            scaled.append(name)
    return {
        "total_per_hour": float(sum(components.values())),
        "components": components,
        "unpriced": cost.get("unpriced", []),
        "autoscaled": scaled,
    }


def _priced_by_type(component: Any) -> bool:
    """Every instance of the component has an instance type (whose price covers its cores)."""
    types = [t for count, t in typed_groups(component) if count]
    return bool(types) and all(t is not None for t in types)


def _instance_cores(component: Any) -> str:
    """Cores per instance, ``8`` (or ``8/4``: a database's primary and its replicas)."""
    return "/".join(str(cores) for count, cores in size(component) if count)


def free_cores(scenarios: Mapping[str, Any]) -> list[str]:
    """Warnings for components whose instance sizes differ among ``scenarios``, unpriced.

    A per-instance price covers the cores of an instance only while every instance
    compared has the same cores. A component counts when its cores per instance are not
    the same in every scenario holding it and no ``cost.per_core`` is given for it in
    some of them (no ``cost`` at all, or one without ``per_core``): the prices compared
    leave those cores out. Scaling out alone (more instances of one size) is priced
    right by ``per_instance`` and gives no warning.

    Parameters
    ----------
    scenarios
        Label -> scenario (the designs compared, or the probes of a search).

    Returns
    -------
    list of str
        One message per such component, naming its cores per instance in each scenario.
    """
    messages = []
    names = dict.fromkeys(n for s in scenarios.values() for n in s.components)
    for name in names:
        held = {label: s.components[name] for label, s in scenarios.items() if name in s.components}
        cores = {label: _instance_cores(component) for label, component in held.items()}
        if len(set(cores.values())) < 2:
            continue
        unpriced = [
            label
            for label, component in held.items()
            if (getattr(component, "cost", None) is None or component.cost.per_core is None)
            and not _priced_by_type(component)
        ]
        if not unpriced:
            continue
        where = "" if len(unpriced) == len(held) else f" in {', '.join(unpriced)}"
        shown = (
            ", ".join(f"{label}: {n}" for label, n in cores.items())
            if len(cores) <= 4  # designs by name; a search's many probes by size alone
            else ", ".join(dict.fromkeys(cores.values()))
        )
        messages.append(
            f"cores are free in this comparison: {name} has no per_core price{where} while "
            f"its cores per instance differ ({shown}); give components.{name}.cost.per_core"
        )
    return messages
