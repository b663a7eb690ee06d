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
    return "".join(
        f"{v:<{-w}}" if w < 0 else cell(v, w, f)
        for (_, w, f), v in zip(columns, values, strict=True)
    )
