"""Figures of the components: utilisation per instance and the topology."""

from __future__ import annotations

import math
from typing import Any

import plotly.graph_objects as go

from simperf.metrics.availability import down_intervals
from simperf.metrics.result import Result
from simperf.plots._style import (
    LABEL_CHAR,
    PLOT_WIDTH,
    component_colours,
    component_of,
    title,
    window_figure,
)

_REFERENCE_KEYS = ("backends", "origin", "cache", "database", "call", "backing")
"""Spec fields that name another component (``call`` and ``backing`` as ``name.endpoint``)."""


def _instance_rows(result: Result, metric: str) -> Any:
    """The time series' rows of ``metric`` per instance: those of ``result.components``'
    instances (a shared link direction is one, named as its component, with no bracket)
    and any other name with a bracket (an autoscaled slot never provisioned)."""
    ts = result.timeseries
    frame = result.components
    named = frame.loc[frame["instance"] != "all", "instance"] if "instance" in frame else []
    instance = ts.component.isin(set(named)) | ts.component.str.contains(r"\[", regex=True)
    return ts[(ts.metric == metric) & instance]


def _listed(result: Result) -> str:
    """What a figure of instances leaves out: those past ``run.per_instance``."""
    listed = {
        entry["per_instance_listed"]
        for entry in result.data.get("components", {}).values()
        if "per_instance_listed" in entry
    }
    if not listed:
        return ""
    return f" (the first {max(listed):,} of each component: run.per_instance)"


def utilization(result: Result) -> go.Figure:
    """Utilisation of each instance over time, in its component's colour."""
    return window_figure(
        result,
        _instance_rows(result, "utilization"),
        "Utilisation per instance" + _listed(result),
        "utilisation (busy fraction)",
        1.05,
        mode="lines",
        by_component=True,
    )


def utilization_heatmap(result: Result, metric: str = "utilization") -> go.Figure:
    """A heatmap of one per-instance metric: instances by row, time windows by column.

    An instance down (a crash fault, from the result's fault occurrences) is covered
    from when it went down to when it came back by a dark box labelled ``down``; for an
    autoscaled server only while its slot had no instance in service (the autoscaler
    terminates a crashed instance and may bring a new one into service in its slot
    while the fault lasts; a crash on a slot with no instance hits nothing). The
    windows of an autoscaled instance not provisioned are grey. Both have a legend
    entry, so that a pasted figure tells an outage and an unbuilt instance from an idle
    one (each is 0 busy or has no value).

    Parameters
    ----------
    result
        A run.
    metric
        A per-instance time-series metric: ``utilization`` (busy cores over cores),
        ``worker_occupancy`` (held workers over workers, app servers only) or
        ``queue_length``, or any other the time series holds per instance.
    """
    rows = _instance_rows(result, metric)
    table = rows.pivot_table(index="component", columns="end", values="value", sort=False)
    # a cell is centred on its x: the window's middle, so that it spans the window
    # (at its end it was drawn half a window late)
    starts = rows.groupby("end")["start"].first().reindex(table.columns).to_numpy()
    ends = table.columns.to_numpy()
    bounded = metric in ("utilization", "worker_occupancy")
    names = [str(i) for i in table.index]
    fig = go.Figure(
        go.Heatmap(
            z=table.to_numpy(),
            x=(starts + ends) / 2,
            y=names,
            zmin=0.0 if bounded else None,
            zmax=1.0 if bounded else None,
            colorscale="YlOrRd",
            colorbar={"title": {"text": SCALES.get(metric, metric)}},
        )
    )
    if len(ends):
        down = down_intervals(
            (result.data.get("faults") or {}).get("occurrences", []), starts.min(), ends.max()
        )
        scaled = result.data.get("autoscaling") or {}
        # a box narrower than its label is left unlabelled (its legend entry says it)
        room = len(DOWN["label"]) * LABEL_CHAR * (ends.max() - starts.min()) / PLOT_WIDTH
        for row, name in enumerate(names):
            # a part of an instance (a database server's storage) is down with its server
            spans = down.get(name, down.get(name.split("/", 1)[0], []))
            slots = (scaled.get(component_of(name)) or {}).get("down")
            if slots is not None:  # a replacement in service in the slot ends its box
                spans = _overlap(spans, slots.get(name, []))
            for a, b in spans:
                _mark(fig, row, a, b, DOWN, labelled=b - a >= room)
            if component_of(name) in scaled:
                absent = table.iloc[row].isna().to_numpy()
                for first, last in _runs(absent):
                    _mark(fig, row, starts[first], ends[last], NOT_PROVISIONED)
    fig.update_layout(
        title=title(
            f"{metric.replace('_', ' ').capitalize()} per instance{_listed(result)}",
            result.data["scenario"],
        ),
        xaxis_title="simulated time (s)",
        yaxis_title="instance",
        yaxis_autorange="reversed",
        legend={"orientation": "h", "yanchor": "top", "y": -0.2, "x": 0},
    )
    return fig


SCALES = {"utilization": "busy", "worker_occupancy": "held"}
"""The colour scale's title of a bounded metric: a worker waiting on a call is held, not
busy (a server whose workers wait on a database reads 69% held at 9% busy)."""
DOWN = {"name": "down (crash)", "fillcolor": "#1f2937", "label": "down"}
"""How a window an instance was down is drawn: dark, labelled, far from any busy colour."""
NOT_PROVISIONED = {"name": "not provisioned", "fillcolor": "#d1d5db", "label": ""}
"""How a window an autoscaled instance did not exist is drawn: grey, not the idle yellow."""


def _mark(
    fig: go.Figure,
    row: int,
    x0: float,
    x1: float,
    style: dict[str, str],
    labelled: bool = True,
) -> None:
    """Cover ``[x0, x1]`` of heatmap row ``row`` (a category: rows are 1 apart), with one
    legend entry per style."""
    first = not any(shape.name == style["name"] for shape in fig.layout.shapes)
    fig.add_shape(
        type="rect",
        x0=x0,
        x1=x1,
        y0=row - 0.5,
        y1=row + 0.5,
        xref="x",
        yref="y",
        fillcolor=style["fillcolor"],
        line_width=0,
        opacity=0.9,
        name=style["name"],
        legendgroup=style["name"],
        showlegend=first,
        label={"text": style["label"] if labelled else "", "font": {"color": "white", "size": 10}},
    )


def _overlap(
    spans: list[tuple[float, float]], slot: list[list[float | None]]
) -> list[tuple[float, float]]:
    """The parts of ``spans`` (a slot's crash faults) inside the autoscaler's spans of
    ``slot`` with no instance in service (an end None: open)."""
    out = []
    for a, b in spans:
        for c, d in slot:
            lo, hi = max(a, c), min(b, math.inf if d is None else d)
            if hi > lo:
                out.append((lo, hi))
    return out


def _runs(flags: Any) -> list[tuple[int, int]]:
    """(first, last) indices of each run of True in ``flags``."""
    runs: list[tuple[int, int]] = []
    for i, flag in enumerate(flags):
        if flag and runs and runs[-1][1] == i - 1:
            runs[-1] = (runs[-1][0], i)
        elif flag:
            runs.append((i, i))
    return runs


def fleet(result: Result) -> go.Figure:
    """Instances of each autoscaled server per time-series window (its mean, at the
    window's middle): provisioned (what is billed, warming and draining included; solid)
    and serving (dotted), each action marked where it was taken, at the fleet it set."""
    ts = result.timeseries
    colours = component_colours(result.scenario)
    fig = go.Figure()
    most = 1.0
    for name, report in (result.data.get("autoscaling") or {}).items():
        for metric, dash in (("instances", "solid"), ("serving", "dot")):
            rows = ts[(ts.component == name) & (ts.metric == metric)]
            fig.add_scatter(
                x=(rows["start"] + rows["end"]) / 2,  # a window's mean, at its middle
                y=rows["value"],
                mode="lines+markers",
                name=f"{name} {metric}",
                line={"color": colours.get(name), "dash": dash},
            )
        events = report["events"]
        fig.add_scatter(
            x=[e["time"] for e in events],
            y=[e["to"] for e in events],
            mode="markers",
            name=f"{name} actions",
            marker={"color": colours.get(name), "symbol": "diamond", "size": 9},
            text=[f"{e['from']} -> {e['to']}: {e['reason']}" for e in events],
            hoverinfo="x+text",
        )
        fig.add_hline(
            y=report["max"],
            line={"color": colours.get(name), "dash": "dash", "width": 1},
            annotation_text=f"{name} max {report['max']}",
            annotation_position="bottom right",
        )
        most = max(most, float(report["max"]))
    fig.update_layout(
        title=title("Instances over time", result.data["scenario"]),
        xaxis_title="simulated time (s)",
        yaxis_title="instances",
        yaxis_range=[0, most + 0.5],
    )
    return fig


def topology_edges(scenario: Any) -> list[tuple[str, str]]:
    """(caller, callee) pairs between components, read from the spec's references."""
    names = set(scenario.components)
    edges: list[tuple[str, str]] = []

    def visit(owner: str, node: Any, key: str | None) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                visit(owner, v, k)
        elif isinstance(node, list):
            for v in node:
                visit(owner, v, key)
        elif isinstance(node, str) and key in _REFERENCE_KEYS:
            target = node.split(".", 1)[0]
            if target in names and target != owner and (owner, target) not in edges:
                edges.append((owner, target))

    for name, spec in scenario.components.items():
        visit(name, spec.model_dump(mode="json", by_alias=True), None)
    return edges


def _layers(scenario: Any, edges: list[tuple[str, str]]) -> dict[str, int]:
    """Depth of each component from the workload's entry points (longest path)."""
    depth = {c.entry: 1 for c in scenario.workload.classes}
    for _ in scenario.components:  # relax: at most one pass per component (no cycles)
        for a, b in edges:
            if a in depth and depth.get(b, 0) < depth[a] + 1:
                depth[b] = depth[a] + 1
    return {name: depth.get(name, 1) for name in scenario.components}


def topology(result: Result) -> go.Figure:
    """The architecture as a left-to-right diagram, each component coloured by utilisation.

    Clients sit on the left; arrows follow calls. A component's fill is the utilisation
    of its binding resource at its busiest instance, as its headroom gives it (cores,
    workers, a pool, storage: a worker-bound server is not drawn idle because its cores
    are), else its mean utilisation (grey where it has none, e.g. a CDN or a balancer
    without cores); its label gives that figure, the resource where it is not cores,
    and the number of instances (an autoscaled server's fewest and most over the
    measured period, and its ``max``).
    """
    scenario = result.scenario
    edges = topology_edges(scenario)
    layers = _layers(scenario, edges)
    by_layer: dict[int, list[str]] = {}
    for name, layer in layers.items():
        by_layer.setdefault(layer, []).append(name)
    pos: dict[str, tuple[float, float]] = {"clients": (0.0, 0.0)}
    for layer, members in by_layer.items():
        for i, name in enumerate(members):
            pos[name] = (float(layer), (len(members) - 1) / 2.0 - i)
    entries = list(dict.fromkeys(c.entry for c in scenario.workload.classes))
    all_edges = [("clients", e) for e in entries] + edges
    fig = go.Figure()
    for a, b in all_edges:
        (x0, y0), (x1, y1) = pos[a], pos[b]
        fig.add_annotation(
            x=x1, y=y1, ax=x0, ay=y0, xref="x", yref="y", axref="x", ayref="y",
            showarrow=True, arrowhead=3, arrowsize=1.2, arrowwidth=1.5, arrowcolor="#888",
            standoff=22, startstandoff=22, text="",
        )  # fmt: skip
    comps = result.data["components"]
    binding = (result.data.get("headroom") or {}).get("components") or {}
    names = ["clients", *scenario.components]
    utils = [
        binding[n]["utilization"] if n in binding else comps.get(n, {}).get("utilization")
        for n in names
    ]
    scaled = result.data.get("autoscaling", {})
    labels = []
    for n, u in zip(names, utils, strict=True):
        count = comps.get(n, {}).get("instances")
        extra = f" x{count}" if count and count > 1 else ""
        if n in scaled:  # its instance count is the max: label the fleet it ran
            low, high = scaled[n]["fewest_instances"], scaled[n]["most_instances"]
            ran = f"{low}" if low == high else f"{low}-{high}"
            extra = f" {ran} of max {scaled[n]['max']}"
        kind = scenario.components[n].kind if n in scenario.components else ""
        resource = binding.get(n, {}).get("resource", "cores")
        busy = kind if u is None else f"{u:.0%}" + ("" if resource == "cores" else f" {resource}")
        labels.append(f"<b>{n}</b>{extra}<br>{busy}")
    fig.add_scatter(
        x=[pos[n][0] for n in names],
        y=[pos[n][1] for n in names],
        mode="markers+text",
        text=labels,
        textposition="bottom center",
        marker={
            "size": 38,
            "color": [u if u is not None else 0.0 for u in utils],
            "cmin": 0.0,
            "cmax": 1.0,
            "colorscale": "YlOrRd",
            "line": {"width": 2, "color": ["#999" if u is None else "#333" for u in utils]},
            "colorbar": {"title": {"text": "utilisation"}},
        },
        showlegend=False,
        name="components",
    )
    ys = [y for _, y in pos.values()]
    fig.update_layout(
        title=title("Topology, coloured by utilisation", result.data["scenario"]),
        xaxis={"visible": False, "range": [-0.5, max(layers.values(), default=1) + 0.5]},
        yaxis={"visible": False, "range": [min(ys) - 0.6, max(ys) + 0.4]},
        plot_bgcolor="white",
    )
    return fig
