"""Table cells shared by the text summaries: a value in its format, or ``-`` where there is
none, so that columns stay aligned."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from simperf.metrics.stats import SAME_IN_EVERY_REPLICATION, same_in_every_replication
from simperf.spec.slo import metric_kind
from simperf.units import format_time

if TYPE_CHECKING:  # pragma: no cover
    from simperf.spec.slo import SloSpec

PER_SECOND = "/s"
"""The unit of every rate the text, the HTML views and the figures show: ``51.8/s``."""


def per_second(value: float, fmt: str = ".6g") -> str:
    """A rate with its unit, in format ``fmt`` (``fmt`` with a ``,``: whole, grouped).

    Examples
    --------
    >>> per_second(51.8), per_second(2500.0, ".4g"), per_second(1.5e6, ",.0f")
    ('51.8/s', '2500/s', '1,500,000/s')
    """
    return f"{value:{fmt}}{PER_SECOND}"


def rate_title(quantity: str) -> str:
    """An axis or column title for a rate of requests: ``throughput (requests/s)``.

    Examples
    --------
    >>> rate_title("arrival rate")
    'arrival rate (requests/s)'
    """
    return f"{quantity} (requests{PER_SECOND})"


def percent(value: float) -> str:
    """A fraction given (a target, a tolerance) in percent as written, to six significant
    digits: a value measured is rounded (:func:`pct`), one given is not.

    Examples
    --------
    >>> percent(0.2), percent(0.9995), percent(0.001)
    ('20%', '99.95%', '0.1%')
    """
    return f"{value * 100:.6g}%"


def pct(value: float | None) -> str:
    """A share as a percentage with one decimal, ``-`` for none; from 10,000% (an
    estimate far past saturation) in two significant digits, to fit its column.

    Examples
    --------
    >>> pct(0.1234), pct(None), pct(3.492), pct(9e8)
    ('12.3%', '-', '349.2%', '9e+10%')
    """
    if value is None:
        return "-"
    return f"{value:.1%}" if abs(value) < 100 else f"{value * 100:.2g}%"


SMALLEST_MEAN = 0.001
"""The least mean of counts (a queue's length) written in digits: one below it is written
``<0.001``, where ``7.24e-06`` read as noise beside ``14.0%`` and ``0.00215``."""


def mean_count(value: float | None, fmt: str = ".3g") -> str:
    """A mean of counts (a mean queue length) in format ``fmt``, ``-`` for none, and
    ``<0.001`` for one above zero but below :data:`SMALLEST_MEAN` (``>-0.001`` for a
    difference as small), never in scientific notation.

    Examples
    --------
    >>> mean_count(7.24e-06), mean_count(0.00215), mean_count(0.0), mean_count(None)
    ('<0.001', '0.00215', '0', '-')
    >>> mean_count(12.3456, ".4g"), mean_count(-2e-05)
    ('12.35', '>-0.001')
    """
    if value is None or value != value:
        return "-"
    if 0 < abs(value) < SMALLEST_MEAN:
        return f"<{SMALLEST_MEAN:g}" if value > 0 else f">-{SMALLEST_MEAN:g}"
    return f"{value:{fmt}}"


def cell(value: float | None, width: int, fmt: str = "") -> str:
    """``value`` right-aligned in ``width`` characters in format ``fmt``, ``-`` for none.

    Examples
    --------
    >>> cell(0.5, 7, ".1%") + "|" + cell(None, 7, ".1%") + "|"
    '  50.0%|      -|'
    """
    return f"{'-':>{width}}" if value is None else f"{value:>{width}{fmt}}"


def multiple(value: float | None) -> str:
    """A load multiple (a headroom) in three significant digits and whole from 1,000 up,
    ``-`` for none.

    Examples
    --------
    >>> multiple(2.4871), multiple(3910.4), multiple(2.5e7), multiple(None)
    ('2.49x', '3,910x', '25,000,000x', '-')
    """
    if value is None:
        return "-"
    return f"{value:.3g}x" if value < 1000 else f"{value:,.0f}x"


Column = tuple[str, int, str]
"""A table column: its heading, its width (negative: left-aligned) and its values' format."""


def table_header(columns: list[Column]) -> str:
    """The headings of ``columns``, each in its column's width.

    Examples
    --------
    >>> table_header([("cache", -8, ""), ("hits", 6, "")])
    'cache     hits'
    """
    return "".join(f"{h:<{-w}}" if w < 0 else f"{h:>{w}}" for h, w, _ in columns)


def table_row(columns: list[Column], values: list[Any]) -> str:
    """One row of a table: each value in its column's width and format (``-`` for none).

    Examples
    --------
    >>> table_row([("cache", -8, ""), ("hit rate", 9, ".1%")], ["redis", 0.5])
    'redis       50.0%'
    """
    out = ""
    for (_, w, f), v in zip(columns, values, strict=True):
        text = f"{v:<{-w}}" if w < 0 else cell(v, w, f)
        if out and not out.endswith(" ") and not text.startswith(" "):
            text = " " + text  # wider than its column: still apart from the one before
        out += text
    return out


def verdict_reason(stability: dict[str, Any]) -> str | None:
    """The reason of a stability verdict after the component it blames, if it blames one
    (a run failing with no fault and no saturated resource blames none); None without one.

    Examples
    --------
    >>> verdict_reason({"component": "app", "reason": "cores 99% busy"})
    'app: cores 99% busy'
    >>> verdict_reason({"component": None, "reason": "2% of requests failed"})
    '2% of requests failed'
    """
    reason = stability.get("reason")
    if not reason:
        return None
    return f"{stability['component']}: {reason}" if stability.get("component") else reason


def metric_value(metric: str, value: float | None) -> str:
    """A metric's value as every command's text shows it, ``-`` for none: a time in its
    unit, a fraction in percent (two significant digits below 1%), a rate per second, a
    price per hour, a ratio as a multiple, a count whole (to four significant digits
    where a mean of counts is not, ``<0.001`` below 0.001: :func:`mean_count`).

    Examples
    --------
    >>> metric_value("latency.all.p99", 0.0123), metric_value("components.app.utilization", 0.8012)
    ('12.3 ms', '80.1%')
    >>> metric_value("throughput", 1234.5678), metric_value("components.db.imbalance", 1.1234)
    ('1234.57/s', '1.12x')
    >>> metric_value("error_rate", 0.00123), metric_value("error_rate", 0.0)
    ('0.12%', '0.0%')
    >>> metric_value("faults.failed", 12.0), metric_value("faults.failed", 12.25)
    ('12', '12.25')
    >>> metric_value("components.app.mean_queue_length", 7.24e-06)
    '<0.001'
    >>> metric_value("cost.total_per_hour", 2.52), metric_value("error_rate", float("nan"))
    ('2.52/h', '-')
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    kind = metric_kind(metric)
    if kind == "time":
        return format_time(value)
    if kind == "fraction":
        # an error rate of 0.12% is not 0.1% (nor 0.012% 0.0%): two digits below 1%
        return f"{value * 100:.2g}%" if 0 < abs(value) < 0.01 else pct(value)
    if kind == "rate":
        return per_second(value, ".6g" if abs(value) < 1e6 else ",.0f")
    if kind == "price":
        return f"{value:.4g}/h"
    if kind == "ratio":
        return multiple(value)
    return f"{value:.0f}" if float(value).is_integer() else mean_count(value, ".4g")


def with_interval(
    metric: str, mean: float | None, half_width: float | None, values: list[float]
) -> str:
    """A metric's mean over replications and its interval as the text shows them, in the
    metric's unit: ``46.9 ms ±2.89 ms``; ``0.0% (same in every replication)`` where the
    replications (``values``, NaN: none) gave one value, whose interval has no width
    and no replication more would move (the HTML views say the same); the mean alone
    without an interval (one replication).

    Examples
    --------
    >>> with_interval("latency.all.p99", 0.0469, 0.00289, [0.045, 0.048])
    '46.9 ms ±2.89 ms'
    >>> with_interval("error_rate", 0.0, 0.0, [0.0, 0.0])
    '0.0% (same in every replication)'
    >>> with_interval("error_rate", 0.0, None, [0.0])
    '0.0%'
    """
    shown = metric_value(metric, mean)
    finite = [v for v in values if v == v]
    if len(finite) > 1 and same_in_every_replication(finite):
        return f"{shown} ({SAME_IN_EVERY_REPLICATION})"
    return shown if half_width is None else f"{shown} ±{metric_value(metric, half_width)}"


def target_value(metric: str, value: float) -> str:
    """An SLO's target (or a threshold) in its metric's unit, as written: a time in its
    unit, a fraction in percent, a rate per second, a price per hour, a ratio as a
    multiple, to six significant digits (a value measured is rounded; a target is not,
    so that ``99.95%`` does not read ``100.0%``).

    Examples
    --------
    >>> target_value("error_rate", 0.001), target_value("components.app.utilization", 0.9995)
    ('0.1%', '99.95%')
    >>> target_value("throughput", 300.0), target_value("latency.all.p99", 0.2)
    ('300/s', '200 ms')
    >>> target_value("cost.total_per_hour", 2.5), target_value("faults.failed", 12.0)
    ('2.5/h', '12')
    """
    kind = metric_kind(metric)
    if kind == "time":
        return format_time(value)
    if kind == "fraction":
        return percent(value)
    if kind == "rate":
        return per_second(value)
    if kind == "price":
        return f"{value:.6g}/h"
    return f"{value:.6g}x" if kind == "ratio" else f"{value:.6g}"


def slo_text(slo: SloSpec) -> str:
    """An SLO as every view writes it, its target in its metric's unit.

    Examples
    --------
    >>> from simperf.spec.slo import as_slos
    >>> slos = as_slos(["error_rate<0.001", "throughput>300/s", "latency.all.p99<200ms"])
    >>> [slo_text(s) for s in slos]
    ['error_rate < 0.1%', 'throughput > 300/s', 'latency.all.p99 < 200 ms']
    """
    side = "<" if slo.side == "below" else ">"
    return f"{slo.metric} {side} {target_value(slo.metric, slo.target)}"
