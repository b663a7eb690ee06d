"""Checks of numeric arguments shared by the closed forms (:mod:`simperf.analysis`), the
arrival generators (:mod:`simperf.arrivals`) and the experiments
(:mod:`simperf.experiment`): each names the argument in its error."""

from __future__ import annotations

import math

from simperf.errors import SpecError

MAX_REPLICATIONS = 100_000
"""Most replications one experiment may ask for: their task lists are held in memory, and
100,000 runs of even a one-second scenario take more than a day."""


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


def replications(name: str, value: int) -> int:
    """``value``, or ``SpecError`` naming ``name`` if it exceeds :data:`MAX_REPLICATIONS`.

    Examples
    --------
    >>> replications("replications", 30)
    30
    """
    if value > MAX_REPLICATIONS:
        raise SpecError(f"{name}: at most {MAX_REPLICATIONS:,}, got {value:,}")
    return value
