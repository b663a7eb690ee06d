"""Plotly figures from results. Every function returns a ``go.Figure``; none shows it."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from simperf.metrics.result import Result

_MS = 1000.0


def latency_percentiles(result: Result) -> go.Figure:
    """Grouped bars of mean, p50, p95, p99 latency per request class (milliseconds)."""
    frame = result.latency
    fig = go.Figure()
    for key in ("mean", "p50", "p95", "p99"):
        fig.add_bar(name=key, x=frame["class"], y=frame[key] * _MS)
    fig.update_layout(
        title=f"Latency by class: {result.data['scenario']}",
        yaxis_title="latency (ms)",
        barmode="group",
    )
    return fig


def timeseries(result: Result, metrics: tuple[str, ...] = ("p50", "p95", "p99")) -> go.Figure:
    """Request-level metrics over time, one line per metric (latencies in milliseconds)."""
    ts = result.timeseries
    fig = go.Figure()
    for metric in metrics:
        rows = ts[(ts.component == "all") & (ts.metric == metric)]
        scale = _MS if metric.startswith("p") else 1.0
        fig.add_scatter(x=rows["end"], y=rows["value"] * scale, mode="lines", name=metric)
    latency = all(m.startswith("p") for m in metrics)
    fig.update_layout(
        title=f"Over time: {result.data['scenario']}",
        xaxis_title="simulated time (s)",
        yaxis_title="latency (ms)" if latency else "value",
    )
    return fig


def utilization(result: Result) -> go.Figure:
    """Utilisation of each instance over time."""
    ts = result.timeseries
    rows = ts[(ts.metric == "utilization") & ts.component.str.contains(r"\[", regex=True)]
    fig = go.Figure()
    for instance, group in rows.groupby("component", sort=False):
        fig.add_scatter(x=group["end"], y=group["value"], mode="lines", name=str(instance))
    fig.update_layout(
        title=f"Utilisation per instance: {result.data['scenario']}",
        xaxis_title="simulated time (s)",
        yaxis_title="utilisation",
        yaxis_range=[0, 1.05],
    )
    return fig


def sweep_lines(frame: pd.DataFrame, x: str, y: str, color: str | None = None) -> go.Figure:
    """Mean of ``y`` against ``x`` (one line per ``color`` value) from a tidy sweep frame."""
    fig = go.Figure()
    groups = frame.groupby(color, sort=True) if color else [(None, frame)]
    for key, group in groups:
        agg = group.groupby(x, sort=True)[y].mean()
        fig.add_scatter(
            x=agg.index, y=agg.values, mode="lines+markers", name=str(key) if key is not None else y
        )
    fig.update_layout(xaxis_title=x, yaxis_title=y)
    return fig
