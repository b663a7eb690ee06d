"""The HTML report of one run: one self-contained file that works offline.

Plotly's JavaScript is inlined once and every figure is a ``div`` drawn by it, so the
file needs no network. Sections appear only when the run has something for them
(failures: faults, guarded calls and balancers; caches, databases, alerts). Text from
the spec is escaped.
"""

from __future__ import annotations

import html
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import yaml
from plotly.offline import get_plotlyjs

from simperf import plots
from simperf.metrics.result import Result
from simperf.presentation import tables
from simperf.presentation.cells import metric_value
from simperf.presentation.findings import warnings
from simperf.presentation.summary_failures import alerts, faults
from simperf.presentation.summary_text import (
    autoscaling,
    headroom,
    scaling_reason,
    unpriced_note,
)
from simperf.units import format_clock

_PAGE_STYLE = """<style>
body{font:14px/1.45 system-ui,sans-serif;max-width:1180px;margin:0 auto;padding:16px 24px}
h1{font-size:24px;margin:8px 0 0}
h2{font-size:18px;margin:28px 0 6px;border-bottom:2px solid #e5e7eb}
.description{color:#374151;margin:4px 0 12px}
nav a{margin-right:12px}
.grid{display:grid;grid-template-columns:1fr 1fr;gap:8px}
.figure{min-height:380px}
pre{background:#f8fafc;border:1px solid #e5e7eb;padding:10px;overflow:auto;font-size:12px}
</style>"""

_CONFIG = {"displaylogo": False, "responsive": True}


def figures(result: Result) -> dict[str, list[go.Figure]]:
    """The figures that apply to this run, by report section."""
    out: dict[str, list[go.Figure]] = {
        "topology": [plots.topology(result)],
        "latency": [
            plots.latency_cdf(result),
            plots.latency_histogram(result),
            plots.latency_percentiles(result),
        ],
        "time": [plots.timeseries(result)],
    }
    ts = result.timeseries
    if (ts.metric == "utilization").any():
        out["time"].append(plots.utilization_heatmap(result))
    if (ts.metric == "worker_occupancy").any():
        out["time"].append(plots.utilization_heatmap(result, "worker_occupancy"))
    if (ts.metric == "hit_rate").any():
        out["caches"] = [plots.cache_hit_rate(result)]
    if result.data.get("autoscaling"):
        out["autoscaling"] = [plots.fleet(result)]
    if any(db.get("queries") for db in (result.data.get("databases") or {}).values()):
        out["databases"] = [plots.database_load(result)]
    return out


def _figure_html(fig: go.Figure, div_id: str) -> str:
    fig.update_layout(margin={"l": 60, "r": 20, "t": 50, "b": 50}, height=380)
    body = fig.to_html(full_html=False, include_plotlyjs=False, config=_CONFIG, div_id=div_id)
    return f'<div class="figure">{body}</div>'


def _spec_yaml(result: Result) -> str:
    data = result.scenario.model_dump(mode="json", by_alias=True, exclude_unset=True)
    return yaml.safe_dump(_shortest(data), sort_keys=False, width=100)


def _shortest(node: Any) -> Any:
    """Floats to 15 significant digits: a unit's conversion leaves binary noise ("100us"
    is 9.999999999999999e-05 s), which the spec shows as the 0.0001 it was given."""
    if isinstance(node, dict):
        return {key: _shortest(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_shortest(value) for value in node]
    if isinstance(node, float):
        return float(f"{node:.15g}")
    return node


def render(result: Result) -> str:
    """The report of a run as one HTML document.

    Parameters
    ----------
    result
        A run (from :func:`simperf.run`); its spec is shown at the end.

    Returns
    -------
    str
        A complete HTML page: summary, warnings (unstable or saturated components, SLO
        misses, failed requests, the bottleneck), the topology, latency tables and
        figures per class, the time series with fault and alert windows, utilisation
        per instance, component tables, autoscaled servers (their actions and instances
        over time), faults and availability, guarded calls and
        balancers, cache, CDN and database tables, alerts, and the spec.
    """
    scenario = result.scenario
    name = html.escape(result.data["scenario"])
    figs = figures(result)
    count = 0

    def draw(section: str) -> str:
        nonlocal count
        parts = []
        for fig in figs.get(section, []):
            count += 1
            parts.append(_figure_html(fig, f"figure-{count}"))
        return "".join(parts)

    sections: list[tuple[str, str, str]] = [
        ("summary", "Summary", _summary(result)),
        ("topology", "Topology", draw("topology")),
        (
            "latency",
            "Latency",
            tables.class_table(result)
            + tables.latency_table(result)
            + f'<div class="grid">{draw("latency")}</div>',
        ),
        ("time", "Over time", f'<div class="grid">{draw("time")}</div>'),
        (
            "components",
            "Components",
            tables.component_table(result)
            + "<h3>Per instance</h3>"
            + tables.component_table(result, instances=True),
        ),
    ]
    if result.data.get("autoscaling"):
        # the summary's lines (instances, instance-hours, cost), then every action
        lines = "\n".join(autoscaling(result.data)).strip("\n")
        sections.append(
            (
                "autoscaling",
                "Autoscaling",
                f"<pre>{html.escape(lines)}</pre>"
                + tables.frame_html(_on_the_clock(result))
                + draw("autoscaling"),
            )
        )
    failures = _failures(result)
    if failures:
        sections.append(("failures", "Failures", failures))
    for key, title in (("caches", "Caches"), ("cdns", "CDN"), ("databases", "Databases")):
        table = tables.section_table(result, key)
        if table or figs.get(key):
            sections.append((key, title, table + draw(key)))
    if result.data.get("alerts"):
        # the summary's line per alert (one that never fired too), then every firing
        lines = "\n".join(alerts(result.data)).strip("\n")
        firings = result.alerts
        table = tables.frame_html(firings, tables.ALERT_TIMES) if len(firings) else ""
        sections.append(("alerts", "Alerts", f"<pre>{html.escape(lines)}</pre>{table}"))
    sections.append(("spec", "Spec", f"<pre>{html.escape(_spec_yaml(result))}</pre>"))
    nav = "".join(f'<a href="#{key}">{html.escape(title)}</a>' for key, title, _ in sections)
    body = "".join(
        f'<section id="{key}"><h2>{html.escape(title)}</h2>{content}</section>'
        for key, title, content in sections
    )
    description = html.escape(scenario.description or "")
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>simperf report: {name}</title>{_PAGE_STYLE}{tables.STYLE}"
        f"<script>{get_plotlyjs()}</script></head>"
        f'<body class="simperf"><h1>simperf report: {name}</h1>'
        f'<p class="description">{description}</p><nav>{nav}</nav>{body}</body></html>\n'
    )


def _on_the_clock(result: Result) -> pd.DataFrame:
    """Scaling events with their times as h:mm:ss (a day's 73035 s would read 7.304e+04)
    and their reasons as the text writes them (the metric in its unit)."""
    events = result.scaling_events
    reasons = [scaling_reason(e) for a in result.data["autoscaling"].values() for e in a["events"]]
    return events.assign(time=[format_clock(t) for t in events["time"]], reason=reasons)


def _failures(result: Result) -> str:
    """Faults (the text summary's lines: availability, each occurrence), guarded calls
    and balancers ('' when the run has none of them)."""
    lines = faults(result.data)
    parts = [f"<pre>{html.escape(chr(10).join(lines))}</pre>"] if lines else []
    for key, title in (("calls", "Calls"), ("load_balancers", "Load balancers")):
        table = tables.section_table(result, key)
        if table:
            parts.append(f"<h3>{title}</h3>{table}")
    return "".join(parts)


def _summary(result: Result) -> str:
    d = result.data
    req = d["requests"]
    rows: list[tuple[str, Any]] = [
        # as the text summary writes them: the same formatter, the same units
        ("throughput", metric_value("throughput", d["throughput"])),
        ("p99 latency (all)", metric_value("latency.all.p99", d["latency"]["all"]["p99"])),
        ("error rate", metric_value("error_rate", d["error_rate"])),
        ("stability", d["stability"]["status"]),
        ("requests", f"{req['generated']:,} generated, {req['ok']:,} ok, {req['failed']:,} failed"),
        ("measured", f"{d['measured_time']:.6g} s after {d['warmup']:.6g} s warm-up"),
        ("seed", d["seed"]),
    ]
    spare = [line.removeprefix("headroom").strip() for line in headroom(d)]
    if spare:  # the text summary's lines: measured, estimated, during the worst fault
        rows.append(("headroom", "\n".join(spare)))
    cost = d.get("cost")
    if cost and cost.get("components"):
        total = f"{cost['total_per_hour']:.4g} per hour"
        unpriced = unpriced_note(cost)  # the total is not the whole bill: say so
        rows.append(("cost", f"{total}\n{unpriced}" if unpriced else total))
    table = "".join(
        f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(v)).replace(chr(10), '<br>')}</td></tr>"
        for k, v in rows
    )
    return f"<table>{table}</table><h3>Warnings</h3>{tables.warning_list(warnings(result))}"
