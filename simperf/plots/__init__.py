"""Plotly figures from results and experiments.

Every function returns a ``plotly.graph_objects.Figure`` and never shows it; traces are
SVG (no WebGL), latencies are in milliseconds, and a component keeps one colour across
figures (its position in the spec).
"""

from __future__ import annotations

from simperf.plots.caching import cache_hit_rate, hit_rate_vs_size
from simperf.plots.calibration import fit_quantiles, predicted_vs_measured
from simperf.plots.components import fleet, topology, utilization, utilization_heatmap
from simperf.plots.database import database_load
from simperf.plots.experiments import band, cost_frontier, percentiles_vs_load, sweep_lines
from simperf.plots.requests import latency_cdf, latency_histogram, latency_percentiles, timeseries
from simperf.plots.traces import cpu_icicle, latency_icicle

__all__ = [
    "band",
    "cache_hit_rate",
    "cost_frontier",
    "cpu_icicle",
    "database_load",
    "fit_quantiles",
    "fleet",
    "hit_rate_vs_size",
    "latency_cdf",
    "latency_histogram",
    "latency_icicle",
    "latency_percentiles",
    "percentiles_vs_load",
    "predicted_vs_measured",
    "sweep_lines",
    "timeseries",
    "topology",
    "utilization",
    "utilization_heatmap",
]
