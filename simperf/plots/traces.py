"""Figures of traced requests: where each class's latency goes (``run.trace``)."""

from __future__ import annotations

import plotly.graph_objects as go

from simperf.metrics.result import Result
from simperf.plots._style import MS, title


def latency_icicle(result: Result, tail: bool = False) -> go.Figure:
    """An icicle of each class's mean latency: class, then component, then part.

    Parameters
    ----------
    result
        A run with ``run.trace``.
    tail
        Draw the p99 requests' mean (``tail_mean``) instead of every request's.

    Returns
    -------
    plotly.graph_objects.Figure
        One ``go.Icicle`` whose leaves are the (component, part) rows of
        :meth:`Result.breakdown` in milliseconds per request, each class's box their
        sum (its mean latency over the traced sample); empty without traces.
    """
    table = result.breakdown()
    table = table[table["class"] != "all"]
    column = "tail_mean" if tail else "mean"
    ids, labels, parents, values = [], [], [], []
    for klass, rows in table.groupby("class", sort=False):
        ids.append(str(klass))
        labels.append(str(klass))
        parents.append("")
        values.append(float(rows[column].sum()) * MS)
        for component, parts in rows.groupby("component", sort=False):
            node = f"{klass}/{component}"
            ids.append(node)
            labels.append(str(component))
            parents.append(str(klass))
            values.append(float(parts[column].sum()) * MS)
            for row in parts.itertuples():
                ids.append(f"{node}/{row.part}")
                labels.append(str(row.part))
                parents.append(node)
                values.append(float(getattr(row, column)) * MS)
    fig = go.Figure(
        go.Icicle(
            ids=ids,
            labels=labels,
            parents=parents,
            values=values,
            branchvalues="total",
            hovertemplate="%{id}: %{value:.3g} ms<extra></extra>",
        )
    )
    which = "p99 requests' mean" if tail else "mean"
    fig.update_layout(title=title(f"Where the {which} latency goes (ms)", result.data["scenario"]))
    return fig
