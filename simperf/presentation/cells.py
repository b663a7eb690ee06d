"""Table cells shared by the text summaries: a value in its format, or ``-`` where there is
none, so that columns stay aligned."""

from __future__ import annotations


def pct(value: float | None) -> str:
    """A share as a percentage with one decimal, ``-`` for none.

    Examples
    --------
    >>> pct(0.1234), pct(None)
    ('12.3%', '-')
    """
    return "-" if value is None else f"{value:.1%}"


def cell(value: float | None, width: int, fmt: str = "") -> str:
    """``value`` right-aligned in ``width`` characters in format ``fmt``, ``-`` for none.

    Examples
    --------
    >>> cell(0.5, 7, ".1%") + "|" + cell(None, 7, ".1%") + "|"
    '  50.0%|      -|'
    """
    return f"{'-':>{width}}" if value is None else f"{value:>{width}{fmt}}"
