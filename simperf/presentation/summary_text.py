"""The text summary of a result (:meth:`simperf.Result.summary`): one renderer per section.

Presentation only: every renderer reads the result's plain dict and returns its lines.
"""

from __future__ import annotations

from typing import Any

from simperf.presentation.cells import (
    Column,
    mean_count,
    metric_value,
    multiple,
    per_second,
    table_header,
    table_row,
    target_value,
    verdict_reason,
)
from simperf.presentation.summary_failures import alerts, calls, faults
from simperf.presentation.summary_stores import caches, cdns, databases, state
from simperf.units import format_clock, format_interval, format_time

SHORT_RUN_RELAXATIONS = 100
"""A measured period shorter than this many relaxation times gets a warning: an interval
from one run needs about 20 batches each several relaxation times long."""


def render(d: dict[str, Any], perf: dict[str, Any] | None = None) -> str:
    """The whole summary: every section the result has, in a fixed order."""
    lines: list[str] = []
    for section in (
        overview,
        faults,
        alerts,
        latency,
        shedding,
        calls,
        components,
        waits,
        breakdown,
        cpu_profile,
        autoscaling,
        databases,
        caches,
        cdns,
        state,
    ):
        lines.extend(section(d))
    if perf:
        lines.extend(performance(perf))
    return "\n".join(lines)


def overview(d: dict[str, Any]) -> list[str]:
    """Scenario, request counts, throughput, warm-up, errors, stability and cost."""
    lines: list[str] = []
    req = d["requests"]
    lines += [
        f"scenario {d['scenario']}  seed {d['seed']}  "
        f"measured {d['measured_time']:.6g} s after {d['warmup']:.6g} s warm-up",
        f"requests  generated {req['generated']}  ok {req['ok']}  failed {req['failed']}  "
        f"in flight {req['in_flight']}"
        # these count the warm-up too, the error rate and the tables below do not
        + (f"  (whole run; {req['measured']} measured)" if _cut(d) else ""),
        f"throughput {metric_value('throughput', d['throughput'])}   "
        f"error rate {metric_value('error_rate', d['error_rate'])}",
    ]
    if d["measured_time"] <= 0:
        lines.append("warning   the run ended before the warm-up did: nothing was measured")
    auto = d.get("warmup_auto")
    if auto and auto["relaxation_time"] is not None:
        relaxation = auto["relaxation_time"]
        lines.append(
            f"warm-up   auto: cut {format_time(auto['cut_time'])}, decided by "
            f"{auto['decided_by']} (relaxation time {format_time(relaxation)})"
        )
        if d["measured_time"] < SHORT_RUN_RELAXATIONS * relaxation:
            lines.append(
                f"warning   the measured period is only {d['measured_time'] / relaxation:.0f} "
                "relaxation times long: its mean is noisy; run longer or replicate"
            )
    if any(req["errors"].values()):
        lines.append(
            "errors    "
            + "  ".join(f"{k} {v}" for k, v in req["errors"].items() if v)
            + ("  (whole run)" if _cut(d) else "")
        )
    stab = d["stability"]
    reason = verdict_reason(stab)
    lines.append(f"stability {stab['status']}" + (f" ({reason})" if reason else ""))
    lines.extend(f"warning   {w}" for w in stab.get("warnings", []))
    lines.extend(headroom(d))
    cost = d.get("cost")
    if cost and cost["components"]:
        parts = "  ".join(f"{k} {v:.4g}" for k, v in cost["components"].items())
        scaled = cost.get("autoscaled")
        note = f"; {', '.join(scaled)} as autoscaled, mean instances" if scaled else ""
        lines.append(f"cost      {cost['total_per_hour']:.4g} per hour ({parts}{note})")
        if unpriced := unpriced_note(cost):
            lines.append(f"          {unpriced}")
    return lines


def unpriced_note(cost: dict[str, Any]) -> str:
    """What a cost total leaves out: the components with no price ("" when none).

    Parameters
    ----------
    cost
        A result's ``cost`` section (``unpriced``: names of components with no price).
    """
    names = cost.get("unpriced") or []
    if not names:
        return ""
    return f"not in the total, no price given: {', '.join(names)}"


def _cut(d: dict[str, Any]) -> bool:
    """Whether a warm-up left requests out of the measured ones."""
    return bool(d["warmup"]) and d["requests"].get("measured") is not None


def autoscaling(d: dict[str, Any]) -> list[str]:
    """Per autoscaled server: instances, instance-hours, cost, actions (none without)."""
    if not d.get("autoscaling"):
        return []
    lines = [""]
    for name, a in d["autoscaling"].items():
        mean = a["mean_instances"]
        cost = f", cost {a['cost']:.4g}" if a["cost"] is not None else ""
        lines.append(
            f"autoscaling {name}: {a['min']}..{a['max']} instances, "
            f"{a['fewest_instances']} to {a['most_instances']} in the run, mean "
            + (f"{mean:.3g}" if mean is not None else "-")
            + f", {a['instances_at_end']} at the end{_billed_at_end(a)}; "
            f"{a['instance_hours']:.4g} "
            f"instance-hours{cost}; {a['scale_outs']} scale-outs, {a['scale_ins']} scale-ins"
            + (f", {a['replaced']} crashed replaced" if a.get("replaced") else "")
        )
        if a.get("capped_at_max"):
            lines.append(
                f"  max {a['max']} too few: {a['capped_at_max']} decisions wanted more, "
                f"up to {a['most_wanted']} instances"
            )
        for e in a["events"][:5]:
            lines.append(
                f"  {format_clock(e['time'])}: {e['from']} -> {e['to']} ({scaling_reason(e)})"
            )
        if len(a["events"]) > 5:
            lines.append(f"  ... and {len(a['events']) - 5} more (Result.scaling_events)")
    return lines


def scaling_reason(event: dict[str, Any]) -> str:
    """An autoscaling action's reason as the text shows it: what the policy measured in
    its metric's unit, then the rest of the reason that the result keeps raw.

    Examples
    --------
    >>> measured = {"metric": "cpu_utilization", "value": 0.9491, "compared": "above", "level": 0.9}
    >>> reason = "cpu_utilization 0.9491 above 0.9; 2 measured + 3, 1 added already"
    >>> scaling_reason({"reason": reason, "measured": measured})
    'cpu_utilization 94.9% above 90%; 2 measured + 3, 1 added already'
    >>> scaling_reason({"reason": "app[1] crashed: terminated", "measured": None})
    'app[1] crashed: terminated'
    """
    measured = event.get("measured")
    if not measured:
        return str(event["reason"])
    metric = measured["metric"]
    _, sep, rest = event["reason"].partition(";")  # the measure runs to the first ';'
    return (
        f"{metric} {metric_value(metric, measured['value'])} {measured['compared']} "
        f"{target_value(metric, measured['level'])}{sep}{rest}"
    )


def _billed_at_end(a: dict[str, Any]) -> str:
    """`` (3 billed, draining)`` where instances still draining at the end are billed
    beyond the fleet; nothing otherwise."""
    billed = a.get("provisioned_at_end")
    if billed is None or billed == a["instances_at_end"]:
        return ""
    return f" ({billed} billed, draining)"


def headroom(d: dict[str, Any]) -> list[str]:
    """The first component to saturate as load grows, measured and estimated; the same
    while the worst fault lasted, and the load breakers kept from their callees."""
    section = d.get("headroom") or {}
    first = section.get("first")
    if first is None:
        return []
    peak = section.get("load") == "peak"
    line = _first(first, "the peak load" if peak else "this load")
    neck = (d.get("estimate") or {}).get("bottleneck")
    if neck is not None and not _same(first, neck):
        line += (
            f"; estimate{' at the mean load' if peak else ''}: {neck['component']} "
            f"{neck['resource']} at {multiple(neck['headroom'])}"
        )
    lines = [line]
    if peak:
        lines.append(_peak_note(section))
    lines += _spill_note(section["components"], bool(section.get("faults")))
    fault = section.get("fault")
    if fault is not None:
        lines += _fault_headroom(fault)
    for name, comp in section["components"].items():
        if comp.get("stopped") and comp["headroom"] is not None:
            served = comp["served_headroom"]
            lines.append(
                f"          {name} at {multiple(comp['headroom'])} of the load offered it, "
                f"counting the {comp['stopped']:,.0f} calls a breaker failed fast"
                + (f" ({multiple(served)} on the calls it served)" if served is not None else "")
            )
    return lines


def _peak_note(section: dict[str, Any]) -> str:
    """Under the headroom line of a load varying in time: which window is the peak, and
    the first to saturate at the mean load."""
    peak = section["peak"]
    rate, mean = peak["arrival_rate"], peak["mean_arrival_rate"]
    ratio = f", {rate / mean:.2f} times the mean {per_second(mean, '.4g')}" if mean > 0 else ""
    line = (
        f"          the peak: the busiest window's load, {per_second(rate, '.4g')} offered "
        f"from {format_interval(peak['start'], peak['end'])}{ratio}"
    )
    mean_first = section.get("mean_first")
    if mean_first is not None:
        room = mean_first.get("estimated_headroom") or mean_first["headroom"]
        line += f"; {mean_first['component']} at {multiple(room)} the mean load"
    return line


def _first(first: dict[str, Any], load: str = "this load") -> str:
    """The headroom line's start: the first to saturate and at what multiple of
    ``load`` (this load, or the peak load where it varies in time). Behind a spilling
    balancer ``1 / utilisation`` is no saturation point: the estimate's figure is given
    where there is one, else the measured one is said not to be it."""
    busy = f"{first['utilization']:.1%} busy at {first['instance']}"
    spill = first.get("spill")
    fleet = first.get("max_instances")
    if spill is None and fleet is not None:  # autoscaled: the fleet grows with the load
        return (
            f"headroom  {first['component']} {first['resource']} saturates first, at "
            f"{multiple(first['headroom'])} {load} with its fleet at max {fleet} ({busy} "
            f"in the fleet it had, {multiple(first['fleet_headroom'])} at that size)"
        )
    if spill is None:
        return (
            f"headroom  {first['component']} {first['resource']} saturates first, at "
            f"{multiple(first['headroom'])} {load} ({busy})"
        )
    measured = f"{first['resource']} {busy}"
    if first.get("estimated_headroom") is None:
        return (
            f"headroom  {first['component']} {first['resource']} first by 1/utilisation, "
            f"{multiple(first['headroom'])} {load} ({measured}), but {spill} spills: not "
            "where it saturates, and no estimate solved it"
        )
    return (
        f"headroom  {first['component']} {first['estimated_resource']} saturates first, at "
        f"{multiple(first['estimated_headroom'])} {load} by the estimate ({measured}; "
        f"{spill} spills, so 1/utilisation, {multiple(first['headroom'])}, is no "
        "saturation point)"
    )


def _same(first: dict[str, Any], neck: dict[str, Any]) -> bool:
    """Whether the first to saturate already gives the estimate's bottleneck."""
    return first.get("estimated_headroom") is not None and (
        first["component"],
        first["estimated_resource"],
    ) == (neck["component"], neck["resource"])


def _spill_note(components: dict[str, Any], faults: bool = False) -> list[str]:
    """Under the headroom line, per spilling balancer: its components' headroom cells are
    the estimate's (marked ``*``), and their ``1 / utilisation``, which is not."""
    behind: dict[str, list[str]] = {}
    for name, comp in components.items():
        if comp.get("spill") is not None:
            none = " (no estimate)" if comp.get("estimated_headroom") is None else ""
            behind.setdefault(comp["spill"], []).append(
                f"{name} {multiple(comp['headroom'])}{none}"
            )
    return [
        f"          behind {balancer}, which spills, headroom* is the estimate's; "
        f"1/utilisation, no saturation point: {', '.join(parts)}"
        + (" (so is 'in fault', marked ~)" if faults else "")
        for balancer, parts in behind.items()
    ]


def headroom_cell(comp: dict[str, Any] | None) -> str:
    """A component's headroom cell: behind a spilling balancer the estimate's figure
    marked ``*`` (``-*`` without one), else ``1 / utilisation`` as measured.

    Examples
    --------
    >>> headroom_cell({"headroom": 2.0}), headroom_cell(None)
    ('2x', '-')
    >>> headroom_cell({"headroom": 1.44, "spill": "geo", "estimated_headroom": 1.89})
    '1.89x*'
    """
    comp = comp or {}
    if comp.get("spill") is None:
        return multiple(comp.get("headroom"))
    return multiple(comp.get("estimated_headroom")) + "*"


def _fault_headroom(fault: dict[str, Any]) -> list[str]:
    """The worst fault's headroom, and that of its stretches before and after its
    detection (the traffic went on to the failed instance until then), or why one figure
    covers its whole time; where the load varies in time, which window it is of: the
    busiest within the fault, or the fault's time when no whole window lies within it."""
    spells = f", {fault['occurrences']} times" if fault["occurrences"] > 1 else ""
    line = (
        f"          while {fault['target']} {fault['kind']} lasted "
        f"({format_interval(fault['start'], fault['end'])}{spells}): {_saturates(fault)}"
    )
    peak = fault.get("peak")
    if fault.get("stretch") == "peak":
        line += (
            f" at its busiest window's load ({peak['arrival_rate']:.4g} requests/s offered "
            f"from {format_interval(peak['start'], peak['end'])})"
        )
    elif "peak" in fault and peak is None:
        line += " over its time (no whole time-series window within it)"
    elif peak is not None:
        line += " over its time (its busiest window had more room)"
    if not fault.get("detected"):
        return [line + "; never detected (no health check or failover saw it): no split"]
    stretches = []
    for key, words in (("before_detection", "before detection"), ("after_detection", "after")):
        stretch = fault.get(key)
        if stretch is None:
            stretches.append(f"{words}: not measured")
        elif stretch.get("headroom") is None:
            stretches.append(f"{words} ({format_time(stretch['time'])}): idle")
        else:
            stretches.append(f"{words} ({format_time(stretch['time'])}): {_saturates(stretch)}")
    if peak is not None and peak.get("component") is not None:
        stretches.append(f"busiest window: {_saturates(peak)}")
    if fault.get("stretch") == "peak":
        return [line, "            " + "; ".join(stretches)]
    worse = "before" if fault.get("stretch") == "before_detection" else "after"
    return [f"{line}, {worse} its detection", "            " + "; ".join(stretches)]


def _saturates(first: dict[str, Any]) -> str:
    """'app cores at 5x (20.0% busy at app[1])': a first to saturate, in words; behind a
    spilling balancer its 1/utilisation, said to be no saturation point."""
    if first.get("down"):
        return f"{first['component']} at 0x (no instance up: {first['instance']} down)"
    spill = first.get("spill")
    said = f"; {spill} spills: 1/utilisation, no saturation point" if spill else ""
    return (
        f"{first['component']} {first['resource']} at {multiple(first['headroom'])} "
        f"({first['utilization']:.1%} busy at {first['instance']}{said})"
    )


def latency(d: dict[str, Any]) -> list[str]:
    """Latency percentiles per request class, and the closed-form estimate of the mean."""
    estimated = (d.get("estimate") or {}).get("classes")
    stats = ("mean", "p50", "p95", "p99", "max")
    columns: list[Column] = [("class", -16, ""), ("count", 9, "")]
    columns += [(k, 11, "") for k in stats] + ([("est mean", 11, "")] if estimated else [])
    lines = ["", table_header(columns)]
    for name, measured in d["latency"].items():
        values = [name, measured["count"], *(format_time(measured[k]) for k in stats)]
        if estimated:
            values.append(format_time((estimated.get(name) or {}).get("mean")))
        lines.append(table_row(columns, values))
    error = d["latency"]["all"].get("relative_error")
    if error is not None:
        kept = d["requests"].get("records_kept", 0)
        lines.append(
            f"percentiles within {error:.0%} (past run.keep_requests: {kept:,} records "
            "kept, the rest counted in latency buckets); counts, means and max exact"
        )
    return lines


def shedding(d: dict[str, Any]) -> list[str]:
    """Requests shed per class and per app server, the attempts each app server
    dropped past their deadline (none where nothing can shed or drop), and the losing
    hedged copies it dropped as cancelled (none where it dropped none)."""
    lines: list[str] = []
    rows = {name: row for name, row in d["latency"].items() if "shed" in row}
    if rows:
        parts = []
        for name, row in rows.items():
            # the share of the class's measured requests that were shed
            measured = row["count"] + row["errors"]
            share = row["shed"] / measured if measured else 0.0
            parts.append(f"{name} {row['shed']} ({share:.1%})")
        lines.append("shed      " + "  ".join(parts))
        by = [f"{name} {comp['shed']}" for name, comp in d["components"].items() if "shed" in comp]
        if by:
            lines.append("shed by   " + "  ".join(by))
    expired = [_expired(name, comp) for name, comp in d["components"].items() if "expired" in comp]
    if expired:
        lines.append("expired   " + "  ".join(expired))
    cancelled = [
        f"{name} {comp['cancelled']}"
        for name, comp in d["components"].items()
        if comp.get("cancelled")
    ]
    if cancelled:  # what hedging would have wasted: shown only where it happened
        lines.append("cancelled " + "  ".join(cancelled) + " (hedged copies dropped unserved)")
    return ["", *lines] if lines else []


def _expired(name: str, comp: dict[str, Any]) -> str:
    """'api 2 of 6 offered (33.3%)': the attempts a ``drop_expired`` queue dropped past
    their deadline, of those offered to it (served, rejected, shed or dropped)."""
    dropped = comp["expired"]
    offered = comp["served"] + comp["rejected"] + comp.get("shed", 0) + dropped
    share = dropped / offered if offered else 0.0
    return f"{name} {dropped} of {offered} offered ({share:.1%})"


def components(d: dict[str, Any]) -> list[str]:
    """One row per component: utilisation, queue, wait, served."""
    estimated = (d.get("estimate") or {}).get("components")
    spare, in_fault = component_headroom(d)
    columns: list[Column] = [
        ("component", -16, ""),
        ("kind", -15, ""),
        ("util", 7, ".1%"),
        ("workers", 8, ".1%"),
        ("pool", 7, ".1%"),
        ("queue", 9, ""),
        ("wait", 11, ""),
        ("served", 10, ""),
    ]
    if estimated is not None:
        columns.append(("est util", 9, ".1%"))
    if spare is not None:
        columns.append(("headroom", 9, ""))
    if in_fault:
        columns.append(("in fault", 9, ""))
    lines = ["", table_header(columns)]
    for name, comp in d["components"].items():
        values = [name, comp["kind"]]
        values += [comp.get(k) for k in ("utilization", "worker_occupancy", "pool_occupancy")]
        values += [mean_count(comp.get("mean_queue_length")), format_time(comp.get("mean_wait"))]
        values.append(_served(name, comp, d))
        if estimated is not None:
            database = d.get("databases", {}).get(name)
            values.append(_estimated_utilization(estimated.get(name), database))
        if spare is not None:
            values.append(headroom_cell(spare.get(name)))
        if in_fault:
            room = in_fault.get(name)
            # behind a spilling balancer 1/utilisation in a fault is no saturation point
            # either, and no estimate solves it: marked as the spill note says
            spills = (spare or {}).get(name, {}).get("spill") is not None
            values.append(multiple(room) + ("~" if spills and room is not None else ""))
        lines.append(table_row(columns, values))
    return lines


def _served(name: str, comp: dict[str, Any], d: dict[str, Any]) -> Any:
    """A row's ``served``: a server's requests done, a balancer's dispatched, a CDN's
    requests entering its edges (each answered, from a cache or through the origin; the
    CDN table below says which)."""
    if comp["kind"] == "cdn":
        return (d.get("cdns") or {}).get(name, {}).get("requests", "-")
    return comp.get("served", comp.get("dispatched", "-"))


def component_headroom(d: dict[str, Any]) -> tuple[dict[str, Any] | None, dict[str, float]]:
    """The run's ``headroom.components`` (None without it), and each component's least
    headroom while a fault lasted (over every fault; empty without faults)."""
    section = d.get("headroom") or {}
    out: dict[str, float] = {}
    for unit in section.get("faults") or []:
        for name, comp in unit["components"].items():
            room = comp["headroom"]
            if room is not None and (name not in out or room < out[name]):
                out[name] = room
    return section.get("components"), out


def waits(d: dict[str, Any]) -> list[str]:
    """Per component where requests queued: the probability of waiting and wait percentiles."""
    rows = {n: c for n, c in d["components"].items() if c.get("p_wait")}
    if not rows:
        return []
    columns: list[Column] = [
        ("waiting", -16, ""),
        ("P(wait)", 9, ".1%"),
        ("p50", 11, ""),
        ("p95", 11, ""),
        ("p99", 11, ""),
    ]
    lines = ["", table_header(columns)]
    for name, comp in rows.items():
        times = [format_time(comp.get(k)) for k in ("wait_p50", "wait_p95", "wait_p99")]
        lines.append(table_row(columns, [name, comp["p_wait"], *times]))
    return lines


def breakdown(d: dict[str, Any]) -> list[str]:
    """Per class, the share of mean and of p99 latency in each component and part
    (from the traced requests; none without ``run.trace``)."""
    traces = d.get("traces")
    if not traces or not traces["breakdown"]:
        return []
    columns: list[Column] = [
        ("class", -12, ""),
        ("where", -28, ""),
        ("mean", 11, ""),
        ("share", 8, ".1%"),
        ("p99 share", 10, ".1%"),
    ]
    traced, kept = traces["traced"], traces.get("kept", traces["traced"])
    # past run.trace.keep the breakdown reads a uniform sample of the traced requests
    sampled = f"; from a uniform {kept} of the {traced} traced" if kept < traced else ""
    lines = [
        "",
        f"latency breakdown (traced {traces['measured']} measured requests, "
        f"sample {traces['sample']:.3g}{sampled})",
        table_header(columns),
    ]
    for klass, entry in traces["breakdown"].items():
        parts = sorted(entry["parts"].items(), key=lambda item: -(item[1]["share"] or 0.0))
        for where, part in parts:
            mean = format_time(part["mean"])
            lines.append(
                table_row(columns, [klass, where, mean, part["share"], part["tail_share"]])
            )
    shares = traces.get("p_wait", {}).get("all")
    if shares:
        where = ", ".join(f"{c} {v:.1%}" for c, v in shares.items() if c != "any")
        lines.append(
            f"waited    {shares['any']:.1%} of requests at least once"
            + (f" ({where})" if where else "")
        )
    slow = traces["slowest"]
    if slow:
        worst = slow[0]
        lines.append(
            f"slowest   {len(slow)} logged; worst {format_time(worst['latency'])} "
            f"({worst['class']}, trace {worst['trace_id']}, {worst['outcome']})"
        )
    return lines


def cpu_profile(d: dict[str, Any]) -> list[str]:
    """CPU per app server, endpoint and ``cpu`` step (none without ``run.profile``)."""
    section = d.get("cpu_profile")
    if not section:
        return []
    steps = [
        (f"{server}.{endpoint}.{index}", step["calls"], step["cpu_seconds"])
        for server, endpoints in section.items()
        for endpoint, indexed in endpoints.items()
        for index, step in indexed.items()
    ]
    total = sum(seconds for _, _, seconds in steps)
    span = d["measured_time"]
    columns: list[Column] = [
        ("step", -32, ""),
        ("calls", 9, ""),
        ("mean", 11, ""),
        ("cores", 8, ".3f"),
        ("share", 8, ".1%"),
    ]
    lines = ["", f"cpu profile (every cpu step, {total:.6g} core-s measured)"]
    lines.append(table_header(columns))
    for name, count, seconds in sorted(steps, key=lambda step: -step[2]):
        mean = format_time(seconds / count if count else None)
        cores = seconds / span if span > 0 else None
        share = seconds / total if total > 0 else None
        lines.append(table_row(columns, [name, count, mean, cores, share]))
    return lines


def performance(perf: dict[str, Any]) -> list[str]:
    """The run's wall time and speed."""
    lines: list[str] = []
    lines.append("")
    if perf.get("engine") == "fast":
        speed = f"({perf['requests_per_second']:,.0f} requests/s, exact fast path: no events)"
    else:
        speed = (
            f"({perf['requests_per_second']:,.0f} requests/s, "
            f"{perf['events_per_second']:,.0f} events/s)"
        )
    if "build_time" in perf:
        # the simulation alone can be a small part of the run: building many instances
        total = perf["build_time"] + perf["wall_time"] + perf["summary_time"]
        lines.append(
            f"wall time {total:.3g} s: build {perf['build_time']:.3g} s, "
            f"simulation {perf['wall_time']:.3g} s {speed}, "
            f"summary {perf['summary_time']:.3g} s"
        )
    else:
        lines.append(f"wall time {perf['wall_time']:.3g} s  {speed}")
    if perf.get("engine") == "fast":
        return lines
    if "fast_path_refused" in perf:
        lines.append(f"event engine: the fast path is not exact here ({perf['fast_path_refused']})")
    return lines


DATABASE_CPUS = ("cpu", "replica cpu")
"""The estimate's stations of a database's cores: its primaries' and its replicas'."""


def _estimated_utilization(
    component: dict[str, Any] | None, database: dict[str, Any] | None = None
) -> float | None:
    """The estimate's figure beside the ``util`` column: its cores (a database's CPU).

    A database's ``util`` pools the cores of all its servers (``database``, its section
    of the result), so its estimate is the busy cores of its primaries and replicas over
    all their cores (not a station's ``utilization``, its busiest shard's): a server the
    estimate sends nothing to counts as idle.
    """
    if component is None:
        return None
    stations = component.get("stations", {})
    if "cores" in stations:
        return stations["cores"]["utilization"]
    cpus = [stations[name] for name in DATABASE_CPUS if name in stations]
    if cpus and database is not None:
        busy = sum(s["visit_rate"] * s["mean_service"] for s in cpus)  # cores busy
        return busy / sum(server["cores"] for server in database["instances"].values())
    if "cpu" in stations:
        return stations["cpu"]["utilization"]
    return component.get("utilization")
