"""The stability verdict: is a run stable, saturated or unstable, and where.

An instance is *unstable* when requests hit the safety cap waiting at it, or when at
utilisation >= 0.97 its queue grew from the first quarter of the run to the last;
*saturated* when >= 1% of its requests were rejected or it was >= 95% busy. When the
arrival rate varies in time, an instance is also judged in its busiest time-series
window, since the run's average hides the peak. The verdict names the worst instance.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any

from simperf.spec.workload import TIME_VARYING_ARRIVALS
from simperf.units import format_time

if TYPE_CHECKING:  # pragma: no cover
    from simperf.model import Model, Snapshot

SEVERITY = {"stable": 0, "saturated": 1, "unstable": 2}
SATURATED_UTILIZATION = 0.95
UNSTABLE_UTILIZATION = 0.97
SATURATED_REJECTION = 0.01


def verdict(
    model: Model, snapshots: list[Snapshot], grid: list[Snapshot], rows: list[dict[str, Any]]
) -> dict[str, Any]:
    """The verdict (stable, saturated, unstable), naming the worst instance and why.

    Whole-run utilisation hides a peak when the arrival rate varies in time (a diurnal
    evening, a burst state), so for those workloads each instance is also judged in its
    busiest time-series window; ``peak`` always gives that window.

    Parameters
    ----------
    model
        The model after its run.
    snapshots
        The snapshots of the measured period.
    grid
        The snapshots bounding the time-series windows.
    rows
        The instance rows of the component table (utilisation, served, rejected).
    """
    result: dict[str, Any] = {
        "status": "stable",
        "component": None,
        "instance": None,
        "reason": None,
    }
    worst = (0, -1.0)
    peaks = _busiest_windows(model, grid)
    arrival = model.scenario.workload.arrival
    varying = arrival is not None and arrival.kind in TIME_VARYING_ARRIVALS
    for row in rows:
        status, reason = _judge(model, snapshots, row)
        utilization = row["utilization"] or 0.0
        peak = peaks.get(row["instance"])
        if (
            varying
            and status == "stable"
            and peak is not None
            and peak["utilization"] >= SATURATED_UTILIZATION
        ):
            status, utilization = "saturated", peak["utilization"]
            reason = (
                f"utilization {peak['utilization']:.3f} at {row['instance']} from "
                f"{format_time(peak['start'])} to {format_time(peak['end'])} (busiest "
                f"window; {row['utilization']:.3f} over the run)"
            )
        key = (SEVERITY[status], utilization)
        if key > worst and SEVERITY[status] > 0:
            worst = key
            result.update(
                status=status,
                component=row["component"],
                instance=row["instance"],
                reason=reason,
            )
    result["peak"] = max(peaks.values(), key=lambda p: p["utilization"], default=None)
    result["safety_cap_hits"] = model.ctx.safety_cap_hits
    return result


def _busiest_windows(model: Model, grid: list[Snapshot]) -> dict[str, dict[str, Any]]:
    """Each instance's time-series window of highest utilisation."""
    peaks: dict[str, dict[str, Any]] = {}
    for a, b in itertools.pairwise(grid):
        span = b.time - a.time
        if span <= 0:
            continue
        for inst in model.instances:
            busy = b.instances[inst.name]["busy_area"] - a.instances[inst.name]["busy_area"]
            utilization = busy / (inst.capacity * span)
            best = peaks.get(inst.name)
            if best is None or utilization > best["utilization"]:
                peaks[inst.name] = {
                    "instance": inst.name,
                    "utilization": utilization,
                    "start": a.time,
                    "end": b.time,
                }
    return peaks


def _judge(model: Model, snapshots: list[Snapshot], row: dict[str, Any]) -> tuple[str, str | None]:
    name = row["instance"]
    inst_snaps = [s.instances[name] for s in snapshots]
    capped_rejections = row["rejected"] if _is_capped(model, name) else 0
    utilization = row["utilization"] or 0.0
    if capped_rejections:
        return "unstable", (
            f"{capped_rejections} requests hit the safety cap of "
            f"{model.ctx.safety_cap} waiting at {name}"
        )
    growth = _queue_growth(snapshots, inst_snaps)
    if utilization >= UNSTABLE_UTILIZATION and growth is not None:
        first, last = growth
        if last > 2 * first + 5:
            return "unstable", (
                f"queue at {name} grew from {first:.1f} to {last:.1f} "
                f"at utilization {utilization:.3f}"
            )
    offered = row["served"] + row["rejected"]
    if row["rejected"] and offered and row["rejected"] / offered >= SATURATED_REJECTION:
        return "saturated", f"{row['rejected'] / offered:.1%} of requests rejected at {name}"
    if utilization >= SATURATED_UTILIZATION:
        return "saturated", f"utilization {utilization:.3f} at {name}"
    return "stable", None


def _is_capped(model: Model, instance_name: str) -> bool:
    for inst in model.instances:
        if inst.name == instance_name:
            return bool(getattr(inst, "capped", False))
    return False


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
