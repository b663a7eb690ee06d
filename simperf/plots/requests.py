"""Figures of what requests saw: latency percentiles, distributions and time series."""

from __future__ import annotations

from typing import Any

import numpy as np
import plotly.graph_objects as go

from simperf.metrics.availability import target_name
from simperf.metrics.result import Result
from simperf.plots._style import MS, class_colours, title

CDF_POINTS = 400
"""Quantiles drawn per class: enough for a smooth curve, small enough for a report."""


def _measured_ok(result: Result) -> Any:
    frame = result.requests
    return frame[frame["measured"] & (frame["outcome"] == "ok")]


def _classes(result: Result) -> list[str]:
    return [name for name in result.data["latency"] if name != "all"]


def latency_percentiles(result: Result) -> go.Figure:
    """Grouped bars of mean, p50, p95, p99 latency per request class (milliseconds)."""
    frame = result.latency
    fig = go.Figure()
    for key in ("mean", "p50", "p95", "p99"):
        fig.add_bar(name=key, x=frame["class"], y=frame[key] * MS)
    fig.update_layout(
        title=title("Latency by class", result.data["scenario"]),
        xaxis_title="request class",
        yaxis_title="latency (ms)",
        barmode="group",
    )
    return fig


def latency_cdf(result: Result) -> go.Figure:
    """Empirical CDF of the latency of measured ``ok`` requests, one line per class.

    Each class is drawn through :data:`CDF_POINTS` quantiles (exact, from its samples),
    so the figure stays small however long the run.
    """
    ok = _measured_ok(result)
    colours = class_colours(_classes(result))
    probabilities = np.linspace(0.0, 1.0, CDF_POINTS)
    fig = go.Figure()
    for name in _classes(result):
        values = ok.loc[ok["class"] == name, "latency"].to_numpy()
        if values.size == 0:
            continue
        fig.add_scatter(
            x=np.quantile(values, probabilities) * MS,
            y=probabilities,
            mode="lines",
            name=name,
            line={"color": colours[name]},
        )
    fig.update_layout(
        title=title("Latency distribution (CDF)", result.data["scenario"]),
        xaxis_title="latency (ms)",
        yaxis_title="fraction of requests",
        xaxis_type="log",
        yaxis_range=[0, 1.02],
    )
    return fig


def latency_histogram(result: Result, bins: int = 60) -> go.Figure:
    """Histogram of measured ``ok`` latencies per class, on bins shared by all classes.

    Bins are equal on a log scale from the fastest to the slowest request, so a
    distribution spanning microseconds to seconds keeps its shape; bars give the
    share of each class's requests in each bin.
    """
    ok = _measured_ok(result)
    colours = class_colours(_classes(result))
    fig = go.Figure()
    latency = ok["latency"].to_numpy()
    positive = latency[latency > 0]
    if positive.size:
        edges = np.geomspace(positive.min(), positive.max(), bins + 1)
        centres = np.sqrt(edges[:-1] * edges[1:]) * MS
        for name in _classes(result):
            values = ok.loc[ok["class"] == name, "latency"].to_numpy()
            if values.size == 0:
                continue
            counts, _ = np.histogram(values, bins=edges)
            fig.add_bar(
                x=centres,
                y=counts / values.size,
                width=np.diff(edges) * MS,
                name=name,
                marker={"color": colours[name]},
                opacity=0.75,
            )
    fig.update_layout(
        title=title("Latency histogram", result.data["scenario"]),
        xaxis_title="latency (ms)",
        yaxis_title="share of the class's requests",
        xaxis_type="log",
        barmode="overlay",
    )
    return fig


def timeseries(
    result: Result, metrics: tuple[str, ...] = ("p50", "p95", "p99"), events: bool = True
) -> go.Figure:
    """Request-level metrics over time, one line per metric (latencies in milliseconds).

    With ``events``, fault windows of the spec are shaded red and alert firings orange,
    each labelled, so a spike can be read against what caused it.
    """
    ts = result.timeseries
    fig = go.Figure()
    for metric in metrics:
        rows = ts[(ts.component == "all") & (ts.metric == metric)]
        scale = MS if metric.startswith("p") else 1.0
        fig.add_scatter(x=rows["end"], y=rows["value"] * scale, mode="lines+markers", name=metric)
    latency = all(m.startswith("p") for m in metrics)
    fig.update_layout(
        title=title("Over time", result.data["scenario"]),
        xaxis_title="simulated time (s)",
        yaxis_title="latency (ms)" if latency else "value",
    )
    if events:
        for start, end, label, colour in event_windows(result):
            fig.add_vrect(
                x0=start,
                x1=end,
                fillcolor=colour,
                opacity=0.15,
                line_width=0,
                annotation_text=label,
                annotation_position="top left",
            )
    return fig


def event_windows(result: Result) -> list[tuple[float, float, str, str]]:
    """(start, end, label, colour) of every fault of the spec and every alert firing."""
    windows = []
    end = result.data["end_time"]
    for occ in result.data.get("faults", {}).get("occurrences", []):
        stop = end if occ["end"] is None else min(occ["end"], end)
        label = f"fault: {target_name(occ)}" + ("" if occ["kind"] == "crash" else f" {occ['kind']}")
        windows.append((occ["start"], stop, label, "red"))
    for row in result.alerts.itertuples(index=False):
        windows.append((float(row.start), float(row.end), f"alert: {row.alert}", "orange"))
    return windows
