"""The ``faults`` section of a result: what each fault did, and availability.

Availability is measured two ways over the measured period: by requests (the share that
succeeded, per class and overall) and by time (the share of the period each instance
was up, and, per component, the share with at least k of its n instances up; a
database's instances are its servers, not their storage). Only
``crash`` faults take an instance down; ``slow`` and ``errors`` leave it up, which is
what makes them gray. An autoscaled server is counted over its fleet, not its ``max``
slots: a crashed instance is down until it recovers or its replacement serves.

Per occurrence: when it started and ended, the time to detect it (until a balancer
first took one of its instances out of rotation, by health check or outlier ejection, or
a database's failover noticed its primary down), the time to recover (its repair time)
and to restore (from the repair until a balancer sent traffic to it again), and the
requests in flight while it lasted or was still out of rotation that failed, whatever
the cause and whenever (a connect timeout fails a request after the fault has ended),
of those that arrived in the measured period, as availability counts them; and those a
circuit breaker that opened while it lasted failed fast (``breaker_open``) after it ended,
until that breaker closed again: the fault held it open, and users saw them fail.
A failed request in flight during several overlapping occurrences counts to one of them
only, so that the occurrences' ``failed`` add up to the section's: to one whose fault
fails requests with its error cause (``primary_down`` to a database's crash,
``cache_down`` to a cache's: :data:`CAUSE_FAULTS`; a group's or a region's crash to
those of its members' kinds) where there is one, and among those (or, if none is, among
all) to the one that started last before it failed. A cause no fault gives of itself
(``timeout``, ``shed``, ``pool_timeout`` ...) is how a slow or crashed component shows
further up: it is counted as a lone fault counts it, not left unattributed (a ``slow``
fault, which gives no cause of its own, would lose its failures to any overlap).

A request one of the scenario's own rate limiters refused (``rate_limited``, an HTTP 429)
counts neither way: the limiter admits by rate alone, whether or not a fault lasts, so
its refusals are a deliberate policy, not an outage's symptom. They are left out of the
requests failed during a fault and of availability by requests (as an SLI leaves out the
requests that are not valid events), and counted apart (``rate_limited``).
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import numpy as np

from simperf.metrics.request_stats import tally
from simperf.spec.faults import parse_member

MAX_LISTED = 1000
"""Occurrences listed one by one (random faults over a long run can repeat many times;
the totals cover them all)."""


def faults_section(summary: Any) -> dict[str, Any] | None:
    """The ``faults`` section (None for a run without faults)."""
    model = summary.model
    log = model.ctx.faults
    if log is None or not model.scenario.faults:
        return None
    t0, t1 = summary.warmup, summary.end
    data = summary.data
    refused = _refused(summary)
    # the measured period's requests, those availability by requests counts: a warm-up
    # one failed by the same outage is not counted (it was, doubling a fault's failures)
    failed = (data["outcome"] != 0) & (data["start"] >= t0)
    if refused is not None:  # refused by our own limiter: no outage's doing
        failed &= ~refused
    # A request the fault touched was in flight while it lasted: it started before the
    # fault's end and failed after its start (a connect timeout fails it after the end).
    weights = data["weight"][failed] if "weight" in data else np.ones(int(failed.sum()))
    by_start = np.argsort(data["start"][failed], kind="stable")
    starts, weights = data["start"][failed][by_start], weights[by_start]
    end_by_start = data["end"][failed][by_start]
    codes = data["outcome"][failed][by_start]
    # a failed request in flight during several occurrences counts once, to one of
    # them: one whose fault gives its cause first, then the one started last
    owner = np.full(starts.size, -1)
    owner_related = np.zeros(starts.size, dtype=bool)
    owner_start = np.full(starts.size, -np.inf)
    # folded records start and end on window bounds, sums of window lengths: a fault
    # starting on a bound must not lose the window after it to a rounding error
    fuzz = 1e-9 * max(1.0, abs(t1)) if "weight" in data else 0.0
    spells = _breaker_spells(model)
    fast = summary.causes.index("breaker_open") if "breaker_open" in summary.causes else -1
    occurrences = []
    for occ in log.occurrences:
        end = t1 if occ["end"] is None else occ["end"]
        if end < t0 or occ["start"] > t1:
            continue
        until = max(end, occ["restored"] if occ["restored"] is not None else end)
        before = np.searchsorted(starts, until - fuzz, side="left")
        mine = np.zeros(starts.size, dtype=bool)
        mine[:before] = end_by_start[:before] >= occ["start"] - fuzz
        # a breaker it opened fails calls fast until it closes, after the fault too
        held = max((b for a, b in spells if occ["start"] <= a <= end), default=until)
        if held > until:
            after = np.searchsorted(starts, held - fuzz, side="left")
            mine[before:after] = codes[before:after] == fast
        related = mine & _gives(model, occ, summary.causes)[codes]
        better = mine & (
            (related & ~owner_related) | ((related == owner_related) & (occ["start"] > owner_start))
        )
        owner[better] = len(occurrences)
        owner_related[better] = related[better]
        owner_start[better] = occ["start"]
        occurrences.append(
            {
                **occ,
                "time_to_detect": _minus(occ["detected"], occ["start"]),
                "time_to_recover": _minus(occ["end"], occ["start"]),
                "time_to_restore": _minus(occ["restored"], occ["end"]),
            }
        )
    counted = np.bincount(owner[owner >= 0], weights[owner >= 0], len(occurrences))
    for occ, n in zip(occurrences, counted, strict=True):
        occ["failed"] = round(float(n))
    section: dict[str, Any] = {
        "count": len(occurrences),
        "mean_time_to_detect": _mean(o["time_to_detect"] for o in occurrences),
        "mean_time_to_recover": _mean(o["time_to_recover"] for o in occurrences),
        "undetected": sum(o["detected"] is None for o in occurrences),
        "failed": int(weights[owner >= 0].sum()),
        "availability": {
            "requests": _request_availability(summary, refused),
            "time": _time_availability(model, log.occurrences, t0, t1),
        },
        "occurrences": occurrences[:MAX_LISTED],
    }
    if refused is not None:
        section["rate_limited"] = int(tally(data, refused & (data["start"] >= t0)))
    return section


CAUSE_FAULTS: dict[str, tuple[set[str], set[str] | None]] = {
    "primary_down": ({"crash"}, {"database", "sharded_database"}),
    "cache_down": ({"crash"}, {"cache"}),
    "balancer_down": ({"crash"}, {"load_balancer"}),
    "instance_down": ({"crash"}, {"app_server"}),
    "injected_error": ({"errors"}, None),
    "partitioned": ({"partition"}, None),
}
"""Error cause -> the fault kinds (and component kinds, None: any) that fail requests
with it: a failing run is blamed on such an outage before a longer, unrelated one, and a
request failed during overlapping faults is counted to such a one."""


def gives(cause: str, fault_kind: str, component_kinds: Collection[str]) -> bool:
    """Whether a fault of ``fault_kind`` on components of ``component_kinds`` (a group's
    or a region's may be of several; a network path's of none) fails requests as
    ``cause`` (:data:`CAUSE_FAULTS`).

    Examples
    --------
    >>> gives("primary_down", "crash", {"database"}), gives("primary_down", "crash", {"cache"})
    (True, False)
    >>> gives("cache_down", "crash", {"cache", "database"}), gives("partitioned", "partition", ())
    (True, True)
    """
    faults, kinds = CAUSE_FAULTS.get(cause, (set(), None))
    return fault_kind in faults and (kinds is None or not kinds.isdisjoint(component_kinds))


def fault_components(model: Any, fault: Any) -> set[str]:
    """The components ``fault`` acts on: its component, its group's members', those
    located in its region (none for a network path), as
    :func:`simperf.components.faults.schedule_faults` finds its members."""
    specs = model.scenario.components
    if fault.component is not None:
        names = [fault.component]
    elif fault.group is not None:
        names = [m[0] for m in map(parse_member, fault.group) if m is not None]
    elif fault.region is not None:
        network = model.ctx.network
        region = network.index[fault.region]
        names = [name for name in specs if network.region_of.get(name) == region]
    else:
        names = []
    return {name for name in names if name in specs}


def fault_kinds(model: Any, fault: Any) -> set[str]:
    """The kinds of the components ``fault`` acts on (:func:`fault_components`)."""
    specs = model.scenario.components
    return {specs[name].kind for name in fault_components(model, fault)}


def _gives(model: Any, occurrence: dict[str, Any], causes: list[str]) -> np.ndarray:
    """Per outcome code, whether ``occurrence``'s fault fails requests with that cause."""
    kinds = fault_kinds(model, model.scenario.faults[occurrence["fault"]])
    return np.array([gives(c, occurrence["kind"], kinds) for c in causes])


def _breaker_spells(model: Any) -> list[tuple[float, float]]:
    """Every circuit breaker's spells not closed, ``(opened, closed)`` (closed: inf
    while it still was not at the end)."""
    return [
        (a, b)
        for component in model.components.values()
        if component.kind == "route" and component.breaker is not None
        for a, b in component.breaker.spells
    ]


def _refused(summary: Any) -> np.ndarray | None:
    """Which records a rate limiter of the scenario refused (None: the run has none)."""
    if "rate_limited" not in summary.causes:
        return None
    return summary.data["outcome"] == summary.causes.index("rate_limited")


def target_name(occurrence: dict[str, Any]) -> str:
    """What a fault occurrence hit, in words: the instance's own name when the fault
    named one by number (``db[1]`` is ``db[replica0]``, the name every table uses), else
    its target as written (a component, a group, a region, a path).

    Examples
    --------
    >>> target_name({"target": "db[1]", "instances": ["db[replica0]"]})
    'db[replica0]'
    >>> target_name({"target": "app", "instances": ["app[0]", "app[1]"]})
    'app'
    """
    names = occurrence["instances"]
    target = occurrence["target"]
    if len(names) == 1 and target.endswith("]"):
        return names[0]
    return target


def _minus(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a - b


def _mean(values: Any) -> float | None:
    known = [v for v in values if v is not None]
    return sum(known) / len(known) if known else None


def _request_availability(
    summary: Any, refused: np.ndarray | None = None
) -> dict[str, float | None]:
    """Share of the measured requests that succeeded, per class and ``all``, of those
    not ``refused`` (by a rate limiter)."""
    data = summary.data
    measured = data["start"] >= summary.warmup
    if refused is not None:
        measured = measured & ~refused
    ok = data["outcome"] == 0
    out: dict[str, float | None] = {}
    for index, name in enumerate([*summary.classes, "all"]):
        mine = measured if name == "all" else measured & (data["klass"] == index)
        count = tally(data, mine)
        out[name] = tally(data, mine & ok) / count if count else None
    return out


def down_intervals(
    occurrences: list[dict[str, Any]], t0: float, t1: float
) -> dict[str, list[tuple[float, float]]]:
    """Instance name -> its disjoint down intervals (crashes) clipped to ``[t0, t1]``."""
    raw: dict[str, list[tuple[float, float]]] = {}
    for occ in occurrences:
        if occ["kind"] != "crash":
            continue
        a = max(occ["start"], t0)
        b = min(t1 if occ["end"] is None else occ["end"], t1)
        if b > a:
            for name in occ["instances"]:
                raw.setdefault(name, []).append((a, b))
    merged: dict[str, list[tuple[float, float]]] = {}
    for name, spans in raw.items():
        out: list[tuple[float, float]] = []
        for a, b in sorted(spans):
            if out and a <= out[-1][1]:
                out[-1] = (out[-1][0], max(out[-1][1], b))
            else:
                out.append((a, b))
        merged[name] = out
    return merged


def at_least_up(
    instances: list[str],
    down: dict[str, list[tuple[float, float]]],
    t0: float,
    t1: float,
    n: int | None = None,
) -> list[float]:
    """Share of ``[t0, t1]`` with at least k of ``instances`` up, for k = 0 .. n
    (``n``: of a fleet of that many, ``instances`` those of it that went down)."""
    n = len(instances) if n is None else n
    span = t1 - t0
    events = sorted(
        (t, step)
        for name in instances
        for a, b in down.get(name, [])
        for t, step in ((a, 1), (b, -1))
    )
    time_with = [0.0] * (n + 1)  # time with exactly j instances up
    now, downs = t0, 0
    for t, step in events:
        time_with[max(n - downs, 0)] += t - now  # a fleet shrunk past its crashed ones
        now, downs = t, downs + step
    time_with[max(n - downs, 0)] += t1 - now
    shares = [w / span for w in time_with] if span > 0 else [0.0] * (n + 1)
    return [float(sum(shares[k:])) for k in range(n + 1)]


def _time_availability(
    model: Any, occurrences: list[dict[str, Any]], t0: float, t1: float
) -> dict[str, Any]:
    """Up shares of every instance and component that a fault touched."""
    span = t1 - t0
    down = down_intervals(occurrences, t0, t1)
    touched = {name for occ in occurrences for name in occ["instances"]}
    instances: dict[str, float | None] = {}
    components: dict[str, Any] = {}
    for name, component in model.components.items():
        # a part of an instance (a database server's storage) is up when its server is
        own = [
            i.name
            for i in getattr(component, "instances", [])
            if i.component == name and getattr(i, "within", None) is None
        ]
        names = own or [name]
        if not touched.intersection(names):
            continue
        scaler = getattr(component, "autoscaler", None)
        if scaler is not None:
            instances.update(_fleet_instances(scaler, t0, t1))
            components[name] = _fleet_availability(scaler, t0, t1)
            continue
        for inst in names:
            lost = sum(b - a for a, b in down.get(inst, []))
            instances[inst] = 1 - lost / span if span > 0 else None
        shares = at_least_up(names, down, t0, t1)
        components[name] = {
            "instances": len(names),
            "mean_up": float(np.mean([instances[i] or 0.0 for i in names])),
            "all_up": shares[-1],
            "any_up": shares[1],
            "at_least_up": {str(k): shares[k] for k in range(1, len(names) + 1)},
        }
    return {"instances": instances, "components": components}


def _fleet_instances(scaler: Any, t0: float, t1: float) -> dict[str, float | None]:
    """Up share of each slot of an autoscaled server that held an instance: down only
    while a crash left the fleet short (not while the slot was empty)."""
    span = t1 - t0
    unserved = scaler.unserved_between(t0, t1)
    return {
        name: 1 - sum(b - a for a, b, _ in unserved.get(name, [])) / span if span > 0 else None
        for name in scaler.slots_used()
    }


def _fleet_availability(scaler: Any, t0: float, t1: float) -> dict[str, Any]:
    """An autoscaled server's availability over its fleet (the instances it wanted in
    service), not over its ``max`` slots: at each instant, the fleet's instances less
    its crashed ones that had neither recovered nor a replacement in service are up.
    ``instances`` is its largest fleet n, ``all_up`` the share with none of the fleet
    down (n or fewer up: the fleet may be smaller), ``at_least_up.<k>`` and ``any_up``
    the shares with at least k (1) instances up, counted over the fleet of the time."""
    fleet = scaler.fleet_spans(t0, t1)
    n = max(size for _, _, size in fleet)
    wanted = sum((b - a) * size for a, b, size in fleet)
    spans = [(a, b) for runs in scaler.unserved_between(t0, t1).values() for a, b, _ in runs]
    lost = sum(b - a for a, b in spans)
    # the fleet's size and its instances down change at these instants; a change of
    # size sorts before a crash at the same instant, an end of an outage before both
    changes = sorted(
        [(a, 1, size - before) for (a, _, size), before in _sizes(fleet)]
        + [(a, 2, -1) for a, _ in spans]
        + [(b, 0, 1) for _, b in spans]
    )
    time_with = [0.0] * (n + 1)  # time with exactly j instances up
    clean = 0.0  # time with none down
    now, up, down = t0, 0, 0
    for t, kind, step in changes:
        time_with[min(max(up, 0), n)] += t - now
        clean += t - now if down == 0 else 0.0
        now = t
        up += step
        down += 1 if kind == 2 else -1 if kind == 0 else 0
    time_with[min(max(up, 0), n)] += t1 - now
    clean += t1 - now if down == 0 else 0.0
    span = t1 - t0
    shares = [float(sum(time_with[k:])) / span if span > 0 else 0.0 for k in range(n + 1)]
    return {
        "instances": n,
        "mean_up": 1 - lost / wanted if wanted > 0 else 0.0,
        "all_up": clean / span if span > 0 else 0.0,
        "any_up": shares[1] if n else 0.0,
        "at_least_up": {str(k): shares[k] for k in range(1, n + 1)},
    }


def _sizes(fleet: list[tuple[float, float, int]]) -> list[tuple[tuple[float, float, int], int]]:
    """Each span of ``fleet`` with the size before it (0 before the first)."""
    return list(zip(fleet, [0, *(size for _, _, size in fleet[:-1])], strict=True))
