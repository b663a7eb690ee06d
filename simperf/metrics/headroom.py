"""Bottlenecks and headroom: how far each component is from saturating, by operational laws.

Each instance's binding resource is the busiest of the ones it measures: its cores
(utilisation), workers and connection pools (occupancy: held / size) and, for a database
server, its storage. By the utilisation law ``U = X D``, with the demand ``D`` per request
measured in the run, raising the load by a factor ``m`` raises ``U`` to ``m U``: the
resource saturates at ``m = 1 / U``, its *headroom*. A component's headroom is that of
its busiest instance (an uneven balancer saturates that one first), and the first to
saturate is the component of least headroom. For workers and pools the holding time
includes waits downstream, which grow with the load, so ``1 / occupancy`` is an upper
bound there; for cores it is exact as long as the demand per request does not change.

An instance that turns requests away (rejected at its queue limit, shed) measures the
demand of the requests it served only: the load offered to it would keep it
``offered / served`` times busier, so its headroom is ``served / (offered U)``, below 1
when it is already past saturation (a queue limit rejecting half the requests at 100%
busy saturates at 0.5 times the load, not at 1).
"""

from __future__ import annotations

import math
from typing import Any

from simperf.metrics.stability import RESOURCES


def binding(row: dict[str, Any]) -> tuple[str, float] | None:
    """(resource, level) of the busiest resource an instance row measures, or None."""
    loads = [(name, row[key]) for key, name in RESOURCES if row.get(key) is not None]
    if not loads:
        return None
    name, level = max(loads, key=lambda item: item[1])
    if row.get("kind") == "storage" and name == "cores":
        name = "storage"
    return name, float(level)


def headroom(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Each component's binding resource and headroom, and the first to saturate.

    Parameters
    ----------
    rows
        The instance rows of the run's component table (utilisation, occupancies).

    Returns
    -------
    dict
        ``components``: component -> ``instance``, ``resource``, ``utilization`` (the
        binding level) and ``headroom`` (``1 / utilization``, times the share of the
        requests offered it served; None when idle);
        ``first``: the component of least headroom, with the same keys (None when
        nothing was busy).
    """
    best: dict[str, dict[str, Any]] = {}
    for row in rows:
        found = binding(row)
        if found is None:
            continue
        resource, level = found
        component = row["component"]
        served = row.get("served") or 0
        offered = served + (row.get("rejected") or 0) + (row.get("shed") or 0)
        share = served / offered if served else 1.0  # of the offered load it kept
        room = share / level if level > 0 and math.isfinite(level) else None
        if component in best and _tighter(best[component]["headroom"], room):
            continue
        best[component] = {
            "instance": row["instance"],
            "resource": resource,
            "utilization": level,
            "headroom": room,
        }
    busy = [(name, b) for name, b in best.items() if b["headroom"] is not None]
    first = None
    if busy:
        name, b = min(busy, key=lambda item: item[1]["headroom"])
        first = {"component": name, **b}
    return {"components": best, "first": first}


def _tighter(kept: float | None, new: float | None) -> bool:
    """Whether the headroom kept is at most the new one (None: an idle instance)."""
    if new is None:
        return True
    return kept is not None and kept <= new
