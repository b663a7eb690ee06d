"""Figures of what requests saw: latency percentiles, distributions and time series."""

from __future__ import annotations

from typing import Any

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from simperf.metrics.availability import target_name
from simperf.metrics.result import Result
from simperf.plots._style import (
    LABEL_CHAR,
    MS,
    PLOT_WIDTH,
    UNITS,
    class_colours,
    log_ticks,
    title,
)
from simperf.units import format_time

CDF_POINTS = 400
"""Quantiles drawn per class: enough for a smooth curve, small enough for a report."""
REPORTED = (0.5, 0.9, 0.95, 0.99, 0.999)
"""The percentiles ``Result.latency`` reports, drawn exactly on the CDF."""


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
    # the percentiles the result reports are drawn points, so the curve read at 0.99
    # is the table's p99 (the even grid alone steps 1/399 and interpolates between)
    probabilities = np.union1d(np.linspace(0.0, 1.0, CDF_POINTS), REPORTED)
    fig = go.Figure()
    positive = ok["latency"].to_numpy()
    positive = positive[positive > 0]
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
    if positive.size:
        fig.update_xaxes(**log_ticks(positive.min() * MS, positive.max() * MS))
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
    if positive.size:
        fig.update_xaxes(**log_ticks(positive.min() * MS, positive.max() * MS))
    return fig


def timeseries(
    result: Result, metrics: tuple[str, ...] = ("p50", "p95", "p99"), events: bool = True
) -> go.Figure:
    """Request-level metrics of all requests over time, one line per metric, each point
    the metric over one time-series window drawn at the window's end.

    Metrics of one unit share an axis (latencies in milliseconds, throughput in
    requests per second, the error rate in percent); metrics of several units get a
    panel each, over one time axis. With ``events``, fault windows of the spec are
    shaded red and alert firings orange, each labelled once (faults at the top, alerts
    at the bottom, so that one starting as the other does stays readable; labels that
    would overlap, such as faults starting a few seconds apart, go one row further in:
    :func:`label_levels`).
    """
    ts = result.timeseries
    all_rows = ts[ts.component == "all"]
    units: dict[str, list[str]] = {}
    for metric in metrics:
        units.setdefault(_unit(metric)[0], []).append(metric)
    panels = list(units)
    if len(panels) > 1:
        fig = make_subplots(rows=len(panels), cols=1, shared_xaxes=True, vertical_spacing=0.06)
    else:
        fig = go.Figure()
    for row, unit in enumerate(panels, start=1):
        for metric in units[unit]:
            rows = all_rows[all_rows.metric == metric]
            scale = _unit(metric)[1]
            trace = go.Scatter(
                x=rows["end"], y=rows["value"] * scale, mode="lines+markers", name=metric
            )
            if len(panels) > 1:
                fig.add_trace(trace, row=row, col=1)
                fig.update_yaxes(title_text=unit, row=row, col=1)
            else:
                fig.add_trace(trace)
    window = all_rows["end"].iloc[0] - all_rows["start"].iloc[0] if len(all_rows) else 0.0
    fig.update_layout(
        title=title(
            f"{', '.join(metrics)} per {format_time(window)} window",
            result.data["scenario"],
        )
    )
    fig.update_xaxes(title_text="simulated time (s)", row=len(panels) if len(panels) > 1 else None)
    if len(panels) == 1:
        fig.update_layout(yaxis_title=panels[0])
    if events:
        windows = event_windows(result)
        span = (all_rows["end"].max() - all_rows["start"].min()) if len(all_rows) else 0.0
        levels = label_levels(windows, span)
        for (start, end, label, colour), level in zip(windows, levels, strict=True):
            # faults hang from the top, alerts stand on the bottom, a row per level
            fault = colour == "red"
            shift = -LABEL_ROW * level if fault else LABEL_ROW * level
            for row in range(1, len(panels) + 1):
                where = {"row": row, "col": 1} if len(panels) > 1 else {}
                text = {
                    "annotation_text": label,
                    "annotation_position": "top left" if fault else "bottom left",
                    "annotation": {"yshift": shift},
                }
                fig.add_vrect(
                    x0=start,
                    x1=end,
                    fillcolor=colour,
                    opacity=0.15,
                    line_width=0,
                    **(text if row == 1 else {}),
                    **where,
                )
    return fig


LABEL_ROW = 14.0
"""Pixels between two rows of event labels (a 12 px font and its leading)."""


def label_levels(windows: list[tuple[float, float, str, str]], span: float) -> list[int]:
    """The row of each event label (0 the first), so that no two labels in one row
    overlap: faults and alerts are laid out apart (they hang from opposite edges), each
    label in the first row whose last label ends before it starts, its width estimated
    from its length at :data:`LABEL_CHAR` pixels a character over :data:`PLOT_WIDTH`
    pixels for ``span`` seconds."""
    per_pixel = span / PLOT_WIDTH if span > 0 else 0.0
    levels = [0] * len(windows)
    for colour in {w[3] for w in windows}:
        rows: list[float] = []  # where each row's last label ends
        mine = sorted((w[0], i) for i, w in enumerate(windows) if w[3] == colour)
        for start, i in mine:
            level = next((r for r, end in enumerate(rows) if end <= start), len(rows))
            if level == len(rows):
                rows.append(0.0)
            rows[level] = start + len(windows[i][2]) * LABEL_CHAR * per_pixel
            levels[i] = level
    return levels


def _unit(metric: str) -> tuple[str, float]:
    """Axis title and scale of a request metric (latencies: mean, max, pNN in ms)."""
    return UNITS.get(metric, ("latency (ms)", MS))


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
