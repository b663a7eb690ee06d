"""Size distributions: the time distributions of :mod:`simperf.spec.distributions` in bytes.

A payload size is written like a time distribution with sizes instead of times:
``{dist: lognormal, median: 4KiB, p99: 1MiB}``; a bare size (``4KiB`` or ``4096``) is a
constant. Each family subclasses its time counterpart and only retypes the fields, so
means, variances and sampling are shared.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from simperf.spec.base import MAX_SIZE, Size
from simperf.spec.distributions import (
    Constant,
    Empirical,
    Exponential,
    Gamma,
    Lognormal,
    ScipyDistribution,
    Uniform,
    distribution_union,
)


class ConstantSize(Constant):
    """Always the same size."""

    value: Size = Field(ge=0, le=MAX_SIZE, description="the size (bytes)")


class ExponentialSize(Exponential):
    """Exponential sizes with the given mean."""

    mean_: Size = Field(alias="mean", gt=0, le=MAX_SIZE, description="mean (bytes)")


class UniformSize(Uniform):
    """Sizes uniform between ``low`` and ``high``."""

    low: Size = Field(ge=0, le=MAX_SIZE, description="lower bound (bytes)")
    high: Size = Field(ge=0, le=MAX_SIZE, description="upper bound (bytes)")


class LognormalSize(Lognormal):
    """Lognormal sizes given by ``median`` and ``p99`` or by ``mean`` and ``cv``."""

    median: Size | None = Field(None, gt=0, le=MAX_SIZE, description="median (bytes)")
    p99: Size | None = Field(None, gt=0, le=MAX_SIZE, description="99th percentile (bytes)")
    mean_: Size | None = Field(None, alias="mean", gt=0, le=MAX_SIZE, description="mean (bytes)")


class GammaSize(Gamma):
    """Gamma sizes given by ``mean`` and ``cv``."""

    mean_: Size = Field(alias="mean", gt=0, le=MAX_SIZE, description="mean (bytes)")


class EmpiricalSize(Empirical):
    """Resamples the given sizes with equal probability (or the given weights)."""

    values: list[Annotated[Size, Field(ge=0, le=MAX_SIZE)]] = Field(
        min_length=1, max_length=1_000_000, description="observed sizes (bytes)"
    )


SizeDistribution = distribution_union(
    {
        "constant": ConstantSize,
        "exponential": ExponentialSize,
        "uniform": UniformSize,
        "lognormal": LognormalSize,
        "gamma": GammaSize,
        "empirical": EmpiricalSize,
        "scipy": ScipyDistribution,
    },
    Annotated[Size, Field(ge=0, le=MAX_SIZE)],
    "a size (constant)",
    " with sizes in bytes or units such as 4KiB",
)
"""A size distribution in bytes; a bare size is validated into a :class:`ConstantSize`."""
