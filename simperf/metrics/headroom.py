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

An instance that turns requests away (rejected at its queue limit, shed, dropped past
their deadline by a queue with ``drop_expired``, or a database server's queries dropped
so waiting for a core or storage, or an app server's dropped or timed out waiting for a connection
of its pool) measures the
demand of the requests it served only: the load offered to it would keep it
``offered / served`` times busier, so its headroom is ``served / (offered U)``, below 1
when it is already past saturation (a queue limit rejecting half the requests at 100%
busy saturates at 0.5 times the load, not at 1). A pool's share is of queries, as its
work is (:func:`kept`): a request failed waiting for a connection is offered it as every
query of its step's ``repeat``. A query dropped waiting for a database server's storage
had its CPU, in the cores' busy time: it is served there and offered, unserved, to the
storage only (:func:`kept` too). An attempt dropped because its caller cancelled it
(``cancelled``: a hedged copy that lost) is not offered load: its request was answered
by another copy, which is counted. Calls a circuit breaker failed fast
were offered too: a callee behind a breaker counts them as load it would have served
(spread over its instances as it spread what it served), so that it does not look
comfortable only because the breaker refused work (:func:`stopped_calls`); not at the
caller as well, which admitted them and whose capacity refused none (one shortfall,
counted once). A rate limiter's refusals (``rate_limited``) are not offered load: a
policy, not a lack of capacity, whose limit holds as the load grows, so the resources
behind it are judged on the load it admits.

An autoscaled server's fleet grows with the load up to ``max``, so ``1 / U`` of the
fleet it had tracks the scaling target; :func:`at_max` gives its headroom with the
fleet at ``max`` instead, keeping the fleet's own.

While a fault lasts the load shifts: the survivors of a crashed instance carry its share
once it is detected, a slowed one is busier. :func:`during_faults` gives the same figures
over each fault's own time, from the counters the fault log marked as it started, was
detected and ended (busy-time integrals, exact at those instants), clipped to the
measured period: before its detection and after it, and the worse of the two. A crashed
instance has no capacity while it is down, whatever it was finishing: a component none
of whose instances was up has a headroom of 0 (``down``), not 1 / its residual busy time.

Behind a geographic balancer with groups in more than one region, a full group sends
what it cannot admit to the next, so its load grows slower than the offered load and its
neighbours' faster: ``1 / U`` is no saturation point there, in either direction.
:func:`mark_spills` names those components and gives the estimate's headroom, solved
with the spill-over at scaled loads, as the figure to read, and the first to saturate by
it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from simperf.components.faults import MARKED, STOPPED, FaultLog, marked
from simperf.metrics.availability import target_name
from simperf.metrics.request_stats import clean
from simperf.metrics.stability import RESOURCES, busy_name, judged_windows
from simperf.model import Snapshot
from simperf.spec.scenario import Scenario
from simperf.spec.topology import served_by

TURNED_AWAY = ("rejected", "shed", "expired", "pool_expired", "pool_timeouts", "pool_refused")
"""What an instance counts of the requests offered it and not served: rejected at its
queue limit (a database server: connections refused past its ``max_connections``, load on
its ``connections``), shed, dropped past their deadline (``queue.drop_expired``; a
database server's ``drop_expired`` at its cores and storage; an app server's queries its
pools dropped so, ``pool.drop_expired``, failed after waiting ``max_wait`` for a
connection, or refused a connection past the server's ``max_connections``,
``pool_refused``). Each arrived and
would have cost its demand had it been served, so each is load offered (a database
server's queries dropped waiting for storage once, at storage: :func:`kept`)."""


AT_POOL = ("pool_timeouts", "pool_expired", "pool_refused")
"""Of :data:`TURNED_AWAY`, the queries a pool failed: one query each, the request's last."""


def kept(rows: Sequence[dict[str, Any]], resource: str, stopped: float = 0.0) -> float:
    """The share of the load offered ``rows`` (one instance, or a fleet's) that they
    served, in the binding ``resource``'s units: requests, but queries for a pool;
    ``stopped``: the calls to them breakers failed fast, offered too (requests).

    A request whose query timed out or was dropped waiting for a connection (one of a
    step's ``repeat``) is offered to the pool as all its queries, the unsent rest
    (``pool_unsent``: its step's, and its endpoint's later steps' through that pool)
    with it, while the pool's work is per query made (``pool_acquired``): of the requests
    offered, the share that reached the pool (those served or failed there), times the
    share of the queries offered it that it took.
    With nothing failed at the pool, the share of the requests served.

    A database server's queries dropped waiting for its storage (``storage_expired``, of
    its ``expired``) had their CPU: in its cores' busy time, they count as served there,
    not as load offered at a query's full cost on top of it; its storage row counts them
    as offered to it, unserved, once.
    """
    served = sum(r.get("served") or 0 for r in rows)
    offered = served + sum(r.get(key) or 0 for r in rows for key in TURNED_AWAY) + stopped
    for r in rows:
        at_storage = r.get("storage_expired") or 0
        if r.get("kind") == "storage":
            offered += at_storage
        else:
            served += at_storage
    if not served:
        return 1.0
    failed = sum(r.get(key) or 0 for r in rows for key in AT_POOL)
    unsent = sum(r.get("pool_unsent") or 0 for r in rows)
    taken = sum(r.get("pool_acquired") or 0 for r in rows)  # refused ones are not in it
    if resource != "pool" or not (failed or unsent) or not taken:
        return served / offered
    return (served + failed) / offered * (taken / (taken + failed + unsent))


MAX_UNITS = 1000
"""Faults (per target) listed under ``headroom.faults``: random faults on a large fleet
can make many; the worst, ``headroom.fault``, is over them all."""


def binding(row: dict[str, Any]) -> tuple[str, float] | None:
    """(resource, level) of the busiest resource an instance row measures, or None."""
    busy = busy_name(row.get("kind"))
    loads = [
        (busy if key == "utilization" else name, row[key])
        for key, name in RESOURCES
        if row.get(key) is not None
    ]
    if not loads:
        return None
    name, level = max(loads, key=lambda item: item[1])
    return name, float(level)


def headroom(rows: list[dict[str, Any]], stopped: dict[str, float] | None = None) -> dict[str, Any]:
    """Each component's binding resource and headroom, and the first to saturate.

    Parameters
    ----------
    rows
        The instance rows of the run's component table (utilisation, occupancies); a
        row with ``down`` (an instance crashed while a fault lasted) has no capacity.
    stopped
        Component -> the calls to it that circuit breakers failed fast (see
        :func:`stopped_calls`), counted as offered to it; only components behind a
        breaker are named.

    Returns
    -------
    dict
        ``components``: component -> ``instance``, ``resource``, ``utilization`` (the
        binding level) and ``headroom`` (``1 / utilization``, times the share of the
        requests offered it served; None when idle; 0 with ``down`` and ``resource``
        ``instances`` when every row of it is ``down``); behind a breaker also ``stopped``
        (the calls it failed fast) and ``served_headroom`` (the headroom on the
        requests served alone, what the breaker let through);
        ``first``: the component of least headroom, with the same keys (None when
        nothing was busy).
    """
    stopped = stopped or {}
    # the requests each component behind a breaker served (a database's storage serves
    # I/Os of those, not requests of its own)
    served_by_component = dict.fromkeys(stopped, 0)
    for row in rows:
        if row["component"] in stopped and row.get("kind") != "storage":
            served_by_component[row["component"]] += row.get("served") or 0
    best: dict[str, dict[str, Any]] = {}
    for row in rows:
        component = row["component"]
        if row.get("down"):
            # a crashed instance has no capacity, whatever it was finishing: it stands for
            # its component only when none of the component's instances was up
            if component not in best:
                best[component] = {
                    "instance": row["instance"],
                    "resource": "instances",
                    "utilization": None,
                    "headroom": 0.0,
                    "down": True,
                }
            continue
        found = binding(row)
        if found is None:
            continue
        resource, level = found
        served = row.get("served") or 0
        share = kept([row], resource)  # of the offered load it kept
        room = share / level if level > 0 and math.isfinite(level) else None
        extra: dict[str, Any] = {}
        if component in stopped:
            # the stopped calls as the instances shared what they served (for storage,
            # the I/Os they would have made, in proportion)
            total = served_by_component[component]
            mine = stopped[component] * served / total if total else 0.0
            share = kept([row], resource, mine)
            extra = {
                "stopped": stopped[component],
                "served_headroom": room,
            }
            room = share / level if level > 0 and math.isfinite(level) else None
        so_far = best.get(component)
        if so_far is not None and not so_far.get("down") and _tighter(so_far["headroom"], room):
            continue
        best[component] = {
            "instance": row["instance"],
            "resource": resource,
            "utilization": level,
            "headroom": room,
            **extra,
        }
    busy = [(name, b) for name, b in best.items() if b["headroom"] is not None]
    first = None
    if busy:
        name, b = min(busy, key=lambda item: item[1]["headroom"])
        first = {"component": name, **b}
    return {"components": best, "first": first}


AREAS = (
    ("busy_area", "capacity"),
    ("worker_area", "workers"),
    ("pool_area", "pool_size"),
    ("connection_area", "connections"),
)
"""Each resource's busy-time integral and its size per instance, as :data:`RESOURCES`."""


def at_max(
    section: dict[str, Any],
    rows: list[dict[str, Any]],
    fleets: dict[str, int],
    span: float,
    stopped: dict[str, float] | None = None,
) -> dict[str, Any]:
    """:func:`headroom`'s section with each autoscaled server's headroom at its fleet's
    ``max``: how much more load before the fleet, grown to ``max``, saturates.

    ``1 / utilisation`` of the fleet an autoscaler keeps tracks its target, not where
    it saturates: the fleet grows with the load up to ``max``. The work the run measured
    (busy core-, worker- and connection-seconds over every instance, per second of
    ``span``) spread over ``max`` instances gives each resource's level at ``max``; its
    headroom is the share of the offered load served over the busiest level.

    Parameters
    ----------
    section
        :func:`headroom`'s ``components`` and ``first`` (changed in place).
    rows
        The run's instance rows (areas over the measured period).
    fleets
        :func:`~simperf.spec.autoscaling.autoscaled`: server -> ``max``.
    span
        The measured time.
    stopped
        As for :func:`headroom`.

    Returns
    -------
    dict
        ``section``, each autoscaled server with ``max_instances``, ``headroom`` at
        ``max`` (its ``resource`` the binding one there) and ``fleet_headroom`` (the
        fleet's as it was, ``1 / utilisation`` of its busiest instance); ``first``
        read with these.
    """
    comps = section["components"]
    mine = [name for name in fleets if name in comps]
    if not mine or span <= 0:
        return section
    for name in mine:  # app servers only: their utilisation is of cores
        group = [r for r in rows if r["component"] == name]
        levels = []
        for (area, size), (_, resource) in zip(AREAS, RESOURCES, strict=True):
            held = [r for r in group if area in r and r.get(size)]
            if held:
                total = sum(r[area] for r in held)
                level = total / (held[0][size] * fleets[name] * span)
                levels.append((resource, level))
        if not levels:
            continue
        resource, level = max(levels, key=lambda item: item[1])
        share = kept(group, resource, (stopped or {}).get(name, 0.0))
        comp = comps[name]
        comps[name] = comp | {
            "resource": resource,
            "headroom": share / level if level > 0 else None,
            "max_instances": fleets[name],
            "fleet_headroom": comp["headroom"],
            "fleet_resource": comp["resource"],
        }
    section["first"] = _first(comps)
    return section


def busiest_window(grid: Sequence[Snapshot]) -> tuple[Snapshot, Snapshot] | None:
    """The time-series window of most requests offered per second (the first of equals),
    among those long enough to be judged alone; None without one."""
    judged = judged_windows(list(grid))
    if not judged:
        return None
    i, _ = max(judged, key=lambda w: (grid[w[0] + 1].generated - grid[w[0]].generated) / w[1])
    return grid[i], grid[i + 1]


def at_peak(
    section: dict[str, Any],
    window: tuple[Snapshot, Snapshot],
    rows: list[dict[str, Any]],
    fleets: dict[str, int],
    mean_rate: float,
    spills: dict[str, str] | None = None,
    estimate: dict[str, Any] | None = None,
    stopped: dict[str, float] | None = None,
) -> dict[str, Any]:
    """The headroom section at the peak offered load: each component's figures over the
    busiest window, the run's mean-load ones kept beside them.

    With a load that varies in time the mean hides the peak: a daily curve 1.6 times
    its mean at the peak saturates a component at ``headroom / 1.6`` times the mean.
    Over the window of most requests offered per second (:func:`busiest_window`) the
    same laws give the multiple of that window's load before saturation: each
    instance's levels from its counters' differences over the window, an autoscaled
    server's with its fleet at ``max`` (:func:`at_max` over the window's work).

    Parameters
    ----------
    section
        The mean-load section (:func:`headroom`, :func:`at_max`, :func:`mark_spills`).
    window
        The busiest window's snapshots.
    rows
        The run's instance rows (names, kinds, sizes).
    fleets
        :func:`~simperf.spec.autoscaling.autoscaled`: server -> ``max``.
    mean_rate
        Requests offered per second over the measured period.
    spills, estimate
        As for :func:`mark_spills` (the estimate is of the mean rate, scaled to the
        window's).
    stopped
        As for :func:`headroom`, the calls breakers failed fast in the window
        (:func:`stopped_calls` of :func:`fail_fasts_between` its snapshots).

    Returns
    -------
    dict
        ``load`` ``"peak"``, ``components`` and ``first`` over the window (each
        component with ``mean_headroom``, its figure at the mean load), ``mean_first``
        (the first to saturate at the mean load) and ``peak``: the window's ``start``,
        ``end``, ``arrival_rate`` and ``mean_arrival_rate``.
    """
    a, b = window
    span = b.time - a.time
    counts = np.nan_to_num(_as_marks(b, rows) - _as_marks(a, rows))
    window_rows = _interval_rows(rows, counts, span, set())
    peak = at_max(headroom(window_rows, stopped), window_rows, fleets, span, stopped)
    rate = (b.generated - a.generated) / span
    scale = mean_rate / rate if rate > 0 else 1.0
    peak = mark_spills(peak, spills or {}, estimate, scale)
    comps = peak["components"]
    for name, comp in section["components"].items():
        if name in comps:
            comps[name]["mean_headroom"] = _answer(comp)
    return {
        "load": "peak",
        "components": comps,
        "first": _first(comps),
        "mean_first": section["first"],
        "peak": {
            "start": a.time,
            "end": b.time,
            "arrival_rate": rate,
            "mean_arrival_rate": mean_rate,
        },
    }


def spilling(scenario: Scenario) -> dict[str, str]:
    """Component -> the geographic balancer that spills its traffic to or from it.

    A geographic balancer sends a request to the nearest group with room, so with
    groups in more than one region every group's load depends on the others' (see
    :class:`simperf.components.balancing.Geographic`); a balancer in front of balancers
    reaches their backends. A spill also moves traffic between regions: each shared
    link direction (``"from->to"``, as the run names it) is named too, since what
    crosses it depends on where the balancer sends.
    """
    network = scenario.network
    regions = list(network.regions) if network is not None else []
    out: dict[str, str] = {}
    for name, spec in scenario.components.items():
        if spec.kind != "load_balancer" or spec.policy != "geographic":
            continue
        backends = [b for b in served_by(scenario, name) if b != name]
        located = {scenario.components[b].location(regions) for b in backends}
        if len(located - {None}) > 1:
            out.update(dict.fromkeys(backends, name))
            for a, ends in (network.links if network is not None else {}).items():
                for b, link in ends.items():
                    if link.shared:  # both directions, each a component of the run
                        out.setdefault(f"{a}->{b}", name)
                        out.setdefault(f"{b}->{a}", name)
    return out


def mark_fault_spills(units: list[dict[str, Any]], spills: dict[str, str]) -> None:
    """Mark, in :func:`during_faults`' units (in place), the components behind a
    spilling balancer (``spill``: its name), in each unit's ``components`` and
    ``first`` and in those of its stretches: their figures there stay ``1 /
    utilisation``, which is no saturation point (:func:`mark_spills`), and no estimate
    is solved for a fault's time."""
    if not spills:
        return
    for unit in units:
        parts = (*STRETCHES, "peak")
        for part in (unit, *(unit[name] for name in parts if unit.get(name))):
            for name, comp in part["components"].items():
                if name in spills:
                    comp["spill"] = spills[name]
            first = part.get("first")
            if first is not None and first["component"] in spills:
                first["spill"] = spills[first["component"]]


def mark_spills(
    section: dict[str, Any],
    spills: dict[str, str],
    estimate: dict[str, Any] | None,
    scale: float = 1.0,
) -> dict[str, Any]:
    """:func:`headroom`'s section with the components behind a spilling balancer marked,
    and the first to saturate read from the estimate for them.

    Parameters
    ----------
    section
        :func:`headroom`'s ``components`` and ``first`` (changed in place).
    spills
        :func:`spilling`: component -> its geographic balancer.
    estimate
        The estimate's ``to_dict`` beside the run (None, or one with ``error``: none). An
        open workload's estimate solves each station's saturation with the spill-over;
        a closed one's does not, and is not used.
    scale
        The estimate's load over the load the section measures (the mean rate over
        the busiest window's, :func:`at_peak`): a multiple of the one is ``scale``
        times that multiple of the other.

    Returns
    -------
    dict
        ``section``, each marked component with ``spill`` (its balancer) and
        ``estimated_resource`` and ``estimated_headroom`` (the estimate's binding
        resource and headroom, both None without one); its ``headroom`` stays
        ``1 / utilisation`` as measured, not where it saturates. ``first`` is the
        component of least headroom, a marked one's being its estimated headroom where
        there is one.
    """
    comps = section["components"]
    marked = [name for name in comps if name in spills]
    if not marked:
        return section
    solved = estimate is not None and "error" not in estimate and not estimate.get("closed")
    found = (estimate or {}).get("components", {}) if solved else {}
    for name in marked:
        est = found.get(name) or {}
        comps[name] |= {
            "spill": spills[name],
            "estimated_resource": est.get("resource") if est.get("headroom") else None,
            "estimated_headroom": est["headroom"] * scale if est.get("headroom") else None,
        }
    section["first"] = _first(comps)
    return section


def _first(comps: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
    """The component with the least headroom (by :func:`_answer`), named, or None."""
    busy = [(name, c) for name, c in comps.items() if _answer(c) is not None]
    if not busy:
        return None
    name, c = min(busy, key=lambda item: _answer(item[1]))  # type: ignore[arg-type,return-value]
    return {"component": name, **c}


def _answer(comp: dict[str, Any]) -> float | None:
    """The load multiple at which a component saturates, as best known: the estimate's
    behind a spilling balancer, where it has one."""
    return comp.get("estimated_headroom") or comp["headroom"]


def _tighter(kept: float | None, new: float | None) -> bool:
    """Whether the headroom kept is at most the new one (None: an idle instance)."""
    if new is None:
        return True
    return kept is not None and kept <= new


def stopped_calls(
    scenario: Scenario, routes: Sequence[Any], calls: dict[str, dict[str, Any]]
) -> dict[str, float]:
    """The calls circuit breakers failed fast, by the component that would have served them.

    Parameters
    ----------
    scenario
        The scenario run (a balancer called is resolved to its backends).
    routes
        The run's call routes (:class:`~simperf.components.resilience.Route`): those with
        a breaker count.
    calls
        The ``calls`` section of the result: ``fail_fast`` per route over the measured
        period.

    Returns
    -------
    dict
        Component -> calls stopped before reaching it (a balancer's backends share its
        fail-fasts as it shares its traffic, by their instances), for every component
        behind a breaker, 0 where the breaker never stopped a call.
    """
    out: dict[str, float] = {}
    for route in routes:
        if route.breaker is None or route.name not in calls:
            continue
        group = served_by(scenario, route.target)
        sizes = {name: scenario.components[name].instance_count for name in group}
        for name, size in sizes.items():  # a balancer spreads calls by instances
            share = size / sum(sizes.values())
            out[name] = out.get(name, 0.0) + calls[route.name]["fail_fast"] * share
    return out


def fail_fasts_between(
    routes: dict[str, Any], a: Snapshot, b: Snapshot
) -> dict[str, dict[str, Any]]:
    """Each call route's ``fail_fast`` from snapshot ``a`` to ``b``, keyed as the ``calls``
    section is (for :func:`stopped_calls` over a window).

    Parameters
    ----------
    routes
        The run's call routes by their key among the model's components (what the
        snapshots are keyed by).
    a, b
        The snapshots bounding the window.
    """
    out: dict[str, dict[str, Any]] = {}
    for key, route in routes.items():
        if key in b.components:
            before = a.components.get(key, {}).get("fail_fast", 0)
            out[route.name] = {"fail_fast": b.components[key]["fail_fast"] - before}
    return out


STRETCHES = ("before_detection", "after_detection")
"""The two stretches of a detected fault: until a balancer took the instance out of
rotation (or a database's failover noticed it down) traffic still went to it; after,
the rest carried its share."""


def during_faults(
    log: FaultLog | None,
    first: Snapshot,
    last: Snapshot,
    rows: list[dict[str, Any]],
    grid: Sequence[Snapshot] | None = None,
    scenario: Scenario | None = None,
    routes: dict[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """Headroom while each fault lasted, over the measured period, before and after its
    detection.

    The calls circuit breakers failed fast in the same time count as load offered to
    their callees, as over the run (:func:`stopped_calls`): the log marks them too.

    Occurrences of one fault on one target (a random fault's spells on one instance) are
    taken together: each instance's busy time, worker and connection time, and requests
    served, rejected, shed and dropped expired over all of them, divided by their time,
    make the rows :func:`headroom` reads. Where a health check, an outlier ejection or a
    database's failover detected the fault, the counters the log marked then split its
    time in two stretches with figures of their own: before the detection the failed
    instance still took its share of the traffic (refused, so the rest carried no more
    than before); after it the rest carried that share. A balancer that puts the
    instance back while the fault lasts sends it its share again until it is detected
    again: every switch the log marked (:attr:`~simperf.components.faults.FaultLog.switches`)
    moves the time after it to the stretch of its state. The fault's figures are the
    worse of the two.

    Where arrivals vary in time (``grid`` given) a fault's time averages its busy hours
    with its quiet ones, while a planner needs the headroom left at its worst moment:
    the busiest time-series window wholly within one of its occurrences (most requests
    offered per second, among the windows the verdict judges alone) gives figures of
    its own (``peak``), and the fault's are the worse of those and its stretches'.

    Parameters
    ----------
    log
        The run's fault log, with its marks (None: no faults).
    first, last
        The snapshots that bound the measured period (a fault under way there is cut).
    rows
        The run's instance rows, in the log's order of instances (names, kinds,
        capacities and sizes).
    grid
        The time-series windows' snapshots, where arrivals vary in time (None: they do
        not, and no unit has ``peak``).
    scenario, routes
        The scenario run and its call routes by their key among the model's components
        (what the snapshots are keyed by), for the calls breakers failed fast (None:
        none counted).

    Returns
    -------
    list of dict
        Per fault and target, in order of first occurrence: ``fault`` (its index),
        ``target``, ``kind``, ``occurrences``, ``start`` and ``end`` (of the first and
        last, clipped), ``time`` (measured time under the fault), ``detected`` (how many
        of its occurrences were detected), ``before_detection`` and ``after_detection``
        (each ``time``, ``components`` and ``first`` as :func:`headroom` gives them over
        that stretch, the spells of an occurrence never detected counted before; both
        None when none was detected, one None when its stretch had no measured time),
        and ``components`` and ``first``: each component's least headroom over the
        stretches and the least of all, each naming its ``stretch`` (None when
        undetected: over the whole time; ``"peak"``: the busiest window). With ``grid``
        also ``peak``: that window's ``start``, ``end``, ``time``, ``arrival_rate``,
        ``components`` and ``first`` (None when no whole window lies within the fault).
    """
    if log is None or not log.occurrences or not rows:
        return []
    t0, t1 = first.time, last.time
    # the log's rows of routes with a breaker, after the instances'
    keys = {id(route): key for key, route in (routes or {}).items()}
    stops = _Stops(scenario, log.routes, [keys.get(id(r)) for r in log.routes], len(rows))
    at_start = stops.marks(first, rows)
    at_end = stops.marks(last, rows)
    units: dict[tuple[int, str], dict[str, Any]] = {}
    for occ, (a, b, _), switches in zip(log.occurrences, log.marks, log.switches, strict=True):
        start, end = occ["start"], t1 if occ["end"] is None else min(occ["end"], t1)
        if start < t0:
            start, a = t0, at_start
        if b is None or occ["end"] is None or occ["end"] > t1:
            b = at_end
        if end <= start or a is None:
            continue
        unit = units.setdefault(
            (occ["fault"], occ["target"]),
            {
                "fault": occ["fault"],
                "target": target_name(occ),
                "kind": occ["kind"],
                "occurrences": 0,
                "start": start,
                "end": end,
                "time": 0.0,
                "detected": 0,
                "_times": [0.0, 0.0],
                "_sums": [np.zeros_like(a), np.zeros_like(a)],
                "_down": set(occ["instances"]) if occ["kind"] == "crash" else set(),
                "_spans": [],
            },
        )
        unit["_spans"].append((start, end))
        unit["occurrences"] += 1
        unit["end"] = end
        unit["time"] += end - start
        unit["detected"] += occ["detected"] is not None
        # in rotation (stretch 0) or out of it (1), switched at each detection and each
        # readmission while the fault lasted; one in the warm-up sets the state at start
        out, since, mark = False, start, a
        for time, counters, taken_out in switches:
            if time <= start:
                out = taken_out
                continue
            if time >= end:
                break
            _add(unit, int(out), time - since, counters - mark)
            out, since, mark = taken_out, time, counters
        _add(unit, int(out), end - since, b - mark)
    windows = judged_windows(list(grid)) if grid is not None else []
    marks: dict[int, np.ndarray] = {}  # a window's counters, read once for every fault in it
    out = []
    for unit in units.values():
        times, sums, down = unit.pop("_times"), unit.pop("_sums"), unit.pop("_down")
        spans = unit.pop("_spans")
        if unit["detected"]:
            stretches = {
                name: {"time": time, **stops.headroom(rows, counts, time, down)}
                if time > 0
                else None
                for name, time, counts in zip(STRETCHES, times, sums, strict=True)
            }
            parts: dict[str | None, dict[str, Any] | None] = dict(stretches)
        else:
            stretches = dict.fromkeys(STRETCHES)
            whole = stops.headroom(rows, sums[0] + sums[1], unit["time"], down)
            parts = {None: whole}
        if grid is None:
            out.append({**unit, **stretches, **_worse(parts)})
            continue
        peak = _fault_peak(grid, windows, spans, rows, down, marks, stops)
        out.append({**unit, **stretches, **_worse({**parts, "peak": peak}), "peak": peak})
    return out


def _fault_peak(
    grid: Sequence[Snapshot],
    windows: list[tuple[int, float]],
    spans: list[tuple[float, float]],
    rows: list[dict[str, Any]],
    down: set[str],
    marks: dict[int, np.ndarray],
    stops: _Stops,
) -> dict[str, Any] | None:
    """:func:`headroom` over the busiest of the judged time-series ``windows`` wholly
    within one of a fault's ``spans`` (None without one), as :func:`busiest_window`
    chooses it among all; ``marks`` keeps the snapshots' counters read so far."""

    def within(i: int) -> bool:
        a, b = grid[i].time, grid[i + 1].time
        slack = 1e-9 * max(1.0, abs(b))  # window bounds are sums of window lengths
        return any(s <= a + slack and b <= e + slack for s, e in spans)

    inside = [(i, span) for i, span in windows if within(i)]
    if not inside:
        return None
    i, span = max(inside, key=lambda w: (grid[w[0] + 1].generated - grid[w[0]].generated) / w[1])
    a, b = grid[i], grid[i + 1]
    for k in (i, i + 1):
        if k not in marks:
            marks[k] = stops.marks(grid[k], rows)
    counts = np.nan_to_num(marks[i + 1] - marks[i])
    return {
        "start": a.time,
        "end": b.time,
        "time": span,
        "arrival_rate": (b.generated - a.generated) / span,
        **stops.headroom(rows, counts, span, down),
    }


class _Stops:
    """The calls breakers failed fast while a fault lasted: the rows the fault log keeps
    after the instances' (:data:`~simperf.components.faults.STOPPED`), read from a
    snapshot the same way, and :func:`headroom` with them offered to their callees."""

    def __init__(
        self, scenario: Scenario | None, routes: list[Any], keys: list[str | None], n: int
    ) -> None:
        counted = scenario is not None and all(key is not None for key in keys)
        self.scenario = scenario
        self.routes = routes if counted else []
        self.keys = keys
        self.n = n  # instance rows before the routes'

    def marks(self, snapshot: Snapshot, rows: list[dict[str, Any]]) -> np.ndarray:
        """A snapshot's counters as the log marks them: :func:`_as_marks`, then a row
        per route with a breaker."""
        counters = _as_marks(snapshot, rows)
        if not self.keys:
            return counters
        stops = np.full((len(self.keys), counters.shape[1]), np.nan)
        stops[:, STOPPED] = [
            snapshot.components.get(key, {}).get("fail_fast", 0) if key else 0 for key in self.keys
        ]
        return np.vstack([counters, stops])

    def headroom(
        self, rows: list[dict[str, Any]], counts: np.ndarray, time: float, down: set[str]
    ) -> dict[str, Any]:
        """:func:`headroom` over counters summed over a stretch of a fault's time."""
        interval = _interval_rows(rows, counts[: self.n], time, down)
        if not self.routes:
            return headroom(interval)
        calls = {
            route.name: {"fail_fast": float(n)}
            for route, n in zip(self.routes, counts[self.n :, STOPPED], strict=True)
        }
        assert self.scenario is not None
        return headroom(interval, stopped_calls(self.scenario, self.routes, calls))


def _add(unit: dict[str, Any], stretch: int, time: float, counts: np.ndarray) -> None:
    """Add a span of a fault's time and its counters to one of its stretches."""
    unit["_times"][stretch] += time
    unit["_sums"][stretch] += np.nan_to_num(counts)  # NaN: counters an instance does not keep


def _named(found: dict[str, Any], stretch: str | None) -> dict[str, Any]:
    """:func:`headroom`'s ``components`` and ``first``, each naming the stretch it is of."""
    first = found["first"]
    return {
        "components": {n: {**c, "stretch": stretch} for n, c in found["components"].items()},
        "first": None if first is None else {**first, "stretch": stretch},
    }


def _worse(stretches: dict[str | None, dict[str, Any] | None]) -> dict[str, Any]:
    """Each component's least headroom over the stretches, and the first to saturate in
    the stretch where that comes soonest (a stretch None: the fault's whole time)."""
    components: dict[str, dict[str, Any]] = {}
    first = None
    for name, stretch in stretches.items():
        if stretch is None:
            continue
        found = _named(stretch, name)
        for component, comp in found["components"].items():
            kept = components.get(component)
            if kept is None or not _tighter(kept["headroom"], comp["headroom"]):
                components[component] = comp
        new = found["first"]
        if new is not None and (first is None or new["headroom"] < first["headroom"]):
            first = new
    return {"components": components, "first": first}


def worst(units: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The fault whose first component to saturate had the least headroom, with it, and
    the first to saturate in each stretch, before and after its detection (None when it
    was not detected, or the stretch had no measured time), and where arrivals vary in
    time in its busiest window (``peak``: its ``start``, ``end``, ``time`` and
    ``arrival_rate`` too; None without a whole window in it)."""
    busy = [u for u in units if u["first"] is not None]
    if not busy:
        return None
    unit = min(busy, key=lambda u: u["first"]["headroom"])
    keys = ("fault", "target", "kind", "occurrences", "start", "end", "time", "detected")
    stretches = {
        name: None
        if unit[name] is None
        else {"time": unit[name]["time"], **(unit[name]["first"] or {})}
        for name in STRETCHES
    }
    if "peak" in unit:
        peak = unit["peak"]
        window = ("start", "end", "time", "arrival_rate")
        stretches["peak"] = (
            None if peak is None else {**{k: peak[k] for k in window}, **(peak["first"] or {})}
        )
    return {**{k: unit[k] for k in keys}, **unit["first"], **stretches}


def _as_marks(snapshot: Snapshot, rows: list[dict[str, Any]]) -> np.ndarray:
    """A snapshot's :data:`MARKED` counters, one row per instance as the log marks them."""
    return np.array([marked(snapshot.instances[r["instance"]]) for r in rows], dtype=float)


def _interval_rows(
    rows: list[dict[str, Any]], sums: np.ndarray, time: float, down: set[str]
) -> list[dict[str, Any]]:
    """The rows :func:`headroom` reads, from counters summed over a fault's time; those
    of the instances in ``down`` (a crash's) marked ``down``."""
    col = {key: i for i, key in enumerate(MARKED)}
    out = []
    for row, counts in zip(rows, sums, strict=True):
        # an autoscaled instance is exposed only while provisioned
        exposure = counts[col["provisioned_area"]] if "provisioned_time" in row else time
        busy = counts[col["busy_area"]] / (row["capacity"] * exposure) if exposure > 0 else None
        out_row: dict[str, Any] = {
            "component": row["component"],
            "instance": row["instance"],
            "kind": row["kind"],
            "utilization": clean(busy),
            "served": int(counts[col["served"]]),
            "rejected": int(counts[col["rejected"]]),
            "shed": int(counts[col["shed"]]),
            "expired": int(counts[col["expired"]]),
            "storage_expired": int(counts[col["storage_expired"]]),
            "pool_expired": int(counts[col["pool_expired"]]),
            "pool_timeouts": int(counts[col["pool_timeouts"]]),
            "pool_acquired": int(counts[col["pool_acquired"]]),
            "pool_unsent": int(counts[col["pool_unsent"]]),
            "pool_refused": int(counts[col["pool_refused"]]),
        }
        # the resources' busy-time integrals and sizes, for at_max
        for area, size in AREAS:
            if size in row:
                out_row[area] = float(counts[col[area]])
                out_row[size] = row[size]
        if row["instance"] in down:
            out_row["down"] = True
        if "workers" in row and exposure > 0:
            out_row["worker_occupancy"] = clean(
                counts[col["worker_area"]] / (row["workers"] * exposure)
            )
        if row.get("pool_size") and exposure > 0:  # none where no connection was accepted
            out_row["pool_occupancy"] = clean(
                counts[col["pool_area"]] / (row["pool_size"] * exposure)
            )
        if row.get("connections") and exposure > 0:  # a database server's, per query
            out_row["connection_occupancy"] = clean(
                counts[col["connection_area"]] / (row["connections"] * exposure)
            )
        out.append(out_row)
    return out
