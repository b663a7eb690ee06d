"""Figures of databases: where their time goes, query by query."""

from __future__ import annotations

import plotly.graph_objects as go

from simperf.metrics.result import Result
from simperf.plots._style import component_colours, title


def database_load(result: Result) -> go.Figure:
    """Load each query puts on each database: calls x mean time per second of the run.

    A bar's height is the number of queries of that kind in progress on average
    (seconds of query time per second), so the bars of one database add up to its
    mean concurrency and the tallest bar is where indexing or caching pays most.
    """
    measured = result.data["measured_time"]
    colours = component_colours(result.scenario)
    fig = go.Figure()
    for name, db in (result.data.get("databases") or {}).items():
        queries = db.get("queries") or {}
        names = list(queries)
        load = [
            (q["calls"] * (q["mean"] or 0.0) / measured) if measured > 0 else 0.0
            for q in queries.values()
        ]
        fig.add_bar(
            x=names,
            y=load,
            name=name,
            marker={"color": colours.get(name)},
            customdata=[q["calls"] for q in queries.values()],
            hovertemplate="%{x}: %{y:.3g} s/s over %{customdata} calls",
        )
    fig.update_layout(
        title=title("Database load by query", result.data["scenario"]),
        xaxis_title="query",
        yaxis_title="query time per second (s/s)",
    )
    return fig
