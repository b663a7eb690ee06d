"""Figures of many runs: sweeps with confidence bands and the cost/latency frontier."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from simperf.metrics.stats import t_interval
from simperf.plots._style import MS, metric_axis


def _interval_frame(frame: pd.DataFrame, x: str, y: str, confidence: float) -> pd.DataFrame:
    """Mean, low and high of ``y`` over replications at each ``x`` (ok runs only)."""
    ok = frame[frame["status"] == "ok"] if "status" in frame else frame
    rows = []
    for value, group in ok.groupby(x, sort=True):
        _one_design(group, f"{x}={value}")
        samples = group[y].dropna().to_numpy(dtype=float)
        if samples.size == 0:
            continue
        iv = t_interval(samples, confidence)
        low = iv.low if iv.low is not None else iv.mean
        high = iv.high if iv.high is not None else iv.mean
        rows.append({"x": value, "mean": iv.mean, "low": low, "high": high})
    return pd.DataFrame(rows, columns=["x", "mean", "low", "high"])


def _one_design(group: pd.DataFrame, where: str) -> None:
    """Refuse a group holding several points of a sweep (another path swept too): their
    pooled replications would give a mean, and an interval, of no one design."""
    if "replication" not in group:
        return
    counts = group["replication"].value_counts()
    if (counts > 1).any():
        raise ValueError(
            f"{where}: replication {counts.index[0]} appears {counts.iat[0]} "
            "times, so other paths were swept too; select one value of each first"
        )


def swept_paths(frame: pd.DataFrame) -> list[str]:
    """The paths a sweep's frame varies: its columns between ``replication`` and
    ``status`` (:func:`simperf.sweep` puts them there) that take more than one value
    among its ok runs; none in a frame not laid out so."""
    columns = list(frame.columns)
    if "replication" not in columns or "status" not in columns:
        return []
    paths = columns[columns.index("replication") + 1 : columns.index("status")]
    ok = frame[frame["status"] == "ok"]
    return [p for p in paths if ok[p].nunique(dropna=False) > 1]


def _label(paths: Sequence[str], key: tuple[object, ...]) -> str:
    return ", ".join(f"{path}={value}" for path, value in zip(paths, key, strict=True))


def band(
    frame: pd.DataFrame,
    x: str,
    ys: Sequence[str],
    confidence: float = 0.95,
    scale: float = 1.0,
    names: Sequence[str] | None = None,
) -> go.Figure:
    """Mean of each ``y`` against ``x`` with a shaded Student-t band over replications."""
    fig = go.Figure()
    colours = ["#1f77b4", "#ff7f0e", "#d62728", "#2ca02c", "#9467bd"]
    for i, y in enumerate(ys):
        stats = _interval_frame(frame, x, y, confidence)
        colour = colours[i % len(colours)]
        name = names[i] if names else y
        fig.add_scatter(
            x=np.concatenate([stats["x"], stats["x"][::-1]]),
            y=np.concatenate([stats["high"], stats["low"][::-1]]) * scale,
            fill="toself",
            fillcolor=colour,
            opacity=0.2,
            line={"width": 0},
            hoverinfo="skip",
            name=f"{name} {confidence:.0%} CI",
            showlegend=False,
        )
        fig.add_scatter(
            x=stats["x"],
            y=stats["mean"] * scale,
            mode="lines+markers",
            name=name,
            line={"color": colour},
        )
    return fig


def percentiles_vs_load(
    frame: pd.DataFrame,
    load: str = "workload.arrival.rate",
    request_class: str = "all",
    percentiles: Sequence[str] = ("p50", "p95", "p99"),
    confidence: float = 0.95,
) -> go.Figure:
    """Latency percentiles against load, from a sweep, with confidence bands.

    Parameters
    ----------
    frame
        The frame :func:`simperf.sweep` returns (several replications per point give
        the bands).
    load
        The swept path of the load, e.g. ``workload.arrival.rate``.
    request_class
        Whose latency (``all`` or a class name).
    percentiles
        Which of the latency table's percentiles.
    confidence
        Level of the Student-t band over replications.
    """
    ys = [f"latency.{request_class}.{p}" for p in percentiles]
    fig = band(frame, load, ys, confidence, scale=MS, names=list(percentiles))
    fig.update_layout(
        title=f"Latency of {request_class} against load",
        xaxis_title=metric_axis(load)[0],
        yaxis_title="latency (ms)",
    )
    return fig


def cost_frontier(
    frame: pd.DataFrame,
    design: str,
    latency: str = "latency.all.p99",
    cost: str = "cost.total_per_hour",
) -> go.Figure:
    """Cost against latency of every design of a sweep, and the frontier of the best.

    A design is on the frontier when no other is both cheaper and faster (means over
    replications); those are the only ones worth choosing between. Each point of the
    sweep is a design: where other paths were swept too (the load), each combination is
    drawn, labelled with their values (``4 (rate=200)``), never averaged over them; a
    frame whose designs cannot be told apart (a replication twice in one) is refused.

    Parameters
    ----------
    frame
        A sweep frame with a cost and a latency column.
    design
        The column naming the design of each row (a swept path, e.g.
        ``components.app.replicas``).
    latency, cost
        The columns drawn.
    """
    ok = frame[frame["status"] == "ok"] if "status" in frame else frame
    # each point of the sweep is a design: averaging over another swept path (the load)
    # would draw a design at no load it ran at
    others = [p for p in swept_paths(frame) if p != design]
    keys = [design, *others]
    rows = []
    for key, group in ok.groupby(keys, sort=True, dropna=False):
        key = key if isinstance(key, tuple) else (key,)
        _one_design(group, _label(keys, key))
        text = str(key[0])
        if others:
            text += " (" + _label([p.rsplit(".", 1)[-1] for p in others], key[1:]) + ")"
        rows.append({"text": text, cost: group[cost].mean(), latency: group[latency].mean()})
    means = pd.DataFrame(rows, columns=["text", cost, latency]).sort_values([cost, latency])
    best = np.inf
    on_frontier = []
    for value in means[latency]:
        on_frontier.append(bool(value < best))
        best = min(best, value)
    means["frontier"] = on_frontier
    fig = go.Figure()
    fig.add_scatter(
        x=means[cost],
        y=means[latency] * MS,
        mode="markers+text",
        text=list(means["text"]),
        textposition="top center",
        marker={"size": 10, "color": ["#d62728" if f else "#999" for f in on_frontier]},
        name="designs",
    )
    front = means[means["frontier"]]
    fig.add_scatter(
        x=front[cost], y=front[latency] * MS, mode="lines", name="frontier", line={"dash": "dot"}
    )
    fig.update_layout(
        title=f"Cost against {latency.rsplit('.', 1)[-1]} by {design}",
        xaxis_title="cost (per hour)",
        yaxis_title=f"{latency} (ms)",
    )
    return fig


def sweep_lines(frame: pd.DataFrame, x: str, y: str, color: str | None = None) -> go.Figure:
    """Mean of ``y`` over replications against ``x``, from a tidy sweep frame.

    One line per value of ``color`` and of every other path the sweep varied (a load x
    cores sweep drawn against load: a line per core count), named by their values; a
    line's points are each one design's mean, never averaged over another swept path.
    A frame that is not a sweep's layout and holds several designs at one ``x`` (a
    replication twice) is refused: select one value of each other path first.

    Parameters
    ----------
    frame
        The frame :func:`simperf.sweep` returns (its ok runs are drawn).
    x, y
        The swept path along the axis and the metric drawn.
    color
        A swept path (or any column) with a line per value.
    """
    ok = frame[frame["status"] == "ok"] if "status" in frame else frame
    keys = ([color] if color else []) + [p for p in swept_paths(frame) if p not in (x, color)]
    groups = ok.groupby(keys, sort=True, dropna=False) if keys else [((), ok)]
    y_title, scale = metric_axis(y)  # words and a unit, as the other figures': p99 in ms
    fig = go.Figure()
    for key, group in groups:
        key = key if isinstance(key, tuple) else (key,)
        for value, cell in group.groupby(x, sort=True):
            _one_design(cell, _label([*keys, x], (*key, value)))
        agg = group.groupby(x, sort=True)[y].mean()
        name = _label(keys, key) if keys else y
        fig.add_scatter(x=agg.index, y=agg.values * scale, mode="lines+markers", name=name)
    fig.update_layout(xaxis_title=metric_axis(x)[0], yaxis_title=y_title)
    return fig
