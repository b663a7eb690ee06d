"""Sections of the text summary about failure: faults, alerts and guarded calls."""

from __future__ import annotations

from typing import Any

from simperf.metrics.availability import target_name
from simperf.presentation.cells import Column, pct, per_second, table_header, table_row
from simperf.spec.alerts import LATENCY_METRICS
from simperf.units import format_interval, format_time

FAULT_LINES = 8
"""Occurrences listed in the summary (the JSON lists them all)."""


def faults(d: dict[str, Any]) -> list[str]:
    """Availability by requests and by time, and what each fault did."""
    section = d.get("faults")
    if not section:
        return []
    avail = section["availability"]
    # refused by the scenario's own rate limiters: counted neither way
    limited = section.get("rate_limited")
    by_class = "  ".join(f"{k} {pct(v)}" for k, v in avail["requests"].items() if k != "all")
    lines = [
        f"faults    {section['count']} occurrence(s), {section['failed']} requests failed "
        f"during them; availability {pct(avail['requests']['all'])} of requests"
        + (f" ({by_class})" if by_class else "")
        + (f"; {limited} rate-limited left out" if limited is not None else "")
    ]
    scaled = d.get("autoscaling") or {}
    for name, comp in avail["time"]["components"].items():
        # all_up is the share with no instance down: for a fleet, not that its largest
        # size served (it may have been smaller then)
        every = (
            f"none of its fleet (at most {comp['instances']}) down"
            if name in scaled
            else f"all {comp['instances']} up"
        )
        lines.append(
            f"          {name} up: mean {pct(comp['mean_up'])} per instance, {every} "
            f"{pct(comp['all_up'])}, none up {pct(1 - comp['any_up'])} of the time"
        )
    detect = section["mean_time_to_detect"]
    if detect is not None:
        lines.append(
            f"          mean time to detect {format_time(detect)}; "
            f"{section['undetected']} never detected"
        )
    for occ in section["occurrences"][:FAULT_LINES]:
        parts = [f"{target_name(occ)} {occ['kind']} at {format_time(occ['start'])}"]
        if occ["time_to_recover"] is not None:
            parts.append(f"for {format_time(occ['time_to_recover'])}")
        empty = occ.get("empty")  # an autoscaled server's slots off at the crash
        if empty and len(empty) == len(occ["instances"]):
            parts.append(
                "hit no instance (" + ("an empty slot)" if len(empty) == 1 else "empty slots)")
            )
        elif empty:
            parts.append(f"{len(empty)} of its slots empty, hit nothing there")
        if occ["time_to_detect"] is not None:
            parts.append(f"detected after {format_time(occ['time_to_detect'])}")
        # each failed request counted to one fault however many it overlapped
        parts.append(f"{occ['failed']} failed, counted to it")
        lines.append("          " + ", ".join(parts))
    if section["count"] > FAULT_LINES:
        lines.append(f"          ... and {section['count'] - FAULT_LINES} more (see JSON)")
    return lines


def alerts(d: dict[str, Any]) -> list[str]:
    """One line per alert (none without alerts)."""
    if not d.get("alerts"):
        return []
    lines = [""]
    for name, a in d["alerts"].items():
        head = f"alert {name} ({a['metric']} of {a['target']} {a['condition']} "
        head += f"{_format(a['metric'], a['threshold'])}"
        head += f" for {format_time(a['for'])})" if a["for"] else ")"
        if not a["firings"]:
            lines.append(f"{head}: never fired")
            continue
        spans = ", ".join(format_interval(i["start"], i["end"]) for i in a["intervals"][:3])
        more = f" and {a['firings'] - 3} more" if a["firings"] > 3 else ""
        lines.append(
            f"{head}: fired {a['firings']}x, {format_time(a['time_firing'])} in all ({spans}{more})"
        )
    return lines


def _format(metric: str, value: float) -> str:
    if metric in LATENCY_METRICS:
        return format_time(value)
    if metric == "throughput":
        return per_second(value)
    if metric in ("error_rate", "utilization"):
        return f"{value * 100:.4g}%"
    return f"{value:.6g}"


def calls(d: dict[str, Any]) -> list[str]:
    """Guarded calls per route (attempts per call, retries, timeouts, breaker) and the
    requests per class a fallback stood in for (none without guarded calls); the tries
    not sent past their deadline (``expired``) where a route has any."""
    if not d.get("calls"):
        return []
    columns: list[Column] = [
        ("calls", -24, ""),
        ("calls", 9, ""),
        ("attempts", 10, ""),
        ("per call", 9, ".3f"),
        ("retries", 9, ""),
        ("timeouts", 9, ""),
        ("failed", 8, ""),
        ("fast", 7, ""),
        ("opens", 7, ""),
        ("degraded", 9, ""),
    ]
    counted = ["retries", "timeouts", "failed", "fail_fast"]
    # a column of zeros in every run whose deadlines never cut a try short: left out
    if any(route.get("expired") for route in d["calls"].values()):
        columns.insert(8, ("expired", 8, ""))
        counted.append("expired")
    lines = ["", table_header(columns)]
    for name, route in d["calls"].items():
        counts = [route[k] for k in counted]
        values = [name, route["calls"], route["attempts"], route["amplification"], *counts]
        lines.append(
            table_row(columns, [*values, route.get("breaker_opens", 0), route["degraded"]])
        )
    degraded = {k: row.get("degraded", 0) for k, row in d["latency"].items() if k != "all"}
    if any(degraded.values()):
        lines.append("degraded  " + "  ".join(f"{k} {v}" for k, v in degraded.items()))
    return lines
