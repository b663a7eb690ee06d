"""The ``alerts`` section of a result: when each alert of the spec fired.

Alerts are evaluated after the run, from the per-request records and the snapshots
the time series is made of, so they cost the simulation nothing. Each alert's metric
is computed at the end of every time-series window over the alert's ``window`` (a
whole number of time-series windows, one by default) exactly as ``Result.timeseries``
computes it; the condition holds over a time-series window whose value crosses the
threshold. A run of windows over which it holds, from ``s`` to ``e``, makes the alert
fire from ``s + for`` to ``e`` when ``e - s`` exceeds ``for``.

``alerts.<name>`` holds the alert's ``metric``, ``target`` (the time-series component:
``all``, a class, a component or an instance), ``condition``, ``threshold``, ``for``,
``window``, then ``firings``, ``time_firing`` (seconds), ``time_to_first_firing``
(from the start of the measured period; None if it never fired), ``firing_at_end`` and
``intervals`` (``start``, ``end``, ``peak``: the worst value while firing).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from simperf.errors import SpecError
from simperf.metrics import instance_stats
from simperf.metrics.request_stats import stats_of, tally
from simperf.spec.alerts import COUNTER_METRICS, INSTANCE_METRICS, LATENCY_METRICS, AlertSpec
from simperf.spec.database import DATABASE_KINDS

_EPS = 1e-9
"""Relative tolerance on times: snapshot times are sums of window lengths."""


def check_targets(model: Any) -> None:
    """Raise SpecError if an alert names an instance the built model does not have."""
    problems = []
    for i, alert in enumerate(model.scenario.alerts):
        if alert.component is None or alert.instance is None:
            continue
        own = _own_instances(model, alert.component)
        if alert.instance >= len(own):
            problems.append(
                f"alerts[{i}].instance: {alert.component!r} has {len(own)} instance(s) "
                f"({', '.join(inst.name for inst in own)}), numbered from 0"
            )
    if problems:
        raise SpecError("\n".join(problems))


def _own_instances(model: Any, component: str) -> list[Any]:
    """A component's instances of its own kind (a database's servers, not their storage)."""
    kind = model.components[component].kind
    return [i for i in model.instances if i.component == component and i.kind == kind]


def evaluate(summary: Any) -> dict[str, dict[str, Any]]:
    """``alerts.<name>`` for every alert of the scenario (see the module docstring)."""
    alerts = summary.model.scenario.alerts
    if not alerts:
        return {}
    grid = summary._grid()
    times = np.array([s.time for s in grid])
    out: dict[str, dict[str, Any]] = {}
    for alert in alerts:
        steps = _steps(alert, times)
        target, values = _values(summary, alert, grid, times, steps)
        report: dict[str, Any] = {
            "metric": alert.metric,
            "target": target,
            "condition": alert.direction,
            "threshold": alert.threshold,
            "for": alert.for_,
            "window": float(times[steps] - times[0]) if times.size > steps else None,
        }
        report.update(_firings(alert, times, values))
        out[alert.name] = report
    return out


def _steps(alert: AlertSpec, times: np.ndarray) -> int:
    """The alert's window as a whole number of time-series windows (at least one)."""
    if alert.window is None or times.size < 2:
        return 1
    return max(1, round(alert.window / (times[1] - times[0])))


def _values(
    summary: Any, alert: AlertSpec, grid: list[Any], times: np.ndarray, steps: int
) -> tuple[str, list[float | None]]:
    """The time-series component the alert watches, and its value at each window's end."""
    n = len(grid)
    bounds = [(max(0, k - steps), k) for k in range(1, n)]
    metric = alert.metric
    if metric in INSTANCE_METRICS:
        model = summary.model
        name = alert.component
        if (
            alert.instance is None
            and metric in COUNTER_METRICS
            and model.components[name].kind in DATABASE_KINDS
        ):
            # a database's drops: at its cores and its pools, as the time series counts them
            drops = [instance_stats.dropped(grid[a], grid[b], name) for a, b in bounds]
            return name, [None if d is None else float(d[metric]) for d in drops]
        own = _own_instances(model, alert.component)
        if alert.instance is not None:
            own = [own[alert.instance]]
        target = own[0].name if alert.instance is not None else alert.component
        values = [_instance_value(metric, own, grid[a], grid[b]) for a, b in bounds]
        return target, values
    if metric == "in_system":
        return "all", [
            (grid[b].in_system_area - grid[a].in_system_area) / span
            if (span := times[b] - times[a]) > 0
            else None
            for a, b in bounds
        ]
    data = summary.data
    mine = np.ones(data["end"].size, dtype=bool)
    if alert.request_class != "all":
        mine = data["klass"] == summary.classes.index(alert.request_class)
    picked = np.flatnonzero(mine)
    order = picked[np.argsort(data["end"][picked], kind="stable")]
    ends = data["end"][order]
    values = []
    for a, b in bounds:
        lo, hi = np.searchsorted(ends, [times[a], times[b]], side="left")
        values.append(_request_value(metric, data, order[lo:hi], times[b] - times[a]))
    return alert.request_class, values


def _request_value(
    metric: str, data: dict[str, np.ndarray], picked: np.ndarray, span: float
) -> float | None:
    """A request metric over the records ``picked`` (those finished in one window), as
    the time series computes it."""
    outcome = data["outcome"][picked]
    weights = {"weight": data["weight"][picked]} if "weight" in data else {}
    failed = tally(weights, outcome != 0)
    finished = tally(weights, np.ones(outcome.size, dtype=bool))
    if metric == "throughput":
        return (finished - failed) / span if span > 0 else None
    if metric == "errors":
        return float(failed)
    if metric == "error_rate":
        return failed / finished if finished else None
    assert metric in LATENCY_METRICS
    return stats_of(data, picked[outcome == 0])[metric]


def _instance_value(metric: str, instances: list[Any], a: Any, b: Any) -> float | None:
    """Mean utilisation, total time-average queue length, or the total of a counter
    (shed, expired, cancelled), of instances in one window.

    An autoscaled server's instances count only while provisioned, as the time series
    counts them: its utilisation is busy time over the core-seconds provisioned (the
    slots left off do not dilute it), and one slot provisioned at no time in the window
    has no value there (it is not evaluated; warming, it is provisioned and idle).
    """
    span = b.time - a.time
    if span <= 0:
        return None
    states = [(i, a.instances[i.name], b.instances[i.name]) for i in instances]
    exposures = [instance_stats.exposure(sa, sb, span) for _, sa, sb in states]
    if len(states) == 1 and exposures[0] <= 0:
        return None
    if metric in COUNTER_METRICS:
        return float(sum(sb[metric] - sa[metric] for _, sa, sb in states))
    if metric == "utilization":
        if "provisioned_area" in states[0][2]:  # autoscaled: over the time provisioned
            seconds = sum(i.capacity * e for (i, _, _), e in zip(states, exposures, strict=True))
            area = sum(sb["busy_area"] - sa["busy_area"] for _, sa, sb in states)
            return area / seconds if seconds > 0 else None
        busy = [(sb["busy_area"] - sa["busy_area"]) / (i.capacity * span) for i, sa, sb in states]
        return float(np.mean(busy))
    return sum((sb["queue_area"] - sa["queue_area"]) / span for _, sa, sb in states)


def _firings(alert: AlertSpec, times: np.ndarray, values: list[float | None]) -> dict[str, Any]:
    """Firing intervals from the values at the ends of windows 1 .. n."""
    threshold = alert.threshold
    above = alert.direction == "above"
    holds = [v is not None and (v > threshold if above else v < threshold) for v in values]
    intervals: list[dict[str, float]] = []
    k = 0
    while k < len(holds):
        if not holds[k]:
            k += 1
            continue
        first = k
        while k < len(holds) and holds[k]:
            k += 1
        start, end = float(times[first]), float(times[k])
        fires = start + alert.for_
        if end - fires > _EPS * max(1.0, abs(end)):
            window_values = [
                values[j]
                for j in range(first, k)
                if times[j + 1] - fires > _EPS * max(1.0, abs(fires))
            ]
            peak = max(window_values) if above else min(window_values)  # type: ignore[type-var]
            intervals.append({"start": fires, "end": end, "peak": peak})
    origin = float(times[0]) if times.size else 0.0
    return {
        "firings": len(intervals),
        "time_firing": float(sum(i["end"] - i["start"] for i in intervals)),
        "time_to_first_firing": intervals[0]["start"] - origin if intervals else None,
        "firing_at_end": bool(intervals) and bool(holds[-1]),
        "intervals": intervals,
    }
