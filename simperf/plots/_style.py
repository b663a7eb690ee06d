"""Colours and units shared by every figure, so a component looks the same everywhere."""

from __future__ import annotations

from typing import Any

import numpy as np
import plotly.express as px
import plotly.graph_objects as go

from simperf.presentation.cells import PER_SECOND, rate_title
from simperf.spec.slo import metric_kind

MS = 1000.0
"""Seconds to milliseconds: latencies are drawn in ms."""

UNITS = {"throughput": (rate_title("throughput"), 1.0), "errors": ("failed requests", 1.0)}
UNITS |= {"error_rate": ("error rate (%)", 100.0), "in_system": ("requests in system", 1.0)}
"""Axis title and scale of the request metrics that are not latencies (in ms)."""

_REQUEST_RATES = frozenset(
    {"throughput", "rate", "arrival_rate", "visit_rate", "saturation_rate", "request_rate"}
)
"""Rates whose leaf counts requests (``rate_title``); any other, a database's ``qps``, is
per second alone."""


def metric_axis(path: str) -> tuple[str, float]:
    """Axis title and scale of a metric (or a swept path) by its dotted path, as the other
    figures title theirs: the request metrics as :func:`~simperf.plots.timeseries` does, a
    latency in ms, the load as ``arrival rate (requests/s)``, otherwise the path with
    its unit by the metric's kind (``%``, ``/s``, ``per hour``, ``x``; a count none).

    Examples
    --------
    >>> metric_axis("latency.all.p99"), metric_axis("workload.arrival.rate")
    (('p99 latency (ms)', 1000.0), ('arrival rate (requests/s)', 1.0))
    >>> metric_axis("components.app.utilization"), metric_axis("components.app.cores")
    (('components.app.utilization (%)', 100.0), ('components.app.cores', 1.0))
    """
    if path in UNITS:
        return UNITS[path]
    parts = path.split(".")
    leaf = parts[-1]
    if path.endswith("arrival.rate") or leaf == "arrival_rate":
        return rate_title("arrival rate"), 1.0
    kind = metric_kind(path)
    words = path
    if parts[0] == "latency" and len(parts) == 3:  # latency.<class>.<figure>
        of = "" if parts[1] == "all" else f" of {parts[1]}"
        if leaf in UNITS and of == "":
            return UNITS[leaf]
        words = f"{leaf} latency{of}" if kind == "time" else leaf.replace("_", " ") + of
    elif path == "cost.total_per_hour":
        words = "cost"  # as cost_frontier's axis
    if kind == "time":
        return f"{words} (ms)", MS
    if kind == "fraction":
        return f"{words} (%)", 100.0
    if kind == "rate":
        if leaf in _REQUEST_RATES:
            return rate_title(words), 1.0
        return f"{words} ({PER_SECOND})", 1.0
    if kind == "price":
        return f"{words} (per hour)", 1.0
    if kind == "ratio":
        return f"{words} (x)", 1.0
    return words, 1.0


LABEL_CHAR = 7.0
"""Pixels per character of a 12 px label, a little over the font's average."""
PLOT_WIDTH = 480.0
"""Pixels of a figure's plotting area assumed when labels are laid out: the report's
half-width figures (the narrowest it draws); a wider figure only spaces them more."""

_COMPONENT_PALETTE = px.colors.qualitative.D3
_CLASS_PALETTE = px.colors.qualitative.Set2


def component_colours(scenario: Any) -> dict[str, str]:
    """One colour per component, by its position in the spec (stable across figures)."""
    names = list(scenario.components)
    return {n: _COMPONENT_PALETTE[i % len(_COMPONENT_PALETTE)] for i, n in enumerate(names)}


def class_colours(classes: list[str]) -> dict[str, str]:
    """One colour per request class (``all`` in black), by position."""
    colours = {c: _CLASS_PALETTE[i % len(_CLASS_PALETTE)] for i, c in enumerate(classes)}
    colours["all"] = "#222222"
    return colours


def component_of(instance: str) -> str:
    """``app`` from ``app[2]`` or ``catalog[primary]/storage``."""
    return instance.split("[", 1)[0].split("/", 1)[0]


def title(text: str, scenario: str) -> str:
    return f"{text}: {scenario}"


def window_figure(
    result: Any,
    rows: Any,
    heading: str,
    y_title: str,
    y_max: float,
    *,
    mode: str,
    by_component: bool,
) -> go.Figure:
    """One line per ``component`` of time-series ``rows`` (value at each window's end)
    against simulated time, coloured as its component (``by_component``: the rows name
    instances), from 0 to ``y_max``."""
    colours = component_colours(result.scenario)
    fig = go.Figure()
    for name, group in rows.groupby("component", sort=False):
        owner = component_of(str(name)) if by_component else str(name)
        fig.add_scatter(
            x=group["end"],
            y=group["value"],
            mode=mode,
            name=str(name),
            line={"color": colours.get(owner)},
        )
    fig.update_layout(
        title=title(heading, result.data["scenario"]),
        xaxis_title="simulated time (s)",
        yaxis_title=y_title,
        yaxis_range=[0, y_max],
    )
    return fig


def log_ticks(low: float, high: float) -> dict[str, Any]:
    """Ticks for a log axis from ``low`` to ``high``, each labelled with its value:
    plotly's own label 0.4 ms as "4", which reads as 4 ms once the figure is pasted
    without its hover. At 1, 2 and 5 times the powers of ten, or at every digit when
    that gives fewer than three (a half-width figure has no room for more), at the
    powers alone when they are five or more; none (plotly's) when not even two digits
    fall inside."""
    if not (0 < low <= high):
        return {}
    powers = range(int(np.floor(np.log10(low))), int(np.ceil(np.log10(high))) + 1)
    for mantissas in ((1,), (1, 2, 5), range(1, 10)):
        inside = [m * 10.0**e for e in powers for m in mantissas if low <= m * 10.0**e <= high]
        if (mantissas == (1,) and len(inside) >= 5) or 3 <= len(inside) <= 12:
            return {"tickvals": inside, "ticktext": [f"{v:.6g}" for v in inside]}
        if len(mantissas) == 9 and len(inside) >= 2:
            return {"tickvals": inside, "ticktext": [f"{v:.6g}" for v in inside]}
    return {}
