"""Checks of numeric arguments shared by the closed forms (:mod:`simperf.analysis`) and the
arrival generators (:mod:`simperf.arrivals`): each names the argument in its error."""

from __future__ import annotations

import math


def finite(name: str, value: float) -> float:
    """``value`` as a float, or ``ValueError`` naming ``name`` if it is not a finite number.

    Examples
    --------
    >>> finite("rate", 3)
    3.0
    """
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: expected a number, got {value!r}") from None
    if not math.isfinite(x):
        raise ValueError(f"{name}: expected a finite number, got {value!r}")
    return x


def positive(name: str, value: float) -> float:
    """``value`` as a float, checked finite and > 0."""
    x = finite(name, value)
    if x <= 0:
        raise ValueError(f"{name}: must be > 0, got {value!r}")
    return x


def nonnegative(name: str, value: float) -> float:
    """``value`` as a float, checked finite and >= 0."""
    x = finite(name, value)
    if x < 0:
        raise ValueError(f"{name}: must be >= 0, got {value!r}")
    return x
