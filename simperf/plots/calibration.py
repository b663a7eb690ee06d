"""Figures of a calibration: how well each family fits, and predicted against measured."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from simperf.plots._style import MS

if TYPE_CHECKING:
    from simperf.calibrate.core import Calibration

_COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b"]


def fit_quantiles(cal: Calibration, points: int = 99) -> go.Figure:
    """Q-Q plot per component at the calibration load: each family's quantiles against
    the sample's (on the diagonal is a perfect fit; the chosen family is drawn first).

    Where timed-out requests left values right-censored, the sample's quantiles are the
    Kaplan-Meier estimate's (the completed values' alone would spread the fastest share
    over every probability), drawn only as far as it reaches, and a dotted line marks
    the median censoring point (the timeout's share of the time, past which the fit
    extrapolates)."""
    names = list(cal.samples)
    fig = make_subplots(rows=1, cols=max(len(names), 1), subplot_titles=names)
    q = (np.arange(points) + 0.5) / points
    families = sorted({f.family for fits in cal.candidates.values() for f in fits})
    colour = {f: _COLOURS[i % len(_COLOURS)] for i, f in enumerate(families)}
    for col, name in enumerate(names, start=1):
        censored = cal.censored.get(name, np.empty(0))
        if censored.size:
            # imported here: simperf.plots loads no scipy until a figure needs it
            from simperf.calibrate.families import kaplan_meier_quantiles

            measured = kaplan_meier_quantiles(cal.samples[name], censored, q)
            known = np.isfinite(measured)
            probabilities, measured = q[known], measured[known] * MS
        else:
            probabilities, measured = q, np.quantile(cal.samples[name], q) * MS
        for rank, fit in enumerate(cal.candidates[name]):
            fitted = (
                np.quantile(fit.values, probabilities)
                if fit.values
                else fit.quantile(probabilities)
            )
            fig.add_trace(
                go.Scatter(
                    x=measured,
                    y=fitted * MS,
                    mode="markers",
                    name=fit.family + (" (chosen)" if rank == 0 else ""),
                    legendgroup=fit.family,
                    showlegend=col == 1,
                    marker={"color": colour[fit.family], "size": 6 if rank == 0 else 4},
                ),
                row=1,
                col=col,
            )
        top = float(measured.max()) if measured.size else 0.0
        if censored.size:
            point = float(np.median(censored)) * MS
            total = censored.size + cal.samples[name].size
            top = max(top, point)
            fig.add_trace(
                go.Scatter(
                    x=[point, point],
                    y=[0, top],
                    mode="lines",
                    name=f"{name}: median censoring point ({censored.size} of {total} censored)",
                    showlegend=True,
                    line={"color": "black", "dash": "dot", "width": 1},
                ),
                row=1,
                col=col,
            )
        fig.add_trace(
            go.Scatter(
                x=[0, top],
                y=[0, top],
                mode="lines",
                showlegend=False,
                line={"color": "grey", "dash": "dot"},
            ),
            row=1,
            col=col,
        )
        fig.update_xaxes(title_text="measured quantile (ms)", row=1, col=col)
        fig.update_yaxes(title_text="fitted quantile (ms)", row=1, col=col)
    fig.update_layout(title=f"Service-time fits at load {cal.base:g}", template="plotly_white")
    return fig


def predicted_vs_measured(
    accuracy: pd.DataFrame, x: str = "load", base: float | None = None
) -> go.Figure:
    """Measured (markers) and predicted (lines) p50, p95, p99 against load.

    Parameters
    ----------
    accuracy
        ``Calibration.accuracy`` (or a frame with its columns and ``x``).
    x
        The column drawn across.
    base
        The load calibrated from (``Calibration.base``), named in the title.
    """
    fig = go.Figure()
    for i, (percentile, rows) in enumerate(accuracy.groupby("percentile", sort=False)):
        c = _COLOURS[i % len(_COLOURS)]
        for column, style in (
            ("measured", {"mode": "markers", "marker": {"color": c, "size": 9}}),
            ("predicted", {"mode": "lines", "line": {"color": c}}),
        ):
            fig.add_trace(
                go.Scatter(x=rows[x], y=rows[column] * MS, name=f"{percentile} {column}", **style)
            )
    fig.update_layout(
        # --base calibrates from any level: the title said "the lowest" whatever it was
        title=("Calibrated model" if base is None else f"Calibrated at load {base:g}")
        + ": predicted against measured latency",
        xaxis_title=x,
        yaxis_title="latency (ms)",
        template="plotly_white",
    )
    return fig
