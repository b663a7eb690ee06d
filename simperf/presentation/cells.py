"""Table cells shared by the text summaries: a value in its format, or ``-`` where there is
none, so that columns stay aligned."""

from __future__ import annotations

from typing import Any


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
