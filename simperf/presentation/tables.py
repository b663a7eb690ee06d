"""HTML tables of results for notebooks (``_repr_html_``) and the report.

Every string that comes from a spec or a result goes through :func:`html.escape` (pandas
escapes cell values), so a description cannot inject markup.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from simperf.metrics.paths import flatten
from simperf.metrics.stats import SAME_IN_EVERY_REPLICATION, same_in_every_replication
from simperf.presentation.cells import mean_count, metric_value, multiple, per_second, slo_text
from simperf.presentation.findings import warnings
from simperf.presentation.summary_text import (
    component_headroom,
    headroom,
    headroom_cell,
    unpriced_note,
)
from simperf.spec.overrides import differences
from simperf.spec.slo import metric_kind
from simperf.units import format_time

if TYPE_CHECKING:  # pragma: no cover
    from simperf.estimate import Estimate
    from simperf.experiment.capacity import Capacity
    from simperf.experiment.cheapest import Ranking
    from simperf.experiment.compare import Comparison
    from simperf.experiment.growth import Growth
    from simperf.experiment.replicate import Replications
    from simperf.metrics.result import Result
    from simperf.spec.scenario import Scenario

TIME_COLUMNS = {
    "mean", "p50", "p90", "p95", "p99", "p999", "max", "mean_wait", "mean_service", "threshold",
    "filled_at", "wait_mean", "wait_p50", "wait_p99", "wait_max", "lag_mean", "lag_p50",
    "lag_p99", "lag_max",
}  # fmt: skip
SHARE_COLUMNS = {
    "utilization", "worker_occupancy", "pool_occupancy", "error_rate", "hit_rate", "offload",
    "byte_hit_rate", "byte_offload", "cpu_utilization", "storage_utilization",
    "slow_share", "share", "stale_read_rate", "store_read_reduction", "stale_rate",
    "storage_replication_utilization", "buffer_pool_hit_ratio", "connection_occupancy",
}  # fmt: skip
MEAN_COUNT_COLUMNS = {"mean_queue_length"}
"""Columns that are means of counts, as the text writes them (``<0.001``, not ``7.24e-06``)."""
RATIO_COLUMNS = {"imbalance"}
"""Columns that are ratios of two loads (max/mean), shown as multiples: ``1.12x``."""
ALERT_TIMES = ("start", "end", "duration")
"""Columns of ``Result.alerts`` in time units (``peak`` is in the metric's own)."""
KEY_METRICS = ("latency.all.mean", "latency.all.p50", "latency.all.p99", "throughput", "error_rate")
"""Metrics a comparison always shows, significant or not."""

STYLE = """<style>
.simperf table{border-collapse:collapse;font:13px system-ui,sans-serif;margin:4px 0 12px}
.simperf th,.simperf td{border-bottom:1px solid #ddd;padding:3px 10px;text-align:right}
.simperf th:first-child,.simperf td:first-child{text-align:left}
.simperf thead th{background:#f3f4f6}
.simperf .error{color:#b91c1c}.simperf .warning{color:#b45309}.simperf .info{color:#1d4ed8}
.simperf h4{margin:10px 0 2px;font:600 14px system-ui,sans-serif}
</style>"""


def _missing(value: Any) -> bool:
    """None, NaN or pandas' NA (a count column's missing value)."""
    return value is None or value is pd.NA or (isinstance(value, float) and value != value)


def _number(value: Any) -> str:
    if _missing(value):
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):  # names (a design's unpriced components), a size range
        return ", ".join(_number(v) for v in value) or "-"
    if isinstance(value, int | np.integer):  # a count from an int64 column too
        return f"{value:,}"
    if isinstance(value, float):
        # Counts summed over instances arrive as floats: show them as counts.
        return f"{int(value):,}" if value.is_integer() and abs(value) < 1e15 else f"{value:.4g}"
    return str(value)


def _same(values: list[float]) -> bool:
    """Whether a metric took one value in every replication (those with a value)."""
    values = [v for v in values if v == v]
    return len(values) > 1 and same_in_every_replication(values)


def _share(value: Any) -> str:
    return "-" if _missing(value) else f"{value:.1%}"


def _time(value: Any) -> str:
    return "-" if _missing(value) else format_time(value)


def _ratio(value: Any) -> str:
    return "-" if _missing(value) else multiple(value)


def _rate(value: Any) -> str:
    """A rate as the text writes it (``1328/s``); a cell already written is left as it is."""
    if isinstance(value, str):
        return value
    return "-" if _missing(value) else per_second(value, ".4g")


def _mean_count(value: Any) -> str:
    return "-" if _missing(value) else mean_count(value, ".4g")


def by_metric(frame: pd.DataFrame, columns: Iterable[str]) -> pd.DataFrame:
    """``frame`` (one metric a row, in its ``metric`` column) for display: ``columns``
    as the text writes them, each value through :func:`metric_value` of its row's metric
    (``80.2%``, ``12.3 ms``, ``51.8/s``), the frame itself left raw."""
    shown = frame.copy()
    if frame.empty:
        return shown
    metrics = frame["metric"].tolist()
    for column in columns:
        if column in frame:
            values = frame[column].tolist()
            shown[column] = [metric_value(m, v) for m, v in zip(metrics, values, strict=True)]
    return shown


def _price(value: Any) -> str:
    """A cost per hour as the text writes it (``0.25/h``)."""
    return metric_value("cost.total_per_hour", None if _missing(value) else value)


def frame_html(frame: pd.DataFrame, times: Iterable[str] = (), shares: Iterable[str] = ()) -> str:
    """A frame as an escaped HTML table; ``times`` in time units, ``shares`` in percent,
    rates (a column :func:`~simperf.spec.slo.metric_kind` calls one: ``qps``,
    ``throughput``, ``store_reads_per_second``) per second, means of counts
    (:data:`MEAN_COUNT_COLUMNS`) and ratios (:data:`RATIO_COLUMNS`) as the text writes
    them."""
    formatters: dict[str, Callable[[Any], str]] = {
        c: _rate if metric_kind(str(c)) == "rate" else _number for c in frame.columns
    }
    formatters.update({c: _mean_count for c in MEAN_COUNT_COLUMNS if c in frame.columns})
    formatters.update({c: _time for c in times if c in frame.columns})
    formatters.update({c: _share for c in shares if c in frame.columns})
    formatters.update({c: _ratio for c in RATIO_COLUMNS if c in frame.columns})
    # formatted here, not by to_html: its formatters never see a missing cell of a
    # nullable count column (Int64), which it prints <NA> whatever na_rep says
    cells = pd.DataFrame(
        {c: [formatters[c](v) for v in frame[c].tolist()] for c in frame.columns},
        columns=frame.columns,
    )
    return cells.to_html(index=False, escape=True, border=0)


def _wrap(title: str, body: str) -> str:
    return f'{STYLE}<div class="simperf"><h4>{html.escape(title)}</h4>{body}</div>'


def latency_table(result: Result) -> str:
    columns = ["class", "count", "mean", "p50", "p95", "p99", "max", "throughput", "error_rate"]
    frame = result.latency[[c for c in columns if c in result.latency]]
    return frame_html(frame, TIME_COLUMNS, SHARE_COLUMNS)


def class_table(result: Result) -> str:
    """The request classes of the spec: share of traffic, entry, key space, description."""
    classes = result.scenario.workload.classes
    total = sum(c.weight for c in classes)
    rows = [
        {
            "class": c.name,
            "share": c.weight / total,
            "enters": f"{c.entry}.{c.endpoint}",
            "keyspace": c.keyspace or "-",
            "description": getattr(c, "description", None) or "",
        }
        for c in classes
    ]
    frame = pd.DataFrame(rows)
    if not frame["description"].any():
        frame = frame.drop(columns="description")
    return frame_html(frame, shares=["share"])


def component_table(result: Result, instances: bool = False) -> str:
    columns = [
        "component", "instance", "kind", "utilization", "worker_occupancy", "pool_occupancy",
        "connection_occupancy", "mean_queue_length", "mean_wait", "mean_service", "served",
        "rejected", "shed", "expired",
    ]  # fmt: skip
    # shed and expired only where a server can shed or drop (absent columns are skipped)
    frame = result.components
    if "dispatched" in frame and "served" in frame:
        # a balancer serves nothing itself: what it dispatched, as the text summary gives
        frame = frame.assign(served=frame["served"].fillna(frame["dispatched"]))
    frame = frame[(frame["instance"] == "all") != instances]
    frame = frame[[c for c in columns if c in frame]]
    if not instances:
        frame = frame.drop(columns="instance")
        spare, in_fault = component_headroom(result.data)
        if spare is not None:  # as the text summary: over the run, and while a fault lasted
            frame = frame.assign(headroom=[headroom_cell(spare.get(n)) for n in frame["component"]])
        if in_fault:
            frame = frame.assign(
                headroom_in_fault=[multiple(in_fault.get(n)) for n in frame["component"]]
            )
    return frame_html(frame, TIME_COLUMNS, SHARE_COLUMNS)


def section_table(result: Result, section: str) -> str:
    """``caches``, ``cdns``, ``databases`` ... as a table ('' when the run has none)."""
    frame = result.frame(section)
    if frame.empty:
        return ""
    keep = [c for c in frame.columns if frame[c].notna().any()]
    return frame_html(frame[keep], TIME_COLUMNS, SHARE_COLUMNS)


def warning_list(items: list[tuple[str, str]]) -> str:
    if not items:
        return '<p class="info">no warnings: stable, no SLO missed, no failed request</p>'
    rows = "".join(f'<li class="{lvl}">{html.escape(text)}</li>' for lvl, text in items)
    return f"<ul>{rows}</ul>"


def headline(result: Result) -> str:
    """One line: scenario, seed, measured period, throughput, error rate, stability."""
    d = result.data
    # as the text summary writes them (metric_value): 51.8/s, an error rate of 0.12%
    throughput = metric_value("throughput", d["throughput"])
    error_rate = metric_value("error_rate", d["error_rate"])
    return html.escape(
        f"{d['scenario']}, seed {d['seed']}: {throughput}, error rate {error_rate}, "
        f"{d['stability']['status']}, measured {d['measured_time']:.6g} s after "
        f"{d['warmup']:.6g} s warm-up"
    )


def result_html(result: Result) -> str:
    """What a notebook shows for a :class:`~simperf.metrics.result.Result`."""
    parts = [f"<p>{headline(result)}</p>"]
    spare = [html.escape(" ".join(line.split())) for line in headroom(result.data)]
    if spare:  # the text summary's lines: measured, estimated, during the worst fault
        parts.append(f"<p>{'<br>'.join(spare)}</p>")
    parts.append(warning_list(warnings(result)))
    parts += ["<h4>Latency by class</h4>", latency_table(result)]
    parts += ["<h4>Components</h4>", component_table(result)]
    for section in ("caches", "cdns", "databases"):
        table = section_table(result, section)
        if table:
            parts += [f"<h4>{section.capitalize()}</h4>", table]
    return _wrap(f"Result of {result.data['scenario']}", "".join(parts))


def replications_html(reps: Replications, metrics: list[str] | None = None) -> str:
    """Intervals of the headline metrics (all metrics are in ``reps.summary()``)."""
    wanted = metrics or [m for m in reps.metrics if m in KEY_METRICS or m.endswith(".utilization")]
    frame = by_metric(reps.summary(wanted or None), ("mean", "std", "half_width", "low", "high"))
    if not frame.empty:  # as the text: a metric that took one value has no interval
        same = [_same(reps.values(m)) for m in frame["metric"]]
        frame.loc[same, "half_width"] = SAME_IN_EVERY_REPLICATION
    body = (
        f"<p>{reps.n} replications, seed {reps.seed}, {reps.confidence:.0%} Student-t "
        f"intervals ({len(reps.metrics)} metrics in <code>.summary()</code>)</p>"
        + frame_html(frame)
    )
    return _wrap(f"Replications of {reps.scenario.name}", body)


def comparison_html(comparison: Comparison) -> str:
    """The key metrics and every significant difference (B - A)."""
    frame = comparison.frame
    shown = frame[frame["metric"].isin(KEY_METRICS) | frame["significant"].astype(bool)]
    shown = by_metric(shown, ("mean_a", "mean_b", "difference", "half_width", "low", "high"))
    if not shown.empty:  # as the text: a constant difference has no interval
        shown.loc[shown["verdict"] == SAME_IN_EVERY_REPLICATION, "half_width"] = "-"
        shown["relative"] = [
            "-" if _missing(r) else f"{r:+.1%}" for r in frame.loc[shown.index, "relative"]
        ]
    body = (
        f"<p>B - A over {comparison.a.n} paired replications, {comparison.confidence:.0%} "
        f"intervals: {int(frame['significant'].sum())} of {len(frame)} metrics differ "
        "significantly (all in <code>.frame</code>)</p>" + frame_html(shown)
    )
    name_a, name_b = comparison_sides(comparison.a.scenario, comparison.b.scenario)
    return _wrap(f"{name_b} against {name_a}", body)


def comparison_sides(a: Scenario, b: Scenario, shown: int = 2) -> tuple[str, str]:
    """What to call the two sides of a comparison: their scenarios' names, or, where
    those are the same (one spec and its ``with_overrides``), each name with its own
    values at the paths where the two differ, so that A and B read apart.

    Parameters
    ----------
    a, b
        The scenarios compared.
    shown
        Paths named at most; the rest are counted (``and 3 more``).

    Returns
    -------
    tuple of str
        A's and B's: ``read_replicas (components.catalog.read_replicas=2)`` and
        ``read_replicas (components.catalog.read_replicas=0)``; ``(the same spec)`` on
        both where nothing differs.
    """
    if a.name != b.name:
        return a.name, b.name
    changed = differences(a, b)
    if not changed:
        return f"{a.name} (the same spec)", f"{b.name} (the same spec)"
    paths = list(changed)[:shown]
    more = f", and {len(changed) - shown} more" if len(changed) > shown else ""

    def side(index: int, name: str) -> str:
        values = ", ".join(f"{p}={_spec_value(changed[p][index])}" for p in paths)
        return f"{name} ({values}{more})"

    return side(0, a.name), side(1, b.name)


def _spec_value(value: Any) -> str:
    """A spec value as ``--set`` would take it (``none`` where a side has nothing)."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return str(value).lower()
    return f"{value:g}" if isinstance(value, float) else str(value)


def capacity_html(found: Capacity) -> str:
    """The answer, then one row per (probe, SLO)."""
    slos = ", ".join(slo_text(s) for s in found.slo)
    if found.answer is None:
        answer = f"no {found.knob} up to {found.high:g} meets {slos}"
    else:
        answer = f"{found.knob} = {found.answer:g} meets {slos} at {found.cost:.4g} per hour"
    if not found.certain:
        lowest = found.answer_range[0] if found.answer_range else found.high
        answer += f" (not certain: the SLOs may be met from {found.knob} = {lowest:g})"
    frame = by_metric(found.frame, ("target", "mean", "half_width", "std", "low", "high"))
    if not frame.empty:  # as the text: a metric that took one value has no interval
        flat = [[flatten(r) for r in p.runs] for p in found.probes]
        same = [
            _same([f.get(s["metric"], float("nan")) for f in runs])
            for p, runs in zip(found.probes, flat, strict=True)
            for s in p.slos
        ]
        frame.loc[same, "half_width"] = SAME_IN_EVERY_REPLICATION
    if "cost_per_hour" in frame:
        frame["cost_per_hour"] = [_price(v) for v in found.frame["cost_per_hour"]]
    body = f"<p><b>{html.escape(answer)}</b></p>" + frame_html(frame)
    if found.unpriced:  # as the text: a cost of 0/h is not a free design
        body += f"<p>costs: {html.escape(unpriced_note({'unpriced': found.unpriced}))}</p>"
    return _wrap(f"Capacity of {found.scenario.name}", body)


def cheapest_designs(ranking: Ranking) -> str | None:
    """The cheapest design meeting the SLO, or the designs tied for it with their price
    (``'up and out, tied at 0.384 per hour'``); None when no design meets it."""
    tied = ranking.tied
    if len(tied) < 2:
        return tied[0] if tied else None
    cost = ranking.frame["cost_per_hour"].iat[0]
    return f"{', '.join(tied[:-1])} and {tied[-1]}, tied at {cost:.4g} per hour"


def ranking_html(ranking: Ranking) -> str:
    """The designs, cheapest first."""
    best = cheapest_designs(ranking)
    line = f"cheapest meeting the SLO: {best}" if best else "no design meets the SLO"
    frame = ranking.frame.copy()
    if not frame.empty:  # as the text: a design meeting no SLO has no cost
        rows = zip(frame["cost_per_hour"], frame["met"], strict=True)
        frame["cost_per_hour"] = [_price(c) if met else "-" for c, met in rows]
    body = f"<p><b>{html.escape(line)}</b></p>" + frame_html(frame)
    if left_out := unpriced_designs(ranking.frame):
        body += f"<p>cost/h leaves out, no price given: {html.escape(left_out)}</p>"
    return _wrap("Cheapest design", body)


def unpriced_designs(frame: pd.DataFrame) -> str:
    """The components each design's cost leaves out, having no price: ``'up: lb, search;
    out: lb'`` from the ``design`` and ``unpriced`` columns ('' where none is left out)."""
    if frame.empty or "unpriced" not in frame:
        return ""
    rows = zip(frame["design"], frame["unpriced"], strict=True)
    return "; ".join(f"{design}: {', '.join(names)}" for design, names in rows if names)


def growth_html(projection: Growth) -> str:
    """Each design's breach month and cost, then every month judged."""
    title = f"Growth of {projection.rate:.1%} a month over {projection.months} months"
    months = projection.frame.copy()
    for column, shown in (("rate", "throughput"), ("cost_per_hour", "cost.total_per_hour")):
        if column in months:  # as the text writes them: per second, per hour
            months[column] = [metric_value(shown, v) for v in projection.frame[column]]
    body = frame_html(projection.designs)
    if left_out := unpriced_designs(projection.designs):  # as the text, after the costs
        body += f"<p>not in the costs, no price given: {html.escape(left_out)}</p>"
    body += "<br>" + frame_html(months)
    return _wrap(title, body)


def estimate_html(found: Estimate) -> str:
    """The classes, then the components with their binding resource and headroom."""
    neck = found.bottleneck
    line = (
        f"first to saturate: {neck['component']} {neck['resource']} at "
        f"{multiple(neck['headroom'])} the load"
        if neck
        else "no station is loaded"
    )
    body = (
        f"<p><b>{html.escape(line)}</b></p>"
        + frame_html(found.classes, TIME_COLUMNS, SHARE_COLUMNS)
        + frame_html(found.components, TIME_COLUMNS, SHARE_COLUMNS)
    )
    return _wrap(f"Estimate of {found.scenario.name} (closed forms, no simulation)", body)
