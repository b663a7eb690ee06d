"""The text summary of a result (:meth:`simperf.Result.summary`): one renderer per section.

Presentation only: every renderer reads the result's plain dict and returns its lines.
"""

from __future__ import annotations

from typing import Any

from simperf.spec.alerts import LATENCY_METRICS
from simperf.units import format_time

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
        f"in flight {req['in_flight']}",
        "throughput "
        + (f"{d['throughput']:.6g} req/s" if d["throughput"] is not None else "-")
        + "   error rate "
        + (f"{d['error_rate']:.3%}" if d["error_rate"] is not None else "-"),
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
        lines.append("errors    " + "  ".join(f"{k} {v}" for k, v in req["errors"].items() if v))
    stab = d["stability"]
    lines.append(
        f"stability {stab['status']}"
        + (f" ({stab['component']}: {stab['reason']})" if stab["reason"] else "")
    )
    lines.extend(f"warning   {w}" for w in stab.get("warnings", []))
    lines.extend(headroom(d))
    cost = d.get("cost")
    if cost and cost["components"]:
        parts = "  ".join(f"{k} {v:.4g}" for k, v in cost["components"].items())
        scaled = cost.get("autoscaled")
        note = f"; {', '.join(scaled)} as autoscaled, mean instances" if scaled else ""
        lines.append(f"cost      {cost['total_per_hour']:.4g} per hour ({parts}{note})")
    return lines


def autoscaling(d: dict[str, Any]) -> list[str]:
    """Per autoscaled server: instances, instance-hours, cost, actions (none without)."""
    if not d.get("autoscaling"):
        return []
    lines = [""]
    for name, a in d["autoscaling"].items():
        mean = a["mean_instances"]
        cost = f", cost {a['cost']:.4g}" if a["cost"] is not None else ""
        lines.append(
            f"autoscaling {name}: {a['min']}..{a['max']} instances, mean "
            + (f"{mean:.3g}" if mean is not None else "-")
            + f", {a['instances_at_end']} at the end; {a['instance_hours']:.4g} "
            f"instance-hours{cost}; {a['scale_outs']} scale-outs, {a['scale_ins']} scale-ins"
        )
        for e in a["events"][:5]:
            lines.append(f"  {format_time(e['time'])}: {e['from']} -> {e['to']} ({e['reason']})")
        if len(a["events"]) > 5:
            lines.append(f"  ... and {len(a['events']) - 5} more (Result.scaling_events)")
    return lines


def headroom(d: dict[str, Any]) -> list[str]:
    """The first component to saturate as load grows, measured and estimated."""
    first = (d.get("headroom") or {}).get("first")
    if first is None:
        return []
    line = (
        f"headroom  {first['component']} {first['resource']} saturates first, at "
        f"{first['headroom']:.3g}x this load "
        f"({first['utilization']:.1%} busy at {first['instance']})"
    )
    neck = (d.get("estimate") or {}).get("bottleneck")
    if neck is not None:
        line += f"; estimate: {neck['component']} {neck['resource']} at {neck['headroom']:.3g}x"
    return [line]


FAULT_LINES = 8
"""Occurrences listed in the summary (the JSON lists them all)."""


def faults(d: dict[str, Any]) -> list[str]:
    """Availability by requests and by time, and what each fault did."""
    section = d.get("faults")
    if not section:
        return []
    avail = section["availability"]
    by_class = "  ".join(f"{k} {_pct(v)}" for k, v in avail["requests"].items() if k != "all")
    lines = [
        f"faults    {section['count']} occurrence(s), {section['failed']} requests failed "
        f"during them; availability {_pct(avail['requests']['all'])} of requests"
        + (f" ({by_class})" if by_class else "")
    ]
    for name, comp in avail["time"]["components"].items():
        lines.append(
            f"          {name} up: mean {_pct(comp['mean_up'])} per instance, all "
            f"{comp['instances']} up {_pct(comp['all_up'])}, none up "
            f"{_pct(1 - comp['any_up'])} of the time"
        )
    detect = section["mean_time_to_detect"]
    if detect is not None:
        lines.append(
            f"          mean time to detect {format_time(detect)}; "
            f"{section['undetected']} never detected"
        )
    for occ in section["occurrences"][:FAULT_LINES]:
        parts = [f"{occ['target']} {occ['kind']} at {format_time(occ['start'])}"]
        if occ["time_to_recover"] is not None:
            parts.append(f"for {format_time(occ['time_to_recover'])}")
        if occ["time_to_detect"] is not None:
            parts.append(f"detected after {format_time(occ['time_to_detect'])}")
        parts.append(f"{occ['failed']} failed")
        lines.append("          " + ", ".join(parts))
    if section["count"] > FAULT_LINES:
        lines.append(f"          ... and {section['count'] - FAULT_LINES} more (see JSON)")
    return lines


def latency(d: dict[str, Any]) -> list[str]:
    """Latency percentiles per request class, and the closed-form estimate of the mean."""
    lines: list[str] = []
    lines.append("")
    estimated = (d.get("estimate") or {}).get("classes")
    header = f"{'class':<16}{'count':>9}{'mean':>11}{'p50':>11}{'p95':>11}{'p99':>11}{'max':>11}"
    lines.append(header + (f"{'est mean':>11}" if estimated else ""))
    for name, row in d["latency"].items():
        line = f"{name:<16}{row['count']:>9}" + "".join(
            f"{format_time(row[k]):>11}" for k in ("mean", "p50", "p95", "p99", "max")
        )
        if estimated:
            line += f"{format_time((estimated.get(name) or {}).get('mean')):>11}"
        lines.append(line)
    error = d["latency"]["all"].get("relative_error")
    if error is not None:
        kept = d["requests"].get("records_kept", 0)
        lines.append(
            f"percentiles within {error:.0%} (past run.keep_requests: {kept:,} records "
            "kept, the rest counted in latency buckets); counts, means and max exact"
        )
    return lines


def shedding(d: dict[str, Any]) -> list[str]:
    """Requests shed per class and per app server (none where nothing can shed)."""
    rows = {name: row for name, row in d["latency"].items() if "shed" in row}
    if not rows:
        return []
    parts = []
    for name, row in rows.items():
        # the share of the class's measured requests that were shed
        measured = row["count"] + row["errors"]
        share = row["shed"] / measured if measured else 0.0
        parts.append(f"{name} {row['shed']} ({share:.1%})")
    lines = ["", "shed      " + "  ".join(parts)]
    by = [f"{name} {comp['shed']}" for name, comp in d["components"].items() if "shed" in comp]
    if by:
        lines.append("shed by   " + "  ".join(by))
    return lines


def components(d: dict[str, Any]) -> list[str]:
    """One row per component: utilisation, queue, wait, served."""
    lines: list[str] = []
    lines.append("")
    estimated = (d.get("estimate") or {}).get("components")
    spare = (d.get("headroom") or {}).get("components")
    lines.append(
        f"{'component':<16}{'kind':<15}{'util':>7}{'workers':>8}{'pool':>7}{'queue':>9}"
        f"{'wait':>11}{'served':>10}"
        + (f"{'est util':>9}" if estimated is not None else "")
        + (f"{'headroom':>9}" if spare is not None else "")
    )
    for name, comp in d["components"].items():
        queue = comp.get("mean_queue_length")
        extra = ""
        if estimated is not None:
            util = _estimated_utilization(estimated.get(name))
            extra += f"{util:>9.1%}" if util is not None else f"{'-':>9}"
        if spare is not None:
            room = (spare.get(name) or {}).get("headroom")
            extra += f"{room:>8.3g}x" if room is not None else f"{'-':>9}"
        lines.append(
            f"{name:<16}{comp['kind']:<15}"
            + "".join(
                f"{comp[k]:>{w}.1%}" if comp.get(k) is not None else f"{'-':>{w}}"
                for k, w in (("utilization", 7), ("worker_occupancy", 8), ("pool_occupancy", 7))
            )
            + (f"{queue:>9.3g}" if queue is not None else f"{'-':>9}")
            + f"{format_time(comp.get('mean_wait')):>11}"
            + f"{comp.get('served', comp.get('dispatched', '-')):>10}"
            + extra
        )
    return lines


def waits(d: dict[str, Any]) -> list[str]:
    """Per component where requests queued: the probability of waiting and wait percentiles."""
    rows = {n: c for n, c in d["components"].items() if c.get("p_wait")}
    if not rows:
        return []
    lines = ["", f"{'waiting':<16}{'P(wait)':>9}{'p50':>11}{'p95':>11}{'p99':>11}"]
    for name, comp in rows.items():
        lines.append(
            f"{name:<16}{comp['p_wait']:>9.1%}"
            + "".join(
                f"{format_time(comp.get(k)):>11}" for k in ("wait_p50", "wait_p95", "wait_p99")
            )
        )
    return lines


def breakdown(d: dict[str, Any]) -> list[str]:
    """Per class, the share of mean and of p99 latency in each component and part
    (from the traced requests; none without ``run.trace``)."""
    traces = d.get("traces")
    if not traces or not traces["breakdown"]:
        return []
    lines = [
        "",
        f"latency breakdown (traced {traces['measured']} measured requests, "
        f"sample {traces['sample']:.3g})",
        f"{'class':<12}{'where':<28}{'mean':>11}{'share':>8}{'p99 share':>10}",
    ]
    for klass, entry in traces["breakdown"].items():
        parts = sorted(entry["parts"].items(), key=lambda item: -(item[1]["share"] or 0.0))
        for where, part in parts:
            share, tail = part["share"], part["tail_share"]
            lines.append(
                f"{klass:<12}{where:<28}{format_time(part['mean']):>11}"
                + (f"{share:>8.1%}" if share is not None else f"{'-':>8}")
                + (f"{tail:>10.1%}" if tail is not None else f"{'-':>10}")
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
    lines = [
        "",
        f"cpu profile (every cpu step, {total:.6g} core-s measured)",
        f"{'step':<32}{'calls':>9}{'mean':>11}{'cores':>8}{'share':>8}",
    ]
    for name, count, seconds in sorted(steps, key=lambda step: -step[2]):
        lines.append(
            f"{name:<32}{count:>9}{format_time(seconds / count if count else None):>11}"
            + (f"{seconds / span:>8.3f}" if span > 0 else f"{'-':>8}")
            + (f"{seconds / total:>8.1%}" if total > 0 else f"{'-':>8}")
        )
    return lines


def calls(d: dict[str, Any]) -> list[str]:
    """Guarded calls per route (attempts per call, retries, timeouts, breaker) and the
    requests per class a fallback stood in for (none without guarded calls)."""
    if not d.get("calls"):
        return []
    lines = [
        "",
        f"{'calls':<24}{'calls':>9}{'attempts':>10}{'per call':>9}{'retries':>9}"
        f"{'timeouts':>9}{'failed':>8}{'fast':>7}{'opens':>7}{'degraded':>9}",
    ]
    for name, route in d["calls"].items():
        per_call = route["amplification"]
        lines.append(
            f"{name:<24}{route['calls']:>9}{route['attempts']:>10}"
            + (f"{per_call:>9.3f}" if per_call is not None else f"{'-':>9}")
            + f"{route['retries']:>9}{route['timeouts']:>9}{route['failed']:>8}"
            + f"{route['fail_fast']:>7}{route.get('breaker_opens', 0):>7}{route['degraded']:>9}"
        )
    degraded = {k: row.get("degraded", 0) for k, row in d["latency"].items() if k != "all"}
    if any(degraded.values()):
        lines.append("degraded  " + "  ".join(f"{k} {v}" for k, v in degraded.items()))
    return lines


def caches(d: dict[str, Any]) -> list[str]:
    """Hit rate and counters per cache (none without caches)."""
    if not d.get("caches"):
        return []
    lines: list[str] = []
    lines.append("")
    lines.append(
        f"{'cache':<16}{'hit rate':>9}{'hits':>10}{'misses':>10}{'evictions':>11}"
        f"{'expired':>9}{'stale':>8}{'lost writes':>13}"
    )
    for name, cache in d["caches"].items():
        rate = cache["hit_rate"]
        lines.append(
            f"{name:<16}"
            + (f"{rate:>9.1%}" if rate is not None else f"{'-':>9}")
            + f"{cache['hits']:>10}{cache['misses']:>10}{cache['evictions']:>11}"
            + f"{cache['expirations']:>9}{cache['stale_reads']:>8}"
            + f"{cache['lost_writes']:>13}"
        )
    return lines


def cdns(d: dict[str, Any]) -> list[str]:
    """Hit rate and offload per CDN, its edges and shield (none without CDNs)."""
    if not d.get("cdns"):
        return []
    lines: list[str] = []
    lines.append("")
    lines.append(f"{'cdn':<16}{'hit rate':>9}{'offload':>9}{'bytes off':>11}{'origin':>10}")
    for name, cdn in d["cdns"].items():
        parts = [(name, cdn)]
        parts += [(f"  edge {r}", e) for r, e in cdn["edges"].items()]
        if "shield" in cdn:
            parts.append(("  shield", cdn["shield"]))
        for label, m in parts:
            lines.append(
                f"{label:<16}"
                + "".join(
                    f"{m[k]:>{w}.1%}" if m[k] is not None else f"{'-':>{w}}"
                    for k, w in (("hit_rate", 9), ("offload", 9), ("byte_offload", 11))
                )
                + f"{m['origin_requests']:>10}"
            )
        for region, edge in cdn["edges"].items():
            if edge.get("bypassed"):
                lines.append(
                    f"edge {region} of {name} down: {edge['bypassed']} requests went around "
                    f"it, {edge['bypassed_origin_requests']} of them to the origin"
                )
    return lines


def performance(perf: dict[str, Any]) -> list[str]:
    """The run's wall time and speed."""
    lines: list[str] = []
    lines.append("")
    if perf.get("engine") == "fast":
        lines.append(
            f"wall time {perf['wall_time']:.3g} s  "
            f"({perf['requests_per_second']:,.0f} requests/s, exact fast path: no events)"
        )
        return lines
    lines.append(
        f"wall time {perf['wall_time']:.3g} s  "
        f"({perf['requests_per_second']:,.0f} requests/s, "
        f"{perf['events_per_second']:,.0f} events/s)"
    )
    if "fast_path_refused" in perf:
        lines.append(f"event engine: the fast path is not exact here ({perf['fast_path_refused']})")
    return lines


def state(d: dict[str, Any]) -> list[str]:
    """Sessions, rate limiters and leaderboards (none if absent)."""
    lines: list[str] = []
    for name, report in (d.get("sessions") or {}).items():
        lines.append(
            f"sessions {name} ({report['store']}): active {report['active']}  "
            f"created {report['created']}  lost {report['lost']}  "
            f"reauthentications {report['reauthentications']}"
        )
    for name, report in (d.get("rate_limits") or {}).items():
        lines.append(
            f"rate limit {name}: admitted {report['admitted']}  rejected {report['rejected']}"
        )
    for name, report in (d.get("leaderboards") or {}).items():
        lines.append(f"leaderboard {name}: members {report['members']}  ops {report['ops']}")
    return ["", *lines] if lines else []


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
        spans = ", ".join(
            f"{format_time(i['start'])} to {format_time(i['end'])}" for i in a["intervals"][:3]
        )
        more = f" and {a['firings'] - 3} more" if a["firings"] > 3 else ""
        lines.append(
            f"{head}: fired {a['firings']}x, {format_time(a['time_firing'])} in all ({spans}{more})"
        )
    return lines


def _format(metric: str, value: float) -> str:
    if metric in LATENCY_METRICS:
        return format_time(value)
    if metric == "throughput":
        return f"{value:.6g}/s"
    if metric in ("error_rate", "utilization"):
        return f"{value * 100:.4g}%"
    return f"{value:.6g}"


def databases(d: dict[str, Any]) -> list[str]:
    """Each database server, and pools, the queries by server time, shards."""
    databases = d.get("databases")
    if not databases:
        return []
    lines = ["", f"{'database server':<28}{'cpu':>7}{'storage':>9}{'qps':>9}{'hit':>7}{'stale':>7}"]
    for name, db in databases.items():
        for server, row in db["instances"].items():
            hit = row["buffer_pool"]["hit_ratio"]
            lines.append(
                f"{server:<28}{_pct(row['cpu_utilization']):>7}"
                f"{_pct(row['storage_utilization']):>9}{row['qps'] or 0:>9.4g}"
                f"{_pct(hit):>7}{row['stale_reads']:>7}"
            )
        for app, pool in db["pools"].items():
            wait = pool["wait"]
            lines.append(
                f"pool {app}->{name}: {pool['size']} x {pool['instances']}, "
                f"wait mean {format_time(wait['mean'])} p99 {format_time(wait['p99'])}, "
                f"timeouts {pool['timeouts']}, refused {pool['refused']}"
            )
        lines.extend(_query_lines(name, db))
        if "shards" in db:
            shards = db["shards"]
            imbalance = shards["imbalance"]
            lines.append(
                f"shards of {name}: {shards['count']} by {shards['routing']}, max/mean load "
                + (f"{imbalance:.2f}" if imbalance is not None else "-")
            )
        lines.extend(_failover_lines(name, db.get("failover")))
    return lines


def _failover_lines(name: str, failover: dict[str, Any] | None) -> list[str]:
    """Each outage of a primary of ``name``: how long writes failed, what was lost."""
    lines = []
    for e in (failover or {}).get("events", []):
        if e["promoted"] is not None:
            how = f"{e['promoted']} promoted at {format_time(e['promoted_at'])}"
        elif e["recovered_at"] is not None:
            how = f"back at {format_time(e['recovered_at'])}"
        else:
            how = "not replaced by the end"
        lines.append(
            f"{e['server']} down at {format_time(e['failed_at'])}, {how}: writes unavailable "
            f"{format_time(e['write_unavailable'])}, {e['lost_writes']} writes lost"
        )
    return lines


def _query_lines(name: str, db: dict[str, Any]) -> list[str]:
    """The queries of one database by total server time (the first to optimise first)."""
    threshold = format_time(db["slow_queries"]["threshold"])
    called = [(q, s) for q, s in db["queries"].items() if s["calls"]]
    called.sort(key=lambda item: -item[1]["calls"] * item[1]["mean"])
    lines = [
        f"{'queries of ' + name:<28}{'calls':>9}{'mean':>11}{'p99':>11}"
        f"{'> ' + threshold:>12}{'share':>8}"
    ]
    for query, s in called:
        lines.append(
            f"{'  ' + query:<28}{s['calls']:>9}{format_time(s['mean']):>11}"
            f"{format_time(s['p99']):>11}{s['slow']:>12}{_pct(s['slow_share']):>8}"
        )
    return lines if called else []


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _estimated_utilization(component: dict[str, Any] | None) -> float | None:
    """The estimate's figure beside the ``util`` column: its cores (a database's CPU)."""
    if component is None:
        return None
    stations = component.get("stations", {})
    for resource in ("cores", "cpu"):
        if resource in stations:
            return stations[resource]["utilization"]
    return component.get("utilization")
