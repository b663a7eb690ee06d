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


def cpu_icicle(result: Result) -> go.Figure:
    """The flame-graph view of CPU: app server, then endpoint, then ``cpu`` step.

    Parameters
    ----------
    result
        A run with ``run.profile``.

    Returns
    -------
    plotly.graph_objects.Figure
        One ``go.Icicle`` whose leaves are the rows of :meth:`Result.cpu_profile` in
        core-seconds over the measured period (exact counts), each box the sum of
        those below it; empty without a profile.
    """
    table = result.cpu_profile()
    ids, labels, parents, values = [], [], [], []
    for component, endpoints in table.groupby("component", sort=False):
        ids.append(str(component))
        labels.append(str(component))
        parents.append("")
        values.append(float(endpoints["cpu_seconds"].sum()))
        for endpoint, steps in endpoints.groupby("endpoint", sort=False):
            node = f"{component}/{endpoint}"
            ids.append(node)
            labels.append(str(endpoint))
            parents.append(str(component))
            values.append(float(steps["cpu_seconds"].sum()))
            for row in steps.itertuples():
                ids.append(f"{node}/{row.step}")
                labels.append(f"step {row.step}")
                parents.append(node)
                values.append(float(row.cpu_seconds))
    fig = go.Figure(
        go.Icicle(
            ids=ids,
            labels=labels,
            parents=parents,
            values=values,
            branchvalues="total",
            hovertemplate="%{id}: %{value:.4g} core-s (%{percentRoot:.1%})<extra></extra>",
        )
    )
    fig.update_layout(
        title=title("CPU per endpoint and step (core-seconds)", result.data["scenario"])
    )
    return fig
