"""Figures of caches: hit rate over a run and against cache size."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from simperf.metrics.result import Result
from simperf.plots._style import window_figure
from simperf.plots.experiments import band


def cache_hit_rate(result: Result) -> go.Figure:
    """Hit rate of each cache per time-series window (a cold cache warming shows here)."""
    ts = result.timeseries
    rows = ts[ts.metric == "hit_rate"]
    return window_figure(
        result,
        rows,
        "Cache hit rate over time",
        "hit rate (fraction of reads)",
        1.02,
        mode="lines+markers",
        by_component=False,
    )


def hit_rate_vs_size(
    frame: pd.DataFrame, size: str, cache: str, confidence: float = 0.95
) -> go.Figure:
    """A cache's hit rate against its size, from a sweep, with confidence bands.

    Parameters
    ----------
    frame
        The frame :func:`simperf.sweep` returns.
    size
        The swept path of the cache's size, e.g. ``components.redis.capacity``.
    cache
        The cache's name (its ``caches.<cache>.hit_rate`` is drawn).
    confidence
        Level of the Student-t band over replications.
    """
    fig = band(frame, size, [f"caches.{cache}.hit_rate"], confidence, names=["hit rate"])
    fig.update_layout(
        title=f"Hit rate of {cache} against its size",
        xaxis_title=f"{size} (items)",
        yaxis_title="hit rate (fraction of reads)",
    )
    return fig
