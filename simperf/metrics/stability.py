"""The stability verdict: is a run stable, degraded, saturated, failing or unstable, and where.

Each instance is judged on every resource that can bound it: its cores (utilisation),
its workers and connection pools (occupancy: time-weighted in use / size, whatever holds
them, a ``delay`` or a call downstream included), and its queue limit (rejections).

An instance is *unstable* when requests hit the safety cap waiting at it, or when one of
its resources is >= 97% busy and its queue grew from the first quarter of the run to the
last; *saturated* when >= 1% of its requests were rejected or shed (``queue`` shedding,
a concurrency limit), or dropped past their deadline (``queue.drop_expired``: the queue
stays short because the requests it cannot serve in time leave it), or of its connection
requests timed out, or a resource was >= 95% busy. When the arrival rate varies in time,
an instance is also judged in its busiest time-series window, since the run's average
hides the peak; a window shorter than half the nominal one (the run's last, cut by the
horizon) is not judged alone, as a few microseconds of a busy core read as 100%.

The verdict names the bottleneck: the worst instance whose component calls no other
component judged saturated or worse (a caller blocked on a saturated callee fills its
own workers too; the callee is the cause). A run whose resources are all fine is
*failing* when more than 1% of its measured requests failed (a fault: a user would not
call that stable; connections refused past ``max_connections`` saturate the server's
connections, or the pool), and *degraded* when an instance was down
during the measured period though requests went around it, or when more than 1% of the
measured requests were answered by a fallback; ``warnings`` lists every
outage in the measured period whatever the verdict.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import numpy as np

from simperf.metrics.availability import fault_components, fault_kinds, gives, target_name
from simperf.spec.workload import TIME_VARYING_ARRIVALS
from simperf.units import format_interval, format_time

if TYPE_CHECKING:  # pragma: no cover
    from simperf.model import Model, Snapshot

SEVERITY = {"stable": 0, "degraded": 1, "saturated": 2, "failing": 3, "unstable": 4}
SATURATED_UTILIZATION = 0.95
UNSTABLE_UTILIZATION = 0.97
SATURATED_REJECTION = 0.01
FAILING_ERROR_RATE = 0.01
"""A run that is otherwise fine is ``failing`` above this share of failed requests: the
same 1% at which rejections make an instance ``saturated``."""
SHORT_WINDOW = 0.5
"""A time-series window shorter than this fraction of the longest is not judged alone."""

# (row key, resource name in verdicts), in the order a tie names them.
RESOURCES = (
    ("utilization", "cores"),
    ("worker_occupancy", "workers"),
    ("pool_occupancy", "pool"),
    ("connection_occupancy", "connections"),
)
BUSY_NAMES = {"storage": "storage", "link": "bandwidth"}
"""What an instance's utilisation is of where it has no cores (by its kind): a database
server's storage (its I/O slots), a shared link direction's bandwidth."""


def busy_name(kind: str | None) -> str:
    """The resource an instance of ``kind``'s ``utilization`` measures: ``cores`` but for
    :data:`BUSY_NAMES`."""
    return BUSY_NAMES.get(kind or "", "cores")


def verdict(
    model: Model,
    snapshots: list[Snapshot],
    grid: list[Snapshot],
    rows: list[dict[str, Any]],
    errors: dict[str, int] | None = None,
    measured: int = 0,
    degraded: int = 0,
) -> dict[str, Any]:
    """The verdict, naming the bottleneck instance, the resource and why.

    Whole-run utilisation hides a peak when the arrival rate varies in time (a diurnal
    evening, a burst state), so for those workloads each instance is also judged in its
    busiest time-series window; ``peak`` always gives that window (``utilization`` is the
    level of its busiest resource, named by ``resource``).

    Parameters
    ----------
    model
        The model after its run.
    snapshots
        The snapshots of the measured period.
    grid
        The snapshots bounding the time-series windows.
    rows
        The instance rows of the component table (utilisation, occupancies, served,
        rejected).
    errors
        Failed measured requests by cause.
    measured
        Requests that arrived in the measured period.
    degraded
        Measured requests that ended ``ok`` because a fallback stood in for a call.

    Returns
    -------
    dict
        ``status``, ``component``, ``instance``, ``resource``, ``reason``, ``target``,
        ``peak``, ``safety_cap_hits`` and ``warnings`` (outages in the measured period).
        ``component`` and ``instance`` name a component and an instance, or are None (an
        outage of several components or instances); ``target`` is the text of the fault
        target a failing or degraded verdict blames (``group app+spare``, ``app[1]``).
    """
    result: dict[str, Any] = {
        "status": "stable",
        "component": None,
        "instance": None,
        "resource": None,
        "reason": None,
        "target": None,
    }
    peaks = _busiest_windows(model, grid)
    arrival = model.scenario.workload.arrival
    varying = arrival is not None and arrival.kind in TIME_VARYING_ARRIVALS
    findings: list[tuple[int, float, dict[str, Any]]] = []
    # looked up by name once: a scan of the fleet per row made 20,000 instances 4e8 steps
    capped = {inst.name for inst in model.instances if getattr(inst, "capped", False)}
    for row in rows:
        status, resource, load, reason = _judge(model, snapshots, row, row["instance"] in capped)
        peak = peaks.get(row["instance"])
        if (
            varying
            and status == "stable"
            and peak is not None
            and peak["utilization"] >= SATURATED_UTILIZATION
        ):
            status, resource, load = "saturated", peak["resource"], peak["utilization"]
            whole = row.get(_KEY[resource]) or 0.0
            reason = (
                f"{resource} {peak['utilization']:.1%} busy at {row['instance']} from "
                f"{format_interval(peak['start'], peak['end'])} (busiest "
                f"window; {whole:.1%} over the run)"
            )
        if SEVERITY[status] > 0:
            finding = {
                "status": status,
                "component": row["component"],
                "instance": row["instance"],
                "resource": resource,
                "reason": reason,
            }
            findings.append((SEVERITY[status], load, finding))
    if findings:
        flagged = {f["component"] for _, _, f in findings}
        calls = _callees(model)
        roots = [f for f in findings if not calls.get(f[2]["component"], set()) & flagged]
        worst = max(roots or findings, key=lambda f: (f[0], f[1]))[2]
        result.update(worst)
        result["status"] = max((f[2]["status"] for f in findings), key=SEVERITY.__getitem__)
    outages = _outages(model, snapshots)
    if result["status"] == "stable":
        result.update(_failing(errors or {}, measured, outages, degraded))
    result["peak"] = max(peaks.values(), key=lambda p: p["utilization"], default=None)
    result["safety_cap_hits"] = model.ctx.safety_cap_hits
    result["warnings"] = [o["text"] for o in outages]
    return result


_KEY = {name: key for key, name in RESOURCES}


def _loads(row: dict[str, Any]) -> list[tuple[float, str]]:
    """(level, resource) of each resource the row measures, busiest first."""
    busy = busy_name(row.get("kind"))
    loads = [
        (row[key] or 0.0, busy if key == "utilization" else name)
        for key, name in RESOURCES
        if key in row
    ]
    return sorted(loads, key=lambda item: -item[0])


def _describe(row: dict[str, Any], where: str = "") -> str:
    """``workers 100.0% busy{where} (cores 0.0%)``: the row's resources, busiest first."""
    loads = _loads(row)
    if not loads:
        return "no resource measured"
    # a pool the database accepted no connection of has no occupancy, not 0%
    unaccepted = row.get("pool_size") == 0

    def told(level: float, name: str, busy: str = "") -> str:
        if name == "pool" and unaccepted:
            return "pool: no connection accepted"
        return f"{name} {level:.1%}{busy}"

    (level, name), rest = loads[0], loads[1:]
    others = ", ".join(told(v, n) for v, n in rest)
    return told(level, name, " busy") + where + (f" ({others})" if others else "")


def _judge(
    model: Model, snapshots: list[Snapshot], row: dict[str, Any], capped: bool
) -> tuple[str, str | None, float, str | None]:
    """(status, resource, load, reason) of one instance over the measured period
    (``capped``: its queue is bounded by the run's safety cap only)."""
    name = row["instance"]
    capped_rejections = row["rejected"] if capped else 0
    load, resource = _loads(row)[0] if _loads(row) else (0.0, "cores")
    if capped_rejections:
        return (
            "unstable",
            "safety_cap",
            load,
            (
                f"{capped_rejections} requests hit the safety cap of "
                f"{model.ctx.safety_cap} waiting at {name} ({_describe(row)})"
            ),
        )
    # the queue's growth only where the load could make it unstable: an instance's
    # snapshots gathered for every row cost as much as the rest of the verdict
    growth = None
    if load >= UNSTABLE_UTILIZATION:
        growth = _queue_growth(snapshots, [s.instances[name] for s in snapshots])
    if growth is not None:
        first, last = growth
        if last > 2 * first + 5:
            return (
                "unstable",
                resource,
                load,
                (f"queue at {name} grew from {first:.1f} to {last:.1f} with {_describe(row)}"),
            )
    shed = row.get("shed") or 0
    expired = row.get("expired") or 0  # queue.drop_expired: arrived, dropped unserved
    offered = row["served"] + row["rejected"] + shed + expired
    refused = row["rejected"] if "connection_occupancy" in row else 0  # a database server's
    if refused and refused / offered >= SATURATED_REJECTION:  # past max_connections
        return (
            "saturated",
            "connections",
            load,
            (
                f"connection limit: {refused / offered:.1%} of connections refused "
                f"at {name} ({_describe(row)})"
            ),
        )
    if row["rejected"] and offered and row["rejected"] / offered >= SATURATED_REJECTION:
        return (
            "saturated",
            "queue_limit",
            load,
            (
                f"queue limit: {row['rejected'] / offered:.1%} of requests rejected "
                + (f"and {shed / offered:.1%} shed " if shed else "")
                + f"at {name} ({_describe(row)})"
            ),
        )
    if shed and shed / offered >= SATURATED_REJECTION:  # overload dropped, not queued
        return (
            "saturated",
            "shed",
            load,
            f"shedding: {shed / offered:.1%} of requests shed at {name} ({_describe(row)})",
        )
    if expired and expired / offered >= SATURATED_REJECTION:  # queued past their deadline
        return (
            "saturated",
            "expired",
            load,
            (
                f"expired: {expired / offered:.1%} of requests dropped past their deadline "
                f"at {name} ({_describe(row)})"
            ),
        )
    timeouts = row.get("pool_timeouts") or 0
    refused = row.get("pool_refused") or 0  # taken beyond the server's max_connections
    asked = (row.get("pool_acquired") or 0) + timeouts + refused  # acquired excludes both
    if timeouts and timeouts / asked >= SATURATED_REJECTION:
        return (
            "saturated",
            "pool",
            load,
            (
                f"pool: {timeouts / asked:.1%} of connection requests timed out "
                + (f"and {refused / asked:.1%} refused " if refused else "")
                + f"at {name} ({_describe(row)})"
            ),
        )
    if refused and refused / asked >= SATURATED_REJECTION:
        return (
            "saturated",
            "pool",
            load,
            (
                f"pool: {refused / asked:.1%} of connection requests refused (past the "
                f"database's max_connections) at {name} ({_describe(row)})"
            ),
        )
    if load >= SATURATED_UTILIZATION:
        return "saturated", resource, load, _describe(row, f" at {name}")
    return "stable", None, load, None


def judged_windows(grid: list[Snapshot]) -> list[tuple[int, float]]:
    """``(index, span)`` of each time-series window judged alone: those at least
    :data:`SHORT_WINDOW` of the longest (the run's last, cut by the horizon, may not be)."""
    spans = [b.time - a.time for a, b in itertools.pairwise(grid)]
    shortest = SHORT_WINDOW * max(spans, default=0.0)
    return [(i, span) for i, span in enumerate(spans) if not (span <= 0 or span < shortest)]


def _busiest_windows(model: Model, grid: list[Snapshot]) -> dict[str, dict[str, Any]]:
    """Each instance's time-series window of highest cores or workers level.

    Windows shorter than :data:`SHORT_WINDOW` of the longest are skipped: over a few
    microseconds one busy core is a 100% busy window, whatever the load. An autoscaled
    instance's levels are over the time it was provisioned in the window; a slot never
    provisioned in a judged window has none.

    Each window is judged over the whole fleet at once (numpy arrays, one entry an
    instance): the same float operations, in the same order, as one instance at a time.
    """
    judged = judged_windows(grid)
    instances = model.instances
    if not judged or not instances:
        return {}
    names = [inst.name for inst in instances]
    capacity = np.array([inst.capacity for inst in instances], dtype=float)
    # instances without workers: a level that never beats their cores'
    held = np.array(["worker_area" in grid[-1].instances[name] for name in names])

    def column(snapshot: Snapshot, key: str, where: np.ndarray | None = None) -> np.ndarray:
        states = snapshot.instances
        if where is None:
            return np.array([states[name][key] for name in names], dtype=float)
        return np.array(
            [states[name][key] if has else 0.0 for name, has in zip(names, where, strict=True)],
            dtype=float,
        )

    busy_areas = [column(snap, "busy_area") for snap in grid]
    # an autoscaled instance is judged over the time it was provisioned in the window
    # (instance_stats.exposure, as the time series and the utilisation alert read it):
    # one started half-way through read half as busy over the whole window
    scaled = np.array(["provisioned_area" in grid[-1].instances[name] for name in names])
    if scaled.any():
        provisioned = [column(snap, "provisioned_area", scaled) for snap in grid]
    if held.any():
        worker_areas = [column(snap, "worker_area", held) for snap in grid]
        # a window's workers as at its end (an adaptive limit moves them)
        workers = [column(snap, "workers", held) for snap in grid]
    level = np.empty(len(names))
    best = np.empty(len(names))
    window = np.zeros(len(names), dtype=int)  # index into ``judged`` of each one's best
    by_workers = np.zeros(len(names), dtype=bool)
    found = np.zeros(len(names), dtype=bool)
    for j, (i, span) in enumerate(judged):
        exposure: float | np.ndarray = span
        if scaled.any():
            exposure = np.where(scaled, provisioned[i + 1] - provisioned[i], span)
        with np.errstate(invalid="ignore", divide="ignore"):
            busy = (busy_areas[i + 1] - busy_areas[i]) / (capacity * exposure)
        workers_busier = np.zeros(len(names), dtype=bool)
        if held.any():
            with np.errstate(invalid="ignore", divide="ignore"):
                occupancy = (worker_areas[i + 1] - worker_areas[i]) / (workers[i + 1] * exposure)
            # max() of (cores, workers) keeps cores unless workers are strictly busier
            workers_busier = held & (occupancy > busy)
            level = np.where(workers_busier, occupancy, busy)
        else:
            level = busy
        # busier by more than rounding: of equally busy windows (saturated ones at
        # 100%), the first, whichever engine summed the areas; a slot not provisioned
        # in the window (NaN) has no level there
        better = ~found | (~np.isnan(level) & (np.isnan(best) | (level > best * (1 + 1e-9))))
        best = np.where(better, level, best)
        window = np.where(better, j, window)
        by_workers = np.where(better, workers_busier, by_workers)
        found |= better
    peaks: dict[str, dict[str, Any]] = {}
    for inst, utilization, j, workers_won in zip(
        instances, best.tolist(), window.tolist(), by_workers.tolist(), strict=True
    ):
        if math.isnan(utilization):  # an autoscaled slot never provisioned
            continue
        i = judged[j][0]
        peaks[inst.name] = {
            "instance": inst.name,
            "resource": "workers" if workers_won else busy_name(inst.kind),
            "utilization": utilization,
            "start": grid[i].time,
            "end": grid[i + 1].time,
        }
    return peaks


def _callees(model: Model) -> dict[str, set[str]]:
    """Component -> the components its endpoints and pools name (calls, reads, queries)."""
    names = set(model.components)
    out: dict[str, set[str]] = {}
    for name, component in model.components.items():
        spec = getattr(component, "spec", None)
        if spec is None:
            continue
        found = {s.split(".")[0] for s in _strings(spec.model_dump())} & names
        found.discard(name)
        out[name] = found
    return out


def _strings(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)


FAULT_WORDS = {
    "crash": "down",
    "slow": "slow",
    "errors": "failing some requests",
    "latency": "slowed by a latency spike",
    "partition": "partitioned",
}
"""How the verdict says what a fault kind did to its target."""

NO_FAULT_CAUSES = frozenset({"rate_limited"})
"""Error causes no fault produces: a rate limit refuses by rate alone, fault or none, so
a run failing mostly with its refusals is blamed on no outage."""


def _outages(model: Model, snapshots: list[Snapshot]) -> list[dict[str, Any]]:
    """Faults overlapping the measured period, by target, with their share of it."""
    log = model.ctx.faults
    if len(snapshots) < 2 or log is None:
        return []
    start, end = snapshots[0].time, snapshots[-1].time
    totals: dict[tuple[str, str], float] = {}
    components: dict[tuple[str, str], set[str]] = {}
    instances: dict[tuple[str, str], set[str]] = {}
    kinds: dict[tuple[str, str], set[str]] = {}
    replaced: set[tuple[str, str]] = set()
    for occurrence in log.occurrences:
        stop = end if occurrence["end"] is None else occurrence["end"]
        down = min(end, stop) - max(start, occurrence["start"])
        if down <= 0:
            continue
        key = (target_name(occurrence), occurrence["kind"])
        fault = model.scenario.faults[occurrence["fault"]]
        scaler = getattr(model.components.get(fault.component or ""), "autoscaler", None)
        if scaler is not None and occurrence["kind"] == "crash":
            # an autoscaled instance is down until it, or its replacement, serves again
            down, swapped = _unserved(scaler, occurrence, start, end, stop)
            if down <= 0:  # it hit an empty slot, or ended before the period
                continue
            if swapped:
                replaced.add(key)
        totals[key] = totals.get(key, 0.0) + down
        components[key] = fault_components(model, fault)
        instances.setdefault(key, set()).update(occurrence["instances"])
        kinds[key] = fault_kinds(model, fault)
    out = []
    for (who, kind), down in totals.items():
        share = down / (end - start)
        # a component and an instance only where the target is one: a group's or a
        # region's text names neither (it stays the target)
        (component,) = components[who, kind] if len(components[who, kind]) == 1 else (None,)
        (instance,) = instances[who, kind] if len(instances[who, kind]) == 1 else (None,)
        out.append(
            {
                "component": component,
                "component_kinds": kinds[who, kind],
                "fault": kind,
                "instance": instance,
                "target": who,
                "share": share,
                "text": f"{who} {FAULT_WORDS[kind]} {format_time(down)}"
                + (", replaced" if (who, kind) in replaced else "")
                + f" ({share:.0%} of the measured period)",
            }
        )
    return out


def _unserved(
    scaler: Any, occurrence: dict[str, Any], start: float, end: float, stop: float
) -> tuple[float, bool]:
    """Time within ``[start, end]`` that a crash ``occurrence`` (lasting to ``stop``)
    left its autoscaled instances' capacity out of service, and whether any was
    replaced: it ends when the instance recovers or its replacement serves, in its slot
    or another (a replacement may still be warming after the fault's end). A crash of
    several instances counts the time any of them was out once (the union of their
    spans), as a fixed fleet's crash counts its duration once."""
    spans = scaler.unserved_between(start, end)
    hit: list[tuple[float, float]] = []
    swapped = False
    for name in occurrence["instances"]:
        for a, b, replaced in spans.get(name, []):
            if occurrence["start"] <= a <= stop:  # a crash before ``start``: a == start
                hit.append((a, b))
                swapped = swapped or replaced
    down, reached = 0.0, -math.inf
    for a, b in sorted(hit):
        if b > reached:
            down += b - max(a, reached)
            reached = b
    return down, swapped


def _failing(
    errors: dict[str, int], measured: int, outages: list[dict[str, Any]], degraded: int = 0
) -> dict[str, Any]:
    """The verdict of a run no resource limits: failing, degraded, or nothing to add."""
    failed = sum(errors.values())
    if measured and failed / measured > FAILING_ERROR_RATE:
        cause, count = max(errors.items(), key=lambda item: item[1])
        reason = f"{failed / measured:.1%} of requests failed, {count / measured:.1%} as {cause}"
        blamed: dict[str, Any] = {"component": None, "target": None}
        if outages and cause not in NO_FAULT_CAUSES:
            related = [o for o in outages if gives(cause, o["fault"], o["component_kinds"])]
            worst = max(related or outages, key=lambda o: o["share"])
            blamed = {"component": worst["component"], "target": worst["target"]}
            reason += f"; {worst['text']}"
        return {"status": "failing", **blamed, "reason": reason}
    # answers a fallback made up are not the real ones: not failed, not stable either
    fallback = None
    if measured and degraded / measured > FAILING_ERROR_RATE:
        fallback = (
            f"{degraded / measured:.1%} of requests degraded (a fallback answered for a "
            "failed call)"
        )
    if outages:
        worst = max(outages, key=lambda o: o["share"])
        return {
            "status": "degraded",
            "component": worst["component"],
            "instance": worst["instance"],
            "resource": "instance",
            "reason": worst["text"] + (f"; {fallback}" if fallback else ""),
            "target": worst["target"],
        }
    if fallback:
        return {"status": "degraded", "component": None, "reason": fallback}
    return {}


def _queue_growth(
    snapshots: list[Snapshot], inst_snaps: list[dict[str, float]]
) -> tuple[float, float] | None:
    """Mean queue length over the first and last quarter of the windows."""
    n = len(snapshots) - 1
    if n < 4:
        return None
    quarter = max(n // 4, 1)

    def mean_queue(lo: int, hi: int) -> float:
        span = snapshots[hi].time - snapshots[lo].time
        area = inst_snaps[hi]["queue_area"] - inst_snaps[lo]["queue_area"]
        return area / span if span > 0 else 0.0

    return mean_queue(0, quarter), mean_queue(n - quarter, n)
