"""Figures of traced requests: where each class's latency goes (``run.trace``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
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
    fig = _icicle(
        table,
        ("class", "component", "part"),
        column,
        label=str,
        scale=MS,
        hover="%{id}: %{value:.3g} ms<extra></extra>",
        text=lambda text, value: f"{text}<br>{value:.3g} ms",
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
    fig = _icicle(
        table,
        ("component", "endpoint", "step"),
        "cpu_seconds",
        label=lambda step: f"step {step}",
        scale=1.0,
        hover="%{id}: %{value:.4g} core-s (%{percentRoot:.1%})<extra></extra>",
        text=lambda text, value: f"{text}<br>{value:.4g} core-s",
    )
    fig.update_layout(
        title=title("CPU per endpoint and step (core-seconds)", result.data["scenario"])
    )
    return fig


def _icicle(
    table: pd.DataFrame,
    levels: tuple[str, str, str],
    value: str,
    *,
    label: Callable[[Any], str],
    scale: float,
    hover: str,
    text: Callable[[str, float], str],
) -> go.Figure:
    """A three-level icicle of ``table``: a box per value of ``levels[0]``, then of
    ``levels[1]`` within it, then a leaf per row (named by ``label`` of its
    ``levels[2]``), each box the sum of the ``value`` column below it, times ``scale``;
    ``hover`` is the template of its hover, ``text`` makes a box's text of its label and value."""
    top, middle, leaf = levels
    ids: list[str] = []
    labels: list[str] = []
    parents: list[str] = []
    values: list[float] = []

    def add(node: str, text: str, parent: str, amount: float) -> None:
        ids.append(node)
        labels.append(text)
        parents.append(parent)
        values.append(float(amount) * scale)

    for first, upper in table.groupby(top, sort=False):
        add(str(first), str(first), "", upper[value].sum())
        for second, lower in upper.groupby(middle, sort=False):
            node = f"{first}/{second}"
            add(node, str(second), str(first), lower[value].sum())
            for name, amount in zip(lower[leaf], lower[value], strict=True):
                add(f"{node}/{name}", label(name), node, amount)
    return go.Figure(
        go.Icicle(
            ids=ids,
            labels=labels,
            parents=parents,
            values=values,
            branchvalues="total",
            hovertemplate=hover,
            # the numbers on the boxes too: a figure pasted as an image has no hover
            # (as text of each box, so that plotly's unnamed root above several
            # top boxes shows none)
            text=[text(t, v) for t, v in zip(labels, values, strict=True)],
            textinfo="text",
        )
    )
